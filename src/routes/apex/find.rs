//! The workspace finder: mails the list of workspaces that an address belongs to.
//!
//! The page answers the same whether or not there are any, and the route is limited
//! per client and per address, so it reveals nothing and cannot flood an inbox. The
//! cross-tenant lookup is `PlatformTx::find_workspaces_by_email`, the one narrow
//! path for it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CsrfForm, TypedSession};
use crate::config::Config;
use crate::db::Db;
use crate::domain::Email;
use crate::error::AppResult;
use crate::http::see_other;
use crate::mail::{MailWaker, find_mail};
use crate::ratelimit::{Limited, RateLimits};
use crate::render::{FormErrors, PageContext, render};

/// The one answer, whether or not the address belongs to any workspace.
pub const FIND_REQUESTED: &str = "If that address belongs to any workspaces, we have emailed it a list of them. Check your inbox.";

/// The finder form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FindForm {
    email: String,
}

#[derive(Template)]
#[template(path = "find.html")]
struct FindPage {
    ctx: PageContext,
    email: String,
    errors: FormErrors,
}

pub(super) async fn find_form(session: TypedSession) -> AppResult<HttpResponse> {
    render(
        StatusCode::OK,
        &FindPage {
            ctx: PageContext::public(&session),
            email: String::new(),
            errors: FormErrors::default(),
        },
    )
}

#[tracing::instrument(name = "find_workspaces", skip_all)]
pub(super) async fn find_workspaces(
    req: HttpRequest,
    session: TypedSession,
    db: web::Data<Db>,
    config: web::Data<Config>,
    limits: web::Data<RateLimits>,
    waker: web::Data<MailWaker>,
    form: CsrfForm<FindForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    limits.check_client(Limited::MailClient, crate::client::of_request(&req).0)?;
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("email", e);
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FindPage {
                    ctx: PageContext::public(&session),
                    email: form.email.trim().chars().take(254).collect(),
                    errors,
                },
            );
        }
    };
    limits.check_key(Limited::MailAddress, email.as_str())?;
    // The scan over every workspace only reads; the write that queues the mail is
    // short, so SQLite's single writer is not held for the whole scan.
    let lookup = email.clone();
    let workspaces = db
        .platform_read(move |tx| tx.find_workspaces_by_email(&lookup))
        .await?;
    if !workspaces.is_empty() {
        let mail = find_mail(&config, &email, &workspaces)?;
        db.platform(move |tx| tx.enqueue_platform_mail(&mail))
            .await?;
        waker.wake();
    }
    session.flash("info", FIND_REQUESTED);
    Ok(see_other("/find"))
}
