//! Storage: the connection type, the pool, and the only ways to run a query.
//!
//! One binary serves SQLite or PostgreSQL. `DbConnection` is Diesel's
//! multi-connection over both, and the backend is picked from the URL scheme in
//! [`ConnManager`], the one place that decides it (Diesel's own `establish` would try
//! each backend in turn, and SQLite accepts almost any string as a file name).
//!
//! Nothing outside this module can name a table: `schema` is private. Work reaches
//! the database through [`Db`], in one of three shapes:
//! - [`Db::read`] / [`Db::write`]: one transaction inside one tenant, through a
//!   [`TenantTx`] whose every query is filtered by the tenant, on the database
//!   where the tenant lives (its [`Home`], carried by the scope: see `stores`). On
//!   PostgreSQL the transaction first sets `app.tenant_id`, which row-level
//!   security checks again, and for a schema tenant its search path.
//!   [`Db::read_snapshot`] is a read whose queries all see one snapshot (a
//!   workspace's download, which must agree with itself however long it takes).
//! - [`Db::platform`]: the narrow path for work that is not inside a tenant yet
//!   (resolving a host, signing up, finding workspaces), through [`PlatformTx`].
//! - [`OperatorDb`]: the command line's cross-tenant operations, as the tables' owner.
//!
//! Diesel is blocking, so every call runs on the blocking pool; the pooled
//! connection is taken inside that closure because `Pool::get` blocks too, and is
//! never held across an `.await`.

pub mod api_keys;
pub mod audit;
pub mod bundle;
mod cached_sql;
pub mod companies;
pub mod erase;
pub mod import;
pub mod imports;
mod index_copy;
pub mod invites;
mod isolation;
pub mod leads;
pub mod member_directory;
mod migrate;
pub mod moves;
pub mod notes;
pub(crate) use cached_sql::{on_backend, one_of};
mod operator;
pub mod outbox;
pub mod plans;
mod schema;
mod scope;
pub mod seed;
pub mod sessions;
pub mod spares;
mod stamp;
pub mod stores;
pub mod tasks;
pub mod team;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod workspace_export;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, Pool};

pub use diesel::result::{Error as QueryError, QueryResult};
pub use index_copy::MailDue;
pub use isolation::{
    SEARCH_INDEX_LEAKPROOF, check_isolation, isolation_problems, search_index_problem,
    sqlite_problems,
};
pub use migrate::{revert_all_migrations, revert_last_migration, run_migrations};
pub use operator::{
    HomeEntry, HomeMigration, OperatorDb, TenantSummary, migrate_homes, migrate_one,
    newest_version, store_version,
};
pub use scope::{PlatformTx, TenantScope, TenantTx};
pub use stores::{Home, StoreState};

use crate::config::{Config, DatabaseUrl, DbKind};
use crate::domain::WriteState;
use stores::{Budget, Permit, StoreLayout, Stores};

/// How long a request waits for a pooled connection before answering 503.
pub const POOL_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a locked database before giving up. SQLite admits
/// one writer at a time, so a writer queues behind the one in progress; the
/// longest of those is an import's publish step (one statement per table for up
/// to 100,000 staged rows: about a second, several on a loaded machine), and no
/// other tenant's write may fail because of it, so the wait is generous.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

