-- Up Migration

-- alerts_sent is also the webhook outbox: a notified row whose webhook is not delivered is tried
-- again at next_attempt_at, with backoff, until the receiver accepts it or the operator gives up
-- (gave_up_at: a refused address, a tenant gone, or too old). Rows of tenants without a webhook
-- have no next_attempt_at. The message is the text of the crossing, as it was then.
ALTER TABLE alerts_sent
  ADD COLUMN message         text,
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN gave_up_at      timestamptz;
CREATE INDEX alerts_sent_outbox ON alerts_sent (next_attempt_at)
  WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at IS NOT NULL;

-- Down Migration

DROP INDEX alerts_sent_outbox;
ALTER TABLE alerts_sent DROP COLUMN message, DROP COLUMN next_attempt_at, DROP COLUMN gave_up_at;
