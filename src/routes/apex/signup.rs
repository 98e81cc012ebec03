//! Signup: creates an organisation and its first admin, then hands the admin over
//! to the new host, logged in.
//!
//! The session cookie is host-only, so the apex cannot log anyone in on a
//! subdomain. Instead the answer to the sign-up is a page that posts a single-use,
//! two-minute token to the new host's `/handoff` (by itself, or with one click
//! without JavaScript), which exchanges it for a session. The token is never in a
//! URL, so there is no link to send someone else: an attacker cannot log a victim
//! into the attacker's workspace, and `/handoff` takes the token only from a page
//! of our apex (its `Origin`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::password::hash_password_off_thread;
use crate::auth::{CsrfForm, TypedSession};
use crate::client::ClientAddr;
use crate::config::Config;
use crate::db::Db;
use crate::db::tenants::{NewOrganization, SignupOutcome};
use crate::domain::{Email, Slug, check_new_password, parse_name};
use crate::error::AppResult;
use crate::ratelimit::{Limited, RateLimits};
use crate::render::{FormErrors, PageContext, render};
use crate::tenancy::TenantResolver;

/// The signup form as typed.
#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub struct SignupForm {
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    organization_name: String,
    #[validate(length(max = 40, message = "Use 3 to 40 characters."))]
    subdomain: String,
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    name: String,
    #[validate(length(max = 254, message = "Must be at most 254 characters."))]
    email: String,
    #[validate(length(max = 256, message = "Use at most 256 characters."))]
    password: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    ctx: PageContext,
    form: &'a SignupForm,
    errors: FormErrors,
    base_domain: &'a str,
}

pub(super) async fn signup_form(
    session: TypedSession,
    config: web::Data<Config>,
) -> AppResult<HttpResponse> {
    let form = SignupForm::default();
    render(
        StatusCode::OK,
        &SignupPage {
            ctx: PageContext::public(&session),
            form: &form,
            errors: FormErrors::default(),
            base_domain: &config.base_domain,
        },
    )
}

/// Parses the form into a new organisation (without the hash yet).
fn parse(form: &SignupForm) -> Result<(String, Slug, String, Email), FormErrors> {
    let mut errors = FormErrors::default();
    if let Err(e) = form.validate() {
        errors.extend_from_validation(&e);
    }
    let org = parse_name(&form.organization_name)
        .map_err(|e| errors.add("organization_name", e))
        .ok();
    let slug = Slug::parse(&form.subdomain)
        .map_err(|e| errors.add("subdomain", e.to_string()))
        .ok();
    let name = parse_name(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    if let Err(e) = check_new_password(&form.password) {
        errors.add("password", e);
    }
    match (org, slug, name, email) {
        (Some(org), Some(slug), Some(name), Some(email)) if errors.is_empty() => {
            Ok((org, slug, name, email))
        }
        _ => Err(errors),
    }
}

/// The page that carries the new admin to their workspace.
#[derive(Template)]
#[template(path = "handoff.html")]
struct HandoffPage {
    workspace: String,
    action: String,
    token: String,
}

#[tracing::instrument(name = "signup", skip_all)]
pub(super) async fn create_organization(
    client: ClientAddr,
    limits: web::Data<RateLimits>,
    session: TypedSession,
    config: web::Data<Config>,
    db: web::Data<Db>,
    resolver: web::Data<TenantResolver>,
    form: CsrfForm<SignupForm>,
) -> AppResult<HttpResponse> {
    limits.check_client(Limited::SignupClient, client.0)?;
    let form = form.into_inner();
    let invalid = |errors: FormErrors| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SignupPage {
                ctx: PageContext::public(&session),
                form: &form,
                errors,
                base_domain: &config.base_domain,
            },
        )
    };
    let (org_name, slug, admin_name, admin_email) = match parse(&form) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(errors),
    };
    let taken = || {
        let mut errors = FormErrors::default();
        errors.add("subdomain", "That address is taken. Please choose another.");
        invalid(errors)
    };
    // A taken address is refused before the costly hash (the insert checks again).
    let lookup = slug.as_str().to_owned();
    if db
        .platform_read(move |tx| tx.find_tenant_by_slug(&lookup))
        .await?
        .is_some()
    {
        return taken();
    }
    let password = form.password.clone();
    let hash = hash_password_off_thread(password).await?;
    let new = NewOrganization {
        name: org_name,
        slug: slug.clone(),
        admin_name,
        admin_email,
        admin_password_hash: hash,
        plan: config.new_tenant_plan.clone(),
    };
    let placement = config.new_tenant_placement;
    match db.create_organization(new, placement).await? {
        SignupOutcome::SlugTaken => taken(),
        SignupOutcome::Created {
            tenant,
            handoff_token,
        } => {
            resolver.invalidate(&tenant.slug);
            tracing::info!(tenant.slug = %tenant.slug, %placement, "organisation created");
            let origin = config.tenant_origin(slug.as_str());
            let mut response = render(
                StatusCode::OK,
                &HandoffPage {
                    workspace: origin.clone(),
                    action: format!("{origin}/handoff"),
                    token: handoff_token,
                },
            )?;
            // The new host checks where the post came from: let the browser say
            // our origin (the default policy here would send `Origin: null`).
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                header::HeaderValue::from_static("strict-origin"),
            );
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SignupForm {
        SignupForm {
            organization_name: "Acme".into(),
            subdomain: "acme".into(),
            name: "Ada".into(),
            email: "ada@acme.test".into(),
            password: "correct horse".into(),
        }
    }

    #[test]
    fn a_good_form_parses() {
        assert!(parse(&form()).is_ok());
    }

    #[test]
    fn each_bad_field_gets_its_message() {
        let bad = SignupForm {
            organization_name: "".into(),
            subdomain: "www".into(),
            name: "x".repeat(201),
            email: "nope".into(),
            password: "short".into(),
        };
        let errors = parse(&bad).err().unwrap_or_default();
        for field in [
            "organization_name",
            "subdomain",
            "name",
            "email",
            "password",
        ] {
            assert!(errors.has(field), "{field}");
        }
    }
}
