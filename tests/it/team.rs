//! The team: invites by email over a real SMTP conversation, roles, deactivation,
//! password reset, the workspace finder, settings, and the outbox surviving a
//! relay that is down.

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::across_placements;
use crate::both_backends;
use crate::direct::tables::{invites, outbox, platform_outbox};
use crate::helpers::{
    Backend, Browser, TestApp, eventually, location, new_client, spawn_app, spawn_app_with,
};
use crate::other_placements;
use crate::smtp::SmtpServer;

pub(crate) async fn app_with_smtp(backend: Backend) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(backend, |c| c.smtp_url = Some(url.into())).await;
    (app, smtp)
}

/// Statuses and attempt counts of `slug`'s mails, oldest first, read from the
/// outbox table over the test's own connection.
async fn mail_statuses(app: &TestApp, slug: &str) -> Vec<(String, i32)> {
    app.with_tenant_conn(slug, |conn| {
        outbox::table
            .order(outbox::created_at.asc())
            .select((outbox::status, outbox::attempts))
            .load(conn)
    })
    .await
    .unwrap()
}

/// The admin (default client) invites `email` on `slug`.
pub(crate) async fn invite(
    app: &TestApp,
    client: &Browser,
    slug: &str,
    email: &str,
    role: &str,
) -> StatusCode {
    app.post_with(
        client,
        slug,
        "/team/invites",
        &[("email", email), ("role", role)],
    )
    .await
    .status()
}

/// Waits for the `n`-th mail to `email` and returns its invite link.
pub(crate) async fn invite_link(
    app: &TestApp,
    smtp: &SmtpServer,
    slug: &str,
    email: &str,
    n: usize,
) -> String {
    let mail = smtp.wait_for(email, n).await;
    let prefix = app.url(slug, "/invite/");
    mail.link(&prefix)
        .unwrap_or_else(|| panic!("no invite link in {}", mail.text()))
}

/// Accepts an invite with a fresh browser; returns it logged in.
pub(crate) async fn accept(_app: &TestApp, link: &str, name: &str, password: &str) -> Browser {
    let client = new_client();
    let r = client.get(link).send().await.unwrap();
    let status = r.status();
    let page = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {link}: {page}");
    let token = crate::helpers::csrf_from(&page).unwrap();
    let r = client
        .post(link)
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", name),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "accepting {link}");
    assert_eq!(location(&r), "/");
    client
}

/// The id in the first `/team/{kind}/{id}/...` action after `needle` on the page.
fn id_after(html: &str, needle: &str, kind: &str) -> String {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on page"));
    let marker = format!("/team/{kind}/");
    let start = html[at..].find(&marker).unwrap() + at + marker.len();
    let end = html[start..].find('/').unwrap() + start;
    html[start..end].to_owned()
}

