//! `TypedSession`: what we keep in the encrypted session cookie, and nothing else.
//!
//! A session belongs to one tenant: it stores the tenant id beside the member id,
//! and [`TypedSession::member_in`] ignores it on any other tenant's host. The cookie
//! is host-only, so browsers never send it to another subdomain; the tenant check
//! covers a cookie copied there by hand.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::db::TenantScope;
use crate::domain::MemberId;

const TENANT_KEY: &str = "tid";
const MEMBER_KEY: &str = "uid";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";
const LOGGED_IN_AT_KEY: &str = "iat";

/// How long a login lasts. The cookie's `Max-Age` says the same to the browser, but
/// a cookie store keeps no server state, so a copied cookie would otherwise stay
/// valid for ever: the login time inside the encrypted cookie is checked as well.
pub const SESSION_MAX_AGE_SECS: i64 = 12 * 60 * 60;

/// Bytes of randomness in a CSRF token.
const CSRF_TOKEN_BYTES: usize = 32;

/// A one-time message shown on the next page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `error` or `info` (a CSS modifier).
    pub kind: String,
    /// The text.
    pub message: String,
}

/// The session with typed accessors.
pub struct TypedSession(Session);

impl TypedSession {
    /// Wraps a session taken from a request.
    pub fn from_session(session: Session) -> Self {
        Self(session)
    }
}

impl TypedSession {
    /// The CSRF token of this session, created on first use.
    pub fn csrf_token(&self) -> String {
        if let Ok(Some(token)) = self.0.get::<String>(CSRF_KEY) {
            return token;
        }
        let token = crate::secret::random_token(CSRF_TOKEN_BYTES);
        if let Err(e) = self.0.insert(CSRF_KEY, &token) {
            tracing::warn!(error = %e, "could not store csrf token");
        }
        token
    }

    /// The stored CSRF token, without creating one.
    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF_KEY).ok().flatten()
    }

    /// Logs a member in: a new session id (against fixation), bound to the tenant,
    /// with a fresh CSRF token.
    pub fn log_in(&self, scope: &TenantScope, member: &MemberId) -> anyhow::Result<()> {
        self.0.renew();
        self.0.remove(CSRF_KEY);
        self.0.insert(TENANT_KEY, scope.tenant_id().as_str())?;
        self.0.insert(MEMBER_KEY, member.as_str())?;
        self.0
            .insert(LOGGED_IN_AT_KEY, chrono::Utc::now().timestamp())?;
        Ok(())
    }

    /// Ends the session.
    pub fn log_out(&self) {
        // Clear rather than purge: a purged session ignores later inserts, and the
        // page after a logout may want to say something (a flash).
        self.0.clear();
        self.0.renew();
    }

    /// The member logged in on this tenant, if the session belongs to it and its
    /// login has not expired.
    pub fn member_in(&self, scope: &TenantScope) -> Option<MemberId> {
        self.member_in_at(scope, chrono::Utc::now().timestamp())
    }

    fn member_in_at(&self, scope: &TenantScope, now: i64) -> Option<MemberId> {
        let tenant = self.0.get::<String>(TENANT_KEY).ok().flatten()?;
        if tenant != scope.tenant_id().as_str() {
            return None;
        }
        let logged_in_at = self.0.get::<i64>(LOGGED_IN_AT_KEY).ok().flatten()?;
        if now - logged_in_at > SESSION_MAX_AGE_SECS {
            return None;
        }
        self.0
            .get::<String>(MEMBER_KEY)
            .ok()
            .flatten()
            .map(MemberId::from_string)
    }

    /// Leaves a message for the next page.
    pub fn flash(&self, kind: &str, message: impl Into<String>) {
        let flash = Flash {
            kind: kind.to_owned(),
            message: message.into(),
        };
        if let Err(e) = self.0.insert(FLASH_KEY, flash) {
            tracing::warn!(error = %e, "could not store flash message");
        }
    }

    /// Takes the pending message, if any.
    pub fn take_flash(&self) -> Option<Flash> {
        self.0.remove_as::<Flash>(FLASH_KEY).and_then(Result::ok)
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(TypedSession(req.get_session())))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use crate::domain::TenantId;

    #[test]
    fn a_login_is_bound_to_its_tenant_and_expires() {
        let req = TestRequest::default().to_http_request();
        let session = TypedSession::from_session(req.get_session());
        let acme = TenantScope::for_tests(TenantId::from_string("acme-id".into()));
        let globex = TenantScope::for_tests(TenantId::from_string("globex-id".into()));
        let member = MemberId::from_string("m1".into());
        session
            .log_in(&acme, &member)
            .unwrap_or_else(|e| panic!("{e}"));
        let now = chrono::Utc::now().timestamp();
        assert_eq!(session.member_in_at(&acme, now), Some(member));
        assert_eq!(session.member_in_at(&globex, now), None);
        assert_eq!(
            session.member_in_at(&acme, now + SESSION_MAX_AGE_SECS + 1),
            None
        );
    }
}
