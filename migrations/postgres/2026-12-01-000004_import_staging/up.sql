-- CSV imports land here first, in short transactions of a few thousand rows, and
-- are published into `leads` in one short INSERT ... SELECT: the import stays all
-- or nothing (nothing here is visible as a lead) without holding the write lock
-- for the whole file, which on SQLite would make other tenants' writes time out.
CREATE TABLE import_staging (
    tenant_id TEXT NOT NULL,
    import_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    lead_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    company_name TEXT NOT NULL,
    status TEXT NOT NULL,
    value BIGINT NOT NULL,
    owner_id TEXT,
    source TEXT NOT NULL,
    staged_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, import_id, seq)
);
CREATE INDEX import_staging_by_age ON import_staging (tenant_id, staged_at);

ALTER TABLE import_staging ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_staging FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_staging
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
