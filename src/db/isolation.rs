//! The start-up check of PostgreSQL's second wall. Most multi-tenancy set-ups learn
//! that row-level security was off, or that the app connected as a role that skips
//! it, from a leak; Tenantry refuses to serve instead.

use anyhow::bail;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::schema::{
    APPEND_ONLY_TABLES, CROSS_TENANT_INDEX_TABLES, PLATFORM_TABLE_PRIVILEGES, TENANT_TABLES,
};
use super::stores::{Home, set_search_path};
use super::{Db, DbConnection, TxMode, in_transaction};

#[derive(QueryableByName)]
struct RoleFacts {
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    superuser: bool,
    #[diesel(sql_type = Bool)]
    bypass_rls: bool,
}

#[derive(QueryableByName)]
struct TableFacts {
    #[diesel(sql_type = Text)]
    owner: String,
    #[diesel(sql_type = Bool)]
    owned_by_app: bool,
    #[diesel(sql_type = Bool)]
    rls_enabled: bool,
    #[diesel(sql_type = Bool)]
    rls_forced: bool,
}

/// One row-level security policy on a table, as the catalog shows it.
#[derive(QueryableByName)]
struct PolicyFacts {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    permissive: bool,
    #[diesel(sql_type = Text)]
    command: String,
    #[diesel(sql_type = Text)]
    roles: String,
    #[diesel(sql_type = Text)]
    using_expr: String,
    #[diesel(sql_type = Text)]
    check_expr: String,
}

/// A table privilege the app's role holds.
#[derive(QueryableByName)]
struct GrantFacts {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    privilege: String,
}

/// The only policy a tenant table may have: its name, and the expression (as
/// PostgreSQL prints it back) that both `USING` and `WITH CHECK` must be. Any
/// other permissive policy is OR-ed with it and would open the table; `... OR
/// true` in this one would too.
const POLICY_NAME: &str = "tenant_isolation";
const POLICY_EXPR: &str = "(tenant_id = current_setting('app.tenant_id'::text, true))";

/// Privileges the app's role never needs on any table: `TRUNCATE` empties a table
/// without row-level security, `REFERENCES` and `TRIGGER` let a role hang its own
/// code or constraints on our tables.
const NEVER_GRANTED: &[&str] = &["TRUNCATE", "REFERENCES", "TRIGGER"];

/// Checks, as the app's role, that every tenant table is guarded: the role is not a
/// superuser, cannot bypass RLS, does not own (or inherit the owner of) any tenant
/// table, and each table has RLS enabled, forced, and the `tenant_isolation` policy
/// on `app.tenant_id`. Returns a one-line reason on the first failure.
pub async fn check_isolation(db: &Db) -> anyhow::Result<()> {
    let (problems, search) = db
        .with_conn(|conn| match conn {
            DbConnection::Postgresql(pg) => {
                Ok((isolation_problems(pg)?, search_index_problem(pg)?))
            }
            DbConnection::Sqlite(c) => Ok((sqlite_problems(c)?, None)),
        })
        .await
        .map_err(|e| anyhow::Error::new(e).context("could not check row-level security"))?;
    if let Some(first) = problems.first() {
        bail!("refusing to serve: {first}");
    }
    // Not a refusal: searches are right either way, only slower.
    if let Some(problem) = search {
        tracing::warn!("{problem}");
    }
    Ok(())
}

/// What a superuser runs in a database (`deploy/postgres-roles.sql` does) so
/// that PostgreSQL may use the search index under row-level security.
///
/// Under forced row-level security the planner evaluates the tenant policy
/// before any condition whose functions are not marked leakproof, so it cannot
/// read an index for them: `lower(name) LIKE '%ada%'` became a scan of the
/// tenant's leads, the pg_trgm index unused. Marking `lower(text)` and
/// `textlike` leakproof lets the index answer the search, with the policy still
/// applied to every row it returns. What that marking gives up: neither
/// function reports anything about the rows it reads, but `LIKE` can fail on a
/// malformed pattern, so SQL written against another tenant's rows could learn,
/// through an error, whether a value used as a pattern ends in a backslash.
/// The app's own SQL uses the two functions only with its own escaped patterns.
pub const SEARCH_INDEX_LEAKPROOF: &str = "ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF; \
     ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF;";

/// Why the search index cannot serve the app in this database, if it cannot:
/// see [`SEARCH_INDEX_LEAKPROOF`]. Searches stay correct either way.
pub fn search_index_problem(pg: &mut PgConnection) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Leaky {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let leaky = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_catalog.pg_proc \
         WHERE NOT proleakproof AND oid IN \
           ('pg_catalog.lower(text)'::regprocedure, 'pg_catalog.textlike(text, text)'::regprocedure)",
    )
    .get_result::<Leaky>(pg)?;
    Ok((leaky.n > 0).then(|| {
        "search: lower(text) and textlike are not marked LEAKPROOF in this database, so under \
         row-level security PostgreSQL cannot use the search index and each search scans the \
         tenant's leads; a superuser can mark them (see deploy/postgres-roles.sql)"
            .to_owned()
    }))
}

