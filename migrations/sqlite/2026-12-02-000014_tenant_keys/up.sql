-- Every table a tenant owns carries tenant_id (DESIGN.md), so the schema can later be
-- distributed by tenant (Citus; docs/OPERATIONS-migrate-to.md has the plan). These five child
-- tables knew their tenant only through a parent; each gets it from that parent, and an index
-- that leads with it. The domain sets it on every insert from the same parent.
-- SQLite adds no NOT NULL column with a foreign key to a table that has rows, so each table is
-- built again with the column last (as PostgreSQL's ALTER TABLE puts it), its rows copied.
CREATE TABLE user_roles_new (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('global', 'billing', 'license', 'user')),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles_new (user_id, role, tenant_id)
    SELECT user_roles.user_id, user_roles.role, users.tenant_id
    FROM user_roles JOIN users ON users.id = user_roles.user_id;
DROP TABLE user_roles;
ALTER TABLE user_roles_new RENAME TO user_roles;
-- A tenant's admins of a role (billing emails, the portal's sign-in).
CREATE INDEX user_roles_tenant ON user_roles (tenant_id, role, user_id);

CREATE TABLE deleted_user_licenses_new (
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (user_id, product_id)
);
INSERT INTO deleted_user_licenses_new (user_id, product_id, tenant_id)
    SELECT d.user_id, d.product_id, users.tenant_id
    FROM deleted_user_licenses AS d JOIN users ON users.id = d.user_id;
DROP TABLE deleted_user_licenses;
ALTER TABLE deleted_user_licenses_new RENAME TO deleted_user_licenses;
CREATE INDEX deleted_user_licenses_tenant ON deleted_user_licenses (tenant_id, user_id);

CREATE TABLE bill_lines_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bill_id INTEGER NOT NULL REFERENCES bills(id),
    subscription_id INTEGER REFERENCES subscriptions(id),
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    amount_cents BIGINT NOT NULL,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id)
);
INSERT INTO bill_lines_new (id, bill_id, subscription_id, description, quantity, amount_cents, tenant_id)
    SELECT l.id, l.bill_id, l.subscription_id, l.description, l.quantity, l.amount_cents, bills.tenant_id
    FROM bill_lines AS l JOIN bills ON bills.id = l.bill_id;
DROP TABLE bill_lines;
ALTER TABLE bill_lines_new RENAME TO bill_lines;
CREATE INDEX bill_lines_bill ON bill_lines (bill_id);
CREATE INDEX bill_lines_tenant ON bill_lines (tenant_id, bill_id);

CREATE TABLE service_request_comments_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES service_requests(id),
    -- Who wrote it, as the thread shows it: a tenant admin, a staff member, or allot itself.
    author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'staff', 'system')),
    author TEXT NOT NULL,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 8000),
    -- Internal notes are for staff only: never on a tenant's page, in an email or an export.
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id)
);
INSERT INTO service_request_comments_new
    (id, request_id, author_kind, author, body, internal, created_at, tenant_id)
    SELECT c.id, c.request_id, c.author_kind, c.author, c.body, c.internal, c.created_at,
        service_requests.tenant_id
    FROM service_request_comments AS c JOIN service_requests ON service_requests.id = c.request_id;
DROP TABLE service_request_comments;
ALTER TABLE service_request_comments_new RENAME TO service_request_comments;
CREATE INDEX service_request_comments_request ON service_request_comments (request_id, id);
CREATE INDEX service_request_comments_tenant ON service_request_comments (tenant_id, request_id, id);

-- Moves with its subscription when an agreement is remapped (agreements/remap.rs).
CREATE TABLE subscription_addons_new (
    subscription_id INTEGER PRIMARY KEY REFERENCES subscriptions(id),
    production_instances INTEGER NOT NULL DEFAULT 0 CHECK (production_instances >= 0),
    storage_gb INTEGER NOT NULL DEFAULT 0 CHECK (storage_gb >= 0),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id)
);
INSERT INTO subscription_addons_new (subscription_id, production_instances, storage_gb, tenant_id)
    SELECT a.subscription_id, a.production_instances, a.storage_gb, subscriptions.tenant_id
    FROM subscription_addons AS a JOIN subscriptions ON subscriptions.id = a.subscription_id;
DROP TABLE subscription_addons;
ALTER TABLE subscription_addons_new RENAME TO subscription_addons;
CREATE INDEX subscription_addons_tenant ON subscription_addons (tenant_id, subscription_id);

-- Tenant-owned tables that had tenant_id but no index leading with it: the key a distributed
-- table is looked up by on its node (and what its primary key becomes, docs/OPERATIONS-migrate-to.md).
CREATE INDEX charges_tenant ON charges (tenant_id, created_at);
CREATE INDEX data_holds_tenant ON data_holds (tenant_id, user_id);
CREATE INDEX group_jobs_tenant ON group_jobs (tenant_id, group_id);
CREATE INDEX group_license_errors_tenant ON group_license_errors (tenant_id, group_id);
CREATE INDEX group_members_tenant ON group_members (tenant_id, group_id);
CREATE INDEX inherited_licenses_tenant ON inherited_licenses (tenant_id, group_id);
