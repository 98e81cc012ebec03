//! `TypedSession`: what we keep in the encrypted session cookie, and nothing else.
//!
//! A log-in lives on the server (`db::sessions`); the cookie carries only the
//! random token that finds it, beside the tenant id, the CSRF token and a flash
//! message. So the server can end a session: log-out deletes the record, and a
//! copy of the cookie taken before is worth nothing after.
//!
//! A session belongs to one tenant: [`TypedSession::login_token`] ignores the
//! cookie on any other tenant's host. The cookie is host-only, so browsers never
//! send it to another subdomain; the tenant check covers a cookie copied there by
//! hand (and the record is looked up inside the host's tenant anyway).

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::db::TenantScope;

const TENANT_KEY: &str = "tid";
const LOGIN_KEY: &str = "sid";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";

/// How long a login lasts: the session record's expiry, and the cookie's
/// `Max-Age` so the browser forgets it then too.
pub const SESSION_MAX_AGE_SECS: i64 = 12 * 60 * 60;

/// Bytes of randomness in a login token.
pub const LOGIN_TOKEN_BYTES: usize = 32;

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

    /// Logs in with the token of a session record just made: a new session id
    /// (against fixation), bound to the tenant, with a fresh CSRF token.
    pub fn log_in(&self, scope: &TenantScope, login_token: &str) -> anyhow::Result<()> {
        self.0.renew();
        self.0.remove(CSRF_KEY);
        self.0.insert(TENANT_KEY, scope.tenant_id().as_str())?;
        self.0.insert(LOGIN_KEY, login_token)?;
        Ok(())
    }

    /// Forgets the log-in (the caller ends its record).
    pub fn log_out(&self) {
        // Clear rather than purge: a purged session ignores later inserts, and the
        // page after a logout may want to say something (a flash).
        self.0.clear();
        self.0.renew();
    }

    /// The login token of this session on this tenant, if it belongs to it.
    pub fn login_token(&self, scope: &TenantScope) -> Option<String> {
        let tenant = self.0.get::<String>(TENANT_KEY).ok().flatten()?;
        if tenant != scope.tenant_id().as_str() {
            return None;
        }
        self.0.get::<String>(LOGIN_KEY).ok().flatten()
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

    /// Takes the pending message, if any. Only a message that is there is
    /// removed: actix-session counts any `remove` as a change, even of a key it
    /// does not have, and a changed session is encrypted and sent again as a new
    /// cookie, so every page answered with a `Set-Cookie` it did not need.
    pub fn take_flash(&self) -> Option<Flash> {
        if !self.0.contains_key(FLASH_KEY) {
            return None;
        }
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
    fn a_login_is_bound_to_its_tenant() {
        let req = TestRequest::default().to_http_request();
        let session = TypedSession::from_session(req.get_session());
        let acme = TenantScope::for_tests(TenantId::from_string("acme-id".into()));
        let globex = TenantScope::for_tests(TenantId::from_string("globex-id".into()));
        session.log_in(&acme, "tok").unwrap();
        assert_eq!(session.login_token(&acme).as_deref(), Some("tok"));
        assert_eq!(session.login_token(&globex), None);
        session.log_out();
        assert_eq!(session.login_token(&acme), None);
    }

    #[test]
    fn a_page_without_a_flash_leaves_the_session_unchanged() {
        use actix_session::SessionStatus;
        let req = TestRequest::default().to_http_request();
        let session = TypedSession::from_session(req.get_session());
        assert!(session.take_flash().is_none());
        assert_eq!(session.0.status(), SessionStatus::Unchanged);
        session.flash("info", "hello");
        assert_eq!(
            session.take_flash().map(|f| f.message).as_deref(),
            Some("hello")
        );
        assert!(session.take_flash().is_none());
    }
}
