//! CSV export and import: the round trip, the report of refused rows, limits.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, location, spawn_app};
use crate::other_placements;

/// Export rows without the columns that belong to the exporting database
/// (number, created_at, updated_at), sorted.
fn comparable(csv: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            r.iter()
                .enumerate()
                .filter(|(i, _)| ![0, 9, 10].contains(i))
                .map(|(_, v)| v.to_owned())
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

async fn export_then_import_gives_the_same_leads(backend: Backend) {
    // Arrange: leads with every field, awkward text included.
    let app = spawn_app(backend).await;
    let t = app.sign_up("acme").await;
    let initech = app
        .create_company("acme", "Initech, Inc.")
        .await
        .to_string();
    let (_, form) = app.get_html("acme", "/leads/new").await;
    let me = crate::helpers::selected_option(&form, "owner_id").unwrap();
    let leads: [&[(&str, &str)]; 4] = [
        &[
            ("name", "Peter \"PG\" Gibbons"),
            ("email", "peter@initech.test"),
            ("phone", "+1 555 0100"),
            ("company_id", &initech),
            ("status", "proposal"),
            ("value", "1250.50"),
            ("owner_id", &me),
            ("source", "=cmd|' /C calc'!A0"),
        ],
        &[
            ("name", "Zoë 日本語, \"quoted\" comma"),
            ("status", "won"),
            ("value", "0.07"),
        ],
        &[("name", "Plain"), ("company_id", &initech)],
        &[("name", "<b>bold</b>"), ("source", "@home")],
    ];
    for fields in leads {
        app.create_lead("acme", fields).await;
    }
    // Act: export, delete everything, import the export, export again.
    let r = app.get("acme", "/leads/export.csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let first = r.text().await.unwrap();
    assert!(first.starts_with("number,name,email,phone,company,status,value,owner_email"));
    assert!(first.contains("'=cmd"), "formula cells are neutralised");
    assert!(first.contains(&t.admin_email));
    for n in 1..=4 {
        app.post("acme", &format!("/leads/{n}/delete"), &[]).await;
    }
    let r = app.import_csv("acme", first.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/leads");
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(list.contains("Imported 4 lead(s)."));
    assert!(list.contains("4 leads match"));
    let second = app
        .get("acme", "/leads/export.csv")
        .await
        .text()
        .await
        .unwrap();
    // Assert
    assert_eq!(comparable(&first), comparable(&second));
    assert_eq!(comparable(&first).len(), 4);
    // The company was matched by name, not duplicated.
    let (_, companies) = app.get_html("acme", "/companies").await;
    assert_eq!(companies.matches("Initech, Inc.").count(), 1);
}

async fn export_follows_the_current_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    for (name, status) in [("Won One", "won"), ("New One", "new"), ("Won Two", "won")] {
        app.create_lead("acme", &[("name", name), ("status", status)])
            .await;
    }
    let (_, list) = app.get_html("acme", "/leads?status=won&sort=name").await;
    assert!(
        list.contains("href=\"/leads/export.csv?status=won&#38;sort=name\"")
            || list.contains("href=\"/leads/export.csv?status=won&amp;sort=name\"")
    );
    let csv = app
        .get("acme", "/leads/export.csv?status=won&sort=name")
        .await
        .text()
        .await
        .unwrap();
    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(names, ["Won One", "Won Two"]);
}

async fn an_import_with_refused_rows_reports_them_all_and_imports_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let csv = "Status,NAME,value,owner_email,company,notes\n\
               new,Good One,10,,New Co,ignored\n\
               ,,5,,,\n\
               open,Bad Status,1,,,\n\
               won,Bad Value,-3,,,\n\
               new,Stranger Owner,1,someone@else.test,,\n\
               new,<i>Good Two</i>,1.5,,New Co,\n";
    let r = app.import_csv("acme", csv.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let report = r.text().await.unwrap();
    assert!(report.contains("Nothing was imported"));
    assert!(report.contains("<strong>4</strong> row(s) refused"));
    for (line, reason) in [
        ("3", "name: Please enter a name."),
        ("4", "status: Choose one of"),
        ("5", "value: Must not be negative."),
        ("6", "owner_email: no active member"),
    ] {
        assert!(
            report.contains(&format!("<td class=\"num\">{line}</td><td>{reason}")),
            "line {line}"
        );
    }
    assert!(report.contains("Ignored columns: notes"));
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(list.contains("0 leads match"), "nothing went in");
    let (_, companies) = app.get_html("acme", "/companies").await;
    assert!(
        !companies.contains("New Co"),
        "no company was created either"
    );
    // The same file without its bad rows goes in whole, markup kept as text.
    let fixed = "Status,NAME,value,owner_email,company,notes\n\
                 new,Good One,10,,New Co,ignored\n\
                 new,<i>Good Two</i>,1.5,,New Co,\n";
    let r = app.import_csv("acme", fixed.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(list.contains("2 leads match"));
    assert!(list.contains("&#60;i&#62;Good Two&#60;/i&#62;"));
    // A file without a name column, or with nothing in it, is a 422.
    let r = app.import_csv("acme", b"email\na@b.test\n", None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("no `name` column"));
    let r = app.import_csv("acme", b"", None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Without the CSRF token: 403, nothing imported.
    let r = app
        .import_csv("acme", b"name\nSneaky\n", Some("wrong"))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, list) = app.get_html("acme", "/leads?q=sneaky").await;
    assert!(list.contains("0 leads match"));
}

async fn import_takes_ten_thousand_rows_and_refuses_over_ten_mib(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let mut csv = String::from("name,email,company,value,status\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "Lead {i},lead{i}@bulk.test,Company {},{}.{:02},contacted\n",
            i % 50,
            i,
            i % 100
        ));
    }
    let r = app.import_csv("acme", csv.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(list.contains("10,000 leads match"));
    // The export streams all of them, over pages of 1,000, each exactly once.
    let csv = app
        .get("acme", "/leads/export.csv?sort=name")
        .await
        .text()
        .await
        .unwrap();
    let mut numbers: Vec<i64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 10_000);
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 10_000);
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = app.import_csv("acme", &big, None).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn hostile_import_bodies_get_4xx_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let token = app.csrf("acme").await;
    let url = app.url("acme", "/leads/import");
    let bodies: [(&str, Vec<u8>); 4] = [
        ("application/x-www-form-urlencoded", format!("csrf_token={token}&csv=name%0AAda").into_bytes()),
        ("multipart/form-data", b"no boundary".to_vec()),
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\ngarbage without headers".to_vec()),
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\nname\nAda\r\n--XyZ--\r\n".to_vec()),
    ];
    for (content_type, body) in bodies {
        let r = app
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_client_error(),
            "{content_type}: {}",
            r.status()
        );
    }
    let (_, list) = app.get_html("acme", "/leads").await;
    assert!(list.contains("0 leads match"), "nothing was imported");
}

both_backends!(
    hostile_import_bodies_get_4xx_and_change_nothing,
    export_then_import_gives_the_same_leads,
    export_follows_the_current_filters,
    an_import_with_refused_rows_reports_them_all_and_imports_nothing,
    import_takes_ten_thousand_rows_and_refuses_over_ten_mib,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(
    export_then_import_gives_the_same_leads,
    an_import_with_refused_rows_reports_them_all_and_imports_nothing,
);