async fn team_html(app: &TestApp, client: &Browser, slug: &str) -> String {
    let r = app.get_with(client, slug, "/team").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// Polls the admin's team page until it contains `needle`.
async fn team_page_showing(app: &TestApp, slug: &str, needle: &str) -> String {
    eventually(&format!("the team page to show {needle}"), async || {
        let page = team_html(app, &app.client, slug).await;
        if page.contains(needle) {
            Ok(page)
        } else {
            Err(page)
        }
    })
    .await
}

async fn an_invite_is_mailed_followed_and_logs_the_new_member_in(backend: Backend) {
    // Arrange
    let (app, smtp) = app_with_smtp(backend).await;
    let t = app.sign_up("acme").await;
    // Act
    assert_eq!(
        invite(&app, &app.client, "acme", "Bob@Example.test", "member").await,
        StatusCode::SEE_OTHER
    );
    let mail = smtp.wait_for("bob@example.test", 1).await;
    // Assert: a real message with both parts, from MAIL_FROM, naming the org.
    assert_eq!(mail.from, "no-reply@localhost");
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .contains("multipart/alternative")
    );
    assert!(mail.text().contains(&t.org_name));
    assert!(mail.html().contains("Accept the invitation"));
    let link = mail.link(&app.url("acme", "/invite/")).unwrap();
    assert!(
        link.len() > app.url("acme", "/invite/").len() + 22,
        "128+ bits"
    );
    assert!(!mail.data.contains("TENANTRY-LINK-TOKEN"));
    // The admin sees the invite as sent (recorded just after the relay took it).
    let page = team_page_showing(&app, "acme", "data-mail-status=\"sent\"").await;
    assert!(page.contains("bob@example.test"));
    // Following the link creates the member and logs them in.
    let bob = accept(&app, &link, "Bob Builder", "bob's password").await;
    let r = app.get_with(&bob, "acme", "/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Bob Builder"));
    // The invite is no longer pending; Bob is a member.
    let page = team_html(&app, &app.client, "acme").await;
    assert!(page.contains("Bob Builder"));
    assert!(page.contains("No pending invitations"));
    // The link is single-use.
    let r = new_client().get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no longer valid"));
    // Bob can log in with his password.
    let r = app
        .log_in_with(&new_client(), "acme", "bob@example.test", "bob's password")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn the_same_person_can_join_several_organisations_with_separate_passwords(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("acme").await;
    let globex_admin = new_client();
    app.sign_up_with(&globex_admin, "globex").await;
    invite(&app, &app.client, "acme", "bob@example.test", "member").await;
    let acme_link = invite_link(&app, &smtp, "acme", "bob@example.test", 1).await;
    accept(&app, &acme_link, "Bob", "password at acme").await;
    invite(&app, &globex_admin, "globex", "bob@example.test", "admin").await;
    let globex_link = invite_link(&app, &smtp, "globex", "bob@example.test", 2).await;
    accept(&app, &globex_link, "Bob G", "password at globex").await;
    let c = new_client();
    let ok = |r: reqwest::Response| r.status() == StatusCode::SEE_OTHER;
    assert!(ok(app
        .log_in_with(&c, "acme", "bob@example.test", "password at acme")
        .await));
    assert!(ok(app
        .log_in_with(&c, "globex", "bob@example.test", "password at globex")
        .await));
    let wrong = app
        .log_in_with(
            &new_client(),
            "acme",
            "bob@example.test",
            "password at globex",
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

async fn invite_links_are_void_when_revoked_expired_resent_or_on_another_host(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("acme").await;
    let globex_admin = new_client();
    app.sign_up_with(&globex_admin, "globex").await;

    // Another tenant's host: 404, and the link still works at home afterwards.
    invite(&app, &app.client, "acme", "carol@example.test", "member").await;
    let link = invite_link(&app, &smtp, "acme", "carol@example.test", 1).await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    let r = app
        .get_with(&new_client(), "globex", &format!("/invite/{token}"))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no longer valid"));
    let stranger = new_client();
    let csrf = app.csrf_with(&stranger, "globex").await;
    let r = app
        .post_raw(
            &stranger,
            "globex",
            &format!("/invite/{token}"),
            &[
                ("csrf_token", &csrf),
                ("name", "Eve"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        new_client().get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );

    // Revoked: 404.
    let page = team_html(&app, &app.client, "acme").await;
    let id = id_after(&page, "carol@example.test", "invites");
    // Another tenant's admin cannot revoke or resend acme's invite: 404.
    for action in ["revoke", "resend"] {
        let r = app
            .post_with(
                &globex_admin,
                "globex",
                &format!("/team/invites/{id}/{action}"),
                &[],
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
    }
    let r = app
        .post("acme", &format!("/team/invites/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        new_client().get(&link).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Revoking twice finds nothing to revoke.
    let r = app
        .post("acme", &format!("/team/invites/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "already revoked");

    // Expired: 404.
    invite(&app, &app.client, "acme", "dave@example.test", "member").await;
    let link = invite_link(&app, &smtp, "acme", "dave@example.test", 1).await;
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    app.with_tenant_conn("acme", move |conn| {
        diesel::update(invites::table.filter(invites::email.eq("dave@example.test")))
            .set(invites::expires_at.eq(past))
            .execute(conn)
    })
    .await
    .unwrap();
    let r = new_client().get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no longer valid"));
    // An expired invite does not block a new one, which replaces it.
    assert_eq!(
        invite(&app, &app.client, "acme", "dave@example.test", "member").await,
        StatusCode::SEE_OTHER
    );
    let renewed = invite_link(&app, &smtp, "acme", "dave@example.test", 2).await;
    let page = team_html(&app, &app.client, "acme").await;
    assert_eq!(page.matches("dave@example.test").count(), 1, "{page}");
    assert_eq!(
        new_client().get(&renewed).send().await.unwrap().status(),
        StatusCode::OK
    );

    // Resent: a new link; the old one is void.
    invite(&app, &app.client, "acme", "erin@example.test", "member").await;
    let first = invite_link(&app, &smtp, "acme", "erin@example.test", 1).await;
    let page = team_html(&app, &app.client, "acme").await;
    let id = id_after(&page, "erin@example.test", "invites");
    let r = app
        .post("acme", &format!("/team/invites/{id}/resend"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let second = invite_link(&app, &smtp, "acme", "erin@example.test", 2).await;
    assert_ne!(first, second);
    assert_eq!(
        new_client().get(&first).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    accept(&app, &second, "Erin", "erin's password").await;

    // A made-up token.
    let r = app.get_with(&new_client(), "acme", "/invite/madeup").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn inviting_a_member_or_an_invited_address_says_so(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    let t = app.sign_up("acme").await;
    let r = app
        .post(
            "acme",
            "/team/invites",
            &[("email", &t.admin_email), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("already a member of this workspace"));
    assert!(
        body.contains(&format!("value=\"{}\"", t.admin_email)),
        "input kept"
    );
    invite(&app, &app.client, "acme", "bob@example.test", "admin").await;
    smtp.wait_for("bob@example.test", 1).await;
    let r = app
        .post(
            "acme",
            "/team/invites",
            &[("email", "BOB@example.test"), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("already been invited"));
    let r = app
        .post(
            "acme",
            "/team/invites",
            &[("email", "not an email"), ("role", "owner")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("valid email") && body.contains("Choose admin or member"));
}

async fn members_are_refused_on_admin_routes(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("acme").await;
    invite(&app, &app.client, "acme", "bob@example.test", "member").await;
    let link = invite_link(&app, &smtp, "acme", "bob@example.test", 1).await;
    let bob = accept(&app, &link, "Bob", "bob's password").await;
    // Bob sees the team, without the admin's tools.
    let page = team_html(&app, &bob, "acme").await;
    assert!(!page.contains("/team/invites"));
    let admin_page = team_html(&app, &app.client, "acme").await;
    let admin_id = id_after(&admin_page, "admin@acme.test", "members");
    for path in [
        "/team/invites".to_owned(),
        "/team/invites/x/revoke".to_owned(),
        "/team/invites/x/resend".to_owned(),
        format!("/team/members/{admin_id}/role"),
        format!("/team/members/{admin_id}/deactivate"),
        "/settings".to_owned(),
        "/settings/api/keys".to_owned(),
        "/settings/api/keys/x/revoke".to_owned(),
    ] {
        let r = app
            .post_with(
                &bob,
                "acme",
                &path,
                &[
                    ("email", "x@example.test"),
                    ("role", "member"),
                    ("organization_name", "Pwned"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    for page in ["/settings", "/settings/api"] {
        assert_eq!(
            app.get_with(&bob, "acme", page).await.status(),
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    // Nothing changed.
    let (_, body) = app.get_html("acme", "/").await;
    assert!(!body.contains("Pwned"));
    // Logged out, admin pages redirect to login; CSRF is required too.
    let r = app.get_with(&new_client(), "acme", "/team").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_raw(
            &app.client,
            "acme",
            "/team/invites",
            &[("email", "a@b.test")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn the_last_admin_is_protected_and_deactivation_ends_sessions(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("acme").await;
    let page = team_html(&app, &app.client, "acme").await;
    let admin_id = id_after(&page, "admin@acme.test", "members");
    // The only admin can be neither demoted nor deactivated: 409 with a message.
    let r = app
        .post(
            "acme",
            &format!("/team/members/{admin_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("last active admin"));
    let r = app
        .post("acme", &format!("/team/members/{admin_id}/deactivate"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(app.get("acme", "/settings").await.status(), StatusCode::OK);

    // Bob joins and works; the admin deactivates him; his live session stops.
    invite(&app, &app.client, "acme", "bob@example.test", "member").await;
    let link = invite_link(&app, &smtp, "acme", "bob@example.test", 1).await;
    let bob = accept(&app, &link, "Bob", "bob's password").await;
    assert_eq!(
        app.get_with(&bob, "acme", "/").await.status(),
        StatusCode::OK
    );
    let page = team_html(&app, &app.client, "acme").await;
    let bob_id = id_after(&page, "bob@example.test", "members");
    let r = app
        .post("acme", &format!("/team/members/{bob_id}/deactivate"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app.get_with(&bob, "acme", "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login"));
    let r = app
        .log_in_with(&new_client(), "acme", "bob@example.test", "bob's password")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // With a second admin, the first may step down, and then is a member.
    invite(&app, &app.client, "acme", "carol@example.test", "member").await;
    let link = invite_link(&app, &smtp, "acme", "carol@example.test", 1).await;
    let carol = accept(&app, &link, "Carol", "carol's password").await;
    let page = team_html(&app, &app.client, "acme").await;
    let carol_id = id_after(&page, "carol@example.test", "members");
    let r = app
        .post(
            "acme",
            &format!("/team/members/{carol_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_with(&carol, "acme", "/settings").await.status(),
        StatusCode::OK
    );
    let r = app
        .post(
            "acme",
            &format!("/team/members/{admin_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("acme", "/settings").await.status(),
        StatusCode::FORBIDDEN
    );
    // Now Carol is the last admin.
    let r = app
        .post_with(
            &carol,
            "acme",
            &format!("/team/members/{carol_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // A member id of another tenant is a 404 here.
    let globex_admin = new_client();
    app.sign_up_with(&globex_admin, "globex").await;
    let r = app
        .post_with(
            &globex_admin,
            "globex",
            &format!("/team/members/{carol_id}/deactivate"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn password_reset_mails_a_single_use_link_and_answers_the_same_for_strangers(
    backend: Backend,
) {
    let (app, smtp) = app_with_smtp(backend).await;
    let t = app.sign_up("acme").await;
    let client = new_client();
    // Unknown address and known address: same status, same page.
    let unknown = app
        .post_with(
            &client,
            "acme",
            "/password/forgot",
            &[("email", "nobody@example.test")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&unknown), "/password/forgot");
    let unknown_page = app
        .get_with(&client, "acme", "/password/forgot")
        .await
        .text()
        .await
        .unwrap();
    let known = app
        .post_with(
            &client,
            "acme",
            "/password/forgot",
            &[("email", &t.admin_email)],
        )
        .await;
    assert_eq!(known.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&known), "/password/forgot");
    let known_page = app
        .get_with(&client, "acme", "/password/forgot")
        .await
        .text()
        .await
        .unwrap();
    let said = "we have sent it a link";
    assert!(unknown_page.contains(said) && known_page.contains(said));
    let strip = |s: &str| {
        let c = crate::helpers::csrf_from(s).unwrap_or_default();
        s.replace(&c, "")
    };
    assert_eq!(strip(&unknown_page), strip(&known_page), "pages differ");
    // The mail arrives with a reset link.
    let mail = smtp.wait_for(&t.admin_email, 1).await;
    let link = mail.link(&app.url("acme", "/password/reset/")).unwrap();
    let r = client.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Too short: 422. Then a good one.
    let csrf = crate::helpers::csrf_from(&r.text().await.unwrap()).unwrap();
    let r = client
        .post(&link)
        .form(&[("csrf_token", csrf.as_str()), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = client
        .post(&link)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", "a brand new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login");
    let login_page = client
        .get(app.url("acme", "/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login_page.contains("Your password has been changed"),
        "the confirmation survives the logout"
    );
    // Single use; old password gone, new one works.
    assert_eq!(
        client.get(&link).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let c = new_client();
    let r = app
        .log_in_with(&c, "acme", &t.admin_email, &t.admin_password)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .log_in_with(&c, "acme", &t.admin_email, "a brand new password")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Nothing went to the unknown address: the outbox, which keeps every mail with
    // its status, never held one for it.
    let recipients: Vec<String> = app
        .with_tenant_conn("acme", |conn| {
            outbox::table.select(outbox::recipient).load(conn)
        })
        .await
        .unwrap();
    assert!(
        !recipients.iter().any(|r| r == "nobody@example.test"),
        "{recipients:?}"
    );
    assert!(smtp.messages_to("nobody@example.test").is_empty());
    // A reset link is void on another tenant's host.
    app.sign_up_with(&new_client(), "globex").await;
    app.post_with(
        &new_client(),
        "acme",
        "/password/forgot",
        &[("email", &t.admin_email)],
    )
    .await;
    let mail = smtp.wait_for(&t.admin_email, 2).await;
    let link = mail.link(&app.url("acme", "/password/reset/")).unwrap();
    let token = link.rsplit('/').next().unwrap();
    let r = app
        .get_with(&new_client(), "globex", &format!("/password/reset/{token}"))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Using a newer link spends the older, unused one too.
    let older = link.clone();
    app.post_with(
        &new_client(),
        "acme",
        "/password/forgot",
        &[("email", &t.admin_email)],
    )
    .await;
    let newer = smtp
        .wait_for(&t.admin_email, 3)
        .await
        .link(&app.url("acme", "/password/reset/"))
        .unwrap();
    let c = new_client();
    let page = c.get(&newer).send().await.unwrap().text().await.unwrap();
    let csrf = crate::helpers::csrf_from(&page).unwrap();
    let r = c
        .post(&newer)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", "a third password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        new_client().get(&older).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

async fn reset_requests_are_rate_limited_per_address(backend: Backend) {
    let (app, _smtp) = app_with_smtp(backend).await;
    let t = app.sign_up("acme").await;
    let mut last = None;
    for _ in 0..5 {
        let r = app
            .post_with(
                &new_client(),
                "acme",
                "/password/forgot",
                &[("email", &t.admin_email)],
            )
            .await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            last = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = last.expect("a 429 within 5 requests");
    assert!(r.headers().get("retry-after").is_some());
}

async fn find_mails_the_workspaces_of_an_address_and_answers_the_same_for_strangers(
    backend: Backend,
) {
    let (app, smtp) = app_with_smtp(backend).await;
    let acme = app.sign_up("acme").await;
    let globex_admin = new_client();
    app.sign_up_with(&globex_admin, "globex").await;
    app.sign_up_with(&new_client(), "initech").await;
    // The acme admin is also invited into globex.
    invite(&app, &globex_admin, "globex", &acme.admin_email, "member").await;
    let link = invite_link(&app, &smtp, "globex", &acme.admin_email, 1).await;
    accept(&app, &link, "Acme's admin at Globex", "another password").await;

    let client = new_client();
    let (status, form) = app.get_html("localhost", "/find").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"email\""));
    let r = app
        .post_with(
            &client,
            "localhost",
            "/find",
            &[("email", &acme.admin_email)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/find");
    let known_page = app
        .get_with(&client, "localhost", "/find")
        .await
        .text()
        .await
        .unwrap();
    let r = app
        .post_with(
            &client,
            "localhost",
            "/find",
            &[("email", "nobody@example.test")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let unknown_page = app
        .get_with(&client, "localhost", "/find")
        .await
        .text()
        .await
        .unwrap();
    let said = "we have emailed it a list";
    assert!(known_page.contains(said) && unknown_page.contains(said));
    let mail = smtp.wait_for(&acme.admin_email, 2).await;
    let text = mail.text();
    assert!(
        text.contains("Org acme") && text.contains("Org globex"),
        "{text}"
    );
    assert!(text.contains(&app.url("acme", "/login")));
    assert!(!text.contains("initech"), "only this address's workspaces");
    // Both requests have been answered, so whatever they queued is in the platform
    // outbox, whose rows are deleted once delivered: once it is empty, every mail
    // they caused has reached the relay.
    eventually("the platform outbox to be delivered", async || {
        let left: Vec<(String, String)> = app
            .with_platform_conn(|conn| {
                platform_outbox::table
                    .select((platform_outbox::recipient, platform_outbox::status))
                    .load(conn)
            })
            .await
            .unwrap();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{left:?}"))
        }
    })
    .await;
    assert!(smtp.messages_to("nobody@example.test").is_empty());
}

async fn find_is_rate_limited_per_address_and_per_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    // Per address: a few tries, then 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = app
            .post_with(
                &client,
                "localhost",
                "/find",
                &[("email", "ann@example.test")],
            )
            .await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Per client: other addresses from the same client run out too.
    let mut limited = false;
    for i in 0..12 {
        let email = format!("person{i}@example.test");
        let r = app
            .post_with(&client, "localhost", "/find", &[("email", &email)])
            .await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    assert!(limited, "the client limit never applied");
}

async fn an_invite_waits_in_the_outbox_while_smtp_is_down(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("acme").await;
    // Arrange: the relay goes down.
    smtp.stop().await;
    // Act
    assert_eq!(
        invite(&app, &app.client, "acme", "bob@example.test", "member").await,
        StatusCode::SEE_OTHER
    );
    // Assert: it is kept, and tried more than once.
    let tries = eventually("a retry while the relay is down", async || {
        let statuses = mail_statuses(&app, "acme").await;
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses[0].0, "pending");
        let tries = statuses[0].1;
        if tries >= 2 {
            Ok(tries)
        } else {
            Err(format!("{tries} attempts"))
        }
    })
    .await;
    assert!(tries >= 2, "retried while the relay was down");
    let page = team_html(&app, &app.client, "acme").await;
    assert!(page.contains("data-mail-status=\"pending\""));
    // The relay comes back: the mail goes out and its link works.
    smtp.restart().await;
    let link = invite_link(&app, &smtp, "acme", "bob@example.test", 1).await;
    accept(&app, &link, "Bob", "bob's password").await;
}

async fn a_mail_that_fails_for_good_is_shown_and_can_be_resent(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(backend, |c| {
        c.smtp_url = Some(url.into());
        c.mail_max_attempts = 2;
    })
    .await;
    app.sign_up("acme").await;
    smtp.stop().await;
    invite(&app, &app.client, "acme", "bob@example.test", "member").await;
    let page = team_page_showing(&app, "acme", "data-mail-status=\"failed\"").await;
    assert!(page.contains("Resend"));
    smtp.restart().await;
    let id = id_after(&page, "bob@example.test", "invites");
    let r = app
        .post("acme", &format!("/team/invites/{id}/resend"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let link = invite_link(&app, &smtp, "acme", "bob@example.test", 1).await;
    accept(&app, &link, "Bob", "bob's password").await;
}

async fn an_admin_renames_the_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let (status, body) = app.get_html("acme", "/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("value=\"Org acme\""));
    let long = "x".repeat(201);
    let r = app
        .post("acme", "/settings", &[("organization_name", &long)])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("at most 200 characters"));
    let r = app
        .post(
            "acme",
            "/settings",
            &[("organization_name", "Acme Renamed")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, body) = app.get_html("acme", "/").await;
    assert!(body.contains("Acme Renamed"));
}

async fn without_smtp_mail_is_written_to_files(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    invite(&app, &app.client, "acme", "bob@example.test", "member").await;
    let dir = app.config.mail_dir.clone();
    let eml = eventually("an .eml file", async || {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|f| f.path()).collect())
            .unwrap_or_default();
        files
            .iter()
            .find(|f| f.extension().is_some_and(|e| e == "eml"))
            .cloned()
            .ok_or_else(|| format!("files {files:?}"))
    })
    .await;
    let eml = std::fs::read_to_string(eml).unwrap();
    assert!(eml.contains("bob@example.test"));
}

both_backends!(
    an_invite_is_mailed_followed_and_logs_the_new_member_in,
    the_same_person_can_join_several_organisations_with_separate_passwords,
    invite_links_are_void_when_revoked_expired_resent_or_on_another_host,
    inviting_a_member_or_an_invited_address_says_so,
    members_are_refused_on_admin_routes,
    the_last_admin_is_protected_and_deactivation_ends_sessions,
    password_reset_mails_a_single_use_link_and_answers_the_same_for_strangers,
    reset_requests_are_rate_limited_per_address,
    find_mails_the_workspaces_of_an_address_and_answers_the_same_for_strangers,
    find_is_rate_limited_per_address_and_per_client,
    an_invite_waits_in_the_outbox_while_smtp_is_down,
    a_mail_that_fails_for_good_is_shown_and_can_be_resent,
    an_admin_renames_the_organisation,
    without_smtp_mail_is_written_to_files,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(
    an_invite_is_mailed_followed_and_logs_the_new_member_in,
    password_reset_mails_a_single_use_link_and_answers_the_same_for_strangers,
    find_mails_the_workspaces_of_an_address_and_answers_the_same_for_strangers,
    an_admin_renames_the_organisation,
    the_last_admin_is_protected_and_deactivation_ends_sessions,
    an_invite_waits_in_the_outbox_while_smtp_is_down,
);

// Two tenants in different placements: one in a database of its own, one shared.
across_placements!(
    the_same_person_can_join_several_organisations_with_separate_passwords,
    invite_links_are_void_when_revoked_expired_resent_or_on_another_host,
    find_mails_the_workspaces_of_an_address_and_answers_the_same_for_strangers,
);
