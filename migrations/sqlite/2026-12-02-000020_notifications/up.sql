-- Settings > Notifications (issue 15): a pool's "Alert when available licenses fall below N",
-- with whether the alert has been posted since the pool last had N or more available (posted
-- once per crossing), and each admin's choice of which Message center kinds are also emailed.
CREATE TABLE license_alerts (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    product_id INTEGER NOT NULL REFERENCES products (id),
    below INTEGER NOT NULL CHECK (below >= 1),
    alerted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, product_id)
);
-- No row: the kind's default (Kind::emailed_by_default).
CREATE TABLE notification_choices (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    email BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind)
);
