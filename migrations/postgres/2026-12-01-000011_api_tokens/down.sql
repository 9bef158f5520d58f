DROP TABLE license_pools;
DROP INDEX user_groups_guid;
ALTER TABLE user_groups DROP COLUMN guid;
DROP INDEX users_tenant_id;
DROP INDEX users_guid;
ALTER TABLE users DROP COLUMN guid;
DROP TABLE api_tokens;
