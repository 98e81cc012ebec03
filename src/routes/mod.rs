//! HTTP routes, registered per area. Apex and tenant routes share paths (`/`,
//! `/login`...), so each area is a scope guarded by the [`Site`] that the tenancy
//! middleware resolved.

pub mod apex;
pub mod assets;
pub mod health;
pub mod tenant;

use actix_web::{guard, web};

use crate::tenancy::Site;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::configure)
        .configure(assets::configure)
        .service(
            web::scope("")
                .guard(guard::fn_guard(|ctx| {
                    matches!(ctx.req_data().get::<Site>(), Some(Site::Apex))
                }))
                .configure(apex::configure),
        )
        .service(
            web::scope("")
                .guard(guard::fn_guard(|ctx| {
                    matches!(ctx.req_data().get::<Site>(), Some(Site::Tenant(_)))
                }))
                .configure(tenant::configure),
        );
}
