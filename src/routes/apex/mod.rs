//! Public pages on the apex domain: the landing page, signup and the workspace finder.

mod find;
mod signup;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::TypedSession;
use crate::error::AppResult;
use crate::render::{PageContext, render};

/// Registers the apex routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing))
        .route("/signup", web::get().to(signup::signup_form))
        .route("/signup", web::post().to(signup::create_organization))
        .route("/find", web::get().to(find::find_form))
        .route("/find", web::post().to(find::find_workspaces));
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    ctx: PageContext,
}

async fn landing(session: TypedSession) -> AppResult<HttpResponse> {
    render(
        StatusCode::OK,
        &LandingPage {
            ctx: PageContext::public(&session),
        },
    )
}
