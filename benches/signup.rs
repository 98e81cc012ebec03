//! The sign-up benchmark: `cargo bench --bench signup`.
//!
//! The requirement it checks: a sign-up into a schema or dedicated placement
//! stays under [`BUDGET`] (300 ms) end to end, on SQLite and on PostgreSQL.
//!
//! For each placement it starts the real application on 127.0.0.1 in-process
//! (in a process of its own per placement: this program, run again), over a
//! fresh database, with `new_tenant_placement` set to that
//! placement, and signs up [`SIGNUPS`] organisations one after another, each as
//! a new browser: `GET /signup` on the apex for the session's CSRF token
//! (unmeasured), then `POST /signup`, timed from sending the request to the end
//! of the answer's body (the page that hands the new admin over). That includes
//! the argon2id hash of the password, by design tens of milliseconds. Each new
//! workspace is then checked, unmeasured: the hand-off logs the browser in on
//! the new host, and its dashboard answers 200.
//!
//! Runs: SQLite shared and dedicated (a file per tenant, made and migrated at
//! sign-up); with `BENCH_POSTGRES_URL` (a superuser URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) also PostgreSQL shared, schema
//! and dedicated, on a fresh main database migrated by an owner role (with
//! CREATEDB, which dedicated databases need) and served by an app role under
//! row-level security, as in production. Schema and dedicated run twice: with
//! the default spare stores, waiting (unmeasured, up to [`REFILL_WAIT`]) before
//! each sign-up until the spares are made again, so that the steady state is
//! measured; and "cold", with no spares, so that every sign-up creates and
//! migrates its store. Every database the bench made, tenants' own and spares
//! included, is dropped once the placement's process has ended.
//!
//! One unmeasured sign-up warms each server up first. Sign-ups come from
//! distinct client addresses (the server believes `X-Forwarded-For` from
//! 127.0.0.1 here), as the per-client sign-up limit would refuse the eleventh.
//! `BENCH_LOG=1` prints the application's logs (filter: `RUST_LOG`, default
//! `info`) with timestamps, to see where a slow sign-up's time goes.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Client, StatusCode, redirect};
use tenantry::config::{Config, DatabaseUrl, DbKind};
use tenantry::domain::Placement;
use tenantry::startup::Application;

/// Sign-ups measured per placement.
const SIGNUPS: usize = 20;
/// What a sign-up must stay under.
const BUDGET: Duration = Duration::from_millis(300);
/// Longest wait for the spare stores to be made again before a sign-up.
const REFILL_WAIT: Duration = Duration::from_secs(10);
/// Owner of the bench's PostgreSQL databases (the HTTP bench's role).
const OWNER: &str = "tenantry_bench_owner";
/// The role the application serves as (the HTTP bench's role).
const APP: &str = "tenantry_bench_app";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    fn label(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

/// One row of the table.
struct Scenario {
    engine: Engine,
    placement: Placement,
    /// Spare stores kept ready (0: every sign-up makes its store).
    spares: u32,
}

impl Scenario {
    /// Whether this scenario's sign-ups can take a spare store at all.
    fn uses_spares(&self) -> bool {
        self.engine == Engine::Postgres && self.placement != Placement::Shared
    }

    fn spares_label(&self) -> &'static str {
        match (self.uses_spares(), self.spares > 0) {
            (false, _) if self.placement == Placement::Shared => "n/a",
            (true, true) => "yes",
            _ => "no",
        }
    }

    /// The main PostgreSQL database's name: at most 36 characters, so that the
    /// tenants' databases of each scenario (named after the first 36) differ.
    fn database_name(&self) -> String {
        let cold = if self.uses_spares() && self.spares == 0 {
            "_cold"
        } else {
            ""
        };
        format!("tenantry_bench_signup_{}{cold}", self.placement.as_str())
    }
}

/// What one scenario measured.
struct Outcome {
    latencies: Vec<Duration>,
    warm_up: Duration,
    /// Sign-ups that started before the spares were made again.
    unrefilled: usize,
    /// Spare stores left at the end (PostgreSQL with spares only).
    spares_left: Option<i64>,
}

