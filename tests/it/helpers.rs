//! `spawn_app()` and friends: the real application on a real port, over a fresh
//! SQLite file or a fresh PostgreSQL database, driven by a real HTTP client.
//!
//! Hosts are real names: a resolver sends every `*.localhost` to 127.0.0.1, so the
//! cookie jar keeps each tenant's cookie to its own host, as a browser does. A
//! [`Browser`] also keeps the CSRF token of the last page it saw on each host, so a
//! post needs no extra page view (which would also consume the session's flash).
#![allow(dead_code)] // shared by every test module; not each uses every helper

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, Response, StatusCode, redirect};
use tempfile::TempDir;
use tenantry::config::{Config, DatabaseUrl};
use tenantry::db::Db;
use tenantry::domain::Placement;
use tenantry::startup::Application;

use crate::pg::{PgTestDb, postgres_available};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A PostgreSQL database of its own.
    Postgres,
}

/// Generates one test per backend from an `async fn(Backend)`. The PostgreSQL one
/// returns early (with a one-line notice) when no server is reachable, unless
/// `TENANTRY_REQUIRE_POSTGRES` is set, as CI does.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_enabled() {
                        super::$name($crate::helpers::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}

/// Generates, for tests that [`both_backends!`] runs with tenants in the shared
/// database, one test per other placement: SQLite with a file per tenant, and
/// PostgreSQL with a schema and with a database per tenant. CI runs the
/// representative set listed this way in each test module.
#[macro_export]
macro_rules! other_placements {
    ($($name:ident),* $(,)?) => {
        mod sqlite_dedicated {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::helpers::PLACEMENT
                        .scope(
                            tenantry::domain::Placement::Dedicated,
                            super::$name($crate::helpers::Backend::Sqlite),
                        )
                        .await;
                }
            )*
        }
        mod postgres_schema {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_enabled() {
                        $crate::helpers::PLACEMENT
                            .scope(
                                tenantry::domain::Placement::Schema,
                                super::$name($crate::helpers::Backend::Postgres),
                            )
                            .await;
                    }
                }
            )*
        }
        mod postgres_dedicated {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_enabled() {
                        $crate::helpers::PLACEMENT
                            .scope(
                                tenantry::domain::Placement::Dedicated,
                                super::$name($crate::helpers::Backend::Postgres),
                            )
                            .await;
                    }
                }
            )*
        }
    };
}

/// Generates a test per engine with the test's tenants in different placements:
/// the first in a database (or file) of its own, the second in the shared one,
/// and so on alternately. For tests that prove tenants cannot reach each other.
#[macro_export]
macro_rules! across_placements {
    ($($name:ident),* $(,)?) => {
        mod sqlite_mixed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    use tenantry::domain::Placement;
                    let run = super::$name($crate::helpers::Backend::Sqlite);
                    let run = $crate::helpers::MIXED_WITH.scope(Placement::Shared, run);
                    $crate::helpers::PLACEMENT.scope(Placement::Dedicated, run).await;
                }
            )*
        }
        mod postgres_mixed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_enabled() {
                        use tenantry::domain::Placement;
                        let run = super::$name($crate::helpers::Backend::Postgres);
                        let run = $crate::helpers::MIXED_WITH.scope(Placement::Shared, run);
                        $crate::helpers::PLACEMENT.scope(Placement::Dedicated, run).await;
                    }
                }
            )*
        }
    };
}

tokio::task_local! {
    /// Where sign-ups of the test running in this task go.
    pub static PLACEMENT: Placement;
    /// Set for a mixed run: every second tenant a test signs up is placed here
    /// instead, so that tests with two tenants have them in different placements.
    pub static MIXED_WITH: Placement;
}

/// The placement of this test's sign-ups: the task's (see [`other_placements!`]),
/// else `TENANTRY_TEST_PLACEMENT` (to run the whole suite in one placement by
/// hand; `schema` applies to PostgreSQL tests only), else shared.
pub fn current_placement(backend: Backend) -> Placement {
    if let Ok(p) = PLACEMENT.try_with(|p| *p) {
        return p;
    }
    match std::env::var("TENANTRY_TEST_PLACEMENT")
        .ok()
        .and_then(|p| p.parse::<Placement>().ok())
    {
        Some(Placement::Schema) if backend == Backend::Sqlite => Placement::Shared,
        Some(p) => p,
        None => Placement::Shared,
    }
}

