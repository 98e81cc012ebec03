//! Where each tenant's rows live, and how the data layer reaches them.
//!
//! A tenant's *home* is the main database (`shared`), a schema of its own in the
//! main PostgreSQL database (`schema`), or a database or SQLite file of its own
//! (`dedicated`). Every home holds the whole schema, migrated from the same files,
//! so a tenant's tables look the same wherever it lives and can move. The tenants
//! directory in the main database is the one authority on where that is.
//!
//! [`Stores`] keeps one pool per dedicated database in use: made on first use,
//! dropped when idle, and every connection of every pool counted against one
//! [`Budget`], so that many dedicated tenants cannot exhaust the servers'
//! connections. A schema tenant uses the main pool: its transactions set the
//! search path transaction-locally, as they set `app.tenant_id`.
//!
//! Before a home other than the main database serves a tenant, it is checked once
//! per process: migrated to the current version, and on PostgreSQL the same
//! isolation check as the main database (row-level security on, forced, with the
//! one policy; the app's role neither owns the tables nor bypasses security). A
//! home that fails is refused, and only its tenant answers 503.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::Pool;
use scheduled_thread_pool::ScheduledThreadPool;

use super::{ConnManager, DbConnection, POOL_CHECKOUT_TIMEOUT};
use crate::config::{Config, DatabaseUrl, DbKind};
use crate::domain::{Placement, TenantId};

/// How long a dedicated database's pool lives without being used.
pub const IDLE_POOL_TTL: Duration = Duration::from_secs(300);
/// How long a refused store stays refused before it is checked again.
pub const RECHECK_REFUSED: Duration = Duration::from_secs(30);
/// How often [`Stores::pool`] looks for idle pools to drop.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// How long a pooled connection to a dedicated database stays open unused.
const IDLE_CONNECTION_TTL: Duration = Duration::from_secs(60);

/// Where one tenant's rows are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Home {
    /// The main database.
    Main,
    /// A schema of its own in the main PostgreSQL database.
    Schema(StoreName),
    /// A database (PostgreSQL) or file (SQLite) of its own.
    Dedicated {
        /// The database's or file's name.
        name: StoreName,
        /// The server and database when given by URL, without credentials; `None`
        /// for one that Tenantry made on the main server (or beside the main file).
        server: Option<String>,
    },
}

impl Home {
    /// The home a directory row names.
    pub(super) fn from_directory(
        placement: Placement,
        store: Option<&str>,
        server: Option<&str>,
    ) -> Result<Home, String> {
        let name = || {
            store
                .ok_or_else(|| format!("a {placement} tenant without a store name"))
                .and_then(StoreName::parse)
        };
        Ok(match placement {
            Placement::Shared => Home::Main,
            Placement::Schema => Home::Schema(name()?),
            Placement::Dedicated => Home::Dedicated {
                name: name()?,
                server: server.map(str::to_owned),
            },
        })
    }

    /// The placement this home is.
    pub fn placement(&self) -> Placement {
        match self {
            Home::Main => Placement::Shared,
            Home::Schema(_) => Placement::Schema,
            Home::Dedicated { .. } => Placement::Dedicated,
        }
    }

    /// The store's name (`None` for the main database).
    pub fn store_name(&self) -> Option<&str> {
        match self {
            Home::Main => None,
            Home::Schema(name) | Home::Dedicated { name, .. } => Some(name.as_str()),
        }
    }

    /// The server given for a dedicated database, if any.
    pub fn server(&self) -> Option<&str> {
        match self {
            Home::Dedicated { server, .. } => server.as_deref(),
            _ => None,
        }
    }

    /// Whether this home's rows are in the main database's tables.
    pub fn is_main(&self) -> bool {
        *self == Home::Main
    }
}

/// A schema, database or file name that Tenantry made: lowercase letters, digits,
/// `_` and `-`, so that it is safe as an identifier and as a file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreName(String);

