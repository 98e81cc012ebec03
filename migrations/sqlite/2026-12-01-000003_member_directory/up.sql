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

INSERT INTO member_directory (email, tenant_id)
    SELECT email, tenant_id FROM users WHERE active;
