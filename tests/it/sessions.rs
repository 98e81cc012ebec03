//! Server-side sessions: a copy of the cookie taken before log-out, a password
//! reset or change, or deactivation is logged out; the account page lists the
//! member's sessions and ends the others.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, Browser, TestApp, csrf_from, location, new_client, spawn_app_with};
use crate::other_placements;
use crate::team::{accept, app_with_smtp, invite, invite_link};

/// A logged-in browser and a copy of its session cookie, as a thief would take it.
struct Login {
    client: Browser,
    stolen_cookie: String,
}

/// Logs a fresh browser in and copies the session cookie the log-in set.
async fn log_in(app: &TestApp, slug: &str, email: &str, password: &str) -> Login {
    let client = new_client();
    let r = app.log_in_with(&client, slug, email, password).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "log-in of {email}");
    let stolen_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(tenantry::startup::SESSION_COOKIE))
        .and_then(|v| v.split(';').next())
        .expect("the log-in sets the session cookie")
        .to_owned();
    Login {
        client,
        stolen_cookie,
    }
}

/// What the copied cookie gets on the dashboard, from another machine.
async fn with_copy(app: &TestApp, slug: &str, cookie: &str) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{}/", app.port))
        .header("Host", format!("{slug}.localhost"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

both_backends!(
    a_cookie_copied_before_log_out_is_logged_out,
    a_password_change_ends_the_other_sessions,
    a_password_reset_ends_every_session,
    deactivation_ends_every_session,
    the_account_page_lists_and_ends_sessions,
);

/// Whether a response sets the session cookie.
fn sets_session_cookie(r: &reqwest::Response) -> bool {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(tenantry::startup::SESSION_COOKIE))
}

/// A page that changes nothing in the session sends no new cookie: reading it
/// used to count as a change (the flash message taken even when there was
/// none), so every page re-encrypted and re-sent the session cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_the_session_cookie_only_when_it_changes() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    app.sign_up("acme").await;
    // The first page makes the session's CSRF token: a change.
    app.get("acme", "/leads").await;

    for path in ["/leads", "/", "/leads", "/companies"] {
        let r = app.get("acme", path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            !sets_session_cookie(&r),
            "{path} sent the session cookie again"
        );
    }

    // A flash message is a change when it is left and when it is shown.
    let r = app
        .post("acme", "/leads", &[("name", "Ada"), ("status", "new")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(sets_session_cookie(&r), "leaving a flash");
    let r = app.get("acme", "/leads").await;
    assert!(sets_session_cookie(&r), "showing the flash");
    assert!(r.text().await.unwrap().contains("Lead created."));
    let r = app.get("acme", "/leads").await;
    assert!(!sets_session_cookie(&r), "after the flash was shown");
    assert!(!r.text().await.unwrap().contains("Lead created."));
}

// The representative set, once per other placement (see `helpers`).
other_placements!(
    a_password_change_ends_the_other_sessions,
    the_account_page_lists_and_ends_sessions,
);

async fn a_cookie_copied_before_log_out_is_logged_out(backend: Backend) {
    // Arrange
    let app = spawn_app_with(backend, |_| {}).await;
    let t = app.sign_up("acme").await;
    let login = log_in(&app, "acme", &t.admin_email, &t.admin_password).await;
    assert_eq!(
        with_copy(&app, "acme", &login.stolen_cookie).await,
        StatusCode::OK
    );

    // Act
    let r = app.post_with(&login.client, "acme", "/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Assert: the copy is worth nothing; the admin's other browser still works.
    assert_eq!(
        with_copy(&app, "acme", &login.stolen_cookie).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("acme", "/").await.status(), StatusCode::OK);
}

async fn a_password_change_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let t = app.sign_up("acme").await;
    let other = log_in(&app, "acme", &t.admin_email, &t.admin_password).await;

    // A wrong current password is 422 and changes nothing.
    let r = app
        .post(
            "acme",
            "/account/password",
            &[
                ("current_password", "not it"),
                ("password", "a new password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not your current password")
    );
    assert_eq!(
        with_copy(&app, "acme", &other.stolen_cookie).await,
        StatusCode::OK
    );

    // The right one: the other session ends, this one goes on.
    let r = app
        .post(
            "acme",
            "/account/password",
            &[
                ("current_password", &t.admin_password),
                ("password", "a new password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        with_copy(&app, "acme", &other.stolen_cookie).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("acme", "/").await.status(), StatusCode::OK);
    // The new password logs in, the old one does not.
    let client = new_client();
    let r = app
        .log_in_with(&client, "acme", &t.admin_email, &t.admin_password)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .log_in_with(&client, "acme", &t.admin_email, "a new password")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn a_password_reset_ends_every_session(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    let t = app.sign_up("acme").await;
    let stolen = log_in(&app, "acme", &t.admin_email, &t.admin_password).await;

    let browser = new_client();
    app.post_with(
        &browser,
        "acme",
        "/password/forgot",
        &[("email", &t.admin_email)],
    )
    .await;
    let mail = smtp.wait_for(&t.admin_email, 1).await;
    let link = mail.link(&app.url("acme", "/password/reset/")).unwrap();
    let page = browser
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&page).unwrap();
    let r = browser
        .post(&link)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", "reset password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        with_copy(&app, "acme", &stolen.stolen_cookie).await,
        StatusCode::SEE_OTHER
    );
    let r = app.get("acme", "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the sign-up session too");
}

async fn deactivation_ends_every_session(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("acme").await;
    let status = invite(&app, &app.client, "acme", "bob@acme.test", "member").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let link = invite_link(&app, &smtp, "acme", "bob@acme.test", 1).await;
    let bob = accept(&app, &link, "Bob", "bob's password").await;
    let copy = log_in(&app, "acme", "bob@acme.test", "bob's password").await;
    assert_eq!(
        with_copy(&app, "acme", &copy.stolen_cookie).await,
        StatusCode::OK
    );
    let team = app.get("acme", "/team").await.text().await.unwrap();
    let id = team
        .split("<tr>")
        .find(|row| row.contains("bob@acme.test"))
        .and_then(|row| row.split("/team/members/").nth(1))
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    let r = app
        .post(
            "acme",
            &format!("/team/members/{}/deactivate", id.unwrap()),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        with_copy(&app, "acme", &copy.stolen_cookie).await,
        StatusCode::SEE_OTHER
    );
    let r = bob.get(app.url("acme", "/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn the_account_page_lists_and_ends_sessions(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let t = app.sign_up("acme").await;
    let phone = log_in(&app, "acme", &t.admin_email, &t.admin_password).await;

    let (status, page) = app.get_html("acme", "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&t.admin_email));
    assert!(page.contains("this session"));
    assert!(page.contains("127.0.0.1"));
    assert_eq!(
        page.matches("<tr>").count(),
        1 + 2,
        "header and two sessions"
    );

    // The name is saved; an empty one is 422 with the form kept.
    let r = app.post("acme", "/account", &[("name", "")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post("acme", "/account", &[("name", "Ada L.")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/account");

    let r = app
        .post("acme", "/account/sessions/revoke-others", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_html("acme", "/account").await;
    assert!(page.contains("Ada L."));
    assert_eq!(page.matches("<tr>").count(), 1 + 1);
    assert_eq!(
        with_copy(&app, "acme", &phone.stolen_cookie).await,
        StatusCode::SEE_OTHER
    );
    let r = phone.client.get(app.url("acme", "/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