/// Why a tenant's own schema or database may not serve, if it may not: it is
/// not migrated to this binary's version, or (PostgreSQL) it fails the same
/// isolation check as the main database. Runs as the app's role.
pub(super) fn home_problem(conn: &mut DbConnection, home: &Home) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        version: Option<String>,
    }
    let latest = super::migrate::latest_version(match conn {
        DbConnection::Sqlite(_) => crate::config::DbKind::Sqlite,
        DbConnection::Postgresql(_) => crate::config::DbKind::Postgres,
    });
    in_transaction(conn, TxMode::Read, |conn| {
        set_search_path(conn, home)?;
        let query =
            diesel::sql_query("SELECT max(version) AS version FROM __diesel_schema_migrations");
        let applied = match &mut *conn {
            DbConnection::Sqlite(c) => query.get_result::<Version>(c),
            DbConnection::Postgresql(c) => query.get_result::<Version>(c),
        };
        let applied = match applied {
            Ok(v) => v.version,
            // No history table: nothing was ever migrated here.
            Err(diesel::result::Error::DatabaseError(..)) => None,
            Err(e) => return Err(e),
        };
        if applied.as_deref() != Some(latest.as_str()) {
            return Ok(Some(format!(
                "its database is at migration {} and this version needs {latest}; run `tenantry migrate`",
                applied.as_deref().unwrap_or("none")
            )));
        }
        match conn {
            DbConnection::Postgresql(pg) => Ok(isolation_problems(pg)?.into_iter().next()),
            DbConnection::Sqlite(c) => Ok(sqlite_problems(c)?.into_iter().next()),
        }
    })
}

/// The privileges the app's role may hold on an append-only table.
const APPEND_ONLY_PRIVILEGES: &[&str] = &["SELECT", "INSERT"];

/// SQLite has no roles: what keeps an append-only table so is its pair of
/// triggers that refuse `UPDATE` and `DELETE`. A file without them (an old
/// copy, someone's hand-made fix) is refused.
pub fn sqlite_problems(c: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut problems = Vec::new();
    for table in APPEND_ONLY_TABLES {
        for (what, trigger) in [
            ("UPDATE", format!("{table}_no_update")),
            ("DELETE", format!("{table}_no_delete")),
        ] {
            let found: Found = diesel::sql_query(
                "SELECT count(*) AS n FROM sqlite_master                  WHERE type = 'trigger' AND name = $1 AND tbl_name = $2",
            )
            .bind::<Text, _>(&trigger)
            .bind::<Text, _>(*table)
            .get_result(c)?;
            if found.n == 0 {
                problems.push(format!(
                    "table `{table}` is append-only but its trigger `{trigger}` that refuses {what} is missing; run `tenantry migrate` or restore it"
                ));
            }
        }
    }
    Ok(problems)
}

