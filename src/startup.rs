//! Building and running the HTTP server.

use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha512};
use tracing_actix_web::TracingLogger;

use crate::budget::TenantBudgets;
use crate::config::{Config, DbKind};
use crate::db::{Db, run_migrations};
use crate::error::AppError;
use crate::mail::MailWaker;
use crate::ratelimit::RateLimits;
use crate::telemetry::RequestSpan;
use crate::tenancy::{MAX_BODY_BYTES, TenantResolver, gate, resolve_site};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tenantry_session";

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    mail_worker: tokio::task::JoinHandle<()>,
    budgets: web::Data<TenantBudgets>,
}

impl Application {
    /// Migrates, connects, binds and builds the server, and starts the mail worker;
    /// nothing is served until [`Application::run_until_stopped`].
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        let migration_url = config.migration_database_url.clone();
        let applied = tokio::task::spawn_blocking(move || run_migrations(&migration_url))
            .await
            .context("migration task failed")??;
        if applied > 0 {
            tracing::info!(count = applied, "applied database migrations");
        }
        let db = Db::connect(&config)?;
        // PostgreSQL: row-level security and grants; SQLite: the append-only triggers.
        crate::db::check_isolation(&db).await?;
        let plan = config.new_tenant_plan.clone();
        if !db.platform_read(move |tx| tx.plan_exists(&plan)).await? {
            anyhow::bail!(
                "NEW_TENANT_PLAN={} names no plan (the built-in ones are free, team and business)",
                config.new_tenant_plan
            );
        }
        let stores_ready = prepare_stores(&db).await?;
        let listener = TcpListener::bind((config.host.as_str(), config.port)).with_context(|| {
            format!(
                "could not listen on {}:{} (is another program using that port? set PORT to choose another)",
                config.host, config.port
            )
        })?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        if config.port == 0 {
            config.public_port = Some(port).filter(|p| *p != 80);
        }
        tokio::task::spawn_blocking(crate::auth::password::warm_up)
            .await
            .context("warming up the password hasher")?;
        let waker = MailWaker::default();
        let mail_worker = crate::mail::spawn_worker(db.clone(), &config, waker.clone())?;
        if config.spare_stores > 0
            && db.kind() == DbKind::Postgres
            && config.new_tenant_placement != crate::domain::Placement::Shared
        {
            tokio::spawn(keep_spares(
                db.clone(),
                config.new_tenant_placement,
                config.spare_stores,
            ));
        }
        tokio::spawn(stores_ready);
        let budgets = web::Data::new(TenantBudgets::new());
        tokio::spawn(flush_usage_every(
            db.clone(),
            budgets.clone(),
            config.usage_flush,
        ));
        let server = serve(listener, db.clone(), config, waker, budgets.clone())?;
        Ok(Self {
            port,
            server,
            db,
            mail_worker,
            budgets,
        })
    }

    /// The port actually bound (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database handle the server uses (tests reach it through this).
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// Serves until the process is stopped (Ctrl-C or SIGTERM, gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // Mail still queued stays in the outbox for the next start.
        self.mail_worker.abort();
        // What was counted since the last flush is not lost with the process.
        flush_usage(&self.db, &self.budgets).await;
        result
    }
}

fn session_key(config: &Config) -> anyhow::Result<Key> {
    // SECRET_KEY is at least 64 characters; SHA-512 turns any such string into the
    // 64 bytes the cookie key wants, spreading its entropy over all of them.
    let digest = Sha512::digest(config.secret_key.expose_secret().as_bytes());
    Key::try_from(digest.as_slice()).context("deriving the session key")
}

