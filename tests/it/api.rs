//! The JSON API over real HTTP (SPEC.md, "API"): keys made on `/settings/api`,
//! every resource with a key and with an access token, cursor paging, the
//! credentials that must get 401 (another tenant's key or token, a tampered, an
//! expired and a revoked one), scopes, problem bodies, quotas, the per-key
//! budget, the audit log, and the OpenAPI document against the routes served.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Browser, TestApp, new_client, spawn_app_with};
use crate::placements::{tenantry, text};

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.tenant_cache_ttl = Duration::from_secs(1);
    })
    .await
}

/// Makes a key on `slug` as its admin (the default client); returns the key.
async fn make_key(app: &TestApp, slug: &str, name: &str, scope: &str) -> String {
    let r = app
        .post(
            slug,
            "/settings/api/keys",
            &[("name", name), ("scope", scope), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let marker = "id=\"new-key\" type=\"text\" class=\"mono\" readonly value=\"";
    let start = page.find(marker).expect("the new key on the page") + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    let key = page[start..end].to_owned();
    assert!(key.starts_with("tnt_") && key.len() >= 4 + 22, "{key}");
    key
}

/// An API client: no cookies, a bearer.
struct Api<'a> {
    app: &'a TestApp,
    client: Browser,
    slug: String,
    bearer: Option<String>,
}

impl<'a> Api<'a> {
    fn new(app: &'a TestApp, slug: &str, bearer: &str) -> Self {
        Self {
            app,
            client: new_client(),
            slug: slug.to_owned(),
            bearer: Some(bearer.to_owned()),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let r = self.raw(method, path, body).await;
        let status = r.status();
        let problem = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap() == "application/problem+json");
        let bytes = r.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&bytes)))
        };
        if !status.is_success() {
            assert!(problem, "{path}: a {status} that is not a problem: {value}");
            assert_eq!(value["status"], status.as_u16(), "{value}");
            assert!(value["title"].is_string() && value["detail"].is_string());
        }
        (status, value)
    }

    async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.client.request(method, self.app.url(&self.slug, path));
        if let Some(b) = &self.bearer {
            request = request.bearer_auth(b);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).unwrap());
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.send(Method::DELETE, path, None).await.0
    }

    /// An access token minted from this client's key.
    async fn token(&self) -> String {
        let (status, body) = self.send(Method::POST, "/api/v1/token", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        body["access_token"].as_str().unwrap().to_owned()
    }
}

