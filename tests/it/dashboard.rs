//! The dashboard's charts over real HTTP: the pipeline by status (a bar per
//! status, as long as its share, with its count and value) and leads created
//! per week (twelve ISO weeks, this one last, empty weeks as zero), each an SVG
//! image with a title and a description and a table of the same numbers; leads
//! written straight into the database with an older `created_at` land in their
//! week, those before the first week and another tenant's are not counted.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Utc};
use reqwest::StatusCode;

use crate::both_backends;
use crate::direct::TestConn;
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(
    the_status_chart_draws_each_status_with_its_count_and_value,
    the_weekly_chart_counts_twelve_weeks_of_this_tenant_only,
);

async fn dashboard(app: &TestApp, slug: &str) -> String {
    let (status, page) = app.get_html(slug, "/").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// The width of the status chart's bar for `status`.
fn bar_width(page: &str, status: &str) -> i64 {
    let marker = format!("class=\"chart-bar chart-bar-{status}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {status} bar"));
    let rect = &page[start..start + page[start..].find('>').unwrap()];
    let width = rect.split(" width=\"").nth(1).expect("a width");
    width[..width.find('"').unwrap()].parse().unwrap()
}

/// The weekly chart's columns as (week start, count), from their titles.
fn weeks(page: &str) -> Vec<(String, i64)> {
    page.split("<title>Week of ")
        .skip(1)
        .map(|rest| {
            let title = &rest[..rest.find("</title>").unwrap()];
            let (date, count) = title.split_once(": ").unwrap();
            let count = count.split(' ').next().unwrap().parse().unwrap();
            (date.to_owned(), count)
        })
        .collect()
}

/// Sets lead `number`'s `created_at` on `slug`, straight in the database.
async fn set_created_at(app: &TestApp, slug: &str, number: i64, at: NaiveDateTime) {
    let at = at.format("%Y-%m-%d %H:%M:%S").to_string();
    let changed = app
        .with_tenant_conn(slug, move |conn: &mut TestConn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE leads SET created_at = '{at}' WHERE number = {number}"
            ))
            .execute(conn)
        })
        .await
        .unwrap();
    assert_eq!(changed, 1, "lead {number}");
}

async fn the_status_chart_draws_each_status_with_its_count_and_value(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    app.sign_up("dash").await;
    app.sign_up("other").await;
    for (name, status, value) in [
        ("Ada", "new", "100"),
        ("Bea", "new", "50"),
        ("Cy", "proposal", "3400"),
        ("Di", "won", ""),
        ("Ed", "won", ""),
        ("Flo", "won", "1"),
        ("Gus", "won", ""),
    ] {
        app.create_lead(
            "dash",
            &[("name", name), ("status", status), ("value", value)],
        )
        .await;
    }
    for i in 0..9 {
        app.create_lead(
            "other",
            &[("name", &format!("Lost {i}")), ("status", "lost")],
        )
        .await;
    }

    // Act
    let page = dashboard(&app, "dash").await;

    // Assert
    assert!(
        page.contains("role=\"img\" aria-labelledby=\"status-chart-title status-chart-desc\""),
        "{page}"
    );
    assert!(page.contains("<title id=\"status-chart-title\">Pipeline by status"));
    assert!(page.contains("<desc id=\"status-chart-desc\">"));
    for title in [
        "new: 2 leads, 150.00",
        "contacted: 0 leads, 0.00",
        "qualified: 0 leads, 0.00",
        "proposal: 1 lead, 3,400.00",
        "won: 4 leads, 1.00",
        "lost: 0 leads, 0.00",
    ] {
        assert!(page.contains(&format!("<title>{title}</title>")), "{title}");
    }
    // Lengths proportional to the counts, the largest full (300 units).
    assert_eq!(bar_width(&page, "won"), 300);
    assert_eq!(bar_width(&page, "new"), 150);
    assert_eq!(bar_width(&page, "proposal"), 75);
    assert_eq!(bar_width(&page, "lost"), 0, "the other tenant's leads");
    // The numbers beside the chart, and the existing content kept.
    assert!(page.contains("class=\"table chart-data\""));
    assert!(page.contains("Recent leads") && page.contains("Recent notes"));
    // No inline styles: the CSP would refuse them.
    assert!(!page.contains("style=\""), "inline style");
}

async fn the_weekly_chart_counts_twelve_weeks_of_this_tenant_only(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    app.sign_up("weeks").await;
    app.sign_up("elsewhere").await;
    let today = Utc::now().date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let first = monday - Days::new(11 * 7);
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap();
    for name in ["This week 1", "This week 2"] {
        app.create_lead("weeks", &[("name", name)]).await;
    }
    let older = [
        // Tuesday three weeks ago, mid-morning: counted in that week.
        midnight(monday - Days::new(20)) + chrono::Duration::hours(10),
        // The first instant of the first week: counted in it.
        midnight(first),
        // The last instant before it, and long before: not counted.
        midnight(first) - chrono::Duration::seconds(1),
        midnight(monday - Days::new(20 * 7)),
    ];
    for (i, at) in older.iter().enumerate() {
        let number = app
            .create_lead("weeks", &[("name", &format!("Older {i}"))])
            .await;
        set_created_at(&app, "weeks", number, *at).await;
    }
    for i in 0..5 {
        app.create_lead("elsewhere", &[("name", &format!("Elsewhere {i}"))])
            .await;
    }

    // Act
    let page = dashboard(&app, "weeks").await;

    // Assert
    assert!(
        page.contains("role=\"img\" aria-labelledby=\"weekly-chart-title weekly-chart-desc\""),
        "{page}"
    );
    assert!(page.contains("<title id=\"weekly-chart-title\">Leads created per week"));
    assert!(page.contains("<desc id=\"weekly-chart-desc\">"));
    let shown = weeks(&page);
    let expected: Vec<(String, i64)> = (0..12u64)
        .map(|i| {
            let start = first + Days::new(i * 7);
            let count = match i {
                0 => 1,  // the first instant of the first week
                8 => 1,  // three weeks before this one
                11 => 2, // this week
                _ => 0,
            };
            (start.format("%Y-%m-%d").to_string(), count)
        })
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(
        shown.last().unwrap().0,
        monday.format("%Y-%m-%d").to_string()
    );
    // The table beside it: a row per week.
    assert_eq!(page.matches("<time datetime=\"").count(), 12);
    assert!(page.contains("4 lead(s) in all"), "the hint's total");
}
