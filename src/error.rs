//! `AppError` and its HTTP mapping; the status of every failure is decided here.
//!
//! Which error type goes where:
//! - in `db`: Diesel's `QueryResult` inside a unit of work, and `db::DbError` for
//!   the unit as a whole (pool, task, query); `From<DbError>` maps it here;
//! - in handlers and extractors: `AppResult<T>`;
//! - outside requests (start-up, CLI): `anyhow::Result`.
//!
//! Invalid form input is not an error: handlers re-render the form with 422.
//! A 5xx page never shows internals; the cause chain goes to the log, once, here.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;

use crate::db::DbError;

/// Result alias for handlers and extractors.
pub type AppResult<T> = Result<T, AppError>;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such thing in this tenant (or it belongs to another: same answer).
    #[error("not found")]
    NotFound,
    /// A well-formed subdomain of ours, but no workspace lives there; the page
    /// links to the apex (this origin) to find one.
    #[error("no workspace at this host")]
    NoWorkspace {
        /// The apex origin, e.g. `http://localhost:8080`.
        apex: String,
    },
    /// The `Host` header is not ours.
    #[error("bad host")]
    BadHost,
    /// Malformed request (bad path parameter, unparsable form).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Logged in, but not allowed (a member on an admin page).
    #[error("forbidden")]
    Forbidden,
    /// Missing or wrong CSRF token.
    #[error("csrf token missing or wrong")]
    Csrf,
    /// A page needs a login; `next` is where to come back to.
    #[error("login required")]
    LoginRequired {
        /// The local path to return to after login.
        next: Option<String>,
    },
    /// A token link (invite, reset, hand-off) that is unknown, used or expired.
    #[error("invalid link")]
    InvalidLink,
    /// The body is over its limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Rate limited; retry after this many seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until the next attempt may succeed.
        retry_after: u64,
    },
    /// The tenant is past its request budget (checked before anything else).
    #[error("the workspace is over its request budget")]
    OverBudget {
        /// Seconds until one more request is allowed.
        retry_after: u64,
        /// The budget, requests per minute.
        limit: u32,
    },
    /// The database cannot be reached in time.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The workspace is being moved: changes wait, reading goes on.
    #[error("the workspace is being moved")]
    WorkspaceMoving {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// The workspace's own database is not serving (migrating, or refused by its
    /// check); the reason is logged, never shown.
    #[error("the workspace's database is unavailable: {0}")]
    WorkspaceUnavailable(String),
    /// A query failed.
    #[error("database error")]
    Database(#[from] diesel::result::Error),
    /// A template failed to render.
    #[error("template error")]
    Render(#[from] askama::Error),
    /// Anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a 503 asks a client to wait before trying again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 30;

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(e) => AppError::Unavailable(e.into()),
            DbError::Task(e) => {
                AppError::Internal(anyhow::Error::new(e).context("database task failed"))
            }
            DbError::Query(e) => AppError::Database(e),
            DbError::StoreUnavailable(reason) => AppError::WorkspaceUnavailable(reason),
            DbError::WritesPaused => AppError::WorkspaceMoving { retry_after: 5 },
            DbError::TenantMoved => AppError::WorkspaceMoving { retry_after: 1 },
        }
    }
}

