//! Migrations, the health check, and the compile-time wall around tenant tables.

use reqwest::StatusCode;
use tenantry::db::{revert_all_migrations, run_migrations};

use crate::both_backends;
use crate::helpers::{Backend, spawn_app, test_config};

async fn migrations_run_up_down_up_on_an_empty_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (config, _pg) = test_config(backend, &dir);
    let url = config.migration_database_url.clone();
    tokio::task::spawn_blocking(move || {
        let up = run_migrations(&url).unwrap();
        assert!(up >= 1);
        assert_eq!(
            run_migrations(&url).unwrap(),
            0,
            "a second run applies nothing"
        );
        assert_eq!(revert_all_migrations(&url).unwrap(), up);
        assert_eq!(run_migrations(&url).unwrap(), up);
    })
    .await
    .unwrap();
}

async fn healthz_is_200_while_the_database_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app.get_html("localhost", "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
}

both_backends!(
    migrations_run_up_down_up_on_an_empty_database,
    healthz_is_200_while_the_database_answers,
);

/// With the database gone, `/healthz` says so with 503 (and pages with 503, not 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_when_the_database_is_gone() {
    if !crate::helpers::postgres_enabled() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let name = app.pg.as_ref().unwrap().name().to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut admin = diesel::PgConnection::establish(&crate::pg::admin_url()).unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    })
    .await
    .unwrap();
    let (status, _) = app.get_html("localhost", "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

/// Code outside `db` cannot name a tenant table, forge a scope, or reach the
/// scoped sources: each attempt in `tests/ui` must fail to compile.
#[test]
fn unscoped_tenant_queries_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
