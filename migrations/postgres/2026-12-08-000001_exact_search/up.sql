-- SQLite's search index now holds lowered text with case-sensitive trigrams,
-- so that it answers the search exactly. PostgreSQL's pg_trgm indexes already
-- index `lower(...)` and serve the same `LIKE`: nothing changes here; the
-- version keeps both engines' histories in step.
SELECT 1;