/// Why a unit of work did not run to the end, besides its own query failing.
/// The data layer knows nothing of HTTP: the `error` module maps these to statuses.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No pooled connection in time (or none can be opened): the database is away.
    #[error("database unavailable")]
    Unavailable(#[source] r2d2::PoolError),
    /// The blocking task running the work panicked or was cancelled.
    #[error("database task failed")]
    Task(#[source] tokio::task::JoinError),
    /// A query (or the transaction around it) failed.
    #[error("query failed")]
    Query(#[from] diesel::result::Error),
    /// The tenant is being moved: its writes are paused for a moment.
    #[error("the tenant's writes are paused while it moves")]
    WritesPaused,
    /// The tenant lives elsewhere now; nothing was written. Its host is looked up
    /// again on the next request.
    #[error("the tenant has moved")]
    TenantMoved,
    /// The tenant's own schema or database is not serving: still being migrated,
    /// or refused by its check (the reason is logged, never shown).
    #[error("the tenant's database is not available: {0}")]
    StoreUnavailable(String),
}

/// The result of a unit of work run through [`Db`].
pub type DbResult<T> = Result<T, DbError>;

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, as the app's role.
    Postgresql(PgConnection),
    /// The embedded SQLite file.
    Sqlite(SqliteConnection),
}

/// A multi-row `INSERT` of `rows` into `table`. Runs on the concrete connection:
/// the multi-connection cannot express a batch insert of rows with nullable
/// columns for SQLite, whose Diesel backend writes such batches row by row
/// (one prepared statement, inside the caller's transaction).
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {
        match &mut *$conn {
            $crate::db::DbConnection::Postgresql(c) => {
                diesel::insert_into($table).values(&$rows).execute(c)?
            }
            $crate::db::DbConnection::Sqlite(c) => {
                diesel::insert_into($table).values(&$rows).execute(c)?
            }
        }
    };
}
pub(crate) use insert_many;

/// The backend type of [`DbConnection`], for boxed (dynamically filtered) queries.
type DbBackend = <DbConnection as Connection>::Backend;

/// Now, in UTC, to the microsecond: what both backends store, so that a value
/// read back compares equal to the one written (keyset cursors rely on it).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// `at` plus `d`, saturating at the latest instant (a duration too long for chrono
/// means "never" here, not an error).
pub fn after(at: chrono::NaiveDateTime, d: std::time::Duration) -> chrono::NaiveDateTime {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(chrono::NaiveDateTime::MAX)
}

/// Asked to close idle connections elsewhere when the budget has none free.
type MakeRoom = Arc<dyn Fn() + Send + Sync>;

/// Opens connections of the backend that the URL names; a budgeted manager (a
/// dedicated tenant database's) takes a share of the process's connection budget
/// for each connection it opens.
pub struct ConnManager {
    url: DatabaseUrl,
    budget: Option<(Arc<Budget>, MakeRoom)>,
    /// Whether PostgreSQL connections keep named prepared statements.
    statement_cache: bool,
}

impl std::fmt::Debug for ConnManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnManager")
            .field("url", &self.url)
            .field("budgeted", &self.budget.is_some())
            .finish()
    }
}

impl ConnManager {
    /// A manager for this URL.
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            budget: None,
            statement_cache: true,
        }
    }

    /// Without named prepared statements (PgBouncer in transaction mode hands
    /// each transaction a different server connection, which does not have them).
    pub fn without_statement_cache(mut self) -> Self {
        self.statement_cache = false;
        self
    }

    /// A manager whose connections count against `budget`.
    fn budgeted(url: DatabaseUrl, budget: Arc<Budget>, make_room: MakeRoom) -> Self {
        Self {
            url,
            budget: Some((budget, make_room)),
            statement_cache: true,
        }
    }
}

/// A pooled connection, holding its share of the budget while it is open.
pub struct PoolConn {
    conn: DbConnection,
    _permit: Option<Permit>,
}

/// Opens one connection, outside any pool (migrations, operator commands).
pub fn establish(url: &DatabaseUrl) -> ConnectionResult<DbConnection> {
    let target = url.connection_string();
    let mut conn = match url.kind() {
        DbKind::Sqlite => SqliteConnection::establish(&target).map(DbConnection::Sqlite)?,
        DbKind::Postgres => PgConnection::establish(&target).map(DbConnection::Postgresql)?,
    };
    configure(&mut conn).map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Per-connection settings. SQLite: enforce foreign keys (off by default!), wait on
/// locks instead of failing at once, and use WAL so readers never block the writer.
fn configure(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
             PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
        )),
        DbConnection::Postgresql(_) => Ok(()),
    }
}

