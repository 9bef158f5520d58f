ALTER TABLE outbox DROP COLUMN link;
ALTER TABLE tenants DROP COLUMN data_exported_at;
DROP TABLE service_request_comments;
DROP TABLE service_requests;
