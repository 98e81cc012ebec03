//! Tasks over real HTTP: added on a lead's page for a member, listed on `/tasks`
//! overdue first, shown on the lead, finished once, recorded in the lead's
//! activity (with notes); bad input is a 422 that keeps what was typed, and
//! another tenant's leads and tasks are 404s that change nothing of theirs.

use chrono::{Duration, Utc};
use reqwest::StatusCode;

use crate::helpers::{Backend, Browser, TestApp, location, new_client, selected_option, spawn_app};
use crate::team::{accept, app_with_smtp, invite, invite_link};
use crate::{both_backends, other_placements};

/// Form fields as pairs.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// `YYYY-MM-DD` of today (UTC) plus `days`.
fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The ids in a page's `/tasks/{id}/done` forms, in page order.
fn task_ids(html: &str) -> Vec<String> {
    html.split("action=\"/tasks/")
        .skip(1)
        .filter_map(|rest| rest.split_once("/done\"").map(|(id, _)| id.to_owned()))
        .collect()
}

/// The member id the lead form preselects as owner: the visitor's own.
async fn my_id(app: &TestApp, client: &Browser, slug: &str) -> String {
    let (_, form) = app.get_html_with(client, slug, "/leads/new").await;
    selected_option(&form, "owner_id").expect("owner preselected")
}

async fn add_task(
    app: &TestApp,
    client: &Browser,
    slug: &str,
    lead: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.post_with(client, slug, &format!("/leads/{lead}/tasks"), fields)
        .await
}

