ALTER TABLE tenants DROP COLUMN generation;
ALTER TABLE tenants DROP COLUMN writes;
