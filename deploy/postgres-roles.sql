-- One-time set-up of a Tenantry database on PostgreSQL, run as a superuser:
--   psql -v owner_password="'...'" -v app_password="'...'" -f deploy/postgres-roles.sql
--
-- Two roles: the owner owns the tables and runs migrations (MIGRATION_DATABASE_URL);
-- the app role serves requests (DATABASE_URL). The app role neither owns the tables
-- nor bypasses row-level security, so every tenant table's policy applies to it.
-- CREATEDB: the owner makes the databases of tenants placed `dedicated`.
CREATE ROLE tenantry_owner LOGIN PASSWORD :owner_password NOSUPERUSER NOBYPASSRLS CREATEDB;
CREATE ROLE tenantry_app LOGIN PASSWORD :app_password NOSUPERUSER NOBYPASSRLS NOINHERIT;
-- `tenants delete` drops a dedicated tenant's database WITH (FORCE), which ends the
-- app role's open connections to it: the owner may signal (non-superuser) backends.
GRANT pg_signal_backend TO tenantry_owner;
CREATE DATABASE tenantry OWNER tenantry_owner;
\connect tenantry
GRANT USAGE ON SCHEMA public TO tenantry_app;
-- Tables the owner creates later (by migrations) are readable and writable by the app,
-- which tenant tables need. A migration then narrows the rest to the minimum (no
-- DELETE on the `tenants` directory, read-only migration history), and the app
-- refuses to start if its role holds more than that or TRUNCATE, REFERENCES or
-- TRIGGER on any table.
ALTER DEFAULT PRIVILEGES FOR ROLE tenantry_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tenantry_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tenantry_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tenantry_app;
-- Search: under forced row-level security PostgreSQL uses an index only for
-- conditions whose functions are marked leakproof, and lower() and LIKE are not,
-- so without these two lines every search scans the tenant's leads (correct, but
-- about 100 times slower at 100,000 leads). Marked, the pg_trgm index answers it
-- and the policy still filters every row. What it gives up: LIKE fails on a
-- malformed pattern, so SQL written against other tenants' rows could learn through
-- that error whether a value used as a pattern ends in a backslash; the app's own
-- SQL only passes its own escaped patterns. The app warns at start when unmarked.
ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;
ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF;
-- Tenants placed `dedicated` get databases the owner creates from template1: mark
-- the functions there too for their searches (this affects every database created
-- on this server later; leave these lines out on a server you share).
\connect template1
ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;
ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF;
