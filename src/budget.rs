//! Each tenant's request budget, and the requests the server counts in memory
//! until it adds them to the usage table.
//!
//! The budget is a GCRA (governor's, the crate the other limits use: one atomic
//! compare-and-swap per check, no lock, no timer) of the tenant's
//! `requests_per_minute`, with a minute's worth of burst. It is checked by the
//! tenancy middleware right after the host resolves, before the session cookie is
//! read or any database or template work is done. One limiter per tenant, kept in
//! a bounded cache that forgets tenants idle for [`IDLE`], so memory stays bounded
//! however many tenants there are; a forgotten tenant starts again with a full
//! budget, which is what an idle tenant has anyway.
//!
//! State lives in this process: with several instances behind a balancer, each
//! enforces the whole budget on its own, so a tenant gets up to N times its budget
//! across N instances (the README says so).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use moka::notification::RemovalCause;
use moka::sync::Cache;

use crate::db::TenantScope;
use crate::db::plans::UsageDelta;
use crate::domain::TenantId;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// How long a request past the budget waits before its 429 (at least).
pub const REFUSAL_DELAY: Duration = Duration::from_millis(100);
/// Refusals are answered on ticks this far apart, so that a flood of them wakes
/// the server once a tick rather than once a request.
const REFUSAL_TICK: Duration = Duration::from_millis(20);

/// When a refusal made now is answered: [`REFUSAL_DELAY`] from now, rounded up
/// to the next [`REFUSAL_TICK`] of the process.
pub fn refusal_deadline() -> tokio::time::Instant {
    static START: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(tokio::time::Instant::now);
    let due = tokio::time::Instant::now() + REFUSAL_DELAY;
    let tick = REFUSAL_TICK.as_nanos();
    let since = due.duration_since(start).as_nanos();
    let ticks = since.div_ceil(tick);
    start + Duration::from_nanos(u64::try_from(ticks * tick).unwrap_or(u64::MAX))
}

/// Tenants whose budget is kept at once.
pub const CAPACITY: u64 = 100_000;
/// A tenant without requests for this long is forgotten (its budget is full again
/// by then: a minute refills it).
pub const IDLE: Duration = Duration::from_secs(600);
/// How often a busy tenant's sizes (members, leads, bytes) are measured for usage.
pub const SIZES_EVERY: Duration = Duration::from_secs(600);

/// One tenant's budget and what it used since the last flush.
struct Entry {
    per_minute: u32,
    limiter: Limiter,
    scope: TenantScope,
    requests: AtomicI64,
    refused: AtomicI64,
    sized_at: Mutex<Option<Instant>>,
}

impl Entry {
    fn new(per_minute: u32, scope: TenantScope) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            per_minute: n.get(),
            limiter: RateLimiter::direct(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>(),
            scope,
            requests: AtomicI64::new(0),
            refused: AtomicI64::new(0),
            sized_at: Mutex::new(None),
        }
    }

    fn take(&self) -> UsageDelta {
        UsageDelta {
            requests: self.requests.swap(0, Ordering::Relaxed),
        }
    }
}

/// What the budget says of a request that may go on: for the `RateLimit` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// Requests per minute.
    pub limit: u32,
    /// Requests left right now.
    pub remaining: u32,
    /// Seconds until the budget is full again.
    pub reset: u64,
}

impl Allowance {
    /// `RateLimit-Policy`: the quota and its window, in the IETF draft's syntax.
    pub fn policy_header(limit: u32) -> String {
        format!("\"tenant\";q={limit};w=60")
    }

    /// `RateLimit`: what is left and when it is full again.
    pub fn header(&self) -> String {
        format!("\"tenant\";r={};t={}", self.remaining, self.reset)
    }
}

