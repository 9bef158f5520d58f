DROP TRIGGER group_members_joined;
DROP TRIGGER group_members_left;
DROP TRIGGER group_members_moved;
CREATE TRIGGER group_members_joined AFTER INSERT ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;
CREATE TRIGGER group_members_left AFTER DELETE ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
END;
CREATE TRIGGER group_members_moved AFTER UPDATE OF group_id ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
    UPDATE user_groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;
DROP TRIGGER user_groups_versioned;
DROP INDEX user_groups_tenant_external_id;
ALTER TABLE user_groups DROP COLUMN version;
ALTER TABLE user_groups DROP COLUMN updated_at;
ALTER TABLE user_groups DROP COLUMN external_id;
DROP TRIGGER users_versioned;
DROP INDEX users_tenant_external_id;
ALTER TABLE users DROP COLUMN version;
ALTER TABLE users DROP COLUMN updated_at;
ALTER TABLE users DROP COLUMN work_email;
ALTER TABLE users DROP COLUMN external_id;
ALTER TABLE users DROP COLUMN family_name;
ALTER TABLE users DROP COLUMN given_name;
