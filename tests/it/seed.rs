//! `tenantry seed`: demo tenants that work like real ones, on both backends.

use reqwest::StatusCode;
use tenantry::db::seed::{SEED_PASSWORD, seed_admin_email, seed_demo};

use crate::both_backends;
use crate::helpers::{Backend, new_client, spawn_app};
use crate::other_placements;

fn seed_hash() -> String {
    tenantry::auth::password::hash_password(SEED_PASSWORD).unwrap()
}

async fn seeded_tenants_are_complete_and_isolated(backend: Backend) {
    // Arrange: seed through the owner's URL, as the command does.
    let app = spawn_app(backend).await;
    let layout = tenantry::db::stores::StoreLayout::new(&app.config);
    let created = tokio::task::spawn_blocking(move || {
        let first = seed_demo(
            &layout,
            &seed_hash(),
            2,
            120,
            crate::helpers::current_placement(backend),
            |_, _| {},
        )
        .unwrap();
        // Seeding again leaves existing tenants alone.
        let again = seed_demo(
            &layout,
            &seed_hash(),
            2,
            120,
            crate::helpers::current_placement(backend),
            |_, _| {},
        )
        .unwrap();
        (first, again)
    })
    .await
    .unwrap();
    assert_eq!(created, (2, 0));
    // Act: log in to demo-1 as its admin.
    let client = new_client();
    let r = app
        .log_in_with(
            &client,
            "demo-1",
            &seed_admin_email("demo-1"),
            SEED_PASSWORD,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Assert: its own 120 leads, companies and notes, and none of demo-2's.
    let r = app.get_with(&client, "demo-1", "/leads").await;
    let list = r.text().await.unwrap();
    assert!(list.contains("120 leads match"), "{list}");
    let r = app.get_with(&client, "demo-1", "/leads/1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get_with(&client, "demo-1", "/companies").await;
    assert!(r.text().await.unwrap().contains("href=\"/companies/6\""));
    let dash = app
        .get_with(&client, "demo-1", "/")
        .await
        .text()
        .await
        .unwrap();
    assert!(dash.contains("Spoke on the phone"));
    assert!(!dash.contains("demo-2"));
    let r = app.get_with(&client, "demo-1", "/leads/121").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A tenant with more companies than a drop-down holds (4,100 leads make 205)
    // filters by company from the company's page instead.
    let layout = tenantry::db::stores::StoreLayout::new(&app.config);
    tokio::task::spawn_blocking(move || {
        seed_demo(
            &layout,
            &seed_hash(),
            3,
            4_100,
            crate::helpers::current_placement(backend),
            |_, _| {},
        )
        .unwrap()
    })
    .await
    .unwrap();
    let client = new_client();
    app.log_in_with(
        &client,
        "demo-3",
        &seed_admin_email("demo-3"),
        SEED_PASSWORD,
    )
    .await;
    let list = app
        .get_with(&client, "demo-3", "/leads")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("4,100 leads match"));
    assert!(!list.contains("<select id=\"company\""));
    let list = app
        .get_with(&client, "demo-3", "/leads?company=7")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("name=\"company\" value=\"7\""));
    assert!(
        list.contains("Stark GmbH 7"),
        "the filtered company is named"
    );
}

both_backends!(seeded_tenants_are_complete_and_isolated);

// The representative set, once per other placement (see `helpers`).
other_placements!(seeded_tenants_are_complete_and_isolated,);
