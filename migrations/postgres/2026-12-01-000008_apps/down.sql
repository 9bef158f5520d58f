DELETE FROM data_holds WHERE service_id IS NOT NULL;
DROP INDEX data_holds_app;
DROP INDEX data_holds_license;
ALTER TABLE data_holds DROP CONSTRAINT data_holds_app_of_product;
ALTER TABLE data_holds DROP COLUMN service_id;
ALTER TABLE data_holds ADD CONSTRAINT data_holds_user_id_product_id_key UNIQUE (user_id, product_id);
DROP TABLE apps_turned_off;
DROP INDEX product_services_of_product;
