//! `/api/v1/leads`: the lead list, a lead, its notes. Validation, scoping, quotas
//! and the audit log are the pages' own (`LeadForm::parse`, the `TenantTx`
//! methods), so the API accepts exactly what the forms accept.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::ApiCaller;
use super::{Page, json, nullable, timestamp};
use crate::db::QueryResult;
use crate::db::audit::NewAuditEvent;
use crate::db::leads::{LeadFilter, LeadRow, MAX_LEAD_LIST_PAGE_SIZE};
use crate::db::notes::HISTORY_PAGE_SIZE;
use crate::domain::forms::LeadForm;
use crate::domain::{
    Actor, AuditAction, Before, CompanyNumber, LeadNumber, LeadSort, LeadStatus, MAX_NOTE_LEN,
    MemberId, Quota, format_money,
};
use crate::problem::{ApiError, Problem};

/// A lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadJson {
    /// The lead's number in this workspace (as in `/leads/{id}`).
    pub id: i64,
    /// The person's name.
    pub name: String,
    /// Email, may be empty.
    pub email: String,
    /// Phone, may be empty.
    pub phone: String,
    /// Their company, if any.
    pub company: Option<CompanyRef>,
    /// One of `new`, `contacted`, `qualified`, `proposal`, `won`, `lost`.
    pub status: String,
    /// The deal's value, a decimal with two places, e.g. `1250.00`.
    pub value: String,
    /// The member who owns it, if any.
    pub owner: Option<MemberRef>,
    /// Where it came from, may be empty.
    pub source: String,
    /// When it was added (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
}

/// A company, as a lead names it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyRef {
    /// The company's number.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// A member, as a lead or a note names them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRef {
    /// The member's id (as the lead form's `owner_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Their name.
    pub name: String,
}

impl LeadJson {
    fn of(row: LeadRow) -> Self {
        let LeadRow {
            lead,
            company,
            owner,
        } = row;
        Self {
            id: lead.number.get(),
            name: lead.name,
            email: lead.email,
            phone: lead.phone,
            company: company.map(|(n, name)| CompanyRef { id: n.get(), name }),
            status: lead.status.as_str().to_owned(),
            value: format_money(lead.value),
            owner: lead.owner_id.zip(owner).map(|(id, (name, _))| MemberRef {
                id: Some(id.as_str().to_owned()),
                name,
            }),
            source: lead.source,
            created_at: timestamp(lead.created_at),
            updated_at: timestamp(lead.updated_at),
        }
    }
}

/// A lead to create, or the fields of one to change (`PATCH`: only the fields
/// sent change; `null` empties `company` and `owner`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadBody {
    /// The person's name, 1 to 200 characters (required to create).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Email, or empty.
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Phone, or empty.
    #[schema(max_length = 200)]
    pub phone: Option<String>,
    /// A company's number in this workspace, or `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub company: Option<Option<i64>>,
    /// `new` (the default), `contacted`, `qualified`, `proposal`, `won` or `lost`.
    pub status: Option<String>,
    /// An amount such as `1250.50`, or empty for zero.
    #[schema(max_length = 40)]
    pub value: Option<String>,
    /// An active member's id, or `null` for none. Creating without it makes the
    /// key's member the owner.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub owner: Option<Option<String>>,
    /// Where the lead came from, or empty.
    #[schema(max_length = 200)]
    pub source: Option<String>,
}

impl LeadBody {
    /// The form these fields make over `base` (a lead's current values, or a new
    /// lead's defaults).
    fn over(self, mut base: LeadForm) -> LeadForm {
        if let Some(v) = self.name {
            base.name = v;
        }
        if let Some(v) = self.email {
            base.email = v;
        }
        if let Some(v) = self.phone {
            base.phone = v;
        }
        if let Some(v) = self.company {
            base.company_id = v.map(|n| n.to_string()).unwrap_or_default();
        }
        if let Some(v) = self.status {
            base.status = v;
        }
        if let Some(v) = self.value {
            base.value = v;
        }
        if let Some(v) = self.owner {
            base.owner_id = v.unwrap_or_default();
        }
        if let Some(v) = self.source {
            base.source = v;
        }
        base
    }
}

/// The list's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct LeadListQuery {
    /// Words to find in name, email or company name.
    q: Option<String>,
    /// Only this status.
    status: Option<String>,
    /// Only this owner (a member's id).
    owner: Option<String>,
    /// Only this company (its number).
    company: Option<i64>,
    /// `updated` (the default), `created`, `name` or `value`.
    sort: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Leads per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