/// Whether PostgreSQL tests should run; panics in CI when they cannot.
pub fn postgres_enabled() -> bool {
    static NOTICE: Once = Once::new();
    let available = postgres_available();
    if !available {
        if std::env::var_os("TENANTRY_REQUIRE_POSTGRES").is_some() {
            panic!(
                "TENANTRY_REQUIRE_POSTGRES is set but no PostgreSQL server answers at TEST_DATABASE_URL"
            );
        }
        NOTICE.call_once(|| {
            use std::io::Write;
            // Written to the real stderr, past the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "note: PostgreSQL tests skipped (no server reachable); set TEST_DATABASE_URL=postgres://postgres@127.0.0.1/postgres to run them"
            );
        });
    }
    available
}

/// Resolves every name under `localhost` to loopback, as browsers do.
struct LoopbackResolver;

impl Resolve for LoopbackResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let addrs: Addrs =
                    Box::new(vec![SocketAddr::from(([127, 0, 0, 1], 0))].into_iter());
                Ok(addrs)
            } else {
                Err(format!("test resolver refuses {host}").into())
            }
        })
    }
}

/// A browser: an HTTP client with its own cookie jar that follows no redirects, and
/// the CSRF token of the last page it was shown on each host, as a real browser has
/// the token in the form it posts. Derefs to the `reqwest::Client` for requests that
/// a test makes by hand. Clones share the jar and the tokens.
#[derive(Clone)]
pub struct Browser {
    http: Client,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.http
    }
}

impl Browser {
    /// The token of the last page seen on `host`, if it is still the session's.
    pub fn token(&self, host: &str) -> Option<String> {
        self.tokens.lock().unwrap().get(&token_key(host)).cloned()
    }

    fn remember(&self, host: &str, token: String) {
        self.tokens.lock().unwrap().insert(token_key(host), token);
    }

    /// Forgets `host`'s token: logging in or out starts a session whose token no
    /// page has shown yet. The helpers call this themselves; a test that logs in or
    /// out by hand (`client.post(link)`) and then uses a helper must too.
    pub fn forget(&self, host: &str) {
        self.tokens.lock().unwrap().remove(&token_key(host));
    }
}

/// A fresh browser: no cookies, no tokens.
pub fn new_client() -> Browser {
    let http = Client::builder()
        .redirect(redirect::Policy::none())
        .cookie_store(true)
        .dns_resolver(Arc::new(LoopbackResolver))
        .build()
        .expect("building the test client");
    Browser {
        http,
        tokens: Arc::default(),
    }
}

/// Whether a request to `path` with `method` logs the session in or out, which
/// gives it a new CSRF token: the login and logout forms, accepting an invite, a
/// password reset (which logs out), and the signup hand-off.
fn renews_session(method: &reqwest::Method, path: &str) -> bool {
    if method == reqwest::Method::GET {
        return false;
    }
    let path = path.split('?').next().unwrap_or(path);
    path == "/login"
        || path == "/logout"
        || path == "/handoff"
        || path.starts_with("/invite/")
        || path.starts_with("/password/reset/")
}

