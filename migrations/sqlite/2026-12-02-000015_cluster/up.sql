-- Several server processes on one database (issue 16).

-- The outbox is delivered by every process: each claims a batch of emails before it sends
-- them (claim = the sender's random token, claimed_at = when), so no two send the same one.
-- A claim older than a few minutes belongs to a sender that stopped, and may be taken again.
ALTER TABLE outbox ADD COLUMN claim TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at TIMESTAMP;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Where a change came from: the client's address as allot saw it (the TCP peer, or behind a
-- trusted balancer the address it forwarded). NULL for the command line and scheduled jobs.
ALTER TABLE audit_log ADD COLUMN client_address TEXT;
