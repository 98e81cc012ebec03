-- The search index as `2026-12-03-000002_search` made it: the stored text, folded by the tokenizer.
DROP TRIGGER company_search_update;
DROP TRIGGER company_search_delete;
DROP TRIGGER company_search_insert;
DROP TRIGGER lead_search_update;
DROP TRIGGER lead_search_delete;
DROP TRIGGER lead_search_insert;
DROP TABLE company_search;
DROP TABLE lead_search;
CREATE VIRTUAL TABLE lead_search USING fts5 (
    name, email, tokenize = 'trigram', content = '', contentless_delete = 1
);
CREATE VIRTUAL TABLE company_search USING fts5 (
    name, tokenize = 'trigram', content = '', contentless_delete = 1
);

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
