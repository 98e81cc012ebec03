//! A member's own account: name, password, and the sessions they are logged in
//! with, which they can end.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::NoFields;
use crate::auth::password::{hash_password_off_thread, verify_password_off_thread};
use crate::auth::{CsrfForm, CurrentMember, TypedSession};
use crate::db::Db;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::sessions::SessionInfo;
use crate::domain::{AuditAction, RequestMeta};
use crate::domain::{Email, MAX_PASSWORD_LEN, check_new_password, parse_name};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::render::{FormErrors, PageContext, render};

/// `POST /account` as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct NameForm {
    name: String,
}

/// `POST /account/password` as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PasswordForm {
    current_password: String,
    password: String,
}

/// One session as the page lists it.
struct SessionRow {
    device: String,
    address: String,
    last_seen: String,
    created: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageContext,
    name: String,
    email: String,
    sessions: Vec<SessionRow>,
    errors: FormErrors,
}

/// A short "browser on system" from a `User-Agent`, enough to tell one's own
/// devices apart; the full string is not worth showing.
fn device(user_agent: &str) -> String {
    const BROWSERS: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: [(&str, &str); 6] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| user_agent.contains(needle))
            .map(|(_, name)| *name)
    };
    match (find(&BROWSERS), find(&SYSTEMS)) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) if user_agent.is_empty() => "Unknown device".to_owned(),
        (None, None) => user_agent.chars().take(60).collect(),
    }
}

fn when(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn account_page(
    db: &Db,
    session: &TypedSession,
    me: &CurrentMember,
    name: String,
    errors: FormErrors,
) -> AppResult<AccountPage> {
    let member = me.member.id.clone();
    let sessions: Vec<SessionInfo> = db
        .read(&me.tenant.scope, move |tx| tx.list_member_sessions(&member))
        .await?;
    Ok(AccountPage {
        ctx: PageContext::app(session, me, "account"),
        name,
        email: me.member.email.clone(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                device: device(&s.user_agent),
                address: if s.client_addr.is_empty() {
                    "unknown".to_owned()
                } else {
                    s.client_addr
                },
                last_seen: when(s.last_seen_at),
                created: when(s.created_at),
                current: s.id == me.session,
            })
            .collect(),
        errors,
    })
}

/// `GET /account`.
pub(super) async fn account_form(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
) -> AppResult<HttpResponse> {
    let name = me.member.name.clone();
    let page = account_page(&db, &session, &me, name, FormErrors::default()).await?;
    render(StatusCode::OK, &page)
}

/// `POST /account`: the member's name.
#[tracing::instrument(name = "update_account", skip_all)]
pub(super) async fn update_account(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    form: CsrfForm<NameForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let name = match parse_name(&form.name) {
        Ok(name) => name,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("name", e);
            let typed = form.name.chars().take(1000).collect();
            let page = account_page(&db, &session, &me, typed, errors).await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let id = me.member.id.clone();
    db.write(&me.tenant.scope, move |tx| tx.rename_member(&id, &name))
        .await?;
    session.flash("success", "Your name has been saved.");
    Ok(see_other("/account"))
}

/// `POST /account/password`: needs the current password; ends every other
/// session of the member.
#[tracing::instrument(name = "change_password", skip_all)]
pub(super) async fn change_password(
    meta: RequestMeta,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    form: CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let email = Email::parse(&me.member.email)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored member email is invalid: {e}")))?;
    let stored = db
        .read(&me.tenant.scope, move |tx| {
            tx.find_credentials_by_email(&email)
        })
        .await?
        .map(|c| c.password_hash);
    let current: String = form
        .current_password
        .chars()
        .take(MAX_PASSWORD_LEN)
        .collect();
    let mut errors = FormErrors::default();
    if !verify_password_off_thread(stored, current).await? {
        errors.add("current_password", "That is not your current password.");
    }
    if let Err(e) = check_new_password(&form.password) {
        errors.add("password", e);
    }
    if !errors.is_empty() {
        let name = me.member.name.clone();
        let page = account_page(&db, &session, &me, name, errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let hash = hash_password_off_thread(form.password).await?;
    let (id, keep) = (me.member.id.clone(), me.session.clone());
    let event = NewAuditEvent::new(actor_of(&me.member), AuditAction::PasswordChanged, &meta)
        .target(format!("member {}", me.member.email));
    let ended = db
        .write(&me.tenant.scope, move |tx| {
            tx.set_password(&id, &hash)?;
            let ended = tx.delete_member_sessions(&id, Some(&keep))?;
            tx.record_audit(&event)?;
            Ok(ended)
        })
        .await?;
    tracing::info!(sessions.ended = ended, "password changed");
    session.flash(
        "success",
        "Your password has been changed. Your other sessions are logged out.",
    );
    Ok(see_other("/account"))
}

/// `POST /account/sessions/revoke-others`: "log out everywhere else".
#[tracing::instrument(name = "revoke_other_sessions", skip_all)]
pub(super) async fn revoke_other_sessions(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (id, keep) = (me.member.id.clone(), me.session.clone());
    let ended = db
        .write(&me.tenant.scope, move |tx| {
            tx.delete_member_sessions(&id, Some(&keep))
        })
        .await?;
    tracing::info!(sessions.ended = ended, "other sessions ended");
    let message = match ended {
        0 => "There were no other sessions.".to_owned(),
        1 => "One other session has been logged out.".to_owned(),
        n => format!("{n} other sessions have been logged out."),
    };
    session.flash("success", message);
    Ok(see_other("/account"))
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices_read_from_user_agents() {
        assert_eq!(
            device(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
            ),
            "Chrome on Linux"
        );
        assert_eq!(
            device(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:121.0) Gecko/20100101 Firefox/121.0"
            ),
            "Firefox on macOS"
        );
        assert_eq!(device(""), "Unknown device");
    }
}
