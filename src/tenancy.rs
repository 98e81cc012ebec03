//! Host → tenant resolution, as middleware in front of every route.
//!
//! | host | outcome |
//! |---|---|
//! | `{BASE_DOMAIN}`, `www.{BASE_DOMAIN}` | [`Site::Apex`]: the public pages |
//! | `{slug}.{BASE_DOMAIN}` with a tenant | [`Site::Tenant`] |
//! | `{anything}.{BASE_DOMAIN}` without one | 404 page: no workspace here |
//! | anything else, or no `Host` | 400: a wrong host is an attack, not a page |
//!
//! Hosts compare case-insensitively and the port is ignored. Only the `Host` header
//! (or the request line's authority) counts; `X-Forwarded-Host` is never trusted.
//! `/healthz` and `/static/` answer on any host, for load balancers and assets.
//!
//! Body limits are not this middleware's business: it runs before routing, so it
//! cannot know which route a body is for. Every route takes [`MAX_BODY_BYTES`]
//! (the app's extractor configs in `startup` refuse a larger declared length
//! before reading), unless its registration sets a larger [`BodyLimit`].
//!
//! Tenants are cached by slug so that a page view costs no directory lookup; the
//! cache is invalidated here when a tenant is created, renamed or deleted, and
//! entries expire after `TENANT_CACHE_TTL_SECS` (default [`TENANT_CACHE_TTL`]) so
//! other instances catch up.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, ResponseError, web};
use moka::sync::Cache;
use tracing_actix_web::RootSpan;

use crate::budget::{Allowance, TenantBudgets};
use crate::db::Db;
use crate::db::tenants::Tenant;
use crate::domain::Slug;
use crate::error::{AppError, AppResult};

/// How long a resolved (or missing) tenant is trusted without asking the database,
/// unless `TENANT_CACHE_TTL_SECS` says otherwise.
pub const TENANT_CACHE_TTL: Duration = crate::config::DEFAULT_TENANT_CACHE_TTL;
/// Tenants kept in the cache.
pub const TENANT_CACHE_CAPACITY: u64 = 10_000;
/// Largest request body a route accepts unless it says otherwise (SPEC: 1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A route's own body limit, for a route that takes more than [`MAX_BODY_BYTES`]:
/// set with `.app_data(BodyLimit(..))` on its resource, read by its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// The limit of the route serving `req`: its own, or [`MAX_BODY_BYTES`].
    pub fn of(req: &HttpRequest) -> usize {
        req.app_data::<BodyLimit>()
            .map_or(MAX_BODY_BYTES, |limit| limit.0)
    }
}

/// Which site a request is for; set in request extensions by [`resolve_site`].
#[derive(Clone)]
pub enum Site {
    /// The apex (and `www.`): public pages.
    Apex,
    /// A tenant's host.
    Tenant(Arc<Tenant>),
}

/// What a host names, before any database lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum HostKind {
    /// The apex or `www.`.
    Apex,
    /// A well-formed tenant subdomain.
    Tenant(Slug),
    /// Under the base domain, but no slug could live there.
    NoWorkspace,
    /// Not ours.
    Foreign,
}

