//! Extractors that state in a handler's signature what it needs: the tenant of the
//! host, a logged-in member of that tenant, or an admin.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tracing_actix_web::RootSpan;

use super::TypedSession;
use crate::db::sessions::{LAST_SEEN_PRECISION, SessionMember};
use crate::db::tenants::Tenant;
use crate::db::users::Member;
use crate::db::{Db, TenantTx};
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

/// What a request brings to show that a member is logged in on this host: the
/// tenant and the hash of its session's token, not yet checked. [`CurrentMember`]
/// checks it in a read of its own; a page that reads the database anyway checks it
/// with [`SignedIn::read`], in the same transaction as its own queries, so that
/// the page costs one database round.
pub struct SignedIn {
    tenant: Arc<Tenant>,
    token_hash: Option<String>,
    session: TypedSession,
    db: Option<web::Data<Db>>,
    next: Option<String>,
    span: Option<RootSpan>,
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let tenant = match CurrentTenant::from_request(req, payload).into_inner() {
            Ok(CurrentTenant(tenant)) => tenant,
            Err(e) => return ready(Err(e)),
        };
        let session = TypedSession::from_session(actix_session::SessionExt::get_session(req));
        let token_hash = session
            .login_token(&tenant.scope)
            .map(|token| crate::secret::hash_token(&token));
        let next = (req.method() == actix_web::http::Method::GET).then(|| {
            match req.uri().path_and_query() {
                Some(pq) => pq.as_str().to_owned(),
                None => req.path().to_owned(),
            }
        });
        ready(Ok(SignedIn {
            tenant,
            token_hash,
            session,
            db: req.app_data::<web::Data<Db>>().cloned(),
            next,
            span: req.extensions().get::<RootSpan>().cloned(),
        }))
    }
}

impl SignedIn {
    /// Checks the session and its member and, if they hold, runs `page` in the
    /// same read transaction. A session that is ended, expired, or whose member is
    /// deactivated or removed is logged out and answered with the log-in page;
    /// `page` then never runs.
    pub async fn read<T, F>(self, page: F) -> Result<(CurrentMember, T), AppError>
    where
        F: FnOnce(&mut TenantTx<'_>, &Member) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self
            .db
            .clone()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("Db not configured")))?;
        let Some(token_hash) = self.token_hash.clone() else {
            return Err(self.login_required());
        };
        let found = db
            .read(&self.tenant.scope, move |tx| {
                match tx.find_session_member(&token_hash)? {
                    Some(found) if found.member.active => {
                        let out = page(tx, &found.member)?;
                        Ok(Some((found, out)))
                    }
                    _ => Ok(None),
                }
            })
            .await?;
        match found {
            Some((found, out)) => Ok((self.admit(&db, found).await?, out)),
            None => {
                // Ended, expired, or its member deactivated or removed: this
                // cookie is worth nothing any more.
                self.session.log_out();
                Err(self.login_required())
            }
        }
    }

    fn login_required(&self) -> AppError {
        AppError::LoginRequired {
            next: self.next.clone(),
        }
    }

    /// The member of a session that holds: recorded on the request's span, and
    /// the session's last-seen time brought up to date when it is stale.
    async fn admit(self, db: &Db, found: SessionMember) -> Result<CurrentMember, AppError> {
        let SessionMember {
            session: live,
            member,
        } = found;
        if let Some(span) = &self.span {
            span.record("user.id", member.id.as_str());
        }
        let stale = crate::db::now() - live.last_seen_at
            > chrono::TimeDelta::from_std(LAST_SEEN_PRECISION).unwrap_or(chrono::TimeDelta::MAX);
        if stale {
            let id = live.id.clone();
            match db
                .write(&self.tenant.scope, move |tx| tx.touch_session(&id))
                .await
            {
                // While a move pauses the tenant's writes, its pages still
                // read: the session's last-seen time waits.
                Err(crate::db::DbError::WritesPaused) => {}
                other => other?,
            }
        }
        Ok(CurrentMember {
            tenant: self.tenant,
            member,
            session: live.id,
        })
    }
}

impl FromRequest for CurrentMember {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload).into_inner();
        Box::pin(async move {
            let (member, ()) = signed_in?.read(|_, _| Ok(())).await?;
            Ok(member)
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
