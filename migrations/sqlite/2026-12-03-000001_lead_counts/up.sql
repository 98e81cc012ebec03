-- Leads and their value per tenant and status, kept by triggers in the
-- transaction of every change to `leads` (however it is made: a form, an import,
-- a move, an erase), so that the list's count, the dashboard's pipeline and the
-- leads quota read six rows, whatever the tenant's size.
CREATE TABLE lead_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    leads BIGINT NOT NULL DEFAULT 0,
    value BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, status)
);

INSERT INTO lead_counts (tenant_id, status, leads, value)
SELECT tenant_id, status, count(*), coalesce(sum(value), 0) FROM leads GROUP BY tenant_id, status;

CREATE TRIGGER lead_counts_insert AFTER INSERT ON leads
BEGIN
    INSERT INTO lead_counts (tenant_id, status, leads, value)
    VALUES (NEW.tenant_id, NEW.status, 1, NEW.value)
    ON CONFLICT (tenant_id, status)
    DO UPDATE SET leads = leads + 1, value = value + excluded.value;
END;

CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads
BEGIN
    UPDATE lead_counts SET leads = leads - 1, value = value - OLD.value
    WHERE tenant_id = OLD.tenant_id AND status = OLD.status;
END;

CREATE TRIGGER lead_counts_update AFTER UPDATE OF status, value ON leads
WHEN OLD.status IS NOT NEW.status OR OLD.value IS NOT NEW.value
BEGIN
    UPDATE lead_counts SET leads = leads - 1, value = value - OLD.value
    WHERE tenant_id = OLD.tenant_id AND status = OLD.status;
    INSERT INTO lead_counts (tenant_id, status, leads, value)
    VALUES (NEW.tenant_id, NEW.status, 1, NEW.value)
    ON CONFLICT (tenant_id, status)
    DO UPDATE SET leads = leads + 1, value = value + excluded.value;
END;
