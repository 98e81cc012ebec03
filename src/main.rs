//! The `tenantry` binary: parses the command line and hands over to the library.

use clap::Parser;
use tenantry::cli::{Cli, run};
use tenantry::config::Config;

#[actix_web::main]
async fn main() {
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
