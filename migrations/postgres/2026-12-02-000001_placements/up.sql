-- Where each tenant's data lives. The directory in the main database is the one
-- authority: `placement` is shared (this database), schema (PostgreSQL only: a
-- schema of its own in this database) or dedicated (a database or SQLite file of
-- its own); `store` names that schema, database or file; `database_url`, when
-- set, names the server and database given for a dedicated tenant (credentials
-- never: Tenantry connects there with the same roles as here); `store_version` is
-- the last migration applied to the tenant's own store.
--
-- A schema or dedicated store holds the whole schema, this table too (with a copy
-- of its tenant's row, which its tenant tables' keys reference). The finder's
-- index and the mail queue stay in the store, beside the rows they index;
-- `member_directory` here also lists members of tenants placed elsewhere (copied
-- after each change), and `mail_due` tells the mail worker which of those
-- tenants have mail due, and when.
ALTER TABLE tenants ADD COLUMN placement TEXT NOT NULL DEFAULT 'shared'
    CHECK (placement IN ('shared', 'schema', 'dedicated'));
ALTER TABLE tenants ADD COLUMN store TEXT;
ALTER TABLE tenants ADD COLUMN database_url TEXT;
ALTER TABLE tenants ADD COLUMN store_version TEXT;
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';

CREATE TABLE mail_due (
    tenant_id TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    due_at TIMESTAMP NOT NULL,
    -- Changed by every writer, so the worker clears only a hint it has seen.
    stamp TEXT NOT NULL
);
CREATE INDEX mail_due_by_due ON mail_due (due_at);

-- Stores made ahead of sign-ups, so that a new tenant in its own schema or
-- database does not wait for one to be created and migrated.
CREATE TABLE spare_stores (
    name TEXT NOT NULL PRIMARY KEY,
    placement TEXT NOT NULL CHECK (placement IN ('schema', 'dedicated')),
    created_at TIMESTAMP NOT NULL
);

-- What the app's role needs on the new tables (see the start-up check): it
-- claims spares but never makes them (the owner does).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT grantee::text AS grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name IN ('mail_due', 'spare_stores')
          AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON mail_due FROM %I', r.grantee);
        -- (UPDATE stays: taking a spare locks its row FOR UPDATE.)
        EXECUTE format('REVOKE INSERT, TRUNCATE, REFERENCES, TRIGGER ON spare_stores FROM %I', r.grantee);
    END LOOP;
END $$;
