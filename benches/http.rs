//! The HTTP benchmark: `cargo bench --bench http`.
//!
//! For each database size it seeds a fresh SQLite file (`demo-1` .. `demo-N`),
//! starts the real application on 127.0.0.1 in this process, logs in to `demo-1`
//! over HTTP and measures, per scenario, a bounded run of requests
//! ([`REQUESTS`] requests or [`TIME_LIMIT`], whichever ends first) with
//! [`CONCURRENCY`] requests in flight: requests per second and p50/p99 latency.
//!
//! Sizes: 1 tenant x 1,000 leads, then 100 tenants x 10,000 leads (1,000,000).
//! `BENCH_QUICK=1` runs the small size only. Set `BENCH_DIR` to keep the SQLite
//! files. With `BENCH_POSTGRES_URL` (a superuser URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) each size also runs on a fresh
//! PostgreSQL database, migrated and seeded by an owner role and served by an app
//! role under row-level security, as in production.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, StatusCode, redirect};
use tenantry::config::{Config, DatabaseUrl};
use tenantry::startup::Application;

/// Requests measured per scenario.
const REQUESTS: usize = 2_000;
/// Longest a scenario runs.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Requests in flight at once.
const CONCURRENCY: usize = 4;
/// Unmeasured requests before each scenario.
const WARM_UP: usize = 50;

/// Which database a run uses.
#[derive(Clone)]
enum Backend {
    Sqlite,
    /// The superuser URL that creates the databases and roles.
    Postgres(String),
}

struct Size {
    tenants: u32,
    leads: u32,
}

struct Outcome {
    label: &'static str,
    path: String,
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let mut sizes = vec![Size {
        tenants: 1,
        leads: 1_000,
    }];
    if std::env::var_os("BENCH_QUICK").is_none() {
        sizes.push(Size {
            tenants: 100,
            leads: 10_000,
        });
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tenantry HTTP benchmark: {cpus} CPU(s), concurrency {CONCURRENCY}, up to {REQUESTS} requests or {}s per scenario",
        TIME_LIMIT.as_secs()
    );
    let mut backends = vec![Backend::Sqlite];
    if let Ok(admin) = std::env::var("BENCH_POSTGRES_URL") {
        backends.push(Backend::Postgres(admin));
    }
    for backend in &backends {
        for size in &sizes {
            bench_size(backend, size).await?;
        }
    }
    Ok(())
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

/// A fresh PostgreSQL database with an owner role (migrates, seeds) and an app
/// role (serves, subject to row-level security). Returns (app URL, owner URL).
fn pg_database(admin: &str, name: &str) -> anyhow::Result<(DatabaseUrl, DatabaseUrl)> {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    const OWNER: &str = "tenantry_bench_owner";
    const APP: &str = "tenantry_bench_app";
    let mut conn = PgConnection::establish(admin)?;
    conn.batch_execute(&format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN \
             CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN \
             CREATE ROLE {APP} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
         END $$;"
    ))?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    conn.batch_execute(&format!("CREATE DATABASE {name} OWNER {OWNER}"))?;
    let mut db = PgConnection::establish(&pg_url(admin, "postgres", name))?;
    db.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA public TO {APP}; \
         ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public \
           GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP};"
    ))?;
    Ok((
        DatabaseUrl::parse(&pg_url(admin, APP, name))?,
        DatabaseUrl::parse(&pg_url(admin, OWNER, name))?,
    ))
}

