//! The team page: members, roles, deactivation, and invitations by email.
//!
//! Everyone logged in may see the team; every change takes [`AdminMember`], so a
//! member gets 403. A change that would leave the workspace without an active admin
//! answers 409 Conflict with the page and a message: the input is valid, the state
//! of the team forbids it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::NoFields;
use crate::auth::{AdminMember, CsrfForm, CurrentMember, TypedSession};
use crate::config::Config;
use crate::db::Db;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::invites::{InviteCheck, PendingInvite};
use crate::db::team::MemberChange;
use crate::db::users::Member;
use crate::domain::{AuditAction, Email, InviteId, MailStatus, MemberId, Quota, RequestMeta, Role};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::mail::{MailWaker, invite_mail};
use crate::ratelimit::{Limited, RateLimits};
use crate::render::{FormErrors, PageContext, render};

/// Said when a change would leave no active admin.
const LAST_ADMIN: &str =
    "This is the last active admin of the workspace. Make someone else an admin first.";

/// The invite form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InviteForm {
    email: String,
    role: String,
}

/// The role form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RoleForm {
    role: String,
}

struct MemberView {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    active: bool,
    is_me: bool,
}

struct InviteView {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
    expired: bool,
    mail_status: &'static str,
    mail_label: &'static str,
    mail_error: Option<String>,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    ctx: PageContext,
    members: Vec<MemberView>,
    invites: Vec<InviteView>,
    email: String,
    role: String,
    errors: FormErrors,
    alert: Option<String>,
}

fn member_view(m: Member, me: &MemberId) -> MemberView {
    MemberView {
        is_me: &m.id == me,
        id: m.id.as_str().to_owned(),
        name: m.name,
        email: m.email,
        role: m.role.as_str(),
        active: m.active,
    }
}

/// What the team page says of an invite's latest mail.
fn mail_label(status: Option<MailStatus>) -> &'static str {
    match status {
        Some(MailStatus::Sent) => "Sent",
        Some(MailStatus::Failed) => "Failed",
        Some(MailStatus::Pending) => "Sending",
        Some(MailStatus::Cancelled) => "Cancelled",
        None => "Not sent",
    }
}

fn invite_view(i: PendingInvite) -> InviteView {
    InviteView {
        expired: i.expires_at <= crate::db::now(),
        id: i.id.as_str().to_owned(),
        email: i.email,
        role: i.role.as_str(),
        expires: i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        // The badge's `data-mail-status`: the stored status, or `none` without a mail.
        mail_status: i.mail_status.map_or("none", MailStatus::as_str),
        mail_label: mail_label(i.mail_status),
        mail_error: i.mail_error,
    }
}

/// What the page shows besides the team itself.
struct Shown {
    status: StatusCode,
    email: String,
    role: String,
    errors: FormErrors,
    alert: Option<String>,
}

impl Default for Shown {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            email: String::new(),
            role: Role::Member.as_str().to_owned(),
            errors: FormErrors::default(),
            alert: None,
        }
    }
}

async fn team_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    shown: Shown,
) -> AppResult<HttpResponse> {
    let is_admin = me.is_admin();
    let (members, invites) = db
        .read(&me.tenant.scope, move |tx| {
            let members = tx.list_members()?;
            // Invited addresses are for admins' eyes.
            let invites = if is_admin {
                tx.list_pending_invites()?
            } else {
                Vec::new()
            };
            Ok((members, invites))
        })
        .await?;
    render(
        shown.status,
        &TeamPage {
            ctx: PageContext::app(session, me, "team"),
            members: members
                .into_iter()
                .map(|m| member_view(m, &me.member.id))
                .collect(),
            invites: invites.into_iter().map(invite_view).collect(),
            email: shown.email,
            role: shown.role,
            errors: shown.errors,
            alert: shown.alert,
        },
    )
}

#[tracing::instrument(name = "show_team", skip_all)]
pub(super) async fn show_team(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
) -> AppResult<HttpResponse> {
    team_page(&db, &me, &session, Shown::default()).await
}

