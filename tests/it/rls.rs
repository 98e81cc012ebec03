//! PostgreSQL's second wall: row-level security confines even unscoped SQL to the
//! request's tenant, and Tenantry refuses to start when the wall is down.

use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use tenantry::startup::Application;

use crate::direct::{tenant_id, unscoped_count, unscoped_execute};
use crate::helpers::{Backend, new_client, postgres_enabled, spawn_app, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscoped_sql_inside_a_tenant_transaction_sees_only_that_tenant() {
    if !postgres_enabled() {
        return;
    }
    // Arrange: two tenants, each with its admin. The SQL below goes over the test's
    // own connection as the app role, in transactions that set `app.tenant_id` as the
    // app's tenant transactions do.
    let app = spawn_app(Backend::Postgres).await;
    app.sign_up("acme").await;
    app.sign_up_with(&new_client(), "globex").await;
    let mut conn = app.own_conn();
    let acme = tenant_id(&mut conn, "acme");
    let globex_id = tenant_id(&mut conn, "globex");

    // Act + Assert: an unscoped count sees one user (acme's), not two.
    let seen = unscoped_count(&mut conn, Some(&acme), "users").unwrap();
    assert_eq!(seen, 1);

    // An unscoped UPDATE of every row touches only this tenant's row.
    let updated = unscoped_execute(&mut conn, &acme, "UPDATE users SET name = name").unwrap();
    assert_eq!(updated, 1);

    // Inserting a row for another tenant is refused by the policy's WITH CHECK.
    let insert = format!(
        "INSERT INTO users (tenant_id, id, email, name, password_hash, role, active, created_at, updated_at) \
         VALUES ('{globex_id}', 'intruder', 'x@x.test', 'X', 'x', 'member', true, now(), now())"
    );
    let refused = unscoped_execute(&mut conn, &acme, &insert);
    let message = format!("{:?}", refused.expect_err("the insert must be refused"));
    assert!(message.contains("row-level security"), "{message}");

    // Moving acme's own row into globex is refused too.
    let moved = format!("UPDATE users SET tenant_id = '{globex_id}'");
    let refused = unscoped_execute(&mut conn, &acme, &moved);
    assert!(refused.is_err());

    // Outside any tenant transaction, the app role sees no tenant rows at all.
    let bare = unscoped_count(&mut conn, None, "users").unwrap();
    assert_eq!(bare, 0);
    // And both tenants still work.
    assert_eq!(app.get("globex", "/login").await.status(), StatusCode::OK);
}

async fn build_error(
    adjust: impl FnOnce(&mut tenantry::config::Config, &crate::pg::PgTestDb),
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, pg) = test_config(Backend::Postgres, &dir);
    let pg = pg.unwrap();
    // Migrate first, as the owner, so that only the check can fail.
    let owner = config.migration_database_url.clone();
    tokio::task::spawn_blocking(move || tenantry::db::run_migrations(&owner).unwrap())
        .await
        .unwrap();
    adjust(&mut config, &pg);
    match Application::build(config).await {
        Ok(_) => String::new(),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_as_the_tables_owner() {
    if !postgres_enabled() {
        return;
    }
    let error = build_error(|config, pg| config.database_url = pg.owner_url()).await;
    assert!(error.starts_with("refusing to serve:"), "{error}");
    assert!(error.contains("owns"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_as_a_superuser() {
    if !postgres_enabled() {
        return;
    }
    let error = build_error(|config, pg| {
        config.database_url = tenantry::config::DatabaseUrl::parse(&format!(
            "{}/{}",
            crate::pg::admin_url().rsplit_once('/').unwrap().0,
            pg.name()
        ))
        .unwrap();
    })
    .await;
    assert!(error.contains("superuser"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_when_rls_is_off_on_a_tenant_table() {
    if !postgres_enabled() {
        return;
    }
    for (sql, expected) in [
        (
            "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
            "not enabled on table `users`",
        ),
        (
            "ALTER TABLE auth_tokens NO FORCE ROW LEVEL SECURITY",
            "not forced on table `auth_tokens`",
        ),
        (
            "DROP POLICY tenant_isolation ON users",
            "lacks its `tenant_isolation` policy",
        ),
    ] {
        let error = build_error(|_, pg| pg.admin_conn().batch_execute(sql).unwrap()).await;
        assert!(error.contains(expected), "{sql}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_setup_passes_the_check() {
    if !postgres_enabled() {
        return;
    }
    let error = build_error(|_, _| {}).await;
    assert_eq!(error, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_with_a_policy_that_opens_a_table() {
    if !postgres_enabled() {
        return;
    }
    for (sql, expected) in [
        (
            "CREATE POLICY dbg ON leads USING (true)",
            "table `leads` has a policy `dbg` besides `tenant_isolation`",
        ),
        (
            "ALTER POLICY tenant_isolation ON notes \
             USING (tenant_id = current_setting('app.tenant_id', true) OR true)",
            "the `tenant_isolation` policy on table `notes` is not the expected one",
        ),
        (
            "ALTER POLICY tenant_isolation ON companies TO tenantry_test_owner",
            "the `tenant_isolation` policy on table `companies` is not the expected one",
        ),
    ] {
        let error = build_error(|_, pg| pg.admin_conn().batch_execute(sql).unwrap()).await;
        assert!(error.contains(expected), "{sql}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_when_the_app_role_holds_more_than_it_needs() {
    if !postgres_enabled() {
        return;
    }
    for (sql, expected) in [
        (
            "GRANT DELETE ON tenants TO tenantry_test_app",
            "may DELETE table `tenants`",
        ),
        (
            "GRANT TRUNCATE ON leads TO tenantry_test_app",
            "may TRUNCATE table `leads`",
        ),
        (
            "GRANT TRIGGER ON mail_queue TO tenantry_test_app",
            "may TRIGGER table `mail_queue`",
        ),
    ] {
        let error = build_error(|_, pg| pg.admin_conn().batch_execute(sql).unwrap()).await;
        assert!(error.contains(expected), "{sql}: {error}");
    }
}
