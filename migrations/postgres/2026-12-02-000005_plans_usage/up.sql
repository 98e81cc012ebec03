-- Plans are data: each names a request budget and the quotas a tenant on it
-- has. The three below ship built in; an operator may add more. A tenant's plan
-- is `tenants.plan`; any limit can be overridden for one tenant in `tenants.limits`,
-- a JSON object such as {"requests_per_minute": 30} (a limit it does not name,
-- or NULL: the plan's).
CREATE TABLE plans (
    name TEXT NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    requests_per_minute INTEGER NOT NULL CHECK (requests_per_minute > 0),
    max_members INTEGER NOT NULL CHECK (max_members > 0),
    max_leads INTEGER NOT NULL CHECK (max_leads >= 0),
    max_companies INTEGER NOT NULL CHECK (max_companies >= 0),
    max_import_rows INTEGER NOT NULL CHECK (max_import_rows >= 0),
    max_mails_per_day INTEGER NOT NULL CHECK (max_mails_per_day >= 0)
);
INSERT INTO plans VALUES
    ('free', 'Free', 1200, 5, 2000, 500, 1000, 100),
    ('team', 'Team', 6000, 50, 100000, 20000, 20000, 2000),
    ('business', 'Business', 60000, 1000, 5000000, 500000, 200000, 20000);

ALTER TABLE tenants ADD COLUMN limits TEXT;

-- Usage per tenant and day, for billing: requests and mails sent are added up
-- by the server (flushed from memory every few seconds), the sizes are the
-- latest snapshot of that day. Kept for 90 days.
CREATE TABLE tenant_usage (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day DATE NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    mails_sent BIGINT NOT NULL DEFAULT 0,
    members BIGINT,
    leads BIGINT,
    companies BIGINT,
    stored_bytes BIGINT,
    PRIMARY KEY (tenant_id, day)
);

CREATE INDEX tenant_usage_by_day ON tenant_usage (day);

-- Under row-level security like every table that names a tenant: the server
-- adds a tenant's figures inside that tenant.
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_usage
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- The app reads plans and never changes them (that is the operator's, as the
-- owner); it adds up usage and prunes what is older than 90 days.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT grantee::text AS grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name IN ('plans', 'tenant_usage')
          AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON plans FROM %I', r.grantee);
        EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON tenant_usage FROM %I', r.grantee);
    END LOOP;
END $$;
