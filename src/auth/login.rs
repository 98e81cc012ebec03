//! Starting and ending a server-side session: the one place that writes a session
//! record and puts its token in the cookie.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::TypedSession;
use super::session::{LOGIN_TOKEN_BYTES, SESSION_MAX_AGE_SECS};
use crate::db::Db;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::sessions::NewSession;
use crate::db::tenants::Tenant;
use crate::domain::{AuditAction, MemberId, RequestMeta};
use crate::error::AppResult;
use crate::secret::{hash_token, random_token};

/// Longest `User-Agent` kept on a session (the sessions page shows it).
const MAX_USER_AGENT_LEN: usize = 300;

/// What the sessions page shows of a browser: its `User-Agent`, cut short, with
/// control characters (and NUL, which PostgreSQL text refuses) dropped.
fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_LEN)
        .collect()
}

/// Logs `member` in on `tenant`'s host: a new session record (device, client
/// address, expiry), and its token in a renewed cookie. `audit`, if given (a
/// log-in), is recorded in the same transaction as the session.
pub async fn start_session(
    db: &Db,
    session: &TypedSession,
    tenant: &Tenant,
    member: MemberId,
    req: &HttpRequest,
    audit: Option<NewAuditEvent>,
) -> AppResult<()> {
    let token = random_token(LOGIN_TOKEN_BYTES);
    let token_hash = hash_token(&token);
    let user_agent = user_agent(req);
    let client_addr = crate::client::of_request(req)
        .0
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let expires_at = crate::db::after(
        crate::db::now(),
        std::time::Duration::from_secs(SESSION_MAX_AGE_SECS.unsigned_abs()),
    );
    db.write(&tenant.scope, move |tx| {
        tx.insert_session(&NewSession {
            member: &member,
            token_hash: &token_hash,
            user_agent: &user_agent,
            client_addr: &client_addr,
            expires_at,
        })?;
        if let Some(event) = &audit {
            tx.record_audit(event)?;
        }
        Ok(())
    })
    .await?;
    session.log_in(&tenant.scope, &token)?;
    Ok(())
}

/// Logs out: the session record is deleted, so a copy of the cookie is worth
/// nothing either, and the cookie forgets the log-in. A session that was live
/// leaves a `logout` entry in the audit log, in the same transaction.
pub async fn end_session(
    db: &Db,
    session: &TypedSession,
    tenant: &Tenant,
    meta: RequestMeta,
) -> AppResult<()> {
    if let Some(token) = session.login_token(&tenant.scope) {
        let token_hash = hash_token(&token);
        db.write(&tenant.scope, move |tx| {
            let live = tx.find_session_member(&token_hash)?;
            tx.delete_session_by_token(&token_hash)?;
            if let Some(live) = live {
                tx.record_audit(&NewAuditEvent::new(
                    actor_of(&live.member),
                    AuditAction::Logout,
                    &meta,
                ))?;
            }
            Ok(())
        })
        .await?;
    }
    session.log_out();
    Ok(())
}
