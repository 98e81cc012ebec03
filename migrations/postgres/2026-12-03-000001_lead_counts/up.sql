-- Leads and their value per tenant and status, kept by triggers in the
-- transaction of every change to `leads` (however it is made: a form, an import,
-- a move, an erase), so that the list's count, the dashboard's pipeline and the
-- leads quota read six rows, whatever the tenant's size. Statement triggers with
-- transition tables: a bulk insert of 1,000 leads changes each count once.
CREATE TABLE lead_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    leads BIGINT NOT NULL DEFAULT 0,
    value BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, status)
);

INSERT INTO lead_counts (tenant_id, status, leads, value)
SELECT tenant_id, status, count(*), coalesce(sum(value), 0) FROM leads GROUP BY tenant_id, status;

ALTER TABLE lead_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_counts
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- The functions run as whoever changed `leads` (the app's role, or the owner in
-- an operator command), under the same row-level security; their search path is
-- fixed to this store's, so a tenant in a schema counts in its own schema.
CREATE FUNCTION lead_counts_added() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO lead_counts AS c (tenant_id, status, leads, value)
    SELECT tenant_id, status, count(*), coalesce(sum(value), 0) FROM added GROUP BY tenant_id, status
    ON CONFLICT (tenant_id, status)
    DO UPDATE SET leads = c.leads + excluded.leads, value = c.value + excluded.value;
    RETURN NULL;
END $$;

CREATE FUNCTION lead_counts_removed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE lead_counts AS c SET leads = c.leads - r.leads, value = c.value - r.value
    FROM (SELECT tenant_id, status, count(*) AS leads, coalesce(sum(value), 0) AS value
          FROM removed GROUP BY tenant_id, status) AS r
    WHERE c.tenant_id = r.tenant_id AND c.status = r.status;
    RETURN NULL;
END $$;

CREATE FUNCTION lead_counts_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO lead_counts AS c (tenant_id, status, leads, value)
    SELECT tenant_id, status, sum(n), sum(v) FROM (
        SELECT tenant_id, status, 1 AS n, value AS v FROM added
        UNION ALL
        SELECT tenant_id, status, -1, -value FROM removed
    ) AS d
    GROUP BY tenant_id, status
    HAVING sum(n) <> 0 OR sum(v) <> 0
    ON CONFLICT (tenant_id, status)
    DO UPDATE SET leads = c.leads + excluded.leads, value = c.value + excluded.value;
    RETURN NULL;
END $$;

CREATE TRIGGER lead_counts_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_added();
CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_removed();
CREATE TRIGGER lead_counts_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_changed();
