//! The dashboard: leads by status, the open pipeline, charts of the pipeline by
//! status and of leads created per week, the member's overdue tasks and those
//! due today, recent leads and notes.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::auth::{SignedIn, TypedSession};
use crate::db::leads::{LeadFilter, LeadRow, StatusSummary};
use crate::db::notes::RecentNote;
use crate::db::tasks::TaskView;
use crate::domain::LeadSort;
use crate::error::AppResult;
use crate::render::chart::{self, BarChart, ColumnChart};
use crate::render::{PageContext, render};

/// Recent leads and notes shown.
const RECENT: i64 = 5;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    member_name: String,
    by_status: Vec<StatusSummary>,
    open_count: i64,
    open_value: i64,
    status_chart: BarChart,
    weekly_chart: ColumnChart,
    recent_leads: Vec<LeadRow>,
    recent_notes: Vec<RecentNote>,
    /// The member's open tasks due today or before.
    overdue: Vec<TaskView>,
    due_today: Vec<TaskView>,
}

pub(super) async fn show_dashboard(
    visitor: SignedIn,
    session: TypedSession,
) -> AppResult<HttpResponse> {
    // Weeks are UTC weeks, as `created_at` is stored.
    let today = crate::db::now().date();
    let first_week = chart::first_week(today, chart::WEEKS);
    // The session check and the page's queries in one read.
    let (me, (by_status, weeks, recent_leads, recent_notes, due)) = visitor
        .read(move |tx, me| {
            let by_status = tx.lead_status_summary()?;
            let weeks = tx.leads_created_per_week(first_week, chart::WEEKS)?;
            let newest = LeadFilter {
                sort: LeadSort::Created,
                ..LeadFilter::default()
            };
            let (recent_leads, _) = tx.list_leads(&newest, None, RECENT)?;
            let due = tx.open_tasks_due(&me.id, Some(today))?;
            Ok((
                by_status,
                weeks,
                recent_leads,
                tx.recent_notes(RECENT)?,
                due,
            ))
        })
        .await?;
    let open = by_status.iter().filter(|s| s.status.is_open());
    let open_count = open
        .clone()
        .map(|s| s.count)
        .fold(0i64, i64::saturating_add);
    let open_value = open.map(|s| s.value).fold(0i64, i64::saturating_add);
    let (overdue, due_today): (Vec<TaskView>, Vec<TaskView>) =
        due.into_iter().partition(|t| t.is_overdue(&today));
    render(
        StatusCode::OK,
        &DashboardPage {
            ctx: PageContext::app(&session, &me, "dashboard"),
            member_name: me.member.name.clone(),
            status_chart: chart::status_chart(&by_status),
            weekly_chart: ColumnChart::new(&weeks),
            by_status,
            open_count,
            open_value,
            recent_leads,
            recent_notes,
            overdue,
            due_today,
        },
    )
}
