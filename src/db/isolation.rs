//! The start-up check of PostgreSQL's second wall. Most multi-tenancy set-ups learn
//! that row-level security was off, or that the app connected as a role that skips
//! it, from a leak; Tenantry refuses to serve instead.

use anyhow::bail;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::schema::{CROSS_TENANT_INDEX_TABLES, TENANT_TABLES};
use super::{Db, DbConnection};

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
    #[diesel(sql_type = Bool)]
    has_policy: bool,
}

/// Checks, as the app's role, that every tenant table is guarded: the role is not a
/// superuser, cannot bypass RLS, does not own (or inherit the owner of) any tenant
/// table, and each table has RLS enabled, forced, and the `tenant_isolation` policy
/// on `app.tenant_id`. Returns a one-line reason on the first failure.
pub async fn check_isolation(db: &Db) -> anyhow::Result<()> {
    let problems = db
        .with_conn(|conn| {
            let DbConnection::Postgresql(pg) = conn else {
                return Ok(Vec::new());
            };
            isolation_problems(pg)
        })
        .await
        .map_err(|e| anyhow::Error::new(e).context("could not check row-level security"))?;
    if let Some(first) = problems.first() {
        bail!("refusing to serve: {first}");
    }
    Ok(())
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
        "SELECT table_name::text AS table_name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY table_name",
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
                    c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced, \
                    EXISTS (SELECT 1 FROM pg_policies p \
                            WHERE p.schemaname = n.nspname AND p.tablename = c.relname \
                              AND p.policyname = 'tenant_isolation' \
                              AND p.qual LIKE '%app.tenant_id%' \
                              AND p.with_check LIKE '%app.tenant_id%') AS has_policy \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema()",
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
        if !f.has_policy {
            problems.push(format!(
                "table `{table}` lacks its `tenant_isolation` policy on app.tenant_id"
            ));
        }
    }
    Ok(problems)
}
