-- The audit log: security and admin events, one row each, written in the
-- transaction of what they record. `seq` is the tenant's own running number
-- (newest first is `seq DESC`); `id` is a UUID, the key every tenant table has,
-- by which bundles and moves copy and compare rows.
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('member', 'api_key', 'operator', 'system', 'anonymous')),
    actor_id TEXT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    client_ip TEXT,
    request_id TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_log_by_action ON audit_log (tenant_id, action, seq);
CREATE INDEX audit_log_by_actor ON audit_log (tenant_id, actor_id, seq);
CREATE INDEX audit_log_by_kind ON audit_log (tenant_id, actor_kind, seq);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- Append-only for the app: it may add rows and read them, never change or remove
-- them. Only the owner (the operator's `tenants delete` and a move's cleanup)
-- deletes. The start-up check refuses a database where the app role may.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT grantee::text AS grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = 'audit_log'
          AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM %I',
                       r.grantee);
    END LOOP;
END $$;