impl Outcome {
    /// ` {warm-up µs} {unrefilled} {spares left, -1: none} {latency µs}...`
    fn line(&self) -> String {
        let mut line = format!(
            " {} {} {}",
            self.warm_up.as_micros(),
            self.unrefilled,
            self.spares_left.unwrap_or(-1)
        );
        for l in &self.latencies {
            line.push_str(&format!(" {}", l.as_micros()));
        }
        line
    }

    fn parse(line: &str) -> Option<Self> {
        let mut fields = line.split_whitespace();
        let micros = |f: &str| f.parse().ok().map(Duration::from_micros);
        let warm_up = micros(fields.next()?)?;
        let unrefilled = fields.next()?.parse().ok()?;
        let spares_left = Some(fields.next()?.parse::<i64>().ok()?).filter(|n| *n >= 0);
        let latencies = fields.map(micros).collect::<Option<Vec<_>>>()?;
        Some(Self {
            latencies,
            warm_up,
            unrefilled,
            spares_left,
        })
    }
}

/// Set in the process that runs one scenario: its index in [`scenarios`].
const SCENARIO_ENV: &str = "TENANTRY_SIGNUP_BENCH_SCENARIO";
/// How a scenario's process hands its outcome back, on a line of its stdout.
const RESULT_TAG: &str = "SIGNUP-BENCH-RESULT";

fn main() -> anyhow::Result<()> {
    let admin = std::env::var("BENCH_POSTGRES_URL").ok();
    match std::env::var(SCENARIO_ENV) {
        Ok(index) => run_one(&scenarios(admin.is_some()), &index, admin.as_deref()),
        Err(_) => run_all(admin.as_deref()),
    }
}

/// Every scenario, PostgreSQL's only with a server to run them on.
fn scenarios(postgres: bool) -> Vec<Scenario> {
    let mut all = vec![
        Scenario {
            engine: Engine::Sqlite,
            placement: Placement::Shared,
            spares: 0,
        },
        Scenario {
            engine: Engine::Sqlite,
            placement: Placement::Dedicated,
            spares: 0,
        },
    ];
    if postgres {
        all.push(Scenario {
            engine: Engine::Postgres,
            placement: Placement::Shared,
            spares: 0,
        });
        for placement in [Placement::Schema, Placement::Dedicated] {
            for spares in [tenantry::config::DEFAULT_SPARE_STORES, 0] {
                all.push(Scenario {
                    engine: Engine::Postgres,
                    placement,
                    spares,
                });
            }
        }
    }
    all
}

