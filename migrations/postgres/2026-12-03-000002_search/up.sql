-- The search index: pg_trgm GIN indexes over lower(name) and lower(email) of
-- leads and lower(name) of companies, with the tenant id as the first column
-- (btree_gin), so that a search of three characters or more reads the index
-- for its own tenant instead of every lead of the tenant. The queries are the
-- same `lower(...) LIKE` as before; the index only makes them cheaper.
-- Both extensions are trusted (the database's owner may create them); they go
-- into `public`, which every schema placement reaches by the qualified name.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;

CREATE INDEX leads_search ON leads
    USING gin (tenant_id, lower(name) public.gin_trgm_ops, lower(email) public.gin_trgm_ops);
CREATE INDEX companies_search ON companies
    USING gin (tenant_id, lower(name) public.gin_trgm_ops);