/// Every isolation problem found, as one-line sentences.
pub fn isolation_problems(pg: &mut PgConnection) -> QueryResult<Vec<String>> {
    let mut problems = Vec::new();
    let role: RoleFacts = diesel::sql_query(
        "SELECT current_user::text AS role, rolsuper AS superuser, rolbypassrls AS bypass_rls \
         FROM pg_roles WHERE rolname = current_user",
    )
    .get_result(pg)?;
    if role.superuser {
        problems.push(format!(
            "the database role `{}` is a superuser, which bypasses row-level security; connect DATABASE_URL as the app role (see README, PostgreSQL)",
            role.role
        ));
    }
    if role.bypass_rls {
        problems.push(format!(
            "the database role `{}` has BYPASSRLS; connect DATABASE_URL as a role without it",
            role.role
        ));
    }
    // Every table with a tenant_id column is a tenant table, listed or not, so a
    // new table that someone forgot to add to TENANT_TABLES is still checked.
    #[derive(QueryableByName)]
    struct TableName {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    let mut tables: Vec<String> = TENANT_TABLES.iter().map(|t| (*t).to_owned()).collect();
    let with_tenant_id: Vec<TableName> = diesel::sql_query(
        // The schema's own tables first, then one index lookup per table (the
        // catalog's statistics can make the planner scan every schema's columns).
        "SELECT c.relname::text AS table_name FROM pg_class c, LATERAL ( \
           SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' \
             AND NOT a.attisdropped LIMIT 1) AS has_tenant_id \
         WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
           AND c.relkind IN ('r', 'p') \
         ORDER BY c.relname",
    )
    .load(pg)?;
    for t in with_tenant_id {
        if !tables.contains(&t.table_name)
            && !CROSS_TENANT_INDEX_TABLES.contains(&t.table_name.as_str())
        {
            tables.push(t.table_name);
        }
    }
    for table in &tables {
        let facts: Option<TableFacts> = diesel::sql_query(
            "SELECT pg_get_userbyid(c.relowner)::text AS owner, \
                    pg_has_role(current_user, c.relowner, 'USAGE') AS owned_by_app, \
                    c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced \
             FROM pg_class c \
             WHERE c.relname = $1 \
               AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
        )
        .bind::<Text, _>(table.as_str())
        .get_result(pg)
        .optional()?;
        let Some(f) = facts else {
            problems.push(format!(
                "tenant table `{table}` does not exist; run `tenantry migrate`"
            ));
            continue;
        };
        if f.owned_by_app {
            problems.push(format!(
                "the app's role `{}` owns (or can act as the owner `{}` of) table `{table}`; run migrations as the owner with MIGRATION_DATABASE_URL and serve as a separate role",
                role.role, f.owner
            ));
        }
        if !f.rls_enabled {
            problems.push(format!(
                "row-level security is not enabled on table `{table}`"
            ));
        }
        if !f.rls_forced {
            problems.push(format!(
                "row-level security is not forced on table `{table}`"
            ));
        }
        problems.extend(policy_problems(pg, table)?);
    }
    problems.extend(grant_problems(pg)?);
    Ok(problems)
}

/// A tenant table has exactly one policy: `tenant_isolation`, permissive, for
/// every command and role, with the expected expression on both sides.
fn policy_problems(pg: &mut PgConnection, table: &str) -> QueryResult<Vec<String>> {
    let policies: Vec<PolicyFacts> = diesel::sql_query(
        "SELECT p.polname::text AS name, p.polpermissive AS permissive, \
                CASE p.polcmd WHEN '*' THEN 'ALL' WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' \
                              WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END AS command, \
                CASE WHEN p.polroles = '{0}' THEN 'public' ELSE array_to_string(ARRAY( \
                    SELECT rolname FROM pg_roles WHERE oid = ANY (p.polroles) ORDER BY rolname), ',') \
                END AS roles, \
                coalesce(pg_get_expr(p.polqual, p.polrelid), '') AS using_expr, \
                coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') AS check_expr \
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid \
         WHERE c.relname = $1 \
           AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
         ORDER BY p.polname",
    )
    .bind::<Text, _>(table)
    .load(pg)?;
    let mut problems = Vec::new();
    if !policies.iter().any(|p| p.name == POLICY_NAME) {
        problems.push(format!(
            "table `{table}` lacks its `{POLICY_NAME}` policy on app.tenant_id"
        ));
    }
    for p in &policies {
        if p.name != POLICY_NAME {
            problems.push(format!(
                "table `{table}` has a policy `{}` besides `{POLICY_NAME}`; drop it (permissive policies are OR-ed, so it can open the table to every tenant)",
                p.name
            ));
        } else if !p.permissive
            || p.command != "ALL"
            || p.roles != "public"
            || p.using_expr != POLICY_EXPR
            || p.check_expr != POLICY_EXPR
        {
            problems.push(format!(
                "the `{POLICY_NAME}` policy on table `{table}` is not the expected one (permissive, for all commands and roles, USING and WITH CHECK {POLICY_EXPR}); found {} for {} to {}, USING {}, WITH CHECK {}",
                if p.permissive { "permissive" } else { "restrictive" },
                p.command,
                p.roles,
                p.using_expr,
                p.check_expr
            ));
        }
    }
    Ok(problems)
}

/// The app's role holds no privilege it does not need: on the directory and queue
/// tables only what [`PLATFORM_TABLE_PRIVILEGES`] lists (a `DELETE` on `tenants`
/// would cascade through every tenant table as the owner, past row-level
/// security), and on no table `TRUNCATE`, `REFERENCES` or `TRIGGER`.
fn grant_problems(pg: &mut PgConnection) -> QueryResult<Vec<String>> {
    let grants: Vec<GrantFacts> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, p.privilege \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p(privilege) \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
           AND has_table_privilege(current_user, c.oid, p.privilege) \
         ORDER BY c.relname, p.privilege",
    )
    .load(pg)?;
    let mut problems = Vec::new();
    for g in grants {
        let allowed = match PLATFORM_TABLE_PRIVILEGES
            .iter()
            .find(|(table, _)| *table == g.table_name)
        {
            Some((_, allowed)) => allowed.contains(&g.privilege.as_str()),
            None if APPEND_ONLY_TABLES.contains(&g.table_name.as_str()) => {
                APPEND_ONLY_PRIVILEGES.contains(&g.privilege.as_str())
            }
            None => !NEVER_GRANTED.contains(&g.privilege.as_str()),
        };
        if !allowed {
            problems.push(format!(
                "the app's role may {} table `{}`, which it never needs; REVOKE {} ON {} FROM the app role (see deploy/postgres-roles.sql)",
                g.privilege, g.table_name, g.privilege, g.table_name
            ));
        }
    }
    Ok(problems)
}
