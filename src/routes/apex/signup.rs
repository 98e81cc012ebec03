//! Signup: creates an organisation and its first admin, then hands the admin over
//! to the new host, logged in.
//!
//! The session cookie is host-only, so the apex cannot log anyone in on a
//! subdomain. Instead the new host is reached with a single-use, two-minute token
//! (`/?handoff=...`) that the tenant's `/` exchanges for a session.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::password::hash_password_off_thread;
use crate::auth::{CsrfForm, TypedSession};
use crate::config::Config;
use crate::db::Db;
use crate::db::tenants::{NewOrganization, SignupOutcome};
use crate::domain::{Email, Slug, check_new_password, parse_name};
use crate::error::AppResult;
use crate::http::{see_other, url_encode};
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

#[tracing::instrument(name = "signup", skip_all)]
pub(super) async fn create_organization(
    session: TypedSession,
    config: web::Data<Config>,
    db: web::Data<Db>,
    resolver: web::Data<TenantResolver>,
    form: CsrfForm<SignupForm>,
) -> AppResult<HttpResponse> {
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
    let password = form.password.clone();
    let hash = hash_password_off_thread(password).await?;
    let new = NewOrganization {
        name: org_name,
        slug: slug.clone(),
        admin_name,
        admin_email,
        admin_password_hash: hash,
    };
    match db.platform(move |tx| tx.create_organization(&new)).await? {
        SignupOutcome::SlugTaken => {
            let mut errors = FormErrors::default();
            errors.add("subdomain", "That address is taken. Please choose another.");
            invalid(errors)
        }
        SignupOutcome::Created {
            tenant,
            handoff_token,
        } => {
            resolver.invalidate(&tenant.slug);
            tracing::info!(tenant.slug = %tenant.slug, "organisation created");
            let location = format!(
                "{}/?handoff={}",
                config.tenant_origin(slug.as_str()),
                url_encode(&handoff_token)
            );
            Ok(see_other(&location))
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