#[tracing::instrument(name = "create_invite", skip_all)]
#[expect(
    clippy::too_many_arguments,
    reason = "a handler's arguments are the extractors it needs"
)]
pub(super) async fn create_invite(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    config: web::Data<Config>,
    waker: web::Data<MailWaker>,
    limits: web::Data<RateLimits>,
    form: CsrfForm<InviteForm>,
) -> AppResult<HttpResponse> {
    limits.check_key(Limited::InviteTenant, me.tenant.scope.tenant_id().as_str())?;
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    let role = form
        .role
        .parse::<Role>()
        .map_err(|e| errors.add("role", e))
        .ok();
    let invalid = |errors: FormErrors| Shown {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        email: form.email.trim().chars().take(254).collect(),
        role: form.role.clone(),
        errors,
        alert: None,
    };
    let (Some(email), Some(role)) = (email, role) else {
        return team_page(&db, &me, &session, invalid(errors)).await;
    };
    let mail = invite_mail(&config, &me.tenant, &me.member.name, &email, role)?;
    let inviter = me.member.id.clone();
    let quotas = me.tenant.limits.clone();
    let event = NewAuditEvent::new(actor_of(&me.member), AuditAction::InviteSent, &meta)
        .target(format!("invite {email}"))
        .detail(format!("role {}", role.as_str()));
    let check = db
        .write(&me.tenant.scope, move |tx| {
            for (quota, wanted) in [(Quota::Members, 1), (Quota::MailsPerDay, 1)] {
                if let Err(hit) = tx.check_quota(&quotas, quota, wanted)? {
                    return Ok(Err(hit));
                }
            }
            let check = tx.check_invitable(&email)?;
            if check == InviteCheck::Free {
                let invite = tx.create_invite(&email, role, &inviter)?;
                tx.queue_invite_mail(&invite, &mail)?;
                tx.record_audit(&event)?;
            }
            Ok(Ok(check))
        })
        .await?;
    let check = match check {
        Ok(check) => check,
        Err(hit) => {
            let mut shown = invalid(FormErrors::default());
            shown.status = StatusCode::FORBIDDEN;
            shown.alert = Some(hit.to_string());
            return team_page(&db, &me, &session, shown).await;
        }
    };
    match check {
        InviteCheck::Free => {
            waker.wake();
            tracing::info!("invite created");
            session.flash("success", "Invitation sent.");
            Ok(see_other("/team"))
        }
        InviteCheck::AlreadyMember => {
            errors.add(
                "email",
                "That person is already a member of this workspace.",
            );
            team_page(&db, &me, &session, invalid(errors)).await
        }
        InviteCheck::AlreadyInvited => {
            errors.add(
                "email",
                "That address has already been invited. Resend the invitation below instead.",
            );
            team_page(&db, &me, &session, invalid(errors)).await
        }
    }
}

#[tracing::instrument(name = "revoke_invite", skip_all)]
pub(super) async fn revoke_invite(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let id = InviteId::from_string(path.into_inner());
    let actor = actor_of(&me.member);
    let revoked = db
        .write(&me.tenant.scope, move |tx| {
            let email = tx.find_unaccepted_invite(&id)?.map(|i| i.email);
            let revoked = tx.revoke_invite(&id)?;
            if revoked {
                tx.cancel_pending_invite_mails(&id)?;
                let target = format!("invite {}", email.unwrap_or_default());
                tx.record_audit(
                    &NewAuditEvent::new(actor, AuditAction::InviteRevoked, &meta).target(target),
                )?;
            }
            Ok(revoked)
        })
        .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    session.flash("success", "Invitation revoked.");
    Ok(see_other("/team"))
}

