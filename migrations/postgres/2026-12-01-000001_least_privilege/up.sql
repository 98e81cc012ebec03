-- The app's role gets SELECT, INSERT, UPDATE and DELETE on every table through the
-- owner's default privileges (deploy/postgres-roles.sql), which tenant tables need.
-- Narrow that to what the app needs elsewhere: it never deletes from the directory
-- (a DELETE on `tenants` cascades through every tenant table as the owner, past
-- row-level security), never writes the migration history, and never truncates,
-- references or triggers anything. The start-up check refuses any of these.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT grantee::text AS grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA %I FROM %I',
                       current_schema(), r.grantee);
        EXECUTE format('REVOKE DELETE ON tenants FROM %I', r.grantee);
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations FROM %I',
                       r.grantee);
    END LOOP;
END $$;
