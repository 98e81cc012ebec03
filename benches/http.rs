//! The HTTP benchmark: `cargo bench --bench http`.
//!
//! For each database size it seeds a fresh database with the release binary's
//! own `seed` command (`demo-1` .. `demo-N`), starts `tenantry serve` as a process
//! of its own on 127.0.0.1 (so its memory is its own, read from `/proc`), logs in
//! to `demo-1` over HTTP and measures, per scenario, a bounded run of requests
//! ([`REQUESTS`] requests or [`TIME_LIMIT`], whichever ends first) with
//! [`CONCURRENCY`] requests in flight: requests per second, p50 and p99, and the
//! rate as a share of the same server's `/healthz` rate in the same run (measured
//! before every scenario; the median is the reference), which takes out most of
//! what a shared, noisy machine adds. Then the server's resident memory.
//!
//! Sizes: 1 tenant x 1,000 leads, 1 tenant x 100,000 leads, and 100 tenants x
//! 10,000 leads (1,000,000); the measured tenant is `demo-1` in each.
//! `BENCH_QUICK=1` runs the small size only; `BENCH_SIZES=1x1000,1x100000` picks
//! sizes; `BENCH_ONLY=list,notes` the scenarios whose label holds `list` or
//! `notes`. With
//! `BENCH_POSTGRES_URL` (a superuser URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) each size also runs on a fresh
//! PostgreSQL database, migrated and seeded by an owner role and served by an app
//! role under row-level security, as in production (with `lower` and `LIKE`
//! marked leakproof, as `deploy/postgres-roles.sql` does); `BENCH_ENGINES=postgres`
//! runs PostgreSQL alone.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use common::{client, command, free_port, log_in, memory_mib, seed_demo, wait_until_up};
use reqwest::{Client, StatusCode};

/// Requests measured per scenario.
const REQUESTS: usize = 6_000;
/// Longest a scenario runs.
const TIME_LIMIT: Duration = Duration::from_secs(10);
/// Requests in flight at once (as `wrk -c 16` in the comparison with Django).
const CONCURRENCY: usize = 16;
/// Unmeasured requests before each scenario.
const WARM_UP: usize = 100;
/// The budget the measured tenant gets for the run: the bench measures what a
/// page costs, not the plan's limit.
const BENCH_BUDGET: &str = "100000000";

/// Which database a run uses.
#[derive(Clone)]
enum Backend {
    Sqlite,
    /// The superuser URL that creates the databases and roles.
    Postgres(String),
}

