//! `OperatorDb`: the command line's cross-tenant operations. It connects with the
//! owner's URL and is used only by `cli` (and by `serve` at start for migrations);
//! request handlers never hold one.

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::migrate::{applied_version, latest_version, run_pending};
use super::schema::{spare_stores, tenants};
use super::stores::{Home, StoreLayout, StoreName, connect_home, set_search_path};
use super::{DbConnection, TxMode, establish, in_transaction};
use crate::domain::{Placement, TenantId};

/// How long a migration of a tenant's store waits for a lock before it gives up
/// on that store (and `tenantry migrate` reports it and goes on with the rest).
pub const STORE_LOCK_TIMEOUT_MS: u32 = 5_000;

/// One line of `tenantry tenants list`.
#[derive(Debug, serde::Serialize)]
pub struct TenantSummary {
    /// Subdomain.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Plan.
    pub plan: String,
    /// Where its data lives.
    pub placement: Placement,
    /// Its schema, database or file (none for shared).
    pub store: Option<String>,
    /// Active members (`None` when its store could not be read).
    pub members: Option<i64>,
    /// Leads (`None` when its store could not be read).
    pub leads: Option<i64>,
    /// When it signed up.
    pub created_at: NaiveDateTime,
}

/// A tenant placed outside the main database, or a spare store, as the directory
/// records it.
#[derive(Clone, Debug)]
pub struct HomeEntry {
    /// The tenant's slug, or `None` for a spare.
    pub slug: Option<String>,
    /// The tenant.
    pub tenant_id: Option<TenantId>,
    /// Where.
    pub home: Home,
    /// The version the directory last recorded for it.
    pub recorded_version: Option<String>,
}

impl HomeEntry {
    /// How the command line names it: `acme (schema tenant_ab12)`.
    pub fn label(&self) -> String {
        format!(
            "{} ({} {})",
            self.slug.as_deref().unwrap_or("spare"),
            self.home.placement(),
            self.home.store_name().unwrap_or_default()
        )
    }
}

/// A direct connection for operator commands.
pub struct OperatorDb {
    pub(super) conn: DbConnection,
    pub(super) layout: StoreLayout,
}

impl OperatorDb {
    /// Connects to the main database as the owner (`MIGRATION_DATABASE_URL`).
    pub fn connect(layout: &StoreLayout) -> anyhow::Result<Self> {
        Ok(Self {
            conn: establish(layout.main_owner_url())
                .context("could not connect to the database")?,
            layout: layout.clone(),
        })
    }

    /// Every tenant placed outside the main database, and every spare store.
    pub fn homes(&mut self) -> anyhow::Result<Vec<HomeEntry>> {
        type Row = (
            TenantId,
            String,
            Placement,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = tenants::table
            .filter(tenants::placement.ne(Placement::Shared))
            .order(tenants::slug.asc())
            .select((
                tenants::id,
                tenants::slug,
                tenants::placement,
                tenants::store,
                tenants::database_url,
                tenants::store_version,
            ))
            .load(&mut self.conn)
            .context("reading the tenants directory")?;
        let mut homes = Vec::new();
        for (id, slug, placement, store, server, version) in rows {
            let home = Home::from_directory(placement, store.as_deref(), server.as_deref())
                .map_err(|e| anyhow::anyhow!("tenant {slug}: {e}"))?;
            homes.push(HomeEntry {
                slug: Some(slug),
                tenant_id: Some(id),
                home,
                recorded_version: version,
            });
        }
        let spares: Vec<(String, String)> = spare_stores::table
            .order(spare_stores::created_at.asc())
            .select((spare_stores::name, spare_stores::placement))
            .load(&mut self.conn)
            .context("reading the spare stores")?;
        for (name, placement) in spares {
            let name = StoreName::parse(&name).map_err(anyhow::Error::msg)?;
            let home = match Placement::from_stored(&placement) {
                Some(Placement::Schema) => Home::Schema(name),
                _ => Home::Dedicated { name, server: None },
            };
            homes.push(HomeEntry {
                slug: None,
                tenant_id: None,
                home,
                recorded_version: None,
            });
        }
        Ok(homes)
    }

    /// Records the version a tenant's store is at.
    pub fn record_version(&mut self, entry: &HomeEntry, version: &str) -> anyhow::Result<()> {
        if let Some(id) = &entry.tenant_id {
            diesel::update(tenants::table.filter(tenants::id.eq(id)))
                .set(tenants::store_version.eq(version))
                .execute(&mut self.conn)?;
        }
        Ok(())
    }

    /// The main database's version.
    pub fn main_version(&mut self) -> anyhow::Result<Option<String>> {
        applied_version(&mut self.conn)
    }

    /// Every tenant, by slug, with its member and lead counts read where it lives.
    pub fn list_tenants(&mut self) -> anyhow::Result<Vec<TenantSummary>> {
        type Row = (
            TenantId,
            String,
            String,
            String,
            Placement,
            Option<String>,
            Option<String>,
            NaiveDateTime,
        );
        let rows: Vec<Row> = tenants::table
            .order(tenants::slug.asc())
            .select((
                tenants::id,
                tenants::slug,
                tenants::name,
                tenants::plan,
                tenants::placement,
                tenants::store,
                tenants::database_url,
                tenants::created_at,
            ))
            .load(&mut self.conn)
            .context("listing tenants")?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, slug, name, plan, placement, store, server, created_at) in rows {
            let counts = match Home::from_directory(placement, store.as_deref(), server.as_deref())
            {
                Ok(Home::Main) => count_rows(&mut self.conn, &id, &Home::Main).ok(),
                Ok(home) => connect_home(&self.layout, &home, true)
                    .and_then(|mut c| count_rows(&mut c, &id, &home))
                    .ok(),
                Err(_) => None,
            };
            out.push(TenantSummary {
                slug,
                name,
                plan,
                placement,
                store,
                members: counts.map(|c| c.0),
                leads: counts.map(|c| c.1),
                created_at,
            });
        }
        Ok(out)
    }
}

