//! `GET /settings/export.zip`: an admin downloads the workspace's own data as a
//! zip of CSV files and a manifest; members and strangers cannot, and another
//! workspace's rows never appear.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, location, new_client, spawn_app};
use crate::other_placements;
use crate::team::{accept, app_with_smtp, invite, invite_link};

/// The files of the archive, in archive order, unzipped.
struct Unzipped {
    names: Vec<String>,
    files: BTreeMap<String, Vec<u8>>,
}

impl Unzipped {
    fn of(bytes: &[u8]) -> Self {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip archive");
        let mut names = Vec::new();
        let mut files = BTreeMap::new();
        for i in 0..zip.len() {
            let mut file = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            names.push(file.name().to_owned());
            files.insert(file.name().to_owned(), data);
        }
        Self { names, files }
    }

    fn text(&self, name: &str) -> String {
        String::from_utf8(self.files[name].clone()).expect("UTF-8")
    }

    /// A CSV file's header and rows.
    fn csv(&self, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::Reader::from_reader(Cursor::new(self.files[name].clone()));
        let header = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }

    fn manifest(&self) -> serde_json::Value {
        serde_json::from_slice(&self.files["manifest.json"]).expect("manifest.json is JSON")
    }
}

/// The column `name` of `rows` under `header`.
fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = header.iter().position(|h| h == name).unwrap();
    rows.iter().map(|r| r[i].clone()).collect()
}

/// Downloads the archive with `client` and checks the response's headers.
async fn download(app: &TestApp, client: &crate::helpers::Browser, slug: &str) -> Unzipped {
    let r = app.get_with(client, slug, "/settings/export.zip").await;
    assert_eq!(r.status(), StatusCode::OK);
    let header = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/zip");
    assert_eq!(header("cache-control"), "no-store");
    let disposition = header("content-disposition");
    let bytes = r.bytes().await.unwrap();
    let unzipped = Unzipped::of(&bytes);
    // The file is named by the workspace and the day it was made (UTC).
    let generated_at = unzipped.manifest()["generated_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"{slug}-export-{}.zip\"",
            &generated_at[..10]
        )
    );
    // No password hash anywhere: not in the compressed bytes, not in any file.
    assert!(!bytes.windows(7).any(|w| w == b"$argon2"));
    for (name, data) in &unzipped.files {
        assert!(
            !data.windows(7).any(|w| w == b"$argon2"),
            "{name} holds a password hash"
        );
    }
    unzipped
}

