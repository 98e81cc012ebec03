//! `tenantry tenants delete`: erasing a tenant for good (GDPR article 17).
//!
//! Every row of the tenant goes, in every table, wherever it lives, and so does
//! its own schema, database or file; then its directory row, which makes its host
//! answer "no workspace". On SQLite, `secure_delete` overwrites what was deleted
//! and the WAL is checkpointed and truncated afterwards, so the erased text is
//! left neither in free pages nor in the log.

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::audit::with_deletes_allowed;
use super::operator::OperatorDb;
use super::schema::{mail_due, member_directory, tenants};
use super::stores::{Home, connect_home, drop_home, set_search_path};
use super::{DbConnection, TxMode, in_transaction};
use crate::domain::{Placement, TenantId};

/// The tables that hold a tenant's rows, children before parents, so that deleting
/// in this order never trips a foreign key.
pub const ERASE_ORDER: &[&str] = &[
    "audit_log",
    "mail_queue",
    "outbox",
    "lead_activities",
    "tasks",
    "lead_import_changes",
    "lead_imports",
    "notes",
    "leads",
    // After the leads, whose triggers change it as they go.
    "lead_counts",
    "companies",
    "import_staging",
    "invites",
    "sessions",
    "api_keys",
    "auth_tokens",
    "member_directory",
    "users",
];

/// Rows per table, as counted before or after.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RowCounts(pub Vec<(String, i64)>);

impl RowCounts {
    /// Every row counted.
    pub fn total(&self) -> i64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// What `tenants delete` did.
#[derive(Debug)]
pub struct Erased {
    /// Where the tenant lived.
    pub placement: Placement,
    /// Its rows before, where it lived and in the main database's indexes.
    pub before: RowCounts,
    /// The same counts after (all zero).
    pub after: RowCounts,
    /// SQLite: whether the log was emptied (`false` when a reader held it; the
    /// next checkpoint does it).
    pub wal_truncated: Option<bool>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Counts a tenant's rows in every tenant table where `conn` points.
fn count_rows(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &Home,
) -> anyhow::Result<RowCounts> {
    let counts = in_transaction(conn, TxMode::Read, |conn| {
        enter(conn, tenant, home)?;
        let mut counts = Vec::new();
        for table in ERASE_ORDER {
            let query = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM {table} WHERE tenant_id = $1"
            ))
            .bind::<Text, _>(tenant.as_str());
            let n = match &mut *conn {
                DbConnection::Postgresql(c) => query.get_result::<Count>(c)?.n,
                DbConnection::Sqlite(c) => query.get_result::<Count>(c)?.n,
            };
            counts.push(((*table).to_owned(), n));
        }
        Ok::<_, super::QueryError>(counts)
    })?;
    Ok(RowCounts(counts))
}

/// Makes the owner's transaction one inside the tenant (row-level security is
/// forced for the owner too) and, for a schema, on its search path.
pub(super) fn enter(conn: &mut DbConnection, tenant: &TenantId, home: &Home) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
            .bind::<Text, _>(tenant.as_str())
            .execute(pg)?;
    }
    set_search_path(conn, home)
}

/// Deletes the tenant's rows where `conn` points, in one transaction.
fn delete_rows(conn: &mut DbConnection, tenant: &TenantId, home: &Home) -> anyhow::Result<()> {
    in_transaction(conn, TxMode::Write, |conn| {
        enter(conn, tenant, home)?;
        for table in ERASE_ORDER {
            let query = diesel::sql_query(format!("DELETE FROM {table} WHERE tenant_id = $1"))
                .bind::<Text, _>(tenant.as_str());
            // The audit log is append-only; erasing a tenant is the one
            // exception, and on SQLite lifts its trigger inside this transaction.
            with_deletes_allowed(conn, table, |conn| match &mut *conn {
                DbConnection::Postgresql(c) => query.execute(c),
                DbConnection::Sqlite(c) => query.execute(c),
            })?;
        }
        Ok::<_, super::QueryError>(())
    })?;
    Ok(())
}

/// Empties a SQLite file's write-ahead log into the file and truncates it.
/// Returns whether it could (no reader was in the way).
fn truncate_wal(conn: &mut DbConnection) -> anyhow::Result<Option<bool>> {
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = Integer)]
        busy: i32,
    }
    let DbConnection::Sqlite(c) = conn else {
        return Ok(None);
    };
    let done: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(c)?;
    Ok(Some(done.busy == 0))
}

