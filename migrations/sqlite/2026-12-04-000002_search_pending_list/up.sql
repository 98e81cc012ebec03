-- PostgreSQL's search indexes keep a short GIN pending list. SQLite's FTS5
-- index has no such list: nothing changes here; the version keeps both engines'
-- histories in step.
SELECT 1;
