ALTER TABLE audit_log DROP COLUMN client_address;
DROP INDEX outbox_unsent;
ALTER TABLE outbox DROP COLUMN claimed_at;
ALTER TABLE outbox DROP COLUMN claim;