impl LeadListQuery {
    fn filter(&self) -> Result<LeadFilter, ApiError> {
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<LeadStatus>()
                    .map_err(|_| ApiError::BadRequest(format!("status: `{s}` is not a status.")))?,
            ),
        };
        Ok(LeadFilter {
            q: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_owned),
            status,
            owner: self
                .owner
                .as_deref()
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| MemberId::from_string(o.to_owned())),
            company: self.company.map(CompanyNumber::new),
            sort: LeadSort::parse(self.sort.as_deref().unwrap_or_default()),
        })
    }

    fn cursor(&self) -> Result<Option<LeadNumber>, ApiError> {
        match self.cursor.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(c) => c
                .parse::<LeadNumber>()
                .map(Some)
                .map_err(|_| ApiError::BadRequest("cursor: not a cursor of this list.".to_owned())),
        }
    }

    fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=MAX_LEAD_LIST_PAGE_SIZE).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::BadRequest(format!(
                "limit: from 1 to {MAX_LEAD_LIST_PAGE_SIZE}."
            ))),
        }
    }
}

/// Lists the workspace's leads, a page at a time.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads",
    params(LeadListQuery),
    responses(
        (status = 200, description = "A page of leads", body = Page<LeadJson>),
        (status = 400, description = "A query value is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_leads(
    caller: ApiCaller,
    query: web::Query<LeadListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (filter, after, limit) = (query.filter()?, query.cursor()?, query.limit()?);
    let page = caller
        .read(move |tx, _| Ok(Ok(tx.lead_page(&filter, after, limit)?)))
        .await?;
    let body = Page {
        next_cursor: page.value.next_after.map(|n| n.to_string()),
        data: page.value.rows.into_iter().map(LeadJson::of).collect(),
    };
    Ok(json(StatusCode::OK, &page.allowance, &body))
}

/// A lead by number, with its company and owner.
fn lead_json(tx: &mut crate::db::TenantTx<'_>, number: i64) -> QueryResult<Option<LeadJson>> {
    let Some(lead) = tx.find_lead_by_number(LeadNumber::new(number))? else {
        return Ok(None);
    };
    Ok(tx
        .describe_leads(vec![lead])?
        .into_iter()
        .next()
        .map(LeadJson::of))
}

/// Creates a lead.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads",
    request_body = LeadBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = LeadJson),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key, or the plan's lead quota is reached", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fields not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_lead(
    caller: ApiCaller,
    body: web::Json<LeadBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let limits = caller.tenant.limits.clone();
    let done = caller
        .write(move |tx, holder| {
            let defaults = LeadForm {
                status: LeadStatus::New.as_str().to_owned(),
                owner_id: holder.member.id.as_str().to_owned(),
                ..LeadForm::default()
            };
            let input = match body.over(defaults).parse() {
                Ok(input) => input,
                Err(errors) => return Ok(Err(ApiError::invalid(&errors))),
            };
            // Counted under the tenant's write lock, as the form does.
            if let Err(hit) = tx.check_quota(&limits, Quota::Leads, 1)? {
                return Ok(Err(ApiError::over_quota(&hit)));
            }
            match tx.create_lead(&input, &holder.member.id)? {
                Ok(lead) => Ok(lead_json(tx, lead.number.get())?.ok_or(ApiError::NotFound)),
                Err(refusal) => Ok(Err(ApiError::invalid(&refusal.to_errors()))),
            }
        })
        .await?;
    tracing::info!(lead.number = done.value.id, "lead created through the API");
    let mut response = json(StatusCode::CREATED, &done.allowance, &done.value);
    if let Ok(v) = format!("/api/v1/leads/{}", done.value.id).parse() {
        response
            .headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(response)
}

/// One lead.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "The lead's number")),
    responses(
        (status = 200, description = "The lead", body = LeadJson),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lead here", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn show_lead(caller: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let found = caller
        .read(move |tx, _| Ok(lead_json(tx, number)?.ok_or(ApiError::NotFound)))
        .await?;
    Ok(json(StatusCode::OK, &found.allowance, &found.value))
}

/// Changes a lead: only the fields sent.
#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "The lead's number")),
    request_body = LeadBody,
    responses(
        (status = 200, description = "The lead as it is now", body = LeadJson),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lead here", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fields not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_lead(
    caller: ApiCaller,
    path: web::Path<i64>,
    body: web::Json<LeadBody>,
) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let body = body.into_inner();
    let done = caller
        .write(move |tx, holder| {
            let Some(lead) = tx.find_lead_by_number(LeadNumber::new(number))? else {
                return Ok(Err(ApiError::NotFound));
            };
            let company = match &lead.company_id {
                Some(id) => tx.find_company(id)?.map(|c| c.number),
                None => None,
            };
            let input = match body.over(lead.form(company)).parse() {
                Ok(input) => input,
                Err(errors) => return Ok(Err(ApiError::invalid(&errors))),
            };
            if let Err(refusal) = tx.update_lead(&lead, &input, &holder.member.id)? {
                return Ok(Err(ApiError::invalid(&refusal.to_errors())));
            }
            Ok(lead_json(tx, number)?.ok_or(ApiError::NotFound))
        })
        .await?;
    Ok(json(StatusCode::OK, &done.allowance, &done.value))
}

