//! A PostgreSQL database per test, created on the server that `TEST_DATABASE_URL`
//! names (default: the local server as `postgres`), with the two roles a
//! deployment has: an owner who migrates, and an app role that is subject to
//! row-level security.
#![allow(dead_code)] // shared by every test module; not each uses every helper

use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use tenantry::config::DatabaseUrl;

/// The superuser URL used to create test databases.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The owner role of test databases.
pub const OWNER_ROLE: &str = "tenantry_test_owner";
/// The app role of test databases.
pub const APP_ROLE: &str = "tenantry_test_app";

/// Whether a server answers, checked once per run; creates the roles too.
pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match PgConnection::establish(&admin_url()) {
        Ok(mut conn) => {
            let roles = format!(
                "DO $$ BEGIN \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN \
                     CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
                     CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
                 END $$; \
                 ALTER ROLE {OWNER_ROLE} CREATEDB; \
                 GRANT pg_signal_backend TO {OWNER_ROLE};"
            );
            conn.batch_execute(&roles).is_ok()
        }
        Err(_) => false,
    })
}

/// A database of one test; dropped when the test ends.
pub struct PgTestDb {
    name: String,
}

fn url_for(user: &str, db: &str) -> String {
    // Same server as the admin URL, another user and database.
    let admin = admin_url();
    let after_scheme = admin.split_once("://").map(|(_, r)| r).unwrap_or(&admin);
    let host_and_rest = after_scheme
        .split_once('@')
        .map(|(_, h)| h)
        .unwrap_or(after_scheme);
    let host = host_and_rest.split('/').next().unwrap_or("127.0.0.1:5432");
    format!("postgres://{user}@{host}/{db}")
}

impl PgTestDb {
    /// Creates a fresh database owned by the owner role, with the app role's grants.
    pub fn create() -> Self {
        let name = format!("tenantry_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url()).expect("connecting as admin");
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
            .expect("creating test database");
        let mut db = PgConnection::establish(&url_for("postgres", &name))
            .or_else(|_| {
                PgConnection::establish(&admin_url().replace("/postgres", &format!("/{name}")))
            })
            .expect("connecting to test database");
        db.batch_execute(&format!(
            "GRANT USAGE ON SCHEMA public TO {APP_ROLE}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER_ROLE} IN SCHEMA public \
               GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER_ROLE} IN SCHEMA public \
               GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}; \
             {leakproof}",
            leakproof = tenantry::db::SEARCH_INDEX_LEAKPROOF
        ))
        .expect("granting the app role, marking the search functions leakproof");
        Self { name }
    }

    /// The app role's URL.
    pub fn app_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&url_for(APP_ROLE, &self.name)).expect("app url")
    }

    /// The owner's URL.
    pub fn owner_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&url_for(OWNER_ROLE, &self.name)).expect("owner url")
    }

    /// A superuser connection to this database, for tests that inspect or break it.
    pub fn admin_conn(&self) -> PgConnection {
        PgConnection::establish(&url_for("postgres", &self.name)).expect("admin connection")
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A superuser connection to the database that `url` names, for tests that
/// inspect or break a tenant's own database.
pub fn superuser_conn(url: &DatabaseUrl) -> PgConnection {
    let db = url.database_name().expect("a PostgreSQL URL");
    PgConnection::establish(&url_for("postgres", &db)).expect("superuser connection")
}

/// Whether a database of that name exists on the test server.
pub fn database_exists(name: &str) -> bool {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut admin = PgConnection::establish(&admin_url()).expect("admin connection");
    diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Found>(&mut admin)
        .map(|f| f.n > 0)
        .unwrap_or(true)
}

/// Whether the database `url` names has a schema of that name.
pub fn schema_exists(url: &DatabaseUrl, schema: &str) -> bool {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1")
        .bind::<diesel::sql_types::Text, _>(schema)
        .get_result::<Found>(&mut superuser_conn(url))
        .map(|f| f.n > 0)
        .unwrap_or(true)
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            // Tenants' own databases are named after this one (see
            // `StoreLayout::new_store_name`).
            let prefix: String = self.name.chars().take(36).collect();
            #[derive(diesel::QueryableByName)]
            struct Name {
                #[diesel(sql_type = diesel::sql_types::Text)]
                datname: String,
            }
            use diesel::RunQueryDsl;
            let dedicated: Vec<Name> = diesel::sql_query(format!(
                "SELECT datname::text AS datname FROM pg_database WHERE datname LIKE '{prefix}\\_tenant\\_%'"
            ))
            .load(&mut admin)
            .unwrap_or_default();
            for db in dedicated
                .iter()
                .map(|d| d.datname.as_str())
                .chain([self.name.as_str()])
            {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"));
            }
        }
    }
}