/// Runs each scenario in a process of its own (this program again), so that
/// nothing of one server (its pools reconnecting to a dropped database, its
/// background tasks) weighs on the next one's measurements, and so that the
/// databases are dropped only once nothing can make another spare for them.
fn run_all(admin: Option<&str>) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tenantry sign-up benchmark: {cpus} CPU(s), {SIGNUPS} sequential sign-ups per placement, budget {} ms",
        BUDGET.as_millis()
    );
    let (median, fastest) = time_hash()?;
    println!(
        "argon2id hash of one password on this machine (part of every sign-up): median {:.1} ms, fastest {:.1} ms",
        ms(median),
        ms(fastest)
    );
    if admin.is_none() {
        println!("(PostgreSQL skipped: set BENCH_POSTGRES_URL to a superuser URL to run it)");
    }
    let scenarios = scenarios(admin.is_some());
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let label = format!(
            "{} {}, spares {}",
            scenario.engine.label(),
            scenario.placement,
            scenario.spares_label()
        );
        let started = Instant::now();
        let output = std::process::Command::new(&exe)
            .env(SCENARIO_ENV, index.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("starting the process for {label}"));
        // The process has ended (or never started): nothing makes a spare now.
        let dropped = match (scenario.engine, admin) {
            (Engine::Postgres, Some(admin)) => Some(
                PgDatabase::named(admin, &scenario.database_name())
                    .drop_all()
                    .with_context(|| format!("dropping the databases of {label}")),
            ),
            _ => None,
        };
        let output = output?;
        if !output.status.success() {
            bail!("{label}: the scenario failed ({})", output.status);
        }
        let dropped = dropped.transpose()?;
        let outcome = String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| l.strip_prefix(RESULT_TAG))
            .and_then(Outcome::parse)
            .with_context(|| format!("{label}: no outcome in the scenario's output"))?;
        let mut done = format!("{label}: done in {:.1}s", started.elapsed().as_secs_f64());
        if let Some(tenants) = dropped {
            done.push_str(&format!(
                "; dropped {} and {tenants} tenant database(s)",
                scenario.database_name()
            ));
        }
        println!("{done}");
        rows.push(outcome);
    }

    println!(
        "\n| placement | engine | spares | p50 ms | p90 ms | max ms | under {} ms |",
        BUDGET.as_millis()
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for (s, o) in scenarios.iter().zip(&rows) {
        let mut sorted = o.latencies.clone();
        sorted.sort();
        let under = sorted.iter().filter(|l| **l < BUDGET).count();
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {under}/{} |",
            s.placement,
            s.engine.label(),
            s.spares_label(),
            ms(percentile(&sorted, 0.50)),
            ms(percentile(&sorted, 0.90)),
            ms(sorted.last().copied().unwrap_or_default()),
            sorted.len()
        );
    }
    println!();
    for (s, o) in scenarios.iter().zip(&rows) {
        let mut note = format!(
            "- {} {}, spares {}: warm-up sign-up (unmeasured) {:.1} ms",
            s.engine.label(),
            s.placement,
            s.spares_label(),
            ms(o.warm_up)
        );
        if s.uses_spares() && s.spares > 0 {
            note.push_str(&format!(
                "; {} of {SIGNUPS} started before the spares were made again (waited up to {}s); {} spare(s) left at the end",
                o.unrefilled,
                REFILL_WAIT.as_secs(),
                o.spares_left.unwrap_or_default()
            ));
        }
        println!("{note}");
    }
    Ok(())
}

/// Runs the scenario at `index` and prints its outcome for [`run_all`].
fn run_one(scenarios: &[Scenario], index: &str, admin: Option<&str>) -> anyhow::Result<()> {
    let scenario = index
        .parse::<usize>()
        .ok()
        .and_then(|i| scenarios.get(i))
        .with_context(|| format!("no scenario {index}"))?;
    if std::env::var_os("BENCH_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(bench(scenario, admin))?;
    // The server's tasks and threads end with the process.
    runtime.shutdown_background();
    println!("{RESULT_TAG}{}", outcome.line());
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(rank).copied().unwrap_or_default()
}

/// The median and the fastest of ten argon2id hashes (after two unmeasured),
/// as sign-up computes one.
fn time_hash() -> anyhow::Result<(Duration, Duration)> {
    let mut times = Vec::new();
    for i in 0..12 {
        let t = Instant::now();
        tenantry::auth::password::hash_password("password-of-bench")?;
        if i >= 2 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    Ok((
        percentile(&times, 0.5),
        times.first().copied().unwrap_or_default(),
    ))
}

/// `postgres://{user}@{host of the admin URL}/{db}`.
fn pg_url(admin: &str, user: &str, db: &str) -> String {
    let after_scheme = admin.split_once("://").map_or(admin, |(_, r)| r);
    let host_and_rest = after_scheme
        .split_once('@')
        .map_or(after_scheme, |(_, h)| h);
    let host = host_and_rest.split('/').next().unwrap_or("127.0.0.1:5432");
    format!("postgres://{user}@{host}/{db}")
}

/// A main PostgreSQL database of the bench, by name.
struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    fn named(admin: &str, name: &str) -> Self {
        Self {
            admin: admin.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Makes the database afresh, owned by [`OWNER`] (who may create the
    /// tenants' databases), with [`APP`]'s grants as `deploy/postgres-roles.sql`
    /// gives them. Returns (app URL, owner URL).
    fn create(&self) -> anyhow::Result<(DatabaseUrl, DatabaseUrl)> {
        let (admin, name) = (self.admin.as_str(), self.name.as_str());
        let mut conn = PgConnection::establish(admin).context("connecting as the superuser")?;
        conn.batch_execute(&format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN \
                 CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN \
                 CREATE ROLE {APP} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
             END $$; \
             ALTER ROLE {OWNER} CREATEDB;"
        ))?;
        // What an earlier run may have left.
        self.drop_all()?;
        conn.batch_execute(&format!("CREATE DATABASE {name} OWNER {OWNER}"))?;
        let mut main = PgConnection::establish(&pg_url(admin, "postgres", name))?;
        main.batch_execute(&format!(
            "GRANT USAGE ON SCHEMA public TO {APP}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public \
               GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public \
               GRANT USAGE, SELECT ON SEQUENCES TO {APP};"
        ))?;
        Ok((
            DatabaseUrl::parse(&pg_url(admin, APP, name))?,
            DatabaseUrl::parse(&pg_url(admin, OWNER, name))?,
        ))
    }

    /// Drops the database, then the tenants' own databases (named by
    /// `StoreLayout::new_store_name`: the main one's first 36 characters, then
    /// `_tenant_`), spares included. Returns how many tenant databases there were.
    fn drop_all(&self) -> anyhow::Result<usize> {
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let mut conn = PgConnection::establish(&self.admin)?;
        conn.batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))?;
        let prefix: String = self.name.chars().take(36).collect();
        let tenants: Vec<Name> = diesel::sql_query(format!(
            "SELECT datname::text AS datname FROM pg_database \
             WHERE datname LIKE '{}\\_tenant\\_%'",
            prefix.replace('_', "\\_")
        ))
        .load(&mut conn)?;
        for db in &tenants {
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                db.datname
            ))?;
        }
        Ok(tenants.len())
    }
}