async fn every_resource_works_with_a_key_and_with_a_token(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-crud").await;
    let key = make_key(&app, "api-crud", "Everything", "write").await;
    let by_key = Api::new(&app, "api-crud", &key);
    let token = by_key.token().await;
    let by_token = Api::new(&app, "api-crud", &token);
    for (how, api) in [("key", &by_key), ("token", &by_token)] {
        let (status, me) = api.get("/api/v1/me").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["tenant"]["slug"], "api-crud");
        assert_eq!(me["key"]["name"], "Everything");
        assert_eq!(me["key"]["scope"], "write");

        // Companies.
        let (status, company) = api
            .post(
                "/api/v1/companies",
                json!({"name": format!("Acme by {how}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{company}");
        let company_id = company["id"].as_i64().unwrap();
        let path = format!("/api/v1/companies/{company_id}");
        let (status, got) = api.get(&path).await;
        assert_eq!((status, &got["name"]), (StatusCode::OK, &company["name"]));
        let (status, changed) = api.patch(&path, json!({"domain": "ACME.example"})).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["domain"], "acme.example");
        assert_eq!(
            changed["name"], company["name"],
            "PATCH keeps what it was not sent"
        );
        let (_, list) = api.get("/api/v1/companies").await;
        assert!(
            list["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == company_id)
        );

        // Leads.
        let (status, lead) = api
            .post(
                "/api/v1/leads",
                json!({"name": format!("Ada via {how}"), "email": "Ada@Example.com",
                       "company": company_id, "value": "1250.5"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{lead}");
        let id = lead["id"].as_i64().unwrap();
        assert_eq!(lead["email"], "ada@example.com");
        assert_eq!(lead["value"], "1250.50");
        assert_eq!(lead["status"], "new");
        assert_eq!(lead["company"]["id"], company_id);
        assert_eq!(
            lead["owner"]["name"], "Admin of api-crud",
            "the key's member owns it"
        );
        let path = format!("/api/v1/leads/{id}");
        let (status, got) = api.get(&path).await;
        assert_eq!((status, &got["name"]), (StatusCode::OK, &lead["name"]));
        let (status, changed) = api
            .patch(&path, json!({"status": "won", "company": null}))
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["status"], "won");
        assert!(changed["company"].is_null());
        assert_eq!(changed["email"], "ada@example.com");
        // The same data layer as the pages: the lead is on its page.
        let (status, page) = app.get_html("api-crud", &format!("/leads/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&format!("Ada via {how}")));

        // Notes.
        let notes = format!("{path}/notes");
        let (status, none) = api.get(&notes).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(none["data"], json!([]));
        let (status, note) = api.post(&notes, json!({"body": "Called, keen."})).await;
        assert_eq!(status, StatusCode::CREATED, "{note}");
        let (_, some) = api.get(&notes).await;
        assert_eq!(some["data"][0]["body"], "Called, keen.");
        assert_eq!(some["data"][0]["author"]["name"], "Admin of api-crud");

        let (_, list) = api.get("/api/v1/leads?status=won").await;
        assert!(
            list["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["id"] == id)
        );

        // Deletes.
        assert_eq!(api.delete(&path).await, StatusCode::NO_CONTENT);
        assert_eq!(api.get(&path).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.delete(&path).await, StatusCode::NOT_FOUND);
        let company_path = format!("/api/v1/companies/{company_id}");
        assert_eq!(api.delete(&company_path).await, StatusCode::NO_CONTENT);
        assert_eq!(api.get(&company_path).await.0, StatusCode::NOT_FOUND);
    }
    // Created answers name what they made.
    let r = by_key
        .raw(
            Method::POST,
            "/api/v1/leads",
            Some(json!({"name": "Located"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/api/v1/leads/"), "{location}");
    assert_eq!(by_key.get(&location).await.0, StatusCode::OK);
}

async fn cursor_paging_gives_every_lead_once(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-pages").await;
    let api = Api::new(
        &app,
        "api-pages",
        &make_key(&app, "api-pages", "Pager", "write").await,
    );
    let mut made = BTreeSet::new();
    for i in 0..23 {
        let (status, lead) = api
            .post(
                "/api/v1/leads",
                json!({"name": format!("Lead {:02}", i % 7)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        made.insert(lead["id"].as_i64().unwrap());
    }
    for sort in ["updated", "name", "created", "value"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/leads?limit=5&sort={sort}&cursor={c}"),
                None => format!("/api/v1/leads?limit=5&sort={sort}"),
            };
            let (status, page) = api.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let data = page["data"].as_array().unwrap();
            assert!(data.len() <= 5);
            seen.extend(data.iter().map(|l| l["id"].as_i64().unwrap()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{sort}: a lead came twice: {seen:?}"
        );
        assert_eq!(unique, made, "{sort}");
    }
    for bad in [
        "limit=0",
        "limit=201",
        "cursor=x",
        "status=closed",
        "limit=abc",
    ] {
        let (status, _) = api.get(&format!("/api/v1/leads?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// Asserts that `api` gets 401 with a Bearer challenge and a problem.
async fn refused(api: Api<'_>, why: &str) {
    let r = api.raw(Method::GET, "/api/v1/leads", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{why}");
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer"), "{why}: {challenge}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

/// A token's claims, decoded (without checking them).
fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn credentials_that_do_not_hold_here_get_401(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-one").await;
    let key = make_key(&app, "api-one", "One's key", "write").await;
    let other_admin = new_client();
    app.sign_up_with(&other_admin, "api-two").await;
    let one = Api::new(&app, "api-one", &key);
    let token = one.token().await;
    assert_eq!(one.get("/api/v1/me").await.0, StatusCode::OK);

    // A key of one tenant on another's host, and its token.
    refused(Api::new(&app, "api-two", &key), "key on another host").await;
    refused(Api::new(&app, "api-two", &token), "token on another host").await;
    // One's token re-signed with two's host as audience: still one's tenant.
    let keys = tenantry::api::caller::TokenKeys::new(&app.config);
    let mut claims: tenantry::api::caller::Claims =
        serde_json::from_value(claims_of(&token)).unwrap();
    claims.aud = "api-two.localhost".to_owned();
    let cross = keys.sign(&claims).unwrap();
    refused(
        Api::new(&app, "api-two", &cross),
        "one's tenant, two's audience",
    )
    .await;
    refused(Api::new(&app, "api-one", &cross), "two's audience on one").await;
    // Tampered: a claim changed without the key, or the signature broken.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut changed = claims_of(&token);
    changed["scope"] = json!("write");
    changed["exp"] = json!(changed["exp"].as_i64().unwrap() + 86_400);
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&changed).unwrap());
    refused(
        Api::new(&app, "api-one", &parts.join(".")),
        "claims changed",
    )
    .await;
    let mut broken = token.clone();
    let last = broken.pop().unwrap();
    broken.push(if last == 'A' { 'B' } else { 'A' });
    refused(Api::new(&app, "api-one", &broken), "signature changed").await;
    let unsigned = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        token.split('.').nth(1).unwrap()
    );
    refused(Api::new(&app, "api-one", &unsigned), "alg none").await;
    // Expired.
    let mut old: tenantry::api::caller::Claims = serde_json::from_value(claims_of(&token)).unwrap();
    old.iat -= 2_000;
    old.exp = chrono::Utc::now().timestamp() - 5;
    refused(
        Api::new(&app, "api-one", &keys.sign(&old).unwrap()),
        "expired",
    )
    .await;
    // Unknown keys and no credentials at all; a logged-in browser's cookie is
    // not a credential here.
    refused(
        Api::new(&app, "api-one", "tnt_not-a-key-of-anyone"),
        "unknown key",
    )
    .await;
    let none = Api {
        bearer: None,
        ..Api::new(&app, "api-one", "")
    };
    let r = none.raw(Method::GET, "/api/v1/leads", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"api\"");
    let with_cookie = Api {
        bearer: None,
        client: app.client.clone(),
        ..Api::new(&app, "api-one", "")
    };
    assert_eq!(app.get("api-one", "/leads").await.status(), StatusCode::OK);
    refused(with_cookie, "a session cookie").await;
    // Keys are not accepted on the pages.
    let page = new_client()
        .get(app.url("api-one", "/leads"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    // The key form needs the session's CSRF token, and refuses what is not valid
    // with the form kept.
    let r = app
        .post_raw(
            &app.client,
            "api-one",
            "/settings/api/keys",
            &[
                ("name", "No token"),
                ("scope", "read"),
                ("expires_in_days", "5"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for (days, scope) in [
        ("0", "read"),
        ("366", "read"),
        ("x", "read"),
        ("5", "admin"),
    ] {
        let r = app
            .post(
                "api-one",
                "/settings/api/keys",
                &[
                    ("name", "Kept name"),
                    ("scope", scope),
                    ("expires_in_days", days),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{days} {scope}"
        );
        let page = r.text().await.unwrap();
        assert!(
            page.contains("value=\"Kept name\""),
            "the form keeps the name"
        );
        assert!(!page.contains("value=\"tnt_"), "no key made");
    }

    // Revoked: the key and the token minted before, at once.
    let (_, me) = one.get("/api/v1/me").await;
    let id = me["key"]["id"].as_str().unwrap().to_owned();
    let r = app
        .post("api-one", &format!("/settings/api/keys/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    refused(Api::new(&app, "api-one", &key), "revoked key").await;
    refused(Api::new(&app, "api-one", &token), "token of a revoked key").await;
    let r = Api::new(&app, "api-one", &key)
        .raw(Method::POST, "/api/v1/token", None)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "no token from a revoked key"
    );
    let (_, page) = app.get_html("api-one", "/settings/api").await;
    assert!(page.contains("revoked"));
    // Another tenant's admin cannot revoke one's keys.
    let key2 = make_key(&app, "api-one", "Second", "read").await;
    let (_, me2) = Api::new(&app, "api-one", &key2).get("/api/v1/me").await;
    let id2 = me2["key"]["id"].as_str().unwrap();
    let r = app
        .post_with(
            &other_admin,
            "api-two",
            &format!("/settings/api/keys/{id2}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        Api::new(&app, "api-one", &key2).get("/api/v1/me").await.0,
        StatusCode::OK
    );
}

async fn a_read_key_reads_and_may_not_write(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-read").await;
    let writer = Api::new(
        &app,
        "api-read",
        &make_key(&app, "api-read", "W", "write").await,
    );
    let (_, lead) = writer.post("/api/v1/leads", json!({"name": "Kept"})).await;
    let id = lead["id"].as_i64().unwrap();
    let reader = Api::new(
        &app,
        "api-read",
        &make_key(&app, "api-read", "R", "read").await,
    );
    let token = Api::new(&app, "api-read", &reader.token().await);
    for api in [&reader, &token] {
        assert_eq!(api.get("/api/v1/leads").await.0, StatusCode::OK);
        assert_eq!(
            api.get(&format!("/api/v1/leads/{id}")).await.0,
            StatusCode::OK
        );
        let (status, problem) = api.post("/api/v1/leads", json!({"name": "No"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(problem["detail"].as_str().unwrap().contains("only read"));
        assert_eq!(
            api.patch(&format!("/api/v1/leads/{id}"), json!({"name": "No"}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            api.delete(&format!("/api/v1/leads/{id}")).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            api.post("/api/v1/companies", json!({"name": "No"})).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let (_, list) = writer.get("/api/v1/leads").await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kept"]);
}

async fn errors_are_problems_and_change_nothing(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-errs").await;
    let other = new_client();
    app.sign_up_with(&other, "api-else").await;
    let elsewhere = app.create_lead_with(&other, "api-else", "Not yours").await;
    let api = Api::new(
        &app,
        "api-errs",
        &make_key(&app, "api-errs", "E", "write").await,
    );
    // 400: JSON that does not parse.
    let r = api
        .client
        .post(app.url("api-errs", "/api/v1/leads"))
        .bearer_auth(api.bearer.as_deref().unwrap())
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // 415: not JSON.
    let r = api
        .client
        .post(app.url("api-errs", "/api/v1/leads"))
        .bearer_auth(api.bearer.as_deref().unwrap())
        .form(&[("name", "Form")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 413: over the body limit. From a client of its own: the server answers
    // before reading the body and closes the connection, which a pooled client
    // could otherwise try to reuse for the next request.
    let big = "x".repeat(1024 * 1024 + 10);
    let once = Api::new(&app, "api-errs", api.bearer.as_deref().unwrap());
    let (status, _) = once.post("/api/v1/leads", json!({"name": big})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // 422: by field, as the form says it.
    let (status, problem) = api
        .post(
            "/api/v1/leads",
            json!({"name": " ", "email": "not an email", "status": "closed", "value": "lots", "company": 999}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    for field in ["name", "email", "status", "value"] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    let (status, problem) = api
        .post("/api/v1/leads", json!({"name": "A", "company": 999}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["errors"]["company"].is_string(), "{problem}");
    let (status, problem) = api
        .post("/api/v1/leads", json!({"name": "A", "colour": "red"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = api.post("/api/v1/leads", json!({"name": 12})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = api
        .post(
            &format!("/api/v1/leads/{elsewhere}/notes"),
            json!({"body": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // 404: another tenant's lead, unknown routes, bad ids.
    for path in [
        format!("/api/v1/leads/{elsewhere}"),
        format!("/api/v1/leads/{elsewhere}/notes"),
        "/api/v1/leads/not-a-number".to_owned(),
        "/api/v1/nothing-here".to_owned(),
        "/api/v1/companies/99999999999999999999".to_owned(),
    ] {
        assert_eq!(api.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        api.patch(
            &format!("/api/v1/leads/{elsewhere}"),
            json!({"name": "Mine now"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.delete(&format!("/api/v1/leads/{elsewhere}")).await,
        StatusCode::NOT_FOUND
    );
    // Nothing changed: no lead here, the other tenant's lead as it was.
    let (_, list) = api.get("/api/v1/leads").await;
    assert_eq!(list["data"], json!([]));
    let (_, page) = app
        .get_html_with(&other, "api-else", &format!("/leads/{elsewhere}"))
        .await;
    assert!(page.contains("Not yours"));
}

async fn quotas_budgets_and_the_audit_log(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-plan").await;
    let out = tenantry(
        &app.config,
        &[
            "tenants",
            "limits",
            "api-plan",
            "--max-leads",
            "1",
            "--requests-per-minute",
            "30",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let key = make_key(&app, "api-plan", "Budgeted", "write").await;
    let api = Api::new(&app, "api-plan", &key);
    let (status, _) = api.post("/api/v1/leads", json!({"name": "First"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = api.post("/api/v1/leads", json!({"name": "Second"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("lead"),
        "{problem}"
    );
    // The key's own budget is half the tenant's: 15 a minute of 30.
    let mut refused = None;
    for i in 3..=20 {
        let r = api.raw(Method::GET, "/api/v1/me", None).await;
        let policies: Vec<String> = r
            .headers()
            .get_all("ratelimit-policy")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            policies.contains(&"\"key\";q=15;w=60".to_owned()),
            "{policies:?}"
        );
        assert!(
            policies.contains(&"\"tenant\";q=30;w=60".to_owned()),
            "{policies:?}"
        );
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            refused = Some(i);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
    }
    let refused = refused.expect("the key's budget held");
    assert!((15..=17).contains(&refused), "refused at {refused}");
    // The pages still have the rest of the tenant's budget.
    assert_eq!(app.get("api-plan", "/leads").await.status(), StatusCode::OK);

    // The audit log: made, first used (once), and the admin's revoke.
    let (_, me) = Api::new(
        &app,
        "api-plan",
        &make_key(&app, "api-plan", "Later", "read").await,
    )
    .get("/api/v1/me")
    .await;
    let id = me["key"]["id"].as_str().unwrap();
    app.post("api-plan", &format!("/settings/api/keys/{id}/revoke"), &[])
        .await;
    let (_, log) = app.get_html("api-plan", "/settings/audit.csv").await;
    let count = |action: &str| log.lines().filter(|l| l.contains(action)).count();
    assert_eq!(count("api_key.created"), 2, "{log}");
    assert_eq!(count("api_key.first_used"), 2, "{log}");
    assert_eq!(count("api_key.revoked"), 1, "{log}");
}

async fn the_document_parses_and_names_every_route_served(backend: Backend) {
    let app = app(backend).await;
    app.sign_up("api-doc").await;
    let anonymous = Api {
        bearer: None,
        ..Api::new(&app, "api-doc", "")
    };
    let (status, doc) = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let mut routes = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            routes += 1;
            let concrete = path.replace("{id}", "1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
            let (status, _) = anonymous.send(method.clone(), &concrete, body).await;
            let expected = if path.ends_with("openapi.json") {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(
                status, expected,
                "{method} {path}: documented but not served"
            );
        }
    }
    assert_eq!(routes, 15);
    // And no route is served that the document does not name.
    let (status, _) = anonymous
        .send(Method::PUT, "/api/v1/leads/1", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

both_backends!(
    every_resource_works_with_a_key_and_with_a_token,
    cursor_paging_gives_every_lead_once,
    credentials_that_do_not_hold_here_get_401,
    a_read_key_reads_and_may_not_write,
    errors_are_problems_and_change_nothing,
    quotas_budgets_and_the_audit_log,
    the_document_parses_and_names_every_route_served,
);
