DROP TRIGGER lead_counts_update;
DROP TRIGGER lead_counts_delete;
DROP TRIGGER lead_counts_insert;
DROP TABLE lead_counts;
