//! Security headers on every response, also on those the host middleware makes,
//! and HSTS in production.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, spawn_app, spawn_app_with};

const SECURITY_HEADERS: [&str; 4] = [
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
];

/// A request naming a host that is not ours.
async fn foreign(app: &crate::helpers::TestApp) -> reqwest::Response {
    app.client
        .get(format!("http://127.0.0.1:{}/", app.port))
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap()
}

/// The status line and headers of the answer to a POST that declares a 2 MB body
/// and sends none of it.
async fn oversized_post_head(port: u16) -> String {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(
                b"POST /signup HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 2000000\r\n\r\n",
            )
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap()
}

fn assert_secured(response: &reqwest::Response, what: &str) {
    for name in SECURITY_HEADERS {
        assert!(response.headers().contains_key(name), "{what}: no {name}");
    }
}

both_backends!(
    middleware_refusals_carry_the_security_headers,
    production_adds_hsts,
);

async fn middleware_refusals_carry_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    // 400: a host that is not ours.
    let foreign = foreign(&app).await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    assert_secured(&foreign, "foreign host");
    // 404: a well-formed subdomain with no workspace.
    let none = app.get("nobody-here", "/").await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert_secured(&none, "no workspace");
    // 413: a declared body over the limit, refused before any of it is sent (over
    // a raw connection, so no client races the server's early answer).
    let head = oversized_post_head(app.port).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    for name in SECURITY_HEADERS {
        assert!(
            head.to_ascii_lowercase().contains(&format!("\r\n{name}:")),
            "413: no {name}"
        );
    }
    // No HSTS outside production.
    assert!(!foreign.headers().contains_key("strict-transport-security"));
}

async fn production_adds_hsts(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.environment = tenantry::config::Environment::Production;
    })
    .await;
    for response in [app.get("localhost", "/").await, foreign(&app).await] {
        let hsts = response
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(hsts.as_deref(), Some("max-age=31536000; includeSubDomains"));
    }
}
