//! Where tenants live, seen from the operator's side: `tenantry migrate` over
//! every store (resumable), `migrate --status`, `tenants list`, the start-up
//! migration of stores that fell behind, spare stores, and the connection budget.

use std::process::{Command, Output};

use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use tenantry::config::{Config, DatabaseUrl};
use tenantry::domain::Placement;

use crate::direct::{TenantHome, TestConn};
use crate::helpers::{
    Backend, PLACEMENT, TestApp, eventually, new_client, postgres_enabled, spawn_app, spawn_app_on,
    spawn_app_with, test_config,
};

/// A URL as the environment gives it to the binary.
fn env_url(url: &DatabaseUrl) -> String {
    match url.sqlite_path() {
        Some(path) => format!("sqlite://{}", path.display()),
        None => url.connection_string(),
    }
}

/// The `tenantry` binary set up for `config`'s databases, run in `dir`.
pub fn tenantry_command(config: &Config, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantry"));
    command
        .current_dir(dir)
        .env("DATABASE_URL", env_url(&config.database_url))
        .env(
            "MIGRATION_DATABASE_URL",
            env_url(&config.migration_database_url),
        )
        .env("DATA_DIR", &config.data_dir)
        .env("NEW_TENANT_PLACEMENT", config.new_tenant_placement.as_str())
        .env("NEW_TENANT_PLAN", &config.new_tenant_plan)
        .env(
            "TENANT_CACHE_TTL_SECS",
            config.tenant_cache_ttl.as_secs().to_string(),
        )
        .env("SECRET_KEY", "k".repeat(64))
        .env("RUST_LOG", "warn");
    command
}

