-- The JSON API (/api/v1): API tokens, and the stable GUIDs Microsoft Graph's clients expect
-- as ids (a user's and a group's `id`, a product pool's `skuId`).

-- A tenant's named secret with scopes and an expiry. Only the SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    -- The name as compared: trimmed and lowercased.
    name_key TEXT NOT NULL,
    -- The scopes it grants, space-separated (`users.read licenses.read`).
    scopes TEXT NOT NULL CHECK (length(scopes) > 0),
    -- SHA-256 (hex) of the secret: the database never holds a usable token.
    secret_hash TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Written at most once a minute.
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    CHECK (expires_at > created_at)
);
-- A name is unique among the tenant's tokens that were not revoked.
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (tenant_id, name_key) WHERE revoked_at IS NULL;

-- Stable GUIDs (version 4, lower-case text) for users and groups. The domain sets them on
-- insert; the default gives one to rows inserted without (a bulk loader) and to those that
-- exist (a volatile default is evaluated per row).
ALTER TABLE users ADD COLUMN guid TEXT NOT NULL DEFAULT gen_random_uuid()::text;
CREATE UNIQUE INDEX users_guid ON users (guid);
-- The API lists a tenant's users in id order (keyset paging by id).
CREATE INDEX users_tenant_id ON users (tenant_id, id);
ALTER TABLE user_groups ADD COLUMN guid TEXT NOT NULL DEFAULT gen_random_uuid()::text;
CREATE UNIQUE INDEX user_groups_guid ON user_groups (guid);

-- The tenant's pool of a product, by its GUID (Graph's `skuId`). Made here for the pools that
-- exist; the domain adds one the first time it lists a pool without one.
CREATE TABLE license_pools (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    sku_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (tenant_id, product_id)
);
INSERT INTO license_pools (tenant_id, product_id, sku_id)
    SELECT tenant_id, product_id, gen_random_uuid()::text
    FROM (SELECT tenant_id, product_id FROM subscriptions
          UNION SELECT tenant_id, product_id FROM license_assignments) AS pools;
