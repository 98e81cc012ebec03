//! Blocking work (Diesel, argon2, CSV parsing) off the async workers. A leaf: it
//! imports nothing from the crate, so every layer may use it.

/// Runs blocking work on the blocking pool inside the caller's span, so its log
/// lines keep the request's id and tenant.
pub async fn spawn_blocking_in_span<F, R>(f: F) -> Result<R, tokio::task::JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await
}
