//! A lead's page shows its newest notes and activity, with "Show older" paging,
//! however many there are (past 32,766 notes SQLite used to refuse the page's
//! query, which bound one variable per author).

use reqwest::StatusCode;

use crate::both_backends;
use crate::direct::TestConn;
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::other_placements;

/// Notes a page shows (`db::notes::HISTORY_PAGE_SIZE`).
const PAGE: usize = 50;

/// The href of the page's "Show older notes" link.
fn older_link(html: &str) -> Option<String> {
    let (before, _) = html.split_once("Show older notes")?;
    let href = before.rsplit("href=\"").next()?;
    Some(href.split('"').next()?.replace("&amp;", "&"))
}

/// Writes `count` notes on lead 1 straight into the database, one second apart,
/// numbered in their bodies ("note 1" is the oldest).
async fn bulk_notes(app: &TestApp, count: usize) {
    let backend = app.backend;
    app.with_tenant_conn("acme", move |conn: &mut TestConn| {
        use diesel::RunQueryDsl;
        let at = match backend {
            Backend::Sqlite => "datetime('2026-01-01 00:00:00', '+' || i || ' seconds')",
            Backend::Postgres => "TIMESTAMP '2026-01-01 00:00:00' + i * INTERVAL '1 second'",
        };
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO notes (tenant_id, id, lead_id, author_id, body, created_at) \
             SELECT l.tenant_id, 'bulk-' || i, l.id, u.id, 'note ' || i, {at} \
             FROM n, leads l, users u WHERE l.number = 1 AND u.tenant_id = l.tenant_id"
        );
        diesel::sql_query(sql).execute(conn)
    })
    .await
    .unwrap();
}

both_backends!(
    older_notes_are_a_page_away,
    a_lead_with_forty_thousand_notes_still_shows
);

// The representative set, once per other placement (see `helpers`).
other_placements!(older_notes_are_a_page_away,);

async fn older_notes_are_a_page_away(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let lead = app.create_lead("acme", &[("name", "Ada")]).await;
    bulk_notes(&app, PAGE + 5).await;

    let (status, first) = app.get_html("acme", &format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        first.contains(&format!("note {}<", PAGE + 5)),
        "the newest first"
    );
    assert!(!first.contains("note 5<"), "the oldest are a page away");
    let older = older_link(&first).expect("a Show older link");

    let (status, second) = app.get_html("acme", &older).await;
    assert_eq!(status, StatusCode::OK);
    for i in 1..=5 {
        assert!(second.contains(&format!("note {i}<")), "note {i}");
    }
    assert!(!second.contains(&format!("note {}<", PAGE + 5)));
    assert!(older_link(&second).is_none(), "nothing older");
    assert!(second.contains("Back to the newest"));

    // A cursor that is not one is a 400, not a 500.
    for bad in ["x", "1.'or'1'='1", "99999999999999999999.a"] {
        let r = app
            .get("acme", &format!("/leads/{lead}?notes_before={bad}"))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn a_lead_with_forty_thousand_notes_still_shows(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let lead = app.create_lead("acme", &[("name", "Ada")]).await;
    bulk_notes(&app, 40_000).await;

    let (status, page) = app.get_html("acme", &format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("note 40000<"));
    assert_eq!(
        page.matches("class=\"note\"").count(),
        PAGE + 1,
        "50 notes and 1 activity"
    );
}