async fn tasks_are_added_listed_and_done(backend: Backend) {
    let (app, smtp) = app_with_smtp(backend).await;
    app.sign_up("tasks").await;
    assert_eq!(
        invite(&app, &app.client, "tasks", "bob@example.com", "member").await,
        StatusCode::SEE_OTHER
    );
    let link = invite_link(&app, &smtp, "tasks", "bob@example.com", 1).await;
    let bob = accept(&app, &link, "Bob Builder", "bob-password").await;
    let me = my_id(&app, &app.client, "tasks").await;
    let bob_id = my_id(&app, &bob, "tasks").await;
    let ada = app.create_lead("tasks", &[("name", "Ada")]).await;

    // The lead page's form offers the members, the viewer first chosen.
    let (_, page) = app.get_html("tasks", &format!("/leads/{ada}")).await;
    assert_eq!(selected_option(&page, "assignee_id"), Some(me.clone()));
    assert!(page.contains("Bob Builder") && page.contains("No tasks yet."));

    for (title, due, who) in [
        ("Send the contract", day(3), &me),
        ("Call Ada back", day(-2), &me),
        ("Book a demo", day(0), &me),
        ("Bob's follow-up", day(1), &bob_id),
    ] {
        let r = add_task(
            &app,
            &app.client,
            "tasks",
            ada,
            &[("title", title), ("due_on", &due), ("assignee_id", who)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{title}");
        assert_eq!(location(&r), format!("/leads/{ada}#tasks"));
    }

    // Mine, overdue first, then today's, then later; not Bob's.
    let (status, mine) = app.get_html("tasks", "/tasks").await;
    assert_eq!(status, StatusCode::OK);
    let at = |needle: &str| {
        mine.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {mine}"))
    };
    assert!(at("Overdue") < at("Call Ada back"));
    assert!(at("Call Ada back") < at("Due today"));
    assert!(at("Due today") < at("Book a demo"));
    assert!(at("Book a demo") < at("Later"));
    assert!(at("Later") < at("Send the contract"));
    assert!(!mine.contains("Bob&#39;s follow-up") && !mine.contains("Bob's follow-up"));
    assert!(mine.contains(&format!("href=\"/leads/{ada}\"")));
    let (_, his) = app.get_html_with(&bob, "tasks", "/tasks").await;
    assert!(
        his.contains("follow-up") && !his.contains("Call Ada back"),
        "{his}"
    );

    // The dashboard: the overdue one and today's, not later ones or Bob's.
    let (_, dash) = app.get_html("tasks", "/").await;
    let mine_today = &dash[dash
        .find("Your tasks for today")
        .expect("tasks on the dashboard")..];
    let mine_today = &mine_today[..mine_today.find("</div>").unwrap()];
    assert!(
        mine_today.contains("Call Ada back") && mine_today.contains("overdue"),
        "{mine_today}"
    );
    assert!(mine_today.contains("Book a demo") && mine_today.contains("due today"));
    assert!(!mine_today.contains("Send the contract") && !mine_today.contains("follow-up"));
    let (_, his_dash) = app.get_html_with(&bob, "tasks", "/").await;
    assert!(
        his_dash.contains("Nothing overdue and nothing due today."),
        "{his_dash}"
    );

    // The lead shows all four, and each in its activity; so is a note.
    let r = app
        .post(
            "tasks",
            &format!("/leads/{ada}/notes"),
            &[("body", "Spoke to Ada\nabout pricing")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_html("tasks", &format!("/leads/{ada}")).await;
    for title in [
        "Send the contract",
        "Call Ada back",
        "Book a demo",
        "follow-up",
    ] {
        assert!(page.contains(title), "{title}");
    }
    assert!(page.contains("overdue"), "{page}");
    assert!(page.contains("Added a task: Call Ada back (due"), "{page}");
    assert!(page.contains("for Bob Builder)"), "{page}");
    assert!(
        page.contains("Added a note: <q>Spoke to Ada about pricing</q>"),
        "{page}"
    );

    // Done: off my list, in the activity; done twice is recorded once.
    let overdue = task_ids(&mine)[0].clone();
    let r = app
        .post(
            "tasks",
            &format!("/tasks/{overdue}/done"),
            &[("next", "/tasks")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/tasks");
    let (_, mine) = app.get_html("tasks", "/tasks").await;
    assert!(
        mine.contains("Done: \u{201c}Call Ada back\u{201d}."),
        "{mine}"
    );
    assert!(
        !mine.contains("Overdue") && !task_ids(&mine).contains(&overdue),
        "{mine}"
    );
    // Any member of the workspace may finish a task.
    let r = app
        .post_with(&bob, "tasks", &format!("/tasks/{overdue}/done"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/tasks");
    let (_, page) = app.get_html("tasks", &format!("/leads/{ada}")).await;
    assert_eq!(
        page.matches("Finished the task <q>Call Ada back</q>")
            .count(),
        1
    );
    assert!(page.contains("task-done"));

    // No CSRF token: refused, nothing done.
    let open = task_ids(&mine)[0].clone();
    let r = app
        .post_raw(&app.client, "tasks", &format!("/tasks/{open}/done"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Logged out: to the log-in page, nothing added.
    let r = add_task(
        &app,
        &new_client(),
        "tasks",
        ada,
        &[("title", "Sneaky"), ("due_on", &day(0))],
    )
    .await;
    assert!(location(&r).starts_with("/login"), "{}", location(&r));
    let (_, still) = app.get_html("tasks", "/tasks").await;
    assert_eq!(task_ids(&still).len(), 2, "{still}");
}

async fn bad_task_input_is_refused_and_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("typos").await;
    let me = my_id(&app, &app.client, "typos").await;
    let lead = app.create_lead("typos", &[("name", "Grace")]).await;
    let cases: [(Fields, &str, &str); 5] = [
        (
            &[
                ("title", "  "),
                ("due_on", "2026-12-01"),
                ("assignee_id", &me),
            ],
            "Say what is to be done.",
            "value=\"2026-12-01\"",
        ),
        (
            &[
                ("title", "Ring Grace"),
                ("due_on", "31/12/2026"),
                ("assignee_id", &me),
            ],
            "Enter a date as YYYY-MM-DD",
            "value=\"Ring Grace\"",
        ),
        (
            &[
                ("title", "Ring Grace"),
                ("due_on", "2026-02-30"),
                ("assignee_id", &me),
            ],
            "Enter a date as YYYY-MM-DD",
            "value=\"2026-02-30\"",
        ),
        (
            &[
                ("title", "Ring Grace"),
                ("due_on", "2026-12-01"),
                ("assignee_id", ""),
            ],
            "Choose who will do it.",
            "value=\"Ring Grace\"",
        ),
        (
            &[
                ("title", "Ring Grace"),
                ("due_on", "2026-12-01"),
                ("assignee_id", "nobody-here"),
            ],
            "Choose an active member of this workspace.",
            "value=\"Ring Grace\"",
        ),
    ];
    for (fields, message, kept) in cases {
        let r = add_task(&app, &app.client, "typos", lead, fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert!(page.contains(kept), "{kept}: {page}");
        assert!(page.contains("aria-invalid=\"true\""));
    }
    let (_, page) = app.get_html("typos", &format!("/leads/{lead}")).await;
    assert!(page.contains("No tasks yet."), "{page}");
    let (_, mine) = app.get_html("typos", "/tasks").await;
    assert!(mine.contains("No open tasks."), "{mine}");
}

async fn another_tenants_leads_and_tasks_are_out_of_reach(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = new_client();
    app.sign_up_with(&other, "theirs").await;
    let their_me = my_id(&app, &other, "theirs").await;
    let theirs = app.create_lead_with(&other, "theirs", "Their lead").await;
    let r = add_task(
        &app,
        &other,
        "theirs",
        theirs,
        &[
            ("title", "Their secret task"),
            ("due_on", &day(0)),
            ("assignee_id", &their_me),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, their_tasks) = app.get_html_with(&other, "theirs", "/tasks").await;
    let their_task = task_ids(&their_tasks)[0].clone();

    app.sign_up("mine").await;
    let me = my_id(&app, &app.client, "mine").await;
    let mine = app.create_lead("mine", &[("name", "My lead")]).await;
    // Their task's id on my host: a 404, and it stays open.
    let r = app
        .post("mine", &format!("/tasks/{their_task}/done"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A lead number that is none of mine; their member as my assignee.
    let r = add_task(
        &app,
        &app.client,
        "mine",
        999_999,
        &[("title", "X"), ("due_on", &day(0)), ("assignee_id", &me)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = add_task(
        &app,
        &app.client,
        "mine",
        mine,
        &[
            ("title", "X"),
            ("due_on", &day(0)),
            ("assignee_id", &their_me),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, my_tasks) = app.get_html("mine", "/tasks").await;
    assert!(!my_tasks.contains("Their secret task"));
    let (_, their_tasks) = app.get_html_with(&other, "theirs", "/tasks").await;
    assert!(their_tasks.contains("Their secret task"), "{their_tasks}");
    assert_eq!(task_ids(&their_tasks), vec![their_task]);
}

both_backends!(
    tasks_are_added_listed_and_done,
    bad_task_input_is_refused_and_kept,
    another_tenants_leads_and_tasks_are_out_of_reach,
);
other_placements!(another_tenants_leads_and_tasks_are_out_of_reach);