/// Sets the `RateLimit-Policy` and `RateLimit` headers of `state` on a response.
pub fn set_headers(headers: &mut actix_web::http::header::HeaderMap, state: &Allowance) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    if let (Ok(policy), Ok(now)) = (
        HeaderValue::from_str(&Allowance::policy_header(state.limit)),
        HeaderValue::from_str(&state.header()),
    ) {
        // Appended: an API response already carries its key's own policy.
        headers.append(HeaderName::from_static("ratelimit-policy"), policy);
        headers.append(HeaderName::from_static("ratelimit"), now);
    }
}

/// Sets an API key's own `RateLimit-Policy` and `RateLimit` (named `"key"`),
/// beside the tenant's that the budget middleware adds.
pub fn set_key_headers(headers: &mut actix_web::http::header::HeaderMap, state: &Allowance) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    if let (Ok(policy), Ok(now)) = (
        HeaderValue::from_str(&format!("\"key\";q={};w=60", state.limit)),
        HeaderValue::from_str(&format!("\"key\";r={};t={}", state.remaining, state.reset)),
    ) {
        headers.append(HeaderName::from_static("ratelimit-policy"), policy);
        headers.append(HeaderName::from_static("ratelimit"), now);
    }
}

/// A request past the tenant's budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// Requests per minute.
    pub limit: u32,
    /// Whole seconds until one more request is allowed (at least 1).
    pub retry_after: u64,
}

/// Every tenant's budget and unflushed usage, shared by the workers.
pub struct TenantBudgets {
    entries: Cache<TenantId, Arc<Entry>>,
    /// Counts of entries the cache let go before they were flushed, and counts a
    /// flush could not write.
    pending: Arc<Mutex<HashMap<TenantId, UsageDelta>>>,
}

impl Default for TenantBudgets {
    fn default() -> Self {
        Self::new()
    }
}

fn add_pending(pending: &Mutex<HashMap<TenantId, UsageDelta>>, id: TenantId, d: UsageDelta) {
    if d == UsageDelta::default() {
        return;
    }
    if let Ok(mut map) = pending.lock() {
        let slot = map.entry(id).or_default();
        slot.requests += d.requests;
    }
}

impl TenantBudgets {
    /// Empty budgets.
    pub fn new() -> Self {
        let pending: Arc<Mutex<HashMap<TenantId, UsageDelta>>> = Arc::default();
        let keep = pending.clone();
        let entries = Cache::builder()
            .max_capacity(CAPACITY)
            .time_to_idle(IDLE)
            .eviction_listener(move |id: Arc<TenantId>, entry: Arc<Entry>, cause| {
                // A replaced entry hands its counts over itself (see `check`).
                if cause != RemovalCause::Replaced {
                    add_pending(&keep, (*id).clone(), entry.take());
                }
            })
            .build();
        Self { entries, pending }
    }