impl Backend {
    fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

#[derive(Clone, Copy)]
struct Size {
    tenants: u32,
    leads: u32,
}

impl Size {
    fn label(self) -> String {
        format!("{}x{}", self.tenants, self.leads)
    }
}

#[derive(Clone)]
struct Outcome {
    label: &'static str,
    path: String,
    requests: usize,
    /// Answers other than 200 (not in the latencies).
    errors: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// The server's CPU time (user + system) per answered request: what the
    /// scenario costs the server, which a noisy machine moves far less than it
    /// moves the rate.
    cpu_per_request: Duration,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

fn sizes() -> anyhow::Result<Vec<Size>> {
    if let Ok(list) = std::env::var("BENCH_SIZES") {
        return list
            .split(',')
            .map(|s| {
                let (t, l) = s.trim().split_once('x').context("BENCH_SIZES: TxL,TxL")?;
                Ok(Size {
                    tenants: t.parse()?,
                    leads: l.parse()?,
                })
            })
            .collect();
    }
    let mut sizes = vec![Size {
        tenants: 1,
        leads: 1_000,
    }];
    if std::env::var_os("BENCH_QUICK").is_none() {
        sizes.push(Size {
            tenants: 1,
            leads: 100_000,
        });
        sizes.push(Size {
            tenants: 100,
            leads: 10_000,
        });
    }
    Ok(sizes)
}

async fn run() -> anyhow::Result<()> {
    let sizes = sizes()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tenantry HTTP benchmark: {cpus} CPU(s), {CONCURRENCY} connections, up to {REQUESTS} requests or {}s per scenario",
        TIME_LIMIT.as_secs()
    );
    // `BENCH_ENGINES=postgres` skips SQLite (to measure again what a change to
    // PostgreSQL's side touched); the default is both, PostgreSQL given its URL.
    let engines = std::env::var("BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut backends = Vec::new();
    if engines.split(',').any(|e| e.trim() == "sqlite") {
        backends.push(Backend::Sqlite);
    }
    if let Ok(admin) = std::env::var("BENCH_POSTGRES_URL") {
        if engines.split(',').any(|e| e.trim() == "postgres") {
            backends.push(Backend::Postgres(admin));
        }
    }
    for backend in &backends {
        let mut by_size = Vec::new();
        for size in &sizes {
            by_size.push((*size, bench_size(backend, *size).await?));
        }
        compare_sizes(backend, &by_size);
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
fn pg_database(admin: &str, name: &str) -> anyhow::Result<(String, String)> {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    const OWNER: &str = "tenantry_bench_owner";
    const APP: &str = "tenantry_bench_app";
    let mut conn = PgConnection::establish(admin)?;
    conn.batch_execute(&format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN \
             CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB; END IF; \
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
           GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP}; \
         {leakproof}",
        leakproof = tenantry::db::SEARCH_INDEX_LEAKPROOF
    ))?;
    Ok((pg_url(admin, APP, name), pg_url(admin, OWNER, name)))
}

async fn bench_size(backend: &Backend, size: Size) -> anyhow::Result<Vec<Outcome>> {
    let temp = tempfile::tempdir()?;
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(d) => std::path::PathBuf::from(d).join(size.label()),
        None => temp.path().to_owned(),
    };
    std::fs::create_dir_all(&dir)?;
    let (app_url, owner_url) = match backend {
        Backend::Sqlite => {
            let file = dir.join(format!("bench-{}.db", size.label()));
            let _ = std::fs::remove_file(&file);
            let url = format!("sqlite://{}", file.display());
            (url.clone(), url)
        }
        Backend::Postgres(admin) => {
            pg_database(admin, &format!("tenantry_bench_{}", size.label()))?
        }
    };
    let total = u64::from(size.tenants) * u64::from(size.leads);
    println!(
        "\n## {}, {total} leads ({} tenant(s) x {} leads)",
        backend.label(),
        size.tenants,
        size.leads
    );
    let port = free_port()?;
    let command = |port| command(&dir, &app_url, &owner_url, port);
    let started = Instant::now();
    seed_demo(|| command(port), size.tenants, size.leads, BENCH_BUDGET)?;
    let owner = owner_url.clone();
    tokio::task::spawn_blocking(move || {
        if owner.starts_with("postgres") {
            // What autovacuum soon does after a bulk load: statistics for the
            // planner, and the visibility map that index-only scans need.
            use diesel::Connection;
            use diesel::connection::SimpleConnection;
            diesel::PgConnection::establish(&owner)?.batch_execute("VACUUM ANALYZE")?;
        }
        add_notes(&owner, HEAVY_LEAD, HEAVY_NOTES)
    })
    .await??;
    println!("seeded in {:.1}s", started.elapsed().as_secs_f64());

