DROP TABLE user_import_rows;
DROP TABLE user_imports;
