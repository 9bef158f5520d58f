DROP INDEX license_assignments_by_email;
DROP INDEX license_assignments_by_name;
DROP TRIGGER users_keys_to_assignments ON users;
DROP FUNCTION users_keys_to_assignments();
DROP TRIGGER license_assignments_user_keys ON license_assignments;
DROP FUNCTION license_assignments_user_keys();
ALTER TABLE license_assignments DROP COLUMN user_email, DROP COLUMN user_name_key;
