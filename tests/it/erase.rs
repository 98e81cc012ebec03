//! `tenantry tenants delete`: a tenant erased for good, wherever it lived, and
//! nobody else touched.

use std::path::Path;

use reqwest::StatusCode;
use tenantry::domain::Placement;

use crate::direct::TenantHome;
use crate::helpers::{Backend, PLACEMENT, new_client, postgres_enabled, spawn_app, spawn_app_on};
use crate::placements::{tenantry, text};

/// Text only the erased tenant ever had.
const SECRET_NAME: &str = "Zebulon Quixote-7731";
const SECRET_NOTE: &str = "Xylophage-note-5521";

/// Whether any file under `dir` holds `needle`.
fn found_in_files(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            hits.push(entry.display().to_string());
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.to_string_lossy().contains(".db") {
            out.push(path);
        }
    }
    out
}

async fn a_deleted_tenant_is_gone_and_others_stay(backend: Backend, placement: Placement) {
    // Arrange: the tenant to erase, with a lead and a note, and one that stays.
    let app = PLACEMENT
        .scope(placement, async {
            let app = spawn_app(backend).await;
            app.sign_up("erasable").await;
            app.sign_up_with(&new_client(), "keeper").await;
            app
        })
        .await;
    let lead = app.create_lead("erasable", &[("name", SECRET_NAME)]).await;
    app.post(
        "erasable",
        &format!("/leads/{lead}/notes"),
        &[("body", SECRET_NOTE)],
    )
    .await;
    let keeper = new_client();
    app.log_in_with(&keeper, "keeper", "admin@keeper.test", "password-of-keeper")
        .await;
    app.post_with(&keeper, "keeper", "/leads", &[("name", "Kept Lead")])
        .await;
    let home = TenantHome::of(&app, "erasable");

    // A wrong confirmation deletes nothing.
    let refused = tenantry(
        &app.config,
        &["tenants", "delete", "erasable", "--confirm", "keeper"],
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("nothing deleted"),
        "{}",
        text(&refused)
    );
    assert_eq!(app.get("erasable", "/").await.status(), StatusCode::OK);

    // Act.
    let out = tenantry(
        &app.config,
        &["tenants", "delete", "erasable", "--confirm", "erasable"],
    )
    .await;

    // Assert: the report, then nothing of it anywhere.
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("deleted `erasable`"), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("leads ") && l.contains(" 1 ") && l.ends_with(" 0")),
        "{report}"
    );
    assert!(report.contains(" 0 after"), "{report}");
    if backend == Backend::Sqlite {
        let hits = found_in_files(app.dir.path(), SECRET_NAME);
        assert!(hits.is_empty(), "the erased name is still in {hits:?}");
        let hits = found_in_files(app.dir.path(), SECRET_NOTE);
        assert!(hits.is_empty(), "the erased note is still in {hits:?}");
    }
    match (backend, placement) {
        (Backend::Sqlite, Placement::Dedicated) => {
            assert!(
                !home.url.sqlite_path().unwrap().exists(),
                "its file is gone"
            );
        }
        (Backend::Postgres, Placement::Dedicated) => {
            let db = home.url.database_name().unwrap();
            assert!(
                !crate::pg::database_exists(&db),
                "its database {db} is gone"
            );
        }
        (Backend::Postgres, Placement::Schema) => {
            let schema = home.schema.clone().unwrap();
            assert!(!crate::pg::schema_exists(&app.config.database_url, &schema));
        }
        _ => {}
    }
    // A server that starts now (no cached host) says there is no workspace.
    let fresh = spawn_app_on(app.config.clone(), tempfile::tempdir().unwrap()).await;
    assert_eq!(
        fresh.get("erasable", "/login").await.status(),
        StatusCode::NOT_FOUND
    );
    // The other tenant has all it had.
    let list = fresh.get_with(&keeper, "keeper", "/leads").await;
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.text().await.unwrap().contains("Kept Lead"));
    // Deleting again says there is nothing to delete.
    let again = tenantry(
        &app.config,
        &["tenants", "delete", "erasable", "--confirm", "erasable"],
    )
    .await;
    assert!(!again.status.success());
    assert!(
        text(&again).contains("no tenant has the subdomain"),
        "{}",
        text(&again)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shared_tenant_is_erased() {
    a_deleted_tenant_is_gone_and_others_stay(Backend::Sqlite, Placement::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dedicated_tenant_is_erased() {
    a_deleted_tenant_is_gone_and_others_stay(Backend::Sqlite, Placement::Dedicated).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shared_tenant_is_erased() {
    if postgres_enabled() {
        a_deleted_tenant_is_gone_and_others_stay(Backend::Postgres, Placement::Shared).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schema_tenant_is_erased() {
    if postgres_enabled() {
        a_deleted_tenant_is_gone_and_others_stay(Backend::Postgres, Placement::Schema).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dedicated_tenant_is_erased() {
    if postgres_enabled() {
        a_deleted_tenant_is_gone_and_others_stay(Backend::Postgres, Placement::Dedicated).await;
    }
}
