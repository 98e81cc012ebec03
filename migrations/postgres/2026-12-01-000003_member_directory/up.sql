-- The workspace finder's index: which tenants have an active member with an
-- address (only that: no name, role or anything else of the member). Kept in the
-- transactions that add and deactivate members, so /find reads one index instead
-- of visiting every tenant.
CREATE TABLE member_directory (
    email TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    PRIMARY KEY (email, tenant_id)
);
CREATE INDEX member_directory_by_tenant ON member_directory (tenant_id);

-- Existing members: the owner reads `users` past its forced row-level security for
-- this one statement, inside this migration's transaction.
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
INSERT INTO member_directory (email, tenant_id)
    SELECT email, tenant_id FROM users WHERE active;
ALTER TABLE users FORCE ROW LEVEL SECURITY;

-- What the app's role needs on it (see the start-up check): no UPDATE.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT grantee::text AS grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = 'member_directory'
          AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE UPDATE, TRUNCATE, REFERENCES, TRIGGER ON member_directory FROM %I', r.grantee);
    END LOOP;
END $$;
