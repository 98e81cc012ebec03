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
    let on_apex = super::on_apex;
    cfg.service(
        web::resource("/")
            .guard(on_apex())
            .route(web::get().to(landing)),
    )
    .service(
        web::resource("/signup")
            .guard(on_apex())
            .route(web::get().to(signup::signup_form))
            .route(web::post().to(signup::create_organization)),
    )
    .service(
        web::resource("/find")
            .guard(on_apex())
            .route(web::get().to(find::find_form))
            .route(web::post().to(find::find_workspaces)),
    );
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