fn serve(
    listener: TcpListener,
    db: Db,
    config: Config,
    waker: MailWaker,
    budgets: web::Data<TenantBudgets>,
) -> anyhow::Result<Server> {
    let key = session_key(&config)?;
    let secure = config.secure_cookies();
    let production = config.environment == crate::config::Environment::Production;
    let address = listener.local_addr().ok();
    let resolver = web::Data::new(TenantResolver::new(
        db.clone(),
        config.base_domain.clone(),
        config.apex_origin(),
        config.tenant_cache_ttl,
    ));
    let limits = web::Data::new(RateLimits::default());
    // One set for the process (not per worker), so its bound holds for all of them.
    let exports = web::Data::new(crate::routes::tenant::ExportSlots::for_pool(
        config.pool_size,
    ));
    let waker = web::Data::new(waker);
    let token_keys = web::Data::new(crate::api::caller::TokenKeys::new(&config));
    let key_budgets = web::Data::new(crate::budget::KeyBudgets::default());
    let db = web::Data::new(db);
    let config = web::Data::new(config);
    let server = HttpServer::new(move || {
        let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name(SESSION_COOKIE.to_owned())
            .cookie_content_security(CookieContentSecurity::Private)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_domain(None)
            .cookie_path("/".to_owned())
            .cookie_secure(secure)
            .session_lifecycle(
                PersistentSession::default()
                    .session_ttl(actix_web::cookie::time::Duration::seconds(
                        crate::auth::session::SESSION_MAX_AGE_SECS,
                    ))
                    .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            )
            .build();
        App::new()
            .app_data(db.clone())
            .app_data(config.clone())
            .app_data(resolver.clone())
            .app_data(limits.clone())
            .app_data(budgets.clone())
            .app_data(exports.clone())
            .app_data(waker.clone())
            .app_data(token_keys.clone())
            .app_data(key_budgets.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| AppError::BadRequest(format!("query: {e}")).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(|e, _| {
                        match e {
                            actix_web::error::UrlencodedError::Overflow { .. } => {
                                AppError::PayloadTooLarge
                            }
                            other => AppError::BadRequest(other.to_string()),
                        }
                        .into()
                    }),
            )
            .configure(crate::routes::configure)
            .default_service(web::to(not_found))
            .wrap(session)
            .wrap(from_fn(resolve_site))
            .wrap(security_headers(production))
            .wrap(TracingLogger::<RequestSpan>::new())
            // Outermost: a tenant past its budget is refused before the request
            // log, the headers middleware or its session cookie cost anything.
            .wrap(from_fn(gate))
    })
    .listen(listener)
    .context("starting the HTTP server")?
    .run();
    if let Some(address) = address {
        tracing::info!(%address, "listening");
    }
    Ok(server)
}

/// Tenants placed outside the main database, at start: those whose store the
/// directory records behind this binary are held back (503 "being upgraded")
/// before anything is served. The returned task migrates them, a few at a time,
/// then checks every store and redoes every copy the main database keeps of
/// them (`db::index_copy`), so each tenant is served as soon as its own store is
/// current while the rest finish.
async fn prepare_stores(db: &Db) -> anyhow::Result<impl std::future::Future<Output = ()> + use<>> {
    use crate::db::{HomeMigration, OperatorDb, StoreState, migrate_homes};
    let layout = db.stores().layout().clone();
    let (homes, newest) = {
        let layout = layout.clone();
        tokio::task::spawn_blocking(move || {
            let homes = OperatorDb::connect(&layout)?.homes()?;
            Ok::<_, anyhow::Error>((homes, crate::db::newest_version(&layout)))
        })
        .await
        .context("reading the tenants directory")??
    };
    let behind: Vec<_> = homes
        .iter()
        .filter(|h| h.tenant_id.is_some() && h.recorded_version.as_deref() != Some(newest.as_str()))
        .cloned()
        .collect();
    for entry in &behind {
        db.stores().set_state(&entry.home, StoreState::Pending);
    }
    let db = db.clone();
    Ok(async move {
        if !behind.is_empty() {
            tracing::info!(stores = behind.len(), "migrating tenant stores");
            let stores = db.stores().clone();
            let migrated = {
                let layout = layout.clone();
                let behind = behind.clone();
                tokio::task::spawn_blocking(move || {
                    let outcomes = migrate_homes(
                        &layout,
                        &behind,
                        crate::cli::MIGRATE_PARALLELISM,
                        |entry, outcome| match outcome {
                            // Checked on first use, or below.
                            HomeMigration::Current { .. } => stores.forget(&entry.home),
                            HomeMigration::Failed(reason) => {
                                tracing::error!(tenant.slug = entry.slug.as_deref().unwrap_or("-"), %reason, "a tenant's store failed to migrate; it is not served until `tenantry migrate` finishes it");
                                stores.set_state(
                                    &entry.home,
                                    StoreState::Refused(format!("its migration failed: {reason}")),
                                );
                            }
                        },
                    );
                    let mut operator = OperatorDb::connect(&layout)?;
                    for (entry, outcome) in behind.iter().zip(&outcomes) {
                        if let HomeMigration::Current { version, .. } = outcome {
                            operator.record_version(entry, version)?;
                        }
                    }
                    Ok::<_, anyhow::Error>(())
                })
                .await
            };
            if let Err(e) = migrated.map_err(anyhow::Error::new).and_then(|r| r) {
                tracing::error!(error = %format!("{e:#}"), "migrating tenant stores");
            }
        }
        reconcile_stores(&db).await;
    })
}

