//! Bulk changes from the lead list over real HTTP: the list's checkboxes and
//! "select all on this page", status and owner changes recorded in each lead's
//! activity, deletion after a page naming how many, bad input (422, the
//! selection kept, nothing changed), and another tenant's lead numbers (nothing
//! of theirs changes).

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, location, new_client, selected_option, spawn_app};
use crate::{both_backends, other_placements};

/// Form fields as pairs.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// Posts a bulk change of `numbers` with `fields` on `slug`.
async fn bulk(
    app: &TestApp,
    slug: &str,
    numbers: &[i64],
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let ids: Vec<String> = numbers.iter().map(i64::to_string).collect();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.extend(ids.iter().map(|n| ("lead_ids", n.as_str())));
    app.post(slug, "/leads/bulk", &all).await
}

/// The status badge a lead's page shows.
async fn status_of(app: &TestApp, slug: &str, number: i64) -> String {
    let (status, page) = app.get_html(slug, &format!("/leads/{number}")).await;
    assert_eq!(status, StatusCode::OK, "lead {number}");
    let marker = "<span class=\"badge badge-";
    let header = page.find("<h1>").unwrap();
    let start = page[header..].find(marker).unwrap() + header + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

async fn leads_change_together(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("bulk").await;
    let mut leads = Vec::new();
    for name in ["Ada", "Bob", "Cy", "Dee", "Eve"] {
        leads.push(app.create_lead("bulk", &[("name", name)]).await);
    }
    let (_, form) = app.get_html("bulk", "/leads/new").await;
    let me = selected_option(&form, "owner_id").unwrap();

    // The list has a checkbox per lead; "select all on this page" checks them.
    let (_, list) = app.get_html("bulk", "/leads").await;
    assert_eq!(list.matches("name=\"lead_ids\"").count(), 5, "{list}");
    assert!(!list.contains(" checked>"));
    let (_, all) = app.get_html("bulk", "/leads?select=page").await;
    assert_eq!(all.matches(" checked>").count(), 5, "{all}");
    assert!(list.contains("href=\"/leads?select=page\""));
    // The header's checkbox, for browsers with JavaScript: its script is ours.
    let script = list
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert!(script.starts_with("/static/bulk.js?v="), "{script}");
    let r = app.get("bulk", script).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );

    // A status for three, back to the list as it was filtered.
    let r = bulk(
        &app,
        "bulk",
        &leads[..3],
        &[
            ("action", "status"),
            ("status", "won"),
            ("next", "/leads?sort=name"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/leads?sort=name");
    let (_, list) = app.get_html("bulk", "/leads").await;
    assert!(list.contains("3 leads moved to won."), "{list}");
    for (i, n) in leads.iter().enumerate() {
        let want = if i < 3 { "won" } else { "new" };
        assert_eq!(status_of(&app, "bulk", *n).await, want, "lead {n}");
    }
    let (_, page) = app.get_html("bulk", &format!("/leads/{}", leads[0])).await;
    assert!(page.contains("Status changed from"), "{page}");
    // Again, with one more: only that one changes.
    let r = bulk(
        &app,
        "bulk",
        &leads[..4],
        &[("action", "status"), ("status", "won")],
    )
    .await;
    assert_eq!(location(&r), "/leads");
    let (_, list) = app.get_html("bulk", "/leads").await;
    assert!(
        list.contains("1 lead moved to won. 3 leads already so."),
        "{list}"
    );

    // An owner, then nobody; each in the lead's activity.
    let r = bulk(
        &app,
        "bulk",
        &leads[1..3],
        &[("action", "owner"), ("owner_id", &me)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_html("bulk", &format!("/leads/{}", leads[1])).await;
    assert!(page.contains(" the owner"), "{page}");
    let (_, owned) = app.get_html("bulk", &format!("/leads?owner={me}")).await;
    assert_eq!(owned.matches("name=\"lead_ids\"").count(), 2, "{owned}");
    let r = bulk(
        &app,
        "bulk",
        &leads[1..2],
        &[("action", "owner"), ("owner_id", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_html("bulk", &format!("/leads/{}", leads[1])).await;
    assert!(page.contains("Removed the owner"), "{page}");

    // Delete asks first, naming how many; nothing goes until confirmed.
    let r = bulk(&app, "bulk", &leads[3..], &[("action", "delete")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Delete 2 leads?") && page.contains("Dee") && page.contains("Eve"));
    assert!(page.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(status_of(&app, "bulk", leads[4]).await, "new");
    let r = bulk(
        &app,
        "bulk",
        &leads[3..],
        &[("action", "delete"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for n in &leads[3..] {
        let (status, _) = app.get_html("bulk", &format!("/leads/{n}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, log) = app
        .get_html("bulk", "/settings/audit?action=lead.deleted")
        .await;
    assert!(log.contains("Dee") && log.contains("Eve"), "{log}");
    // No CSRF token, no change.
    let r = app
        .post_raw(
            &app.client,
            "bulk",
            "/leads/bulk",
            &[
                ("action", "delete"),
                ("confirm", "yes"),
                ("lead_ids", &leads[0].to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, "bulk", leads[0]).await, "won");
}

async fn bad_bulk_input_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("oops").await;
    let ada = app.create_lead("oops", &[("name", "Ada")]).await;
    let bob = app.create_lead("oops", &[("name", "Bob")]).await;
    let cases: [(Fields, &[i64], &str); 5] = [
        (
            &[("action", "status"), ("status", "closed")],
            &[ada, bob],
            "Choose the status",
        ),
        (&[("action", "archive")], &[ada], "Choose what to do"),
        (
            &[("action", "status"), ("status", "won")],
            &[],
            "Select at least one lead.",
        ),
        (
            &[("action", "owner"), ("owner_id", "someone-else")],
            &[ada],
            "Choose an active member",
        ),
        (
            &[("action", "delete"), ("lead_ids", "abc")],
            &[ada],
            "not a lead",
        ),
    ];
    for (fields, numbers, message) in cases {
        let r = bulk(&app, "oops", numbers, fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains(message), "{message}: {page}");
        // The selection and the choices are kept, to correct and send again.
        for n in numbers {
            assert!(
                page.contains(&format!("name=\"lead_ids\" value=\"{n}\"")),
                "{page}"
            );
        }
        assert!(page.contains("Nothing was changed yet."));
    }
    let r = bulk(
        &app,
        "oops",
        &[ada],
        &[("action", "status"), ("status", "closed")],
    )
    .await;
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<a href=\"/leads/1\">Ada</a>") || page.contains(">Ada</a>"),
        "{page}"
    );
    assert_eq!(status_of(&app, "oops", ada).await, "new");
    assert_eq!(status_of(&app, "oops", bob).await, "new");
    // Past a page's worth: refused.
    let many: Vec<i64> = (1..=201).collect();
    let r = bulk(
        &app,
        "oops",
        &many,
        &[("action", "status"), ("status", "won")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(&app, "oops", ada).await, "new");
}

async fn another_tenants_leads_never_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = new_client();
    app.sign_up_with(&other, "theirs").await;
    let mut theirs = Vec::new();
    for i in 0..4 {
        theirs.push(
            app.create_lead_with(&other, "theirs", &format!("Their {i}"))
                .await,
        );
    }
    app.sign_up("mine").await;
    let mine = app.create_lead("mine", &[("name", "Mine")]).await;
    // Only numbers that are none of mine: a 404.
    let r = bulk(
        &app,
        "mine",
        &[999_998, 999_999],
        &[("action", "delete"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Their numbers beside mine (some may be mine too): only mine change.
    let mut numbers = theirs.clone();
    numbers.push(mine);
    for fields in [
        &[("action", "status"), ("status", "lost")][..],
        &[("action", "owner"), ("owner_id", "")][..],
        &[("action", "delete"), ("confirm", "yes")][..],
    ] {
        let r = bulk(&app, "mine", &numbers, fields).await;
        assert!(
            matches!(r.status(), StatusCode::SEE_OTHER | StatusCode::NOT_FOUND),
            "{fields:?}: {}",
            r.status()
        );
    }
    let (_, list) = app.get_html_with(&other, "theirs", "/leads").await;
    for i in 0..4 {
        assert!(list.contains(&format!("Their {i}")), "{list}");
    }
    assert!(!list.contains("badge-lost"), "{list}");
    let (status, _) = app.get_html("mine", &format!("/leads/{mine}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

both_backends!(
    leads_change_together,
    bad_bulk_input_changes_nothing,
    another_tenants_leads_never_change,
);
other_placements!(another_tenants_leads_never_change);
