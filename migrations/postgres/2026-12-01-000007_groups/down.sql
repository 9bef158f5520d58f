ALTER TABLE license_assignments DROP COLUMN direct;
DROP TABLE group_jobs;
DROP TABLE group_license_errors;
DROP TABLE inherited_licenses;
DROP TABLE group_licenses;
DROP TABLE group_members;
DROP TABLE user_groups;
