-- SCIM 2.0 provisioning (/scim/v2): what an identity provider keeps about a user and a group
-- beyond allot's own fields, and a version per row for SCIM's ETags (`If-Match`): the
-- database bumps it on every change of the row, whatever the path, so a client that read
-- version 3 can't overwrite a change it has not seen.
ALTER TABLE users
    ADD COLUMN given_name TEXT NOT NULL DEFAULT '' CHECK (length(given_name) <= 120),
    ADD COLUMN family_name TEXT NOT NULL DEFAULT '' CHECK (length(family_name) <= 120),
    -- The provisioning client's own id for the user (Entra ID sends its mailNickname).
    ADD COLUMN external_id TEXT CHECK (length(external_id) BETWEEN 1 AND 256),
    -- A work email that is not the sign-in name (SCIM's emails[type eq "work"]; Graph's `mail`).
    ADD COLUMN work_email TEXT CHECK (length(work_email) BETWEEN 3 AND 254),
    -- When a provisioned attribute last changed (SCIM's meta.lastModified); NULL: never since.
    ADD COLUMN updated_at TIMESTAMP,
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE user_groups
    ADD COLUMN external_id TEXT CHECK (length(external_id) BETWEEN 1 AND 256),
    ADD COLUMN updated_at TIMESTAMP,
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX user_groups_tenant_external_id ON user_groups (tenant_id, external_id)
    WHERE external_id IS NOT NULL;

-- Every update of a row is a new version; members joining or leaving update their group's
-- count (once a statement), so they make a new version of the group too.
CREATE FUNCTION next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_versioned BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION next_version();
CREATE TRIGGER user_groups_versioned BEFORE UPDATE ON user_groups
    FOR EACH ROW EXECUTE FUNCTION next_version();