/// Classifies a `Host` header value against the base domain.
pub fn classify_host(raw: &str, base_domain: &str) -> HostKind {
    let host = raw.trim().to_ascii_lowercase();
    // IPv6 literals and anything with userinfo are not names of ours.
    if host.starts_with('[') || host.contains('@') {
        return HostKind::Foreign;
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return HostKind::Foreign,
        None => host.as_str(),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name == base_domain || name.strip_prefix("www.") == Some(base_domain) {
        return HostKind::Apex;
    }
    match name
        .strip_suffix(base_domain)
        .and_then(|rest| rest.strip_suffix('.'))
    {
        Some(label) if !label.is_empty() => match Slug::parse(label) {
            Ok(slug) if slug.as_str() == label => HostKind::Tenant(slug),
            _ => HostKind::NoWorkspace,
        },
        _ => HostKind::Foreign,
    }
}

/// Resolves slugs to tenants through a cache.
pub struct TenantResolver {
    db: Db,
    base_domain: String,
    apex_origin: String,
    cache: Cache<String, Option<Arc<Tenant>>>,
}

impl TenantResolver {
    /// A resolver with an empty cache; `apex_origin` is where "no workspace here"
    /// pages send people.
    pub fn new(db: Db, base_domain: String, apex_origin: String, ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(TENANT_CACHE_CAPACITY)
            .time_to_live(ttl)
            .build();
        Self {
            db,
            base_domain,
            apex_origin,
            cache,
        }
    }

    /// The tenant at `slug`, from the cache or the directory.
    pub async fn find(&self, slug: &Slug) -> AppResult<Option<Arc<Tenant>>> {
        if let Some(hit) = self.cache.get(slug.as_str()) {
            let moved = hit
                .as_ref()
                .is_some_and(|t| self.db.stores().take_moved(t.scope.tenant_id()));
            if !moved {
                return Ok(hit);
            }
            // A write found the tenant gone from where the cache said: ask again.
            self.cache.invalidate(slug.as_str());
        }
        let key = slug.as_str().to_owned();
        let lookup = key.clone();
        let found = self
            .db
            .platform_read(move |tx| tx.find_tenant_by_slug(&lookup))
            .await?
            .map(Arc::new);
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    /// Forgets what is cached for `slug` (after signup, rename or delete).
    pub fn invalidate(&self, slug: &str) {
        self.cache.invalidate(slug);
    }
}

/// The outermost middleware: classifies the host, resolves the tenant (from the
/// cache, almost always) and takes one request from the tenant's budget, before
/// the request log, the security headers or the session see the request. A
/// request past its tenant's budget is answered here, so it costs the host check,
/// a cache lookup and one compare-and-swap (`benches/budget.rs` measures it).
/// Other refusals (a wrong host, no workspace) are handed to [`resolve_site`],
/// further in, so they are logged and get the security headers like any page.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    match classify(&req).await {
        Ok(allowance) => {
            let mut response = next.call(req).await?;
            if let Some(state) = allowance {
                crate::budget::set_headers(response.headers_mut(), &state);
            }
            Ok(response.map_into_left_body())
        }
        Err(AppError::OverBudget { retry_after, limit }) => {
            // Not one log line each (the usage flush logs a count per tenant),
            // and a short wait before the answer: a client that ignores
            // `Retry-After` and asks again at once is slowed down, at the cost of
            // a timer, not of CPU (answered on shared ticks: one wake-up for many).
            tokio::time::sleep_until(crate::budget::refusal_deadline()).await;
            let production = req
                .app_data::<web::Data<crate::config::Config>>()
                .is_some_and(|c| c.environment == crate::config::Environment::Production);
            let refusal = AppError::OverBudget { retry_after, limit };
            let mut response = if crate::problem::is_api_path(req.path()) {
                crate::problem::ApiError::App(refusal).error_response()
            } else {
                refusal.error_response()
            };
            crate::startup::add_security_headers(response.headers_mut(), production);
            Ok(req.into_response(response).map_into_right_body())
        }
        Err(refusal) => {
            req.extensions_mut().insert(Unresolved(refusal));
            Ok(next.call(req).await?.map_into_left_body())
        }
    }
}

/// A refusal [`gate`] found, answered by [`resolve_site`].
struct Unresolved(AppError);

