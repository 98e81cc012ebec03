//! Who is calling the API: `Authorization: Bearer` with an API key (`tnt_...`) or
//! with an access token minted from one (`POST /api/v1/token`).
//!
//! An access token is a JWT (HS256, signed with a key derived from `SECRET_KEY`
//! for this use only) whose audience is the tenant's host and whose `tid` is the
//! tenant; it is checked before anything else. Either way the key itself is then
//! read in the request's own transaction, so a revoked or expired key, a key whose
//! member was deactivated, and every token minted from such a key stop working at
//! once, on every instance, at the cost of one indexed lookup. Cookies are never
//! read here: the API has no session, so it needs no CSRF token.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::budget::{Allowance, KeyBudgets};
use crate::config::Config;
use crate::db::api_keys::{KeyHolder, KeyLookup};
use crate::db::tenants::Tenant;
use crate::db::{Db, DbError, QueryResult, TenantTx};
use crate::domain::api_key::KEY_PREFIX;
use crate::domain::{Actor, AuditAction, KeyScope, RequestMeta};
use crate::problem::ApiError;
use crate::tenancy::Site;

/// How long an access token lives, in seconds (SPEC: 900).
pub const TOKEN_LIFETIME_SECS: i64 = 900;
/// The issuer of every access token.
const ISSUER: &str = "tenantry";

/// An access token's claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The issuer, always [`ISSUER`].
    pub iss: String,
    /// The tenant's host, e.g. `acme.crm.example`.
    pub aud: String,
    /// The key's id.
    pub sub: String,
    /// The tenant's id.
    pub tid: String,
    /// The key's scope when the token was minted.
    pub scope: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// The signing key of access tokens: HMAC-SHA256 of a fixed label under
/// `SECRET_KEY`, so that it is used for nothing else (the cookie key is another).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    base_domain: String,
}

impl TokenKeys {
    /// The keys for this configuration.
    pub fn new(config: &Config) -> Self {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(config.secret_key.expose_secret().as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"tenantry api access token v1");
        let key = mac.finalize().into_bytes();
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            base_domain: config.base_domain.clone(),
        }
    }

    /// The audience of a tenant's tokens: its host, without a port.
    pub fn audience(&self, tenant: &Tenant) -> String {
        format!("{}.{}", tenant.slug, self.base_domain)
    }

    /// Mints an access token for `holder`'s key in `tenant`.
    pub fn mint(&self, tenant: &Tenant, holder: &KeyHolder) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        // Never past the key's own expiry.
        let key_end = holder.key.expires_at.and_utc().timestamp();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: self.audience(tenant),
            sub: holder.key.id.clone(),
            tid: tenant.scope.tenant_id().as_str().to_owned(),
            scope: holder.key.scope().as_str().to_owned(),
            iat: now,
            exp: (now + TOKEN_LIFETIME_SECS).min(key_end),
        };
        self.sign(&claims)
    }

    /// Signs `claims` as an access token (HS256).
    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| ApiError::App(anyhow::anyhow!("signing a token: {e}").into()))
    }

    /// The claims of `token` if it is ours, unexpired, for `tenant` and its host.
    fn verify(&self, token: &str, tenant: &Tenant) -> Result<Claims, ApiError> {
        // The algorithm, issuer and audience are pinned: a token signed `none`,
        // with another algorithm, or for another host is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[self.audience(tenant)]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|_| {
                ApiError::Unauthorized("The access token is not valid here, or it expired.")
            })?;
        if data.claims.tid != tenant.scope.tenant_id().as_str() {
            return Err(ApiError::Unauthorized(
                "The access token belongs to another workspace.",
            ));
        }
        Ok(data.claims)
    }
}

/// What the request presented.
#[derive(Clone, Debug)]
enum Credential {
    /// A key itself: its SHA-256.
    Key(String),
    /// An access token: its key's id and the scope it was minted with.
    Token { key_id: String, scope: KeyScope },
}

/// An API request whose credentials parse and are for this tenant; the key is
/// checked by [`ApiCaller::read`] and [`ApiCaller::write`], inside the request's
/// transaction.
pub struct ApiCaller {
    /// The tenant of the host.
    pub tenant: Arc<Tenant>,
    credential: Credential,
    db: web::Data<Db>,
    budgets: web::Data<KeyBudgets>,
    /// Where the request came from (for the audit log).
    pub meta: RequestMeta,
}

/// What a checked request may go on with.
pub struct Checked<T> {
    /// The key and its member.
    pub holder: KeyHolder,
    /// The key's own budget after this request.
    pub allowance: Allowance,
    /// What the handler's work gave.
    pub value: T,
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req))
    }
}