/// Marks the tenant's row where `conn` points as `moved`: its writes stop.
fn close_writes(conn: &mut DbConnection, tenant: &TenantId) -> anyhow::Result<()> {
    diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
        .set(tenants::writes.eq(crate::domain::WriteState::Moved))
        .execute(conn)?;
    Ok(())
}

impl OperatorDb {
    /// Where the tenant at `slug` lives, if there is one.
    pub fn find_tenant(&mut self, slug: &str) -> anyhow::Result<Option<(TenantId, Home)>> {
        let row: Option<(TenantId, Placement, Option<String>, Option<String>)> = tenants::table
            .filter(tenants::slug.eq(slug))
            .select((
                tenants::id,
                tenants::placement,
                tenants::store,
                tenants::database_url,
            ))
            .first(&mut self.conn)
            .optional()?;
        row.map(|(id, placement, store, server)| {
            Home::from_directory(placement, store.as_deref(), server.as_deref())
                .map(|home| (id, home))
                .map_err(anyhow::Error::msg)
        })
        .transpose()
    }

    /// The tenant's rows: where it lives, and (for a tenant placed elsewhere) what
    /// the main database indexes of it.
    pub fn count_tenant(&mut self, tenant: &TenantId, home: &Home) -> anyhow::Result<RowCounts> {
        let mut counts = if home.is_main() {
            count_rows(&mut self.conn, tenant, home)?
        } else {
            let mut conn = connect_home(&self.layout, home, true)?;
            count_rows(&mut conn, tenant, home)?
        };
        if !home.is_main() {
            let listed: i64 = member_directory::table
                .filter(member_directory::tenant_id.eq(tenant))
                .count()
                .get_result(&mut self.conn)?;
            counts.0.push(("member_directory (main)".into(), listed));
        }
        let hinted: i64 = mail_due::table
            .filter(mail_due::tenant_id.eq(tenant))
            .count()
            .get_result(&mut self.conn)?;
        counts.0.push(("mail_due (main)".into(), hinted));
        Ok(counts)
    }

    /// Erases the tenant at `slug`: every row, its store, its directory row.
    pub fn delete_tenant(&mut self, slug: &str) -> anyhow::Result<Option<Erased>> {
        let Some((tenant, home)) = self.find_tenant(slug)? else {
            return Ok(None);
        };
        let before = self.count_tenant(&tenant, &home)?;
        if let DbConnection::Sqlite(c) = &mut self.conn {
            c.batch_execute("PRAGMA secure_delete = ON")?;
        }
        // No server writes for it from here on, wherever it lives: a server still
        // holding a connection to its store (even to a file unlinked below) reads
        // `moved` in its writing transaction and writes nothing.
        close_writes(&mut self.conn, &tenant)?;
        if !home.is_main() {
            let mut store = connect_home(&self.layout, &home, true)?;
            close_writes(&mut store, &tenant)?;
        }
        // Its own store first: a crash after this leaves a directory row whose
        // store is gone (the tenant answers 503), and a rerun finishes the job.
        if !home.is_main() {
            drop_home(&self.layout, &home).context("removing the tenant's own store")?;
        }
        // Rows in the main database (all of a shared tenant's; none should be
        // there for another, but a half-done move could have left some).
        delete_rows(&mut self.conn, &tenant, &Home::Main)?;
        in_transaction(&mut self.conn, TxMode::Write, |conn| {
            diesel::delete(mail_due::table.filter(mail_due::tenant_id.eq(&tenant)))
                .execute(conn)?;
            diesel::delete(member_directory::table.filter(member_directory::tenant_id.eq(&tenant)))
                .execute(conn)?;
            diesel::delete(tenants::table.filter(tenants::id.eq(&tenant))).execute(conn)?;
            Ok::<_, super::QueryError>(())
        })?;
        let wal_truncated = truncate_wal(&mut self.conn)?;
        let after = self.count_tenant(&tenant, &Home::Main)?;
        Ok(Some(Erased {
            placement: home.placement(),
            before,
            after,
            wal_truncated,
        }))
    }
}
