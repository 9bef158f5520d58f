DROP INDEX users_tenant_state;
DROP INDEX license_assignments_holders;
