//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use actix_web::{HttpResponse, web};

use crate::db::Db;

/// Registers `/healthz` (on any host).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health_check));
}

async fn health_check(db: web::Data<Db>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(e) => {
            tracing::warn!(error = %crate::error::error_chain(&e), "health check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}