    /// Takes one request from the tenant's budget and counts it for usage.
    pub fn check(&self, scope: &TenantScope, per_minute: u32) -> Result<Allowance, OverBudget> {
        let id = scope.tenant_id();
        let mut entry = self
            .entries
            .get_with_by_ref(id, || Arc::new(Entry::new(per_minute, scope.clone())));
        if entry.per_minute != per_minute.max(1) || entry.scope != *scope {
            // The plan, an override or the tenant's home changed: a new budget,
            // full, with the counts so far carried over.
            let fresh = Arc::new(Entry::new(per_minute, scope.clone()));
            let carried = entry.take();
            fresh
                .requests
                .fetch_add(carried.requests, Ordering::Relaxed);
            self.entries.insert(id.clone(), fresh.clone());
            entry = fresh;
        }
        entry.requests.fetch_add(1, Ordering::Relaxed);
        let limit = entry.per_minute;
        match entry.limiter.check() {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                // A cell comes back every 60 / limit seconds.
                let reset =
                    (u64::from(limit - remaining.min(limit)) * 60).div_ceil(u64::from(limit));
                Ok(Allowance {
                    limit,
                    remaining,
                    reset,
                })
            }
            Err(not_until) => {
                entry.refused.fetch_add(1, Ordering::Relaxed);
                // The limiter's own clock: a new `DefaultClock` calibrates itself
                // (a `cpuid`), which cost more than the rest of a refusal.
                let wait = not_until.wait_time_from(entry.limiter.clock().now());
                Err(OverBudget {
                    limit,
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                })
            }
        }
    }

    /// Requests counted for a tenant and not flushed yet (the usage page adds
    /// them to what the table has).
    pub fn unflushed_requests(&self, tenant: &TenantId) -> i64 {
        let pending = self
            .pending
            .lock()
            .map(|m| m.get(tenant).map_or(0, |d| d.requests))
            .unwrap_or(0);
        self.entries
            .get(tenant)
            .map_or(0, |e| e.requests.load(Ordering::Relaxed))
            + pending
    }

    /// Everything counted since the last call, per tenant, with the scope to
    /// measure sizes in when they are due; the counts are reset.
    pub fn drain(&self) -> Vec<Drained> {
        self.entries.run_pending_tasks();
        let mut out: HashMap<TenantId, Drained> = HashMap::new();
        let now = Instant::now();
        for (id, entry) in self.entries.iter() {
            let delta = entry.take();
            let refused = entry.refused.swap(0, Ordering::Relaxed);
            if refused > 0 {
                tracing::warn!(tenant.id = %id.as_str(), refused, "requests refused past the tenant's budget");
            }
            let measure = match entry.sized_at.lock() {
                Ok(mut at) if at.is_none_or(|t| now.duration_since(t) >= SIZES_EVERY) => {
                    *at = Some(now);
                    true
                }
                _ => false,
            };
            if delta != UsageDelta::default() || measure {
                out.insert(
                    (*id).clone(),
                    Drained {
                        tenant: (*id).clone(),
                        delta,
                        sizes_in: measure.then(|| entry.scope.clone()),
                    },
                );
            }
        }
        let pending = self
            .pending
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default();
        for (id, d) in pending {
            let slot = out.entry(id.clone()).or_insert_with(|| Drained {
                tenant: id,
                delta: UsageDelta::default(),
                sizes_in: None,
            });
            slot.delta.requests += d.requests;
        }
        out.into_values().collect()
    }

    /// Gives back counts a flush could not write, for the next one.
    pub fn restore(&self, tenant: TenantId, delta: UsageDelta) {
        add_pending(&self.pending, tenant, delta);
    }

    /// How many tenants have a budget in memory.
    pub fn tracked(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

/// Each API key's own budget within its tenant's: a key may use at most
/// [`KEY_SHARE`] of the tenant's requests a minute, so one integration cannot
/// take the whole budget from the people using the pages. Bounded and pruned as
/// the tenants' budgets are.
pub struct KeyBudgets {
    entries: Cache<String, Arc<(u32, Limiter)>>,
}

/// The share of the tenant's budget one key may use: a half.
pub const KEY_SHARE: (u32, u32) = (1, 2);

impl Default for KeyBudgets {
    fn default() -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_idle(IDLE)
                .build(),
        }
    }
}

impl KeyBudgets {
    /// A key's budget for a tenant budget of `tenant_per_minute`.
    pub fn per_minute(tenant_per_minute: u32) -> u32 {
        (tenant_per_minute.saturating_mul(KEY_SHARE.0) / KEY_SHARE.1).max(1)
    }

    /// Takes one request from key `id`'s budget.
    pub fn check(&self, id: &str, tenant_per_minute: u32) -> Result<Allowance, OverBudget> {
        let per_minute = Self::per_minute(tenant_per_minute);
        let make = || {
            let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
            Arc::new((
                n.get(),
                RateLimiter::direct(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>(),
            ))
        };
        let mut entry = self.entries.get_with_by_ref(id, make);
        if entry.0 != per_minute {
            entry = make();
            self.entries.insert(id.to_owned(), entry.clone());
        }
        let (limit, limiter) = (entry.0, &entry.1);
        match limiter.check() {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let reset =
                    (u64::from(limit - remaining.min(limit)) * 60).div_ceil(u64::from(limit));
                Ok(Allowance {
                    limit,
                    remaining,
                    reset,
                })
            }
            Err(not_until) => Err(OverBudget {
                limit,
                retry_after: not_until
                    .wait_time_from(limiter.clock().now())
                    .as_secs_f64()
                    .ceil()
                    .max(1.0) as u64,
            }),
        }
    }
}

