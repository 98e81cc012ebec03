//! The per-tenant budget under load: `cargo bench --bench budget`.
//!
//! Runs the release binary as a server of its own (so that its CPU time can be
//! read from `/proc`, apart from the load generator's) on a fresh SQLite file
//! with two demo tenants. Tenant A (`demo-1`) gets a budget of
//! [`A_PER_MINUTE`] requests a minute and sends as fast as [`FLOOD`] connections
//! can; tenant B (`demo-2`) browses its lead list one request after another, as a
//! person does. Reports, from the same run:
//! - B's p50 and p99 alone and beside A's flood (rounds interleaved, medians);
//! - the server's CPU time per refused request of A (A alone, over its budget,
//!   from [`CPU_FLOOD`] connections; the server's idle CPU taken out), beside its
//!   CPU time per page of B, for scale.
//!
//! Bounded: loopback only, [`B_REQUESTS`] per round, [`ROUNDS`] rounds, and
//! [`CPU_REQUESTS`] for the CPU measure.

mod common;

use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use common::{client, cpu_seconds, free_port, log_in, seed_demo, wait_until_up};
use reqwest::{Client, StatusCode};

/// Tenant A's budget.
const A_PER_MINUTE: &str = "600";
/// A's connections sending at once.
const FLOOD: usize = 8;
/// B's requests per round.
const B_REQUESTS: usize = 300;
/// Rounds of (B alone, B beside A).
const ROUNDS: usize = 3;
/// Refused requests whose CPU time is measured.
const CPU_REQUESTS: u64 = 20_000;
/// Connections sending them: refusals wait [`REFUSAL_DELAY`] before they are
/// answered, so it takes many at once to send fast.
///
/// [`REFUSAL_DELAY`]: tenantry::budget::REFUSAL_DELAY
const CPU_FLOOD: usize = 256;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let command = |port| common::command(dir.path(), &url, &url, port);
    seed_demo(|| command(port), 2, 2_000, A_PER_MINUTE)?;
    let log = std::fs::File::create(dir.path().join("server.log"))?;
    let mut server = command(port)
        .arg("serve")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?;
    let outcome = measure(port, &server).await;
    let _ = server.kill();
    let _ = server.wait();
    outcome
}

async fn measure(port: u16, server: &Child) -> anyhow::Result<()> {
    let (a_host, b_host) = ("demo-1.localhost", "demo-2.localhost");
    let b = client(b_host, port, true, CPU_FLOOD * 2)?;
    let b_base = format!("http://{b_host}:{port}");
    wait_until_up(&b, &b_base).await?;
    log_in(&b, &b_base, "demo-2").await?;
    let a = client(a_host, port, false, CPU_FLOOD * 2)?;
    let a_url = format!("http://{a_host}:{port}/leads");

    let mut alone = Vec::new();
    let mut beside = Vec::new();
    let mut b_cpu = Vec::new();
    let mut refused_total = 0;
    let mut a_total = 0;
    for _ in 0..ROUNDS {
        let before = cpu_seconds(server)?;
        alone.push(browse(&b, &b_base).await?);
        b_cpu.push((cpu_seconds(server)? - before) / B_REQUESTS as f64);
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let flood = start_flood(&a, &a_url, &stop, &sent, &refused, u64::MAX, FLOOD);
        beside.push(browse(&b, &b_base).await?);
        stop.store(true, Ordering::Relaxed);
        for task in flood {
            task.await??;
        }
        a_total += sent.load(Ordering::Relaxed);
        refused_total += refused.load(Ordering::Relaxed);
    }

    // What the server spends idle (timers, the mail worker's polls), to take
    // out of the measure below.
    let idle_from = cpu_seconds(server)?;
    let idle_wall = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rate = (cpu_seconds(server)? - idle_from) / idle_wall.elapsed().as_secs_f64();
    // A alone, well past its budget: the server's CPU per refused request.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let before = cpu_seconds(server)?;
    let t0 = Instant::now();
    for task in start_flood(&a, &a_url, &stop, &sent, &refused, CPU_REQUESTS, CPU_FLOOD) {
        task.await??;
    }
    let wall = t0.elapsed();
    let cpu = cpu_seconds(server)? - before - idle_rate * wall.as_secs_f64();
    let (sent, refused) = (
        sent.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );

    let median = |mut v: Vec<(Duration, Duration)>, pick: fn(&(Duration, Duration)) -> Duration| {
        v.sort_by_key(pick);
        pick(&v[v.len() / 2])
    };
    let (alone_p50, alone_p99) = (median(alone.clone(), |x| x.0), median(alone, |x| x.1));
    let (beside_p50, beside_p99) = (median(beside.clone(), |x| x.0), median(beside, |x| x.1));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    b_cpu.sort_by(f64::total_cmp);
    let per_refused = cpu / refused.max(1) as f64;
    println!(
        "tenant A: budget {A_PER_MINUTE}/min, {FLOOD} connections; tenant B: one request at a time, GET /leads"
    );
    println!();
    println!("| | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    println!("| B alone | {:.2} | {:.2} |", ms(alone_p50), ms(alone_p99));
    println!(
        "| B beside A's flood | {:.2} | {:.2} |",
        ms(beside_p50),
        ms(beside_p99)
    );
    println!(
        "| ratio | {:.2}x | {:.2}x |",
        beside_p50.as_secs_f64() / alone_p50.as_secs_f64(),
        beside_p99.as_secs_f64() / alone_p99.as_secs_f64()
    );
    println!();
    println!(
        "A during B's rounds: {a_total} requests, {refused_total} refused (429), {:.0}% refused",
        100.0 * refused_total as f64 / a_total.max(1) as f64
    );
    println!(
        "A alone over budget, {CPU_FLOOD} connections: {sent} requests ({refused} refused) in {:.2}s = {:.0} req/s; server CPU {:.3}s (idle {:.1}% of a core taken out) = {:.1} us per refused request",
        wall.as_secs_f64(),
        sent as f64 / wall.as_secs_f64(),
        cpu,
        idle_rate * 100.0,
        per_refused * 1e6
    );
    println!(
        "for scale, B's lead list: {:.0} us of server CPU per page",
        b_cpu[b_cpu.len() / 2] * 1e6
    );
    Ok(())
}

/// `connections` tasks sending GETs until `stop` or until `limit` were sent.
fn start_flood(
    client: &Client,
    url: &str,
    stop: &Arc<AtomicBool>,
    sent: &Arc<AtomicU64>,
    refused: &Arc<AtomicU64>,
    limit: u64,
    connections: usize,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<()>>> {
    (0..connections)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            let (stop, sent, refused) = (stop.clone(), sent.clone(), refused.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) && sent.fetch_add(1, Ordering::Relaxed) < limit
                {
                    let r = client.get(&url).send().await?;
                    if r.status() == StatusCode::TOO_MANY_REQUESTS {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = r.bytes().await?;
                }
                if limit != u64::MAX {
                    sent.fetch_sub(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect()
}

/// B's round: [`B_REQUESTS`] list pages one after another; (p50, p99).
async fn browse(client: &Client, base: &str) -> anyhow::Result<(Duration, Duration)> {
    let mut took = Vec::with_capacity(B_REQUESTS);
    for _ in 0..B_REQUESTS {
        let t = Instant::now();
        let r = client.get(format!("{base}/leads")).send().await?;
        if r.status() != StatusCode::OK {
            bail!("B got {}", r.status());
        }
        let _ = r.bytes().await?;
        took.push(t.elapsed());
    }
    took.sort();
    Ok((took[took.len() / 2], took[took.len() * 99 / 100]))
}
