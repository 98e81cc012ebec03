//! Companies over HTTP: CRUD, validation, a company's leads, and deletion that
//! keeps the leads.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, location, spawn_app};
use crate::other_placements;

async fn a_company_is_created_shown_updated_and_deleted_keeping_its_leads(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    // Act
    let r = app
        .post(
            "acme",
            "/companies",
            &[("name", "Initech"), ("domain", "Initech.TEST")],
        )
        .await;
    // Assert
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/companies/1");
    let lead = app
        .create_lead("acme", &[("name", "Peter"), ("company_id", "1")])
        .await;
    let (status, page) = app.get_html("acme", "/companies/1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Initech"));
    assert!(page.contains("initech.test"));
    assert!(page.contains(&format!("href=\"/leads/{lead}\"")));
    assert!(page.contains("lead(s) are kept"));
    let (_, list) = app.get_html("acme", "/companies").await;
    assert!(list.contains("href=\"/companies/1\""));
    let (status, edit) = app.get_html("acme", "/companies/1/edit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(edit.contains("value=\"Initech\""));
    // Update.
    let r = app
        .post(
            "acme",
            "/companies/1",
            &[("name", "Initrode"), ("domain", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/companies/1");
    let (_, page) = app.get_html("acme", &format!("/leads/{lead}")).await;
    assert!(page.contains("Initrode"));
    // Delete: the company goes, its lead stays, without a company.
    let r = app.post("acme", "/companies/1/delete", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/companies");
    assert_eq!(
        app.get_html("acme", "/companies/1").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, page) = app.get_html("acme", &format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Initrode"));
}

async fn invalid_company_is_422_with_input_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let r = app
        .post(
            "acme",
            "/companies",
            &[("name", " "), ("domain", "a b.test")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("Please enter a name."));
    assert!(body.contains("value=\"a b.test\""));
    assert!(body.contains("has no spaces"));
    let long = "n".repeat(201);
    let r = app.post("acme", "/companies", &[("name", &long)]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(&long));
    // Updating with bad input is also a 422, and an unknown company a 404.
    let n = app.create_company("acme", "Fine").await;
    let r = app
        .post("acme", &format!("/companies/{n}"), &[("name", "")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post("acme", "/companies/999", &[("name", "X")]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for path in ["/companies/999", "/companies/abc", "/companies/-1/edit"] {
        assert_eq!(
            app.get_html("acme", path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

async fn editing_a_lead_keeps_a_company_beyond_the_choice_list(backend: Backend) {
    // Arrange: more companies than the form offers, and a lead at the last by name.
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let mut csv = String::from("name,company\n");
    for i in 0..1_001 {
        csv.push_str(&format!("Lead {i},Co {i:04}\n"));
    }
    csv.push_str("Zed,Zzz Last Company\n");
    let r = app.import_csv("acme", csv.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_html("acme", "/leads?q=Zed").await;
    let number: i64 = list
        .split("href=\"/leads/")
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .next()
        .expect("the lead is listed");

    // Act: open the edit form and save it as it is.
    let (status, form) = app.get_html("acme", &format!("/leads/{number}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("Zzz Last Company"),
        "the lead's company is a choice"
    );
    let company = form
        .split("<option value=\"")
        .find(|o| o.contains("selected") && o.contains("Zzz Last Company"))
        .and_then(|o| o.split('"').next())
        .expect("the lead's company is selected")
        .to_owned();
    let r = app
        .post(
            "acme",
            &format!("/leads/{number}"),
            &[("name", "Zed"), ("company_id", &company), ("status", "new")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Assert: still linked.
    let (_, page) = app.get_html("acme", &format!("/leads/{number}")).await;
    assert!(page.contains("Zzz Last Company"));
}

/// The lead list offers a company drop-down while the tenant has at most 200
/// companies, all of them; past that, a company is filtered from its own page
/// and the list names it beside a link that clears the filter.
async fn the_company_filter_is_a_drop_down_up_to_200_companies(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let mut csv = String::from("name,company\n");
    for i in 1..=200 {
        csv.push_str(&format!("Lead {i},Co {i:03}\n"));
    }
    let r = app.import_csv("acme", csv.as_bytes(), None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let choices = |html: &str| {
        html.split("<select id=\"company\"").nth(1).map(|s| {
            s.split("</select>")
                .next()
                .unwrap_or("")
                .matches("<option")
                .count()
        })
    };
    let (status, list) = app.get_html("acme", "/leads").await;
    assert_eq!(status, StatusCode::OK);
    // "Any company" and the 200.
    assert_eq!(choices(&list), Some(201), "all 200 offered");
    assert!(list.contains(">Co 200</option>"));

    let last = app.create_company("acme", "Zz Company 201").await;
    let (_, list) = app.get_html("acme", "/leads").await;
    assert_eq!(choices(&list), None, "no drop-down past 200");
    let (status, filtered) = app
        .get_html("acme", &format!("/leads?company={last}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(filtered.contains("Zz Company 201 · <a href=\"/leads\">clear</a>"));
    assert!(filtered.contains("No leads match."));
}

both_backends!(
    a_company_is_created_shown_updated_and_deleted_keeping_its_leads,
    the_company_filter_is_a_drop_down_up_to_200_companies,
    invalid_company_is_422_with_input_kept,
    editing_a_lead_keeps_a_company_beyond_the_choice_list,
);

// The representative set, once per other placement (see `helpers`).
other_placements!(a_company_is_created_shown_updated_and_deleted_keeping_its_leads,);
