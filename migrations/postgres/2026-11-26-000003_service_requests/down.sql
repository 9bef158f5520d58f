ALTER TABLE users ALTER COLUMN email TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN name_key TYPE TEXT COLLATE "default";
ALTER TABLE outbox DROP COLUMN link;
ALTER TABLE tenants DROP COLUMN data_exported_at;
DROP TABLE service_request_comments;
DROP TABLE service_requests;