impl ApiCaller {
    fn parse(req: &HttpRequest) -> Result<Self, ApiError> {
        let tenant = match req.extensions().get::<Site>() {
            Some(Site::Tenant(t)) => t.clone(),
            _ => return Err(ApiError::NotFound),
        };
        let missing = || ApiError::NoCredentials;
        let value = req
            .headers()
            .get(header::AUTHORIZATION)
            .ok_or_else(missing)?
            .to_str()
            .map_err(|_| missing())?;
        let (scheme, secret) = value.trim().split_once(' ').ok_or_else(missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(missing());
        }
        let secret = secret.trim();
        let credential = if secret.starts_with(KEY_PREFIX) {
            Credential::Key(crate::secret::hash_token(secret))
        } else {
            let keys = req
                .app_data::<web::Data<TokenKeys>>()
                .ok_or_else(|| ApiError::App(anyhow::anyhow!("TokenKeys not configured").into()))?;
            let claims = keys.verify(secret, &tenant)?;
            Credential::Token {
                key_id: claims.sub,
                scope: KeyScope::from_stored(&claims.scope).unwrap_or(KeyScope::Read),
            }
        };
        let db = req
            .app_data::<web::Data<Db>>()
            .cloned()
            .ok_or_else(|| ApiError::App(anyhow::anyhow!("Db not configured").into()))?;
        let budgets = req
            .app_data::<web::Data<KeyBudgets>>()
            .cloned()
            .ok_or_else(|| ApiError::App(anyhow::anyhow!("KeyBudgets not configured").into()))?;
        Ok(Self {
            tenant,
            credential,
            db,
            budgets,
            meta: crate::client::meta_of_request(req),
        })
    }

    /// Whether a key itself (not a token) was presented.
    pub fn is_key(&self) -> bool {
        matches!(self.credential, Credential::Key(_))
    }

    /// Checks the key and runs `work` in one read transaction.
    pub async fn read<T, F>(&self, work: F) -> Result<Checked<T>, ApiError>
    where
        F: FnOnce(&mut TenantTx<'_>, &KeyHolder) -> QueryResult<Result<T, ApiError>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let (credential, budgets, per_minute) = self.parts();
        let outcome = self
            .db
            .read(&self.tenant.scope, move |tx| {
                admit(tx, &credential, &budgets, per_minute, false, work)
            })
            .await;
        self.finish(outcome).await
    }

    /// Checks the key, and that it may write, and runs `work` in one write
    /// transaction.
    pub async fn write<T, F>(&self, work: F) -> Result<Checked<T>, ApiError>
    where
        F: FnOnce(&mut TenantTx<'_>, &KeyHolder) -> QueryResult<Result<T, ApiError>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        if let Credential::Token { scope, .. } = &self.credential
            && !scope.may_write()
        {
            // Refused before any transaction: the token says read.
            return Err(read_only());
        }
        let (credential, budgets, per_minute) = self.parts();
        let outcome = self
            .db
            .write(&self.tenant.scope, move |tx| {
                admit(tx, &credential, &budgets, per_minute, true, work)
            })
            .await;
        self.finish(outcome).await
    }

    fn parts(&self) -> (Credential, web::Data<KeyBudgets>, u32) {
        (
            self.credential.clone(),
            self.budgets.clone(),
            self.tenant.limits.requests_per_minute,
        )
    }

    async fn finish<T>(
        &self,
        outcome: Result<Result<Checked<T>, ApiError>, DbError>,
    ) -> Result<Checked<T>, ApiError> {
        let checked = outcome??;
        let key = &checked.holder.key;
        let stale = key
            .last_used_at
            .is_none_or(|at| crate::db::now() - at > crate::db::api_keys::LAST_USED_PRECISION);
        if stale {
            let (id, name, meta) = (key.id.clone(), key.name.clone(), self.meta.clone());
            let touched = self
                .db
                .write(&self.tenant.scope, move |tx| {
                    if tx.touch_api_key(&id)? {
                        let actor = Actor::ApiKey {
                            id: id.clone(),
                            label: name.clone(),
                        };
                        tx.record_audit(
                            &crate::db::audit::NewAuditEvent::new(
                                actor,
                                AuditAction::ApiKeyFirstUsed,
                                &meta,
                            )
                            .target(format!("api key {name}")),
                        )?;
                    }
                    Ok(())
                })
                .await;
            match touched {
                // While a move pauses the tenant's writes, the time waits.
                Err(DbError::WritesPaused) | Ok(()) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(checked)
    }
}

fn read_only() -> ApiError {
    ApiError::Forbidden(
        "This API key may only read; making changes needs a `write` key.".to_owned(),
    )
}

/// Inside the transaction: the key, its budget, its scope, then the work.
fn admit<T>(
    tx: &mut TenantTx<'_>,
    credential: &Credential,
    budgets: &KeyBudgets,
    per_minute: u32,
    writes: bool,
    work: impl FnOnce(&mut TenantTx<'_>, &KeyHolder) -> QueryResult<Result<T, ApiError>>,
) -> QueryResult<Result<Checked<T>, ApiError>> {
    let holder = match credential {
        Credential::Key(hash) => tx.usable_api_key(KeyLookup::Hash(hash))?,
        Credential::Token { key_id, .. } => tx.usable_api_key(KeyLookup::Id(key_id))?,
    };
    let Some(holder) = holder else {
        return Ok(Err(ApiError::Unauthorized(
            "This API key is unknown here, revoked or expired, or its member was deactivated.",
        )));
    };
    let allowance = match budgets.check(&holder.key.id, per_minute) {
        Ok(a) => a,
        Err(over) => {
            return Ok(Err(ApiError::KeyOverBudget {
                retry_after: over.retry_after,
                limit: over.limit,
            }));
        }
    };
    if writes && !holder.key.scope().may_write() {
        return Ok(Err(read_only()));
    }
    Ok(work(tx, &holder)?.map(|value| Checked {
        holder,
        allowance,
        value,
    }))
}
