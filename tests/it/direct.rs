//! The test's own connection to the app's database, beside the running app: to
//! watch the outbox, age an invite, or prove that row-level security confines SQL
//! that no scoped query would ever send. The product has no hooks for any of this.
//!
//! It connects with the app's own URL (on PostgreSQL the app role, which row-level
//! security applies to) and declares only the few columns the tests touch. A
//! tenant's rows are where the directory says it lives (SPEC, "Where a tenant's
//! data lives"): the main database, a schema of its own, or its own database or
//! file; [`TenantHome`] finds them.
#![allow(dead_code)] // shared by every test module; not each uses every helper

use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sql_types::Text;
use diesel::{PgConnection, SqliteConnection};
use tenantry::config::DatabaseUrl;

use crate::helpers::{Backend, TestApp};

/// The columns of the app's tables that tests read or change.
pub mod tables {
    diesel::table! {
        tenants (id) {
            id -> Text,
            slug -> Text,
            placement -> Text,
            store -> Nullable<Text>,
        }
    }
    diesel::table! {
        users (tenant_id, id) {
            tenant_id -> Text,
            id -> Text,
        }
    }
    diesel::table! {
        invites (tenant_id, id) {
            tenant_id -> Text,
            id -> Text,
            email -> Text,
            expires_at -> Timestamp,
        }
    }
    diesel::table! {
        outbox (tenant_id, id) {
            tenant_id -> Text,
            id -> Text,
            recipient -> Text,
            status -> Text,
            attempts -> Integer,
            created_at -> Timestamp,
        }
    }
    diesel::table! {
        platform_outbox (id) {
            id -> Text,
            recipient -> Text,
            status -> Text,
        }
    }
}

/// A connection to either backend, as the app has one.
#[derive(diesel::MultiConnection)]
pub enum TestConn {
    /// PostgreSQL, as the app role.
    Postgresql(PgConnection),
    /// The test's SQLite file.
    Sqlite(SqliteConnection),
}

/// Opens a connection to the database at `url`; `backend` says which kind, since
/// SQLite would take a PostgreSQL URL for a file name.
pub fn connect(backend: Backend, url: &DatabaseUrl) -> TestConn {
    let target = url.connection_string();
    match backend {
        Backend::Postgres => TestConn::Postgresql(
            PgConnection::establish(&target).expect("the test's PostgreSQL connection"),
        ),
        Backend::Sqlite => {
            let mut conn =
                SqliteConnection::establish(&target).expect("the test's SQLite connection");
            // The app writes to the same file at the same time: wait for its lock.
            diesel::sql_query("PRAGMA busy_timeout = 5000")
                .execute(&mut conn)
                .expect("setting busy_timeout");
            TestConn::Sqlite(conn)
        }
    }
}

/// The internal id of the tenant on `slug`. `tenants` is the directory, outside
/// row-level security.
pub fn tenant_id(conn: &mut TestConn, slug: &str) -> String {
    use tables::tenants;
    tenants::table
        .filter(tenants::slug.eq(slug))
        .select(tenants::id)
        .first(conn)
        .unwrap_or_else(|e| panic!("no tenant {slug}: {e}"))
}

/// Where one tenant's rows are, as the directory says.
#[derive(Clone, Debug)]
pub struct TenantHome {
    /// The tenant's internal id.
    pub id: String,
    /// `shared`, `schema` or `dedicated`.
    pub placement: String,
    /// The schema a schema tenant's tables are in.
    pub schema: Option<String>,
    /// The database (as the app's role) that holds its tables.
    pub url: DatabaseUrl,
    /// The same database as the owner.
    pub owner_url: DatabaseUrl,
    backend: Backend,
}

