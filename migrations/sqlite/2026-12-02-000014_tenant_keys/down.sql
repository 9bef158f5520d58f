DROP INDEX charges_tenant;
DROP INDEX data_holds_tenant;
DROP INDEX group_jobs_tenant;
DROP INDEX group_license_errors_tenant;
DROP INDEX group_members_tenant;
DROP INDEX inherited_licenses_tenant;

-- SQLite drops no column that a foreign key uses: each table is built again without it.
CREATE TABLE user_roles_old (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('global', 'billing', 'license', 'user')),
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles_old (user_id, role) SELECT user_id, role FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_old RENAME TO user_roles;

CREATE TABLE deleted_user_licenses_old (
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    PRIMARY KEY (user_id, product_id)
);
INSERT INTO deleted_user_licenses_old (user_id, product_id)
    SELECT user_id, product_id FROM deleted_user_licenses;
DROP TABLE deleted_user_licenses;
ALTER TABLE deleted_user_licenses_old RENAME TO deleted_user_licenses;

CREATE TABLE bill_lines_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bill_id INTEGER NOT NULL REFERENCES bills(id),
    subscription_id INTEGER REFERENCES subscriptions(id),
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    amount_cents BIGINT NOT NULL
);
INSERT INTO bill_lines_old (id, bill_id, subscription_id, description, quantity, amount_cents)
    SELECT id, bill_id, subscription_id, description, quantity, amount_cents FROM bill_lines;
DROP TABLE bill_lines;
ALTER TABLE bill_lines_old RENAME TO bill_lines;
CREATE INDEX bill_lines_bill ON bill_lines (bill_id);

CREATE TABLE service_request_comments_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES service_requests(id),
    author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'staff', 'system')),
    author TEXT NOT NULL,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 8000),
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO service_request_comments_old
    (id, request_id, author_kind, author, body, internal, created_at)
    SELECT id, request_id, author_kind, author, body, internal, created_at
    FROM service_request_comments;
DROP TABLE service_request_comments;
ALTER TABLE service_request_comments_old RENAME TO service_request_comments;
CREATE INDEX service_request_comments_request ON service_request_comments (request_id, id);

CREATE TABLE subscription_addons_old (
    subscription_id INTEGER PRIMARY KEY REFERENCES subscriptions(id),
    production_instances INTEGER NOT NULL DEFAULT 0 CHECK (production_instances >= 0),
    storage_gb INTEGER NOT NULL DEFAULT 0 CHECK (storage_gb >= 0)
);
INSERT INTO subscription_addons_old (subscription_id, production_instances, storage_gb)
    SELECT subscription_id, production_instances, storage_gb FROM subscription_addons;
DROP TABLE subscription_addons;
ALTER TABLE subscription_addons_old RENAME TO subscription_addons;
