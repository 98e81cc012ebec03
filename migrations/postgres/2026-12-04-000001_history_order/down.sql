CREATE INDEX lead_activities_by_lead ON lead_activities (tenant_id, lead_id, created_at);
DROP INDEX lead_activities_by_lead_page;
CREATE INDEX notes_by_lead ON notes (tenant_id, lead_id, created_at);
DROP INDEX notes_by_lead_page;
