//! `Config`: every setting, read once from the environment at start-up.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://tenantry.db` | SQLite path or `postgres://` URL of the app's role |
//! | `MIGRATION_DATABASE_URL` | `DATABASE_URL` | PostgreSQL: the tables' owner, who migrates and runs operator commands |
//! | `BASE_DOMAIN` | `localhost` | the apex domain |
//! | `HOST`, `PORT` | `127.0.0.1`, `8080` | where to listen |
//! | `APP_ENV` | `development` | `production` makes `SECRET_KEY` required and cookies `Secure` |
//! | `SECRET_KEY` | development: generated into `.tenantry-secret` | at least 64 characters; signs and encrypts session cookies |
//! | `SMTP_URL` | unset: mails are written under `mail/` (development only; production refuses to start without it) | `smtp://`, `smtps://` or `smtp://...?tls=required` |
//! | `TRUSTED_PROXIES` | empty | comma-separated addresses or CIDR ranges whose `X-Forwarded-For` is believed |
//! | `MAIL_FROM` | `Tenantry <no-reply@{BASE_DOMAIN}>` | sender |
//! | `MAIL_MAX_ATTEMPTS` | 8 ([`DEFAULT_MAIL_MAX_ATTEMPTS`]) | delivery tries before a mail is marked failed |
//! | `MAIL_RETRY_BASE_SECS` | 30 ([`DEFAULT_MAIL_RETRY_BASE`]) | first retry delay; it doubles on each try, up to [`MAIL_RETRY_MAX`] |
//! | `DATABASE_POOL_SIZE` | 8 (SQLite) / 16 (PostgreSQL) | connections in the main database's pool (and the most any one tenant database's pool holds) |
//! | `DATABASE_MAX_CONNECTIONS` | 4 × `DATABASE_POOL_SIZE` | connections the process may hold over every database, the main pool's included |
//! | `NEW_TENANT_PLACEMENT` | `shared` | where sign-ups' data goes: `shared`, `schema` (PostgreSQL) or `dedicated` |
//! | `DATABASE_PREPARED_STATEMENTS` | `true` | `false` sends every PostgreSQL query unnamed, as PgBouncer in transaction mode needs |
//! | `DATA_DIR` | the main SQLite file's directory | dedicated SQLite files go under `DATA_DIR/tenants/` |
//! | `RUST_LOG` | `info` | log filter (read by `telemetry`) |
//!
//! Not read from the environment (tests set it on `Config`): the mail worker's
//! poll interval ([`DEFAULT_MAIL_POLL_INTERVAL`]). How long an invite link lives is
//! not a setting: `db::invites::INVITE_TTL` (7 days, as SPEC says).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::Placement;

/// Default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tenantry.db";
/// Default apex domain; browsers resolve `*.localhost` to loopback.
pub const DEFAULT_BASE_DOMAIN: &str = "localhost";
/// Default listen address.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default listen port.
pub const DEFAULT_PORT: u16 = 8080;
/// Where the development secret is kept when `SECRET_KEY` is unset.
pub const DEV_SECRET_FILE: &str = ".tenantry-secret";
/// Shortest accepted `SECRET_KEY` (the cookie key needs 64 bytes).
pub const MIN_SECRET_LEN: usize = 64;
/// Pool size for SQLite: one writer at a time anyway, a few readers.
pub const DEFAULT_SQLITE_POOL_SIZE: u32 = 8;
/// Pool size for PostgreSQL.
pub const DEFAULT_POSTGRES_POOL_SIZE: u32 = 16;
/// Directory for `.eml` files when no `SMTP_URL` is set.
pub const DEFAULT_MAIL_DIR: &str = "mail";
/// `DATABASE_MAX_CONNECTIONS` when unset: this many times the main pool.
pub const DEFAULT_CONNECTION_BUDGET_FACTOR: u32 = 4;
/// Spare stores kept ready for sign-ups into a schema or dedicated placement.
pub const DEFAULT_SPARE_STORES: u32 = 2;
/// How long a resolved host is cached by default (`TENANT_CACHE_TTL_SECS`).
pub const DEFAULT_TENANT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Delivery tries before a mail is marked failed.
pub const DEFAULT_MAIL_MAX_ATTEMPTS: u32 = 8;
/// Delay before the first retry of a mail; doubled on each further try.
pub const DEFAULT_MAIL_RETRY_BASE: Duration = Duration::from_secs(30);
/// The longest delay between two tries of one mail.
pub const MAIL_RETRY_MAX: Duration = Duration::from_secs(3600);
/// How often the mail worker looks for due mail when nobody wakes it.
pub const DEFAULT_MAIL_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Development or production; production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local work: generated secret, non-`Secure` cookies.
    Development,
    /// A real deployment.
    Production,
}

