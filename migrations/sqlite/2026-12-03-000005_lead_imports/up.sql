-- CSV imports as they were committed, for the history at /leads/imports and its
-- undo. `on_duplicate` says what the import did with a row whose email matched
-- an existing lead: skipped it, updated that lead, or created another.
CREATE TABLE lead_imports (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    on_duplicate TEXT NOT NULL CHECK (on_duplicate IN ('skip', 'update', 'create')),
    created_count BIGINT NOT NULL,
    updated_count BIGINT NOT NULL,
    skipped_count BIGINT NOT NULL,
    undone_at TIMESTAMP,
    undone_by TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, undone_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX lead_imports_by_created ON lead_imports (tenant_id, created_at);

-- What an import did to each lead: created it, or updated it from `before` (the
-- lead's fields as JSON). `after_at` is the lead's updated_at as the import left
-- it: an undo refuses a lead changed since. No foreign key to the lead, which
-- may be deleted since; that too refuses the undo.
CREATE TABLE lead_import_changes (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    import_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'updated')),
    before TEXT,
    after_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES lead_imports (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_import_changes_by_import ON lead_import_changes (tenant_id, import_id, lead_id);

-- Which of a staged row's status and value cells were blank (`status`,
-- `value`, comma-separated): an update keeps the lead's own there.
ALTER TABLE import_staging ADD COLUMN blank TEXT NOT NULL DEFAULT '';

-- Imports match existing leads by email.
CREATE INDEX leads_by_email ON leads (tenant_id, email);
