-- Companies, leads, their notes and status activity.
-- Keys and foreign keys start with tenant_id, so no row can point into another tenant.
CREATE TABLE companies (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    number BIGINT NOT NULL,
    name TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number)
);
CREATE INDEX companies_by_name ON companies (tenant_id, name, number);

-- A lead's company and owner are optional. Deleting a company unlinks its leads
-- (in the application, in the same transaction), so these keys have no action.
CREATE TABLE leads (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    number BIGINT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    company_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost')),
    value BIGINT NOT NULL DEFAULT 0 CHECK (value >= 0),
    owner_id TEXT,
    source TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
-- One index per sort order of the list, with the number as the keyset tie-breaker,
-- and per filter with the default sort.
CREATE INDEX leads_by_updated ON leads (tenant_id, updated_at, number);
CREATE INDEX leads_by_created ON leads (tenant_id, created_at, number);
CREATE INDEX leads_by_name ON leads (tenant_id, name, number);
CREATE INDEX leads_by_value ON leads (tenant_id, value, number);
CREATE INDEX leads_by_status ON leads (tenant_id, status, updated_at, number);
CREATE INDEX leads_by_owner ON leads (tenant_id, owner_id, updated_at, number);
CREATE INDEX leads_by_company ON leads (tenant_id, company_id, updated_at, number);

CREATE TABLE notes (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX notes_by_lead ON notes (tenant_id, lead_id, created_at);
CREATE INDEX notes_by_created ON notes (tenant_id, created_at);

-- Status changes of a lead, newest last.
CREATE TABLE lead_activities (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    actor_id TEXT,
    from_status TEXT,
    to_status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, actor_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX lead_activities_by_lead ON lead_activities (tenant_id, lead_id, created_at);
