//! Imports that stay all or nothing without holding the write lock: a NUL in a
//! cell refuses the file; while one tenant imports 100,000 rows on SQLite, another
//! tenant's writes keep succeeding.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, new_client, spawn_app};

both_backends!(a_nul_in_a_cell_refuses_the_file);

async fn a_nul_in_a_cell_refuses_the_file(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let csv = b"name,email\nAda,ada@example.com\nBob\x00by,bob@example.com\n";
    let r = app.import_csv("acme", csv, None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("NUL"));
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(!list.contains("ada@example.com"), "nothing imported");
}

/// Bounded: one 100,000-row import, and tenant B's creates every 100 ms while it
/// runs (at most 600 of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_writes_succeed_during_a_large_import_on_sqlite() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;
    app.sign_up("acme").await;
    let globex = new_client();
    app.sign_up_with(&globex, "globex").await;
    let mut csv = String::from("name,email,company,status,value\n");
    for i in 0..100_000 {
        csv.push_str(&format!(
            "Lead {i},lead{i}@example.com,Company {},new,{}.50\n",
            i % 500,
            i % 9_000
        ));
    }
    let token = app.csrf("acme").await;

    // Act: A imports; B creates a lead every 100 ms until A's answer is in.
    let import = {
        let app_url = app.url("acme", "/leads/import");
        let client = app.client.clone();
        let body = csv.into_bytes();
        tokio::spawn(async move {
            let boundary = "----tenantry-load-boundary";
            let mut form = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .into_bytes();
            form.extend_from_slice(&body);
            form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            client
                .post(app_url)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(form)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let started = Instant::now();
    let mut b_statuses = Vec::new();
    while !import.is_finished() && b_statuses.len() < 600 {
        let name = format!("Globex lead {}", b_statuses.len());
        let r = app
            .post_with(
                &globex,
                "globex",
                "/leads",
                &[("name", &name), ("status", "new")],
            )
            .await;
        b_statuses.push(r.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let import_status = import.await.unwrap();

    // Assert
    assert_eq!(
        import_status,
        StatusCode::SEE_OTHER,
        "the import went through"
    );
    assert!(
        b_statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "B's writes during the import: {b_statuses:?}"
    );
    assert!(!b_statuses.is_empty());
    eprintln!(
        "import of 100,000 rows took {:.1}s; tenant B wrote {} leads meanwhile",
        started.elapsed().as_secs_f64(),
        b_statuses.len()
    );
    let (_, list) = app.get_html("acme", "/leads?q=lead99999%40").await;
    assert!(list.contains("lead99999@example.com"));
}