impl FromStr for Environment {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            other => bail!("expected `development` or `production`, got `{other}`"),
        }
    }
}

/// The database behind a URL; the one place that decides which backend is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A checked database URL.
#[derive(Clone)]
pub struct DatabaseUrl {
    kind: DbKind,
    url: SecretString,
}

impl DatabaseUrl {
    /// Parses `sqlite://path`, `sqlite:path`, `postgres://...` or `postgresql://...`.
    /// Anything else is refused: a bare string would otherwise silently become a
    /// SQLite file name.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let kind = if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            DbKind::Postgres
        } else if raw.starts_with("sqlite:") {
            DbKind::Sqlite
        } else {
            bail!(
                "unsupported scheme; use sqlite://path/to/file.db or postgres://user:pass@host/db"
            );
        };
        if kind == DbKind::Sqlite && sqlite_path(raw).as_os_str().is_empty() {
            bail!("the SQLite URL names no file; use e.g. sqlite://tenantry.db");
        }
        Ok(Self {
            kind,
            url: SecretString::from(raw.to_owned()),
        })
    }

    /// A SQLite URL for a file path (used by tests and tools).
    pub fn sqlite_file(path: &Path) -> Self {
        Self {
            kind: DbKind::Sqlite,
            url: SecretString::from(format!("sqlite://{}", path.display())),
        }
    }

    /// The SQLite file this URL names (`None` for PostgreSQL).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        (self.kind == DbKind::Sqlite).then(|| sqlite_path(self.url.expose_secret()))
    }

    /// A PostgreSQL URL's parts (`None` for SQLite, or a URL `url` cannot read).
    fn pg_parts(&self) -> Option<url::Url> {
        (self.kind == DbKind::Postgres)
            .then(|| url::Url::parse(self.url.expose_secret()).ok())
            .flatten()
    }

    /// The database a PostgreSQL URL names.
    pub fn database_name(&self) -> Option<String> {
        let url = self.pg_parts()?;
        let name = url.path().trim_start_matches('/');
        (!name.is_empty()).then(|| name.to_owned())
    }

    /// The role a PostgreSQL URL connects as.
    pub fn user_name(&self) -> Option<String> {
        let url = self.pg_parts()?;
        (!url.username().is_empty()).then(|| url.username().to_owned())
    }

    /// The same server and credentials, another database (PostgreSQL only).
    pub fn with_database(&self, database: &str) -> anyhow::Result<Self> {
        let mut url = self
            .pg_parts()
            .ok_or_else(|| anyhow!("only a PostgreSQL URL names a database"))?;
        url.set_path(&format!("/{database}"));
        Self::parse(url.as_str())
    }

    /// This URL's server, database and options with `creds`' user and password:
    /// a dedicated database given by URL is reached with the deployment's own roles.
    pub fn with_credentials_of(&self, creds: &DatabaseUrl) -> anyhow::Result<Self> {
        let mut url = self
            .pg_parts()
            .ok_or_else(|| anyhow!("not a PostgreSQL URL"))?;
        let from = creds
            .pg_parts()
            .ok_or_else(|| anyhow!("not a PostgreSQL URL"))?;
        url.set_username(from.username())
            .and_then(|()| url.set_password(from.password()))
            .map_err(|()| anyhow!("this URL cannot carry credentials"))?;
        Self::parse(url.as_str())
    }

    /// The URL without user or password, fit for logs and listings.
    pub fn redacted(&self) -> String {
        match self.pg_parts() {
            Some(mut url) => {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            None => self.connection_string(),
        }
    }

    /// Which backend this URL selects.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// What Diesel's `establish` wants: the path for SQLite, the URL for PostgreSQL.
    pub fn connection_string(&self) -> String {
        match self.kind {
            DbKind::Sqlite => sqlite_path(self.url.expose_secret()).display().to_string(),
            DbKind::Postgres => self.url.expose_secret().to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password.
        write!(f, "DatabaseUrl({:?}, [redacted])", self.kind)
    }
}

/// The main SQLite file's directory (the working directory for PostgreSQL).
fn default_data_dir(url: &DatabaseUrl) -> PathBuf {
    url.sqlite_path()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."))
}

fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sqlite:");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    PathBuf::from(rest.split('?').next().unwrap_or_default())
}

