DROP INDEX leads_by_email;
ALTER TABLE import_staging DROP COLUMN blank;
DROP TABLE lead_import_changes;
DROP TABLE lead_imports;