async fn an_admin_downloads_the_workspace_and_nothing_of_another(backend: Backend) {
    // Arrange: a workspace with a company, leads, a note and two members, and a
    // second workspace with data of its own.
    let (app, smtp) = app_with_smtp(backend).await;
    let acme = app.sign_up("acme").await;
    let cafe = app.create_company("acme", "Zoë's Café 日本").await;
    let formula_co = app.create_company("acme", "=HYPERLINK(\"x\")").await;
    let (_, form) = app.get_html("acme", "/leads/new").await;
    let me = crate::helpers::selected_option(&form, "owner_id").unwrap();
    let zoe = app
        .create_lead(
            "acme",
            &[
                ("name", "Zoë 日本語, \"quoted\""),
                ("email", "zoe@cafe.test"),
                ("company_id", &cafe.to_string()),
                ("status", "won"),
                ("value", "1250.50"),
                ("owner_id", &me),
            ],
        )
        .await;
    app.create_lead(
        "acme",
        &[
            ("name", "=cmd|' /C calc'!A0"),
            ("company_id", &formula_co.to_string()),
        ],
    )
    .await;
    let note = "Called: très bien 👍, \"quoted\", comma\nand a second line";
    let r = app
        .post("acme", &format!("/leads/{zoe}/notes"), &[("body", note)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    invite(&app, &app.client, "acme", "bob@example.test", "member").await;
    let link = invite_link(&app, &smtp, "acme", "bob@example.test", 1).await;
    let bob = accept(&app, &link, "Bjørn Ærø", "bob's password").await;

    let globex = new_client();
    app.sign_up_with(&globex, "globex").await;
    let r = app
        .post_with(
            &globex,
            "globex",
            "/companies",
            &[("name", "Globex Corp"), ("domain", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_with(
            &globex,
            "globex",
            "/leads",
            &[("name", "Globex Secret Lead")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_with(
            &globex,
            "globex",
            "/leads/1/notes",
            &[("body", "Globex note")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Act
    let (_, settings) = app.get_html("acme", "/settings").await;
    let export = download(&app, &app.client, "acme").await;

    // Assert: the settings page links to it.
    assert!(settings.contains("href=\"/settings/export.zip\""));
    assert!(settings.contains("Download all data (.zip)"));
    assert_eq!(
        export.names,
        [
            "leads.csv",
            "companies.csv",
            "notes.csv",
            "members.csv",
            "audit.csv",
            "manifest.json"
        ]
    );

    // leads.csv: the list's own export columns and rows, by number.
    let (header, leads) = export.csv("leads.csv");
    assert_eq!(header, tenantry::db::leads::LEAD_CSV_HEADER);
    assert_eq!(column(&header, &leads, "number"), ["1", "2"]);
    assert_eq!(
        column(&header, &leads, "name"),
        ["Zoë 日本語, \"quoted\"", "'=cmd|' /C calc'!A0"],
        "non-ASCII intact, the formula guarded"
    );
    assert_eq!(
        column(&header, &leads, "company"),
        ["Zoë's Café 日本", "'=HYPERLINK(\"x\")"]
    );
    assert_eq!(
        column(&header, &leads, "owner_email"),
        [acme.admin_email.as_str(), ""]
    );
    assert_eq!(column(&header, &leads, "value"), ["1250.50", "0.00"]);
    let list_csv = app
        .get("acme", "/leads/export.csv")
        .await
        .text()
        .await
        .unwrap();
    let mut list: Vec<Vec<String>> = csv::Reader::from_reader(list_csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    list.sort();
    let mut ours = leads.clone();
    ours.sort();
    assert_eq!(ours, list, "the same rows as the list's CSV export");

    // companies.csv
    let (header, companies) = export.csv("companies.csv");
    assert_eq!(
        header,
        ["number", "name", "domain", "created_at", "updated_at"]
    );
    assert_eq!(
        column(&header, &companies, "name"),
        ["Zoë's Café 日本", "'=HYPERLINK(\"x\")"]
    );

    // notes.csv: the lead by number and name, the author by name and email.
    let (header, notes) = export.csv("notes.csv");
    assert_eq!(
        header,
        [
            "lead_number",
            "lead_name",
            "author_name",
            "author_email",
            "body",
            "created_at"
        ]
    );
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0][..5],
        [
            zoe.to_string(),
            "Zoë 日本語, \"quoted\"".to_owned(),
            acme.admin_name.clone(),
            acme.admin_email.clone(),
            note.to_owned(),
        ]
    );

    // members.csv: who, role, active, joined; nothing that logs anyone in.
    let (header, members) = export.csv("members.csv");
    assert_eq!(header, ["name", "email", "role", "active", "created_at"]);
    let mut who: Vec<[String; 4]> = members
        .iter()
        .map(|m| [m[0].clone(), m[1].clone(), m[2].clone(), m[3].clone()])
        .collect();
    who.sort();
    assert_eq!(
        who,
        [
            [
                acme.admin_name.clone(),
                acme.admin_email.clone(),
                "admin".to_owned(),
                "true".to_owned()
            ],
            [
                "Bjørn Ærø".to_owned(),
                "bob@example.test".to_owned(),
                "member".to_owned(),
                "true".to_owned()
            ],
        ]
    );
    for secret in ["password", &acme.admin_password, "bob's password"] {
        assert!(!export.text("members.csv").contains(secret), "{secret}");
    }

    // manifest.json: each file's rows, size and SHA-256 as unzipped.
    let manifest = export.manifest();
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["tenant"]["slug"], "acme");
    assert_eq!(manifest["tenant"]["name"], acme.org_name.as_str());
    let listed = manifest["files"].as_array().unwrap();
    let names: Vec<&str> = listed.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "leads.csv",
            "companies.csv",
            "notes.csv",
            "members.csv",
            "audit.csv"
        ]
    );
    for (file, rows) in listed.iter().zip([2, 2, 1, 2]) {
        let name = file["name"].as_str().unwrap();
        let data = &export.files[name];
        let sha: String = Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(file["sha256"], sha.as_str(), "{name}");
        assert_eq!(file["bytes"], data.len() as u64, "{name}");
        assert_eq!(file["rows"], rows, "{name}");
    }

    // Nothing of the other workspace, in any file.
    for (name, data) in &export.files {
        let text = String::from_utf8_lossy(data).to_lowercase();
        assert!(
            !text.contains("globex"),
            "{name} shows another workspace's data"
        );
    }
    // And the other workspace's own download is its own.
    let theirs = download(&app, &globex, "globex").await;
    let (_, their_leads) = theirs.csv("leads.csv");
    assert_eq!(their_leads.len(), 1);
    assert_eq!(their_leads[0][1], "Globex Secret Lead");
    assert!(theirs.text("notes.csv").contains("Globex note"));
    for (name, data) in &theirs.files {
        let text = String::from_utf8_lossy(data);
        assert!(!text.contains("Zoë") && !text.contains("acme"), "{name}");
    }

    // A member is refused as on every admin page; logged out goes to the login.
    let r = app.get_with(&bob, "acme", "/settings/export.zip").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .get_with(&new_client(), "acme", "/settings/export.zip")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?next=/settings/export.zip");
    // The other workspace's admin, on this workspace's host, is logged out here.
    let r = app.get_with(&globex, "acme", "/settings/export.zip").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn a_large_workspace_streams_every_row_once(backend: Backend) {
    // Arrange: more rows than a page, and an archive larger than a chunk.
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let mut csv = String::from("name,email,company,value,status\n");
    for i in 0..2_345 {
        csv.push_str(&format!(
            "Lead {i} ünïcode,lead{i}@bulk.test,Company {},{i}.{:02},contacted\n",
            i % 1_201,
            i % 100
        ));
    }
    let r = app.import_csv("acme", csv.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Act
    let export = download(&app, &app.client, "acme").await;

    // Assert: every lead and company exactly once, in number order.
    for (file, expected) in [("leads.csv", 2_345), ("companies.csv", 1_201)] {
        let (header, rows) = export.csv(file);
        let numbers: Vec<i64> = column(&header, &rows, "number")
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(numbers, (1..=expected).collect::<Vec<i64>>(), "{file}");
    }
    let manifest = export.manifest();
    let rows: Vec<u64> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rows"].as_u64().unwrap())
        .collect();
    // The audit log holds this download and whatever came before it.
    assert_eq!(rows, [2_345, 1_201, 0, 1, 2]);
}

both_backends!(
    an_admin_downloads_the_workspace_and_nothing_of_another,
    a_large_workspace_streams_every_row_once,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(an_admin_downloads_the_workspace_and_nothing_of_another);
