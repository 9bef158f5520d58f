DROP INDEX users_unlicensed;
DROP TRIGGER users_licensed_moved;
DROP TRIGGER users_licensed_unassigned;
DROP TRIGGER users_licensed_assigned;
DROP TRIGGER user_counts_update;
DROP TRIGGER user_counts_delete;
DROP TRIGGER user_counts_insert;
CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (tenant_id, state, users) VALUES (NEW.tenant_id, NEW.state, 1)
        ON CONFLICT (tenant_id, state) DO UPDATE SET users = users + 1;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET users = users - 1
        WHERE tenant_id = OLD.tenant_id AND state = OLD.state;
END;
CREATE TRIGGER user_counts_update AFTER UPDATE OF state, tenant_id ON users
    WHEN OLD.state IS NOT NEW.state OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN
    UPDATE user_counts SET users = users - 1
        WHERE tenant_id = OLD.tenant_id AND state = OLD.state;
    INSERT INTO user_counts (tenant_id, state, users) VALUES (NEW.tenant_id, NEW.state, 1)
        ON CONFLICT (tenant_id, state) DO UPDATE SET users = users + 1;
END;
DROP TRIGGER users_versioned;
CREATE TRIGGER users_versioned AFTER UPDATE ON users WHEN NEW.version = OLD.version
BEGIN
    UPDATE users SET version = OLD.version + 1 WHERE id = NEW.id;
END;
ALTER TABLE user_counts DROP COLUMN licensed;
ALTER TABLE users DROP COLUMN licensed;
