DROP TRIGGER user_counts_update ON users;
DROP TRIGGER user_counts_insert_delete ON users;
DROP FUNCTION user_counts_keep();
DROP TABLE user_counts;
DROP INDEX users_email_trgm;
DROP INDEX users_name_key_trgm;
