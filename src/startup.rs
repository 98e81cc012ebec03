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

use crate::config::{Config, DbKind};
use crate::db::{Db, run_migrations};
use crate::error::AppError;
use crate::mail::MailWaker;
use crate::ratelimit::RateLimits;
use crate::telemetry::RequestSpan;
use crate::tenancy::{MAX_BODY_BYTES, TenantResolver, resolve_site};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tenantry_session";

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    mail_worker: tokio::task::JoinHandle<()>,
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
        let db = Db::connect(&config.database_url, config.pool_size)?;
        if db.kind() == DbKind::Postgres {
            crate::db::check_isolation(&db).await?;
        }
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
        let server = serve(listener, db.clone(), config, waker)?;
        Ok(Self {
            port,
            server,
            db,
            mail_worker,
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
) -> anyhow::Result<Server> {
    let key = session_key(&config)?;
    let secure = config.secure_cookies();
    let production = config.environment == crate::config::Environment::Production;
    let address = listener.local_addr().ok();
    let resolver = web::Data::new(TenantResolver::new(
        db.clone(),
        config.base_domain.clone(),
        config.apex_origin(),
    ));
    let limits = web::Data::new(RateLimits::default());
    let waker = web::Data::new(waker);
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
            .app_data(waker.clone())
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
            .wrap(from_fn(resolve_site))
            .wrap(session)
            .wrap(security_headers(production))
            .wrap(TracingLogger::<RequestSpan>::new())
    })
    .listen(listener)
    .context("starting the HTTP server")?
    .run();
    if let Some(address) = address {
        tracing::info!(%address, "listening");
    }
    Ok(server)
}

/// The headers of every response. In production the site is served over TLS
/// only, so browsers are told to never try plain HTTP on it or its subdomains.
fn security_headers(production: bool) -> DefaultHeaders {
    let headers = if production {
        DefaultHeaders::new().add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ))
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
