//! CSV imports that match existing leads by email, over real HTTP: the preview
//! (new, updated, skipped, refused) that writes nothing, its confirmation, the
//! three `on_duplicate` choices, the history at `/leads/imports`, and undo,
//! which restores what an import changed unless a lead changed since, and
//! never reaches another tenant's import.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, location, new_client, spawn_app};
use crate::{both_backends, other_placements};

/// The `import_id` of a preview's confirm form.
fn import_id_in(page: &str) -> String {
    let marker = "name=\"import_id\" value=\"";
    let start = page.find(marker).expect("a confirm form") + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

/// The ids in the history's undo forms, newest first.
fn undo_ids(page: &str) -> Vec<String> {
    page.split("action=\"/leads/imports/")
        .skip(1)
        .filter_map(|rest| rest.split_once("/undo\"").map(|(id, _)| id.to_owned()))
        .collect()
}

/// A lead's page, which must be there.
async fn lead(app: &TestApp, slug: &str, number: i64) -> String {
    let (status, page) = app.get_html(slug, &format!("/leads/{number}")).await;
    assert_eq!(status, StatusCode::OK, "lead {number}");
    page
}

/// The leads the list finds for `q`.
async fn found(app: &TestApp, slug: &str, q: &str) -> usize {
    let (_, page) = app.get_html(slug, &format!("/leads?q={q}")).await;
    page.matches("name=\"lead_ids\"").count()
}

async fn an_import_is_previewed_committed_and_undone(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("merge").await;
    let ada = app
        .create_lead(
            "merge",
            &[
                ("name", "Ada"),
                ("email", "ada@x.test"),
                ("phone", "111"),
                ("value", "10"),
            ],
        )
        .await;
    let csv = b"name,email,phone,status,value\nAda Lovelace,ADA@x.test,,won,\nCy,cy@x.test,333,,\n";

    // The preview says what each row will do, and writes nothing.
    let r = app
        .import_with(
            "merge",
            Some(csv),
            &[("on_duplicate", "update"), ("step", "preview")],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Preview: nothing is imported yet"), "{page}");
    assert!(page.contains("<dt>New leads</dt><dd>1</dd>"), "{page}");
    assert!(page.contains("<dt>Updated</dt><dd>1</dd>"), "{page}");
    assert!(page.contains("<dt>Skipped</dt><dd>0</dd>"));
    assert!(page.contains("<dt>Refused</dt><dd>0</dd>"));
    assert!(
        page.contains(&format!("<a href=\"/leads/{ada}\">Ada</a>")),
        "{page}"
    );
    assert_eq!(found(&app, "merge", "cy").await, 0);
    assert!(lead(&app, "merge", ada).await.contains("<h1>Ada</h1>"));

    // Confirmed: Ada updated (blank cells keep hers), Cy created.
    let id = import_id_in(&page);
    let fields = [("on_duplicate", "update"), ("import_id", id.as_str())];
    let r = app.import_with("merge", None, &fields, None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/leads/imports");
    let (_, history) = app.get_html("merge", "/leads/imports").await;
    assert!(
        history.contains("Imported 1 lead(s), updated 1."),
        "{history}"
    );
    assert_eq!(undo_ids(&history), vec![id.clone()]);
    let page = lead(&app, "merge", ada).await;
    assert!(
        page.contains("<h1>Ada Lovelace</h1>") && page.contains("badge-won"),
        "{page}"
    );
    assert!(
        page.contains("<dd>111</dd>") && page.contains("10.00"),
        "{page}"
    );
    assert!(page.contains("updated from a CSV file"), "{page}");
    assert_eq!(found(&app, "merge", "cy").await, 1);
    // The same confirmation again imports nothing twice.
    let r = app.import_with("merge", None, &fields, None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("no longer waiting"));
    assert_eq!(found(&app, "merge", "cy").await, 1);

    // Undone: Cy deleted, Ada as she was.
    let r = app
        .post("merge", &format!("/leads/imports/{id}/undo"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, history) = app.get_html("merge", "/leads/imports").await;
    assert!(
        history.contains("Import undone: 1 lead(s) deleted, 1 restored."),
        "{history}"
    );
    assert!(history.contains("undone ") && undo_ids(&history).is_empty());
    assert_eq!(found(&app, "merge", "cy").await, 0);
    let page = lead(&app, "merge", ada).await;
    assert!(
        page.contains("<h1>Ada</h1>") && page.contains("badge-new"),
        "{page}"
    );
    let r = app
        .post("merge", &format!("/leads/imports/{id}/undo"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, history) = app.get_html("merge", "/leads/imports").await;
    assert!(history.contains("undone already"));
    let (_, log) = app.get_html("merge", "/settings/audit").await;
    assert!(log.contains("leads.import_undone"), "{log}");
}

async fn each_choice_for_duplicates_does_what_it_says(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("dupes").await;
    let ada = app
        .create_lead("dupes", &[("name", "Ada"), ("email", "ada@x.test")])
        .await;
    let csv = b"name,email\nAda Again,ada@x.test\nDee,dee@x.test\n";
    let r = app
        .import_with("dupes", Some(csv), &[("on_duplicate", "skip")], None)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_html("dupes", "/leads").await;
    assert!(
        list.contains("Imported 1 lead(s), skipped 1 already there."),
        "{list}"
    );
    assert!(lead(&app, "dupes", ada).await.contains("<h1>Ada</h1>"));
    assert_eq!(found(&app, "dupes", "again").await, 0);
    let r = app
        .import_with("dupes", Some(csv), &[("on_duplicate", "create")], None)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(found(&app, "dupes", "again").await, 1);
    assert_eq!(found(&app, "dupes", "dee").await, 2);
    // An unknown choice: 422, nothing imported.
    let r = app
        .import_with(
            "dupes",
            Some(b"name\nZed\n"),
            &[("on_duplicate", "merge")],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("skip, update or create"));
    assert_eq!(found(&app, "dupes", "zed").await, 0);
    // A preview of a file with a refused row: the counts and the refusal, no
    // confirm button, nothing staged to commit.
    let r = app
        .import_with(
            "dupes",
            Some(b"name,email,value\nAda New,ada@x.test,\nBad,bad@x.test,-5\n"),
            &[("on_duplicate", "update"), ("step", "preview")],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<dt>Updated</dt><dd>1</dd>") && page.contains("<dt>Refused</dt><dd>1</dd>"),
        "{page}"
    );
    assert!(!page.contains("name=\"import_id\""));
    let (_, history) = app.get_html("dupes", "/leads/imports").await;
    assert_eq!(undo_ids(&history).len(), 2, "{history}");
}

async fn undo_is_refused_when_leads_changed_since(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("since").await;
    let bob = app
        .create_lead("since", &[("name", "Bob"), ("email", "bob@x.test")])
        .await;
    let csv = b"name,email\nBob Builder,bob@x.test\nEve,eve@x.test\n";
    let r = app
        .import_with("since", Some(csv), &[("on_duplicate", "update")], None)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, history) = app.get_html("since", "/leads/imports").await;
    let id = undo_ids(&history)[0].clone();
    // Someone works on Bob after the import.
    let r = app
        .post(
            "since",
            &format!("/leads/{bob}/notes"),
            &[("body", "Called him")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post("since", &format!("/leads/imports/{id}/undo"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let page = r.text().await.unwrap();
    assert!(page.contains("Nothing was undone: 1 lead(s)"), "{page}");
    assert!(
        page.contains(&format!("<a href=\"/leads/{bob}\">Bob Builder</a>")),
        "{page}"
    );
    // Nothing changed: Eve is still there, Bob keeps the import's name.
    assert_eq!(found(&app, "since", "eve").await, 1);
    assert!(
        lead(&app, "since", bob)
            .await
            .contains("<h1>Bob Builder</h1>")
    );
    let (_, history) = app.get_html("since", "/leads/imports").await;
    assert_eq!(undo_ids(&history), vec![id]);
}

async fn another_tenants_imports_are_out_of_reach(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("theirs").await;
    let r = app.import_csv("theirs", b"name\nTheir lead\n", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, history) = app.get_html("theirs", "/leads/imports").await;
    let theirs = undo_ids(&history)[0].clone();
    let mine = new_client();
    app.sign_up_with(&mine, "mine").await;
    let (_, my_history) = app.get_html_with(&mine, "mine", "/leads/imports").await;
    assert!(my_history.contains("No imports yet."), "{my_history}");
    let r = app
        .post_with(&mine, "mine", &format!("/leads/imports/{theirs}/undo"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Their preview's id cannot be committed on my host either.
    let r = app
        .import_with(
            "theirs",
            Some(b"name\nStaged\n"),
            &[("step", "preview")],
            None,
        )
        .await;
    let staged = import_id_in(&r.text().await.unwrap());
    let r = app
        .import_as(&mine, "mine", None, &[("import_id", &staged)], None)
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, history) = app.get_html("theirs", "/leads/imports").await;
    assert_eq!(undo_ids(&history), vec![theirs]);
    let (_, list) = app.get_html("theirs", "/leads").await;
    assert!(
        list.contains("Their lead") && !list.contains("Staged"),
        "{list}"
    );
    let (_, mine_list) = app.get_html_with(&mine, "mine", "/leads").await;
    assert!(!mine_list.contains("Staged"));
}

both_backends!(
    an_import_is_previewed_committed_and_undone,
    each_choice_for_duplicates_does_what_it_says,
    undo_is_refused_when_leads_changed_since,
    another_tenants_imports_are_out_of_reach,
);
other_placements!(an_import_is_previewed_committed_and_undone);
