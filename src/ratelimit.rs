//! Rate limits for the endpoints that guess or send: login, password reset and
//! the workspace finder, each limited per address and per client (governor's GCRA).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult};

/// Above this many tracked keys, forget the ones that are back to full allowance.
const RETAIN_THRESHOLD: usize = 10_000;

/// What is being limited; each has its own quota.
#[derive(Clone, Copy, Debug)]
pub enum Limited {
    /// Login attempts for one account (tenant and email).
    LoginAccount,
    /// Login attempts from one client.
    LoginClient,
    /// Mails to one address (reset, finder).
    MailAddress,
    /// Mail-sending requests from one client.
    MailClient,
    /// Sign-ups from one client.
    SignupClient,
    /// Invitations sent (and re-sent) by one tenant.
    InviteTenant,
}

/// The application's limiters, shared by all workers.
pub struct RateLimits {
    login_account: DefaultKeyedRateLimiter<String>,
    login_client: DefaultKeyedRateLimiter<IpAddr>,
    mail_address: DefaultKeyedRateLimiter<String>,
    mail_client: DefaultKeyedRateLimiter<IpAddr>,
    signup_client: DefaultKeyedRateLimiter<IpAddr>,
    invite_tenant: DefaultKeyedRateLimiter<String>,
}

/// Sign-ups one client may make in [`SIGNUP_WINDOW`].
pub const SIGNUP_BURST: u32 = 10;
/// The window of [`SIGNUP_BURST`].
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(3600);
/// Invitations (and re-sends) one tenant may send in [`INVITE_WINDOW`]: a team
/// onboarding its staff, not a mailing list sent from our domain.
pub const INVITE_BURST: u32 = 30;
/// The window of [`INVITE_BURST`].
pub const INVITE_WINDOW: Duration = Duration::from_secs(3600);

fn quota(burst: u32, per: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    // One cell comes back every `per / burst`.
    Quota::with_period(per / burst.get())
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_account: RateLimiter::keyed(quota(10, Duration::from_secs(600))),
            login_client: RateLimiter::keyed(quota(30, Duration::from_secs(60))),
            mail_address: RateLimiter::keyed(quota(3, Duration::from_secs(900))),
            mail_client: RateLimiter::keyed(quota(10, Duration::from_secs(600))),
            signup_client: RateLimiter::keyed(quota(SIGNUP_BURST, SIGNUP_WINDOW)),
            invite_tenant: RateLimiter::keyed(quota(INVITE_BURST, INVITE_WINDOW)),
        }
    }
}

impl RateLimits {
    /// Takes one attempt for a string key; 429 with `Retry-After` when over.
    pub fn check_key(&self, what: Limited, key: &str) -> AppResult<()> {
        let limiter = match what {
            Limited::LoginAccount => &self.login_account,
            Limited::MailAddress => &self.mail_address,
            Limited::InviteTenant => &self.invite_tenant,
            Limited::LoginClient | Limited::MailClient | Limited::SignupClient => return Ok(()),
        };
        let result = limiter.check_key(&key.to_owned());
        if limiter.len() > RETAIN_THRESHOLD {
            limiter.retain_recent();
        }
        result.map_err(|not_until| too_many(not_until.wait_time_from(limiter.clock().now())))
    }

    /// Takes one attempt for a client address.
    pub fn check_client(&self, what: Limited, ip: Option<IpAddr>) -> AppResult<()> {
        let Some(ip) = ip else { return Ok(()) };
        let limiter = match what {
            Limited::LoginClient => &self.login_client,
            Limited::MailClient => &self.mail_client,
            Limited::SignupClient => &self.signup_client,
            Limited::LoginAccount | Limited::MailAddress | Limited::InviteTenant => return Ok(()),
        };
        let result = limiter.check_key(&ip);
        if limiter.len() > RETAIN_THRESHOLD {
            limiter.retain_recent();
        }
        result.map_err(|not_until| too_many(not_until.wait_time_from(limiter.clock().now())))
    }
}

fn too_many(wait: Duration) -> AppError {
    AppError::TooManyRequests {
        retry_after: wait.as_secs().max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_limit_trips_after_burst() {
        let limits = RateLimits::default();
        for _ in 0..10 {
            assert!(
                limits
                    .check_key(Limited::LoginAccount, "t:ada@example.com")
                    .is_ok()
            );
        }
        match limits.check_key(Limited::LoginAccount, "t:ada@example.com") {
            Err(AppError::TooManyRequests { retry_after }) => assert!(retry_after >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        // Another account is unaffected.
        assert!(
            limits
                .check_key(Limited::LoginAccount, "t:bob@example.com")
                .is_ok()
        );
    }
}