/// Counts the spare stores as the owner.
struct SpareCounter {
    conn: Option<PgConnection>,
}

impl SpareCounter {
    fn connect(owner: &DatabaseUrl) -> anyhow::Result<Self> {
        Ok(Self {
            conn: Some(PgConnection::establish(&owner.connection_string())?),
        })
    }

    async fn count(&mut self) -> anyhow::Result<i64> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn.take().context("the owner connection was lost")?;
        let (conn, n) = tokio::task::spawn_blocking(move || {
            let n = diesel::sql_query("SELECT count(*) AS n FROM spare_stores")
                .get_result::<Count>(&mut conn)
                .map(|c| c.n);
            (conn, n)
        })
        .await?;
        self.conn = Some(conn);
        Ok(n?)
    }

    /// Waits until `target` spares are ready, for at most [`REFILL_WAIT`].
    /// `false` if they were not.
    async fn wait_for(&mut self, target: u32) -> anyhow::Result<bool> {
        let deadline = Instant::now() + REFILL_WAIT;
        loop {
            if self.count().await? >= i64::from(target) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn bench(scenario: &Scenario, admin: Option<&str>) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let (app_url, owner_url) = match (scenario.engine, admin) {
        (Engine::Sqlite, _) => {
            let url = DatabaseUrl::sqlite_file(&dir.path().join("main.db"));
            (url.clone(), url)
        }
        // Dropped by `run_all` once this process has ended.
        (Engine::Postgres, Some(admin)) => {
            PgDatabase::named(admin, &scenario.database_name()).create()?
        }
        (Engine::Postgres, None) => bail!("PostgreSQL needs BENCH_POSTGRES_URL"),
    };
    let mut config = Config::local(app_url, owner_url.clone(), dir.path());
    config.new_tenant_placement = scenario.placement;
    config.spare_stores = scenario.spares;
    // Every sign-up comes from its own client address (see the module's notes).
    config.trusted_proxies = vec!["127.0.0.1/32".parse()?];
    let app = Application::build(config).await?;
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    sign_ups(scenario, port, &owner_url, dir.path()).await
}

async fn sign_ups(
    scenario: &Scenario,
    port: u16,
    owner_url: &DatabaseUrl,
    dir: &Path,
) -> anyhow::Result<Outcome> {
    let waits_for_spares = scenario.uses_spares() && scenario.spares > 0;
    let mut counter = match owner_url.kind() {
        DbKind::Postgres if waits_for_spares => Some(SpareCounter::connect(owner_url)?),
        _ => None,
    };
    let mut unrefilled = 0;
    let mut latencies = Vec::with_capacity(SIGNUPS);
    let mut warm_up = Duration::ZERO;
    for i in 0..=SIGNUPS {
        if let Some(counter) = counter.as_mut()
            && !counter.wait_for(scenario.spares).await?
            && i > 0
        {
            unrefilled += 1;
        }
        let slug = if i == 0 {
            "bench-warm-up".to_owned()
        } else {
            format!("bench-{i:02}")
        };
        let took = sign_up(port, &slug, i).await?;
        if i == 0 {
            warm_up = took;
        } else {
            latencies.push(took);
        }
    }
    let spares_left = match counter.as_mut() {
        // Whether the spares keep up: the last one taken is made again.
        Some(counter) => {
            counter.wait_for(scenario.spares).await?;
            Some(counter.count().await?)
        }
        None => None,
    };
    if scenario.engine == Engine::Sqlite && scenario.placement == Placement::Dedicated {
        let files = std::fs::read_dir(dir.join("tenants"))?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "db"))
            .count();
        if files != SIGNUPS + 1 {
            bail!("expected {} tenant files, found {files}", SIGNUPS + 1);
        }
    }
    Ok(Outcome {
        latencies,
        warm_up,
        unrefilled,
        spares_left,
    })
}

