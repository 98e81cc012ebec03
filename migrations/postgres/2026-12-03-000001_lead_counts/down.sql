DROP TRIGGER lead_counts_update ON leads;
DROP TRIGGER lead_counts_delete ON leads;
DROP TRIGGER lead_counts_insert ON leads;
DROP FUNCTION lead_counts_changed();
DROP FUNCTION lead_counts_removed();
DROP FUNCTION lead_counts_added();
DROP TABLE lead_counts;
