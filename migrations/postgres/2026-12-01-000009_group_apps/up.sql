-- A group's assignment of a product can turn apps off for all its members. A member has every
-- app one of their seat's sources (the direct assignment, each group) turns on, so an app is
-- off only where every source turns it off (src/domain/licenses/app_sources.rs).
-- The rows live and die with the group's assignment of the product.
CREATE TABLE group_apps_turned_off (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    service_id BIGINT NOT NULL,
    turned_off_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, product_id, service_id),
    FOREIGN KEY (group_id, product_id) REFERENCES group_licenses (group_id, product_id)
        ON DELETE CASCADE,
    FOREIGN KEY (product_id, service_id) REFERENCES product_services (product_id, id)
);
CREATE INDEX group_apps_turned_off_tenant ON group_apps_turned_off (tenant_id);
