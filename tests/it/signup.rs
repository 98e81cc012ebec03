//! Signup on the apex, and the hand-off to the new host.

use reqwest::StatusCode;

use crate::across_placements;
use crate::both_backends;
use crate::helpers::{Backend, handoff_from, location, new_client, spawn_app};
use crate::other_placements;

fn signup_fields<'a>(slug: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("organization_name", "Acme Ltd"),
        ("subdomain", slug),
        ("name", "Ada Lovelace"),
        ("email", email),
        ("password", "correct horse battery"),
    ]
}

async fn signup_creates_the_organisation_and_logs_the_admin_in(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    // Act
    let r = app
        .post(
            "localhost",
            "/signup",
            &signup_fields("acme", "ada@acme.test"),
        )
        .await;
    // Assert: a page that posts the hand-off to the new host.
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("/static/handoff.js"));
    let (action, token) = handoff_from(&page).unwrap();
    assert_eq!(
        action,
        format!("http://acme.localhost:{}/handoff", app.port)
    );
    let apex = app.url("localhost", "");
    let r = app
        .hand_off(&app.client, &action, &token, Some(&apex))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    app.client.forget("acme");
    let (status, body) = app.get_html("acme", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Ada Lovelace"));
    assert!(body.contains("Acme Ltd"));
}

async fn handoff_token_is_single_use_and_bound_to_its_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("other").await;
    let r = app
        .post(
            "localhost",
            "/signup",
            &signup_fields("acme", "ada@acme.test"),
        )
        .await;
    let (action, token) = handoff_from(&r.text().await.unwrap()).unwrap();
    let apex = app.url("localhost", "");
    let stranger = new_client();
    // On another tenant's host the token is worth nothing.
    let r = app
        .hand_off(
            &stranger,
            &app.url("other", "/handoff"),
            &token,
            Some(&apex),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no longer valid"));
    // Posted from another site's page (login CSRF), or by a client that names no
    // origin, it is refused and not spent.
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let r = app.hand_off(&stranger, &action, &token, origin).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{origin:?}");
    }
    // As a link, opened in another browser, it logs nobody in.
    let r = app
        .get_with(&stranger, "acme", &format!("/?handoff={token}"))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login"), "{}", location(&r));
    // Used once from the apex's page, then never again.
    let r = app.hand_off(&stranger, &action, &token, Some(&apex)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .hand_off(&new_client(), &action, &token, Some(&apex))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A made-up token is as invalid.
    let r = app
        .hand_off(&new_client(), &action, "madeup", Some(&apex))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn invalid_signups_get_422_with_messages_and_input_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: &[(&str, &str, &str)] = &[
        ("ab", "ada@acme.test", "Use 3 to 40 characters"),
        ("-acme", "ada@acme.test", "start or end with a hyphen"),
        (
            "ac_me",
            "ada@acme.test",
            "lowercase letters, digits and hyphens",
        ),
        ("www", "ada@acme.test", "reserved"),
        ("admin", "ada@acme.test", "reserved"),
        ("good-slug", "not-an-email", "valid email"),
    ];
    for (slug, email, message) in cases {
        let r = app
            .post("localhost", "/signup", &signup_fields(slug, email))
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{slug}");
        let body = r.text().await.unwrap();
        assert!(body.contains(message), "{slug}: expected {message}");
        assert!(
            body.contains("value=\"Acme Ltd\""),
            "organisation name kept"
        );
        assert!(body.contains("value=\"Ada Lovelace\""), "name kept");
        assert!(
            !body.contains("correct horse battery"),
            "password never echoed"
        );
    }
    // Too long and too short.
    let long = "x".repeat(201);
    let mut fields = signup_fields("acme", "ada@acme.test");
    fields[0].1 = &long;
    fields[4].1 = "short";
    let r = app.post("localhost", "/signup", &fields).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("at most 200 characters"));
    assert!(body.contains("at least 8 characters"));
    // Nothing was created.
    let r = app.get_with(&new_client(), "acme", "/login").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn a_taken_subdomain_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let other = new_client();
    let r = app
        .post_with(
            &other,
            "localhost",
            "/signup",
            &signup_fields("ACME", "someone@else.test"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("That address is taken"));
    assert!(body.contains("value=\"someone@else.test\""));
}

async fn unicode_names_round_trip_escaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut fields = signup_fields("unicode", "zoë@exämple.test");
    fields[0].1 = "Ünïcødé <b>Org</b> & Co 🚀";
    let r = app.post("localhost", "/signup", &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (action, token) = handoff_from(&r.text().await.unwrap()).unwrap();
    let apex = app.url("localhost", "");
    app.hand_off(&app.client, &action, &token, Some(&apex))
        .await;
    app.client.forget("unicode");
    let (_, body) = app.get_html("unicode", "/").await;
    assert!(
        body.contains("Ünïcødé &#60;b&#62;Org&#60;/b&#62; &#38; Co 🚀")
            || body.contains("Ünïcødé &lt;b&gt;Org&lt;/b&gt; &amp; Co 🚀"),
        "{body}"
    );
    assert!(!body.contains("<b>Org</b>"));
}

both_backends!(
    signup_creates_the_organisation_and_logs_the_admin_in,
    handoff_token_is_single_use_and_bound_to_its_tenant,
    invalid_signups_get_422_with_messages_and_input_kept,
    a_taken_subdomain_is_refused,
    unicode_names_round_trip_escaped,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(
    signup_creates_the_organisation_and_logs_the_admin_in,
    a_taken_subdomain_is_refused,
);

// Two tenants in different placements: one in a database of its own, one shared.
across_placements!(handoff_token_is_single_use_and_bound_to_its_tenant,);
