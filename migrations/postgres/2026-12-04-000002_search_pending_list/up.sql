-- The search indexes keep a short pending list: 256 kB, not GIN's 4 MB.
-- New rows wait, unsorted, in the list until a vacuum (or the limit) merges
-- them; every search reads all of them, and the planner, counting them, left
-- the index for a scan of the tenant's leads after a few thousand new leads.
-- Without any list (fastupdate = off) a bulk insert took 5.8 times as long
-- (50,000 leads: 12.8 s against 2.2 s); with 256 kB, 3.2 times (7.1 s).
-- Rows already pending are merged by the next vacuum.
ALTER INDEX leads_search SET (gin_pending_list_limit = 256);
ALTER INDEX companies_search SET (gin_pending_list_limit = 256);
