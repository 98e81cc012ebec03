//! Password hashing with argon2id. Both functions are CPU-heavy (tens of
//! milliseconds by design): call them on the blocking pool, never on an async worker.

use std::sync::LazyLock;

use anyhow::anyhow;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

use crate::error::{AppError, AppResult};

/// argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A hash that verifies nothing, so that logging in with an unknown email costs the
/// same time as with a known one.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not a password: timing equaliser").unwrap_or_default());

/// Hashes a new password into a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hashing password: {e}"))
}

/// Checks a password against a stored hash. With `None` (no such account) it checks
/// against a dummy hash and returns `false`, taking the same time.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (DUMMY_HASH.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// How many argon2 computations run at once. Each takes 19 MiB and a core for
/// tens of milliseconds: past this a burst waits its turn (in memory only as a
/// queued request) instead of allocating 19 MiB per request at the same time.
fn argon2_permits() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

static ARGON2_SLOTS: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(argon2_permits()));

/// Waits for a free argon2 slot.
async fn argon2_slot() -> AppResult<tokio::sync::SemaphorePermit<'static>> {
    ARGON2_SLOTS
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

/// [`hash_password`] on the blocking pool, for handlers.
pub async fn hash_password_off_thread(password: String) -> AppResult<String> {
    let _slot = argon2_slot().await?;
    crate::blocking::spawn_blocking_in_span(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

/// [`verify_password`] on the blocking pool, for handlers.
pub async fn verify_password_off_thread(
    stored: Option<String>,
    password: String,
) -> AppResult<bool> {
    let _slot = argon2_slot().await?;
    crate::blocking::spawn_blocking_in_span(move || verify_password(stored.as_deref(), &password))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

/// Computes the dummy hash ahead of the first login (start-up calls this).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(Some(&h), "correct horse"));
        assert!(!verify_password(Some(&h), "wrong horse"));
    }

    #[test]
    fn unknown_account_never_verifies() {
        assert!(!verify_password(None, "not a password: timing equaliser"));
        assert!(!verify_password(Some("garbage"), "x"));
    }
}
