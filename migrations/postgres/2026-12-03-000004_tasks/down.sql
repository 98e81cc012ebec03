DROP TABLE tasks;
ALTER TABLE lead_activities DROP COLUMN detail;
ALTER TABLE lead_activities DROP COLUMN kind;
