-- Active users' Licensed and Unlicensed filters and their totals at a million users: whether a
-- user holds any license is kept on the user (`licensed`) by triggers on license_assignments,
-- so that every path that assigns (pages, groups, import, API, SCIM, loaders) keeps it, and
-- user_counts counts the licensed users of each tenant and state beside all of them.
ALTER TABLE users ADD COLUMN licensed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE user_counts ADD COLUMN licensed BIGINT NOT NULL DEFAULT 0;

-- A user's version (SCIM's ETag) is of what a provisioning client sees: every column but the
-- kept `licensed` (and the version itself). A column added to users belongs in this list.
DROP TRIGGER users_versioned ON users;
CREATE TRIGGER users_versioned BEFORE UPDATE OF tenant_id, display_name, name_key, email,
    password_hash, state, deleted_at, purged_at, created_at, guid, given_name, family_name,
    external_id, work_email, updated_at ON users
    FOR EACH ROW EXECUTE FUNCTION next_version();

UPDATE users SET licensed = TRUE
    WHERE EXISTS (SELECT 1 FROM license_assignments a WHERE a.user_id = users.id);
UPDATE user_counts SET licensed = (
    SELECT count(*) FROM users u
    WHERE u.tenant_id = user_counts.tenant_id AND u.state = user_counts.state AND u.licensed
);

CREATE OR REPLACE FUNCTION user_counts_keep() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE user_counts SET users = users - 1, licensed = licensed - OLD.licensed::int
            WHERE tenant_id = OLD.tenant_id AND state = OLD.state;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO user_counts (tenant_id, state, users, licensed)
            VALUES (NEW.tenant_id, NEW.state, 1, NEW.licensed::int)
            ON CONFLICT (tenant_id, state) DO UPDATE SET users = user_counts.users + 1,
                licensed = user_counts.licensed + EXCLUDED.licensed;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER user_counts_update ON users;
CREATE TRIGGER user_counts_update AFTER UPDATE OF state, tenant_id, licensed ON users
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
        OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.licensed IS DISTINCT FROM NEW.licensed)
    EXECUTE FUNCTION user_counts_keep();

-- Once a statement (a bulk assignment is one INSERT of a thousand rows). Every license change
-- of a tenant runs under its license lock, so "no assignment is left" can't race with an
-- assignment of the same user.
CREATE FUNCTION users_licensed_assigned() RETURNS trigger AS $$
BEGIN
    UPDATE users SET licensed = TRUE
        WHERE id IN (SELECT user_id FROM assigned) AND NOT licensed;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION users_licensed_unassigned() RETURNS trigger AS $$
BEGIN
    UPDATE users SET licensed = FALSE
        WHERE id IN (SELECT user_id FROM unassigned) AND licensed
        AND NOT EXISTS (SELECT 1 FROM license_assignments a WHERE a.user_id = users.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION users_licensed_moved() RETURNS trigger AS $$
BEGIN
    UPDATE users SET licensed = TRUE
        WHERE id IN (SELECT user_id FROM assigned) AND NOT licensed;
    UPDATE users SET licensed = FALSE
        WHERE id IN (SELECT user_id FROM unassigned) AND licensed
        AND NOT EXISTS (SELECT 1 FROM license_assignments a WHERE a.user_id = users.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_licensed_assigned AFTER INSERT ON license_assignments
    REFERENCING NEW TABLE AS assigned
    FOR EACH STATEMENT EXECUTE FUNCTION users_licensed_assigned();
CREATE TRIGGER users_licensed_unassigned AFTER DELETE ON license_assignments
    REFERENCING OLD TABLE AS unassigned
    FOR EACH STATEMENT EXECUTE FUNCTION users_licensed_unassigned();
CREATE TRIGGER users_licensed_moved AFTER UPDATE ON license_assignments
    REFERENCING OLD TABLE AS unassigned NEW TABLE AS assigned
    FOR EACH STATEMENT EXECUTE FUNCTION users_licensed_moved();

-- The unlicensed users of a tenant in name order, without walking its licensed ones: a
-- tenant that mostly is licensed has its unlicensed users (just provisioned, say) anywhere in
-- the alphabet, or all at its end.
CREATE INDEX users_unlicensed ON users (tenant_id, name_key, id) WHERE NOT licensed;
