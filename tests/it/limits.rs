//! Bursts that cost us: sign-ups per client, invitations per tenant.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, new_client, spawn_app};

both_backends!(sign_up_bursts_get_429, invite_bursts_get_429_per_tenant);

async fn sign_up_bursts_get_429(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    let burst = tenantry::ratelimit::SIGNUP_BURST as usize;
    // Refused forms count too: the limit comes before any work.
    let mut statuses = Vec::new();
    for i in 0..=burst {
        let slug = format!("burst-{i}");
        let r = app
            .post_with(
                &client,
                "localhost",
                "/signup",
                &[
                    ("organization_name", "Burst"),
                    ("subdomain", &slug),
                    ("name", "Ada"),
                    ("email", "ada@burst.test"),
                    ("password", "short"),
                ],
            )
            .await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
        }
    }
    assert!(
        statuses[..burst]
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(statuses[burst], StatusCode::TOO_MANY_REQUESTS);
}

async fn invite_bursts_get_429_per_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let globex = new_client();
    app.sign_up_with(&globex, "globex").await;
    let burst = tenantry::ratelimit::INVITE_BURST as usize;
    let mut last = StatusCode::OK;
    for i in 0..=burst {
        let email = format!("person{i}@acme.test");
        last = app
            .post(
                "acme",
                "/team/invites",
                &[("email", &email), ("role", "member")],
            )
            .await
            .status();
        if i < burst {
            assert_eq!(last, StatusCode::SEE_OTHER, "invite {i}");
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Another tenant still invites.
    let r = app
        .post_with(
            &globex,
            "globex",
            "/team/invites",
            &[("email", "someone@globex.test"), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
