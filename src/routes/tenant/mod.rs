//! Pages on a tenant's host.

mod auth;
mod dashboard;

use actix_web::{guard, web};

/// Registers the tenant routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(
                web::get()
                    .guard(guard::fn_guard(auth::has_handoff))
                    .to(auth::complete_signup),
            )
            .route(web::get().to(dashboard::show_dashboard)),
    )
    .route("/login", web::get().to(auth::login_form))
    .route("/login", web::post().to(auth::log_in))
    .route("/logout", web::post().to(auth::log_out));
}