/// One sign-up by a new browser; returns the time of `POST /signup`.
async fn sign_up(port: u16, slug: &str, nth: usize) -> anyhow::Result<Duration> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], port));
    let tenant_host = format!("{slug}.localhost");
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .cookie_store(true)
        .resolve("localhost", loopback)
        .resolve(&tenant_host, loopback)
        .build()?;
    let apex = format!("http://localhost:{port}");
    // A client address of its own: 198.51.100.0/24 and on (documentation ranges).
    let client_addr = format!("198.51.{}.{}", 100 + nth / 250, 1 + nth % 250);

    let page = client
        .get(format!("{apex}/signup"))
        .header("X-Forwarded-For", &client_addr)
        .send()
        .await?;
    if page.status() != StatusCode::OK {
        bail!("GET /signup: {}", page.status());
    }
    let token = csrf_from(&page.text().await?).context("no CSRF token on /signup")?;
    let email = format!("admin@{slug}.test");
    let password = format!("password-of-{slug}");
    let org = format!("Org {slug}");
    let name = format!("Admin of {slug}");
    let form = [
        ("csrf_token", token.as_str()),
        ("organization_name", org.as_str()),
        ("subdomain", slug),
        ("name", name.as_str()),
        ("email", email.as_str()),
        ("password", password.as_str()),
    ];

    let started = Instant::now();
    let response = client
        .post(format!("{apex}/signup"))
        .header("X-Forwarded-For", &client_addr)
        .form(&form)
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    let took = started.elapsed();

    if status != StatusCode::OK {
        bail!("POST /signup of {slug}: {status}: {}", excerpt(&body));
    }
    let (action, handoff) = handoff_from(&body).context("no hand-off form in the answer")?;
    let expected = format!("http://{tenant_host}:{port}/handoff");
    if action != expected {
        bail!("hand-off to {action}, expected {expected}");
    }
    let r = client
        .post(&action)
        .header("Origin", &apex)
        .form(&[("handoff", handoff.as_str())])
        .send()
        .await?;
    if r.status() != StatusCode::SEE_OTHER {
        bail!("hand-off of {slug}: {}", r.status());
    }
    let r = client
        .get(format!("http://{tenant_host}:{port}/"))
        .send()
        .await?;
    if r.status() != StatusCode::OK {
        let status = r.status();
        bail!(
            "the new workspace {slug} answers {status}: {}",
            excerpt(&r.text().await.unwrap_or_default())
        );
    }
    Ok(took)
}

/// The start of a page, for error messages.
fn excerpt(body: &str) -> String {
    body.chars().take(400).collect()
}

fn csrf_from(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The hand-off form of a sign-up's answer: where it posts, and its token.
fn handoff_from(html: &str) -> Option<(String, String)> {
    let form = html.split("id=\"handoff\"").nth(1)?;
    let action = form.split("action=\"").nth(1)?.split('"').next()?;
    let token = form
        .split("name=\"handoff\" value=\"")
        .nth(1)?
        .split('"')
        .next()?;
    Some((action.to_owned(), token.to_owned()))
}
