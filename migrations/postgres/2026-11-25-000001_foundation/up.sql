-- The foundation: tenants and their people, provider staff, products, subscriptions,
-- license assignments, the audit log, the outbox and sign-in throttling.
CREATE TABLE tenants (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
    domain TEXT NOT NULL UNIQUE CHECK (length(domain) BETWEEN 1 AND 253),
    -- Bumped by every change to the tenant's licenses: the row lock it takes serializes seat
    -- accounting, so concurrent assignments can never over-assign a pool.
    license_version BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    -- The display name in lower case, for sorting and prefix search by index.
    name_key TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'blocked', 'deleted')),
    deleted_at TIMESTAMP,
    -- Set when a deleted user is purged after 30 days: the row stays, anonymized.
    purged_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    CHECK ((state = 'deleted') = (deleted_at IS NOT NULL))
);
CREATE INDEX users_tenant_name ON users (tenant_id, name_key, id);
CREATE INDEX users_tenant_email ON users (tenant_id, email);
CREATE INDEX users_deleted ON users (state, deleted_at);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('global', 'billing', 'license', 'user')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE staff (
    id BIGSERIAL PRIMARY KEY,
    display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    email TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('support', 'partner')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL CHECK (family IN ('online_services', 'business_applications')),
    monthly_price_cents BIGINT NOT NULL CHECK (monthly_price_cents >= 0),
    cancellation_window_days INTEGER NOT NULL DEFAULT 7 CHECK (cancellation_window_days >= 0)
);

-- What a product carries; data-holding services keep a user's data for 30 days after unassigning.
CREATE TABLE product_services (
    id BIGSERIAL PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products(id),
    name TEXT NOT NULL,
    holds_data BOOLEAN NOT NULL,
    UNIQUE (product_id, name)
);

CREATE TABLE subscriptions (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    billing_period TEXT NOT NULL CHECK (billing_period IN ('monthly', 'yearly')),
    term_start TIMESTAMP NOT NULL,
    term_end TIMESTAMP NOT NULL,
    recurring_billing BOOLEAN NOT NULL,
    purchase_channel TEXT NOT NULL CHECK (purchase_channel IN
        ('credit_card', 'invoice', 'volume_licensing', 'partner', 'self_service')),
    state TEXT NOT NULL CHECK (state IN
        ('pending', 'active', 'past_due', 'disabled', 'deleted', 'cancelled')),
    -- Set for a self-service purchase until an admin takes it over: its own pool, managed by the buyer.
    self_service_buyer_id BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    CHECK (term_end > term_start)
);
CREATE INDEX subscriptions_tenant_product ON subscriptions (tenant_id, product_id);

CREATE TABLE license_assignments (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    -- The self-service subscription whose pool this comes from; NULL for the tenant's pool.
    self_service_subscription_id BIGINT REFERENCES subscriptions(id),
    assigned_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, product_id)
);
-- Serves the pool counts (GROUP BY over its prefix, from the index alone) and "the latest
-- assigned" order of a license conflict.
CREATE INDEX license_assignments_pool ON license_assignments
    (tenant_id, product_id, self_service_subscription_id, assigned_at, id);

-- How many licenses each pool has assigned, kept with every change to license_assignments
-- (under the tenant's license lock) so the Licenses page reads a few rows, not every assignment.
CREATE TABLE license_counts (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    -- 0 for the tenant's pool of the product; otherwise the self-service subscription's id.
    pool BIGINT NOT NULL,
    assigned BIGINT NOT NULL CHECK (assigned >= 0),
    PRIMARY KEY (tenant_id, product_id, pool)
);

-- A user's data for a product's data-holding services, kept after unassigning until held_until
-- (the seeds' 30 days), then deleted by the scheduled jobs.
CREATE TABLE data_holds (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    held_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, product_id)
);
CREATE INDEX data_holds_due ON data_holds (held_until);

-- The licenses a user held when deleted, given back on restore where the pool has room.
CREATE TABLE deleted_user_licenses (
    user_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    tenant_id BIGINT REFERENCES tenants(id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    tenant_id BIGINT REFERENCES tenants(id),
    to_email TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TIMESTAMP
);

-- Failed sign-ins per account ('account:EMAIL') and per client address ('address:IP').
CREATE TABLE signin_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
