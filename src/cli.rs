//! The command line: `tenantry [serve]`, `migrate`, `tenants list`.

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db::{OperatorDb, run_migrations};
use crate::startup::Application;

/// Tenantry, a multi-tenant CRM.
#[derive(Debug, Parser)]
#[command(name = "tenantry", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Operator commands on tenants.
    Tenants {
        /// What to do with tenants.
        #[command(subcommand)]
        command: TenantsCommand,
    },
}

/// `tenantry tenants ...`
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// List every tenant.
    List,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let url = config.migration_database_url.clone();
            let applied = tokio::task::spawn_blocking(move || run_migrations(&url)).await??;
            println!("applied {applied} migration(s)");
        }
        Command::Tenants {
            command: TenantsCommand::List,
        } => {
            let url = config.migration_database_url.clone();
            let tenants = tokio::task::spawn_blocking(move || {
                run_migrations(&url)?;
                OperatorDb::connect(&url)?.list_tenants()
            })
            .await??;
            if tenants.is_empty() {
                println!("no tenants yet");
            }
            for t in tenants {
                println!(
                    "{:<40} {:<40} {}",
                    t.slug,
                    t.name,
                    t.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
    }
    Ok(())
}
