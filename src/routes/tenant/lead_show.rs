//! A lead's page with its notes and history, adding a note, and deleting the lead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;
use validator::Validate;

use crate::auth::csrf::NoFields;
use crate::auth::{CsrfForm, CurrentMember, SignedIn, TypedSession};
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::leads::{Activity, Lead};
use crate::db::notes::{HISTORY_PAGE_SIZE, HistoryPage, NoteView};
use crate::db::now;
use crate::db::tasks::{TaskRefusal, TaskView};
use crate::db::users::Member;
use crate::db::{Db, QueryError, TenantTx};
use crate::domain::forms::{FormErrors, TaskForm};
use crate::domain::{ActivityKind, Before, CompanyNumber, LeadNumber, MAX_NOTE_LEN, MemberId};
use crate::domain::{AuditAction, RequestMeta};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::render::{PageContext, render};

/// [`MAX_NOTE_LEN`] as `validator` wants it.
const NOTE_LIMIT: u64 = MAX_NOTE_LEN as u64;

/// Everything a lead's page shows.
struct LeadDetail {
    lead: Lead,
    company: Option<(CompanyNumber, String)>,
    owner: Option<Member>,
    notes: HistoryPage<NoteView>,
    activity: HistoryPage<Activity>,
    /// Its tasks, open ones first.
    tasks: Vec<TaskView>,
    /// Members, for the task form's assignee (active ones are offered).
    members: Vec<(MemberId, String, bool)>,
    /// Whether this shows an older page of either (a link back to the newest).
    paged: bool,
}

/// Where the page's notes and activity start: the newest, or older than a
/// cursor from a "Show older" link.
#[derive(Clone, Debug, Default)]
struct HistoryStart {
    notes: Option<Before>,
    activity: Option<Before>,
}

/// `GET /leads/{id}`'s query: the "Show older" cursors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct HistoryQuery {
    notes_before: Option<String>,
    activity_before: Option<String>,
}

impl HistoryQuery {
    fn parse(self) -> AppResult<HistoryStart> {
        let cursor = |raw: Option<String>| {
            raw.map(|r| Before::parse(&r))
                .transpose()
                .map_err(|e| AppError::BadRequest(format!("history cursor: {e}")))
        };
        Ok(HistoryStart {
            notes: cursor(self.notes_before)?,
            activity: cursor(self.activity_before)?,
        })
    }
}

async fn load_detail(
    db: &Db,
    me: &CurrentMember,
    number: LeadNumber,
    start: HistoryStart,
) -> AppResult<LeadDetail> {
    db.read(&me.tenant.scope, move |tx| read_detail(tx, number, start))
        .await
        .map_err(Into::into)
}

/// The lead numbered `number` with what its page shows, from `start` on.
fn read_detail(
    tx: &mut TenantTx<'_>,
    number: LeadNumber,
    start: HistoryStart,
) -> Result<LeadDetail, QueryError> {
    let lead = tx
        .find_lead_by_number(number)?
        .ok_or(QueryError::NotFound)?;
    let company = match &lead.company_id {
        Some(id) => tx.find_company(id)?.map(|c| (c.number, c.name)),
        None => None,
    };
    let owner = match &lead.owner_id {
        Some(id) => tx.find_member(id)?,
        None => None,
    };
    let notes = tx.list_notes(&lead.id, start.notes.as_ref(), HISTORY_PAGE_SIZE)?;
    let activity = tx.list_activity(&lead.id, start.activity.as_ref(), HISTORY_PAGE_SIZE)?;
    let paged = start.notes.is_some() || start.activity.is_some();
    let tasks = tx.tasks_of_lead(&lead.id)?;
    let members = tx.member_choices()?;
    Ok(LeadDetail {
        lead,
        company,
        owner,
        notes,
        activity,
        tasks,
        members,
        paged,
    })
}

#[derive(Template)]
#[template(path = "leads/show.html")]
struct LeadShowPage {
    ctx: PageContext,
    detail: LeadDetail,
    note_body: String,
    errors: FormErrors,
    max_note_len: usize,
    task_form: TaskForm,
    task_errors: FormErrors,
    /// Today (UTC), against which tasks are overdue.
    today: NaiveDate,
}

/// What one showing of a lead's page is: which lead, the answer's status, and
/// the note form as typed with its messages.
struct ShowView {
    number: LeadNumber,
    status: StatusCode,
    note_body: String,
    errors: FormErrors,
    /// The task form as typed (blank: for the viewer, due tomorrow).
    task_form: Option<TaskForm>,
    task_errors: FormErrors,
    start: HistoryStart,
}

async fn show_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    view: ShowView,
) -> AppResult<HttpResponse> {
    let detail = load_detail(db, me, view.number, view.start.clone()).await?;
    render_show(me, session, view, detail)
}

