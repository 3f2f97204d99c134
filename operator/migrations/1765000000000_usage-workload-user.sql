-- Up Migration

-- Usage gains two dimensions (issue 15): the workload of the pod that made the calls
-- (`deployment/app`, webhook/workload-owner.ts) and the end user its requests named (OpenAI
-- `user` / `safety_identifier`, Anthropic `metadata.user_id`; at most the operator's
-- --end-users-per-hour distinct users per tenant and hour, the rest as `other`). Rows from before
-- have workload and end user '' and stay readable as they were.
-- cache_saved_nano is what the cache hits of a series would have cost at the provider.
ALTER TABLE usage_hourly
  ADD COLUMN workload text NOT NULL DEFAULT '',
  ADD COLUMN end_user text NOT NULL DEFAULT '',
  ADD COLUMN cache_saved_nano bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey,
  ADD PRIMARY KEY (tenant, hour, provider, model, namespace, workload, end_user);
ALTER TABLE usage_instances
  ADD COLUMN workload text NOT NULL DEFAULT '',
  ADD COLUMN end_user text NOT NULL DEFAULT '',
  ADD COLUMN cache_saved_nano bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_instances DROP CONSTRAINT usage_instances_pkey,
  ADD PRIMARY KEY (tenant, hour, provider, model, namespace, workload, end_user, instance);
-- The analytics API reads one tenant over a range and groups by one dimension: the primary key
-- (tenant, hour, ...) finds the rows; this covers the sums of the console's pages without the heap.
CREATE INDEX usage_hourly_tenant_hour_analytics ON usage_hourly (tenant, hour)
  INCLUDE (model, namespace, workload, end_user, requests, cache_hits, errors, input_tokens,
    output_tokens, cost_nano, cache_saved_nano);

-- Down Migration

DROP INDEX usage_hourly_tenant_hour_analytics;
CREATE TEMP TABLE usage_hourly_folded AS
  SELECT tenant, hour, provider, model, namespace, sum(requests) AS requests, sum(cache_hits) AS cache_hits, sum(errors) AS errors, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cached_input_tokens) AS cached_input_tokens, sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano) AS cost_nano, sum(cache_write_5m_tokens) AS cache_write_5m_tokens, sum(cache_write_1h_tokens) AS cache_write_1h_tokens, sum(audio_input_tokens) AS audio_input_tokens, sum(audio_output_tokens) AS audio_output_tokens, sum(image_input_tokens) AS image_input_tokens, sum(image_output_tokens) AS image_output_tokens, sum(images) AS images, sum(audio_seconds) AS audio_seconds, sum(characters) AS characters
  FROM usage_hourly GROUP BY tenant, hour, provider, model, namespace;
TRUNCATE usage_hourly;
ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey, DROP COLUMN workload, DROP COLUMN end_user,
  DROP COLUMN cache_saved_nano;
ALTER TABLE usage_hourly ADD PRIMARY KEY (tenant, hour, provider, model, namespace);
INSERT INTO usage_hourly (tenant, hour, provider, model, namespace, requests, cache_hits, errors, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_nano, cache_write_5m_tokens, cache_write_1h_tokens, audio_input_tokens, audio_output_tokens, image_input_tokens, image_output_tokens, images, audio_seconds, characters)
  SELECT tenant, hour, provider, model, namespace, requests, cache_hits, errors, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_nano, cache_write_5m_tokens, cache_write_1h_tokens, audio_input_tokens, audio_output_tokens, image_input_tokens, image_output_tokens, images, audio_seconds, characters FROM usage_hourly_folded;
DROP TABLE usage_hourly_folded;
CREATE TEMP TABLE usage_instances_folded AS
  SELECT tenant, hour, provider, model, namespace, instance, sum(requests) AS requests, sum(cache_hits) AS cache_hits, sum(errors) AS errors, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cached_input_tokens) AS cached_input_tokens, sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano) AS cost_nano, sum(cache_write_5m_tokens) AS cache_write_5m_tokens, sum(cache_write_1h_tokens) AS cache_write_1h_tokens, sum(audio_input_tokens) AS audio_input_tokens, sum(audio_output_tokens) AS audio_output_tokens, sum(image_input_tokens) AS image_input_tokens, sum(image_output_tokens) AS image_output_tokens, sum(images) AS images, sum(audio_seconds) AS audio_seconds, sum(characters) AS characters
  FROM usage_instances GROUP BY tenant, hour, provider, model, namespace, instance;
TRUNCATE usage_instances;
ALTER TABLE usage_instances DROP CONSTRAINT usage_instances_pkey, DROP COLUMN workload, DROP COLUMN end_user,
  DROP COLUMN cache_saved_nano;
ALTER TABLE usage_instances ADD PRIMARY KEY (tenant, hour, provider, model, namespace, instance);
INSERT INTO usage_instances (tenant, hour, provider, model, namespace, instance, requests, cache_hits, errors, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_nano, cache_write_5m_tokens, cache_write_1h_tokens, audio_input_tokens, audio_output_tokens, image_input_tokens, image_output_tokens, images, audio_seconds, characters)
  SELECT tenant, hour, provider, model, namespace, instance, requests, cache_hits, errors, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_nano, cache_write_5m_tokens, cache_write_1h_tokens, audio_input_tokens, audio_output_tokens, image_input_tokens, image_output_tokens, images, audio_seconds, characters FROM usage_instances_folded;
DROP TABLE usage_instances_folded;