/// Everything the application needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The app's database connection.
    pub database_url: DatabaseUrl,
    /// The owner's connection for migrations and operator commands.
    pub migration_database_url: DatabaseUrl,
    /// Connections in the pool.
    pub pool_size: u32,
    /// The apex domain, lowercase, without port.
    pub base_domain: String,
    /// Listen address.
    pub host: String,
    /// Listen port; 0 picks a free one (tests).
    pub port: u16,
    /// Development or production.
    pub environment: Environment,
    /// Session cookie key material.
    pub secret_key: SecretString,
    /// SMTP relay; `None` writes mails to `mail_dir`.
    pub smtp_url: Option<SecretString>,
    /// The sender of every mail.
    pub mail_from: String,
    /// Where `.eml` files go without SMTP.
    pub mail_dir: PathBuf,
    /// Port shown in links we build (mails, signup redirect); `None` for 80.
    pub public_port: Option<u16>,
    /// Delivery tries before a mail is marked failed.
    pub mail_max_attempts: u32,
    /// First retry delay of a mail (doubles per try, capped at [`MAIL_RETRY_MAX`]).
    pub mail_retry_base: Duration,
    /// How often the mail worker polls when not woken.
    pub mail_poll_interval: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (see the `client` module).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where sign-ups' data goes (`NEW_TENANT_PLACEMENT`).
    pub new_tenant_placement: Placement,
    /// Where dedicated SQLite files go, under `tenants/` (`DATA_DIR`).
    pub data_dir: PathBuf,
    /// Connections the whole process may hold open, over every database
    /// (`DATABASE_MAX_CONNECTIONS`); the main pool's `pool_size` is part of it.
    pub max_connections: u32,
    /// Stores kept made ahead of sign-ups into a schema or dedicated placement
    /// (PostgreSQL), so that a sign-up does not wait for one to be created.
    pub spare_stores: u32,
    /// PostgreSQL: whether the app's connections keep named prepared statements
    /// (`DATABASE_PREPARED_STATEMENTS`); off for PgBouncer in transaction mode.
    pub prepared_statements: bool,
    /// How long a server keeps what it resolved a host to (`TENANT_CACHE_TTL_SECS`):
    /// other instances see a rename, delete or move within it, and `tenants move`
    /// waits this long before it removes a store that servers may still name.
    pub tenant_cache_ttl: Duration,
    /// The plan sign-ups start on (`NEW_TENANT_PLAN`, default `free`); start-up
    /// refuses a plan that is not in the `plans` table.
    pub new_tenant_plan: String,
    /// How often the server adds what it counted (requests, mails sent) to the
    /// usage table (`USAGE_FLUSH_SECS`).
    pub usage_flush: Duration,
}

/// How often usage is written, unless `USAGE_FLUSH_SECS` says otherwise.
pub const DEFAULT_USAGE_FLUSH: Duration = Duration::from_secs(30);

