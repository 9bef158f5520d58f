CREATE TABLE data_holds_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    held_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, product_id)
);
INSERT INTO data_holds_old (id, tenant_id, user_id, product_id, held_until, created_at)
    SELECT id, tenant_id, user_id, product_id, held_until, created_at FROM data_holds
    WHERE service_id IS NULL;
DROP TABLE data_holds;
ALTER TABLE data_holds_old RENAME TO data_holds;
CREATE INDEX data_holds_due ON data_holds (held_until);
DROP TABLE apps_turned_off;
DROP INDEX product_services_of_product;
