//! What the benches that run the release binary as a server of their own share:
//! the command, the server's CPU time and memory from `/proc`, and the log-in.

#![allow(dead_code)] // each bench uses its own part

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, StatusCode, redirect};

/// The release binary Cargo built for this bench.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tenantry")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The binary, in `dir`, on `database_url` (and `owner_url` for migrations and
/// operator commands), listening on `port` of 127.0.0.1 for `*.localhost`.
pub fn command(dir: &Path, database_url: &str, owner_url: &str, port: u16) -> Command {
    let mut c = Command::new(binary());
    c.current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("MIGRATION_DATABASE_URL", owner_url)
        .env("DATA_DIR", dir)
        .env("SECRET_KEY", "bench-only-key-".repeat(5))
        .env("PORT", port.to_string())
        .env("BASE_DOMAIN", "localhost")
        .env("RUST_LOG", "info");
    c
}

/// Runs a command to its end; its error output if it fails.
pub fn run_ok(mut c: Command) -> anyhow::Result<()> {
    let out = c.output()?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Seeds `tenants` demo tenants of `leads` leads each with `make()`'s binary and
/// gives `demo-1` a budget of `per_minute` requests a minute.
pub fn seed_demo(
    make: impl Fn() -> Command,
    tenants: u32,
    leads: u32,
    per_minute: &str,
) -> anyhow::Result<()> {
    let mut seed = make();
    seed.args(["seed", "--tenants", &tenants.to_string()])
        .args(["--leads", &leads.to_string()]);
    run_ok(seed)?;
    let mut limit = make();
    limit.args([
        "tenants",
        "limits",
        "demo-1",
        "--requests-per-minute",
        per_minute,
    ]);
    run_ok(limit)
}

/// CPU seconds (user + system) the process has used.
pub fn cpu_seconds(child: &Child) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id()))?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// The process's resident memory now and at its peak, in MiB (`VmRSS`, `VmHWM`).
pub fn memory_mib(child: &Child) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("odd /proc status")?
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// A client for `host` on 127.0.0.1:`port` that follows no redirects.
pub fn client(host: &str, port: u16, cookies: bool, idle: usize) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .redirect(redirect::Policy::none())
        .cookie_store(cookies)
        .resolve(host, SocketAddr::from(([127, 0, 0, 1], port)))
        .pool_max_idle_per_host(idle)
        .build()?)
}

/// Waits until the server answers `/healthz` (a minute at most).
pub async fn wait_until_up(client: &Client, base: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the server did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Logs in to demo tenant `slug` as its admin through the login form.
pub async fn log_in(client: &Client, base: &str, slug: &str) -> anyhow::Result<()> {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).context("no CSRF token")? + marker.len();
    let end = page[start..].find('"').context("no CSRF token end")? + start;
    let email = tenantry::db::seed::seed_admin_email(slug);
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", &page[start..end]),
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
