//! The `tenantry` binary: parses the command line and hands over to the library.

use clap::Parser;
use tenantry::cli::{Cli, run};
use tenantry::config::Config;

/// glibc's allocator gives threads arenas of their own, up to eight per core,
/// and each keeps the memory it once held. The server's database work runs on
/// many short-lived blocking threads, so its resident memory grew with them
/// (131 MiB under the HTTP bench at 100,000 leads; 59 MiB with two arenas, at
/// the same speed). glibc reads `MALLOC_ARENA_MAX` only when the process
/// starts, so when it is not set the binary runs itself again, once, with 2.
/// An operator's own setting is kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    // `exec` keeps the process id and returns only if it failed; then this
    // process goes on as it is.
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", "2")
        .exec();
    eprintln!("note: could not restart with MALLOC_ARENA_MAX=2: {error}");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() {
    limit_malloc_arenas();
    run_cli();
}

#[actix_web::main]
async fn run_cli() {
    // A missing .env is normal; a broken one should be said.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("error: could not read .env: {e}");
            std::process::exit(2);
        }
    }
    tenantry::telemetry::init();
    let cli = Cli::parse();
    let result = match Config::from_env() {
        Ok(config) => run(cli, config).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