impl ManageConnection for ConnManager {
    type Connection = PoolConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PoolConn, r2d2::Error> {
        let permit = match &self.budget {
            Some((budget, make_room)) => Some(
                budget
                    .acquire(POOL_CHECKOUT_TIMEOUT, || make_room())
                    .ok_or_else(|| {
                        r2d2::Error::ConnectionError(ConnectionError::BadConnection(
                            "the process's connection budget (DATABASE_MAX_CONNECTIONS) is in use"
                                .into(),
                        ))
                    })?,
            ),
            None => None,
        };
        let mut conn = establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
        if let (false, DbConnection::Postgresql(pg)) = (self.statement_cache, &mut conn) {
            // Every query goes as one unnamed statement.
            pg.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
        }
        Ok(PoolConn {
            conn,
            _permit: permit,
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), r2d2::Error> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        // A connection given back inside a transaction (a panic mid-request) is not reused.
        !matches!(
            <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(
                &mut conn.conn
            )
            .transaction_depth(),
            Ok(None)
        )
    }
}

#[derive(Debug)]
struct NoCustomizer;
impl CustomizeConnection<PoolConn, r2d2::Error> for NoCustomizer {}

/// Whether a transaction will write. SQLite needs to know up front: a deferred
/// transaction that reads and then writes can fail at once with `SQLITE_BUSY` when
/// another writer got in between, which no busy timeout helps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TxMode {
    Read,
    Write,
    /// Reads that must all see one snapshot (an export): on PostgreSQL
    /// `REPEATABLE READ`; a SQLite read transaction is one already.
    Snapshot,
}

/// The application's handle on the database: the main pool, and through
/// [`Stores`] the tenants' own schemas and databases.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnManager>,
    kind: DbKind,
    stores: Arc<Stores>,
}

