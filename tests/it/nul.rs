//! NUL in any kind of input is a 4xx at extraction, on every backend (PostgreSQL
//! refuses NUL in text, which used to surface as a 500).

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};
use crate::other_placements;

both_backends!(nul_in_any_input_is_a_4xx_and_changes_nothing);

// The representative set, once per other placement (see `helpers`).
other_placements!(nul_in_any_input_is_a_4xx_and_changes_nothing,);

async fn nul_in_any_input_is_a_4xx_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let lead = app.create_lead("acme", &[("name", "Ada")]).await;

    // Path segments and query values.
    for path in [
        "/leads/%00",
        "/companies/%00",
        "/invite/%00",
        "/password/reset/%00",
        "/leads?q=%00",
        "/leads?q=a%00b&status=new",
        "/leads?owner=%00",
        "/leads?company=%00",
        "/companies?after=%00",
        "/login?next=/%00",
    ] {
        let r = app.get("acme", path).await;
        assert!(r.status().is_client_error(), "GET {path}: {}", r.status());
    }
    for path in [
        "/team/members/%00/deactivate",
        "/team/members/%00/role",
        "/team/invites/%00/revoke",
        &format!("/leads/{lead}/notes?x=%00"),
    ] {
        let r = app
            .post("acme", path, &[("role", "member"), ("body", "x")])
            .await;
        assert!(r.status().is_client_error(), "POST {path}: {}", r.status());
    }

    // Form fields.
    let r = app
        .post(
            "acme",
            "/leads",
            &[("name", "Ada\0Lovelace"), ("status", "new")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post("acme", &format!("/leads/{lead}/notes"), &[("body", "hi\0")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post("acme", "/settings", &[("organization_name", "\0")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Nothing was written: still the one lead, without notes.
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(!list.contains("Lovelace"));
    let (status, page) = app.get_html("acme", &format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("hi\0"));
}
