//! Pages on a tenant's host.

mod auth;
mod dashboard;
mod invite;
mod password;
mod settings;
mod team;

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
    .route("/logout", web::post().to(auth::log_out))
    .route("/team", web::get().to(team::show_team))
    .route("/team/invites", web::post().to(team::create_invite))
    .route(
        "/team/invites/{id}/revoke",
        web::post().to(team::revoke_invite),
    )
    .route(
        "/team/invites/{id}/resend",
        web::post().to(team::resend_invite),
    )
    .route(
        "/team/members/{id}/role",
        web::post().to(team::change_member_role),
    )
    .route(
        "/team/members/{id}/deactivate",
        web::post().to(team::deactivate_member),
    )
    .route("/invite/{token}", web::get().to(invite::accept_invite_form))
    .route("/invite/{token}", web::post().to(invite::accept_invite))
    .route(
        "/password/forgot",
        web::get().to(password::forgot_password_form),
    )
    .route(
        "/password/forgot",
        web::post().to(password::send_password_reset),
    )
    .route(
        "/password/reset/{token}",
        web::get().to(password::reset_password_form),
    )
    .route(
        "/password/reset/{token}",
        web::post().to(password::reset_password),
    )
    .route("/settings", web::get().to(settings::settings_form))
    .route("/settings", web::post().to(settings::update_settings));
}