/// The hand-off form of the page that answers a sign-up: where it posts, and
/// the token it carries.
pub fn handoff_from(html: &str) -> Option<(String, String)> {
    let form = html.split("id=\"handoff\"").nth(1)?;
    let action = form
        .split("action=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_owned();
    let token = form
        .split("name=\"handoff\" value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_owned();
    Some((action, token))
}

/// The full host name for `host`: `localhost` for the apex, `{slug}.localhost` for a slug.
fn host_name(host: &str) -> String {
    if host.eq_ignore_ascii_case("localhost") || host.contains('.') {
        host.to_owned()
    } else {
        format!("{host}.localhost")
    }
}

/// The key of `host`'s token: host names are case-insensitive, as in the cookie jar.
fn token_key(host: &str) -> String {
    host_name(host).to_ascii_lowercase()
}

/// How long [`eventually`] waits before it gives up: generous, since a loaded
/// machine can be slow, and a passing test returns as soon as it can.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` until it answers `Ok`, for at most [`PATIENCE`], and returns that
/// answer. `Err` describes what was seen instead; the panic shows the last one.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Result<T, String>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match check().await {
            Ok(done) => return done,
            Err(seen) if tokio::time::Instant::now() >= deadline => {
                panic!("gave up after {PATIENCE:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Test logs: quiet unless `TEST_LOG` is set, then at `RUST_LOG` (default `debug`)
/// through the test writer, so that output lands beside the test that made it.
fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

/// A running application and a client for it.
pub struct TestApp {
    /// The port it listens on.
    pub port: u16,
    /// The default browser.
    pub client: Browser,
    /// The database handle of the running app.
    pub db: Db,
    /// The configuration it was built from.
    pub config: Config,
    /// Which backend.
    pub backend: Backend,
    /// Keeps the SQLite file and mail directory alive.
    pub dir: TempDir,
    /// Keeps the PostgreSQL database alive; dropped with the app.
    pub pg: Option<PgTestDb>,
    /// Sign-ups so far.
    signups: std::sync::atomic::AtomicUsize,
    /// In a mixed run, where every second sign-up's tenant goes instead.
    mixed: Option<Placement>,
}

/// A test configuration: port 0, a temp SQLite file or a new PostgreSQL database.
pub fn test_config(backend: Backend, dir: &TempDir) -> (Config, Option<PgTestDb>) {
    let (database_url, migration_database_url, pg) = match backend {
        Backend::Sqlite => {
            let url = DatabaseUrl::sqlite_file(&dir.path().join("test.db"));
            (url.clone(), url, None)
        }
        Backend::Postgres => {
            let pg = PgTestDb::create();
            (pg.app_url(), pg.owner_url(), Some(pg))
        }
    };
    let mut config = Config::local(database_url, migration_database_url, dir.path());
    config.pool_size = 4;
    // Quick retries and polls, so that mail tests finish in seconds.
    config.mail_max_attempts = 50;
    config.mail_retry_base = std::time::Duration::from_millis(100);
    config.mail_poll_interval = std::time::Duration::from_millis(100);
    config.new_tenant_placement = current_placement(backend);
    // Sign-ups make their store at once; the spare-store test turns this on.
    config.spare_stores = 0;
    // Tests send many requests and rows to one tenant; the plan tests choose
    // their own limits.
    config.new_tenant_plan = "business".to_owned();
    (config, pg)
}

/// Starts the application on `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the application after `adjust` has edited its configuration.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut config, pg) = test_config(backend, &dir);
    adjust(&mut config);
    let mut app = spawn_app_on(config, dir).await;
    app.pg = pg;
    app
}

/// Starts the application on `config` (a second server on the same databases,
/// say); the caller keeps any PostgreSQL database alive.
pub async fn spawn_app_on(mut config: Config, dir: TempDir) -> TestApp {
    init_test_log();
    let backend = match config.database_url.kind() {
        tenantry::config::DbKind::Sqlite => Backend::Sqlite,
        tenantry::config::DbKind::Postgres => Backend::Postgres,
    };
    let app = Application::build(config.clone())
        .await
        .expect("building the app");
    let port = app.port();
    let db = app.db();
    tokio::spawn(app.run_until_stopped());
    config.public_port = Some(port);
    TestApp {
        port,
        client: new_client(),
        db,
        config,
        backend,
        dir,
        pg: None,
        signups: Default::default(),
        mixed: MIXED_WITH.try_with(|p| *p).ok(),
    }
}

pub fn csrf_from(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The value of a response's `Location` header.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl TestApp {
    /// `http://{host}:{port}{path}`; `host` is `localhost` for the apex or a slug.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{}:{}{path}", host_name(host), self.port)
    }

    /// Sends a request of `client` to `host` and notes what the answer means for the
    /// browser's CSRF token there: a log-in or log-out voids it, and a page shows it.
    async fn send(
        &self,
        client: &Browser,
        host: &str,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Response {
        let request = request.build().expect("building the request");
        let method = request.method().clone();
        let response = client.execute(request).await.unwrap_or_else(|e| {
            panic!("{method} {path} failed: {e}");
        });
        if renews_session(&method, path) {
            client.forget(host);
        }
        let is_html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        if !is_html {
            return response;
        }
        // Read the page for its token, then hand the test an identical response.
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("reading the page");
        if let Some(token) = csrf_from(&String::from_utf8_lossy(&body)) {
            client.remember(host, token);
        }
        let mut page = http::Response::new(body);
        *page.status_mut() = status;
        *page.version_mut() = version;
        *page.headers_mut() = headers;
        Response::from(page)
    }

    /// GET with the default client.
    pub async fn get(&self, host: &str, path: &str) -> Response {
        self.get_with(&self.client, host, path).await
    }

    /// GET with a given client.
    pub async fn get_with(&self, client: &Browser, host: &str, path: &str) -> Response {
        let request = client.get(self.url(host, path));
        self.send(client, host, path, request).await
    }

    /// GET and return status and body.
    pub async fn get_html(&self, host: &str, path: &str) -> (StatusCode, String) {
        let r = self.get(host, path).await;
        let status = r.status();
        (status, r.text().await.unwrap_or_default())
    }

    /// Posts a form without adding a CSRF token.
    pub async fn post_raw(
        &self,
        client: &Browser,
        host: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let request = client.post(self.url(host, path)).form(fields);
        self.send(client, host, path, request).await
    }

    /// A current CSRF token of the default client's session on `host`.
    pub async fn csrf(&self, host: &str) -> String {
        self.csrf_with(&self.client, host).await
    }

    /// The CSRF token of `client`'s session on `host`: the one of the last page it
    /// saw there. Only a session that has seen no page since it began, logged in or
    /// logged out has none yet; then a page with a form is fetched for it.
    pub async fn csrf_with(&self, client: &Browser, host: &str) -> String {
        if let Some(token) = client.token(host) {
            return token;
        }
        let candidates: &[&str] = if host == "localhost" {
            &["/signup"]
        } else {
            &["/login", "/"]
        };
        for path in candidates {
            self.get_with(client, host, path).await;
            if let Some(token) = client.token(host) {
                return token;
            }
        }
        panic!("no CSRF token found on {host}");
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post(&self, host: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        self.post_with(&self.client, host, path, fields).await
    }

    /// Posts a form with `client`'s CSRF token added.
    pub async fn post_with(
        &self,
        client: &Browser,
        host: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let token = self.csrf_with(client, host).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(client, host, path, &all).await
    }

    /// Signs up an organisation with the default client and follows the hand-off,
    /// leaving the client logged in on the new host as its admin.
    pub async fn sign_up(&self, slug: &str) -> Tenant {
        self.sign_up_with(&self.client, slug).await
    }

    /// Signs up with a given client.
    pub async fn sign_up_with(&self, client: &Browser, slug: &str) -> Tenant {
        let tenant = Tenant::named(slug);
        let nth = self
            .signups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(other) = self.mixed
            && nth % 2 == 1
        {
            return self.create_in(client, tenant, other).await;
        }
        let r = self
            .post_with(
                client,
                "localhost",
                "/signup",
                &[
                    ("organization_name", &tenant.org_name),
                    ("subdomain", slug),
                    ("name", &tenant.admin_name),
                    ("email", &tenant.admin_email),
                    ("password", &tenant.admin_password),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "signup of {slug} failed");
        let (action, token) = handoff_from(&r.text().await.unwrap()).expect("hand-off form");
        assert_eq!(action, self.url(slug, "/handoff"));
        let r = self
            .hand_off(client, &action, &token, Some(&self.url("localhost", "")))
            .await;
        // The hand-off logged this browser in on the new host.
        client.forget(slug);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/");
        tenant
    }

    /// Creates `tenant` in `placement` the way sign-up does (this server's sign-up
    /// page places tenants where its configuration says), then logs `client` in.
    async fn create_in(&self, client: &Browser, tenant: Tenant, placement: Placement) -> Tenant {
        let password = tenant.admin_password.clone();
        let hash = tokio::task::spawn_blocking(move || {
            tenantry::auth::password::hash_password(&password).unwrap()
        })
        .await
        .unwrap();
        let new = tenantry::db::tenants::NewOrganization {
            name: tenant.org_name.clone(),
            slug: tenantry::domain::Slug::parse(&tenant.slug).unwrap(),
            admin_name: tenant.admin_name.clone(),
            admin_email: tenantry::domain::Email::parse(&tenant.admin_email).unwrap(),
            admin_password_hash: hash,
            plan: self.config.new_tenant_plan.clone(),
        };
        let created = self.db.create_organization(new, placement).await.unwrap();
        assert!(matches!(
            created,
            tenantry::db::tenants::SignupOutcome::Created { .. }
        ));
        let r = self
            .log_in_with(
                client,
                &tenant.slug,
                &tenant.admin_email,
                &tenant.admin_password,
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "log-in to {}",
            tenant.slug
        );
        client.forget(&tenant.slug);
        tenant
    }

    /// Posts a hand-off token to `action` as the sign-up page's form does, from
    /// the page of `origin` (a browser sends it; `None` sends none).
    pub async fn hand_off(
        &self,
        client: &Browser,
        action: &str,
        token: &str,
        origin: Option<&str>,
    ) -> Response {
        let mut request = client.post(action).form(&[("handoff", token)]);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.expect("hand-off")
    }

    /// Logs `client` in on `slug`.
    pub async fn log_in_with(
        &self,
        client: &Browser,
        slug: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_with(
            client,
            slug,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

/// What a test signed up with.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Subdomain.
    pub slug: String,
    /// Organisation name.
    pub org_name: String,
    /// First admin's name.
    pub admin_name: String,
    /// First admin's email.
    pub admin_email: String,
    /// First admin's password.
    pub admin_password: String,
}

impl Tenant {
    /// Deterministic details for a slug.
    pub fn named(slug: &str) -> Self {
        Self {
            slug: slug.to_owned(),
            org_name: format!("Org {slug}"),
            admin_name: format!("Admin of {slug}"),
            admin_email: format!("admin@{slug}.test"),
            admin_password: format!("password-of-{slug}"),
        }
    }
}

/// The number at the end of a `Location` such as `/leads/12`.
pub fn number_in_location(response: &Response, prefix: &str) -> i64 {
    let loc = location(response);
    loc.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected {prefix}N, got {loc:?}"))
}

/// Lead numbers linked from a page (`href="/leads/N"`), in page order.
pub fn lead_numbers_in(html: &str) -> Vec<i64> {
    let marker = "href=\"/leads/";
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(marker) {
        rest = &rest[i + marker.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with('"') {
            out.push(digits.parse().unwrap());
        }
    }
    out
}

/// The `href` of the link marked `rel="next"`, unescaped.
pub fn next_link(html: &str) -> Option<String> {
    let end = html.find("\" rel=\"next\"")?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// The value of the selected option of the `<select name="{name}">` on a page.
pub fn selected_option(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let end = html[start..].find("</select>")? + start;
    let select = &html[start..end];
    let sel = select.find(" selected>")?;
    let open = select[..sel].rfind("value=\"")? + "value=\"".len();
    let close = select[open..].find('"')? + open;
    Some(select[open..close].to_owned())
}

impl TestApp {
    /// Creates a company on `host` with the default client; returns its number.
    pub async fn create_company(&self, host: &str, name: &str) -> i64 {
        let r = self
            .post(host, "/companies", &[("name", name), ("domain", "")])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "creating company {name}");
        number_in_location(&r, "/companies/")
    }

    /// Creates a lead named `name` on `host` with `client`; returns its number.
    pub async fn create_lead_with(&self, client: &Browser, host: &str, name: &str) -> i64 {
        let r = self
            .post_with(client, host, "/leads", &[("name", name)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "creating lead {name}");
        number_in_location(&r, "/leads/")
    }

    /// GET with `client`, and return status and body.
    pub async fn get_html_with(
        &self,
        client: &Browser,
        host: &str,
        path: &str,
    ) -> (StatusCode, String) {
        let r = self.get_with(client, host, path).await;
        let status = r.status();
        (status, r.text().await.unwrap_or_default())
    }

    /// Creates a lead on `host` with the default client; returns its number.
    pub async fn create_lead(&self, host: &str, fields: &[(&str, &str)]) -> i64 {
        let r = self.post(host, "/leads", fields).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "creating lead {fields:?}"
        );
        number_in_location(&r, "/leads/")
    }
}

impl TestApp {
    /// Uploads `csv` to `POST /leads/import` as a file in a multipart form, with
    /// the default client's CSRF token (or `token` if given).
    pub async fn import_csv(&self, host: &str, csv: &[u8], token: Option<&str>) -> Response {
        self.import_with(host, Some(csv), &[], token).await
    }

    /// Posts the import form: `csv` as its file (if any) and `fields` beside it
    /// (`on_duplicate`, `step`, `import_id`), with the default client's CSRF
    /// token (or `token` if given).
    pub async fn import_with(
        &self,
        host: &str,
        csv: Option<&[u8]>,
        fields: &[(&str, &str)],
        token: Option<&str>,
    ) -> Response {
        self.import_as(&self.client, host, csv, fields, token).await
    }

    /// [`TestApp::import_with`] with `client`.
    pub async fn import_as(
        &self,
        client: &Browser,
        host: &str,
        csv: Option<&[u8]>,
        fields: &[(&str, &str)],
        token: Option<&str>,
    ) -> Response {
        let token = match token {
            Some(t) => t.to_owned(),
            None => self.csrf_with(client, host).await,
        };
        let boundary = "----tenantry-test-boundary-7d1f";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some(csv) = csv {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.csv\"\r\n\
                     Content-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(csv);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n\r\n--{boundary}--\r\n"
            )
            .as_bytes(),
        );
        let request = client
            .post(self.url(host, "/leads/import"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(client, host, "/leads/import", request).await
    }
}