impl TenantHome {
    /// Looks the tenant on `slug` up in `app`'s directory.
    pub fn of(app: &TestApp, slug: &str) -> Self {
        use tables::tenants;
        let mut main = connect(app.backend, &app.config.database_url);
        let (id, placement, store): (String, String, Option<String>) = tenants::table
            .filter(tenants::slug.eq(slug))
            .select((tenants::id, tenants::placement, tenants::store))
            .first(&mut main)
            .unwrap_or_else(|e| panic!("no tenant {slug}: {e}"));
        let (main_url, main_owner) = (
            app.config.database_url.clone(),
            app.config.migration_database_url.clone(),
        );
        let (url, owner_url, schema) = match (placement.as_str(), app.backend, store) {
            ("dedicated", Backend::Sqlite, Some(store)) => {
                let file = DatabaseUrl::sqlite_file(
                    &app.config
                        .data_dir
                        .join("tenants")
                        .join(format!("{store}.db")),
                );
                (file.clone(), file, None)
            }
            ("dedicated", Backend::Postgres, Some(store)) => (
                main_url.with_database(&store).unwrap(),
                main_owner.with_database(&store).unwrap(),
                None,
            ),
            ("schema", _, Some(store)) => (main_url, main_owner, Some(store)),
            _ => (main_url, main_owner, None),
        };
        Self {
            id,
            placement,
            schema,
            url,
            owner_url,
            backend: app.backend,
        }
    }

    /// A connection to the tenant's database as the app's role.
    pub fn connect(&self) -> TestConn {
        connect(self.backend, &self.url)
    }

    /// A connection to the tenant's database as its owner.
    pub fn connect_as_owner(&self) -> TestConn {
        connect(self.backend, &self.owner_url)
    }
}

/// Makes the current transaction one inside `home`'s tenant, as the app's tenant
/// transactions are: row-level security reads it as that tenant (PostgreSQL;
/// SQLite has no such wall), and a schema tenant's tables come first on the search
/// path. `set_config(..., true)` lasts until the transaction ends.
pub fn enter_tenant(conn: &mut TestConn, home: &TenantHome) -> QueryResult<()> {
    if let TestConn::Postgresql(pg) = conn {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
            .bind::<Text, _>(&home.id)
            .execute(pg)?;
        if let Some(schema) = &home.schema {
            diesel::sql_query("SELECT set_config('search_path', $1, true)")
                .bind::<Text, _>(format!("\"{schema}\""))
                .execute(pg)?;
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Counts the rows of `table` that a `SELECT` without any `tenant_id` filter sees,
/// in a transaction inside `tenant`, or outside any tenant.
pub fn unscoped_count(
    conn: &mut TestConn,
    tenant: Option<&TenantHome>,
    table: &str,
) -> QueryResult<i64> {
    conn.transaction(|conn| {
        if let Some(home) = tenant {
            enter_tenant(conn, home)?;
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .map(|c| c.n)
    })
}

/// Runs `sql`, written without any `tenant_id` filter, in a transaction inside
/// `tenant`; returns the number of rows it touched.
pub fn unscoped_execute(conn: &mut TestConn, tenant: &TenantHome, sql: &str) -> QueryResult<usize> {
    conn.transaction(|conn| {
        enter_tenant(conn, tenant)?;
        diesel::sql_query(sql).execute(conn)
    })
}

impl TestApp {
    /// Runs `work` in one transaction of the test's own connection to where
    /// tenant `slug` lives, inside it (on PostgreSQL, with `app.tenant_id` set for
    /// row-level security).
    pub async fn with_tenant_conn<T, F>(&self, slug: &str, work: F) -> QueryResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut TestConn) -> QueryResult<T> + Send + 'static,
    {
        let home = TenantHome::of(self, slug);
        tokio::task::spawn_blocking(move || {
            let mut conn = home.connect();
            conn.transaction(|conn| {
                enter_tenant(conn, &home)?;
                work(conn)
            })
        })
        .await
        .expect("the test's database work panicked")
    }

    /// Runs `work` on the test's own connection, outside any tenant (the directory and
    /// the platform outbox).
    pub async fn with_platform_conn<T, F>(&self, work: F) -> QueryResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut TestConn) -> QueryResult<T> + Send + 'static,
    {
        let (backend, url) = (self.backend, self.config.database_url.clone());
        tokio::task::spawn_blocking(move || work(&mut connect(backend, &url)))
            .await
            .expect("the test's database work panicked")
    }

    /// The test's own connection, as the app's role (blocking; for the tests that
    /// prove what row-level security lets through).
    pub fn own_conn(&self) -> TestConn {
        connect(self.backend, &self.config.database_url)
    }
}
