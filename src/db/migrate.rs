//! Embedded migrations, one set per backend, run at start and by `tenantry migrate`:
//! on the main database and on every tenant's own schema or database, which hold
//! the same tables.

use anyhow::{Context, anyhow};
use diesel::migration::MigrationSource;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::stores::{Home, StoreLayout, connect_home};
use super::{DbConnection, establish};
use crate::config::{DatabaseUrl, DbKind};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies pending migrations as the URL's role (on PostgreSQL: the tables' owner).
/// Returns how many ran.
pub fn run_migrations(url: &DatabaseUrl) -> anyhow::Result<usize> {
    let mut conn = establish(url).context("could not connect to the database to migrate")?;
    run_pending(&mut conn)
}

/// Applies pending migrations to one tenant's own schema or database, as the owner.
pub fn migrate_home(layout: &StoreLayout, home: &Home) -> anyhow::Result<usize> {
    let mut conn = connect_home(layout, home, true)?;
    run_pending(&mut conn)
}

pub(super) fn run_pending(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(|e| anyhow!("migration failed: {e}"))
}

/// The newest migration this binary knows, e.g. `20261202000001`.
pub fn latest_version(kind: DbKind) -> String {
    let names: Vec<String> = match kind {
        DbKind::Sqlite => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
            .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
        DbKind::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
            .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
    };
    names.into_iter().max().unwrap_or_default()
}

/// The newest migration applied where `conn` points (`None`: none yet).
pub fn applied_version(conn: &mut DbConnection) -> anyhow::Result<Option<String>> {
    let versions = match conn {
        DbConnection::Sqlite(c) => c.applied_migrations(),
        DbConnection::Postgresql(c) => c.applied_migrations(),
    }
    .map_err(|e| anyhow!("reading the migration history: {e}"))?;
    Ok(versions.into_iter().map(|v| v.to_string()).max())
}

/// Reverts the newest migration where `url` points (tests make a store fall
/// behind with it, to prove that `tenantry migrate` finishes it).
#[doc(hidden)]
pub fn revert_last_migration(url: &DatabaseUrl) -> anyhow::Result<String> {
    let mut conn = establish(url).context("could not connect to the database")?;
    let reverted = match &mut conn {
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgresql(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
    };
    reverted
        .map(|v| v.to_string())
        .map_err(|e| anyhow!("reverting a migration failed: {e}"))
}

/// Reverts every migration (tests prove each `down.sql` works).
#[doc(hidden)]
pub fn revert_all_migrations(url: &DatabaseUrl) -> anyhow::Result<usize> {
    let mut conn = establish(url).context("could not connect to the database")?;
    let reverted = match &mut conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    reverted.map_err(|e| anyhow!("reverting migrations failed: {e}"))
}