impl Db {
    /// Builds the main pool and checks that one connection can be made. Pools of
    /// dedicated tenant databases are made on first use, under a budget of
    /// `max_connections - pool_size` connections.
    pub fn connect(config: &Config) -> anyhow::Result<Self> {
        let url = &config.database_url;
        let pool = Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(1))
            .connection_timeout(POOL_CHECKOUT_TIMEOUT)
            .test_on_check_out(false)
            .connection_customizer(Box::new(NoCustomizer))
            .build(if config.prepared_statements {
                ConnManager::new(url.clone())
            } else {
                ConnManager::new(url.clone()).without_statement_cache()
            })
            .context("could not connect to the database (check DATABASE_URL)")?;
        let budget = Budget::new(
            config
                .max_connections
                .saturating_sub(config.pool_size)
                .max(1),
        );
        let stores = Stores::new(
            StoreLayout::new(config),
            config.pool_size,
            budget,
            config.prepared_statements,
        );
        Ok(Self {
            pool,
            kind: url.kind(),
            stores: Arc::new(stores),
        })
    }

    /// Which backend this is.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The tenants' own schemas and databases, as this process knows them.
    pub fn stores(&self) -> &Arc<Stores> {
        &self.stores
    }

    /// Runs `f` on a connection of the main pool on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        crate::blocking::spawn_blocking_in_span(move || {
            let mut conn = pool.get().map_err(DbError::Unavailable)?;
            Ok(f(&mut conn.conn)?)
        })
        .await
        .map_err(DbError::Task)?
    }

    /// Runs `f` on a connection that reaches `home` (the main pool for the main
    /// database and its schemas, the home's own pool for a dedicated one), once
    /// the home is known to be migrated and to pass its isolation check.
    async fn with_home<T, F>(&self, home: &Home, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = match home {
            Home::Dedicated { .. } => self
                .stores
                .pool(home)
                .map_err(|e| DbError::StoreUnavailable(format!("{e:#}")))?,
            Home::Main | Home::Schema(_) => self.pool.clone(),
        };
        let stores = self.stores.clone();
        let home = home.clone();
        crate::blocking::spawn_blocking_in_span(move || {
            let mut conn = pool.get().map_err(DbError::Unavailable)?;
            ensure_ready(&stores, &home, &mut conn.conn)?;
            Ok(f(&mut conn.conn)?)
        })
        .await
        .map_err(DbError::Task)?
    }

    /// Whether the tenant's own store may serve (checked on first use; at once
    /// after that): the tenancy middleware asks before any page of the tenant.
    pub async fn home_ready(&self, scope: &TenantScope) -> DbResult<()> {
        match self.stores.state(scope.home()) {
            Some(StoreState::Ready) => Ok(()),
            _ => self.with_home(&scope.home().clone(), |_| Ok(())).await,
        }
    }

    /// A read-only unit of work inside one tenant, wherever it lives.
    pub async fn read<T, F>(&self, scope: &TenantScope, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut TenantTx<'_>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let scope = scope.clone();
        let (tenant, home) = (scope.tenant_id().clone(), scope.home().clone());
        let outcome = self
            .with_home(&scope.home().clone(), move |conn| {
                in_transaction(conn, TxMode::Read, |conn| {
                    let mut tx = TenantTx::enter(conn, &scope)?;
                    if tx.write_state()? == WriteState::Moved {
                        return Ok(None);
                    }
                    f(&mut tx).map(Some)
                })
            })
            .await?;
        outcome.ok_or_else(|| {
            // The tenant lives elsewhere now: nothing here is current.
            self.stores.mark_moved(&tenant, &home);
            DbError::TenantMoved
        })
    }

    /// A read-only unit of work inside one tenant whose every query sees the same
    /// snapshot, however long it runs (an admin's download of the workspace): on
    /// PostgreSQL `REPEATABLE READ, READ ONLY`; a SQLite read transaction is one
    /// already. It holds its pooled connection for as long as `f` runs.
    pub async fn read_snapshot<T, F>(&self, scope: &TenantScope, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut TenantTx<'_>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let scope = scope.clone();
        let (tenant, home) = (scope.tenant_id().clone(), scope.home().clone());
        let outcome = self
            .with_home(&scope.home().clone(), move |conn| {
                in_transaction(conn, TxMode::Snapshot, |conn| {
                    let mut tx = TenantTx::enter(conn, &scope)?;
                    if tx.write_state()? == WriteState::Moved {
                        return Ok(None);
                    }
                    f(&mut tx).map(Some)
                })
            })
            .await?;
        outcome.ok_or_else(|| {
            self.stores.mark_moved(&tenant, &home);
            DbError::TenantMoved
        })
    }

    /// A unit of work that writes inside one tenant, in one transaction. For a
    /// tenant outside the main database, what the main database indexes of it
    /// (its members' addresses for `/find`, when its mail is due, its name) is
    /// read in that transaction and copied to the main database after commit.
    pub async fn write<T, F>(&self, scope: &TenantScope, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut TenantTx<'_>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let scope = scope.clone();
        let home = scope.home().clone();
        let for_main = scope.clone();
        let outcome = self
            .with_home(&home, move |conn| {
                in_transaction(conn, TxMode::Write, |conn| {
                    let mut tx = TenantTx::enter(conn, &scope)?;
                    match tx.serialize_writes()? {
                        WriteState::Open => {}
                        closed => return Ok(Err(closed)),
                    }
                    let value = f(&mut tx)?;
                    let copy = tx.copy_for_main()?;
                    Ok(Ok((value, copy)))
                })
            })
            .await?;
        let (value, copy) = match outcome {
            Ok(done) => done,
            Err(WriteState::Paused) => return Err(DbError::WritesPaused),
            Err(_) => {
                // This server's idea of where the tenant lives is out of date.
                self.stores
                    .mark_moved(for_main.tenant_id(), for_main.home());
                return Err(DbError::TenantMoved);
            }
        };
        if let Some(copy) = copy
            && let Err(e) = self.publish(&for_main, copy).await
        {
            // The tenant's own write stands; the copy is redone at the next start.
            tracing::error!(error = %e, "copying a tenant's index to the main database failed");
        }
        Ok(value)
    }

    /// Work outside any tenant (host resolution, signup, the workspace finder), in
    /// one writing transaction on the main database.
    pub async fn platform<T, F>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut PlatformTx<'_>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.with_conn(move |conn| {
            in_transaction(conn, TxMode::Write, |conn| f(&mut PlatformTx::new(conn)))
        })
        .await
    }

    /// Read-only platform work (host resolution on every cache miss).
    pub async fn platform_read<T, F>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(&mut PlatformTx<'_>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.with_conn(move |conn| {
            in_transaction(conn, TxMode::Read, |conn| f(&mut PlatformTx::new(conn)))
        })
        .await
    }

    /// Whether the database answers a query (for `/healthz`).
    pub async fn ping(&self) -> DbResult<()> {
        self.with_conn(|conn| conn.batch_execute("SELECT 1 FROM tenants LIMIT 1"))
            .await
    }
}

