//! `tenantry tenants export` and `import`: a tenant exported, erased and
//! restored is the same tenant (same numbers in URLs, same notes, same
//! passwords), on either engine and across engines; a changed bundle or a
//! subdomain or tenant that exists is refused and nothing is made.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use tenantry::domain::Placement;

use crate::helpers::{
    Backend, PLACEMENT, TestApp, new_client, postgres_enabled, spawn_app, spawn_app_on,
};
use crate::placements::{tenantry, text};

const LEAD_NAME: &str = "Ada Bundlewright";
const NOTE: &str = "Met at the analytical engine fair";

/// What a test made in the tenant, to find again after a restore.
struct Made {
    company: i64,
    lead: i64,
}

/// Signs up `slug` in `placement` on a new app and gives it a company, two
/// leads (the second linked and qualified) and a note.
async fn app_with_tenant(backend: Backend, placement: Placement, slug: &str) -> (TestApp, Made) {
    let app = PLACEMENT
        .scope(placement, async {
            let app = spawn_app(backend).await;
            app.sign_up(slug).await;
            app
        })
        .await;
    let company = app.create_company(slug, "Globex Bundles").await;
    app.create_lead(slug, &[("name", "First Lead")]).await;
    let lead = app
        .create_lead(
            slug,
            &[
                ("name", LEAD_NAME),
                ("company_id", &company.to_string()),
                ("status", "qualified"),
                ("value", "1250.50"),
            ],
        )
        .await;
    let r = app
        .post(slug, &format!("/leads/{lead}/notes"), &[("body", NOTE)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (app, Made { company, lead })
}

async fn export(app: &TestApp, slug: &str, out: &Path) -> String {
    let out_arg = out.to_str().unwrap();
    let run = tenantry(&app.config, &["tenants", "export", slug, "--out", out_arg]).await;
    let report = text(&run);
    assert!(run.status.success(), "{report}");
    assert!(report.contains(&format!("exported `{slug}`")), "{report}");
    assert!(out.exists());
    report
}

async fn import(app: &TestApp, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["tenants", "import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    tenantry(&app.config, &args).await
}

async fn delete(app: &TestApp, slug: &str) {
    let run = tenantry(&app.config, &["tenants", "delete", slug, "--confirm", slug]).await;
    assert!(run.status.success(), "{}", text(&run));
}

/// A server started now on `app`'s databases (no cached hosts or pools).
async fn fresh(app: &TestApp) -> TestApp {
    spawn_app_on(app.config.clone(), tempfile::tempdir().unwrap()).await
}

/// The tenant at `slug` on `app` is the one [`app_with_tenant`] made.
async fn assert_same_tenant(app: &TestApp, slug: &str, made: &Made) {
    let browser = new_client();
    let r = app
        .log_in_with(
            &browser,
            slug,
            &format!("admin@{slug}.test"),
            &format!("password-of-{slug}"),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the admin logs in with the same password"
    );
    let r = app
        .get_with(&browser, slug, &format!("/leads/{}", made.lead))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains(LEAD_NAME), "the same lead at the same number");
    assert!(page.contains(NOTE), "with its note");
    assert!(page.contains("Globex Bundles"), "and its company");
    let r = app
        .get_with(&browser, slug, &format!("/companies/{}", made.company))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Globex Bundles"));
    // The next lead gets the next number, not one already taken.
    let r = app
        .post_with(&browser, slug, "/leads", &[("name", "After Restore")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        crate::helpers::number_in_location(&r, "/leads/"),
        made.lead + 1
    );
}

fn bundle_path(app: &TestApp, name: &str) -> PathBuf {
    app.dir.path().join(name)
}

async fn export_delete_import_restores(backend: Backend, placement: Placement) {
    // Arrange.
    let (app, made) = app_with_tenant(backend, placement, "bundled").await;
    let file = bundle_path(&app, "bundled.zip");

    // Act.
    let report = export(&app, "bundled", &file).await;
    assert!(report.contains("leads 2"), "{report}");
    delete(&app, "bundled").await;
    let restored = import(&app, &file, &[]).await;

    // Assert.
    let report = text(&restored);
    assert!(restored.status.success(), "{report}");
    assert!(report.contains("restored `bundled`"), "{report}");
    assert!(
        report.contains("leads 2") && report.contains("notes 1"),
        "{report}"
    );
    assert!(
        report.contains(&format!("into {}", placement.as_str())),
        "{report}"
    );
    let server = fresh(&app).await;
    assert_same_tenant(&server, "bundled", &made).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shared_tenant_is_restored() {
    export_delete_import_restores(Backend::Sqlite, Placement::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dedicated_tenant_is_restored() {
    export_delete_import_restores(Backend::Sqlite, Placement::Dedicated).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shared_tenant_is_restored() {
    if postgres_enabled() {
        export_delete_import_restores(Backend::Postgres, Placement::Shared).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schema_tenant_is_restored() {
    if postgres_enabled() {
        export_delete_import_restores(Backend::Postgres, Placement::Schema).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dedicated_tenant_is_restored() {
    if postgres_enabled() {
        export_delete_import_restores(Backend::Postgres, Placement::Dedicated).await;
    }
}

/// A SQLite deployment's bundle restores into a PostgreSQL one, and back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_moves_between_engines() {
    if !postgres_enabled() {
        return;
    }
    let (sqlite, made) = app_with_tenant(Backend::Sqlite, Placement::Shared, "wanderer").await;
    let file = bundle_path(&sqlite, "wanderer.zip");
    export(&sqlite, "wanderer", &file).await;

    let postgres = PLACEMENT
        .scope(Placement::Dedicated, spawn_app(Backend::Postgres))
        .await;
    let restored = import(&postgres, &file, &[]).await;
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(text(&restored).contains("exported from sqlite"));
    assert_same_tenant(&postgres, "wanderer", &made).await;

    // And back, into a fresh SQLite app.
    let back_file = bundle_path(&postgres, "back.zip");
    export(&postgres, "wanderer", &back_file).await;
    let sqlite_again = spawn_app(Backend::Sqlite).await;
    let back = import(&sqlite_again, &back_file, &[]).await;
    assert!(back.status.success(), "{}", text(&back));
    let r = sqlite_again
        .get("wanderer", &format!("/leads/{}", made.lead))
        .await;
    // Logged out: the login page, which proves the host is there.
    assert_ne!(r.status(), StatusCode::NOT_FOUND);
}

/// Copies the zip at `from` to `to`, changing one byte of `member`.
fn tamper(from: &Path, to: &Path, member: &str) {
    let mut source = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == member {
            let at = bytes
                .windows(LEAD_NAME.len())
                .position(|w| w == LEAD_NAME.as_bytes())
                .unwrap();
            bytes[at] = b'E';
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_bundle_is_refused_and_nothing_is_made() {
    let (app, _) = app_with_tenant(Backend::Sqlite, Placement::Dedicated, "tampered").await;
    let file = bundle_path(&app, "tampered.zip");
    export(&app, "tampered", &file).await;
    let changed = bundle_path(&app, "changed.zip");
    tamper(&file, &changed, "leads.ndjson");

    let other = PLACEMENT
        .scope(Placement::Dedicated, spawn_app(Backend::Sqlite))
        .await;
    let refused = import(&other, &changed, &[]).await;

    let report = text(&refused);
    assert!(!refused.status.success(), "{report}");
    assert!(report.contains("leads.ndjson"), "{report}");
    assert!(report.contains("nothing was imported"), "{report}");
    assert_eq!(report.trim().lines().count(), 1, "one line: {report}");
    assert_eq!(
        other.get("tampered", "/login").await.status(),
        StatusCode::NOT_FOUND
    );
    let tenants_dir = other.config.data_dir.join("tenants");
    let files = std::fs::read_dir(&tenants_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 0, "no store was made");
    // The untouched bundle imports.
    let fine = import(&other, &file, &[]).await;
    assert!(fine.status.success(), "{}", text(&fine));
}

/// A bundle whose manifest names a tenant id that is not a UUID (it would name
/// the tenant's SQLite file) is refused before anything is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_tenant_id_is_refused() {
    let (app, _) = app_with_tenant(Backend::Sqlite, Placement::Dedicated, "crafted").await;
    let file = bundle_path(&app, "crafted.zip");
    export(&app, "crafted", &file).await;
    let crafted = bundle_path(&app, "crafted-id.zip");
    let mut source = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(&crafted).unwrap());
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "manifest.json" {
            let mut manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            manifest["tenant"]["id"] = "../../escaped".into();
            bytes = serde_json::to_vec(&manifest).unwrap();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();

    let other = PLACEMENT
        .scope(Placement::Dedicated, spawn_app(Backend::Sqlite))
        .await;
    let refused = import(&other, &crafted, &["--slug", "crafted2"]).await;
    let report = text(&refused);
    assert!(!refused.status.success(), "{report}");
    assert!(report.contains("is not one Tenantry makes"), "{report}");
    assert!(!other.config.data_dir.join("escaped.db").exists());
    assert_eq!(
        other.get("crafted2", "/login").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_subdomain_or_tenant_is_refused() {
    let (app, made) = app_with_tenant(Backend::Sqlite, Placement::Shared, "twice").await;
    let file = bundle_path(&app, "twice.zip");
    export(&app, "twice", &file).await;

    let same_slug = import(&app, &file, &[]).await;
    assert!(!same_slug.status.success());
    assert!(
        text(&same_slug).contains("a tenant has the subdomain `twice`"),
        "{}",
        text(&same_slug)
    );
    // A new subdomain does not make a second copy of the same tenant.
    let same_id = import(&app, &file, &["--slug", "twice-again"]).await;
    assert!(!same_id.status.success());
    assert!(
        text(&same_id).contains("delete it first"),
        "{}",
        text(&same_id)
    );
    assert_eq!(
        app.get("twice-again", "/login").await.status(),
        StatusCode::NOT_FOUND
    );

    // Once the original is gone, it comes back under the new subdomain.
    delete(&app, "twice").await;
    let renamed = import(&app, &file, &["--slug", "twice-again"]).await;
    assert!(renamed.status.success(), "{}", text(&renamed));
    let server = fresh(&app).await;
    let browser = new_client();
    let r = server
        .log_in_with(
            &browser,
            "twice-again",
            "admin@twice.test",
            "password-of-twice",
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = server
        .get_with(&browser, "twice-again", &format!("/leads/{}", made.lead))
        .await;
    assert!(r.text().await.unwrap().contains(LEAD_NAME));
}
