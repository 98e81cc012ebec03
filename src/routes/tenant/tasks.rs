//! A member's tasks (`GET /tasks`: open ones, overdue first) and finishing one
//! (`POST /tasks/{id}/done`). Tasks are added from a lead's page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::{CsrfForm, CurrentMember, SignedIn, TypedSession};
use crate::db::tasks::{MAX_TASKS_LISTED, TaskView};
use crate::db::{Db, QueryError, now};
use crate::domain::TaskId;
use crate::error::AppResult;
use crate::http::{safe_next, see_other};
use crate::render::{PageContext, render};

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    ctx: PageContext,
    overdue: Vec<TaskView>,
    today: Vec<TaskView>,
    later: Vec<TaskView>,
    /// Whether the list stopped at [`MAX_TASKS_LISTED`].
    capped: bool,
    max: i64,
    date: NaiveDate,
}

/// Splits open tasks (earliest due first) into overdue, due today and later.
pub(super) fn by_day(
    tasks: Vec<TaskView>,
    today: NaiveDate,
) -> (Vec<TaskView>, Vec<TaskView>, Vec<TaskView>) {
    let (mut overdue, mut due, mut later) = (Vec::new(), Vec::new(), Vec::new());
    for task in tasks {
        if task.is_overdue(&today) {
            overdue.push(task);
        } else if task.is_due_today(&today) {
            due.push(task);
        } else {
            later.push(task);
        }
    }
    (overdue, due, later)
}

pub(super) async fn list_tasks(
    visitor: SignedIn,
    session: TypedSession,
) -> AppResult<HttpResponse> {
    let (me, tasks) = visitor.read(|tx, me| tx.open_tasks_of(&me.id)).await?;
    let capped = tasks.len() as i64 >= MAX_TASKS_LISTED;
    let date = now().date();
    let (overdue, today, later) = by_day(tasks, date);
    render(
        StatusCode::OK,
        &TasksPage {
            ctx: PageContext::app(&session, &me, "tasks"),
            overdue,
            today,
            later,
            capped,
            max: MAX_TASKS_LISTED,
            date,
        },
    )
}

/// The done button's form: where to come back to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneForm {
    next: String,
}

#[tracing::instrument(name = "finish task", skip_all)]
pub(super) async fn complete_task(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    form: CsrfForm<DoneForm>,
) -> AppResult<HttpResponse> {
    let id = TaskId::from_string(path.into_inner());
    let actor = me.member.id.clone();
    let (task, changed) = db
        .write(&me.tenant.scope, move |tx| {
            tx.complete_task(&id, &actor)?.ok_or(QueryError::NotFound)
        })
        .await?;
    let message = if changed {
        format!("Done: \u{201c}{}\u{201d}.", task.task.title)
    } else {
        format!("\u{201c}{}\u{201d} was already done.", task.task.title)
    };
    session.flash("success", message);
    let next = form.into_inner().next;
    Ok(see_other(&if next.is_empty() {
        "/tasks".to_owned()
    } else {
        safe_next(Some(&next))
    }))
}