#[tracing::instrument(name = "resend_invite", skip_all)]
#[expect(
    clippy::too_many_arguments,
    reason = "a handler's arguments are the extractors it needs"
)]
pub(super) async fn resend_invite(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    config: web::Data<Config>,
    waker: web::Data<MailWaker>,
    limits: web::Data<RateLimits>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    limits.check_key(Limited::InviteTenant, me.tenant.scope.tenant_id().as_str())?;
    let id = InviteId::from_string(path.into_inner());
    let invite = db
        .read(&me.tenant.scope, move |tx| tx.find_unaccepted_invite(&id))
        .await?
        .ok_or(AppError::NotFound)?;
    let to = Email::parse(&invite.email)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored invite email is invalid: {e}")))?;
    let mail = invite_mail(&config, &me.tenant, &me.member.name, &to, invite.role)?;
    // Queuing checks again that the invite is open: it may have been accepted or
    // revoked since it was read.
    let event = NewAuditEvent::new(actor_of(&me.member), AuditAction::InviteSent, &meta)
        .target(format!("invite {}", invite.email))
        .detail("sent again");
    let queued = db
        .write(&me.tenant.scope, move |tx| {
            let queued = tx.queue_invite_mail(&invite.id, &mail)?;
            if queued {
                tx.record_audit(&event)?;
            }
            Ok(queued)
        })
        .await?;
    if !queued {
        return Err(AppError::NotFound);
    }
    waker.wake();
    session.flash(
        "success",
        "Invitation sent again. Earlier links no longer work.",
    );
    Ok(see_other("/team"))
}

#[tracing::instrument(name = "change_member_role", skip_all)]
pub(super) async fn change_member_role(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    form: CsrfForm<RoleForm>,
) -> AppResult<HttpResponse> {
    let id = MemberId::from_string(path.into_inner());
    let role = match form.into_inner().role.parse::<Role>() {
        Ok(role) => role,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("role", e);
            let shown = Shown {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                alert: Some("Choose admin or member.".to_owned()),
                errors,
                ..Shown::default()
            };
            return team_page(&db, &me, &session, shown).await;
        }
    };
    let actor = actor_of(&me.member);
    let change = db
        .write(&me.tenant.scope, move |tx| {
            let before = tx.find_member(&id)?;
            let change = tx.change_role(&id, role)?;
            if let (MemberChange::Changed, Some(before)) = (change, before) {
                tx.record_audit(
                    &NewAuditEvent::new(actor, AuditAction::MemberRoleChanged, &meta)
                        .target(format!("member {}", before.email))
                        .detail(format!("{} -> {}", before.role.as_str(), role.as_str())),
                )?;
            }
            Ok(change)
        })
        .await?;
    member_change_answer(&db, &me, &session, change, "Role changed.").await
}

#[tracing::instrument(name = "deactivate_member", skip_all)]
pub(super) async fn deactivate_member(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let id = MemberId::from_string(path.into_inner());
    let actor = actor_of(&me.member);
    let change = db
        .write(&me.tenant.scope, move |tx| {
            let before = tx.find_member(&id)?;
            let change = tx.deactivate_member(&id)?;
            if let (MemberChange::Changed, Some(before)) = (change, before) {
                tx.record_audit(
                    &NewAuditEvent::new(actor, AuditAction::MemberDeactivated, &meta)
                        .target(format!("member {}", before.email)),
                )?;
            }
            Ok(change)
        })
        .await?;
    member_change_answer(
        &db,
        &me,
        &session,
        change,
        "Member deactivated. Their sessions have ended.",
    )
    .await
}

async fn member_change_answer(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    change: MemberChange,
    done: &'static str,
) -> AppResult<HttpResponse> {
    match change {
        MemberChange::Changed => {
            tracing::info!("team member changed");
            session.flash("success", done);
            Ok(see_other("/team"))
        }
        MemberChange::NotFound => Err(AppError::NotFound),
        MemberChange::LastAdmin => {
            let shown = Shown {
                status: StatusCode::CONFLICT,
                alert: Some(LAST_ADMIN.to_owned()),
                ..Shown::default()
            };
            team_page(db, me, session, shown).await
        }
    }
}
