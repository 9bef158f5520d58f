-- SCIM 2.0 provisioning (/scim/v2): what an identity provider keeps about a user and a group
-- beyond allot's own fields, and a version per row for SCIM's ETags (`If-Match`): the
-- database bumps it on every change of the row, whatever the path, so a client that read
-- version 3 can't overwrite a change it has not seen.
ALTER TABLE users ADD COLUMN given_name TEXT NOT NULL DEFAULT '' CHECK (length(given_name) <= 120);
ALTER TABLE users ADD COLUMN family_name TEXT NOT NULL DEFAULT '' CHECK (length(family_name) <= 120);
-- The provisioning client's own id for the user (Entra ID sends its mailNickname).
ALTER TABLE users ADD COLUMN external_id TEXT CHECK (length(external_id) BETWEEN 1 AND 256);
-- A work email that is not the sign-in name (SCIM's emails[type eq "work"]; Graph's `mail`).
ALTER TABLE users ADD COLUMN work_email TEXT CHECK (length(work_email) BETWEEN 3 AND 254);
-- When a provisioned attribute last changed (SCIM's meta.lastModified); NULL: never since created.
ALTER TABLE users ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE TRIGGER users_versioned AFTER UPDATE ON users WHEN NEW.version = OLD.version
BEGIN
    UPDATE users SET version = OLD.version + 1 WHERE id = NEW.id;
END;

ALTER TABLE user_groups ADD COLUMN external_id TEXT CHECK (length(external_id) BETWEEN 1 AND 256);
ALTER TABLE user_groups ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE user_groups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX user_groups_tenant_external_id ON user_groups (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE TRIGGER user_groups_versioned AFTER UPDATE ON user_groups WHEN NEW.version = OLD.version
BEGIN
    UPDATE user_groups SET version = OLD.version + 1 WHERE id = NEW.id;
END;

-- A member joining or leaving changes the group: its count and its version in one write (the
-- versioned trigger above then has nothing to do).
DROP TRIGGER group_members_joined;
DROP TRIGGER group_members_left;
DROP TRIGGER group_members_moved;
CREATE TRIGGER group_members_joined AFTER INSERT ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count + 1, version = version + 1
    WHERE id = NEW.group_id;
END;
CREATE TRIGGER group_members_left AFTER DELETE ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count - 1, version = version + 1
    WHERE id = OLD.group_id;
END;
CREATE TRIGGER group_members_moved AFTER UPDATE OF group_id ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count - 1, version = version + 1
    WHERE id = OLD.group_id;
    UPDATE user_groups SET member_count = member_count + 1, version = version + 1
    WHERE id = NEW.group_id;
END;
