//! Tracing set-up for the binary, and the request span every log line sits in.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, filtered by `RUST_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Ignore the error of a second init (e.g. `tenantry` called from a test harness).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// The root span of every request: method, matched route *pattern* (never the raw
/// path or query, which carry tokens), a request id, and `tenant.slug` / `user.id`
/// filled in once known.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(req: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let route = req
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let request_id = req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let client = crate::client::of_request(req.request())
            .0
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            http.method = %req.method(),
            http.route = %route,
            request_id = %request_id,
            client.address = %client,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            tenant.slug = tracing::field::Empty,
            user.id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.in_scope(|| tracing::info!(http.status_code = status, "request finished"));
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
