-- Active users' Licensed and Unlicensed filters and their totals at a million users: whether a
-- user holds any license is kept on the user (`licensed`) by triggers on license_assignments,
-- so that every path that assigns (pages, groups, import, API, SCIM, loaders) keeps it, and
-- user_counts counts the licensed users of each tenant and state beside all of them.
ALTER TABLE users ADD COLUMN licensed BOOLEAN NOT NULL DEFAULT 0 CHECK (licensed IN (0, 1));
ALTER TABLE user_counts ADD COLUMN licensed BIGINT NOT NULL DEFAULT 0;

-- A user's version (SCIM's ETag) is of what a provisioning client sees: every column but the
-- kept `licensed` (and the version itself). A column added to users belongs in this list.
DROP TRIGGER users_versioned;
CREATE TRIGGER users_versioned AFTER UPDATE OF tenant_id, display_name, name_key, email,
    password_hash, state, deleted_at, purged_at, created_at, guid, given_name, family_name,
    external_id, work_email, updated_at ON users WHEN NEW.version = OLD.version
BEGIN
    UPDATE users SET version = OLD.version + 1 WHERE id = NEW.id;
END;

UPDATE users SET licensed = 1
    WHERE EXISTS (SELECT 1 FROM license_assignments a WHERE a.user_id = users.id);
UPDATE user_counts SET licensed = (
    SELECT count(*) FROM users u
    WHERE u.tenant_id = user_counts.tenant_id AND u.state = user_counts.state AND u.licensed
);

DROP TRIGGER user_counts_insert;
DROP TRIGGER user_counts_delete;
DROP TRIGGER user_counts_update;
CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (tenant_id, state, users, licensed)
        VALUES (NEW.tenant_id, NEW.state, 1, NEW.licensed)
        ON CONFLICT (tenant_id, state)
        DO UPDATE SET users = users + 1, licensed = licensed + excluded.licensed;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET users = users - 1, licensed = licensed - OLD.licensed
        WHERE tenant_id = OLD.tenant_id AND state = OLD.state;
END;
CREATE TRIGGER user_counts_update AFTER UPDATE OF state, tenant_id, licensed ON users
    WHEN OLD.state IS NOT NEW.state OR OLD.tenant_id IS NOT NEW.tenant_id
        OR OLD.licensed IS NOT NEW.licensed BEGIN
    UPDATE user_counts SET users = users - 1, licensed = licensed - OLD.licensed
        WHERE tenant_id = OLD.tenant_id AND state = OLD.state;
    INSERT INTO user_counts (tenant_id, state, users, licensed)
        VALUES (NEW.tenant_id, NEW.state, 1, NEW.licensed)
        ON CONFLICT (tenant_id, state)
        DO UPDATE SET users = users + 1, licensed = licensed + excluded.licensed;
END;

-- Every license change of a tenant runs under its license lock, so "no assignment is left"
-- can't race with an assignment of the same user.
CREATE TRIGGER users_licensed_assigned AFTER INSERT ON license_assignments BEGIN
    UPDATE users SET licensed = 1 WHERE id = NEW.user_id AND NOT licensed;
END;
CREATE TRIGGER users_licensed_unassigned AFTER DELETE ON license_assignments BEGIN
    UPDATE users SET licensed = 0 WHERE id = OLD.user_id AND licensed
        AND NOT EXISTS (SELECT 1 FROM license_assignments a WHERE a.user_id = OLD.user_id);
END;
CREATE TRIGGER users_licensed_moved AFTER UPDATE OF user_id ON license_assignments
    WHEN OLD.user_id IS NOT NEW.user_id BEGIN
    UPDATE users SET licensed = 1 WHERE id = NEW.user_id AND NOT licensed;
    UPDATE users SET licensed = 0 WHERE id = OLD.user_id AND licensed
        AND NOT EXISTS (SELECT 1 FROM license_assignments a WHERE a.user_id = OLD.user_id);
END;

-- The unlicensed users of a tenant in name order, without walking its licensed ones: a
-- tenant that mostly is licensed has its unlicensed users (just provisioned, say) anywhere in
-- the alphabet, or all at its end.
CREATE INDEX users_unlicensed ON users (tenant_id, name_key, id) WHERE NOT licensed;
