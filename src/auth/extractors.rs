//! Extractors that state in a handler's signature what it needs: the tenant of the
//! host, a logged-in member of that tenant, or an admin.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tracing_actix_web::RootSpan;

use super::TypedSession;
use crate::db::Db;
use crate::db::sessions::{LAST_SEEN_PRECISION, SessionMember};
use crate::db::tenants::Tenant;
use crate::db::users::Member;
use crate::domain::{Role, SessionId};
use crate::error::AppError;
use crate::tenancy::Site;

/// The tenant whose host this request came to.
#[derive(Clone)]
pub struct CurrentTenant(pub Arc<Tenant>);

impl FromRequest for CurrentTenant {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Site>() {
            Some(Site::Tenant(t)) => Ok(CurrentTenant(t.clone())),
            _ => Err(AppError::NotFound),
        })
    }
}

/// An active member, logged in on this tenant's host. The session record and the
/// member are read together on every request, so a session ended on the server
/// (log-out, password change, deactivation) is turned away at once.
#[derive(Clone)]
pub struct CurrentMember {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// The member.
    pub member: Member,
    /// The session this request came with.
    pub session: SessionId,
}

impl CurrentMember {
    /// Whether this member is an admin.
    pub fn is_admin(&self) -> bool {
        self.member.role == Role::Admin
    }
}

impl FromRequest for CurrentMember {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let tenant = CurrentTenant::from_request(req, payload).into_inner();
        let session = TypedSession::from_session(actix_session::SessionExt::get_session(req));
        let db = req.app_data::<web::Data<Db>>().cloned();
        let next = (req.method() == actix_web::http::Method::GET).then(|| {
            match req.uri().path_and_query() {
                Some(pq) => pq.as_str().to_owned(),
                None => req.path().to_owned(),
            }
        });
        let span = req.extensions().get::<RootSpan>().cloned();
        Box::pin(async move {
            let CurrentTenant(tenant) = tenant?;
            let db = db.ok_or_else(|| AppError::Internal(anyhow::anyhow!("Db not configured")))?;
            let login_required = || AppError::LoginRequired { next: next.clone() };
            let Some(token) = session.login_token(&tenant.scope) else {
                return Err(login_required());
            };
            let token_hash = crate::secret::hash_token(&token);
            let found = db
                .read(&tenant.scope, move |tx| tx.find_session_member(&token_hash))
                .await?;
            match found {
                Some(SessionMember {
                    session: live,
                    member,
                }) if member.active => {
                    if let Some(span) = span {
                        span.record("user.id", member.id.as_str());
                    }
                    let stale = crate::db::now() - live.last_seen_at
                        > chrono::TimeDelta::from_std(LAST_SEEN_PRECISION)
                            .unwrap_or(chrono::TimeDelta::MAX);
                    if stale {
                        let id = live.id.clone();
                        match db
                            .write(&tenant.scope, move |tx| tx.touch_session(&id))
                            .await
                        {
                            // While a move pauses the tenant's writes, its pages
                            // still read: the session's last-seen time waits.
                            Err(crate::db::DbError::WritesPaused) => {}
                            other => other?,
                        }
                    }
                    Ok(CurrentMember {
                        tenant,
                        member,
                        session: live.id,
                    })
                }
                _ => {
                    // Ended, expired, or its member deactivated or removed: this
                    // cookie is worth nothing any more.
                    session.log_out();
                    Err(login_required())
                }
            }
        })
    }
}

/// A logged-in admin; members get 403.
pub struct AdminMember(pub CurrentMember);

impl FromRequest for AdminMember {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let member = CurrentMember::from_request(req, payload);
        Box::pin(async move {
            let member = member.await?;
            if member.is_admin() {
                Ok(AdminMember(member))
            } else {
                Err(AppError::Forbidden)
            }
        })
    }
}
