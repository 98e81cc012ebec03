DROP TABLE spare_stores;
DROP TABLE mail_due;
ALTER TABLE tenants DROP COLUMN plan;
ALTER TABLE tenants DROP COLUMN store_version;
ALTER TABLE tenants DROP COLUMN database_url;
ALTER TABLE tenants DROP COLUMN store;
ALTER TABLE tenants DROP COLUMN placement;
