DROP TABLE license_pools;
DROP TRIGGER user_groups_guid_on_insert;
DROP INDEX user_groups_guid;
ALTER TABLE user_groups DROP COLUMN guid;
DROP TRIGGER users_guid_on_insert;
DROP INDEX users_tenant_id;
DROP INDEX users_guid;
ALTER TABLE users DROP COLUMN guid;
DROP TABLE api_tokens;
