-- The audit log: security and admin events, one row each, written in the
-- transaction of what they record. `seq` is the tenant's own running number
-- (newest first is `seq DESC`); `id` is a UUID, the key every tenant table has,
-- by which bundles and moves copy and compare rows.
-- Append-only: the triggers below refuse UPDATE and DELETE for everyone; only
-- the operator's `tenants delete` and a move's cleanup lift the DELETE trigger,
-- inside their own transaction, and put it back before commit.
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

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