impl Config {
    /// Reads the environment (after `.env`, which `main` loads). Errors name the
    /// variable and say what to change.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(|name| std::env::var(name))
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_vars(
        lookup: impl Fn(&str) -> Result<String, std::env::VarError>,
    ) -> anyhow::Result<Self> {
        let var = |name: &str| var(&lookup, name);
        let environment: Environment =
            var_parsed(&lookup, "APP_ENV")?.unwrap_or(Environment::Development);
        let database_url = var("DATABASE_URL")?.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let database_url =
            DatabaseUrl::parse(&database_url).context("DATABASE_URL is not usable")?;
        let migration_database_url = match var("MIGRATION_DATABASE_URL")? {
            Some(url) => {
                DatabaseUrl::parse(&url).context("MIGRATION_DATABASE_URL is not usable")?
            }
            None => database_url.clone(),
        };
        if migration_database_url.kind() != database_url.kind() {
            bail!("MIGRATION_DATABASE_URL must use the same database as DATABASE_URL");
        }
        let pool_size =
            var_parsed(&lookup, "DATABASE_POOL_SIZE")?.unwrap_or(match database_url.kind() {
                DbKind::Sqlite => DEFAULT_SQLITE_POOL_SIZE,
                DbKind::Postgres => DEFAULT_POSTGRES_POOL_SIZE,
            });
        if pool_size == 0 {
            bail!("DATABASE_POOL_SIZE must be at least 1");
        }
        let base_domain = parse_base_domain(
            &var("BASE_DOMAIN")?.unwrap_or_else(|| DEFAULT_BASE_DOMAIN.to_owned()),
        )?;
        let host = var("HOST")?.unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let port = var_parsed(&lookup, "PORT")?.unwrap_or(DEFAULT_PORT);
        let secret_key = match var("SECRET_KEY")? {
            Some(key) => SecretString::from(key),
            None if environment == Environment::Production => {
                bail!(
                    "SECRET_KEY is required when APP_ENV=production (at least 64 random characters, e.g. from `openssl rand -hex 64`)"
                )
            }
            None => dev_secret(Path::new(DEV_SECRET_FILE))?,
        };
        if secret_key.expose_secret().len() < MIN_SECRET_LEN {
            bail!(
                "SECRET_KEY is too short: use at least {MIN_SECRET_LEN} random characters (e.g. `openssl rand -hex 64`)"
            );
        }
        let smtp_url = var("SMTP_URL")?.map(SecretString::from);
        if smtp_url.is_none() && environment == Environment::Production {
            // Without a relay, mail would go to files and its links to the log.
            bail!(
                "SMTP_URL is required when APP_ENV=production (e.g. smtp://user:pass@relay.example:587?tls=required)"
            );
        }
        let trusted_proxies = match var("TRUSTED_PROXIES")? {
            Some(list) => parse_trusted_proxies(&list)?,
            None => Vec::new(),
        };
        let mail_from =
            var("MAIL_FROM")?.unwrap_or_else(|| format!("Tenantry <no-reply@{base_domain}>"));
        let mail_max_attempts =
            var_parsed(&lookup, "MAIL_MAX_ATTEMPTS")?.unwrap_or(DEFAULT_MAIL_MAX_ATTEMPTS);
        if mail_max_attempts == 0 {
            bail!("MAIL_MAX_ATTEMPTS must be at least 1");
        }
        let mail_retry_base = var_parsed(&lookup, "MAIL_RETRY_BASE_SECS")?
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_MAIL_RETRY_BASE);
        let new_tenant_placement: Placement =
            var_parsed(&lookup, "NEW_TENANT_PLACEMENT")?.unwrap_or(Placement::Shared);
        if new_tenant_placement == Placement::Schema && database_url.kind() == DbKind::Sqlite {
            bail!(
                "NEW_TENANT_PLACEMENT=schema needs PostgreSQL; on SQLite use shared or dedicated"
            );
        }
        let data_dir = match var("DATA_DIR")? {
            Some(dir) => PathBuf::from(dir),
            None => default_data_dir(&database_url),
        };
        let max_connections = var_parsed(&lookup, "DATABASE_MAX_CONNECTIONS")?
            .unwrap_or(pool_size.saturating_mul(DEFAULT_CONNECTION_BUDGET_FACTOR));
        if max_connections <= pool_size {
            bail!(
                "DATABASE_MAX_CONNECTIONS ({max_connections}) must be larger than DATABASE_POOL_SIZE ({pool_size}): the main pool is part of it"
            );
        }
        let prepared_statements =
            var_parsed(&lookup, "DATABASE_PREPARED_STATEMENTS")?.unwrap_or(true);
        let tenant_cache_ttl = var_parsed(&lookup, "TENANT_CACHE_TTL_SECS")?
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TENANT_CACHE_TTL);
        let new_tenant_plan = var("NEW_TENANT_PLAN")?.unwrap_or_else(|| "free".to_owned());
        let usage_flush = var_parsed(&lookup, "USAGE_FLUSH_SECS")?
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_USAGE_FLUSH);
        if usage_flush.is_zero() {
            bail!("USAGE_FLUSH_SECS must be at least 1");
        }
        let public_port = var_parsed(&lookup, "PUBLIC_PORT")?
            .or(Some(port))
            .filter(|p| *p != 80);
        Ok(Self {
            database_url,
            migration_database_url,
            pool_size,
            base_domain,
            host,
            port,
            environment,
            secret_key,
            smtp_url,
            mail_from,
            mail_dir: PathBuf::from(DEFAULT_MAIL_DIR),
            public_port,
            mail_max_attempts,
            mail_retry_base,
            mail_poll_interval: DEFAULT_MAIL_POLL_INTERVAL,
            trusted_proxies,
            new_tenant_placement,
            data_dir,
            max_connections,
            spare_stores: DEFAULT_SPARE_STORES,
            prepared_statements,
            tenant_cache_ttl,
            new_tenant_plan,
            usage_flush,
        })
    }

    /// A development configuration for tests, benchmarks and tools that run the app
    /// in-process: listens on 127.0.0.1 with a free port, apex `localhost`, a fixed
    /// (non-secret) key, mail written under `work_dir/mail`, default mail settings.
    pub fn local(
        database_url: DatabaseUrl,
        migration_database_url: DatabaseUrl,
        work_dir: &Path,
    ) -> Self {
        let pool_size = match database_url.kind() {
            DbKind::Sqlite => DEFAULT_SQLITE_POOL_SIZE,
            DbKind::Postgres => DEFAULT_POSTGRES_POOL_SIZE,
        };
        let data_dir = default_data_dir(&database_url);
        Self {
            data_dir,
            database_url,
            migration_database_url,
            pool_size,
            base_domain: DEFAULT_BASE_DOMAIN.to_owned(),
            host: DEFAULT_HOST.to_owned(),
            port: 0,
            environment: Environment::Development,
            secret_key: SecretString::from("local-only-key-".repeat(5)),
            smtp_url: None,
            mail_from: format!("Tenantry <no-reply@{DEFAULT_BASE_DOMAIN}>"),
            mail_dir: work_dir.join(DEFAULT_MAIL_DIR),
            public_port: None,
            mail_max_attempts: DEFAULT_MAIL_MAX_ATTEMPTS,
            mail_retry_base: DEFAULT_MAIL_RETRY_BASE,
            mail_poll_interval: DEFAULT_MAIL_POLL_INTERVAL,
            trusted_proxies: Vec::new(),
            new_tenant_placement: Placement::Shared,
            max_connections: pool_size.saturating_mul(DEFAULT_CONNECTION_BUDGET_FACTOR),
            spare_stores: DEFAULT_SPARE_STORES,
            prepared_statements: true,
            tenant_cache_ttl: DEFAULT_TENANT_CACHE_TTL,
            new_tenant_plan: "free".to_owned(),
            usage_flush: DEFAULT_USAGE_FLUSH,
        }
    }

    /// The origin of a tenant's host as a browser reaches it, e.g. `http://acme.localhost:8080`.
    pub fn tenant_origin(&self, slug: &str) -> String {
        self.origin(&format!("{slug}.{}", self.base_domain))
    }

    /// The apex's origin, e.g. `http://localhost:8080`.
    pub fn apex_origin(&self) -> String {
        self.origin(&self.base_domain)
    }

    fn origin(&self, host: &str) -> String {
        let scheme = match self.environment {
            Environment::Production => "https",
            Environment::Development => "http",
        };
        match self.public_port {
            Some(port) if !(scheme == "https" && port == 443) => {
                format!("{scheme}://{host}:{port}")
            }
            _ => format!("{scheme}://{host}"),
        }
    }

    /// Whether session cookies carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// `TRUSTED_PROXIES`: comma-separated addresses (`10.0.0.5`) or CIDR ranges
