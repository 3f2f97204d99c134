-- Up Migration

-- One row per Tenant ever seen; deleted tenants keep their row (deleted_at) so the ledger and
-- the audit trail still name them.
CREATE TABLE tenants (
  name            text PRIMARY KEY,
  uid             text NOT NULL,
  generation      bigint NOT NULL,
  spec            jsonb NOT NULL,
  spec_hash       text NOT NULL,
  config_version  bigint,
  config_hash     text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz
);

CREATE TABLE policies (
  name        text PRIMARY KEY,
  uid         text NOT NULL,
  generation  bigint NOT NULL,
  spec        jsonb NOT NULL,
  spec_hash   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);

-- The usage ledger: absolute totals per tenant, UTC hour, provider, model and namespace, as the
-- sidecars count them in Redis. Rows are upserted with the totals (never incremented), so
-- flushing the same hour twice writes the same row.
CREATE TABLE usage_hourly (
  tenant               text NOT NULL,
  hour                 timestamptz NOT NULL,
  provider             text NOT NULL,
  model                text NOT NULL,
  namespace            text NOT NULL,
  requests             bigint NOT NULL DEFAULT 0,
  cache_hits           bigint NOT NULL DEFAULT 0,
  errors               bigint NOT NULL DEFAULT 0,
  input_tokens         bigint NOT NULL DEFAULT 0,
  output_tokens        bigint NOT NULL DEFAULT 0,
  cached_input_tokens  bigint NOT NULL DEFAULT 0,
  reasoning_tokens     bigint NOT NULL DEFAULT 0,
  cost_nano            bigint NOT NULL DEFAULT 0,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, hour, provider, model, namespace),
  CHECK (date_trunc('hour', hour) = hour)
);
-- Budget sums (spend of one tenant over a period) read only this index.
CREATE INDEX usage_hourly_tenant_hour_totals ON usage_hourly (tenant, hour)
  INCLUDE (requests, input_tokens, output_tokens, cost_nano);
-- Cross-tenant reports and retention by time.
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

-- One row per tenant, budget period, period start and threshold: inserting it first is what
-- makes an alert go out at most once, whichever replica or retry gets there.
CREATE TABLE alerts_sent (
  id            bigserial PRIMARY KEY,
  tenant        text NOT NULL,
  budget_period text NOT NULL CHECK (budget_period IN ('day', 'month')),
  period_start  timestamptz NOT NULL,
  threshold     numeric(6, 5) NOT NULL CHECK (threshold > 0 AND threshold <= 1),
  spend_nano    bigint NOT NULL,
  limit_nano    bigint NOT NULL,
  -- notified: this row's alert went out; false for lower thresholds crossed in the same step.
  notified      boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  delivered_at  timestamptz,
  event_at      timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  UNIQUE (tenant, budget_period, period_start, threshold)
);

-- Every spec change the operator saw, in order.
CREATE TABLE audit (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  kind        text NOT NULL CHECK (kind IN ('Tenant', 'RateLimitPolicy')),
  name        text NOT NULL,
  action      text NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
  generation  bigint,
  spec_hash   text,
  spec        jsonb
);
CREATE INDEX audit_kind_name_at ON audit (kind, name, at);

-- Down Migration

DROP TABLE audit;
DROP TABLE alerts_sent;
DROP TABLE usage_hourly;
DROP TABLE policies;
DROP TABLE tenants;
