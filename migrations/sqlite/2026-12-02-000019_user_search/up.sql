-- Active users finds a word anywhere in the name or the sign-in name: a trigram index of the
-- lowercased columns, external content on users, kept in step by triggers so that every
-- path that writes users (pages, import, API, SCIM, demo and benchmark loaders) keeps it.
CREATE VIRTUAL TABLE users_search USING fts5(
    name_key, email, content='users', content_rowid='id', tokenize='trigram'
);
INSERT INTO users_search(users_search) VALUES ('rebuild');
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search(rowid, name_key, email) VALUES (NEW.id, NEW.name_key, NEW.email);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search(users_search, rowid, name_key, email)
        VALUES ('delete', OLD.id, OLD.name_key, OLD.email);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF name_key, email ON users BEGIN
    INSERT INTO users_search(users_search, rowid, name_key, email)
        VALUES ('delete', OLD.id, OLD.name_key, OLD.email);
    INSERT INTO users_search(rowid, name_key, email) VALUES (NEW.id, NEW.name_key, NEW.email);
END;

-- Active users says its total: the users of each tenant by state, kept by triggers, so the
-- total of everyone costs one row read instead of a count of a million.
CREATE TABLE user_counts (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    state TEXT NOT NULL,
    users BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, state)
);
INSERT INTO user_counts (tenant_id, state, users)
    SELECT tenant_id, state, count(*) FROM users GROUP BY tenant_id, state;
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
