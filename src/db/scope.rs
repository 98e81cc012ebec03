//! Tenant scoping by construction.
//!
//! A [`TenantScope`] names one tenant and can only be made inside `db`, from a
//! tenant row that was actually found. A [`TenantTx`] pairs it with a connection
//! inside a transaction; every tenant-table query is a method on `TenantTx` and
//! starts from one of the `scoped` sources below, which already carry the
//! `tenant_id = ?` filter. Since `schema` is private to `db`, code elsewhere cannot
//! name a tenant table, so it cannot write a query that skips the scope: `tests/ui` proves that
//! such code does not compile.
//!
//! On PostgreSQL, entering a `TenantTx` also sets `app.tenant_id` with
//! `set_config(..., true)`, which lasts only until the transaction ends, so a pooled
//! connection never carries one tenant's setting into another's request. The
//! row-level security policies compare every row against it: a second wall that
//! holds even if a query here forgot its filter.

use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::DbConnection;
use super::index_copy::Effects;
use super::schema::{
    api_keys, audit_log, auth_tokens, companies, import_staging, invites, lead_activities,
    lead_counts, lead_import_changes, lead_imports, leads, notes, outbox, sessions, tasks, tenants,
    users,
};
use super::stores::{Home, set_search_path};
use crate::domain::{TenantId, WriteState};

/// The tenant a unit of work belongs to, and where its rows live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: TenantId,
    home: Home,
}

impl TenantScope {
    /// Only `db` makes scopes, from tenant rows it has read or written.
    pub(super) fn new(tenant_id: TenantId, home: Home) -> Self {
        Self { tenant_id, home }
    }

    /// A scope for unit tests outside `db` that need one without a database.
    #[cfg(test)]
    pub(crate) fn for_tests(tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            home: Home::Main,
        }
    }

    /// The tenant's internal id (for comparing with a session; never shown).
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// Where the tenant's rows live.
    pub fn home(&self) -> &Home {
        &self.home
    }
}

/// One source per tenant table, filtered by the scope's tenant. Every query on a
/// tenant table starts here.
macro_rules! scoped_sources {
    ($($source:ident => $table:ident),* $(,)?) => {
        impl TenantScope {
            $(
                #[doc = concat!("`", stringify!($table), "` rows of this tenant only.")]
                pub(super) fn $source(&self) -> dsl::Filter<$table::table, dsl::Eq<$table::tenant_id, TenantId>> {
                    $table::table.filter($table::tenant_id.eq(self.tenant_id.clone()))
                }
            )*
        }
    };
}

scoped_sources! {
    users => users,
    auth_tokens => auth_tokens,
    sessions => sessions,
    api_keys => api_keys,
    import_staging => import_staging,
    invites => invites,
    outbox => outbox,
    companies => companies,
    leads => leads,
    lead_counts => lead_counts,
    notes => notes,
    lead_activities => lead_activities,
    tasks => tasks,
    lead_imports => lead_imports,
    lead_import_changes => lead_import_changes,
    audit_log => audit_log,
}

/// A transaction inside one tenant. Query methods live in the per-table modules.
pub struct TenantTx<'c> {
    pub(super) conn: &'c mut DbConnection,
    pub(super) scope: TenantScope,
    /// What this transaction changed that the main database indexes.
    pub(super) effects: Effects,
}

impl<'c> TenantTx<'c> {
    /// Enters the tenant: on PostgreSQL, sets the transaction-local `app.tenant_id`
    /// that row-level security checks, and for a tenant in a schema of its own,
    /// the transaction-local search path. Must be called inside a transaction.
    pub(super) fn enter(conn: &'c mut DbConnection, scope: &TenantScope) -> QueryResult<Self> {
        if let DbConnection::Postgresql(pg) = conn {
            diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
                .bind::<Text, _>(scope.tenant_id.as_str())
                .execute(pg)?;
        }
        set_search_path(conn, &scope.home)?;
        Ok(Self {
            conn,
            scope: scope.clone(),
            effects: Effects::default(),
        })
    }

    /// Serializes this tenant's writing transactions on PostgreSQL by locking its
    /// row in the store's `tenants` table until commit, so that check-then-write
    /// steps (the last active admin, an address already invited, the next lead
    /// number) cannot interleave. SQLite needs no lock: `BEGIN IMMEDIATE` already
    /// admits one writer at a time. `NO KEY UPDATE` leaves foreign-key checks on
    /// the row unblocked. Returns whether writes may go here (a move pauses them,
    /// then marks the old store `moved`); a tenant whose row is not in this store
    /// any more counts as moved.
    pub(super) fn serialize_writes(&mut self) -> QueryResult<WriteState> {
        self.read_writes(true)
    }

    /// Whether the tenant still lives where this transaction reads (a read
    /// takes no lock: a move marks the old place `moved` before it removes
    /// anything there, so a server that still names it reads nothing stale).
    pub(super) fn write_state(&mut self) -> QueryResult<WriteState> {
        self.read_writes(false)
    }

    fn read_writes(&mut self, lock: bool) -> QueryResult<WriteState> {
        // The query builder rather than SQL text: Diesel keeps the statement
        // compiled between requests (it never caches `sql_query`), and this runs
        // on every page.
        let query = tenants::table
            .filter(tenants::id.eq(self.scope.tenant_id.clone()))
            .select(tenants::writes);
        // On the backend's own connection (see `on_backend!`): no SQL written
        // out on every page.
        let writes: Option<String> = match &mut *self.conn {
            DbConnection::Postgresql(pg) if lock => {
                query.for_no_key_update().get_result(pg).optional()?
            }
            DbConnection::Postgresql(pg) => query.get_result(pg).optional()?,
            DbConnection::Sqlite(c) => query.get_result(c).optional()?,
        };
        Ok(writes
            .and_then(|w| WriteState::from_stored(&w))
            .unwrap_or(WriteState::Moved))
    }
}

/// A transaction outside any tenant: resolving hosts, signing up, finding
/// workspaces. Its methods touch the `tenants` directory, and tenant tables only by
/// entering a tenant they have just found or created.
pub struct PlatformTx<'c> {
    pub(super) conn: &'c mut DbConnection,
}

impl<'c> PlatformTx<'c> {
    pub(super) fn new(conn: &'c mut DbConnection) -> Self {
        Self { conn }
    }

    /// Enters a tenant within this same transaction (signup creates a tenant, then
    /// its first admin). On PostgreSQL this switches `app.tenant_id`.
    pub(super) fn enter(&mut self, scope: &TenantScope) -> QueryResult<TenantTx<'_>> {
        TenantTx::enter(self.conn, scope)
    }
}
