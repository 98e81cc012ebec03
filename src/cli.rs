//! The command line: `tenantry [serve]`, `migrate`, `tenants list`, `seed`.

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
    /// Create demo tenants `demo-1` .. `demo-N` with members, companies, leads
    /// and notes (existing demo tenants are left alone).
    Seed {
        /// How many tenants.
        #[arg(long, default_value_t = 3)]
        tenants: u32,
        /// Leads per tenant.
        #[arg(long, default_value_t = 1_000)]
        leads: u32,
    },
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
        Command::Seed { tenants, leads } => {
            let url = config.migration_database_url.clone();
            let started = std::time::Instant::now();
            let created = tokio::task::spawn_blocking(move || {
                run_migrations(&url)?;
                let hash = crate::auth::password::hash_password(crate::db::seed::SEED_PASSWORD)?;
                crate::db::seed::seed_demo(&url, &hash, tenants, leads, |i, made| {
                    let slug = crate::db::seed::seed_slug(i);
                    if made {
                        println!("{slug}: {leads} leads");
                    } else {
                        println!("{slug}: exists, left alone");
                    }
                })
            })
            .await??;
            println!(
                "seeded {created} tenant(s) in {:.1}s; log in at http://demo-1.{}:{}/login as {} with password `{}`",
                started.elapsed().as_secs_f64(),
                config.base_domain,
                config.port,
                crate::db::seed::seed_admin_email("demo-1"),
                crate::db::seed::SEED_PASSWORD
            );
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
