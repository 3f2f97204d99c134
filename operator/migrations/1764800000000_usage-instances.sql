-- Up Migration

-- usage_instances holds the totals each sidecar process (instance) set in Redis for an hour and
-- series; usage_hourly is their sum. A sidecar writes its own absolute totals, so after Redis
-- lost its data the live sidecars put theirs back while the rows of sidecars that have gone
-- stay here: the ledger never goes back. Instance '' stands for the shared totals of older
-- sidecars, and for everything in usage_hourly before this table existed.
CREATE TABLE usage_instances (
  LIKE usage_hourly INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  instance text NOT NULL,
  PRIMARY KEY (tenant, hour, provider, model, namespace, instance)
);
INSERT INTO usage_instances (tenant, hour, provider, model, namespace, instance, requests, cache_hits,
  errors, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_nano,
  cache_write_5m_tokens, cache_write_1h_tokens, audio_input_tokens, audio_output_tokens,
  image_input_tokens, image_output_tokens, images, audio_seconds, characters)
SELECT tenant, hour, provider, model, namespace, '', requests, cache_hits, errors, input_tokens,
  output_tokens, cached_input_tokens, reasoning_tokens, cost_nano, cache_write_5m_tokens,
  cache_write_1h_tokens, audio_input_tokens, audio_output_tokens, image_input_tokens,
  image_output_tokens, images, audio_seconds, characters
FROM usage_hourly;

-- Down Migration

DROP TABLE usage_instances;
