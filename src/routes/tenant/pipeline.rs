//! The pipeline board (`GET /pipeline`): a column per status with its count and
//! value and its first cards, the list's filters (owner, company, `q`), and the
//! move of a card (`POST /leads/{id}/status`). Every card has a small form, so
//! the board works without JavaScript; `static/pipeline.js` adds drag and drop,
//! saving with the same form and putting the card back if the save is refused.

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::leads::LeadListQuery;
use crate::auth::{CsrfForm, CurrentMember, SignedIn, TypedSession};
use crate::db::leads::BoardColumn;
use crate::db::{Db, QueryError};
use crate::domain::{CompanyNumber, LeadNumber, LeadStatus, MemberId};
use crate::error::AppResult;
use crate::http::{safe_next, see_other};
use crate::render::{PageContext, render};

/// Cards a column shows; the rest are a link to the list.
pub const CARDS_PER_COLUMN: i64 = 20;
/// Most companies offered in the board's company filter.
const MAX_COMPANY_CHOICES: i64 = 200;

#[derive(Template)]
#[template(path = "pipeline.html")]
struct BoardPage {
    ctx: PageContext,
    query: LeadListQuery,
    columns: Vec<BoardColumn>,
    members: Vec<(MemberId, String, bool)>,
    companies: Option<Vec<(CompanyNumber, String)>>,
    statuses: [LeadStatus; 6],
    /// Where a card's form comes back to (this board, with its filters).
    here: String,
    /// The filters as a query string, for the "all in the list" links.
    qs: String,
    alert: Option<String>,
}

impl BoardPage {
    fn list_link(&self, status: &LeadStatus) -> String {
        if self.qs.is_empty() {
            format!("/leads?status={}", status.as_str())
        } else {
            format!("/leads?status={}&{}", status.as_str(), self.qs)
        }
    }
}

async fn board_page(
    visitor: SignedIn,
    session: TypedSession,
    query: LeadListQuery,
    alert: Option<String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let mut filter = query.filter();
    filter.status = None;
    let (me, (columns, members, companies)) = visitor
        .read(move |tx, _| {
            let companies = tx.company_choices_within(MAX_COMPANY_CHOICES)?;
            Ok((
                tx.board(&filter, CARDS_PER_COLUMN)?,
                tx.member_choices()?,
                companies,
            ))
        })
        .await?;
    let query = LeadListQuery {
        status: String::new(),
        ..query
    };
    let qs = query.filter_query_string();
    let here = if qs.is_empty() {
        "/pipeline".to_owned()
    } else {
        format!("/pipeline?{qs}")
    };
    render(
        status,
        &BoardPage {
            ctx: PageContext::app(&session, &me, "pipeline"),
            query,
            columns,
            members,
            companies,
            statuses: LeadStatus::ALL,
            here,
            qs,
            alert,
        },
    )
}

pub(super) async fn show_pipeline(
    visitor: SignedIn,
    session: TypedSession,
    query: web::Query<LeadListQuery>,
) -> AppResult<HttpResponse> {
    board_page(visitor, session, query.into_inner(), None, StatusCode::OK).await
}

/// A card's move.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StatusForm {
    status: String,
    /// The board (with its filters) to come back to.
    next: String,
}

/// Whether the request asked for JSON (the board's script does).
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

#[tracing::instrument(name = "move lead", skip_all)]
pub(super) async fn change_status(
    req: HttpRequest,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<LeadNumber>,
    form: CsrfForm<StatusForm>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = form.into_inner();
    let json = wants_json(&req);
    let Ok(status) = form.status.trim().parse::<LeadStatus>() else {
        // Another tenant's number is a 404 whatever the form says.
        db.read(&me.tenant.scope, move |tx| {
            tx.find_lead_by_number(number)?
                .map(|_| ())
                .ok_or(QueryError::NotFound)
        })
        .await?;
        let message = "Choose one of new, contacted, qualified, proposal, won or lost.";
        if json {
            return Ok(HttpResponse::UnprocessableEntity()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(serde_json::json!({ "error": message })));
        }
        // The board again, with the message: nothing moved.
        let visitor =
            SignedIn::from_request(&req, &mut actix_web::dev::Payload::None).into_inner()?;
        let query = web::Query::<LeadListQuery>::from_query(
            safe_next(Some(&form.next))
                .split_once('?')
                .map_or("", |(_, q)| q),
        )
        .map(web::Query::into_inner)
        .unwrap_or_default();
        return board_page(
            visitor,
            session,
            query,
            Some(message.to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let actor = me.member.id.clone();
    let (name, from) = db
        .write(&me.tenant.scope, move |tx| {
            let lead = tx
                .find_lead_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            tx.change_lead_status(&lead, status, &actor)?;
            Ok((lead.name, lead.status))
        })
        .await?;
    tracing::info!(
        lead.number = number.get(),
        to = status.as_str(),
        "lead moved"
    );
    if json {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "lead": number.get(),
                "from": from.as_str(),
                "status": status.as_str(),
            })));
    }
    session.flash("success", format!("{name} moved to {}.", status.as_str()));
    let next = safe_next(Some(&form.next));
    let next = if next == "/" {
        "/pipeline".to_owned()
    } else {
        next
    };
    Ok(see_other(&next))
}
