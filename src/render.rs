//! Turning Askama templates into responses, and what every page knows; the
//! dashboard's chart geometry in [`chart`].

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::auth::session::Flash;
use crate::auth::{CurrentMember, TypedSession};
use crate::error::{AppResult, html_response};

pub mod chart;

/// What the layouts need on every page.
pub struct PageContext {
    /// Token for the forms on this page.
    pub csrf_token: String,
    /// A one-time message.
    pub flash: Option<Flash>,
    /// The organisation's name on tenant pages.
    pub org_name: Option<String>,
    /// The logged-in member's name.
    pub member_name: Option<String>,
    /// Whether that member is an admin (admin links).
    pub is_admin: bool,
    /// Sidebar section to highlight.
    pub nav: &'static str,
}

impl PageContext {
    /// For public pages (apex, login): a CSRF token and the flash.
    pub fn public(session: &TypedSession) -> Self {
        Self {
            csrf_token: session.csrf_token(),
            flash: session.take_flash(),
            org_name: None,
            member_name: None,
            is_admin: false,
            nav: "",
        }
    }

    /// For a public page on a tenant host (login, invite): shows the organisation.
    pub fn tenant_public(session: &TypedSession, org_name: &str) -> Self {
        Self {
            org_name: Some(org_name.to_owned()),
            ..Self::public(session)
        }
    }

    /// For pages behind login.
    pub fn app(session: &TypedSession, me: &CurrentMember, nav: &'static str) -> Self {
        Self {
            csrf_token: session.csrf_token(),
            flash: session.take_flash(),
            org_name: Some(me.tenant.name.clone()),
            member_name: Some(me.member.name.clone()),
            is_admin: me.is_admin(),
            nav,
        }
    }
}

// Form errors are a domain value (forms parse in the domain layer); pages name them here.
pub use crate::domain::forms::FormErrors;

/// Renders a template with a status. Every HTML page goes through here.
pub fn render<T: Template>(status: StatusCode, page: &T) -> AppResult<HttpResponse> {
    let html = page.render()?;
    Ok(html_response(HttpResponse::build(status), html))
}
