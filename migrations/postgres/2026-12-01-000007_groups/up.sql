-- Groups of a tenant's users (no nesting) and group-based licensing: a product assigned to a
-- group is inherited by its members, one seat per user and product however many groups and
-- direct assignments give it.
CREATE TABLE user_groups (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    -- The name as compared: trimmed and lowercased, so "Sales" and "sales " are one name.
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE group_members (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_id BIGINT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
-- A user's groups (their page; joining and leaving as the user is deleted or restored).
CREATE INDEX group_members_user ON group_members (user_id);

-- The products assigned to a group.
CREATE TABLE group_licenses (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_id BIGINT NOT NULL REFERENCES user_groups(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, product_id)
);
CREATE INDEX group_licenses_product ON group_licenses (tenant_id, product_id);

-- Which groups a member's seat comes from. A seat (license_assignments) that is not direct has
-- at least one row here; removing the last one and the direct assignment frees the seat.
CREATE TABLE inherited_licenses (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    group_id BIGINT NOT NULL REFERENCES user_groups(id),
    PRIMARY KEY (user_id, product_id, group_id)
);
CREATE INDEX inherited_licenses_group ON inherited_licenses (group_id, product_id, user_id);

-- Members a group could not give a product (not enough licenses), until reprocessed.
CREATE TABLE group_license_errors (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_id BIGINT NOT NULL REFERENCES user_groups(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    noted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, product_id, user_id)
);

-- Giving a group's licenses to its members, in steps: small groups finish in the request,
-- big ones are drained by the scheduler (and resumed after a crash from `after_user`).
CREATE TABLE group_jobs (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_id BIGINT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('running', 'finished')),
    total INTEGER NOT NULL CHECK (total >= 0),
    done INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
    assigned INTEGER NOT NULL DEFAULT 0 CHECK (assigned >= 0),
    failed INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    -- The last member handled; the next step starts after it.
    after_user BIGINT,
    started_by TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    CHECK ((state = 'finished') = (finished_at IS NOT NULL))
);
-- One running job a group at the most.
CREATE UNIQUE INDEX group_jobs_running ON group_jobs (group_id) WHERE state = 'running';
CREATE INDEX group_jobs_group ON group_jobs (group_id, id);

-- Whether the seat was assigned to the user directly (as well as, or instead of, by groups).
ALTER TABLE license_assignments ADD COLUMN direct BOOLEAN NOT NULL DEFAULT TRUE;
