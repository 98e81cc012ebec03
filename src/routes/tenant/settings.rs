//! Organisation settings (admin only): the organisation's name.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{AdminMember, CsrfForm, CurrentMember, TypedSession};
use crate::config::Config;
use crate::db::Db;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::domain::{AuditAction, RequestMeta, parse_name};
use crate::error::AppResult;
use crate::http::see_other;
use crate::render::{FormErrors, PageContext, render};
use crate::tenancy::TenantResolver;

/// The settings form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SettingsForm {
    organization_name: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    ctx: PageContext,
    organization_name: String,
    address: String,
    errors: FormErrors,
}

fn page(
    session: &TypedSession,
    me: &CurrentMember,
    config: &Config,
    organization_name: String,
    errors: FormErrors,
) -> SettingsPage {
    SettingsPage {
        ctx: PageContext::app(session, me, "settings"),
        organization_name,
        address: config.tenant_origin(&me.tenant.slug),
        errors,
    }
}

pub(super) async fn settings_form(
    AdminMember(me): AdminMember,
    session: TypedSession,
    config: web::Data<Config>,
) -> AppResult<HttpResponse> {
    let name = me.tenant.name.clone();
    render(
        StatusCode::OK,
        &page(&session, &me, &config, name, FormErrors::default()),
    )
}

#[tracing::instrument(name = "update_settings", skip_all)]
pub(super) async fn update_settings(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    config: web::Data<Config>,
    db: web::Data<Db>,
    resolver: web::Data<TenantResolver>,
    form: CsrfForm<SettingsForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let name = match parse_name(&form.organization_name) {
        Ok(name) => name,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("organization_name", e);
            let typed = form.organization_name.chars().take(1000).collect();
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&session, &me, &config, typed, errors),
            );
        }
    };
    let event = NewAuditEvent::new(actor_of(&me.member), AuditAction::SettingsChanged, &meta)
        .target("organization name")
        .detail(format!("{} -> {}", me.tenant.name, name));
    db.write(&me.tenant.scope, move |tx| {
        tx.rename_organization(&name)?;
        tx.record_audit(&event)
    })
    .await?;
    resolver.invalidate(&me.tenant.slug);
    tracing::info!("organisation renamed");
    session.flash("success", "Settings saved.");
    Ok(see_other("/settings"))
}