/// (`10.0.0.0/8`, `fd00::/8`).
fn parse_trusted_proxies(raw: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow!(
                        "TRUSTED_PROXIES: `{item}` is not an IP address or CIDR range (e.g. 10.0.0.1,10.1.0.0/16)"
                    )
                })
        })
        .collect()
}

/// Lowercases and checks the apex domain.
fn parse_base_domain(raw: &str) -> anyhow::Result<String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        bail!("BASE_DOMAIN `{raw}` is not a domain name (e.g. crm.example.com or localhost)");
    }
    Ok(d)
}

/// Loads the development secret, creating it on first use.
fn dev_secret(path: &Path) -> anyhow::Result<SecretString> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_LEN {
            return Ok(SecretString::from(existing));
        }
    }
    let key = crate::secret::random_token(64);
    std::fs::write(path, &key).with_context(|| {
        format!(
            "could not write the development secret to {}",
            path.display()
        )
    })?;
    Ok(SecretString::from(key))
}

/// A variable's value; unset and empty both mean "use the default".
fn var(
    lookup: &impl Fn(&str) -> Result<String, std::env::VarError>,
    name: &str,
) -> anyhow::Result<Option<String>> {
    match lookup(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(anyhow!("{name} is not valid UTF-8")),
    }
}

/// A variable parsed into `T`, with the variable's name in the error.
fn var_parsed<T>(
    lookup: &impl Fn(&str) -> Result<String, std::env::VarError>,
    name: &str,
) -> anyhow::Result<Option<T>>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    var(lookup, name)?
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|e| anyhow!("{name}=`{v}` is not valid: {e}"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://x.db").map(|u| u.kind()).ok(),
            Some(DbKind::Sqlite)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://x.db")
                .map(|u| u.connection_string())
                .ok(),
            Some("x.db".to_owned())
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db")
                .map(|u| u.kind())
                .ok(),
            Some(DbKind::Postgres)
        );
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("tenantry.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn debug_hides_database_password() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").ok();
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, std::env::VarError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned().ok_or(std::env::VarError::NotPresent)
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn production_refuses_to_start_without_smtp() {
        let err = Config::from_vars(vars(&[("APP_ENV", "production"), ("SECRET_KEY", KEY)]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("SMTP_URL is required"), "{err}");
        let ok = Config::from_vars(vars(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", KEY),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
        ]));
        assert!(ok.is_ok());
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let list = parse_trusted_proxies(" 10.0.0.5, 192.168.0.0/16 ,::1").unwrap_or_default();
        assert_eq!(list.len(), 3);
        assert!(list[0].contains(&"10.0.0.5".parse::<std::net::IpAddr>().unwrap()));
        assert!(list[1].contains(&"192.168.4.4".parse::<std::net::IpAddr>().unwrap()));
        let err = parse_trusted_proxies("10.0.0.0/33")
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("TRUSTED_PROXIES"));
    }

    #[test]
    fn base_domain_is_normalised() {
        assert_eq!(
            parse_base_domain("CRM.Example.").ok(),
            Some("crm.example".to_owned())
        );
        assert!(parse_base_domain("bad domain").is_err());
        assert!(parse_base_domain("a..b").is_err());
    }
}
