//! `CsrfForm<T>`: a urlencoded form whose `csrf_token` field matched the session's
//! before `T` is even parsed. Every POST handler takes one (or `CsrfForm<NoFields>`
//! for buttons), so a handler cannot forget the check; `tests/it` posts to every
//! route without a token and expects 403. A body that is not urlencoded (the CSV
//! import's multipart upload) goes through the same [`check_csrf`].

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::TypedSession;
use crate::error::AppError;
use crate::secret::constant_time_eq;

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf_token";

/// A checked form.
pub struct CsrfForm<T>(pub T);

impl<T> CsrfForm<T> {
    /// The parsed form.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// For POSTs that carry nothing but the token (logout, delete buttons).
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// Whether `submitted` is the session's CSRF token: the one check behind every
/// form. A session without a token (never shown a form) matches nothing.
pub fn check_csrf(session: &TypedSession, submitted: Option<&str>) -> Result<(), AppError> {
    match (submitted, session.existing_csrf_token()) {
        (Some(s), Some(e)) if constant_time_eq(s, &e) => Ok(()),
        _ => Err(AppError::Csrf),
    }
}

/// Refuses a form any of whose names or values holds a NUL character: no text we
/// store may carry one (PostgreSQL refuses it in `text`, which would be a 500), and
/// no form of ours has a use for it. Checked once here, for every form.
fn refuse_nul(body: &[u8]) -> Result<(), AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| AppError::BadRequest(format!("form: {e}")))?;
    if pairs
        .iter()
        .any(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(AppError::BadRequest(
            "form: a field holds a NUL character".to_owned(),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
struct TokenOnly {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Bytes::from_request(req, payload);
        let session = TypedSession::from_session(req.get_session());
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == 413 {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest(e.to_string())
                }
            })?;
            // Check the token before looking at anything else the form says.
            let submitted = serde_urlencoded::from_bytes::<TokenOnly>(&body)
                .ok()
                .and_then(|t| t.csrf_token);
            check_csrf(&session, submitted.as_deref())?;
            refuse_nul(&body)?;
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|e| AppError::BadRequest(format!("form: {e}")))
        })
    }
}
