//! The pipeline board over real HTTP: columns with counts and values, cards, the
//! list's filters, a move by the card's form (no JavaScript) and by the board's
//! script (JSON), another tenant's lead (404, nothing changes), a status that is
//! none (422, nothing moves), and the favicon every browser asks for.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, lead_numbers_in, new_client, spawn_app};
use crate::{both_backends, other_placements};

/// The board's HTML of the column for `status`.
fn column<'a>(page: &'a str, status: &str) -> &'a str {
    let start = page
        .find(&format!("data-status=\"{status}\""))
        .unwrap_or_else(|| panic!("no {status} column"));
    let end = page[start..]
        .find("</section>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

/// The count a column shows.
fn count(column: &str) -> i64 {
    let marker = "data-exact=\"";
    let start = column.find(marker).expect("a count") + marker.len();
    let end = column[start..].find('"').unwrap() + start;
    column[start..end].parse().unwrap()
}

async fn board(app: &TestApp, slug: &str, path: &str) -> String {
    let (status, page) = app.get_html(slug, path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

async fn the_board_shows_each_status_and_moves_cards(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("board").await;
    let acme = app.create_company("board", "Acme").await;
    let ada = app
        .create_lead(
            "board",
            &[
                ("name", "Ada"),
                ("company_id", &acme.to_string()),
                ("value", "100"),
            ],
        )
        .await;
    let bob = app
        .create_lead(
            "board",
            &[("name", "Bob"), ("status", "won"), ("value", "50.5")],
        )
        .await;
    for i in 0..22 {
        app.create_lead(
            "board",
            &[("name", &format!("Many {i}")), ("status", "qualified")],
        )
        .await;
    }
    let page = board(&app, "board", "/pipeline").await;
    for status in ["new", "contacted", "qualified", "proposal", "won", "lost"] {
        column(&page, status);
    }
    let new = column(&page, "new");
    assert!(
        new.contains("Ada") && new.contains("Acme") && new.contains("100.00"),
        "{new}"
    );
    assert_eq!(count(new), 1, "{new}");
    assert!(column(&page, "won").contains("50.50"));
    // A full column shows its first cards and links to the rest.
    let qualified = column(&page, "qualified");
    assert_eq!(lead_numbers_in(qualified).len(), 20, "{qualified}");
    assert_eq!(count(qualified), 22, "{qualified}");
    assert!(
        qualified.contains("href=\"/leads?status=qualified\""),
        "{qualified}"
    );
    // The list's filters.
    let page = board(&app, "board", "/pipeline?q=ada").await;
    assert!(column(&page, "new").contains("Ada"));
    assert!(!column(&page, "won").contains("Bob"));
    let page = board(&app, "board", &format!("/pipeline?company={acme}")).await;
    assert!(!column(&page, "qualified").contains("Many"));

    // Without JavaScript: the card's form, back to the board with its filters.
    let r = app
        .post(
            "board",
            &format!("/leads/{ada}/status"),
            &[("status", "proposal"), ("next", "/pipeline?q=ada")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/pipeline?q=ada");
    let page = board(&app, "board", "/pipeline").await;
    assert!(column(&page, "proposal").contains("Ada"));
    assert!(!column(&page, "new").contains("Ada"));
    // With the board's script: JSON.
    let token = app.csrf("board").await;
    let r = app
        .client
        .post(app.url("board", &format!("/leads/{bob}/status")))
        .header("accept", "application/json")
        .form(&[("csrf_token", token.as_str()), ("status", "lost")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let moved: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (moved["from"].as_str(), moved["status"].as_str()),
        (Some("won"), Some("lost"))
    );
    // Recorded in the lead's activity.
    let (_, lead) = app.get_html("board", &format!("/leads/{bob}")).await;
    assert!(lead.contains("Status changed from"), "{lead}");
    let page = board(&app, "board", "/pipeline").await;
    assert!(column(&page, "lost").contains("Bob"));
    assert_eq!(count(column(&page, "won")), 0);
    assert_eq!(count(column(&page, "lost")), 1);

    // A status that is none: 422, and nothing moves.
    let r = app
        .post(
            "board",
            &format!("/leads/{ada}/status"),
            &[("status", "closed"), ("next", "/pipeline")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Choose one of"));
    let r = app
        .client
        .post(app.url("board", &format!("/leads/{ada}/status")))
        .header("accept", "application/json")
        .form(&[("csrf_token", token.as_str()), ("status", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(column(&board(&app, "board", "/pipeline").await, "proposal").contains("Ada"));
    // No CSRF token, no move; a logged-out visitor is sent to log in.
    let r = app
        .post_raw(
            &app.client,
            "board",
            &format!("/leads/{ada}/status"),
            &[("status", "won")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.get_with(&new_client(), "board", "/pipeline").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn another_tenants_leads_are_neither_shown_nor_moved(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = new_client();
    app.sign_up_with(&other, "theirs").await;
    let theirs = app.create_lead_with(&other, "theirs", "Their lead").await;
    app.sign_up("mine").await;
    app.create_lead("mine", &[("name", "My lead")]).await;
    let page = board(&app, "mine", "/pipeline").await;
    assert!(!page.contains("Their lead"));
    let r = app
        .post(
            "mine",
            &format!("/leads/{theirs}/status"),
            &[("status", "won")],
        )
        .await;
    // Their number may be one of mine too: then mine moves, never theirs.
    let (_, page) = app.get_html_with(&other, "theirs", "/pipeline").await;
    assert!(column(&page, "new").contains("Their lead"), "{page}");
    assert!(matches!(
        r.status(),
        StatusCode::SEE_OTHER | StatusCode::NOT_FOUND
    ));
    for status in ["won", "closed"] {
        let r = app
            .post("mine", "/leads/999999/status", &[("status", status)])
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{status}");
    }
}

async fn every_host_has_a_favicon(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("icons").await;
    for host in ["icons", "localhost"] {
        let r = app.get(host, "/favicon.ico").await;
        assert_eq!(r.status(), StatusCode::OK, "{host}");
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert!(r.text().await.unwrap().contains("<svg"));
    }
    let (_, page) = app.get_html("icons", "/").await;
    assert!(page.contains("rel=\"icon\""));
}

both_backends!(
    the_board_shows_each_status_and_moves_cards,
    another_tenants_leads_are_neither_shown_nor_moved,
    every_host_has_a_favicon,
);
other_placements!(the_board_shows_each_status_and_moves_cards);
