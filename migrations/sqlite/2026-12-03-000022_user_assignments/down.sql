DROP INDEX group_members_tenant_user;
DROP INDEX license_assignments_user;
