//! The write switch a move uses: a tenant's writes are refused (503, with
//! `Retry-After` and a page that says so) while its store says `paused`, reads go
//! on, other tenants are untouched; a store that says `moved` takes no write at
//! all. The state lives in the tenant's own row in its store and is read under
//! the per-tenant write lock, so every server sees a switch at once.

use reqwest::StatusCode;

use crate::both_backends;
use crate::direct::{TenantHome, TestConn};
use crate::helpers::{Backend, new_client, spawn_app};
use crate::other_placements;

/// Sets the tenant's write state where it lives, as its owner.
fn set_writes(home: &TenantHome, state: &str) {
    use diesel::connection::SimpleConnection;
    let mut owner: TestConn = home.connect_as_owner();
    let schema = home
        .schema
        .as_ref()
        .map(|s| format!("SET search_path TO \"{s}\";"))
        .unwrap_or_default();
    owner
        .batch_execute(&format!(
            "{schema} UPDATE tenants SET writes = '{state}' WHERE id = '{}'",
            home.id
        ))
        .expect("setting the write state");
}

async fn paused_writes_wait_and_reads_go_on(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let other = new_client();
    app.sign_up_with(&other, "globex").await;
    let lead = app.create_lead("acme", &[("name", "Ada")]).await;
    let home = TenantHome::of(&app, "acme");

    set_writes(&home, "paused");
    let token = app.csrf("acme").await;
    let r = app
        .post_raw(
            &app.client,
            "acme",
            "/leads",
            &[("csrf_token", &token), ("name", "Bob")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    let page = r.text().await.unwrap();
    assert!(page.contains("This workspace is being moved"), "{page}");
    // Reads go on, and show nothing of the refused write.
    let (status, list) = app.get_html("acme", "/leads").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Ada") && !list.contains("Bob"), "{list}");
    let (status, _) = app.get_html("acme", &format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    // Another tenant writes as usual.
    let r = app
        .post_with(&other, "globex", "/leads", &[("name", "Grace")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Open again: the same write goes through.
    set_writes(&home, "open");
    let r = app.post("acme", "/leads", &[("name", "Bob")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // A store that says the tenant moved takes nothing, whatever the cache says.
    set_writes(&home, "moved");
    let r = app.post("acme", "/leads", &[("name", "Carol")]).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    set_writes(&home, "open");
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(list.contains("Bob") && !list.contains("Carol"), "{list}");
}

both_backends!(paused_writes_wait_and_reads_go_on);
other_placements!(paused_writes_wait_and_reads_go_on);
