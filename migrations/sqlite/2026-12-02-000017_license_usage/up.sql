-- Home's license usage trend: each tenant pool's licenses and assigned count, once a day
-- (taken by the scheduled jobs at the day's first run), kept for a year.
CREATE TABLE license_usage_days (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    product_id INTEGER NOT NULL REFERENCES products (id),
    day DATE NOT NULL,
    licenses BIGINT NOT NULL CHECK (licenses >= 0),
    assigned BIGINT NOT NULL CHECK (assigned >= 0),
    PRIMARY KEY (tenant_id, product_id, day)
);
-- "Has today been taken?" and the purge of old days, without a scan.
CREATE INDEX license_usage_days_day ON license_usage_days (day, tenant_id);