/// Runs the `tenantry` binary with `args` against `config`'s databases.
pub async fn tenantry(config: &Config, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantry_command(config, dir.path());
    command.args(args);
    tokio::task::spawn_blocking(move || {
        let out = command.output().expect("running tenantry");
        drop(dir);
        out
    })
    .await
    .unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The line of `text` that mentions `slug`.
fn line_of<'a>(text: &'a str, slug: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{slug} (")))
        .unwrap_or_else(|| panic!("no line for {slug} in:\n{text}"))
}

/// Holds a write lock on a tenant's store until dropped (the test's stand-in for
/// a long transaction on that one database).
struct Lock(#[allow(dead_code)] TestConn);

fn lock_store(home: &TenantHome, backend: Backend) -> Lock {
    let mut conn = match backend {
        Backend::Sqlite => home.connect(),
        Backend::Postgres => TestConn::Postgresql(crate::pg::superuser_conn(&home.url)),
    };
    let sql = match (backend, &home.schema) {
        (Backend::Sqlite, _) => "BEGIN IMMEDIATE; UPDATE tenants SET name = name;".to_owned(),
        // The store's own record of its migrations, which every run reads and
        // writes, whatever the migration it applies touches.
        (Backend::Postgres, Some(schema)) => format!(
            "BEGIN; LOCK TABLE \"{schema}\".__diesel_schema_migrations IN ACCESS EXCLUSIVE MODE;"
        ),
        (Backend::Postgres, None) => {
            "BEGIN; LOCK TABLE __diesel_schema_migrations IN ACCESS EXCLUSIVE MODE;".into()
        }
    };
    conn.batch_execute(&sql).expect("taking the lock");
    Lock(conn)
}

/// Puts a tenant's store one migration behind, as the owner.
async fn fall_behind(home: &TenantHome) {
    let mut url = env_url(&home.owner_url);
    if let Some(schema) = &home.schema {
        url.push_str(&format!("?options=-csearch_path%3D{schema}"));
    }
    tokio::task::spawn_blocking(move || {
        tenantry::db::revert_last_migration(&DatabaseUrl::parse(&url).unwrap()).unwrap()
    })
    .await
    .unwrap();
}

/// Three tenants in stores of their own, all one migration behind; one store
/// is locked. `migrate` migrates the other two, reports the locked one and
/// fails; once the lock is gone, the next run finishes it.
async fn migrate_resumes_after_one_store_fails(backend: Backend, placement: Placement) {
    let app = PLACEMENT
        .scope(placement, async {
            let app = spawn_app(backend).await;
            for slug in ["acme", "globex", "initech"] {
                app.sign_up_with(&new_client(), slug).await;
            }
            app
        })
        .await;
    let homes: Vec<TenantHome> = ["acme", "globex", "initech"]
        .iter()
        .map(|slug| TenantHome::of(&app, slug))
        .collect();
    for home in &homes {
        assert_eq!(home.placement, placement.as_str());
        fall_behind(home).await;
    }
    let status = text(&tenantry(&app.config, &["migrate", "--status"]).await);
    assert!(
        line_of(&status, "acme").contains("pending migrations"),
        "{status}"
    );

    // Act: migrate while acme's store is locked.
    let lock = lock_store(&homes[0], backend);
    let first = tenantry(&app.config, &["migrate"]).await;
    drop(lock);

    // Assert: the others are current, acme is reported, the run failed.
    let out = text(&first);
    assert!(!first.status.success(), "{out}");
    assert!(line_of(&out, "acme").contains("FAILED"), "{out}");
    assert!(
        line_of(&out, "globex").contains("1 migration(s) applied"),
        "{out}"
    );
    assert!(
        line_of(&out, "initech").contains("1 migration(s) applied"),
        "{out}"
    );
    assert!(
        out.contains("2 of 3 tenant stores are current; 1 failed"),
        "{out}"
    );
    let status = text(&tenantry(&app.config, &["migrate", "--status"]).await);
    assert!(
        line_of(&status, "acme").contains("pending migrations"),
        "{status}"
    );
    assert!(line_of(&status, "globex").contains("current"), "{status}");

    // The next run finishes acme and leaves the rest alone.
    let second = tenantry(&app.config, &["migrate"]).await;
    let out = text(&second);
    assert!(second.status.success(), "{out}");
    assert!(
        line_of(&out, "acme").contains("1 migration(s) applied"),
        "{out}"
    );
    assert!(
        line_of(&out, "globex").contains("0 migration(s) applied"),
        "{out}"
    );
    assert!(out.contains("all 3 tenant stores are current"), "{out}");
    let status = text(&tenantry(&app.config, &["migrate", "--status"]).await);
    assert!(
        status.contains("0 database(s) need `tenantry migrate`"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_resumes_on_sqlite_files() {
    migrate_resumes_after_one_store_fails(Backend::Sqlite, Placement::Dedicated).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_resumes_on_postgres_databases() {
    if postgres_enabled() {
        migrate_resumes_after_one_store_fails(Backend::Postgres, Placement::Dedicated).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_resumes_on_postgres_schemas() {
    if postgres_enabled() {
        migrate_resumes_after_one_store_fails(Backend::Postgres, Placement::Schema).await;
    }
}

/// A server that starts while a tenant's store is behind migrates it in the
/// background, answers 503 for that tenant meanwhile (never a 500), and serves
/// it once it is current; the directory records the new version.
async fn serve_migrates_a_store_that_fell_behind(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _pg) = test_config(backend, &dir);
    config.new_tenant_placement = Placement::Dedicated;
    let first = spawn_app_on(config.clone(), dir).await;
    first.sign_up("acme").await;
    first.sign_up_with(&new_client(), "globex").await;
    first.create_lead("acme", &[("name", "Ada")]).await;
    fall_behind(&TenantHome::of(&first, "acme")).await;
    // The directory says what the last migrate recorded; make it say "behind".
    first
        .with_platform_conn(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE tenants SET store_version = '0' WHERE slug = 'acme'")
                .execute(conn)
        })
        .await
        .unwrap();

    let second = spawn_app_on(config, tempfile::tempdir().unwrap()).await;
    let client = new_client();
    eventually("acme served again", async || {
        let r = second.get_with(&client, "acme", "/login").await;
        match r.status() {
            StatusCode::OK => Ok(()),
            StatusCode::SERVICE_UNAVAILABLE => Err("503 while migrating".into()),
            other => panic!("acme answered {other} while its store migrated"),
        }
    })
    .await;
    assert_eq!(
        second.get_with(&client, "globex", "/login").await.status(),
        StatusCode::OK
    );
    let status = text(&tenantry(&second.config, &["migrate", "--status"]).await);
    assert!(line_of(&status, "acme").contains("current"), "{status}");
    let recorded: Vec<String> = second
        .with_platform_conn(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT id FROM tenants WHERE store_version = '0'")
                .load::<Id>(conn)
                .map(|v| v.into_iter().map(|i| i.id).collect())
        })
        .await
        .unwrap();
    assert!(
        recorded.is_empty(),
        "the directory still says acme is behind"
    );
    // Acme's lead is still there.
    let r = first
        .log_in_with(&client, "acme", "admin@acme.test", "password-of-acme")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let list = second
        .get_with(&client, "acme", "/leads")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Ada"), "{list}");
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_migrates_a_sqlite_file_that_fell_behind() {
    serve_migrates_a_store_that_fell_behind(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_migrates_a_postgres_database_that_fell_behind() {
    if postgres_enabled() {
        serve_migrates_a_store_that_fell_behind(Backend::Postgres).await;
    }
}

/// `tenants list` shows every tenant's placement, plan and counts, read where
/// each lives, as a table and as JSON.
async fn tenants_list_shows_each_placement(backend: Backend) {
    let app = PLACEMENT
        .scope(Placement::Dedicated, async {
            let app = spawn_app(backend).await;
            app.sign_up("acme").await;
            app
        })
        .await;
    app.create_lead("acme", &[("name", "Ada")]).await;
    app.create_lead("acme", &[("name", "Bob")]).await;
    let json = tenantry(&app.config, &["tenants", "list", "--format", "json"]).await;
    assert!(json.status.success(), "{}", text(&json));
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let acme = &list[0];
    assert_eq!(acme["slug"], "acme");
    assert_eq!(acme["placement"], "dedicated");
    assert_eq!(acme["plan"], app.config.new_tenant_plan.as_str());
    assert_eq!(acme["members"], 1);
    assert_eq!(acme["leads"], 2);
    let table = text(&tenantry(&app.config, &["tenants", "list"]).await);
    assert!(table.contains("placement"), "{table}");
    assert!(
        table.contains("dedicated  Your data has a database of its own"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("acme ") && l.contains("dedicated")),
        "{table}"
    );
}

/// More dedicated tenants than the connection budget allows open at once are all
/// served: idle pools are closed to make room, and the budget is never exceeded.
async fn many_dedicated_tenants_share_a_small_connection_budget(backend: Backend) {
    const TENANTS: usize = 6;
    let app = PLACEMENT
        .scope(Placement::Dedicated, async {
            spawn_app_with(backend, |config| {
                config.max_connections = config.pool_size + 2
            })
            .await
        })
        .await;
    let mut clients = Vec::new();
    for i in 0..TENANTS {
        let client = new_client();
        PLACEMENT
            .scope(
                Placement::Dedicated,
                app.sign_up_with(&client, &format!("tenant-{i}")),
            )
            .await;
        clients.push(client);
    }
    for round in 0..2 {
        for (i, client) in clients.iter().enumerate() {
            let r = app.get_with(client, &format!("tenant-{i}"), "/leads").await;
            assert_eq!(r.status(), StatusCode::OK, "round {round}, tenant {i}");
            assert!(app.db.stores().budget().in_use() <= 2);
        }
    }
    assert!(app.db.stores().open_pools() <= TENANTS);
}

crate::both_backends!(
    tenants_list_shows_each_placement,
    many_dedicated_tenants_share_a_small_connection_budget,
);

/// On PostgreSQL, sign-ups into a schema or database of their own take a spare
/// store made ahead, and the server makes another.
async fn sign_ups_take_spare_stores(placement: Placement) {
    if !postgres_enabled() {
        return;
    }
    let app = spawn_app_with(Backend::Postgres, |config| {
        config.new_tenant_placement = placement;
        config.spare_stores = 2;
    })
    .await;
    let spares = |app: &TestApp| {
        let app_conn = app.config.migration_database_url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use diesel::prelude::*;
                let mut conn =
                    diesel::PgConnection::establish(&app_conn.connection_string()).unwrap();
                diesel::sql_query("SELECT name AS id FROM spare_stores ORDER BY name")
                    .load::<Id>(&mut conn)
                    .unwrap()
                    .into_iter()
                    .map(|i| i.id)
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap()
        }
    };
    let before = eventually("two spares made", async || {
        let names = spares(&app).await;
        if names.len() == 2 {
            Ok(names)
        } else {
            Err(format!("{} spares", names.len()))
        }
    })
    .await;
    app.sign_up("acme").await;
    let home = TenantHome::of(&app, "acme");
    let store = home
        .schema
        .clone()
        .or_else(|| home.url.database_name())
        .unwrap();
    assert!(
        before.contains(&store),
        "acme got {store}, not one of {before:?}"
    );
    eventually("the spare replaced", async || {
        let names = spares(&app).await;
        if names.len() == 2 && !names.contains(&store) {
            Ok(())
        } else {
            Err(format!("{names:?}"))
        }
    })
    .await;
    // The tenant works from its store.
    app.create_lead("acme", &[("name", "Ada")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_sign_ups_take_spare_stores() {
    sign_ups_take_spare_stores(Placement::Schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedicated_sign_ups_take_spare_stores() {
    sign_ups_take_spare_stores(Placement::Dedicated).await;
}

/// With `DATABASE_PREPARED_STATEMENTS=false` (for PgBouncer in transaction mode)
/// every query goes unnamed, and the app works the same, in every placement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serves_without_prepared_statements() {
    if !postgres_enabled() {
        return;
    }
    for placement in Placement::ALL {
        let app = PLACEMENT
            .scope(placement, async {
                let app = spawn_app_with(Backend::Postgres, |config| {
                    config.prepared_statements = false;
                })
                .await;
                app.sign_up("acme").await;
                app
            })
            .await;
        let lead = app.create_lead("acme", &[("name", "Ada")]).await;
        let (status, page) = app.get_html("acme", &format!("/leads/{lead}")).await;
        assert_eq!(status, StatusCode::OK, "{placement}");
        assert!(page.contains("Ada"), "{placement}");
        let (status, list) = app.get_html("acme", "/leads").await;
        assert_eq!(status, StatusCode::OK, "{placement}");
        assert!(list.contains("1 lead"), "{placement}: {list}");
    }
}
