DROP TABLE tenant_moves;