/// Makes sure `home` may serve: the main database always may (start-up refuses
/// to serve otherwise); another home is checked on first use in this process.
fn ensure_ready(stores: &Stores, home: &Home, conn: &mut DbConnection) -> DbResult<()> {
    match stores.state(home) {
        Some(StoreState::Ready) => Ok(()),
        Some(StoreState::Pending) => Err(DbError::StoreUnavailable(
            "its migrations are still running".into(),
        )),
        Some(StoreState::Refused(reason)) => Err(DbError::StoreUnavailable(reason)),
        None => match isolation::home_problem(conn, home)? {
            None => {
                stores.set_state(home, StoreState::Ready);
                Ok(())
            }
            Some(reason) => {
                tracing::error!(
                    placement = %home.placement(),
                    store = home.store_name().unwrap_or_default(),
                    %reason,
                    "refusing to serve a tenant from its database"
                );
                stores.set_state(home, StoreState::Refused(reason.clone()));
                Err(DbError::StoreUnavailable(reason))
            }
        },
    }
}

/// Begins a transaction, runs `f`, commits on `Ok` and rolls back on `Err`.
/// Generic in its error so that operator work (`anyhow`) shares it; callers
/// whose closure ends in `Ok(..)` name the error type (`Ok::<_, QueryError>`).
fn in_transaction<T, E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    mode: TxMode,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    match (&mut *conn, mode) {
        (DbConnection::Sqlite(c), TxMode::Write) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        (DbConnection::Postgresql(pg), TxMode::Snapshot) => {
            AnsiTransactionManager::begin_transaction_sql(
                pg,
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            )?
        }
        _ => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn after_adds_and_saturates() {
        let at = chrono::NaiveDateTime::MIN;
        assert_eq!(
            after(at, Duration::from_secs(60)),
            at + chrono::TimeDelta::seconds(60)
        );
        assert_eq!(after(at, Duration::MAX), chrono::NaiveDateTime::MAX);
    }

    /// The bundled SQLite has the query planner stability guarantee on
    /// (`LIBSQLITE3_FLAGS` in `.cargo/config.toml`): without it, a cached
    /// statement with a bound `LIMIT` is compiled again on every run.
    #[test]
    fn sqlite_plans_do_not_depend_on_bound_values() {
        #[derive(QueryableByName)]
        struct Used {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            used: i32,
        }
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let row: Used =
            diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
                .get_result(&mut c)
                .unwrap();
        assert_eq!(row.used, 1);
    }

    /// The bundled SQLite keeps each connection's page cache to itself and
    /// keeps no global memory statistics (`LIBSQLITE3_FLAGS`): otherwise every
    /// page fetched and every allocation takes a mutex shared by all pooled
    /// connections.
    #[test]
    fn sqlite_connections_share_no_page_cache_or_memory_mutex() {
        #[derive(QueryableByName)]
        struct Used {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            shared_cache_group: i32,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            memstatus_off: i32,
        }
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let row: Used = diesel::sql_query(
            "SELECT sqlite_compileoption_used('ENABLE_MEMORY_MANAGEMENT') AS shared_cache_group, \
                    sqlite_compileoption_used('DEFAULT_MEMSTATUS=0') AS memstatus_off",
        )
        .get_result(&mut c)
        .unwrap();
        assert_eq!((row.shared_cache_group, row.memstatus_off), (0, 1));
    }
}
