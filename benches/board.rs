//! The pipeline board at size: `cargo bench --bench board`.
//!
//! Seeds one demo tenant with [`LEADS`] leads (so that every status holds about
//! 10,000 of them; the bench checks the largest column), runs the release
//! binary as a server of its own, logs in, and opens `/pipeline` one request at
//! a time ([`REQUESTS`], after [`WARM_UP`]), beside `/healthz` and the lead list
//! in the same run for scale. One at a time, so the figures are the server's
//! time per board (plus loopback), not queueing. SPEC's target: under 50 ms.
//!
//! Bounded: loopback only, [`REQUESTS`] requests per page.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use common::{client, free_port, log_in, seed_demo, wait_until_up};
use reqwest::{Client, StatusCode};

/// Leads in the tenant: six statuses of about 10,000 each.
const LEADS: u32 = 60_000;
/// Measured requests per page.
const REQUESTS: usize = 200;
/// Unmeasured requests first.
const WARM_UP: usize = 20;

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
    let url = format!("sqlite://{}", dir.path().join("board.db").display());
    let command = |port| common::command(dir.path(), &url, &url, port);
    let started = Instant::now();
    seed_demo(|| command(port), 1, LEADS, "100000000")?;
    println!(
        "seeded 1 tenant with {LEADS} leads in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let log = std::fs::File::create(dir.path().join("server.log"))?;
    let mut server = command(port)
        .arg("serve")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?;
    let outcome = measure(port).await;
    let _ = server.kill();
    let _ = server.wait();
    outcome
}

async fn measure(port: u16) -> anyhow::Result<()> {
    let host = "demo-1.localhost";
    let client = client(host, port, true, 1)?;
    let base = format!("http://{host}:{port}");
    wait_until_up(&client, &base).await?;
    log_in(&client, &base, "demo-1").await?;
    let board = get(&client, &format!("{base}/pipeline")).await?;
    let largest = column_counts(&board).into_iter().max().unwrap_or(0);
    if largest < 10_000 {
        bail!("the largest column holds {largest} leads, fewer than 10,000");
    }
    println!("largest column: {largest} leads (each column shows its first 20 cards)\n");
    println!("| page | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (label, path) in [
        ("`/healthz`", "/healthz"),
        ("`/leads` (first page)", "/leads"),
        ("`/pipeline`", "/pipeline"),
        ("`/pipeline?owner=` (a filter, counted)", ""),
    ] {
        let path = if path.is_empty() {
            // The first member's id, from the owner filter's first option.
            let marker = "<option value=\"";
            let at = board
                .match_indices(marker)
                .map(|(i, _)| i + marker.len())
                .find(|&i| board[i..].chars().next().is_some_and(|c| c != '"'))
                .context("no owner option")?;
            let id = &board[at..at + board[at..].find('"').context("option")?];
            format!("/pipeline?owner={id}")
        } else {
            path.to_owned()
        };
        let url = format!("{base}{path}");
        for _ in 0..WARM_UP {
            get(&client, &url).await?;
        }
        let mut times = Vec::with_capacity(REQUESTS);
        for _ in 0..REQUESTS {
            let t = Instant::now();
            get(&client, &url).await?;
            times.push(t.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} |",
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn get(client: &Client, url: &str) -> anyhow::Result<String> {
    let r = client.get(url).send().await?;
    if r.status() != StatusCode::OK {
        bail!("GET {url}: {}", r.status());
    }
    Ok(r.text().await?)
}

/// The exact counts the board's columns show.
fn column_counts(page: &str) -> Vec<i64> {
    let marker = "data-exact=\"";
    page.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}
