//! API keys (admin only): `/settings/api` lists the workspace's keys with a form
//! to make one; a new key is shown once, on the page that made it, and only its
//! SHA-256 is kept. Making and revoking keys go to the audit log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::NoFields;
use crate::auth::{AdminMember, CsrfForm, CurrentMember, TypedSession};
use crate::config::Config;
use crate::db::api_keys::ApiKey;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::{Db, QueryError};
use crate::domain::api_key::KEY_DAYS;
use crate::domain::{AuditAction, KeyScope, RequestMeta, parse_name};
use crate::error::AppResult;
use crate::http::see_other;
use crate::render::{FormErrors, PageContext, render};

/// The new key form as typed.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct KeyForm {
    name: String,
    scope: String,
    expires_in_days: String,
}

impl Default for KeyForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            scope: KeyScope::Read.as_str().to_owned(),
            expires_in_days: "90".to_owned(),
        }
    }
}

/// A key as the list shows it.
struct KeyView {
    id: String,
    name: String,
    prefix: String,
    scope: &'static str,
    created: String,
    last_used: String,
    expires: String,
    state: &'static str,
}

fn when(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl From<&ApiKey> for KeyView {
    fn from(k: &ApiKey) -> Self {
        let now = crate::db::now();
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scope: k.scope().as_str(),
            created: when(k.created_at),
            last_used: k
                .last_used_at
                .map(when)
                .unwrap_or_else(|| "never".to_owned()),
            expires: when(k.expires_at),
            state: if k.revoked_at.is_some() {
                "revoked"
            } else if k.expires_at <= now {
                "expired"
            } else {
                "active"
            },
        }
    }
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    ctx: PageContext,
    keys: Vec<KeyView>,
    form: KeyForm,
    errors: FormErrors,
    /// A key just made: shown this once.
    new_key: Option<(String, String)>,
    api_base: String,
    scopes: [KeyScope; 2],
}

/// One showing of the page: its status, the form as typed, its messages, and a
/// key just made.
struct View {
    status: StatusCode,
    form: KeyForm,
    errors: FormErrors,
    new_key: Option<(String, String)>,
}

impl View {
    fn fresh() -> Self {
        Self {
            status: StatusCode::OK,
            form: KeyForm::default(),
            errors: FormErrors::default(),
            new_key: None,
        }
    }
}

async fn page(
    db: &Db,
    session: &TypedSession,
    me: &CurrentMember,
    config: &Config,
    view: View,
) -> AppResult<HttpResponse> {
    let View {
        status,
        form,
        errors,
        new_key,
    } = view;
    let keys = db
        .read(&me.tenant.scope, |tx| tx.list_api_keys())
        .await?
        .iter()
        .map(KeyView::from)
        .collect();
    render(
        status,
        &ApiKeysPage {
            ctx: PageContext::app(session, me, "settings"),
            keys,
            form,
            errors,
            new_key,
            api_base: format!("{}/api/v1", config.tenant_origin(&me.tenant.slug)),
            scopes: KeyScope::ALL,
        },
    )
}

pub(super) async fn show_api_keys(
    AdminMember(me): AdminMember,
    session: TypedSession,
    config: web::Data<Config>,
    db: web::Data<Db>,
) -> AppResult<HttpResponse> {
    page(&db, &session, &me, &config, View::fresh()).await
}

#[tracing::instrument(name = "create api key", skip_all)]
pub(super) async fn create_api_key(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    config: web::Data<Config>,
    db: web::Data<Db>,
    form: CsrfForm<KeyForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let name = parse_name(&form.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let scope = KeyScope::from_stored(form.scope.trim());
    if scope.is_none() {
        errors.add("scope", "Choose read or write.");
    }
    let days = form
        .expires_in_days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| KEY_DAYS.contains(d));
    if days.is_none() {
        errors.add(
            "expires_in_days",
            format!(
                "Enter a number of days from {} to {}.",
                KEY_DAYS.start(),
                KEY_DAYS.end()
            ),
        );
    }
    let (Some(name), Some(scope), Some(days)) = (name, scope, days) else {
        let typed = KeyForm {
            name: form.name.chars().take(1000).collect(),
            scope: form.scope.chars().take(20).collect(),
            expires_in_days: form.expires_in_days.chars().take(20).collect(),
        };
        let view = View {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            form: typed,
            errors,
            new_key: None,
        };
        return page(&db, &session, &me, &config, view).await;
    };
    let actor = actor_of(&me.member);
    let member = me.member.id.clone();
    let expires_at = crate::db::now() + chrono::TimeDelta::days(days);
    let made = db
        .write(&me.tenant.scope, move |tx| {
            let made = tx.create_api_key(&name, scope, expires_at, &member)?;
            tx.record_audit(
                &NewAuditEvent::new(actor, AuditAction::ApiKeyCreated, &meta)
                    .target(format!("api key {}", made.key.name))
                    .detail(format!(
                        "{} ({}), {scope}, {days} days",
                        made.key.name, made.key.prefix
                    )),
            )?;
            Ok(made)
        })
        .await?;
    // Never logged: only the key's name and prefix.
    tracing::info!(api_key.prefix = %made.key.prefix, "api key created");
    let view = View {
        new_key: Some((made.key.name, made.secret)),
        ..View::fresh()
    };
    page(&db, &session, &me, &config, view).await
}

#[tracing::instrument(name = "revoke api key", skip_all)]
pub(super) async fn revoke_api_key(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let actor = actor_of(&me.member);
    let key = db
        .write(&me.tenant.scope, move |tx| {
            let key = tx.revoke_api_key(&id)?.ok_or(QueryError::NotFound)?;
            if key.revoked_at.is_none() {
                tx.record_audit(
                    &NewAuditEvent::new(actor, AuditAction::ApiKeyRevoked, &meta)
                        .target(format!("api key {}", key.name))
                        .detail(key.prefix.clone()),
                )?;
            }
            Ok(key)
        })
        .await?;
    session.flash(
        "success",
        format!(
            "Key \u{201c}{}\u{201d} revoked: it and the access tokens made from it no longer work.",
            key.name
        ),
    );
    Ok(see_other("/settings/api"))
}