impl StoreName {
    /// Checks a name read from the directory.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("`{raw}` is not a store name"))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted as a PostgreSQL identifier.
    pub fn quoted(&self) -> String {
        // Only [a-z0-9_-] gets here, so no quote needs doubling.
        format!("\"{}\"", self.0)
    }
}

/// How to reach each home: the URLs and paths they derive from.
#[derive(Clone, Debug)]
pub struct StoreLayout {
    app: DatabaseUrl,
    owner: DatabaseUrl,
    data_dir: PathBuf,
}

impl StoreLayout {
    /// The layout of this configuration.
    pub fn new(config: &Config) -> Self {
        Self {
            app: config.database_url.clone(),
            owner: config.migration_database_url.clone(),
            data_dir: config.data_dir.clone(),
        }
    }

    /// Which engine every home of this deployment uses.
    pub fn kind(&self) -> DbKind {
        self.app.kind()
    }

    /// The main database as the app's role.
    pub fn main_app_url(&self) -> &DatabaseUrl {
        &self.app
    }

    /// The main database as the owner.
    pub fn main_owner_url(&self) -> &DatabaseUrl {
        &self.owner
    }

    /// The dedicated SQLite file of a store.
    pub fn sqlite_file(&self, name: &StoreName) -> PathBuf {
        self.data_dir
            .join("tenants")
            .join(format!("{}.db", name.as_str()))
    }

    /// A dedicated home's URL, as the app (`owner == false`) or the owner.
    pub fn dedicated_url(
        &self,
        name: &StoreName,
        server: Option<&str>,
        owner: bool,
    ) -> anyhow::Result<DatabaseUrl> {
        let creds = if owner { &self.owner } else { &self.app };
        match self.kind() {
            DbKind::Sqlite => Ok(DatabaseUrl::sqlite_file(&self.sqlite_file(name))),
            DbKind::Postgres => match server {
                Some(given) => DatabaseUrl::parse(given)?.with_credentials_of(creds),
                None => creds.with_database(name.as_str()),
            },
        }
    }

    /// A name for a new store. SQLite files are named by their tenant (SPEC:
    /// `tenants/{tenant id}.db`); PostgreSQL stores are made ahead of sign-ups, so
    /// they get a random name, prefixed by the main database's so that deployments
    /// sharing a server never collide.
    pub fn new_store_name(&self, placement: Placement, tenant: Option<&TenantId>) -> StoreName {
        let random = &uuid::Uuid::new_v4().simple().to_string()[..16];
        let name = match (self.kind(), placement, tenant) {
            (DbKind::Sqlite, _, Some(tenant)) => tenant.as_str().to_owned(),
            (DbKind::Sqlite, _, None) => format!("spare-{random}"),
            (DbKind::Postgres, Placement::Schema, _) => format!("tenant_{random}"),
            (DbKind::Postgres, _, _) => {
                let main = self
                    .app
                    .database_name()
                    .unwrap_or_else(|| "tenantry".into());
                let prefix: String = main.chars().take(36).collect();
                format!("{prefix}_tenant_{random}")
            }
        };
        // A tenant id is a UUID; anything else (a hand-edited bundle) gets a
        // random name rather than a path of its choosing.
        StoreName::parse(&name.to_ascii_lowercase())
            .unwrap_or_else(|_| StoreName(format!("tenant-{random}")))
    }
}

/// Connections open over every database, against one cap.
#[derive(Debug)]
pub struct Budget {
    cap: u32,
    used: Mutex<u32>,
    freed: Condvar,
}

/// One connection's share of the [`Budget`], given back when the connection closes.
#[derive(Debug)]
pub struct Permit(Arc<Budget>);

