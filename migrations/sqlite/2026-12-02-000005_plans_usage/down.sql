DROP TABLE tenant_usage;
ALTER TABLE tenants DROP COLUMN limits;
DROP TABLE plans;
