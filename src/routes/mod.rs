//! HTTP routes, registered per area. Apex and tenant routes share paths (`/`), so
//! each area is guarded by the [`Site`] that the tenancy middleware resolved.
//!
//! The apex's few routes are resources of their own, each with the apex guard; the
//! tenant's routes sit in one guarded scope after them. Two sibling scopes would
//! route the same, but actix finds a request's route *pattern* (for the request
//! log) by path alone, stopping in the first scope whose prefix matches: with the
//! apex in an empty-prefix scope, no tenant route would ever be named.

pub mod apex;
pub mod assets;
pub mod health;
pub mod tenant;

use actix_web::{guard, web};

use crate::tenancy::Site;

/// The guard of every apex route.
pub fn on_apex() -> impl guard::Guard {
    guard::fn_guard(|ctx| matches!(ctx.req_data().get::<Site>(), Some(Site::Apex)))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::configure)
        .configure(assets::configure)
        .configure(apex::configure)
        .service(
            web::scope("")
                .guard(guard::fn_guard(|ctx| {
                    matches!(ctx.req_data().get::<Site>(), Some(Site::Tenant(_)))
                }))
                .configure(tenant::configure),
        );
}

#[cfg(test)]
mod tests {
    use actix_web::dev::Service;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::{App, test};

    /// The pattern the request log would name for `path` (what the root span's
    /// builder reads before routing).
    async fn logged_route(path: &str) -> String {
        let app = test::init_service(App::new().configure(super::configure).wrap_fn(|req, srv| {
            let route = req
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            let call = srv.call(req);
            async move {
                let mut res = call.await?;
                res.headers_mut().insert(
                    HeaderName::from_static("x-route"),
                    HeaderValue::from_str(&route).unwrap(),
                );
                Ok(res)
            }
        }))
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        res.headers()
            .get("x-route")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[actix_web::test]
    async fn every_route_is_named_in_the_log() {
        assert_eq!(logged_route("/leads/12").await, "/leads/{id}");
        assert_eq!(
            logged_route("/team/members/x/role").await,
            "/team/members/{id}/role"
        );
        assert_eq!(logged_route("/signup").await, "/signup");
        assert_eq!(logged_route("/").await, "/");
        assert_eq!(logged_route("/healthz").await, "/healthz");
        assert_eq!(logged_route("/nope/nope").await, "unmatched");
    }
}
