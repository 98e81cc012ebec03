//! Forgotten passwords: asking for a reset link by email, and using it.
//!
//! Asking answers the same whether or not the address has an account here, and is
//! limited per client and per address so that it cannot flood an inbox. The mail
//! goes through the outbox; its token is minted when it is sent.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::password::hash_password_off_thread;
use crate::auth::{CsrfForm, CurrentTenant, TypedSession};
use crate::config::Config;
use crate::db::Db;
use crate::db::audit::NewAuditEvent;
use crate::db::outbox::TenantMail;
use crate::db::tenants::Tenant;
use crate::db::tokens::TokenPurpose;
use crate::domain::{AuditAction, Email, Quota, RequestMeta, check_new_password};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::mail::{MailWaker, reset_mail};
use crate::ratelimit::{Limited, RateLimits};
use crate::render::{FormErrors, PageContext, render};

/// The one answer to a reset request, whether or not the account exists.
pub const RESET_REQUESTED: &str = "If an account in this workspace uses that address, we have sent it a link to choose a new password. Check your inbox.";

/// The forgot-password form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ForgotForm {
    email: String,
}

/// The new-password form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ResetForm {
    password: String,
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    ctx: PageContext,
    email: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    ctx: PageContext,
    token: String,
    errors: FormErrors,
}

pub(super) async fn forgot_password_form(
    tenant: CurrentTenant,
    session: TypedSession,
) -> AppResult<HttpResponse> {
    render(
        StatusCode::OK,
        &ForgotPage {
            ctx: PageContext::tenant_public(&session, &tenant.0.name),
            email: String::new(),
            errors: FormErrors::default(),
        },
    )
}

#[tracing::instrument(name = "send_password_reset", skip_all)]
#[expect(clippy::too_many_arguments, reason = "a handler states what it needs")]
pub(super) async fn send_password_reset(
    req: HttpRequest,
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    config: web::Data<Config>,
    limits: web::Data<RateLimits>,
    waker: web::Data<MailWaker>,
    form: CsrfForm<ForgotForm>,
) -> AppResult<HttpResponse> {
    let tenant = tenant.0;
    let form = form.into_inner();
    limits.check_client(Limited::MailClient, crate::client::of_request(&req).0)?;
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("email", e);
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPage {
                    ctx: PageContext::tenant_public(&session, &tenant.name),
                    email: form.email.trim().chars().take(254).collect(),
                    errors,
                },
            );
        }
    };
    limits.check_key(Limited::MailAddress, email.as_str())?;
    let mail = reset_mail(&config, &tenant, &email)?;
    let quotas = tenant.limits.clone();
    let queued = db
        .write(&tenant.scope, move |tx| {
            // Checked before the address is looked up: the answer says nothing
            // of whether it belongs to a member.
            if let Err(hit) = tx.check_quota(&quotas, Quota::MailsPerDay, 1)? {
                return Ok(Err(hit));
            }
            match tx.find_credentials_by_email(&email)? {
                Some(c) if c.member.active => {
                    tx.enqueue_mail(&TenantMail::PasswordReset(c.member.id), &mail)?;
                    Ok(Ok(true))
                }
                _ => Ok(Ok(false)),
            }
        })
        .await?;
    let queued = match queued {
        Ok(queued) => queued,
        Err(hit) => {
            let mut errors = FormErrors::default();
            errors.add("email", hit.to_string());
            return render(
                StatusCode::FORBIDDEN,
                &ForgotPage {
                    ctx: PageContext::tenant_public(&session, &tenant.name),
                    email: form.email.trim().chars().take(254).collect(),
                    errors,
                },
            );
        }
    };
    if queued {
        waker.wake();
    }
    session.flash("info", RESET_REQUESTED);
    Ok(see_other("/password/forgot"))
}

async fn check_reset_token(db: &Db, tenant: &Tenant, token: &str) -> AppResult<()> {
    let token = token.to_owned();
    let valid = db
        .read(&tenant.scope, move |tx| {
            tx.token_is_valid(&token, TokenPurpose::PasswordReset)
        })
        .await?;
    if valid {
        Ok(())
    } else {
        Err(AppError::InvalidLink)
    }
}

#[tracing::instrument(name = "reset_password_form", skip_all)]
pub(super) async fn reset_password_form(
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    check_reset_token(&db, &tenant.0, &token).await?;
    render(
        StatusCode::OK,
        &ResetPage {
            ctx: PageContext::tenant_public(&session, &tenant.0.name),
            token,
            errors: FormErrors::default(),
        },
    )
}

#[tracing::instrument(name = "reset_password", skip_all)]
pub(super) async fn reset_password(
    meta: RequestMeta,
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    form: CsrfForm<ResetForm>,
) -> AppResult<HttpResponse> {
    let tenant = tenant.0;
    let token = path.into_inner();
    check_reset_token(&db, &tenant, &token).await?;
    let password = form.into_inner().password;
    if let Err(e) = check_new_password(&password) {
        let mut errors = FormErrors::default();
        errors.add("password", e);
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                ctx: PageContext::tenant_public(&session, &tenant.name),
                token,
                errors,
            },
        );
    }
    let hash = hash_password_off_thread(password).await?;
    let changed = db
        .write(&tenant.scope, move |tx| {
            let Some(member) = tx.consume_token(&token, TokenPurpose::PasswordReset)? else {
                return Ok(None);
            };
            tx.set_password(&member, &hash)?;
            // Whoever held a session of this member (a stolen cookie too) is out.
            tx.delete_member_sessions(&member, None)?;
            let actor = tx.member_actor(&member)?;
            let target = format!("member {}", actor.label());
            tx.record_audit(
                &NewAuditEvent::new(actor, AuditAction::PasswordReset, &meta).target(target),
            )?;
            Ok(Some(member))
        })
        .await?;
    let Some(member) = changed else {
        return Err(AppError::InvalidLink);
    };
    tracing::info!(user.id = %member, "password reset");
    session.log_out();
    session.flash("success", "Your password has been changed. Please log in.");
    Ok(see_other("/login"))
}
