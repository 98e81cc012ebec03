//! PostgreSQL's second wall: row-level security confines even unscoped SQL to the
//! request's tenant, and Tenantry refuses to start when the wall is down.

use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use tenantry::startup::Application;

use tenantry::domain::Placement;

use crate::direct::{TenantHome, unscoped_count, unscoped_execute};
use crate::helpers::{
    Backend, PLACEMENT, new_client, postgres_enabled, spawn_app, spawn_app_on, test_config,
};

/// The same proof in every PostgreSQL placement: the SQL below goes over the
/// test's own connection as the app role, to where acme lives, in transactions
/// that set `app.tenant_id` (and a schema tenant's search path) as the app's
/// tenant transactions do. Acme's home also holds a row of a planted third
/// tenant, written there by the owner, so that even a database of acme's own has
/// another tenant's row for the wall to hide.
async fn unscoped_sql_sees_only_its_tenant(placement: Placement) {
    if !postgres_enabled() {
        return;
    }
    PLACEMENT
        .scope(placement, async {
            // Arrange: two tenants, each with its admin, and the planted row.
            let app = spawn_app(Backend::Postgres).await;
            app.sign_up("acme").await;
            app.sign_up_with(&new_client(), "globex").await;
            let acme = TenantHome::of(&app, "acme");
            let globex = TenantHome::of(&app, "globex");
            assert_eq!(acme.placement, placement.as_str());
            plant_foreign_user(&acme);
            let mut conn = acme.connect();

            // Act + Assert: an unscoped count sees one user (acme's), not two.
            let seen = unscoped_count(&mut conn, Some(&acme), "users").unwrap();
            assert_eq!(seen, 1, "{placement}");

            // An unscoped UPDATE of every row touches only this tenant's row.
            let updated =
                unscoped_execute(&mut conn, &acme, "UPDATE users SET name = name").unwrap();
            assert_eq!(updated, 1, "{placement}");

            // Inserting a row for another tenant is refused by the policy's WITH CHECK.
            let insert = format!(
                "INSERT INTO users (tenant_id, id, email, name, password_hash, role, active, created_at, updated_at) \
                 VALUES ('{}', 'intruder', 'x@x.test', 'X', 'x', 'member', true, now(), now())",
                globex.id
            );
            let refused = unscoped_execute(&mut conn, &acme, &insert);
            let message = format!("{:?}", refused.expect_err("the insert must be refused"));
            assert!(message.contains("row-level security"), "{message}");

            // Moving acme's own row into globex is refused too.
            let moved = format!("UPDATE users SET tenant_id = '{}'", globex.id);
            let refused = unscoped_execute(&mut conn, &acme, &moved);
            assert!(refused.is_err());

            // Outside any tenant transaction, the app role sees no tenant rows at all.
            let bare = unscoped_count(&mut conn, None, "users");
            match placement {
                // A schema's tables are not on the app's default search path.
                Placement::Schema => {
                    assert_eq!(unscoped_count(&mut app.own_conn(), None, "users").unwrap(), 0)
                }
                _ => assert_eq!(bare.unwrap(), 0),
            }
            // And both tenants still work.
            assert_eq!(app.get("globex", "/login").await.status(), StatusCode::OK);
            assert_eq!(app.get("acme", "/").await.status(), StatusCode::OK);
        })
        .await;
}

/// Writes, as the owner, a member of a tenant that does not live in `home`.
fn plant_foreign_user(home: &TenantHome) {
    let mut owner = home.connect_as_owner();
    let schema = home
        .schema
        .as_ref()
        .map(|s| format!("SET search_path TO \"{s}\";"))
        .unwrap_or_default();
    owner
        .batch_execute(&format!(
            "{schema} BEGIN; \
             INSERT INTO tenants (id, slug, name, created_at, updated_at) \
               VALUES ('planted', 'planted-{id}', 'Planted', now(), now()); \
             SELECT set_config('app.tenant_id', 'planted', true); \
             INSERT INTO users (tenant_id, id, email, name, password_hash, role, active, created_at, updated_at) \
               VALUES ('planted', 'p1', 'p@planted.test', 'P', 'x', 'member', true, now(), now()); \
             COMMIT;",
            id = &home.id[..8]
        ))
        .expect("planting a foreign row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscoped_sql_inside_a_tenant_transaction_sees_only_that_tenant() {
    unscoped_sql_sees_only_its_tenant(Placement::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscoped_sql_in_a_tenant_schema_sees_only_that_tenant() {
    unscoped_sql_sees_only_its_tenant(Placement::Schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscoped_sql_in_a_dedicated_database_sees_only_that_tenant() {
    unscoped_sql_sees_only_its_tenant(Placement::Dedicated).await;
}

/// A tenant whose own database fails the isolation check is refused (503) when
/// a server starts, and only that tenant: the others are served.
async fn a_store_without_rls_is_refused_alone(placement: Placement) {
    if !postgres_enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _pg) = test_config(Backend::Postgres, &dir);
    config.new_tenant_placement = placement;
    // The first server signs acme and globex up into stores of their own.
    let first = spawn_app_on(config.clone(), dir).await;
    first.sign_up("acme").await;
    first.sign_up_with(&new_client(), "globex").await;
    let acme = TenantHome::of(&first, "acme");
    let schema = acme
        .schema
        .as_ref()
        .map(|s| format!("SET search_path TO \"{s}\";"))
        .unwrap_or_default();
    crate::pg::superuser_conn(&acme.url)
        .batch_execute(&format!(
            "{schema} ALTER TABLE leads DISABLE ROW LEVEL SECURITY"
        ))
        .unwrap();
    // A server that starts now checks every store and refuses acme's.
    let dir = tempfile::tempdir().unwrap();
    let second = spawn_app_on(config, dir).await;
    let client = new_client();
    let refused = second.get_with(&client, "acme", "/login").await;
    assert_eq!(
        refused.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{placement}"
    );
    let served = second.get_with(&client, "globex", "/login").await;
    assert_eq!(served.status(), StatusCode::OK, "{placement}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedicated_database_without_rls_is_refused_and_others_served() {
    a_store_without_rls_is_refused_alone(Placement::Dedicated).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_schema_without_rls_is_refused_and_others_served() {
    a_store_without_rls_is_refused_alone(Placement::Schema).await;
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
