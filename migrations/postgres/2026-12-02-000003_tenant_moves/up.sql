-- The moves of tenants between placements (`tenantry tenants move`), one row per
-- move: where from, where to, the last step reached (so that a rerun after the
-- command was killed finishes or undoes it), and the report once it ends. At
-- most one move per tenant is under way. Only the operator (the owner) reads or
-- writes it. A move's record goes with its tenant when the tenant is deleted.
CREATE TABLE tenant_moves (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    from_placement TEXT NOT NULL CHECK (from_placement IN ('shared', 'schema', 'dedicated')),
    from_store TEXT,
    from_server TEXT,
    to_placement TEXT NOT NULL CHECK (to_placement IN ('shared', 'schema', 'dedicated')),
    to_store TEXT,
    to_server TEXT,
    step TEXT NOT NULL CHECK (step IN ('copying', 'paused', 'switched', 'done', 'undone')),
    started_at TIMESTAMP NOT NULL,
    paused_at TIMESTAMP,
    switched_at TIMESTAMP,
    finished_at TIMESTAMP,
    report TEXT
);
CREATE UNIQUE INDEX tenant_moves_under_way ON tenant_moves (tenant_id)
    WHERE step IN ('copying', 'paused', 'switched');

-- Under row-level security like every table that names a tenant: the operator
-- reads and writes a move's record inside its tenant.
ALTER TABLE tenant_moves ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_moves FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_moves
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- The app's role has no business here (see the start-up check).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT grantee::text AS grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = 'tenant_moves'
          AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE ALL ON tenant_moves FROM %I', r.grantee);
    END LOOP;
END $$;
