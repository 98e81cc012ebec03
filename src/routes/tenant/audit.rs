//! The audit log for admins: `GET /settings/audit` pages through it newest
//! first, filtered by action and actor; `GET /settings/audit.csv` exports it.
//! Both only read.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{AdminMember, CurrentMember, TypedSession};
use crate::db::Db;
use crate::db::audit::{
    AUDIT_CSV_HEADER, ActorFilter, AuditCursor, AuditEntry, AuditFilter, AuditPage,
};
use crate::db::users::Member;
use crate::domain::{ActorKind, AuditAction, MemberId};
use crate::error::{AppError, AppResult};
use crate::render::{PageContext, render};

/// Records that a download (a read) happened, in a small write of its own
/// before the first byte. While a move pauses the tenant's writes, reads go on
/// (SPEC, `tenants move`): the download is then served and the missing entry
/// is logged instead, rather than answering 503.
pub(super) async fn record_download(
    db: &Db,
    scope: &crate::db::TenantScope,
    event: crate::db::audit::NewAuditEvent,
) -> AppResult<()> {
    let action = event.action;
    match db.write(scope, move |tx| tx.record_audit(&event)).await {
        Ok(()) => Ok(()),
        Err(crate::db::DbError::WritesPaused) => {
            tracing::warn!(
                audit.action = action.as_str(),
                "a download was not recorded in the audit log: the tenant's writes are paused"
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Entries per page.
pub(super) const AUDIT_PAGE_SIZE: i64 = 50;
/// Entries read per query while exporting.
const EXPORT_PAGE_ROWS: i64 = 1_000;

/// The page's query: filters and a cursor, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct AuditQuery {
    action: String,
    actor: String,
    before: Option<String>,
    after: Option<String>,
}

/// The actor choices that are kinds rather than one member.
const ACTOR_KINDS: [(&str, ActorKind); 4] = [
    ("kind:operator", ActorKind::Operator),
    ("kind:system", ActorKind::System),
    ("kind:anonymous", ActorKind::Anonymous),
    ("kind:api_key", ActorKind::ApiKey),
];

impl AuditQuery {
    /// The filter and cursor it names; a value that names nothing is a 400.
    fn parse(&self) -> AppResult<(AuditFilter, Option<AuditCursor>)> {
        let bad = |what: &str| AppError::BadRequest(format!("That is not a valid {what}."));
        let action = match self.action.trim() {
            "" => None,
            a => Some(AuditAction::parse(a).ok_or_else(|| bad("action"))?),
        };
        let actor = match self.actor.trim() {
            "" => None,
            a => match ACTOR_KINDS.iter().find(|(name, _)| *name == a) {
                Some((_, kind)) => Some(ActorFilter::Kind(*kind)),
                None => {
                    let id = a.strip_prefix("member:").ok_or_else(|| bad("actor"))?;
                    let id_ok = !id.is_empty()
                        && id.len() <= 64
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    if !id_ok {
                        return Err(bad("actor"));
                    }
                    Some(ActorFilter::Member(MemberId::from_string(id.to_owned())))
                }
            },
        };
        let number = |raw: &str| raw.trim().parse::<i64>().ok().filter(|n| *n > 0);
        let cursor = match (self.before.as_deref(), self.after.as_deref()) {
            (Some(b), _) if !b.is_empty() => {
                Some(AuditCursor::Before(number(b).ok_or_else(|| bad("page"))?))
            }
            (_, Some(a)) if !a.is_empty() => {
                Some(AuditCursor::After(number(a).ok_or_else(|| bad("page"))?))
            }
            _ => None,
        };
        Ok((AuditFilter { action, actor }, cursor))
    }

    /// A link to this filter, at `cursor`.
    fn url(&self, path: &str, cursor: Option<AuditCursor>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.action.trim().is_empty() {
            pairs.push(("action", self.action.trim().to_owned()));
        }
        if !self.actor.trim().is_empty() {
            pairs.push(("actor", self.actor.trim().to_owned()));
        }
        match cursor {
            Some(AuditCursor::Before(n)) => pairs.push(("before", n.to_string())),
            Some(AuditCursor::After(n)) => pairs.push(("after", n.to_string())),
            None => {}
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPageView {
    ctx: PageContext,
    entries: Vec<AuditEntry>,
    actions: Vec<&'static str>,
    action: String,
    actor: String,
    /// `(value, label)` of every actor choice.
    actors: Vec<(String, String)>,
    filtered: bool,
    newer_url: Option<String>,
    older_url: Option<String>,
    csv_url: String,
}

/// The actor choices: each member, then the kinds.
fn actor_choices(members: &[Member]) -> Vec<(String, String)> {
    let mut choices: Vec<(String, String)> = members
        .iter()
        .map(|m| (format!("member:{}", m.id.as_str()), m.email.clone()))
        .collect();
    choices.extend(ACTOR_KINDS.iter().map(|(value, kind)| {
        (
            (*value).to_owned(),
            format!("({})", kind.as_str().replace('_', " ")),
        )
    }));
    choices
}

/// `GET /settings/audit`.
#[tracing::instrument(name = "show audit log", skip_all)]
pub(super) async fn show_audit_log(
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let (filter, cursor) = query.parse()?;
    let (page, members): (AuditPage, Vec<Member>) = db
        .read(&me.tenant.scope, move |tx| {
            Ok((
                tx.audit_page(&filter, cursor, AUDIT_PAGE_SIZE)?,
                tx.list_members()?,
            ))
        })
        .await?;
    render(StatusCode::OK, &view(&session, &me, &query, page, &members))
}

fn view(
    session: &TypedSession,
    me: &CurrentMember,
    query: &AuditQuery,
    page: AuditPage,
    members: &[Member],
) -> AuditPageView {
    AuditPageView {
        ctx: PageContext::app(session, me, "settings"),
        actions: AuditAction::ALL.iter().map(|a| a.as_str()).collect(),
        action: query.action.trim().to_owned(),
        actor: query.actor.trim().to_owned(),
        actors: actor_choices(members),
        filtered: !query.action.trim().is_empty() || !query.actor.trim().is_empty(),
        newer_url: page.newer.map(|c| query.url("/settings/audit", Some(c))),
        older_url: page.older.map(|c| query.url("/settings/audit", Some(c))),
        csv_url: query.url("/settings/audit.csv", None),
        entries: page.entries,
    }
}

struct ExportState {
    db: Db,
    me: CurrentMember,
    filter: AuditFilter,
    cursor: Option<AuditCursor>,
    first: bool,
    done: bool,
}

/// `GET /settings/audit.csv`: the log newest first, with the page's filters,
/// read a page at a time as the client takes it.
#[tracing::instrument(name = "export audit log", skip_all)]
pub(super) async fn export_audit_log(
    AdminMember(me): AdminMember,
    db: web::Data<Db>,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let (filter, _) = query.into_inner().parse()?;
    let state = ExportState {
        db: db.get_ref().clone(),
        me,
        filter,
        cursor: None,
        first: true,
        done: false,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let (filter, cursor) = (st.filter.clone(), st.cursor);
        let page = st
            .db
            .read(&st.me.tenant.scope, move |tx| {
                tx.audit_page(&filter, cursor, EXPORT_PAGE_ROWS)
            })
            .await;
        let chunk = page.map_err(AppError::from).and_then(|page| {
            st.done = page.older.is_none();
            st.cursor = page.older;
            super::lead_csv::csv_chunk(
                st.first.then_some(&AUDIT_CSV_HEADER[..]),
                page.entries.iter().map(AuditEntry::csv_record),
            )
        });
        st.first = false;
        if chunk.is_err() {
            // The status line is gone already; stop, the log has the cause.
            st.done = true;
        }
        Some((chunk, st))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"audit.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(stream))
}
