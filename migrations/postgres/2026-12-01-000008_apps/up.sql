-- Apps (service plans): an assignment can turn apps of its product off, and a data hold says
-- which app's data it keeps.

-- A product's apps are named with it, so a row can insist that an app belongs to its product.
CREATE UNIQUE INDEX product_services_of_product ON product_services (product_id, id);

-- The apps turned off in a user's license of a product; an app without a row is on. The rows
-- live and die with the assignment (ON DELETE CASCADE): unassigning or deleting the user drops
-- them in the same statement, so no user is ever left with apps of a license they don't hold.
CREATE TABLE apps_turned_off (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    service_id BIGINT NOT NULL REFERENCES product_services(id),
    turned_off_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, product_id, service_id),
    FOREIGN KEY (user_id, product_id) REFERENCES license_assignments (user_id, product_id)
        ON DELETE CASCADE,
    FOREIGN KEY (product_id, service_id) REFERENCES product_services (product_id, id)
);
CREATE INDEX apps_turned_off_tenant ON apps_turned_off (tenant_id);

-- data_holds gains service_id: NULL for the hold of a removed license (the product's
-- data-holding apps), an app for the hold of that app turned off while the license stays.
ALTER TABLE data_holds DROP CONSTRAINT data_holds_user_id_product_id_key;
ALTER TABLE data_holds ADD COLUMN service_id BIGINT;
ALTER TABLE data_holds ADD CONSTRAINT data_holds_app_of_product
    FOREIGN KEY (product_id, service_id) REFERENCES product_services (product_id, id);
-- One hold per removed license, and one per app turned off.
CREATE UNIQUE INDEX data_holds_license ON data_holds (user_id, product_id)
    WHERE service_id IS NULL;
CREATE UNIQUE INDEX data_holds_app ON data_holds (user_id, product_id, service_id)
    WHERE service_id IS NOT NULL;
