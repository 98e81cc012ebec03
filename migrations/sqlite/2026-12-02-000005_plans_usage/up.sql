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
