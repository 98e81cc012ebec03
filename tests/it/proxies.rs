//! `TRUSTED_PROXIES`: the client address behind a proxy, and a forged
//! `X-Forwarded-For` from anyone else.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, Browser, TestApp, csrf_from, new_client, spawn_app, spawn_app_with};

/// The per-client log-in allowance (30 a minute) plus one.
const PAST_CLIENT_LIMIT: usize = 31;

/// Failed log-ins for fresh addresses (so only the per-client limit can trip),
/// each claiming to come from `forwarded_for(i)`, sent all at once: the limit is
/// checked when a request arrives, before the slow password check, so a loaded
/// machine cannot spread them past the allowance's refill. Their statuses.
async fn bad_logins(
    app: &TestApp,
    client: &Browser,
    token: &str,
    count: usize,
    forwarded_for: impl Fn(usize) -> String,
) -> Vec<StatusCode> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let request = client
            .post(app.url("acme", "/login"))
            .header("X-Forwarded-For", forwarded_for(i))
            .form(&[
                ("csrf_token", token.to_owned()),
                ("email", format!("nobody{i}@example.com")),
                ("password", "wrong".to_owned()),
            ]);
        tasks.spawn(async move { request.send().await.expect("POST failed").status() });
    }
    tasks.join_all().await
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn login_token(app: &TestApp, client: &Browser) -> String {
    let html = app
        .get_with(client, "acme", "/login")
        .await
        .text()
        .await
        .unwrap();
    csrf_from(&html).unwrap()
}

both_backends!(
    forged_forwarded_for_from_an_untrusted_peer_changes_nothing,
    a_trusted_proxy_limits_each_client_on_its_own,
);

async fn forged_forwarded_for_from_an_untrusted_peer_changes_nothing(backend: Backend) {
    // Arrange: no trusted proxies (the default), so loopback is the client.
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let client = new_client();
    let token = login_token(&app, &client).await;

    // Act: every attempt claims another client.
    let statuses = bad_logins(&app, &client, &token, PAST_CLIENT_LIMIT, |i| {
        format!("198.51.100.{i}")
    })
    .await;

    // Assert: they all counted against the one real peer.
    assert!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS) >= 1,
        "{statuses:?}"
    );
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED)
            + count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        PAST_CLIENT_LIMIT
    );
}

async fn a_trusted_proxy_limits_each_client_on_its_own(backend: Backend) {
    // Arrange: loopback is the proxy.
    let app = spawn_app_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    app.sign_up("acme").await;
    let client = new_client();
    let token = login_token(&app, &client).await;

    // Act: one client behind the proxy uses up its allowance, and another one
    // behind the same proxy (with the same forged left-hand entry) tries once.
    let statuses = bad_logins(&app, &client, &token, PAST_CLIENT_LIMIT, |_| {
        "6.6.6.6, 198.51.100.7".to_owned()
    })
    .await;
    let other = bad_logins(&app, &client, &token, 1, |_| {
        "6.6.6.6, 198.51.100.8".to_owned()
    })
    .await;

    // Assert: the first client is limited, the second is not: each is its own
    // client, and the forged entry was not taken for either.
    assert!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS) >= 1,
        "{statuses:?}"
    );
    assert_eq!(other, [StatusCode::UNAUTHORIZED]);
}
