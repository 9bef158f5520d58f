DROP INDEX users_unlicensed;
DROP TRIGGER users_licensed_moved ON license_assignments;
DROP TRIGGER users_licensed_unassigned ON license_assignments;
DROP TRIGGER users_licensed_assigned ON license_assignments;
DROP FUNCTION users_licensed_moved();
DROP FUNCTION users_licensed_unassigned();
DROP FUNCTION users_licensed_assigned();
DROP TRIGGER user_counts_update ON users;
CREATE OR REPLACE FUNCTION user_counts_keep() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE user_counts SET users = users - 1
            WHERE tenant_id = OLD.tenant_id AND state = OLD.state;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO user_counts (tenant_id, state, users) VALUES (NEW.tenant_id, NEW.state, 1)
            ON CONFLICT (tenant_id, state) DO UPDATE SET users = user_counts.users + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER user_counts_update AFTER UPDATE OF state, tenant_id ON users
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION user_counts_keep();
DROP TRIGGER users_versioned ON users;
CREATE TRIGGER users_versioned BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION next_version();
ALTER TABLE user_counts DROP COLUMN licensed;
ALTER TABLE users DROP COLUMN licensed;
