//! The JSON API under `/api/v1` on each tenant's host (SPEC.md, "API"), for
//! integrations: API keys or short-lived access tokens as `Authorization: Bearer`
//! ([`caller`]), JSON in and out, errors as problems ([`crate::problem`]), and the
//! OpenAPI document generated from these handlers ([`ApiDoc`]).

pub mod caller;
pub mod companies;
pub mod leads;

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::budget::Allowance;
use crate::problem::{ApiError, Problem};
use crate::tenancy::MAX_BODY_BYTES;
use caller::{ApiCaller, TOKEN_LIFETIME_SECS, TokenKeys};

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A JSON answer with the key's rate-limit headers.
fn json<T: Serialize>(status: StatusCode, allowance: &Allowance, body: &T) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body);
    crate::budget::set_key_headers(response.headers_mut(), allowance);
    response
}

/// A time as the API writes it: RFC 3339 in UTC, to the microsecond.
fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// For fields that `null` empties and leaving out keeps (`PATCH`): absent is
/// `None`, `null` is `Some(None)`.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenJson {
    /// The token, for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds it lives.
    pub expires_in: i64,
}

/// Mints an access token from an API key (sent as the bearer); the token works
/// on this workspace's host only, for 15 minutes, and stops at once if the key is
/// revoked.
#[utoipa::path(post, path = "/api/v1/token", tag = "auth",
    responses(
        (status = 200, description = "A token", body = TokenJson),
        (status = 401, description = "No valid key (a token cannot mint another)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn mint_token(
    caller: ApiCaller,
    keys: web::Data<TokenKeys>,
) -> Result<HttpResponse, ApiError> {
    if !caller.is_key() {
        return Err(ApiError::Unauthorized(
            "Mint an access token with an API key, not with another token.",
        ));
    }
    let checked = caller.read(|_, holder| Ok(Ok(holder.clone()))).await?;
    let token = keys.mint(&caller.tenant, &checked.value)?;
    let expires_at = checked.value.key.expires_at.and_utc().timestamp();
    let body = TokenJson {
        access_token: token,
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME_SECS.min(expires_at - chrono::Utc::now().timestamp()),
    };
    Ok(json(StatusCode::OK, &checked.allowance, &body))
}

/// The workspace and the key a request is made with.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeJson {
    /// The workspace.
    pub tenant: TenantJson,
    /// The key (also for a token minted from it).
    pub key: KeyJson,
    /// The member the key acts for.
    pub member: MemberJson,
}

/// A workspace.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantJson {
    /// Its subdomain.
    pub slug: String,
    /// Its name.
    pub name: String,
}

/// An API key, as the API shows it (never the key).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyJson {
    /// The key's id (the `sub` of its tokens).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its first characters.
    pub prefix: String,
    /// `read` or `write`.
    pub scope: String,
    /// When it stops working (RFC 3339, UTC).
    pub expires_at: String,
}

/// A member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    /// Their id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
}

/// Who is asking: the workspace, the key and its member.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, description = "The workspace and the key", body = MeJson),
        (status = 401, description = "No valid key or token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the budget", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn me(caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let checked = caller.read(|_, holder| Ok(Ok(holder.clone()))).await?;
    let holder = &checked.value;
    let body = MeJson {
        tenant: TenantJson {
            slug: caller.tenant.slug.to_string(),
            name: caller.tenant.name.clone(),
        },
        key: KeyJson {
            id: holder.key.id.clone(),
            name: holder.key.name.clone(),
            prefix: holder.key.prefix.clone(),
            scope: holder.key.scope().as_str().to_owned(),
            expires_at: timestamp(holder.key.expires_at),
        },
        member: MemberJson {
            id: holder.member.id.as_str().to_owned(),
            name: holder.member.name.clone(),
            email: holder.member.email.clone(),
        },
    };
    Ok(json(StatusCode::OK, &checked.allowance, &body))
}

/// The OpenAPI document of every route here, generated from the handlers'
/// annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenantry API",
        description = "The JSON API of one Tenantry workspace, on the workspace's own host."
    ),
    paths(
        mint_token,
        me,
        leads::list_leads,
        leads::create_lead,
        leads::show_lead,
        leads::update_lead,
        leads::delete_lead,
        leads::list_notes,
        leads::create_note,
        companies::list_companies,
        companies::create_company,
        companies::show_company,
        companies::update_company,
        companies::delete_company,
        openapi_json,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Keys, tokens and who is asking"),
        (name = "leads", description = "Leads and their notes"),
        (name = "companies", description = "Companies"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`tnt_...`) or an access token from `POST /api/v1/token`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "auth",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.as_str())
}

/// Registers `/api/v1` (inside the tenant scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(|e, _| json_error(e).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::BadRequest(format!("query: {e}")).into()),
            )
            .route("/token", web::post().to(mint_token))
            .route("/me", web::get().to(me))
            .route("/openapi.json", web::get().to(openapi_json))
            .route("/leads", web::get().to(leads::list_leads))
            .route("/leads", web::post().to(leads::create_lead))
            .route("/leads/{id}", web::get().to(leads::show_lead))
            .route("/leads/{id}", web::patch().to(leads::update_lead))
            .route("/leads/{id}", web::delete().to(leads::delete_lead))
            .route("/leads/{id}/notes", web::get().to(leads::list_notes))
            .route("/leads/{id}/notes", web::post().to(leads::create_note))
            .route("/companies", web::get().to(companies::list_companies))
            .route("/companies", web::post().to(companies::create_company))
            .route("/companies/{id}", web::get().to(companies::show_company))
            .route(
                "/companies/{id}",
                web::patch().to(companies::update_company),
            )
            .route(
                "/companies/{id}",
                web::delete().to(companies::delete_company),
            )
            .default_service(web::to(no_route)),
    );
}

/// A path under `/api/v1` that is no route, or a method a route does not take.
async fn no_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// What a body that is not the JSON a route takes is answered with: 400 for
/// JSON that does not parse, 422 for JSON of the wrong shape, 413 and 415.
fn json_error(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::invalid_field("body", e.to_string())
        }
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("JSON: {e}")),
        other => ApiError::BadRequest(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_every_route_it_serves() {
        let doc = ApiDoc::openapi();
        let json = doc.to_json().unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(value["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = value["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/api/v1/token", &["post"][..]),
            ("/api/v1/me", &["get"]),
            ("/api/v1/openapi.json", &["get"]),
            ("/api/v1/leads", &["get", "post"]),
            ("/api/v1/leads/{id}", &["get", "patch", "delete"]),
            ("/api/v1/leads/{id}/notes", &["get", "post"]),
            ("/api/v1/companies", &["get", "post"]),
            ("/api/v1/companies/{id}", &["get", "patch", "delete"]),
        ] {
            for m in methods {
                assert!(
                    paths[path].get(*m).is_some(),
                    "{m} {path} is not documented"
                );
            }
        }
        assert_eq!(paths.len(), 8);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = chrono::DateTime::from_timestamp(1_764_720_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(timestamp(at), "2025-12-03T00:00:00.000000Z");
    }
}