/// One tenant's counts taken by [`TenantBudgets::drain`].
pub struct Drained {
    /// The tenant.
    pub tenant: TenantId,
    /// What to add to today's usage.
    pub delta: UsageDelta,
    /// Where to measure its sizes, when they are due.
    pub sizes_in: Option<TenantScope>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(id: &str) -> TenantScope {
        TenantScope::for_tests(TenantId::from_string(id.to_owned()))
    }

    #[tokio::test]
    async fn refusals_wait_the_delay_and_share_ticks() {
        let first = refusal_deadline();
        let now = tokio::time::Instant::now();
        assert!(first >= now + REFUSAL_DELAY);
        assert!(first <= now + REFUSAL_DELAY + REFUSAL_TICK);
        // Two refusals a moment apart are answered on the same tick, or the next.
        let second = refusal_deadline();
        assert!(second == first || second == first + REFUSAL_TICK);
    }

    #[test]
    fn a_budget_of_30_refuses_the_31st_request_and_not_another_tenants() {
        let budgets = TenantBudgets::new();
        let (a, b) = (scope("a"), scope("b"));
        for i in 0..30 {
            let ok = budgets
                .check(&a, 30)
                .unwrap_or_else(|e| panic!("{i}: {e:?}"));
            assert_eq!(ok.limit, 30);
            assert_eq!(ok.remaining, 29 - i);
        }
        let over = budgets.check(&a, 30).unwrap_err();
        assert!(over.retry_after >= 1 && over.retry_after <= 2, "{over:?}");
        assert!(budgets.check(&b, 30).is_ok());
        let drained = budgets.drain();
        let of = |id: &str| {
            drained
                .iter()
                .find(|d| d.tenant.as_str() == id)
                .map(|d| d.delta.requests)
        };
        assert_eq!(of("a"), Some(31));
        assert_eq!(of("b"), Some(1));
        assert!(budgets.drain().iter().all(|d| d.delta.requests == 0));
    }

    #[test]
    fn a_changed_limit_starts_a_full_budget_and_keeps_the_counts() {
        let budgets = TenantBudgets::new();
        let a = scope("a");
        for _ in 0..5 {
            let _ = budgets.check(&a, 5);
        }
        assert!(budgets.check(&a, 5).is_err());
        assert!(budgets.check(&a, 100).is_ok());
        let drained = budgets.drain();
        assert_eq!(drained[0].delta.requests, 7);
    }

    #[test]
    fn headers_follow_the_draft() {
        assert_eq!(Allowance::policy_header(30), "\"tenant\";q=30;w=60");
        let a = Allowance {
            limit: 30,
            remaining: 12,
            reset: 36,
        };
        assert_eq!(a.header(), "\"tenant\";r=12;t=36");
    }

    #[test]
    fn a_key_gets_half_its_tenants_budget_and_its_own_limiter() {
        assert_eq!(KeyBudgets::per_minute(30), 15);
        assert_eq!(KeyBudgets::per_minute(1), 1);
        let keys = KeyBudgets::default();
        for i in 1..=15 {
            assert!(keys.check("key-a", 30).is_ok(), "request {i}");
        }
        let over = keys.check("key-a", 30).expect_err("the 16th is refused");
        assert_eq!(over.limit, 15);
        assert!(over.retry_after >= 1);
        // Another key of the same tenant is untouched.
        assert!(keys.check("key-b", 30).is_ok());
        // A new tenant budget gives the key a new, full one.
        assert!(keys.check("key-a", 60).is_ok());
    }
}
