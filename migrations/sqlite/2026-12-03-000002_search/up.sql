-- The search index: FTS5 with the trigram tokenizer over leads' name and email
-- and companies' name, so that a search of three characters or more reads the
-- index, not every lead of the tenant. It only finds candidates; the list still
-- checks each with the same `LIKE` as before, so results are what they were.
--
-- Index rows are keyed by tenant and number: rowid = key * 2^32 + number, where
-- `key` is the tenant's small integer in this file. A search asks for its own
-- tenant's rowid range, so other tenants' rows are skipped inside the index.
-- The tables are contentless (they keep no copy of the text).
CREATE TABLE search_keys (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL UNIQUE REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE VIRTUAL TABLE lead_search USING fts5 (
    name, email, tokenize = 'trigram', content = '', contentless_delete = 1
);
CREATE VIRTUAL TABLE company_search USING fts5 (
    name, tokenize = 'trigram', content = '', contentless_delete = 1
);

INSERT INTO search_keys (tenant_id)
SELECT DISTINCT tenant_id FROM (SELECT tenant_id FROM leads UNION SELECT tenant_id FROM companies);
INSERT INTO lead_search (rowid, name, email)
SELECT k.key * 4294967296 + l.number, l.name, l.email FROM leads l JOIN search_keys k USING (tenant_id);
INSERT INTO company_search (rowid, name)
SELECT k.key * 4294967296 + c.number, c.name FROM companies c JOIN search_keys k USING (tenant_id);

CREATE TRIGGER lead_search_insert AFTER INSERT ON leads
BEGIN
    INSERT OR IGNORE INTO search_keys (tenant_id) VALUES (NEW.tenant_id);
    INSERT INTO lead_search (rowid, name, email)
    VALUES ((SELECT key FROM search_keys WHERE tenant_id = NEW.tenant_id) * 4294967296 + NEW.number,
            NEW.name, NEW.email);
END;

CREATE TRIGGER lead_search_delete AFTER DELETE ON leads
BEGIN
    DELETE FROM lead_search
    WHERE rowid = (SELECT key FROM search_keys WHERE tenant_id = OLD.tenant_id) * 4294967296 + OLD.number;
END;

CREATE TRIGGER lead_search_update AFTER UPDATE OF name, email, number ON leads
WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.number IS NOT NEW.number
BEGIN
    DELETE FROM lead_search
    WHERE rowid = (SELECT key FROM search_keys WHERE tenant_id = OLD.tenant_id) * 4294967296 + OLD.number;
    INSERT INTO lead_search (rowid, name, email)
    VALUES ((SELECT key FROM search_keys WHERE tenant_id = NEW.tenant_id) * 4294967296 + NEW.number,
            NEW.name, NEW.email);
END;

CREATE TRIGGER company_search_insert AFTER INSERT ON companies
BEGIN
    INSERT OR IGNORE INTO search_keys (tenant_id) VALUES (NEW.tenant_id);
    INSERT INTO company_search (rowid, name)
    VALUES ((SELECT key FROM search_keys WHERE tenant_id = NEW.tenant_id) * 4294967296 + NEW.number,
            NEW.name);
END;

CREATE TRIGGER company_search_delete AFTER DELETE ON companies
BEGIN
    DELETE FROM company_search
    WHERE rowid = (SELECT key FROM search_keys WHERE tenant_id = OLD.tenant_id) * 4294967296 + OLD.number;
END;

CREATE TRIGGER company_search_update AFTER UPDATE OF name, number ON companies
WHEN OLD.name IS NOT NEW.name OR OLD.number IS NOT NEW.number
BEGIN
    DELETE FROM company_search
    WHERE rowid = (SELECT key FROM search_keys WHERE tenant_id = OLD.tenant_id) * 4294967296 + OLD.number;
    INSERT INTO company_search (rowid, name)
    VALUES ((SELECT key FROM search_keys WHERE tenant_id = NEW.tenant_id) * 4294967296 + NEW.number,
            NEW.name);
END;
