-- Up Migration

-- refusals holds the calls a limit or budget refused (issue 15), read by the operator from the
-- tenants' feeds (keys.feed): one row per feed entry, keyed by its stream id, so reading an entry
-- twice stores it once. The console's "recent refusals" and the analytics API's refusals by limit
-- read it.
CREATE TABLE refusals (
  tenant      text NOT NULL,
  id          text NOT NULL,
  at          timestamptz NOT NULL,
  limit_scope text NOT NULL,
  status      integer NOT NULL,
  provider    text NOT NULL,
  model       text NOT NULL,
  namespace   text NOT NULL,
  workload    text NOT NULL DEFAULT '',
  end_user    text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant, id)
);
CREATE INDEX refusals_tenant_at ON refusals (tenant, at);

-- Down Migration

DROP TABLE refusals;
