-- The JSON API's $filter on users (GET /api/v1/users), each form read from an index in the
-- order its pages are walked.

-- assignedLicenses/any(x:x/skuId eq …): a product's holders in the tenant, in user id order.
CREATE INDEX license_assignments_holders ON license_assignments (tenant_id, product_id, user_id);
-- accountEnabled eq true|false: the tenant's active or blocked users, in id order.
CREATE INDEX users_tenant_state ON users (tenant_id, state, id);