impl Drop for Permit {
    fn drop(&mut self) {
        let mut used = self.0.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

impl Budget {
    /// A budget of `cap` connections.
    pub fn new(cap: u32) -> Arc<Self> {
        Arc::new(Self {
            cap,
            used: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// Connections open now.
    pub fn in_use(&self) -> u32 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a share, waiting up to `wait` for one to be given back; `make_room`
    /// is asked once to close idle connections elsewhere when none is free.
    pub fn acquire(self: &Arc<Self>, wait: Duration, make_room: impl Fn()) -> Option<Permit> {
        let deadline = Instant::now() + wait;
        let mut asked = false;
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *used < self.cap {
                *used += 1;
                return Some(Permit(self.clone()));
            }
            if !asked {
                asked = true;
                drop(used);
                make_room();
                used = self.used.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            used = self
                .freed
                .wait_timeout(used, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Whether a home may serve its tenant, as this process last found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreState {
    /// Migrated and checked.
    Ready,
    /// Its migrations are still running (start-up); try again shortly.
    Pending,
    /// It failed its check; the reason is logged and the tenant refused.
    Refused(String),
}

struct PoolEntry {
    pool: Pool<ConnManager>,
    last_used: Instant,
}

/// The pools of dedicated databases and what this process knows of each home.
pub struct Stores {
    layout: StoreLayout,
    per_pool: u32,
    statement_cache: bool,
    budget: Arc<Budget>,
    threads: Arc<ScheduledThreadPool>,
    pools: Mutex<HashMap<Home, PoolEntry>>,
    /// When idle pools were last looked for.
    swept: Mutex<Instant>,
    states: RwLock<HashMap<Home, (StoreState, Instant)>>,
    spares_wanted: tokio::sync::Notify,
    /// Tenants found moved by a write, whose cached host is out of date.
    moved: Mutex<std::collections::HashSet<TenantId>>,
    any_moved: std::sync::atomic::AtomicBool,
}

impl Stores {
    /// No pools yet; `budget` caps the connections of all of them.
    pub fn new(
        layout: StoreLayout,
        per_pool: u32,
        budget: Arc<Budget>,
        statement_cache: bool,
    ) -> Self {
        Self {
            layout,
            per_pool,
            statement_cache,
            budget,
            threads: Arc::new(
                ScheduledThreadPool::builder()
                    .num_threads(2)
                    .thread_name_pattern("tenant-pool-{}")
                    .build(),
            ),
            pools: Mutex::new(HashMap::new()),
            swept: Mutex::new(Instant::now()),
            states: RwLock::new(HashMap::new()),
            spares_wanted: tokio::sync::Notify::new(),
            moved: Mutex::new(std::collections::HashSet::new()),
            any_moved: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// How the homes are reached.
    pub fn layout(&self) -> &StoreLayout {
        &self.layout
    }

    /// Notes that a transaction found the tenant moved away from `home`, where
    /// this process thought it lived: the host cache looks it up again, and the
    /// home's pool and state are forgotten, so that a store made again under the
    /// same name (a SQLite tenant's file is named by its tenant, and a tenant
    /// may move back) is opened afresh rather than through connections to the
    /// old, removed one.
    pub fn mark_moved(&self, tenant: &TenantId, home: &Home) {
        if !home.is_main() {
            self.pools
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(home);
            self.states
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(home);
        }
        self.moved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant.clone());
        self.any_moved
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether the tenant was found moved since this was last asked (the host
    /// cache then looks it up again). Costs one atomic load when nothing moved.
    pub fn take_moved(&self, tenant: &TenantId) -> bool {
        if !self.any_moved.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        let mut moved = self.moved.lock().unwrap_or_else(|e| e.into_inner());
        let was = moved.remove(tenant);
        if moved.is_empty() {
            self.any_moved
                .store(false, std::sync::atomic::Ordering::Release);
        }
        was
    }

    /// Told when a sign-up took a spare store, so that another is made.
    pub fn spares_wanted(&self) -> &tokio::sync::Notify {
        &self.spares_wanted
    }

    /// The connection budget shared by every pool.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Dedicated pools open now.
    pub fn open_pools(&self) -> usize {
        self.pools.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// What is known of a home (`None`: not checked yet in this process). A
    /// refusal is forgotten after [`RECHECK_REFUSED`], so a store that an
    /// operator fixed (`tenantry migrate`, say) serves again without a restart.
    pub fn state(&self, home: &Home) -> Option<StoreState> {
        if home.is_main() {
            return Some(StoreState::Ready);
        }
        match self
            .states
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(home)
        {
            Some((StoreState::Refused(_), since)) if since.elapsed() >= RECHECK_REFUSED => None,
            Some((state, _)) => Some(state.clone()),
            None => None,
        }
    }

    /// Records what a check or migration found.
    pub fn set_state(&self, home: &Home, state: StoreState) {
        if home.is_main() {
            return;
        }
        self.states
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(home.clone(), (state, Instant::now()));
    }

    /// The pool of a dedicated home, made on first use. Drops pools idle for
    /// [`IDLE_POOL_TTL`] on the way (looking at most once a [`SWEEP_EVERY`]).
    pub fn pool(self: &Arc<Self>, home: &Home) -> anyhow::Result<Pool<ConnManager>> {
        let Home::Dedicated { name, server } = home else {
            anyhow::bail!("only a dedicated home has a pool of its own");
        };
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        {
            let mut swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
            if now.duration_since(*swept) >= SWEEP_EVERY {
                *swept = now;
                pools.retain(|h, e| {
                    h == home || now.duration_since(e.last_used) < IDLE_POOL_TTL || in_use(&e.pool)
                });
            }
        }
        if let Some(entry) = pools.get_mut(home) {
            entry.last_used = now;
            return Ok(entry.pool.clone());
        }
        let url = self
            .layout
            .dedicated_url(name, server.as_deref(), false)
            .context("the dedicated database's URL")?;
        // A file that is gone was deleted (or moved): opening it would make an
        // empty one.
        if let Some(path) = url.sqlite_path()
            && !path.exists()
        {
            anyhow::bail!("its database file {} is missing", path.display());
        }
        let stores = Arc::downgrade(self);
        let me = home.clone();
        let mut manager = ConnManager::budgeted(
            url,
            self.budget.clone(),
            Arc::new(move || {
                if let Some(stores) = stores.upgrade() {
                    stores.close_idle_pools(&me);
                }
            }),
        );
        if !self.statement_cache {
            manager = manager.without_statement_cache();
        }
        let pool = Pool::builder()
            .max_size(self.per_pool)
            .min_idle(Some(0))
            .idle_timeout(Some(IDLE_CONNECTION_TTL))
            .connection_timeout(POOL_CHECKOUT_TIMEOUT)
            .test_on_check_out(false)
            .thread_pool(self.threads.clone())
            .build_unchecked(manager);
        pools.insert(
            home.clone(),
            PoolEntry {
                pool: pool.clone(),
                last_used: now,
            },
        );
        Ok(pool)
    }

    /// Closes the pools, other than `keep`'s, that hold no connection in use:
    /// least recently used first, until a connection is free in the budget.
    fn close_idle_pools(&self, keep: &Home) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let mut idle: Vec<(Home, Instant)> = pools
            .iter()
            .filter(|(h, e)| *h != keep && !in_use(&e.pool) && e.pool.state().connections > 0)
            .map(|(h, e)| (h.clone(), e.last_used))
            .collect();
        idle.sort_by_key(|(_, at)| *at);
        for (home, _) in idle {
            pools.remove(&home);
            if self.budget.in_use() < self.budget.cap {
                break;
            }
        }
    }

    /// Forgets a home (its tenant moved or was deleted): its pool closes.
    pub fn forget(&self, home: &Home) {
        self.pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(home);
        self.states
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(home);
    }
}

fn in_use(pool: &Pool<ConnManager>) -> bool {
    let state = pool.state();
    state.connections > state.idle_connections
}

/// Points a schema home's transaction at its schema: `set_config(..., true)`
/// lasts until the transaction ends, so a pooled connection never carries one
/// tenant's search path into another's work. Must be called inside a transaction.
pub(super) fn set_search_path(conn: &mut DbConnection, home: &Home) -> QueryResult<()> {
    if let (Home::Schema(name), DbConnection::Postgresql(pg)) = (home, conn) {
        diesel::sql_query("SELECT set_config('search_path', $1, true)")
            .bind::<diesel::sql_types::Text, _>(name.quoted())
            .execute(pg)?;
    }
    Ok(())
}

/// Opens a connection to `home` outside any pool, as the owner (`owner`) or the
/// app. A schema home's connection has its search path set for the session: it
/// is used for this one home and closed after.
pub fn connect_home(
    layout: &StoreLayout,
    home: &Home,
    owner: bool,
) -> anyhow::Result<DbConnection> {
    let url = match home {
        Home::Main | Home::Schema(_) => {
            if owner {
                layout.owner.clone()
            } else {
                layout.app.clone()
            }
        }
        Home::Dedicated { name, server } => layout.dedicated_url(name, server.as_deref(), owner)?,
    };
    if let Some(path) = url.sqlite_path()
        && let Some(dir) = path.parent()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the directory {}", dir.display()))?;
    }
    let mut conn = super::establish(&url).context("could not connect to the tenant's database")?;
    if let Home::Schema(name) = home {
        conn.batch_execute(&format!("SET search_path TO {}", name.quoted()))?;
    }
    Ok(conn)
}

/// Makes a new home for a tenant: a schema, a database or a file, ready for its
/// migrations. Runs as the owner; the app's role gets what the main database's
/// set-up gives it (deploy/postgres-roles.sql), no more.
pub fn create_home(layout: &StoreLayout, home: &Home) -> anyhow::Result<()> {
    let app_role = layout.app.user_name();
    let owner_role = layout.owner.user_name();
    let grants = |in_schema: &str| -> String {
        match (&app_role, &owner_role) {
            (Some(app), Some(owner)) if app != owner => format!(
                "GRANT USAGE ON SCHEMA {in_schema} TO \"{app}\"; \
                 ALTER DEFAULT PRIVILEGES FOR ROLE \"{owner}\" IN SCHEMA {in_schema} \
                   GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"{app}\"; \
                 ALTER DEFAULT PRIVILEGES FOR ROLE \"{owner}\" IN SCHEMA {in_schema} \
                   GRANT USAGE, SELECT ON SEQUENCES TO \"{app}\";"
            ),
            _ => String::new(),
        }
    };
    match (layout.kind(), home) {
        (_, Home::Main) => Ok(()),
        (DbKind::Sqlite, Home::Schema(_)) => {
            anyhow::bail!("the schema placement needs PostgreSQL")
        }
        (DbKind::Sqlite, Home::Dedicated { .. }) => {
            // Opening the file creates it.
            connect_home(layout, home, true).map(drop)
        }
        (DbKind::Postgres, Home::Schema(name)) => {
            let mut conn = super::establish(&layout.owner)
                .context("could not connect to the main database as the owner")?;
            conn.batch_execute(&format!(
                "BEGIN; CREATE SCHEMA {schema}; {grants} COMMIT;",
                schema = name.quoted(),
                grants = grants(&name.quoted())
            ))
            .with_context(|| format!("creating schema {}", name.as_str()))?;
            Ok(())
        }
        (DbKind::Postgres, Home::Dedicated { name, server }) => {
            if server.is_none() {
                let mut conn = super::establish(&layout.owner)
                    .context("could not connect to the main database as the owner")?;
                conn.batch_execute(&format!("CREATE DATABASE {}", name.quoted()))
                    .with_context(|| {
                        format!(
                            "creating database {} (the owner role needs CREATEDB)",
                            name.as_str()
                        )
                    })?;
            }
            let mut conn = connect_home(layout, home, true)?;
            let connect = match &app_role {
                Some(app) if Some(app) != owner_role.as_ref() => format!(
                    "REVOKE ALL ON DATABASE {db} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {db} TO \"{app}\";",
                    db = name.quoted()
                ),
                _ => String::new(),
            };
            conn.batch_execute(&format!(
                "{connect} REVOKE CREATE ON SCHEMA public FROM PUBLIC; {}",
                grants("public")
            ))
            .with_context(|| format!("granting the app's role on {}", name.as_str()))?;
            Ok(())
        }
    }
}

/// Removes a home and everything in it (a sign-up that lost its slug, a spare
/// given up, a deleted tenant). Runs as the owner.
pub fn drop_home(layout: &StoreLayout, home: &Home) -> anyhow::Result<()> {
    match (layout.kind(), home) {
        (_, Home::Main) => Ok(()),
        (DbKind::Sqlite, Home::Dedicated { name, .. }) => {
            let file = layout.sqlite_file(name);
            for suffix in ["", "-wal", "-shm"] {
                let mut path = file.clone().into_os_string();
                path.push(suffix);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).context("removing the tenant's file"),
                }
            }
            Ok(())
        }
        (DbKind::Sqlite, Home::Schema(_)) => Ok(()),
        (DbKind::Postgres, Home::Schema(name)) => {
            let mut conn = super::establish(&layout.owner)?;
            conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", name.quoted()))?;
            Ok(())
        }
        (DbKind::Postgres, Home::Dedicated { name, server }) => {
            if server.is_some() {
                // Not ours to drop: empty it instead.
                let mut conn = connect_home(layout, home, true)?;
                conn.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")?;
                return Ok(());
            }
            let mut conn = super::establish(&layout.owner)?;
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                name.quoted()
            ))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_are_safe_identifiers() {
        assert!(StoreName::parse("tenant_0a1b").is_ok());
        assert!(StoreName::parse("0b7c-11ef").is_ok());
        for bad in ["", "a\"b", "A", "x;drop", "../x", &"a".repeat(64)] {
            assert!(StoreName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn homes_come_from_directory_rows() {
        assert_eq!(
            Home::from_directory(Placement::Shared, None, None),
            Ok(Home::Main)
        );
        assert!(Home::from_directory(Placement::Schema, None, None).is_err());
        let home = Home::from_directory(Placement::Dedicated, Some("t1"), None).unwrap();
        assert_eq!(home.placement(), Placement::Dedicated);
        assert_eq!(home.store_name(), Some("t1"));
    }

    #[test]
    fn new_store_names_are_valid_and_given_servers_get_our_credentials() {
        let app = DatabaseUrl::parse(
            "postgres://app:secret@main:5432/tenantry_a_rather_long_main_database_name_x",
        )
        .unwrap();
        let owner = DatabaseUrl::parse(
            "postgres://owner:pw@main:5432/tenantry_a_rather_long_main_database_name_x",
        )
        .unwrap();
        let layout = StoreLayout {
            app,
            owner,
            data_dir: PathBuf::from("/data"),
        };
        for placement in [Placement::Schema, Placement::Dedicated] {
            let name = layout.new_store_name(placement, None);
            assert!(StoreName::parse(name.as_str()).is_ok(), "{name:?}");
        }
        let made = layout.new_store_name(Placement::Dedicated, None);
        assert_eq!(
            layout
                .dedicated_url(&made, None, false)
                .unwrap()
                .database_name()
                .as_deref(),
            Some(made.as_str())
        );
        let given = layout
            .dedicated_url(&made, Some("postgres://db2.internal:6543/acme"), true)
            .unwrap();
        assert_eq!(given.user_name().as_deref(), Some("owner"));
        assert_eq!(given.redacted(), "postgres://db2.internal:6543/acme");
        assert!(
            given
                .connection_string()
                .contains("owner:pw@db2.internal:6543/acme")
        );
    }

    #[test]
    fn the_budget_caps_and_gives_back() {
        let budget = Budget::new(2);
        let a = budget.acquire(Duration::ZERO, || {});
        let b = budget.acquire(Duration::ZERO, || {});
        assert!(a.is_some() && b.is_some());
        let asked = std::sync::atomic::AtomicBool::new(false);
        assert!(
            budget
                .acquire(Duration::from_millis(20), || asked
                    .store(true, std::sync::atomic::Ordering::SeqCst))
                .is_none()
        );
        assert!(asked.load(std::sync::atomic::Ordering::SeqCst));
        drop(a);
        assert!(budget.acquire(Duration::ZERO, || {}).is_some());
        assert_eq!(budget.in_use(), 1);
    }
}