async fn bench_size(backend: &Backend, size: &Size) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => temp.path().to_owned(),
    };
    std::fs::create_dir_all(&dir)?;
    let (app_url, url, label) = match backend {
        Backend::Sqlite => {
            let file = dir.join(format!("bench-{}x{}.db", size.tenants, size.leads));
            let url = DatabaseUrl::sqlite_file(&file);
            (url.clone(), url, "SQLite")
        }
        Backend::Postgres(admin) => {
            let name = format!("tenantry_bench_{}x{}", size.tenants, size.leads);
            let (app, owner) = pg_database(admin, &name)?;
            (app, owner, "PostgreSQL")
        }
    };
    let total = u64::from(size.tenants) * u64::from(size.leads);
    println!(
        "\n## {label}, {total} leads ({} tenant(s) x {} leads)",
        size.tenants, size.leads
    );
    let seed_url = url.clone();
    let (tenants, leads) = (size.tenants, size.leads);
    let started = Instant::now();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        tenantry::db::run_migrations(&seed_url)?;
        let hash = tenantry::auth::password::hash_password(tenantry::db::seed::SEED_PASSWORD)?;
        let layout = tenantry::db::stores::StoreLayout::new(&tenantry::config::Config::local(
            seed_url.clone(),
            seed_url.clone(),
            std::path::Path::new("."),
        ));
        tenantry::db::seed::seed_demo(
            &layout,
            &hash,
            tenants,
            leads,
            tenantry::domain::Placement::Shared,
            |_, _| {},
        )?;
        if seed_url.kind() == tenantry::config::DbKind::Postgres {
            // What autovacuum soon does after a bulk load: statistics for the
            // planner, and the visibility map that index-only scans (the count) need.
            use diesel::Connection;
            use diesel::connection::SimpleConnection;
            diesel::PgConnection::establish(&seed_url.connection_string())?
                .batch_execute("VACUUM ANALYZE")?;
        }
        add_notes(&seed_url, HEAVY_LEAD, HEAVY_NOTES)?;
        Ok(())
    })
    .await??;
    println!("seeded in {:.1}s", started.elapsed().as_secs_f64());

    let mut config = Config::local(app_url, url, &dir);
    config.pool_size = 8;
    let app = Application::build(config).await?;
    let port = app.port();
    let server = tokio::spawn(app.run_until_stopped());
    let host = "demo-1.localhost";
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .cookie_store(true)
        .resolve(host, SocketAddr::from(([127, 0, 0, 1], port)))
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .build()?;
    let base = format!("http://{host}:{port}");
    log_in(&client, &base).await?;

    // The deep page: the last full page of the default order, found from the
    // export (which walks the same keyset order).
    let csv = get_ok(&client, &format!("{base}/leads/export.csv")).await?;
    let numbers: Vec<i64> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    let deep_after = numbers
        .get(numbers.len().saturating_sub(51))
        .copied()
        .context("no leads exported")?;
    let lead = numbers.get(numbers.len() / 2).copied().unwrap_or(1);
    let scenarios: [(&'static str, String); 6] = [
        ("list, first page", "/leads".to_owned()),
        ("list, deep page", format!("/leads?after={deep_after}")),
        ("search q=lovelace", "/leads?q=lovelace".to_owned()),
        ("filter status=won", "/leads?status=won".to_owned()),
        ("lead page", format!("/leads/{lead}")),
        ("lead page, 50,000 notes", format!("/leads/{}", HEAVY_LEAD)),
    ];
    let mut outcomes = Vec::new();
    for (label, path) in scenarios {
        outcomes.push(measure(&client, &base, label, path).await?);
    }
    println!("\n| scenario | path | requests | req/s | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|");
    for o in &outcomes {
        println!(
            "| {} | `{}` | {} | {:.0} | {:.2} | {:.2} |",
            o.label,
            o.path,
            o.requests,
            o.per_second,
            o.p50.as_secs_f64() * 1e3,
            o.p99.as_secs_f64() * 1e3
        );
    }
    server.abort();
    Ok(())
}

/// The lead of `demo-1` that gets [`HEAVY_NOTES`] notes on top of the seed's.
const HEAVY_LEAD: i64 = 1;
/// Notes on the heavy lead: its page must cost what a page with a few costs.
const HEAVY_NOTES: u32 = 50_000;

/// Adds `count` notes to lead `number` of `demo-1`, one second apart, in one
/// statement (as the owner; on PostgreSQL inside the tenant, for its RLS).
fn add_notes(url: &DatabaseUrl, number: i64, count: u32) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection, SqliteConnection};
    let insert = |at: &str| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO notes (tenant_id, id, lead_id, author_id, body, created_at) \
             SELECT l.tenant_id, 'bench-' || i, l.id, u.id, 'Bench note ' || i, {at} \
             FROM n, leads l, tenants t, users u \
             WHERE t.slug = 'demo-1' AND l.tenant_id = t.id AND l.number = {number} \
               AND u.tenant_id = t.id AND u.role = 'admin'"
        )
    };
    match url.kind() {
        tenantry::config::DbKind::Sqlite => SqliteConnection::establish(&url.connection_string())?
            .batch_execute(&insert(
                "datetime('2026-01-01 00:00:00', '+' || i || ' seconds')",
            ))?,
        tenantry::config::DbKind::Postgres => {
            let mut pg = PgConnection::establish(&url.connection_string())?;
            pg.batch_execute(&format!(
                "BEGIN; SELECT set_config('app.tenant_id', (SELECT id FROM tenants WHERE slug = 'demo-1'), true); {}; COMMIT;",
                insert("TIMESTAMP '2026-01-01 00:00:00' + i * INTERVAL '1 second'")
            ))?
        }
    }
    Ok(())
}

async fn get_ok(client: &Client, url: &str) -> anyhow::Result<String> {
    let r = client.get(url).send().await?;
    if r.status() != StatusCode::OK {
        bail!("GET {url}: {}", r.status());
    }
    Ok(r.text().await?)
}

async fn log_in(client: &Client, base: &str) -> anyhow::Result<()> {
    let page = get_ok(client, &format!("{base}/login")).await?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).context("no CSRF token")? + marker.len();
    let end = page[start..].find('"').context("no CSRF token end")? + start;
    let token = &page[start..end];
    let email = tenantry::db::seed::seed_admin_email("demo-1");
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token),
            ("email", email.as_str()),
            ("password", tenantry::db::seed::SEED_PASSWORD),
        ])
        .send()
        .await?;
    if r.status() != StatusCode::SEE_OTHER {
        bail!("login failed: {}", r.status());
    }
    Ok(())
}

async fn measure(
    client: &Client,
    base: &str,
    label: &'static str,
    path: String,
) -> anyhow::Result<Outcome> {
    let url = Arc::new(format!("{base}{path}"));
    for _ in 0..WARM_UP {
        get_ok(client, &url).await?;
    }
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < REQUESTS
                && started.elapsed() < TIME_LIMIT
            {
                let t = Instant::now();
                get_ok(&client, &url).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(i).copied().unwrap_or_default()
    };
    Ok(Outcome {
        label,
        path,
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    })
}