/// Checks every tenant store (a refused one is logged in `Db`) and redoes the
/// main database's copies of what they index, a few at a time.
async fn reconcile_stores(db: &Db) {
    use futures_util::StreamExt;
    let tenants = match db.platform_read(|tx| tx.tenants_elsewhere()).await {
        Ok(tenants) => tenants,
        Err(e) => {
            tracing::error!(error = %e, "listing tenants placed elsewhere");
            return;
        }
    };
    let count = tenants.len();
    futures_util::stream::iter(tenants)
        .for_each_concurrent(crate::cli::MIGRATE_PARALLELISM, |scope| {
            let db = db.clone();
            async move {
                if let Err(e) = db.reconcile(&scope).await {
                    tracing::warn!(error = %e, "a tenant's store could not be reconciled");
                }
            }
        })
        .await;
    if count > 0 {
        tracing::info!(stores = count, "tenant stores checked");
    }
}

/// Adds what the server counted to the usage table every `every`.
async fn flush_usage_every(db: Db, budgets: web::Data<TenantBudgets>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        flush_usage(&db, &budgets).await;
    }
}

/// One flush: each tenant's requests since the last one, and its sizes when they
/// are due. A tenant whose row cannot be written keeps its counts for the next.
async fn flush_usage(db: &Db, budgets: &TenantBudgets) {
    for drained in budgets.drain() {
        let sizes = match &drained.sizes_in {
            Some(scope) => db.read(scope, |tx| tx.usage_sizes()).await.ok(),
            None => None,
        };
        let tenant = drained.tenant.clone();
        match db.add_usage(tenant, drained.delta, sizes).await {
            Ok(()) => {}
            // The tenant was deleted meanwhile: nothing to bill.
            Err(crate::db::DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ))) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not record a tenant's usage; kept for the next flush");
                budgets.restore(drained.tenant, drained.delta);
            }
        }
    }
}

/// Keeps `target` spare stores of `placement` made (PostgreSQL, schema or
/// dedicated only): at start, and again whenever a sign-up takes one.
async fn keep_spares(db: Db, placement: crate::domain::Placement, target: u32) {
    let layout = db.stores().layout().clone();
    loop {
        let filled = {
            let layout = layout.clone();
            tokio::task::spawn_blocking(move || {
                crate::db::spares::fill_spares(&layout, placement, target)
            })
            .await
        };
        match filled.map_err(anyhow::Error::new).and_then(|r| r) {
            Ok(0) => {}
            Ok(made) => tracing::info!(made, %placement, "spare tenant stores made"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not make a spare tenant store")
            }
        }
        tokio::select! {
            () = db.stores().spares_wanted().notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
        }
    }
}

/// The headers of every response. In production the site is served over TLS
/// only, so browsers are told to never try plain HTTP on it or its subdomains.
/// The headers every response carries (HSTS in production only), lowercase as
/// `HeaderName::from_static` wants them.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
];
const HSTS: (&str, &str) = (
    "strict-transport-security",
    "max-age=31536000; includeSubDomains",
);

fn security_headers(production: bool) -> DefaultHeaders {
    let headers = if production {
        DefaultHeaders::new().add(HSTS)
    } else {
        DefaultHeaders::new()
    };
    SECURITY_HEADERS
        .iter()
        .fold(headers, |h, &pair| h.add(pair))
}

/// Sets [`SECURITY_HEADERS`] on a response answered before the middleware that
/// adds them (the budget's refusal, in [`gate`]).
pub fn add_security_headers(headers: &mut actix_web::http::header::HeaderMap, production: bool) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let hsts = production.then_some(&HSTS);
    for &(name, value) in SECURITY_HEADERS.iter().chain(hsts) {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
