//! Static assets, embedded in the binary so it runs from anywhere. Links carry a
//! content hash (`?v=`), so browsers may cache them for a year.

use std::sync::LazyLock;

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};

const APP_CSS: &str = include_str!("../../static/app.css");

static CSS_VERSION: LazyLock<String> =
    LazyLock::new(|| crate::secret::hash_token(APP_CSS)[..12].to_owned());

/// The stylesheet's content hash, for cache-busting links.
pub fn css_version() -> &'static str {
    CSS_VERSION.as_str()
}

/// Registers `/static/...`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(stylesheet));
}

async fn stylesheet(req: HttpRequest) -> HttpResponse {
    let etag = format!("\"{}\"", css_version());
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
        response.content_type(ContentType(mime_css())).body(APP_CSS)
    }
}

fn mime_css() -> actix_web::mime::Mime {
    actix_web::mime::TEXT_CSS_UTF_8
}
