//! `/api/v1/companies`: the pages' company form and queries, as JSON.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::ApiCaller;
use super::leads::key_actor;
use super::{Page, json, timestamp};
use crate::db::audit::NewAuditEvent;
use crate::db::companies::Company;
use crate::domain::forms::CompanyForm;
use crate::domain::{AuditAction, CompanyNumber, Quota};
use crate::problem::{ApiError, Problem};

/// A company.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyJson {
    /// The company's number in this workspace (as in `/companies/{id}`).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its web domain, may be empty.
    pub domain: String,
    /// When it was added (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
}

impl From<Company> for CompanyJson {
    fn from(c: Company) -> Self {
        Self {
            id: c.number.get(),
            name: c.name,
            domain: c.domain,
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
        }
    }
}

/// A company to create, or the fields of one to change (`PATCH`: only the
/// fields sent change).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyBody {
    /// Its name, 1 to 200 characters (required to create).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Its web domain, e.g. `example.com`, or empty.
    #[schema(max_length = 200)]
    pub domain: Option<String>,
}

impl CompanyBody {
    fn over(self, mut base: CompanyForm) -> CompanyForm {
        if let Some(v) = self.name {
            base.name = v;
        }
        if let Some(v) = self.domain {
            base.domain = v;
        }
        base
    }
}

/// The list's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct CompanyListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists the workspace's companies by name, 50 at a time.
#[utoipa::path(get, path = "/api/v1/companies", tag = "companies",
    params(CompanyListQuery),
    responses(
        (status = 200, description = "A page of companies", body = Page<CompanyJson>),
        (status = 400, description = "Not a cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_companies(
    caller: ApiCaller,
    query: web::Query<CompanyListQuery>,
) -> Result<HttpResponse, ApiError> {
    let after =
        match query.cursor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(c.parse::<CompanyNumber>().map_err(|_| {
                ApiError::BadRequest("cursor: not a cursor of this list.".to_owned())
            })?),
        };
    let page = caller
        .read(move |tx, _| Ok(Ok(tx.list_companies(after)?)))
        .await?;
    let body = Page {
        next_cursor: page.value.next_after.map(|n| n.to_string()),
        data: page
            .value
            .rows
            .into_iter()
            .map(|r| CompanyJson::from(r.company))
            .collect(),
    };
    Ok(json(StatusCode::OK, &page.allowance, &body))
}

/// Creates a company.
#[utoipa::path(post, path = "/api/v1/companies", tag = "companies",
    request_body = CompanyBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = CompanyJson),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key, or the plan's company quota is reached", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fields not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_company(
    caller: ApiCaller,
    body: web::Json<CompanyBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body
        .into_inner()
        .over(CompanyForm::default())
        .parse()
        .map_err(|e| ApiError::invalid(&e))?;
    let limits = caller.tenant.limits.clone();
    let done = caller
        .write(move |tx, _| {
            if let Err(hit) = tx.check_quota(&limits, Quota::Companies, 1)? {
                return Ok(Err(ApiError::over_quota(&hit)));
            }
            Ok(Ok(CompanyJson::from(tx.insert_company(&input)?)))
        })
        .await?;
    let mut response = json(StatusCode::CREATED, &done.allowance, &done.value);
    if let Ok(v) = format!("/api/v1/companies/{}", done.value.id).parse() {
        response
            .headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(response)
}

/// One company.
#[utoipa::path(get, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = i64, Path, description = "The company's number")),
    responses(
        (status = 200, description = "The company", body = CompanyJson),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company here", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn show_company(
    caller: ApiCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let number = CompanyNumber::new(path.into_inner());
    let found = caller
        .read(move |tx, _| {
            Ok(tx
                .find_company_by_number(number)?
                .map(CompanyJson::from)
                .ok_or(ApiError::NotFound))
        })
        .await?;
    Ok(json(StatusCode::OK, &found.allowance, &found.value))
}

/// Changes a company: only the fields sent.
#[utoipa::path(patch, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = i64, Path, description = "The company's number")),
    request_body = CompanyBody,
    responses(
        (status = 200, description = "The company as it is now", body = CompanyJson),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company here", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fields not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_company(
    caller: ApiCaller,
    path: web::Path<i64>,
    body: web::Json<CompanyBody>,
) -> Result<HttpResponse, ApiError> {
    let number = CompanyNumber::new(path.into_inner());
    let body = body.into_inner();
    let done = caller
        .write(move |tx, _| {
            let Some(company) = tx.find_company_by_number(number)? else {
                return Ok(Err(ApiError::NotFound));
            };
            let form = CompanyForm {
                name: company.name.clone(),
                domain: company.domain.clone(),
            };
            let input = match body.over(form).parse() {
                Ok(input) => input,
                Err(errors) => return Ok(Err(ApiError::invalid(&errors))),
            };
            tx.update_company(&company.id, &input)?;
            Ok(tx
                .find_company(&company.id)?
                .map(CompanyJson::from)
                .ok_or(ApiError::NotFound))
        })
        .await?;
    Ok(json(StatusCode::OK, &done.allowance, &done.value))
}

/// Deletes a company; its leads are kept, without a company.
#[utoipa::path(delete, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = i64, Path, description = "The company's number")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A read key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company here", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_company(
    caller: ApiCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let number = CompanyNumber::new(path.into_inner());
    let meta = caller.meta.clone();
    let done = caller
        .write(move |tx, holder| {
            let Some(company) = tx.find_company_by_number(number)? else {
                return Ok(Err(ApiError::NotFound));
            };
            let unlinked = tx.delete_company(&company.id)?;
            tx.record_audit(
                &NewAuditEvent::new(key_actor(holder), AuditAction::CompanyDeleted, &meta)
                    .target(format!("company {}", number.get()))
                    .detail(format!("{}; {unlinked} lead(s) unlinked", company.name)),
            )?;
            Ok(Ok(()))
        })
        .await?;
    let mut response = HttpResponse::NoContent().finish();
    crate::budget::set_key_headers(response.headers_mut(), &done.allowance);
    Ok(response)
}
