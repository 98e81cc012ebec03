//! Static assets, embedded in the binary so it runs from anywhere. Links carry a
//! content hash (`?v=`), so browsers may cache them for a year.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

const APP_CSS: &str = include_str!("../../static/app.css");
const HANDOFF_JS: &str = include_str!("../../static/handoff.js");
const PIPELINE_JS: &str = include_str!("../../static/pipeline.js");
const BULK_JS: &str = include_str!("../../static/bulk.js");
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

static CSS_VERSION: LazyLock<String> = LazyLock::new(|| version_of(APP_CSS));
static HANDOFF_JS_VERSION: LazyLock<String> = LazyLock::new(|| version_of(HANDOFF_JS));
static PIPELINE_JS_VERSION: LazyLock<String> = LazyLock::new(|| version_of(PIPELINE_JS));
static BULK_JS_VERSION: LazyLock<String> = LazyLock::new(|| version_of(BULK_JS));
static FAVICON_VERSION: LazyLock<String> = LazyLock::new(|| version_of(FAVICON_SVG));

fn version_of(body: &str) -> String {
    crate::secret::hash_token(body)[..12].to_owned()
}

/// The stylesheet's content hash, for cache-busting links.
pub fn css_version() -> &'static str {
    CSS_VERSION.as_str()
}

/// The hand-off script's content hash, for cache-busting links.
pub fn handoff_js_version() -> &'static str {
    HANDOFF_JS_VERSION.as_str()
}

/// The pipeline board's script's content hash, for cache-busting links.
pub fn pipeline_js_version() -> &'static str {
    PIPELINE_JS_VERSION.as_str()
}

/// The lead list's select-all script's content hash, for cache-busting links.
pub fn bulk_js_version() -> &'static str {
    BULK_JS_VERSION.as_str()
}

/// Registers `/static/...`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(stylesheet))
        .route("/static/handoff.js", web::get().to(handoff_script))
        .route("/static/pipeline.js", web::get().to(pipeline_script))
        .route("/static/bulk.js", web::get().to(bulk_script))
        // Browsers ask every host for `/favicon.ico`, whatever the page links.
        .route("/static/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon));
}

async fn stylesheet(req: HttpRequest) -> HttpResponse {
    serve(&req, APP_CSS, css_version(), "text/css; charset=utf-8")
}

async fn handoff_script(req: HttpRequest) -> HttpResponse {
    serve(
        &req,
        HANDOFF_JS,
        handoff_js_version(),
        "text/javascript; charset=utf-8",
    )
}

async fn pipeline_script(req: HttpRequest) -> HttpResponse {
    serve(
        &req,
        PIPELINE_JS,
        pipeline_js_version(),
        "text/javascript; charset=utf-8",
    )
}

async fn bulk_script(req: HttpRequest) -> HttpResponse {
    serve(
        &req,
        BULK_JS,
        bulk_js_version(),
        "text/javascript; charset=utf-8",
    )
}

/// The icon's content hash, for cache-busting links.
pub fn favicon_version() -> &'static str {
    FAVICON_VERSION.as_str()
}

async fn favicon(req: HttpRequest) -> HttpResponse {
    serve(&req, FAVICON_SVG, favicon_version(), "image/svg+xml")
}

/// An asset with its ETag; `304` when the browser has this version.
fn serve(req: &HttpRequest, body: &'static str, version: &str, content_type: &str) -> HttpResponse {
    let etag = format!("\"{version}\"");
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"));
    if fresh {
        response.finish()
    } else {
        response
            .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
            .body(body)
    }
}
