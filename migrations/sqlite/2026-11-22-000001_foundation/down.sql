DROP TABLE auth_tokens;
DROP TABLE users;
DROP TABLE tenants;
