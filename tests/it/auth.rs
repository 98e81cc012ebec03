//! Login, logout, CSRF, sessions bound to their tenant, and hostile input.

use reqwest::StatusCode;

use crate::across_placements;
use crate::both_backends;
use crate::helpers::{Backend, csrf_from, location, new_client, spawn_app};
use crate::other_placements;

async fn login_succeeds_and_wrong_credentials_get_one_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    let client = new_client();
    // Wrong password and unknown email: same status, same message, email kept.
    let wrong = app
        .log_in_with(&client, "acme", &t.admin_email, "wrong password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = app
        .log_in_with(&client, "acme", "nobody@acme.test", "wrong password")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    let message = "That email and password do not match";
    assert!(wrong.contains(message) && unknown.contains(message));
    assert!(wrong.contains(&format!("value=\"{}\"", t.admin_email)));
    assert!(unknown.contains("value=\"nobody@acme.test\""));
    assert!(!wrong.contains("wrong password"));
    // Right credentials (email case does not matter).
    let r = app
        .log_in_with(
            &client,
            "acme",
            &t.admin_email.to_uppercase(),
            &t.admin_password,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    let r = app.get_with(&client, "acme", "/").await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn logged_out_pages_redirect_to_login_with_next(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let r = app.get_with(&new_client(), "acme", "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?next=/");
}

async fn next_is_followed_but_never_off_the_host(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    for (next, expected) in [
        ("/?tab=x", "/?tab=x"),
        ("//evil.com", "/"),
        ("https://evil.com/", "/"),
        ("/\\evil.com", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let client = new_client();
        let r = app
            .post_with(
                &client,
                "acme",
                "/login",
                &[
                    ("email", &t.admin_email),
                    ("password", &t.admin_password),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&r), expected, "{next}");
    }
    // The login form also refuses a hostile next from the query string.
    let (_, body) = app.get_html("acme", "/login?next=//evil.com").await;
    assert!(!body.contains("evil.com"));
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let r = app.post("acme", "/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login");
    let r = app.get("acme", "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn posts_without_a_valid_csrf_token_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    let client = new_client();
    // A session exists (the login page set one), but the token is missing or wrong.
    app.get_with(&client, "acme", "/login").await;
    let login = [
        ("email", t.admin_email.as_str()),
        ("password", t.admin_password.as_str()),
    ];
    let r = app.post_raw(&client, "acme", "/login", &login).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut with_wrong = login.to_vec();
    with_wrong.push(("csrf_token", "forged"));
    let r = app.post_raw(&client, "acme", "/login", &with_wrong).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Logged in, logout and signup need it too.
    let r = app.post_raw(&app.client, "acme", "/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_raw(&client, "localhost", "/signup", &[("subdomain", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A token from another host's session does not work here either.
    let apex_token = app.csrf_with(&client, "localhost").await;
    let mut cross = login.to_vec();
    cross.push(("csrf_token", &apex_token));
    let r = app.post_raw(&client, "acme", "/login", &cross).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The admin is still logged in: the refused logout changed nothing.
    assert_eq!(app.get("acme", "/").await.status(), StatusCode::OK);
}

async fn a_session_cookie_of_one_tenant_is_worthless_on_another(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    app.sign_up_with(&new_client(), "globex").await;
    // Log in afresh to read the cookie, then present it by hand on globex's host.
    let client = new_client();
    let t = crate::helpers::Tenant::named("acme");
    let r = app
        .log_in_with(&client, "acme", &t.admin_email, &t.admin_password)
        .await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tenantry_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let on_acme = bare
        .get(format!("http://127.0.0.1:{}/", app.port))
        .header("Host", "acme.localhost")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_acme.status(),
        StatusCode::OK,
        "the cookie works on its own host"
    );
    let on_globex = bare
        .get(format!("http://127.0.0.1:{}/", app.port))
        .header("Host", "globex.localhost")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_globex.status(),
        StatusCode::SEE_OTHER,
        "treated as logged out"
    );
    assert!(location(&on_globex).starts_with("/login"));
    // And the cookie is host-only: no Domain attribute.
    assert!(!r.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains("domain=")
    }));
}

async fn login_is_rate_limited_per_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    let client = new_client();
    let token = csrf_from(
        &app.get_with(&client, "acme", "/login")
            .await
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let mut last = StatusCode::OK;
    let mut retry_after = None;
    for _ in 0..12 {
        let r = app
            .post_raw(
                &client,
                "acme",
                "/login",
                &[
                    ("csrf_token", &token),
                    ("email", &t.admin_email),
                    ("password", "wrong"),
                ],
            )
            .await;
        last = r.status();
        retry_after = r.headers().get("retry-after").cloned();
        if last == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after.is_some());
}

async fn hostile_input_gets_4xx_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let client = new_client();
    let token = app.csrf_with(&client, "acme").await;
    let url = app.url("acme", "/login");
    // Malformed urlencoding.
    let r = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}&email=%ZZ&password=%"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // A body over 1 MiB. Sent from a client of its own: the server answers before
    // reading the body and closes the connection, which a pooled client could
    // otherwise try to reuse for the next request (a flaky IncompleteMessage).
    let huge = format!("csrf_token={token}&email={}", "a".repeat(1024 * 1024 + 10));
    let r = new_client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Odd bytes in fields, a huge password, a repeated field.
    let long_password = "p".repeat(100_000);
    let r = app
        .post_with(
            &client,
            "acme",
            "/login",
            &[("email", "\u{202e}@x"), ("password", &long_password)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A NUL is refused when the form is read (tests/it/nul.rs has every kind).
    let r = app
        .post_with(
            &client,
            "acme",
            "/login",
            &[("email", "\u{0}@x"), ("password", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A bad query string.
    let r = app.get_with(&client, "acme", "/login?next=%FF%FE").await;
    assert!(
        r.status().is_client_error() || r.status().is_success(),
        "{}",
        r.status()
    );
    let r = app.get_with(&client, "acme", "/?handoff").await;
    assert!(r.status().is_client_error() || r.status().is_redirection());
}

both_backends!(
    login_succeeds_and_wrong_credentials_get_one_answer,
    logged_out_pages_redirect_to_login_with_next,
    next_is_followed_but_never_off_the_host,
    logout_ends_the_session,
    posts_without_a_valid_csrf_token_are_refused,
    a_session_cookie_of_one_tenant_is_worthless_on_another,
    login_is_rate_limited_per_account,
    hostile_input_gets_4xx_never_500,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(
    login_succeeds_and_wrong_credentials_get_one_answer,
    logout_ends_the_session,
    posts_without_a_valid_csrf_token_are_refused,
);

// Two tenants in different placements: one in a database of its own, one shared.
across_placements!(a_session_cookie_of_one_tenant_is_worthless_on_another,);
