//! The audit log: every kind of event through the real pages, on both engines;
//! the page's filters, paging and CSV; nothing of it reaches another tenant;
//! and the database itself refuses to change or remove an entry.

use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use tenantry::startup::Application;

use crate::both_backends;
use crate::direct::{TenantHome, unscoped_count, unscoped_execute};
use crate::helpers::{
    Backend, Browser, TestApp, location, new_client, postgres_enabled, test_config,
};
use crate::placements::{tenantry, text};
use crate::team::{accept, app_with_smtp, invite, invite_link};

/// The id in the first `/team/{kind}/{id}/` link after `needle` on the team page.
fn id_after(html: &str, needle: &str, kind: &str) -> String {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on page"));
    let marker = format!("/team/{kind}/");
    let start = html[at..].find(&marker).unwrap() + at + marker.len();
    let end = html[start..].find('/').unwrap() + start;
    html[start..end].to_owned()
}

/// One row of the audit table: its number, actor cell and action.
#[derive(Debug)]
struct Row {
    seq: i64,
    text: String,
    action: String,
}

/// The rows of an audit page, top to bottom.
fn rows(html: &str) -> Vec<Row> {
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    let end = html[start..].find("</tbody>").unwrap() + start;
    html[start..end]
        .split("<tr>")
        .skip(1)
        .map(|tr| {
            let cell = |from: &str| {
                let s = tr.find(from).unwrap() + from.len();
                let e = tr[s..].find('<').unwrap() + s;
                tr[s..e].to_owned()
            };
            Row {
                seq: cell("<td class=\"num\">").parse().unwrap(),
                action: cell("<span class=\"mono\">"),
                text: tr.to_owned(),
            }
        })
        .collect()
}

/// The audit page at `path` as `client` sees it: status and rows.
async fn audit_rows(
    app: &TestApp,
    client: &Browser,
    slug: &str,
    path: &str,
) -> (StatusCode, Vec<Row>, String) {
    let r = app.get_with(client, slug, path).await;
    let status = r.status();
    let html = r.text().await.unwrap();
    (status, rows(&html), html)
}

/// The "Older entries" link of a page.
fn older_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

