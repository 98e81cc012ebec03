//! Pages on a tenant's host.

mod account;
mod api_keys;
mod audit;
mod auth;
mod companies;
mod dashboard;
mod export_zip;
mod invite;
mod lead_bulk;
mod lead_csv;
mod lead_form;
mod lead_imports;
mod lead_show;
mod leads;
mod password;
mod pipeline;
mod settings;
mod tasks;
mod team;
mod usage;

use actix_web::web;

use crate::tenancy::BodyLimit;

pub use export_zip::ExportSlots;

/// Registers the tenant routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::api::configure)
        .service(web::resource("/").route(web::get().to(dashboard::show_dashboard)))
        .route("/handoff", web::post().to(auth::complete_signup))
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
        .route("/account", web::get().to(account::account_form))
        .route("/account", web::post().to(account::update_account))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route(
            "/account/sessions/revoke-others",
            web::post().to(account::revoke_other_sessions),
        )
        .route("/settings", web::get().to(settings::settings_form))
        .route("/settings", web::post().to(settings::update_settings))
        .route("/settings/api", web::get().to(api_keys::show_api_keys))
        .route(
            "/settings/api/keys",
            web::post().to(api_keys::create_api_key),
        )
        .route(
            "/settings/api/keys/{id}/revoke",
            web::post().to(api_keys::revoke_api_key),
        )
        .route("/settings/usage", web::get().to(usage::show_usage))
        .route("/settings/audit", web::get().to(audit::show_audit_log))
        .route(
            "/settings/audit.csv",
            web::get().to(audit::export_audit_log),
        )
        .route(
            "/settings/export.zip",
            web::get().to(export_zip::export_workspace),
        )
        // Fixed paths before `/leads/{id}`, which would otherwise take them.
        .route("/leads", web::get().to(leads::list_leads))
        .route("/leads", web::post().to(lead_form::create_lead))
        .route("/leads/new", web::get().to(lead_form::new_lead_form))
        .route("/leads/bulk", web::post().to(lead_bulk::bulk_change))
        .route("/leads/export.csv", web::get().to(lead_csv::export_leads))
        .service(
            web::resource("/leads/import")
                // Files are larger than forms: the import's own limit, on its route.
                .app_data(BodyLimit(lead_csv::MAX_IMPORT_BYTES))
                .route(web::get().to(lead_csv::import_form))
                .route(web::post().to(lead_csv::import_leads)),
        )
        .route("/leads/imports", web::get().to(lead_imports::list_imports))
        .route(
            "/leads/imports/{id}/undo",
            web::post().to(lead_imports::undo_import),
        )
        .route("/pipeline", web::get().to(pipeline::show_pipeline))
        .route("/leads/{id}", web::get().to(lead_show::show_lead))
        .route(
            "/leads/{id}/status",
            web::post().to(pipeline::change_status),
        )
        .route("/leads/{id}", web::post().to(lead_form::update_lead))
        .route("/leads/{id}/edit", web::get().to(lead_form::edit_lead_form))
        .route("/leads/{id}/delete", web::post().to(lead_show::delete_lead))
        .route("/leads/{id}/notes", web::post().to(lead_show::create_note))
        .route("/leads/{id}/tasks", web::post().to(lead_show::create_task))
        .route("/tasks", web::get().to(tasks::list_tasks))
        .route("/tasks/{id}/done", web::post().to(tasks::complete_task))
        .route("/companies", web::get().to(companies::list_companies))
        .route("/companies", web::post().to(companies::create_company))
        .route("/companies/new", web::get().to(companies::new_company_form))
        .route("/companies/{id}", web::get().to(companies::show_company))
        .route("/companies/{id}", web::post().to(companies::update_company))
        .route(
            "/companies/{id}/edit",
            web::get().to(companies::edit_company_form),
        )
        .route(
            "/companies/{id}/delete",
            web::post().to(companies::delete_company),
        );
}
