//! Errors of the API as `application/problem+json` (RFC 9457): `type`, `title`,
//! `status`, `detail`, and for 422 `errors` by field. Every refusal on `/api`
//! answers in this form, including those made before routing (a tenant past its
//! budget, a workspace that is unavailable).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::budget::Allowance;
use crate::db::DbError;
use crate::domain::QuotaHit;
use crate::domain::forms::FormErrors;
use crate::error::{AppError, UNAVAILABLE_RETRY_AFTER_SECS};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem, as the body says it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status's name, e.g. `Unprocessable Entity`.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// For 422: a message per field of the request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

/// An API refusal.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, a bad query value).
    BadRequest(String),
    /// 401: credentials that do not hold here.
    Unauthorized(&'static str),
    /// 401: no credentials at all.
    NoCredentials,
    /// 403: the key may not do this, or a quota of the plan is reached.
    Forbidden(String),
    /// 404: nothing here (or it belongs to another workspace: the same answer).
    NotFound,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: messages by field.
    Invalid(BTreeMap<String, String>),
    /// 429: past the key's own budget.
    KeyOverBudget {
        /// Seconds until one more request is allowed.
        retry_after: u64,
        /// The key's budget, requests per minute.
        limit: u32,
    },
    /// Anything the pages answer too (503 while moving, 500, ...).
    App(AppError),
}

impl ApiError {
    /// 422 from a form's messages, its field names mapped to the API's.
    pub fn invalid(errors: &FormErrors) -> Self {
        ApiError::Invalid(
            errors
                .iter()
                .map(|(field, message)| (api_field(field).to_owned(), message.to_owned()))
                .collect(),
        )
    }

    /// 403 for a quota of the plan.
    pub fn over_quota(hit: &QuotaHit) -> Self {
        ApiError::Forbidden(hit.to_string())
    }

    /// 422 with one message.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), message.into());
        ApiError::Invalid(errors)
    }
}

/// The API's name of a form field.
fn api_field(form_field: &str) -> &str {
    match form_field {
        "company_id" => "company",
        "owner_id" => "owner",
        "form" => "body",
        other => other,
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::App(e) => write!(f, "{e}"),
            other => write!(f, "{}", other.detail()),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound | AppError::Database(diesel::result::Error::NotFound) => {
                ApiError::NotFound
            }
            AppError::BadRequest(m) => ApiError::BadRequest(m),
            AppError::PayloadTooLarge => ApiError::PayloadTooLarge,
            other => ApiError::App(other),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        AppError::from(e).into()
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl ApiError {
    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest(m) => m.clone(),
            ApiError::Unauthorized(why) => (*why).to_owned(),
            ApiError::NoCredentials => {
                "Send an API key or an access token as `Authorization: Bearer ...`.".to_owned()
            }
            ApiError::Forbidden(m) => m.clone(),
            ApiError::NotFound => {
                "There is nothing here, or it belongs to another workspace.".to_owned()
            }
            ApiError::PayloadTooLarge => {
                "The body is larger than a request may carry (1 MiB).".to_owned()
            }
            ApiError::UnsupportedMediaType => {
                "Send the body as JSON, with Content-Type: application/json.".to_owned()
            }
            ApiError::Invalid(_) => "Some fields are not valid; see `errors`.".to_owned(),
            ApiError::KeyOverBudget { limit, .. } => format!(
                "This API key made more than its {limit} requests a minute. Wait as long as Retry-After says."
            ),
            ApiError::App(e) => app_detail(e),
        }
    }
}

/// What a page error says, in the API's words.
fn app_detail(e: &AppError) -> String {
    match e {
        AppError::OverBudget { limit, .. } => format!(
            "This workspace made more than its plan's {limit} requests a minute. Wait as long as Retry-After says."
        ),
        AppError::WorkspaceMoving { .. } => {
            "The workspace is being moved: changes are paused for a few seconds; reading goes on. Try again after Retry-After."
                .to_owned()
        }
        AppError::WorkspaceUnavailable(_) | AppError::Unavailable(_) => {
            "The workspace's database is unavailable for a moment. Try again after Retry-After."
                .to_owned()
        }
        AppError::NoWorkspace { .. } => "No workspace exists at this host.".to_owned(),
        AppError::BadHost => "This server does not answer for that host name.".to_owned(),
        AppError::Forbidden => "Not allowed.".to_owned(),
        AppError::TooManyRequests { .. } => "Too many requests; try again later.".to_owned(),
        AppError::Database(_) | AppError::Render(_) | AppError::Internal(_) => {
            "An unexpected error stopped this request. It has been logged.".to_owned()
        }
        other => other.to_string(),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::NoCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::KeyOverBudget { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::App(e) => match e {
                // A page's "log in" is a redirect; the API has no log-in page.
                AppError::LoginRequired { .. } => StatusCode::UNAUTHORIZED,
                AppError::Csrf => StatusCode::FORBIDDEN,
                other => other.status_code(),
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            if let ApiError::App(e) = self {
                // The pages' error response logs the chain; the API's does too.
                let _ = e.error_response();
            }
        }
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Invalid(errors) => Some(errors.clone()),
                _ => None,
            },
        };
        let mut response = HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(serde_json::to_string(&problem).unwrap_or_default());
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: no error code when the request had no credentials.
            let challenge = match self {
                ApiError::Unauthorized(_) => "Bearer realm=\"api\", error=\"invalid_token\"",
                _ => "Bearer realm=\"api\"",
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        let retry_after = match self {
            ApiError::KeyOverBudget { retry_after, limit } => {
                crate::budget::set_key_headers(
                    headers,
                    &Allowance {
                        limit: *limit,
                        remaining: 0,
                        reset: *retry_after,
                    },
                );
                Some(*retry_after)
            }
            ApiError::App(AppError::OverBudget { retry_after, limit }) => {
                crate::budget::set_headers(
                    headers,
                    &Allowance {
                        limit: *limit,
                        remaining: 0,
                        reset: *retry_after,
                    },
                );
                Some(*retry_after)
            }
            ApiError::App(
                AppError::TooManyRequests { retry_after }
                | AppError::WorkspaceMoving { retry_after },
            ) => Some(*retry_after),
            ApiError::App(AppError::Unavailable(_) | AppError::WorkspaceUnavailable(_)) => {
                Some(UNAVAILABLE_RETRY_AFTER_SECS)
            }
            _ => None,
        };
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Whether a request path is the API's (its refusals are problems, not pages).
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_status_and_fields() {
        let mut form = FormErrors::default();
        form.add("company_id", "No such company.");
        form.add("name", "Please enter a name.");
        let response = ApiError::invalid(&form).error_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        let ApiError::Invalid(errors) = ApiError::invalid(&form) else {
            panic!("not invalid")
        };
        assert_eq!(errors.get("company").unwrap(), "No such company.");
        assert!(errors.contains_key("name"));
    }

    #[test]
    fn unauthorized_says_bearer() {
        let response = ApiError::Unauthorized("no key").error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert!(challenge.to_str().unwrap().starts_with("Bearer"));
    }

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api/v1/leads"));
        assert!(is_api_path("/api"));
        assert!(!is_api_path("/apiary"));
        assert!(!is_api_path("/leads"));
    }
}