/// Inside the request log: answers what [`gate`] refused, records `tenant.slug`
/// on the request's span, and holds back a tenant whose own database is not
/// serving. A refusal is answered here as a response, not passed out as an error,
/// so that the middleware around this one (security headers, the request log)
/// treats it like any other page.
pub async fn resolve_site(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let refusal = req.extensions_mut().remove::<Unresolved>().map(|u| u.0);
    let refusal = match refusal {
        Some(refusal) => Some(refusal),
        None => {
            let tenant = match req.extensions().get::<Site>() {
                Some(Site::Tenant(tenant)) => Some(tenant.clone()),
                _ => None,
            };
            match tenant {
                Some(tenant) => {
                    if let Some(span) = req.extensions().get::<RootSpan>() {
                        span.record("tenant.slug", tenant.slug.as_str());
                    }
                    // A tenant whose own database is still migrating, or failed
                    // its isolation check, is answered 503 here, whatever the page.
                    match req.app_data::<web::Data<Db>>() {
                        Some(db) => db.home_ready(&tenant.scope).await.err().map(AppError::from),
                        None => None,
                    }
                }
                None => None,
            }
        }
    };
    match refusal {
        None => Ok(next.call(req).await?.map_into_left_body()),
        Some(refusal) => {
            let response = if crate::problem::is_api_path(req.path()) {
                crate::problem::ApiError::from(refusal).error_response()
            } else {
                refusal.error_response()
            };
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// The host check itself: on success the request carries its [`Site`], and a
/// tenant's request has taken one from the tenant's budget.
async fn classify(req: &ServiceRequest) -> Result<Option<Allowance>, AppError> {
    let mut allowance = None;
    let path = req.path();
    refuse_nul(path, req.query_string())?;
    let any_host = path == "/healthz" || path == "/favicon.ico" || path.starts_with("/static/");
    if !any_host {
        let resolver = req
            .app_data::<web::Data<TenantResolver>>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("TenantResolver not configured")))?;
        let no_workspace = || AppError::NoWorkspace {
            apex: resolver.apex_origin.clone(),
        };
        let kind = match host_of(req) {
            Some(host) => classify_host(host, &resolver.base_domain),
            None => HostKind::Foreign,
        };
        let site = match kind {
            HostKind::Apex => Site::Apex,
            HostKind::Tenant(slug) => match resolver.find(&slug).await? {
                Some(tenant) => Site::Tenant(tenant),
                None => return Err(no_workspace()),
            },
            HostKind::NoWorkspace => return Err(no_workspace()),
            HostKind::Foreign => return Err(AppError::BadHost),
        };
        if let Site::Tenant(tenant) = &site {
            // The budget first: a tenant past it costs nothing more than this.
            if let Some(budgets) = req.app_data::<web::Data<TenantBudgets>>() {
                let per_minute = tenant.limits.requests_per_minute;
                match budgets.check(&tenant.scope, per_minute) {
                    Ok(state) => {
                        req.extensions_mut().insert(state);
                        allowance = Some(state);
                    }
                    Err(over) => {
                        return Err(AppError::OverBudget {
                            retry_after: over.retry_after,
                            limit: over.limit,
                        });
                    }
                }
            }
        }
        req.extensions_mut().insert(site);
    }
    Ok(allowance)
}

/// Refuses a request whose path or query carries an encoded NUL (`%00`): no
/// path segment or query value of ours can hold one, and none may reach the
/// database (PostgreSQL refuses NUL in text, which would be a 500). A path with
/// one names nothing (404); a query with one is malformed (400). Checked once
/// here, before any route, for every backend.
fn refuse_nul(path: &str, query: &str) -> Result<(), AppError> {
    let has_nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
            || s.contains('\0')
    };
    if has_nul(path) {
        return Err(AppError::NotFound);
    }
    if has_nul(query) {
        return Err(AppError::BadRequest(
            "query: a value holds a NUL character".to_owned(),
        ));
    }
    Ok(())
}

/// The host the client asked for: the `Host` header, or the authority of an
/// absolute request URI (HTTP/2).
fn host_of(req: &ServiceRequest) -> Option<&str> {
    match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok(),
        None => req.uri().authority().map(|a| a.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> HostKind {
        HostKind::Tenant(Slug::parse(s).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn classifies_hosts() {
        let base = "crm.example";
        assert_eq!(classify_host("crm.example", base), HostKind::Apex);
        assert_eq!(classify_host("CRM.Example:8080", base), HostKind::Apex);
        assert_eq!(classify_host("www.crm.example", base), HostKind::Apex);
        assert_eq!(classify_host("acme.crm.example", base), slug("acme"));
        assert_eq!(classify_host("ACME.crm.example:443", base), slug("acme"));
        assert_eq!(classify_host("acme.crm.example.", base), slug("acme"));
        assert_eq!(
            classify_host("a.b.crm.example", base),
            HostKind::NoWorkspace
        );
        assert_eq!(
            classify_host("api.crm.example", base),
            HostKind::NoWorkspace
        );
        assert_eq!(
            classify_host("-x-.crm.example", base),
            HostKind::NoWorkspace
        );
        assert_eq!(classify_host("evil.example", base), HostKind::Foreign);
        assert_eq!(classify_host("acmecrm.example", base), HostKind::Foreign);
        assert_eq!(
            classify_host("crm.example.evil.com", base),
            HostKind::Foreign
        );
        assert_eq!(classify_host("", base), HostKind::Foreign);
        assert_eq!(classify_host("[::1]:8080", base), HostKind::Foreign);
        assert_eq!(classify_host("acme.crm.example:x", base), HostKind::Foreign);
        assert_eq!(
            classify_host("user@acme.crm.example", base),
            HostKind::Foreign
        );
    }
}
