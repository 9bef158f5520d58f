-- Active users finds a word anywhere in the name or the sign-in name (both kept lowercased):
-- trigram indexes that LIKE '%word%' uses.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_name_key_trgm ON users USING gin (name_key gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);

-- Active users says its total: the users of each tenant by state, kept by a trigger, so the
-- total of everyone costs one row read instead of a count of a million.
CREATE TABLE user_counts (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    state TEXT NOT NULL,
    users BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, state)
);
INSERT INTO user_counts (tenant_id, state, users)
    SELECT tenant_id, state, count(*) FROM users GROUP BY tenant_id, state;
CREATE FUNCTION user_counts_keep() RETURNS trigger AS $$
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
CREATE TRIGGER user_counts_insert_delete AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION user_counts_keep();
CREATE TRIGGER user_counts_update AFTER UPDATE OF state, tenant_id ON users
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION user_counts_keep();
