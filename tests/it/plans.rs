//! Per-tenant limits over real HTTP: the request budget (429 with `Retry-After`
//! and the `RateLimit` headers, another tenant untouched), quotas (403 with the
//! form kept, nothing written, not overrun by concurrent requests), an import
//! past a quota importing nothing, and `tenants usage` reporting what was made.

use std::time::Duration;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::placements::{tenantry, text};

/// An app whose servers see an operator's change within a second, and write
/// usage every second.
async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.tenant_cache_ttl = Duration::from_secs(1);
        config.usage_flush = Duration::from_secs(1);
    })
    .await
}

/// Runs `tenants limits SLUG ARGS..` and waits until servers have seen it.
async fn set_limits(app: &TestApp, slug: &str, args: &[&str]) {
    let mut all = vec!["tenants", "limits", slug];
    all.extend_from_slice(args);
    let out = tenantry(&app.config, &all).await;
    assert!(out.status.success(), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(1_200)).await;
}

async fn leads_count(app: &TestApp, slug: &str) -> i64 {
    let out = tenantry(&app.config, &["tenants", "usage", slug, "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let usage: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    usage[0]["now"]["leads"].as_i64().unwrap()
}

async fn a_tenant_past_its_budget_gets_429_and_another_tenant_does_not(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("busy").await;
    app.sign_up("calm").await;
    set_limits(&app, "busy", &["--requests-per-minute", "30"]).await;
    let mut first_refused = None;
    let mut refused_at = None;
    let mut ok_after = 0u128;
    for i in 1..=40 {
        let r = app.get("busy", "/").await;
        let policy = r
            .headers()
            .get("ratelimit-policy")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            policy.as_deref(),
            Some("\"tenant\";q=30;w=60"),
            "request {i}"
        );
        assert!(r.headers().contains_key("ratelimit"), "request {i}");
        match r.status() {
            // Past the budget a slot comes back every 60 / 30 = 2 s, so after the
            // first 429 at most one 200 per 2 s (and one more) may come: on a
            // slow machine the 40 requests can take long enough for that.
            StatusCode::OK => {
                if let Some(at) = refused_at {
                    let at: std::time::Instant = at;
                    ok_after += 1;
                    let allowed = 1 + at.elapsed().as_millis() / 2_000;
                    assert!(ok_after <= allowed, "{ok_after} 200s after a 429, at {i}");
                }
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let retry: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                assert!(r.headers()["ratelimit"].to_str().unwrap().contains("r=0"));
                // Answered before the headers middleware, with its headers all the same.
                assert_eq!(r.headers()["x-content-type-options"], "nosniff");
                assert!(r.headers().contains_key("content-security-policy"));
                let page = r.text().await.unwrap();
                assert!(page.contains("over its request limit"), "{page}");
                first_refused.get_or_insert(i);
                refused_at.get_or_insert_with(std::time::Instant::now);
            }
            other => panic!("request {i}: {other}"),
        }
        // The other tenant, interleaved, is never refused.
        let other = app.get("calm", "/").await;
        assert_eq!(other.status(), StatusCode::OK, "calm, beside request {i}");
    }
    let first = first_refused.expect("no request was refused");
    assert!((31..=40).contains(&first), "first 429 at request {first}");
}

async fn quotas_refuse_with_the_form_kept_and_write_nothing(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("small").await;
    set_limits(
        &app,
        "small",
        &[
            "--max-leads",
            "2",
            "--max-companies",
            "1",
            "--max-members",
            "1",
        ],
    )
    .await;
    app.create_lead("small", &[("name", "One"), ("status", "new")])
        .await;
    app.create_lead("small", &[("name", "Two"), ("status", "new")])
        .await;
    let r = app
        .post(
            "small",
            "/leads",
            &[
                ("name", "Three <kept>"),
                ("email", "three@example.com"),
                ("status", "new"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("limit of 2 leads on the Business plan"),
        "{page}"
    );
    assert!(
        page.contains("value=\"Three &#60;kept&#62;\"")
            || page.contains("value=\"Three &lt;kept&gt;\""),
        "{page}"
    );
    assert!(page.contains("three@example.com"));
    assert_eq!(leads_count(&app, "small").await, 2);

    app.create_company("small", "First Co").await;
    let r = app
        .post(
            "small",
            "/companies",
            &[("name", "Second Co"), ("domain", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(page.contains("limit of 1 companies"), "{page}");
    assert!(page.contains("Second Co"));

    // The admin fills the only seat: no invitation goes out.
    let r = app
        .post(
            "small",
            "/team/invites",
            &[("email", "new@small.test"), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(page.contains("limit of 1 members"), "{page}");
    assert!(page.contains("new@small.test"));

    // An import past the leads quota imports nothing and says so.
    set_limits(&app, "small", &["--max-leads", "4"]).await;
    let csv = b"name,email\nA,a@example.com\nB,b@example.com\nC,c@example.com\n";
    let r = app.import_csv("small", csv, None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("limit of 4 leads"), "{page}");
    assert_eq!(leads_count(&app, "small").await, 2);
    // And one past the rows-per-import limit too.
    set_limits(
        &app,
        "small",
        &["--max-leads", "100", "--max-import-rows", "2"],
    )
    .await;
    let r = app.import_csv("small", csv, None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("limit of 2 rows per import")
    );
    assert_eq!(leads_count(&app, "small").await, 2);
    // Within the limits it goes in.
    set_limits(&app, "small", &["--clear"]).await;
    let (_, log) = app.get_html("small", "/settings/audit").await;
    assert!(
        log.contains("<span class=\"mono\">tenant.limits_changed</span>"),
        "{log}"
    );
    let r = app.import_csv("small", csv, None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(leads_count(&app, "small").await, 5);
}

async fn concurrent_creates_cannot_pass_the_last_free_slot(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("race").await;
    set_limits(&app, "race", &["--max-leads", "5"]).await;
    let token = app.csrf("race").await;
    let post = |i: usize| {
        let name = format!("Racer {i}");
        let token = token.clone();
        let app = &app;
        async move {
            app.post_raw(
                &app.client,
                "race",
                "/leads",
                &[("csrf_token", &token), ("name", &name), ("status", "new")],
            )
            .await
            .status()
        }
    };
    let statuses = tokio::join!(
        post(0),
        post(1),
        post(2),
        post(3),
        post(4),
        post(5),
        post(6),
        post(7),
        post(8),
        post(9),
        post(10),
        post(11)
    );
    let statuses = [
        statuses.0,
        statuses.1,
        statuses.2,
        statuses.3,
        statuses.4,
        statuses.5,
        statuses.6,
        statuses.7,
        statuses.8,
        statuses.9,
        statuses.10,
        statuses.11,
    ];
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!((created, refused), (5, 7), "{statuses:?}");
    assert_eq!(leads_count(&app, "race").await, 5);
}

async fn usage_reports_what_was_made_and_the_requests(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("meter").await;
    app.create_company("meter", "Metered Co").await;
    for i in 0..3 {
        app.create_lead(
            "meter",
            &[("name", &format!("Lead {i}")), ("status", "new")],
        )
        .await;
    }
    let (status, page) = app.get_html("meter", "/settings/usage").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<meter"), "{page}");
    assert!(page.contains("3 of 5,000,000"), "{page}");
    // Usage is written every second here.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // A lead made after the day's snapshot still counts in today's row.
    app.create_lead("meter", &[("name", "Lead 3"), ("status", "new")])
        .await;
    let out = tenantry(
        &app.config,
        &["tenants", "usage", "meter", "--format", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let usage: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let meter = &usage[0];
    assert_eq!(meter["slug"], "meter");
    assert_eq!(meter["plan"], "business");
    assert_eq!(meter["now"]["leads"], 4);
    assert_eq!(meter["now"]["companies"], 1);
    assert_eq!(meter["now"]["members"], 1);
    assert_eq!(meter["limits"]["leads"], 5_000_000);
    let requests = meter["requests_today"].as_i64().unwrap();
    assert!(requests >= 8, "requests today: {requests}");
    assert_eq!(meter["days"][0]["leads"], 4);
    // The CSV for billing has today's row; the table names the tenant.
    let out = tenantry(&app.config, &["tenants", "usage", "--format", "csv"]).await;
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        csv.starts_with("day,slug,plan,requests,mails_sent,members,leads,companies,stored_bytes\n"),
        "{csv}"
    );
    assert!(csv.lines().any(|l| l.contains(",meter,business,")), "{csv}");
    let out = tenantry(&app.config, &["tenants", "usage"]).await;
    assert!(text(&out).contains("meter"), "{}", text(&out));
    // A plan that does not exist is refused and changes nothing.
    let out = tenantry(&app.config, &["tenants", "plan", "meter", "platinum"]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("no plan `platinum`"), "{}", text(&out));
    let out = tenantry(&app.config, &["tenants", "plan", "meter", "free"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("business -> free"), "{}", text(&out));
    // Both operator changes are in the workspace's audit log, by the operator.
    let (status, log) = app.get_html("meter", "/settings/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        log.contains("<span class=\"mono\">tenant.plan_changed</span>"),
        "{log}"
    );
}

both_backends!(
    a_tenant_past_its_budget_gets_429_and_another_tenant_does_not,
    quotas_refuse_with_the_form_kept_and_write_nothing,
    concurrent_creates_cannot_pass_the_last_free_slot,
    usage_reports_what_was_made_and_the_requests,
);
