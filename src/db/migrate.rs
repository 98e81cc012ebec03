//! Embedded migrations, one set per backend, run at start and by `tenantry migrate`.

use anyhow::{Context, anyhow};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbConnection, establish};
use crate::config::DatabaseUrl;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies pending migrations as the URL's role (on PostgreSQL: the tables' owner).
/// Returns how many ran.
pub fn run_migrations(url: &DatabaseUrl) -> anyhow::Result<usize> {
    let mut conn = establish(url).context("could not connect to the database to migrate")?;
    let applied = match &mut conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(|e| anyhow!("migration failed: {e}"))
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