    let log = std::fs::File::create(dir.join("server.log"))?;
    let mut server = command(port)
        .arg("serve")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?;
    let outcome = measure_server(port, &server).await;
    let memory = memory_mib(&server);
    let _ = server.kill();
    let _ = server.wait();
    let outcomes = outcome?;
    if let Ok((rss, peak)) = memory {
        println!("server memory: {rss:.1} MiB resident at the end, {peak:.1} MiB at the peak");
    }
    Ok(outcomes)
}

async fn measure_server(port: u16, server: &std::process::Child) -> anyhow::Result<Vec<Outcome>> {
    let host = "demo-1.localhost";
    let client = client(host, port, true, CONCURRENCY * 2)?;
    let base = format!("http://{host}:{port}");
    wait_until_up(&client, &base).await?;
    log_in(&client, &base, "demo-1").await?;

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
    let scenarios: [(&'static str, String); 8] = [
        ("list, first page", "/leads".to_owned()),
        ("list, deep page", format!("/leads?after={deep_after}")),
        ("filter status=won", "/leads?status=won".to_owned()),
        ("search q=lovelace", "/leads?q=lovelace".to_owned()),
        ("search q=zz (none)", "/leads?q=zz".to_owned()),
        ("search q=zzq (none)", "/leads?q=zzq".to_owned()),
        ("lead page", format!("/leads/{lead}")),
        ("lead page, 50,000 notes", format!("/leads/{HEAVY_LEAD}")),
    ];
    let mut health = Vec::new();
    let mut outcomes = Vec::new();
    let mut peak_rss: f64 = 0.0;
    // `BENCH_ONLY=search,notes` runs the scenarios whose label holds one of
    // those texts (to profile one with `perf record -p`, or to measure again
    // what a change touched).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted = |label: &str| only.split(',').any(|part| label.contains(part.trim()));
    for (label, path) in scenarios.into_iter().filter(|(l, _)| wanted(l)) {
        health.push(measure(&client, server, &base, "healthz", "/healthz".to_owned()).await?);
        outcomes.push(measure(&client, server, &base, label, path).await?);
        if let Ok((rss, _)) = memory_mib(server) {
            peak_rss = peak_rss.max(rss);
        }
    }
    health.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    let reference = health[health.len() / 2].clone();
    println!(
        "\n`/healthz` in the same run: {:.0} req/s median of {} runs ({:.0} to {:.0}), p50 {:.2} ms, server CPU {:.0} µs/req",
        reference.per_second,
        health.len(),
        health[0].per_second,
        health[health.len() - 1].per_second,
        reference.p50.as_secs_f64() * 1e3,
        reference.cpu_per_request.as_secs_f64() * 1e6
    );
    println!(
        "\n| scenario | path | requests | not 200 | req/s | of /healthz | p50 ms | p99 ms | server CPU µs/req |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for o in &outcomes {
        println!(
            "| {} | `{}` | {} | {} | {:.0} | {:.1}% | {:.2} | {:.2} | {:.0} |",
            o.label,
            o.path,
            o.requests,
            o.errors,
            o.per_second,
            100.0 * o.per_second / reference.per_second,
            o.p50.as_secs_f64() * 1e3,
            o.p99.as_secs_f64() * 1e3,
            o.cpu_per_request.as_secs_f64() * 1e6
        );
    }
    println!("largest resident memory seen between scenarios: {peak_rss:.1} MiB");
    Ok(outcomes)
}

/// The p50 of each scenario at each size against the smallest, and search at
/// 100,000 leads against 10,000: what the targets compare.
fn compare_sizes(backend: &Backend, by_size: &[(Size, Vec<Outcome>)]) {
    if by_size.len() < 2 {
        return;
    }
    let (base_size, base) = &by_size[0];
    println!(
        "\n### {}: p50 against {} (1.0 = the same cost)",
        backend.label(),
        base_size.label()
    );
    let mut header = "| scenario |".to_owned();
    let mut rule = "|---|".to_owned();
    for (size, _) in &by_size[1..] {
        header.push_str(&format!(" {} |", size.label()));
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    for (i, o) in base.iter().enumerate() {
        let mut line = format!("| {} |", o.label);
        for (_, outcomes) in &by_size[1..] {
            let ratio = outcomes[i].p50.as_secs_f64() / o.p50.as_secs_f64();
            line.push_str(&format!(" {ratio:.2}x |"));
        }
        println!("{line}");
    }
    let find = |leads: u32, tenants: u32| {
        by_size
            .iter()
            .find(|(s, _)| s.leads == leads && s.tenants == tenants)
    };
    if let (Some((_, big)), Some((_, ten))) = (find(100_000, 1), find(10_000, 100)) {
        for (b, t) in big
            .iter()
            .zip(ten)
            .filter(|(b, _)| b.label.starts_with("search"))
        {
            println!(
                "{}: p50 {:.2} ms at 100,000 leads, {:.2} ms at 10,000 (x100 tenants): {:.2}x",
                b.label,
                b.p50.as_secs_f64() * 1e3,
                t.p50.as_secs_f64() * 1e3,
                b.p50.as_secs_f64() / t.p50.as_secs_f64()
            );
        }
    }
}

/// The lead of `demo-1` that gets [`HEAVY_NOTES`] notes on top of the seed's.
const HEAVY_LEAD: i64 = 1;
/// Notes on the heavy lead: its page must cost what a page with a few costs.
const HEAVY_NOTES: u32 = 50_000;

/// Adds `count` notes to lead `number` of `demo-1`, one second apart, in one
/// statement (as the owner; on PostgreSQL inside the tenant, for its RLS).
fn add_notes(url: &str, number: i64, count: u32) -> anyhow::Result<()> {
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
    match url.strip_prefix("sqlite://") {
        Some(path) => SqliteConnection::establish(path)?.batch_execute(&insert(
            "datetime('2026-01-01 00:00:00', '+' || i || ' seconds')",
        ))?,
        None => {
            let mut pg = PgConnection::establish(url)?;
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

async fn measure(
    client: &Client,
    server: &std::process::Child,
    base: &str,
    label: &'static str,
    path: String,
) -> anyhow::Result<Outcome> {
    let url = Arc::new(format!("{base}{path}"));
    for _ in 0..WARM_UP {
        get_ok(client, &url).await?;
    }
    let cpu_before = common::cpu_seconds(server)?;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while next.fetch_add(1, Ordering::Relaxed) < REQUESTS && started.elapsed() < TIME_LIMIT
            {
                let t = Instant::now();
                let r = client.get(url.as_str()).send().await?;
                let ok = r.status() == StatusCode::OK;
                let _ = r.bytes().await?;
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (l, e) = w.await??;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    let cpu = common::cpu_seconds(server)? - cpu_before;
    let answered = (latencies.len() + errors).max(1);
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(i).copied().unwrap_or_default()
    };
    Ok(Outcome {
        label,
        path,
        requests: latencies.len(),
        errors,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        cpu_per_request: Duration::from_secs_f64(cpu / answered as f64),
    })
}
