//! Logging in and out on a tenant's host, and the signup hand-off.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::NoFields;
use crate::auth::password::verify_password_off_thread;
use crate::auth::{CsrfForm, CurrentTenant, TypedSession, end_session, start_session};
use crate::config::Config;
use crate::db::audit::{MAX_TARGET_LEN, NewAuditEvent, actor_of};
use crate::db::tokens::TokenPurpose;
use crate::db::{Db, DbError};
use crate::domain::{Actor, AuditAction, Email, MAX_PASSWORD_LEN, RequestMeta};
use crate::error::{AppError, AppResult};
use crate::http::{safe_next, see_other};
use crate::ratelimit::{Limited, RateLimits};
use crate::render::{PageContext, render};

/// The one message for every failed login, whatever the cause.
const LOGIN_FAILED: &str = "That email and password do not match an account in this workspace.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

pub(super) async fn login_form(
    tenant: CurrentTenant,
    session: TypedSession,
    query: web::Query<LoginQuery>,
) -> AppResult<HttpResponse> {
    let next = safe_next(query.next.as_deref());
    if session.login_token(&tenant.0.scope).is_some() {
        return Ok(see_other(&next));
    }
    render(
        StatusCode::OK,
        &LoginPage {
            ctx: PageContext::tenant_public(&session, &tenant.0.name),
            email: String::new(),
            next,
            error: None,
        },
    )
}

/// The login form as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[tracing::instrument(name = "login", skip_all)]
pub(super) async fn log_in(
    req: HttpRequest,
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    limits: web::Data<RateLimits>,
    form: CsrfForm<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let tenant = tenant.0;
    limits.check_client(Limited::LoginClient, crate::client::of_request(&req).0)?;
    let email = Email::parse(&form.email).ok();
    if let Some(email) = &email {
        limits.check_key(
            Limited::LoginAccount,
            &format!("{}:{}", tenant.scope.tenant_id(), email),
        )?;
    }
    let credentials = match email {
        Some(email) => {
            db.read(&tenant.scope, move |tx| {
                tx.find_credentials_by_email(&email)
            })
            .await?
        }
        None => None,
    };
    let password = form
        .password
        .chars()
        .take(MAX_PASSWORD_LEN)
        .collect::<String>();
    // Verify even when there is no such account, against a dummy hash, so that
    // the answer takes as long either way.
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let verified = verify_password_off_thread(stored, password).await?;
    let meta = crate::client::meta_of_request(&req);
    match credentials {
        Some(c) if verified && c.member.active => {
            tracing::info!(user.id = %c.member.id, "logged in");
            let event = NewAuditEvent::new(actor_of(&c.member), AuditAction::LoginSucceeded, &meta)
                .target(format!("member {}", c.member.email));
            start_session(&db, &session, &tenant, c.member.id, &req, Some(event)).await?;
            Ok(see_other(&safe_next(Some(&form.next))))
        }
        _ => {
            tracing::info!("login refused");
            // Its own small transaction: the typed address (cut short), never
            // the password.
            let typed: String = form.email.trim().chars().take(MAX_TARGET_LEN).collect();
            let event = NewAuditEvent::new(Actor::Anonymous, AuditAction::LoginFailed, &meta)
                .target(format!("email {typed}"));
            match db
                .write(&tenant.scope, move |tx| tx.record_audit(&event))
                .await
            {
                // A tenant whose writes pause for a move still answers the log-in.
                Err(DbError::WritesPaused) => {
                    tracing::warn!(
                        "a refused log-in was not recorded: the tenant's writes are paused"
                    )
                }
                other => other?,
            }
            render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    ctx: PageContext::tenant_public(&session, &tenant.name),
                    email: form.email.trim().chars().take(254).collect(),
                    next: safe_next(Some(&form.next)),
                    error: Some(LOGIN_FAILED),
                },
            )
        }
    }
}

pub(super) async fn log_out(
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    meta: RequestMeta,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    end_session(&db, &session, &tenant.0, meta).await?;
    Ok(see_other("/login"))
}

#[derive(Deserialize)]
pub(super) struct HandoffForm {
    handoff: String,
}

/// Whether a request comes from a page of our apex, by its `Origin` (port aside,
/// as everywhere hosts are compared). A form posted from anywhere else, or from a
/// browser that does not say, is not a hand-off.
fn from_our_apex(req: &HttpRequest, base_domain: &str) -> bool {
    let Some(origin) = req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((_, host)) = origin.split_once("://") else {
        return false;
    };
    crate::tenancy::classify_host(host, base_domain) == crate::tenancy::HostKind::Apex
}

/// Exchanges a signup hand-off token for a session on this host.
pub(super) async fn complete_signup(
    req: HttpRequest,
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    config: web::Data<Config>,
    form: web::Form<HandoffForm>,
) -> AppResult<HttpResponse> {
    if !from_our_apex(&req, &config.base_domain) {
        tracing::info!("hand-off refused: not posted from the apex");
        return Err(AppError::InvalidLink);
    }
    let token = form.into_inner().handoff;
    let member = db
        .write(&tenant.0.scope, move |tx| {
            tx.consume_token(&token, TokenPurpose::Handoff)
        })
        .await?
        .ok_or(AppError::InvalidLink)?;
    start_session(&db, &session, &tenant.0, member, &req, None).await?;
    session.flash("success", "Welcome to your new workspace.");
    Ok(see_other("/"))
}
