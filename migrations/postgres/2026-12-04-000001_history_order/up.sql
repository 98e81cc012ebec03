-- A lead's notes and its activity are paged newest first by (created_at, id).
-- With an index in that whole order a page is read straight from it; with the
-- old (created_at) one PostgreSQL sorted every note of the lead for each page
-- (115 ms for a lead with 50,000 notes under the HTTP bench).
CREATE INDEX notes_by_lead_page ON notes (tenant_id, lead_id, created_at, id);
DROP INDEX notes_by_lead;
CREATE INDEX lead_activities_by_lead_page ON lead_activities (tenant_id, lead_id, created_at, id);
DROP INDEX lead_activities_by_lead;