fn render_show(
    me: &CurrentMember,
    session: &TypedSession,
    view: ShowView,
    detail: LeadDetail,
) -> AppResult<HttpResponse> {
    let today = now().date();
    let task_form = view.task_form.unwrap_or_else(|| TaskForm {
        title: String::new(),
        due_on: today
            .succ_opt()
            .unwrap_or(today)
            .format("%Y-%m-%d")
            .to_string(),
        assignee_id: me.member.id.as_str().to_owned(),
    });
    render(
        view.status,
        &LeadShowPage {
            ctx: PageContext::app(session, me, "leads"),
            detail,
            note_body: view.note_body,
            errors: view.errors,
            max_note_len: MAX_NOTE_LEN,
            task_form,
            task_errors: view.task_errors,
            today,
        },
    )
}

pub(super) async fn show_lead(
    visitor: SignedIn,
    session: TypedSession,
    path: web::Path<LeadNumber>,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    let view = ShowView {
        number: path.into_inner(),
        status: StatusCode::OK,
        note_body: String::new(),
        errors: FormErrors::default(),
        task_form: None,
        task_errors: FormErrors::default(),
        start: query.into_inner().parse()?,
    };
    // The session check and the page's queries in one read.
    let (number, start) = (view.number, view.start.clone());
    let (me, detail) = visitor
        .read(move |tx, _| read_detail(tx, number, start))
        .await?;
    render_show(&me, &session, view, detail)
}

#[tracing::instrument(name = "delete lead", skip_all)]
pub(super) async fn delete_lead(
    meta: RequestMeta,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<LeadNumber>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let actor = actor_of(&me.member);
    db.write(&me.tenant.scope, move |tx| {
        let lead = tx
            .find_lead_by_number(number)?
            .ok_or(QueryError::NotFound)?;
        tx.delete_lead(&lead.id)?;
        tx.record_audit(
            &NewAuditEvent::new(actor, AuditAction::LeadDeleted, &meta)
                .target(format!("lead {}", number.get()))
                .detail(lead.name.clone()),
        )?;
        Ok(())
    })
    .await?;
    tracing::info!(lead.number = number.get(), "lead deleted");
    session.flash("success", "Lead deleted.");
    Ok(see_other("/leads"))
}

/// The note form.
#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub(super) struct NoteForm {
    #[validate(length(max = NOTE_LIMIT, message = "Must be at most 10,000 characters."))]
    body: String,
}

#[tracing::instrument(name = "add note", skip_all)]
pub(super) async fn create_note(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<LeadNumber>,
    form: CsrfForm<NoteForm>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    if let Err(e) = form.validate() {
        errors.extend_from_validation(&e);
    }
    if form.body.trim().is_empty() {
        errors.add("body", "Please write something.");
    }
    if !errors.is_empty() {
        let view = ShowView {
            number,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            note_body: form.body,
            errors,
            task_form: None,
            task_errors: FormErrors::default(),
            start: HistoryStart::default(),
        };
        return show_page(&db, &me, &session, view).await;
    }
    let author = me.member.id.clone();
    let body = form.body.trim_end().to_owned();
    db.write(&me.tenant.scope, move |tx| {
        let lead = tx
            .find_lead_by_number(number)?
            .ok_or(QueryError::NotFound)?;
        tx.add_note(&lead, &author, &body)?;
        Ok(())
    })
    .await?;
    session.flash("success", "Note added.");
    Ok(see_other(&format!("/leads/{number}")))
}

#[tracing::instrument(name = "add task", skip_all)]
pub(super) async fn create_task(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<LeadNumber>,
    form: CsrfForm<TaskForm>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = form.into_inner();
    let refused = |task_errors: FormErrors, form: TaskForm| ShowView {
        number,
        status: StatusCode::UNPROCESSABLE_ENTITY,
        note_body: String::new(),
        errors: FormErrors::default(),
        task_form: Some(form),
        task_errors,
        start: HistoryStart::default(),
    };
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => return show_page(&db, &me, &session, refused(errors, form)).await,
    };
    let actor = me.member.id.clone();
    let added = db
        .write(&me.tenant.scope, move |tx| {
            let lead = tx
                .find_lead_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            tx.add_task(&lead, &input, &actor)
        })
        .await?;
    match added {
        Ok(task) => {
            tracing::info!(lead.number = number.get(), "task added");
            session.flash(
                "success",
                format!("Task added, due {}.", task.due_on.format("%Y-%m-%d")),
            );
            Ok(see_other(&format!("/leads/{number}#tasks")))
        }
        Err(TaskRefusal::UnknownAssignee) => {
            let mut errors = FormErrors::default();
            errors.add("assignee_id", "Choose an active member of this workspace.");
            show_page(&db, &me, &session, refused(errors, form)).await
        }
    }
}