async fn every_kind_of_event_is_listed_filtered_and_exported(backend: Backend) {
    // Arrange: a workspace with mail, and a second one that must see nothing.
    let (app, smtp) = app_with_smtp(backend).await;
    let t = app.sign_up("acme").await;
    let globex = new_client();
    app.sign_up_with(&globex, "globex").await;

    // Act: one event of each kind, through the pages.
    let password = t.admin_password.as_str();
    // A refused log-in, and a log-in and log-out of another browser.
    let r = app
        .log_in_with(&new_client(), "acme", &t.admin_email, "not-the-password")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let other = new_client();
    app.log_in_with(&other, "acme", &t.admin_email, password)
        .await;
    assert_eq!(
        app.post_with(&other, "acme", "/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    // Password change on /account.
    let r = app
        .post(
            "acme",
            "/account/password",
            &[
                ("current_password", password),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "password change");
    // Invites: sent and accepted, sent and revoked.
    assert_eq!(
        invite(&app, &app.client, "acme", "carol@example.test", "member").await,
        StatusCode::SEE_OTHER
    );
    let carol_link = invite_link(&app, &smtp, "acme", "carol@example.test", 1).await;
    let carol = accept(&app, &carol_link, "Carol", "carol's long password").await;
    assert_eq!(
        invite(&app, &app.client, "acme", "dave@example.test", "member").await,
        StatusCode::SEE_OTHER
    );
    let team = app.get("acme", "/team").await.text().await.unwrap();
    let dave = id_after(&team, "dave@example.test", "invites");
    let r = app
        .post("acme", &format!("/team/invites/{dave}/revoke"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A member may not read the log.
    for path in ["/settings/audit", "/settings/audit.csv"] {
        let r = app.get_with(&carol, "acme", path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} as a member");
    }
    // Carol resets her password through the mailed link.
    let someone = new_client();
    app.post_with(
        &someone,
        "acme",
        "/password/forgot",
        &[("email", "carol@example.test")],
    )
    .await;
    let mail = smtp.wait_for("carol@example.test", 2).await;
    let link = mail.link(&app.url("acme", "/password/reset/")).unwrap();
    let page = someone
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::csrf_from(&page).unwrap();
    let r = someone
        .post(&link)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", "a new long password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "reset");
    // Role change and deactivation.
    let carol_id = id_after(&team, "carol@example.test", "members");
    let r = app
        .post(
            "acme",
            &format!("/team/members/{carol_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post("acme", &format!("/team/members/{carol_id}/deactivate"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Settings, import, exports, deletions.
    let r = app
        .post(
            "acme",
            "/settings",
            &[("organization_name", "Acme =Renamed")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .import_csv("acme", b"name,email\nAda,ada@example.test\n", None)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "import");
    assert_eq!(
        app.get("acme", "/leads/export.csv").await.status(),
        StatusCode::OK
    );
    let lead = app.create_lead("acme", &[("name", "Gone Lead")]).await;
    let r = app
        .post("acme", &format!("/leads/{lead}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let company = app.create_company("acme", "Gone Company").await;
    let r = app
        .post("acme", &format!("/companies/{company}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let zip = app.get("acme", "/settings/export.zip").await;
    assert_eq!(zip.status(), StatusCode::OK);
    let zip = zip.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let mut audit_in_zip = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("audit.csv").unwrap(),
        &mut audit_in_zip,
    )
    .unwrap();

    // Assert: the page lists every kind, newest first, with who and from where.
    let (status, all, html) = audit_rows(&app, &app.client, "acme", "/settings/audit").await;
    assert_eq!(status, StatusCode::OK);
    let kinds = [
        "password.reset",
        "login.succeeded",
        "login.failed",
        "logout",
        "password.changed",
        "invite.sent",
        "invite.accepted",
        "invite.revoked",
        "member.role_changed",
        "member.deactivated",
        "settings.changed",
        "leads.imported",
        "leads.exported",
        "lead.deleted",
        "company.deleted",
        "workspace.exported",
    ];
    for kind in kinds {
        assert!(
            all.iter().any(|r| r.action == kind),
            "{kind} not listed: {all:?}"
        );
    }
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    assert_eq!(all.first().unwrap().action, "workspace.exported");
    let failed = all.iter().find(|r| r.action == "login.failed").unwrap();
    assert!(failed.text.contains("anonymous") && failed.text.contains(&t.admin_email));
    assert!(
        !html.contains("not-the-password"),
        "a password is never recorded"
    );
    assert!(failed.text.contains("127.0.0.1"), "the client address");
    let deleted = all.iter().find(|r| r.action == "lead.deleted").unwrap();
    assert!(
        deleted.text.contains(&format!("lead {lead}")) && deleted.text.contains(&t.admin_email)
    );
    // The zip's audit.csv has the log up to and including its own download.
    for kind in kinds {
        assert!(
            audit_in_zip.contains(kind),
            "{kind} not in the zip's audit.csv"
        );
    }

    // Filters: by action, by member, by kind; bad values are 400.
    let (_, only, _) = audit_rows(
        &app,
        &app.client,
        "acme",
        "/settings/audit?action=invite.sent",
    )
    .await;
    assert_eq!(only.len(), 2);
    assert!(only.iter().all(|r| r.action == "invite.sent"));
    let path = format!("/settings/audit?actor=member:{carol_id}");
    let (_, by_carol, _) = audit_rows(&app, &app.client, "acme", &path).await;
    assert_eq!(
        by_carol
            .iter()
            .map(|r| r.action.as_str())
            .collect::<Vec<_>>(),
        ["password.reset", "invite.accepted"]
    );
    let (_, anonymous, _) = audit_rows(
        &app,
        &app.client,
        "acme",
        "/settings/audit?actor=kind:anonymous",
    )
    .await;
    assert_eq!(
        anonymous
            .iter()
            .map(|r| r.action.as_str())
            .collect::<Vec<_>>(),
        ["login.failed"]
    );
    for bad in [
        "?action=bogus",
        "?actor=someone",
        "?actor=member:%27x",
        "?before=abc",
        "?after=-3",
    ] {
        let r = app.get("acme", &format!("/settings/audit{bad}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // The CSV: a header, every entry, filters applied, formulas neutralised.
    let csv = app.get("acme", "/settings/audit.csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with(
        "seq,at,actor_kind,actor,action,target,detail,client_ip,request_id,actor_id\n"
    ));
    assert_eq!(csv.lines().count(), all.len() + 1);
    assert!(csv.contains("'=Renamed") || csv.contains("Acme =Renamed"));
    let filtered = app
        .get("acme", "/settings/audit.csv?action=logout")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(filtered.lines().count(), 2, "{filtered}");

    // Another tenant's admin sees none of it, whatever the filter or cursor.
    let (status, theirs, html) = audit_rows(&app, &globex, "globex", "/settings/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(theirs.is_empty(), "{theirs:?}");
    assert!(html.contains("Nothing has been recorded yet."));
    for path in [
        format!("/settings/audit?actor=member:{carol_id}"),
        "/settings/audit?before=1000".to_owned(),
        "/settings/audit?after=1".to_owned(),
        "/settings/audit?action=login.failed".to_owned(),
    ] {
        let (_, theirs, _) = audit_rows(&app, &globex, "globex", &path).await;
        assert!(theirs.is_empty(), "{path}: {theirs:?}");
    }
    let theirs = app
        .get_with(&globex, "globex", "/settings/audit.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(theirs.lines().count(), 1, "{theirs}");
    // Acme's cookie on globex's host is logged out there.
    let r = app.get_with(&app.client, "globex", "/settings/audit").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?next=/settings/audit");
}

async fn paging_gives_every_entry_once(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    app.sign_up("acme").await;
    for n in 0..57 {
        let r = app
            .post(
                "acme",
                "/settings",
                &[("organization_name", &format!("Acme {n}"))],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let mut seen = Vec::new();
    let mut path = "/settings/audit?action=settings.changed".to_owned();
    let mut pages = 0;
    loop {
        let (status, page, html) = audit_rows(&app, &app.client, "acme", &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(page.len() <= 50);
        seen.extend(page.iter().map(|r| r.seq));
        pages += 1;
        match older_link(&html) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 57);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "each once, newest first"
    );
    // The newer link of the second page goes back to the first.
    let (_, first, _) = audit_rows(
        &app,
        &app.client,
        "acme",
        "/settings/audit?action=settings.changed",
    )
    .await;
    assert_eq!(first.len(), 50);
}

/// The database refuses to change or remove an entry, whatever SQL the app's
/// connection sends: PostgreSQL by the app role's grants, SQLite by triggers.
async fn the_app_cannot_update_or_delete_an_entry(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    let r = app
        .log_in_with(&new_client(), "acme", &t.admin_email, "wrong password")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let acme = TenantHome::of(&app, "acme");
    let mut conn = acme.connect();
    let before = unscoped_count(&mut conn, Some(&acme), "audit_log").unwrap();
    assert_eq!(before, 1);
    for sql in [
        "UPDATE audit_log SET action = 'logout'",
        "DELETE FROM audit_log",
    ] {
        let refused = unscoped_execute(&mut conn, &acme, sql).expect_err(sql);
        let message = refused.to_string();
        match backend {
            Backend::Postgres => assert!(message.contains("permission denied"), "{sql}: {message}"),
            Backend::Sqlite => assert!(message.contains("append-only"), "{sql}: {message}"),
        }
    }
    // Adding and reading are allowed.
    let insert = format!(
        "INSERT INTO audit_log (tenant_id, id, seq, at, actor_kind, actor_label, action) \
         VALUES ('{}', 'test-entry', 1000, CURRENT_TIMESTAMP, 'system', 'system', 'logout')",
        acme.id
    );
    assert_eq!(unscoped_execute(&mut conn, &acme, &insert).unwrap(), 1);
    assert_eq!(
        unscoped_count(&mut conn, Some(&acme), "audit_log").unwrap(),
        2
    );
    if backend == Backend::Postgres {
        let truncate = unscoped_execute(&mut conn, &acme, "TRUNCATE audit_log");
        assert!(truncate.is_err());
    }
}

/// Operator commands write to the log as `operator`; a move carries the log,
/// and a delete removes it (on SQLite past its trigger).
async fn operator_commands_are_recorded_and_the_log_travels(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    app.log_in_with(&new_client(), "acme", &t.admin_email, "wrong password")
        .await;
    let out = tenantry(
        &app.config,
        &["tenants", "move", "acme", "--to", "dedicated"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    // A server whose host cache still names the old place answers 503 once.
    let moved =
        crate::helpers::eventually("the moved tenant's audit page", async || match audit_rows(
            &app,
            &app.client,
            "acme",
            "/settings/audit",
        )
        .await
        {
            (StatusCode::OK, rows, _) => Ok(rows),
            (status, _, _) => Err(status.to_string()),
        })
        .await;
    let actions: Vec<&str> = moved.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["tenant.moved", "login.failed"], "{moved:?}");
    assert!(moved[0].text.contains("operator"));
    assert!(moved[0].text.contains("copied_rows"), "the move's report");
    let (_, operator, _) = audit_rows(
        &app,
        &app.client,
        "acme",
        "/settings/audit?actor=kind:operator",
    )
    .await;
    assert_eq!(operator.len(), 1);
    // Deleting the tenant removes its entries too.
    let out = tenantry(
        &app.config,
        &["tenants", "delete", "acme", "--confirm", "acme"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit_log"), "{}", text(&out));
}

both_backends!(
    every_kind_of_event_is_listed_filtered_and_exported,
    paging_gives_every_entry_once,
    the_app_cannot_update_or_delete_an_entry,
    operator_commands_are_recorded_and_the_log_travels,
);

/// Start-up refuses a SQLite file whose audit log lost a trigger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_without_the_append_only_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = test_config(Backend::Sqlite, &dir);
    let url = config.migration_database_url.clone();
    tokio::task::spawn_blocking(move || {
        tenantry::db::run_migrations(&url).unwrap();
        let mut conn = tenantry::db::establish(&url).unwrap();
        conn.batch_execute("DROP TRIGGER audit_log_no_delete")
            .unwrap();
    })
    .await
    .unwrap();
    let error = match Application::build(config).await {
        Ok(_) => String::new(),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("audit_log_no_delete"), "{error}");
}

/// Start-up refuses a PostgreSQL database where the app role may change the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_when_the_app_role_may_change_the_log() {
    if !postgres_enabled() {
        return;
    }
    for (sql, expected) in [
        (
            "GRANT UPDATE ON audit_log TO tenantry_test_app",
            "may UPDATE table `audit_log`",
        ),
        (
            "GRANT DELETE ON audit_log TO tenantry_test_app",
            "may DELETE table `audit_log`",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (config, pg) = test_config(Backend::Postgres, &dir);
        let pg = pg.unwrap();
        let owner = config.migration_database_url.clone();
        tokio::task::spawn_blocking(move || tenantry::db::run_migrations(&owner).unwrap())
            .await
            .unwrap();
        pg.admin_conn().batch_execute(sql).unwrap();
        let error = match Application::build(config).await {
            Ok(_) => String::new(),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(expected), "{sql}: {error}");
    }
}
