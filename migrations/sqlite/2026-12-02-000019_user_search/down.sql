DROP TRIGGER user_counts_update;
DROP TRIGGER user_counts_delete;
DROP TRIGGER user_counts_insert;
DROP TABLE user_counts;
DROP TRIGGER users_search_update;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_insert;
DROP TABLE users_search;
