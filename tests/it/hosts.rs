//! Host → site resolution, as SPEC.md's "Hosts and tenancy" lists it.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};
use crate::other_placements;

async fn apex_and_www_serve_the_landing_page(backend: Backend) {
    let app = spawn_app(backend).await;
    for host in ["localhost", "www.localhost", "LOCALHOST", "WWW.LocalHost"] {
        let (status, body) = app.get_html(host, "/").await;
        assert_eq!(status, StatusCode::OK, "{host}");
        assert!(body.contains("href=\"/signup\""), "{host}");
        assert!(body.contains("href=\"/find\""), "{host}");
    }
}

async fn unknown_subdomain_is_a_404_page(backend: Backend) {
    let app = spawn_app(backend).await;
    for host in ["nosuch", "a.b.localhost", "api"] {
        let (status, body) = app.get_html(host, "/").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}");
        assert!(body.contains("No workspace exists"), "{host}: {body}");
        assert!(
            body.contains(&format!("href=\"http://localhost:{}/find\"", app.port)),
            "links to the apex finder: {body}"
        );
    }
}

async fn tenant_host_is_case_insensitive_and_ignores_port(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let fresh = crate::helpers::new_client();
    for host in ["acme.localhost", "ACME.localhost", "Acme.LocalHost"] {
        let r = app.get_with(&fresh, host, "/login").await;
        assert_eq!(r.status(), StatusCode::OK, "{host}");
        assert!(r.text().await.unwrap().contains("Org acme"));
    }
    // The port in the Host header does not matter, only the name.
    let r = fresh
        .get(format!("http://127.0.0.1:{}/login", app.port))
        .header("Host", "acme.localhost:1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn foreign_hosts_are_refused_with_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = crate::helpers::new_client();
    let url = format!("http://127.0.0.1:{}/", app.port);
    for host in [
        "evil.com",
        "localhost.evil.com",
        "acmelocalhost",
        "127.0.0.1",
        "[::1]",
        "acme.localhost:x",
    ] {
        let r = client.get(&url).header("Host", host).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{host}");
    }
    // X-Forwarded-Host is not trusted to pick a tenant.
    let r = client
        .get(&url)
        .header("Host", "evil.com")
        .header("X-Forwarded-Host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn healthz_and_static_answer_on_any_host(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = crate::helpers::new_client();
    let r = client
        .get(format!("http://127.0.0.1:{}/healthz", app.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get("localhost", "/static/app.css").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

async fn unknown_paths_get_the_404_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app.get_html("localhost", "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
}

both_backends!(
    apex_and_www_serve_the_landing_page,
    unknown_subdomain_is_a_404_page,
    tenant_host_is_case_insensitive_and_ignores_port,
    foreign_hosts_are_refused_with_400,
    healthz_and_static_answer_on_any_host,
    unknown_paths_get_the_404_page,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(tenant_host_is_case_insensitive_and_ignores_port,);

/// Resolving a host is served from the cache (no directory query per request) and
/// `invalidate` makes the next lookup read the directory again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_lookups_are_cached_until_invalidated() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};
    use tenantry::domain::Slug;
    use tenantry::tenancy::TenantResolver;

    let app = spawn_app(Backend::Sqlite).await;
    app.sign_up("acme").await;
    let resolver = TenantResolver::new(
        app.db.clone(),
        "localhost".into(),
        "http://localhost".into(),
        tenantry::tenancy::TENANT_CACHE_TTL,
    );
    let slug = Slug::parse("acme").unwrap();
    assert_eq!(
        resolver.find(&slug).await.unwrap().unwrap().name,
        "Org acme"
    );

    // Change the directory behind the cache's back.
    let path = app.dir.path().join("test.db");
    tokio::task::spawn_blocking(move || {
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; UPDATE tenants SET name = 'Renamed' WHERE slug = 'acme'",
        )
        .unwrap();
    })
    .await
    .unwrap();

    assert_eq!(
        resolver.find(&slug).await.unwrap().unwrap().name,
        "Org acme",
        "served from the cache"
    );
    resolver.invalidate("acme");
    assert_eq!(
        resolver.find(&slug).await.unwrap().unwrap().name,
        "Renamed",
        "re-read after invalidation"
    );
}
