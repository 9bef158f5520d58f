DROP TRIGGER user_groups_versioned ON user_groups;
DROP TRIGGER users_versioned ON users;
DROP FUNCTION next_version();
DROP INDEX user_groups_tenant_external_id;
ALTER TABLE user_groups DROP COLUMN version, DROP COLUMN updated_at, DROP COLUMN external_id;
DROP INDEX users_tenant_external_id;
ALTER TABLE users DROP COLUMN version, DROP COLUMN updated_at, DROP COLUMN work_email,
    DROP COLUMN external_id, DROP COLUMN family_name, DROP COLUMN given_name;
