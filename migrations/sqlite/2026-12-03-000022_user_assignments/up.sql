-- A user's licenses (their page, the portal, the apps they have) and groups are read by tenant
-- and user.
-- The other indexes that lead with the tenant go on with the product, and SQLite, without
-- statistics, read one of them across every assignment of the tenant to find the user's:
-- 150 ms a read at a million users. With the product last, the reads that want only it
-- (which products the user holds) find it in the index.
CREATE INDEX license_assignments_user ON license_assignments (tenant_id, user_id, product_id);
CREATE INDEX group_members_tenant_user ON group_members (tenant_id, user_id, group_id);