impl AppError {
    fn page(&self) -> (&'static str, &'static str) {
        match self {
            AppError::NotFound | AppError::Database(diesel::result::Error::NotFound) => (
                "Page not found",
                "There is nothing here, or it belongs to another workspace.",
            ),
            AppError::NoWorkspace { .. } => (
                "No workspace here",
                "No workspace exists at this address. Check the spelling, or find your workspaces by email.",
            ),
            AppError::BadHost => (
                "Bad request",
                "This server does not answer for that host name.",
            ),
            AppError::BadRequest(_) => (
                "Bad request",
                "The request could not be understood. Please go back and try again.",
            ),
            AppError::Forbidden => (
                "Not allowed",
                "Only an administrator of this workspace can do that.",
            ),
            AppError::Csrf => (
                "Form expired",
                "This form was out of date or did not come from this site. Please go back, reload the page and try again.",
            ),
            AppError::InvalidLink => (
                "This link is no longer valid",
                "It may have expired, been used already or been revoked. Ask for a new one.",
            ),
            AppError::PayloadTooLarge => (
                "Too large",
                "What you sent is larger than this page accepts.",
            ),
            AppError::TooManyRequests { .. } => {
                ("Too many attempts", "Please wait a little and try again.")
            }
            AppError::OverBudget { .. } => (
                "This workspace is over its request limit",
                "More requests reached this workspace in the last minute than its plan allows. Please wait a moment and try again; nothing you had saved is lost. An admin can change the plan to raise the limit.",
            ),
            AppError::WorkspaceMoving { .. } => (
                "This workspace is being moved",
                "Its data is moving to a new home. You can keep reading; changes are paused for a few seconds. Please try again in a moment: nothing you had saved is lost.",
            ),
            AppError::WorkspaceUnavailable(_) => (
                "This workspace is unavailable for a moment",
                "Its database is being upgraded or checked. Your data is safe; please try again in a minute.",
            ),
            AppError::Unavailable(_) => (
                "Temporarily unavailable",
                "We could not reach the database just now. Please try again in a moment.",
            ),
            AppError::LoginRequired { .. } => {
                ("Please log in", "You need to log in to see this page.")
            }
            AppError::Database(_) | AppError::Render(_) | AppError::Internal(_) => (
                "Something went wrong",
                "An unexpected error stopped this request. It has been logged; please try again.",
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound | AppError::InvalidLink | AppError::NoWorkspace { .. } => {
                StatusCode::NOT_FOUND
            }
            AppError::Database(diesel::result::Error::NotFound) => StatusCode::NOT_FOUND,
            AppError::BadHost | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } | AppError::OverBudget { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Unavailable(_)
            | AppError::WorkspaceUnavailable(_)
            | AppError::WorkspaceMoving { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                _,
            )) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Render(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let AppError::LoginRequired { next } = self {
            let location = match next {
                Some(next) => format!("/login?next={}", crate::http::url_encode(next)),
                None => "/login".to_owned(),
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        if let AppError::WorkspaceMoving { .. } = self {
            // Expected while an operator moves the tenant; the move reports it.
            tracing::info!(error = %self, "write refused while the workspace moves");
        } else if status.is_server_error() {
            tracing::error!(error = %error_chain(self), "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request refused");
        }
        if let AppError::OverBudget { retry_after, limit } = self {
            return over_budget_response(*retry_after, *limit);
        }
        let (title, message) = self.page();
        let mut page = ErrorPage::new(status, title, message);
        if let AppError::NoWorkspace { apex } = self {
            page.link_href = format!("{apex}/find");
            page.link_label = "Find your workspace";
        }
        let mut response = error_page(status, &page);
        let retry_after = match self {
            AppError::TooManyRequests { retry_after }
            | AppError::OverBudget { retry_after, .. }
            | AppError::WorkspaceMoving { retry_after } => Some(*retry_after),
            AppError::Unavailable(_) | AppError::WorkspaceUnavailable(_) => {
                Some(UNAVAILABLE_RETRY_AFTER_SECS)
            }
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The answer past a tenant's budget: the same page every time, rendered once, so
/// that a tenant at its limit costs as little as the check itself.
fn over_budget_response(retry_after: u64, limit: u32) -> HttpResponse {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let html = PAGE.get_or_init(|| {
        let error = AppError::OverBudget {
            retry_after: 1,
            limit: 1,
        };
        let (title, message) = error.page();
        ErrorPage::new(StatusCode::TOO_MANY_REQUESTS, title, message)
            .render()
            .unwrap_or_else(|_| title.to_owned())
    });
    let mut response = HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(actix_web::web::Bytes::from_static(html.as_bytes()));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    let state = crate::budget::Allowance {
        limit,
        remaining: 0,
        reset: retry_after,
    };
    crate::budget::set_headers(response.headers_mut(), &state);
    response
}

/// An HTML response with the headers every page has (pages are never cached).
pub fn html_response(mut builder: HttpResponseBuilder, html: String) -> HttpResponse {
    builder
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

/// The error page; if even that fails to render, plain text.
pub fn error_page(status: StatusCode, page: &ErrorPage) -> HttpResponse {
    match page.render() {
        Ok(html) => html_response(HttpResponse::build(status), html),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            HttpResponse::build(status)
                .content_type(ContentType::plaintext())
                .body(page.title)
        }
    }
}

/// An error page that looks like the product.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// HTTP status code shown large.
    pub code: u16,
    /// Headline.
    pub title: &'static str,
    /// What happened and what to do.
    pub message: &'static str,
    /// Where the page's button goes.
    pub link_href: String,
    /// The button's label.
    pub link_label: &'static str,
}

impl ErrorPage {
    /// A page for a status.
    pub fn new(status: StatusCode, title: &'static str, message: &'static str) -> Self {
        Self {
            code: status.as_u16(),
            title,
            message,
            link_href: "/".to_owned(),
            link_label: "Go to the start page",
        }
    }
}

/// The error and its causes on one line, for the log.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(cause) = cur {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        cur = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_as_the_spec_says() {
        assert_eq!(AppError::NotFound.status_code(), 404);
        assert_eq!(
            AppError::Database(diesel::result::Error::NotFound).status_code(),
            404
        );
        assert_eq!(AppError::InvalidLink.status_code(), 404);
        assert_eq!(AppError::BadHost.status_code(), 400);
        assert_eq!(AppError::Csrf.status_code(), 403);
        assert_eq!(AppError::Forbidden.status_code(), 403);
        assert_eq!(AppError::PayloadTooLarge.status_code(), 413);
        assert_eq!(
            AppError::TooManyRequests { retry_after: 3 }.status_code(),
            429
        );
        assert_eq!(
            AppError::Unavailable(anyhow::anyhow!("pool")).status_code(),
            503
        );
        assert_eq!(
            AppError::Database(diesel::result::Error::RollbackTransaction).status_code(),
            500
        );
    }

    #[test]
    fn server_errors_do_not_leak_their_cause() {
        let e = AppError::Internal(anyhow::anyhow!("secret table xyz exploded"));
        let response = e.error_response();
        assert_eq!(response.status(), 500);
        let body =
            actix_web::body::MessageBody::try_into_bytes(response.into_body()).unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("Something went wrong"));
        assert!(!body.contains("xyz"));
    }

    #[test]
    fn too_many_requests_says_when_to_retry() {
        let response = AppError::TooManyRequests { retry_after: 7 }.error_response();
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"7"[..])
        );
    }
}