/// Active members and leads of one tenant, counted inside the tenant (row-level
/// security is forced for the owner too).
fn count_rows(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &Home,
) -> anyhow::Result<(i64, i64)> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        members: i64,
        #[diesel(sql_type = BigInt)]
        leads: i64,
    }
    let counts = in_transaction(conn, TxMode::Read, |conn| {
        set_search_path(conn, home)?;
        let query = diesel::sql_query(
            "SELECT (SELECT count(*) FROM users WHERE tenant_id = $1 AND active) AS members, \
                    (SELECT count(*) FROM leads WHERE tenant_id = $1) AS leads",
        )
        .bind::<Text, _>(tenant.as_str());
        match conn {
            DbConnection::Postgresql(pg) => {
                diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind::<Text, _>(tenant.as_str())
                    .execute(pg)?;
                query.get_result::<Counts>(pg)
            }
            DbConnection::Sqlite(c) => query.get_result::<Counts>(c),
        }
    })?;
    Ok((counts.members, counts.leads))
}

/// What migrating one tenant's store did.
#[derive(Debug)]
pub enum HomeMigration {
    /// Migrated (or already current): how many ran, and the version now.
    Current {
        /// Migrations applied now.
        applied: usize,
        /// The store's version.
        version: String,
    },
    /// It failed; the store is left at whatever its last whole migration was
    /// (each migration is one transaction), and the next run goes on from there.
    Failed(String),
}

/// Migrates one tenant's store as the owner, waiting at most
/// [`STORE_LOCK_TIMEOUT_MS`] for any lock, so that one busy store cannot hold up
/// the rest.
pub fn migrate_one(layout: &StoreLayout, home: &Home) -> HomeMigration {
    let run = || -> anyhow::Result<(usize, String)> {
        let mut conn = connect_home(layout, home, true)?;
        let bound = match &conn {
            DbConnection::Postgresql(_) => format!("SET lock_timeout = {STORE_LOCK_TIMEOUT_MS}"),
            DbConnection::Sqlite(_) => format!("PRAGMA busy_timeout = {STORE_LOCK_TIMEOUT_MS}"),
        };
        conn.batch_execute(&bound)?;
        let applied = run_pending(&mut conn)?;
        let version = applied_version(&mut conn)?.unwrap_or_default();
        Ok((applied, version))
    };
    match run() {
        Ok((applied, version)) => HomeMigration::Current { applied, version },
        Err(e) => HomeMigration::Failed(format!("{e:#}")),
    }
}

/// The newest version this binary knows, for the store's engine.
pub fn newest_version(layout: &StoreLayout) -> String {
    latest_version(layout.kind())
}

/// A store's version as read from the store itself.
pub fn store_version(layout: &StoreLayout, home: &Home) -> anyhow::Result<Option<String>> {
    let mut conn = connect_home(layout, home, true)?;
    applied_version(&mut conn)
}

/// Migrates every store in `homes`, `parallel` at a time, calling `done` as each
/// finishes. One store's failure does not stop the others.
pub fn migrate_homes(
    layout: &StoreLayout,
    homes: &[HomeEntry],
    parallel: usize,
    done: impl Fn(&HomeEntry, &HomeMigration) + Sync,
) -> Vec<HomeMigration> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<HomeMigration>>> =
        std::sync::Mutex::new((0..homes.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, homes.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(entry) = homes.get(i) else { break };
                    let outcome = migrate_one(layout, &entry.home);
                    done(entry, &outcome);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| HomeMigration::Failed("not run".into())))
        .collect()
}
