-- Every table a tenant owns carries tenant_id (DESIGN.md), so the schema can later be
-- distributed by tenant (Citus; docs/OPERATIONS-migrate-to.md has the plan). These five child
-- tables knew their tenant only through a parent; each gets it from that parent, and an index
-- that leads with it. The domain sets it on every insert from the same parent.
ALTER TABLE user_roles ADD COLUMN tenant_id BIGINT REFERENCES tenants(id);
UPDATE user_roles SET tenant_id = users.tenant_id FROM users WHERE users.id = user_roles.user_id;
ALTER TABLE user_roles ALTER COLUMN tenant_id SET NOT NULL;
-- A tenant's admins of a role (billing emails, the portal's sign-in).
CREATE INDEX user_roles_tenant ON user_roles (tenant_id, role, user_id);

ALTER TABLE deleted_user_licenses ADD COLUMN tenant_id BIGINT REFERENCES tenants(id);
UPDATE deleted_user_licenses SET tenant_id = users.tenant_id
    FROM users WHERE users.id = deleted_user_licenses.user_id;
ALTER TABLE deleted_user_licenses ALTER COLUMN tenant_id SET NOT NULL;
CREATE INDEX deleted_user_licenses_tenant ON deleted_user_licenses (tenant_id, user_id);

ALTER TABLE bill_lines ADD COLUMN tenant_id BIGINT REFERENCES tenants(id);
UPDATE bill_lines SET tenant_id = bills.tenant_id FROM bills WHERE bills.id = bill_lines.bill_id;
ALTER TABLE bill_lines ALTER COLUMN tenant_id SET NOT NULL;
CREATE INDEX bill_lines_tenant ON bill_lines (tenant_id, bill_id);

ALTER TABLE service_request_comments ADD COLUMN tenant_id BIGINT REFERENCES tenants(id);
UPDATE service_request_comments SET tenant_id = service_requests.tenant_id
    FROM service_requests WHERE service_requests.id = service_request_comments.request_id;
ALTER TABLE service_request_comments ALTER COLUMN tenant_id SET NOT NULL;
CREATE INDEX service_request_comments_tenant ON service_request_comments (tenant_id, request_id, id);

-- Moves with its subscription when an agreement is remapped (agreements/remap.rs).
ALTER TABLE subscription_addons ADD COLUMN tenant_id BIGINT REFERENCES tenants(id);
UPDATE subscription_addons SET tenant_id = subscriptions.tenant_id
    FROM subscriptions WHERE subscriptions.id = subscription_addons.subscription_id;
ALTER TABLE subscription_addons ALTER COLUMN tenant_id SET NOT NULL;
CREATE INDEX subscription_addons_tenant ON subscription_addons (tenant_id, subscription_id);

-- Tenant-owned tables that had tenant_id but no index leading with it: the key a distributed
-- table is looked up by on its node (and what its primary key becomes, docs/OPERATIONS-migrate-to.md).
CREATE INDEX charges_tenant ON charges (tenant_id, created_at);
CREATE INDEX data_holds_tenant ON data_holds (tenant_id, user_id);
CREATE INDEX group_jobs_tenant ON group_jobs (tenant_id, group_id);
CREATE INDEX group_license_errors_tenant ON group_license_errors (tenant_id, group_id);
CREATE INDEX group_members_tenant ON group_members (tenant_id, group_id);
CREATE INDEX inherited_licenses_tenant ON inherited_licenses (tenant_id, group_id);