/// Deletes a lead (and its notes).
#[utoipa::path(delete, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "The lead's number")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lead here", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_lead(
    caller: ApiCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let meta = caller.meta.clone();
    let done = caller
        .write(move |tx, holder| {
            let Some(lead) = tx.find_lead_by_number(LeadNumber::new(number))? else {
                return Ok(Err(ApiError::NotFound));
            };
            tx.delete_lead(&lead.id)?;
            tx.record_audit(
                &NewAuditEvent::new(key_actor(holder), AuditAction::LeadDeleted, &meta)
                    .target(format!("lead {number}"))
                    .detail(lead.name.clone()),
            )?;
            Ok(Ok(()))
        })
        .await?;
    let mut response = HttpResponse::NoContent().finish();
    crate::budget::set_key_headers(response.headers_mut(), &done.allowance);
    Ok(response)
}

/// The actor of what a key does.
pub(super) fn key_actor(holder: &crate::db::api_keys::KeyHolder) -> Actor {
    Actor::ApiKey {
        id: holder.key.id.clone(),
        label: holder.key.name.clone(),
    }
}

/// A note on a lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteJson {
    /// What it says.
    pub body: String,
    /// Who wrote it (`null` if they were removed).
    pub author: Option<MemberRef>,
    /// When (RFC 3339, UTC).
    pub created_at: String,
}

/// A note to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// The note, 1 to 10,000 characters.
    #[schema(max_length = 10000)]
    pub body: String,
}

/// The notes list's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct NoteListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A lead's notes, newest first.
#[utoipa::path(get, path = "/api/v1/leads/{id}/notes", tag = "leads",
    params(("id" = i64, Path, description = "The lead's number"), NoteListQuery),
    responses(
        (status = 200, description = "A page of notes", body = Page<NoteJson>),
        (status = 400, description = "Not a cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lead here", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_notes(
    caller: ApiCaller,
    path: web::Path<i64>,
    query: web::Query<NoteListQuery>,
) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let before =
        match query.cursor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(Before::parse(c).map_err(|_| {
                ApiError::BadRequest("cursor: not a cursor of this list.".to_owned())
            })?),
        };
    let page = caller
        .read(move |tx, _| {
            let Some(lead) = tx.find_lead_by_number(LeadNumber::new(number))? else {
                return Ok(Err(ApiError::NotFound));
            };
            Ok(Ok(tx.list_notes(
                &lead.id,
                before.as_ref(),
                HISTORY_PAGE_SIZE,
            )?))
        })
        .await?;
    let body = Page {
        next_cursor: page.value.older.map(|b| b.to_query_value()),
        data: page
            .value
            .items
            .into_iter()
            .map(|n| NoteJson {
                body: n.body,
                author: n.author_name.map(|name| MemberRef { id: None, name }),
                created_at: timestamp(n.created_at),
            })
            .collect(),
    };
    Ok(json(StatusCode::OK, &page.allowance, &body))
}

/// Adds a note to a lead, written by the key's member.
#[utoipa::path(post, path = "/api/v1/leads/{id}/notes", tag = "leads",
    params(("id" = i64, Path, description = "The lead's number")),
    request_body = NoteBody,
    responses(
        (status = 201, description = "Added", body = NoteJson),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lead here", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fields not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_note(
    caller: ApiCaller,
    path: web::Path<i64>,
    body: web::Json<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let text = body.into_inner().body.trim_end().to_owned();
    if text.trim().is_empty() {
        return Err(ApiError::invalid_field("body", "Please write something."));
    }
    if text.chars().count() > MAX_NOTE_LEN {
        return Err(ApiError::invalid_field(
            "body",
            "Must be at most 10,000 characters.",
        ));
    }
    let done = caller
        .write(move |tx, holder| {
            let Some(lead) = tx.find_lead_by_number(LeadNumber::new(number))? else {
                return Ok(Err(ApiError::NotFound));
            };
            tx.add_note(&lead, &holder.member.id, &text)?;
            Ok(Ok(NoteJson {
                body: text,
                author: Some(MemberRef {
                    id: Some(holder.member.id.as_str().to_owned()),
                    name: holder.member.name.clone(),
                }),
                created_at: timestamp(crate::db::now()),
            }))
        })
        .await?;
    Ok(json(StatusCode::CREATED, &done.allowance, &done.value))
}
