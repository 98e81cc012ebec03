//! Accepting an invite: the link from the invite mail, on the tenant's host.
//!
//! The token is looked up in this host's tenant only, so a link is void on any
//! other tenant's host; unknown, used, revoked and expired links all get the same
//! 404 page that says the link is no longer valid.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::password::hash_password_off_thread;
use crate::auth::{CsrfForm, CurrentTenant, TypedSession};
use crate::db::Db;
use crate::db::audit::NewAuditEvent;
use crate::db::invites::{AcceptOutcome, OpenInvite};
use crate::db::tenants::Tenant;
use crate::domain::{AuditAction, Quota, check_new_password, parse_name};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::render::{FormErrors, PageContext, render};

/// The acceptance form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct AcceptForm {
    name: String,
    password: String,
}

#[derive(Template)]
#[template(path = "invite_accept.html")]
struct AcceptPage {
    ctx: PageContext,
    org_name: String,
    token: String,
    email: String,
    role: &'static str,
    name: String,
    errors: FormErrors,
}

async fn open_invite(db: &Db, tenant: &Tenant, token: &str) -> AppResult<OpenInvite> {
    let token = token.to_owned();
    db.read(&tenant.scope, move |tx| tx.find_invite_by_token(&token))
        .await?
        .ok_or(AppError::InvalidLink)
}

fn page(
    session: &TypedSession,
    tenant: &Tenant,
    token: String,
    invite: &OpenInvite,
    name: String,
    errors: FormErrors,
) -> AcceptPage {
    AcceptPage {
        ctx: PageContext::tenant_public(session, &tenant.name),
        org_name: tenant.name.clone(),
        token,
        email: invite.email.clone(),
        role: invite.role.as_str(),
        name,
        errors,
    }
}

#[tracing::instrument(name = "accept_invite_form", skip_all)]
pub(super) async fn accept_invite_form(
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let invite = open_invite(&db, &tenant.0, &token).await?;
    render(
        StatusCode::OK,
        &page(
            &session,
            &tenant.0,
            token,
            &invite,
            String::new(),
            FormErrors::default(),
        ),
    )
}

#[tracing::instrument(name = "accept_invite", skip_all)]
pub(super) async fn accept_invite(
    req: actix_web::HttpRequest,
    tenant: CurrentTenant,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    form: CsrfForm<AcceptForm>,
) -> AppResult<HttpResponse> {
    let tenant = tenant.0;
    let token = path.into_inner();
    let form = form.into_inner();
    let invite = open_invite(&db, &tenant, &token).await?;
    let mut errors = FormErrors::default();
    let name = parse_name(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    if let Err(e) = check_new_password(&form.password) {
        errors.add("password", e);
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        let typed: String = form.name.trim().chars().take(200).collect();
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&session, &tenant, token, &invite, typed, errors),
        );
    };
    let password = form.password;
    let hash = hash_password_off_thread(password).await?;
    let limits = tenant.limits.clone();
    let (typed, shown_token, shown_invite) = (name.clone(), token.clone(), invite);
    let meta = crate::client::meta_of_request(&req);
    let outcome = db
        .write(&tenant.scope, move |tx| {
            // The invite was sent when there was room; the team may be full now.
            if let Err(hit) = tx.check_quota(&limits, Quota::Members, 1)? {
                return Ok(Err(hit));
            }
            let outcome = tx.accept_invite(&token, &name, &hash)?;
            if let AcceptOutcome::Accepted(member) = &outcome {
                let actor = tx.member_actor(member)?;
                let target = format!("member {}", actor.label());
                tx.record_audit(
                    &NewAuditEvent::new(actor, AuditAction::InviteAccepted, &meta).target(target),
                )?;
            }
            Ok(Ok(outcome))
        })
        .await?;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(hit) => {
            let mut errors = FormErrors::default();
            errors.add("form", hit.to_string());
            return render(
                StatusCode::FORBIDDEN,
                &page(&session, &tenant, shown_token, &shown_invite, typed, errors),
            );
        }
    };
    match outcome {
        AcceptOutcome::Accepted(member) => {
            tracing::info!(user.id = %member, "invite accepted");
            crate::auth::start_session(&db, &session, &tenant, member, &req, None).await?;
            session.flash("success", format!("Welcome to {}.", tenant.name));
            Ok(see_other("/"))
        }
        AcceptOutcome::Invalid => Err(AppError::InvalidLink),
    }
}
