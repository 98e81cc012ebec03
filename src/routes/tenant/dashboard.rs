//! The dashboard: the first page after login.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::{CurrentMember, TypedSession};
use crate::config::Config;
use crate::error::AppResult;
use crate::render::{PageContext, render};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    member_name: String,
    org_name: String,
    host: String,
}

pub(super) async fn show_dashboard(
    me: CurrentMember,
    session: TypedSession,
    config: web::Data<Config>,
) -> AppResult<HttpResponse> {
    render(
        StatusCode::OK,
        &DashboardPage {
            ctx: PageContext::app(&session, &me, "dashboard"),
            member_name: me.member.name.clone(),
            org_name: me.tenant.name.clone(),
            host: config.tenant_origin(&me.tenant.slug),
        },
    )
}
