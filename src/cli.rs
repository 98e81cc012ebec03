//! The command line: `tenantry [serve]`, `migrate [--status]`, `tenants list`,
//! `tenants export` / `import` / `move` / `delete` / `plan` / `limits` / `usage`,
//! `seed`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::db::moves::{MoveObserver, MoveOutcome, MoveReport, MoveRequest};
use crate::db::stores::StoreLayout;
use crate::db::{
    HomeEntry, HomeMigration, OperatorDb, migrate_homes, newest_version, run_migrations,
    store_version,
};
use crate::domain::Placement;
use crate::startup::Application;

mod plans;
pub use plans::{LimitFlags, UsageFormat};

/// Tenant stores migrated at once by `tenantry migrate` and at start-up.
pub const MIGRATE_PARALLELISM: usize = 4;

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
    /// Migrate the main database and every tenant's own schema or database, and
    /// exit. A store that fails is reported and left for the next run.
    Migrate {
        /// List every database with its version instead of migrating.
        #[arg(long)]
        status: bool,
    },
    /// Create demo tenants `demo-1` .. `demo-N` with members, companies, leads
    /// and notes (existing demo tenants are left alone).
    Seed {
        /// How many tenants.
        #[arg(long, default_value_t = 3)]
        tenants: u32,
        /// Leads per tenant.
        #[arg(long, default_value_t = 1_000)]
        leads: u32,
        /// Where their data goes (default: NEW_TENANT_PLACEMENT).
        #[arg(long)]
        placement: Option<Placement>,
    },
    /// Operator commands on tenants.
    Tenants {
        /// What to do with tenants.
        #[command(subcommand)]
        command: TenantsCommand,
    },
}

/// How a listing is printed.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// One JSON array, for scripts.
    Json,
}

/// `tenantry tenants ...`
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// List every tenant: slug, name, plan, placement, members, leads.
    List {
        /// Table or JSON.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write a tenant's bundle: one zip file with a manifest (format version,
    /// tenant, counts and SHA-256 of every file), one NDJSON file per table and
    /// CSV files of leads and companies. Sessions, tokens and mail never go in.
    Export {
        /// The tenant's subdomain.
        slug: String,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a bundle into this deployment (NEW_TENANT_PLACEMENT), on either
    /// engine. The whole bundle is checked first; a subdomain or tenant id that
    /// exists here is refused.
    Import {
        /// The bundle file.
        file: PathBuf,
        /// Give the tenant this subdomain instead of the bundle's.
        #[arg(long)]
        slug: Option<String>,
    },
    /// Move a tenant to another placement while it works: copy, pause its
    /// writes only to bring over what changed, compare every table's rows and
    /// checksum on both sides, switch, remove the old copy. Prints a report.
    /// A rerun after an interruption finishes or undoes the move.
    Move {
        /// The tenant's subdomain.
        slug: String,
        /// Where it goes.
        #[arg(long)]
        to: Placement,
        /// PostgreSQL, `--to dedicated`: an existing empty database to move into
        /// (any server; Tenantry's own roles connect to it).
        #[arg(long)]
        database_url: Option<String>,
        /// Print the plan and the expected write pause; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Erase a tenant for good: every row, its own schema, database or file, its
    /// queued mail and its directory row. Prints counts before and after.
    Delete {
        /// The tenant's subdomain.
        slug: String,
        /// The same subdomain again, to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// Put a tenant on a plan (`free`, `team`, `business`, or one added to the
    /// `plans` table).
    Plan {
        /// The tenant's subdomain.
        slug: String,
        /// The plan's name.
        plan: String,
    },
    /// Override a tenant's limits (any not given stay as they are); without
    /// flags, print them.
    Limits {
        /// The tenant's subdomain.
        slug: String,
        /// The new limits.
        #[command(flatten)]
        flags: LimitFlags,
    },
    /// Usage against limits, of one tenant or all: a table, JSON, or CSV rows
    /// per tenant and day for billing.
    Usage {
        /// The tenant's subdomain (default: every tenant).
        slug: Option<String>,
        /// How to print it.
        #[arg(long, value_enum, default_value_t)]
        format: UsageFormat,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let layout = StoreLayout::new(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate { status: true } => {
            tokio::task::spawn_blocking(move || print_status(&layout)).await??;
        }
        Command::Migrate { status: false } => {
            tokio::task::spawn_blocking(move || migrate_everything(&layout)).await??;
        }
        Command::Seed {
            tenants,
            leads,
            placement,
        } => {
            let placement = placement.unwrap_or(config.new_tenant_placement);
            let started = std::time::Instant::now();
            let created = tokio::task::spawn_blocking(move || {
                run_migrations(layout.main_owner_url())?;
                let hash = crate::auth::password::hash_password(crate::db::seed::SEED_PASSWORD)?;
                crate::db::seed::seed_demo(&layout, &hash, tenants, leads, placement, |i, made| {
                    let slug = crate::db::seed::seed_slug(i);
                    if made {
                        println!("{slug}: {leads} leads ({placement})");
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
            command: TenantsCommand::List { format },
        } => {
            let tenants = tokio::task::spawn_blocking(move || {
                run_migrations(layout.main_owner_url())?;
                OperatorDb::connect(&layout)?.list_tenants()
            })
            .await??;
            print_tenants(&tenants, format, config.database_url.kind())?;
        }
        Command::Tenants {
            command: TenantsCommand::Export { slug, out },
        } => {
            tokio::task::spawn_blocking(move || export_tenant(&layout, &slug, &out)).await??;
        }
        Command::Tenants {
            command: TenantsCommand::Import { file, slug },
        } => {
            let placement = config.new_tenant_placement;
            tokio::task::spawn_blocking(move || {
                import_tenant(&layout, &file, slug.as_deref(), placement)
            })
            .await??;
        }
        Command::Tenants {
            command:
                TenantsCommand::Move {
                    slug,
                    to,
                    database_url,
                    dry_run,
                },
        } => {
            let request = MoveRequest {
                slug,
                to,
                database_url,
            };
            let ttl = config.tenant_cache_ttl;
            tokio::task::spawn_blocking(move || move_tenant(&layout, &request, dry_run, ttl))
                .await??;
        }
        Command::Tenants {
            command: TenantsCommand::Delete { slug, confirm },
        } => {
            if confirm != slug {
                anyhow::bail!("nothing deleted: to erase `{slug}` for good, pass --confirm {slug}");
            }
            tokio::task::spawn_blocking(move || delete_tenant(&layout, &slug)).await??;
        }
        Command::Tenants {
            command: TenantsCommand::Plan { slug, plan },
        } => {
            tokio::task::spawn_blocking(move || plans::set_plan(&layout, &slug, &plan)).await??;
        }
        Command::Tenants {
            command: TenantsCommand::Limits { slug, flags },
        } => {
            tokio::task::spawn_blocking(move || plans::set_limits(&layout, &slug, &flags))
                .await??;
        }
        Command::Tenants {
            command: TenantsCommand::Usage { slug, format },
        } => {
            tokio::task::spawn_blocking(move || {
                plans::print_usage(&layout, slug.as_deref(), format)
            })
            .await??;
        }
    }
    Ok(())
}

/// A progress bar over rows; plain lines per table when not on a terminal.
struct RowsBar {
    bar: ProgressBar,
    /// The table being written and its rows so far (for the plain lines).
    table: Option<(String, u64)>,
}

impl RowsBar {
    fn new(message: &'static str) -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar, table: None }
    }

    fn finish(&mut self) {
        self.flush_table();
        self.bar.finish_and_clear();
    }

    fn flush_table(&mut self) {
        if let Some((table, rows)) = self.table.take()
            && self.bar.is_hidden()
        {
            println!("{table}: {rows} rows");
        }
    }
}

impl crate::bundle::Progress for RowsBar {
    fn total(&mut self, rows: u64) {
        self.bar.set_length(rows);
    }

    fn advance(&mut self, table: &str, rows: u64) {
        if self.table.as_ref().is_some_and(|(t, _)| t != table) {
            self.flush_table();
        }
        let entry = self.table.get_or_insert_with(|| (table.to_owned(), 0));
        entry.1 += rows;
        self.bar.inc(rows);
    }
}

/// `table N, table N, ...`
fn per_table(rows: &[(&'static str, u64)]) -> String {
    rows.iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `tenantry tenants export`.
fn export_tenant(layout: &StoreLayout, slug: &str, out: &std::path::Path) -> anyhow::Result<()> {
    run_migrations(layout.main_owner_url())?;
    let mut bar = RowsBar::new("exporting");
    let exported = crate::bundle::export_tenant(layout, slug, out, &mut bar);
    bar.finish();
    let exported = exported?;
    println!(
        "exported `{}` ({} placement) to {} ({:.1} KiB): {}; no sessions, tokens or mail",
        exported.tenant.slug,
        exported.tenant.placement,
        out.display(),
        exported.bytes as f64 / 1024.0,
        per_table(&exported.rows)
    );
    Ok(())
}

/// `tenantry tenants import`.
fn import_tenant(
    layout: &StoreLayout,
    file: &std::path::Path,
    slug: Option<&str>,
    placement: Placement,
) -> anyhow::Result<()> {
    run_migrations(layout.main_owner_url())?;
    let mut bar = RowsBar::new("restoring");
    let imported = crate::bundle::import_tenant(layout, file, slug, placement, &mut bar);
    bar.finish();
    let imported = imported?;
    OperatorDb::connect(layout)?.record_tenant_operation(
        &imported.slug,
        crate::domain::AuditAction::TenantImported,
        Some(format!(
            "from {} ({} {}): {}",
            file.file_name().unwrap_or_default().to_string_lossy(),
            imported.manifest.engine,
            imported.manifest.tenant.placement,
            per_table(&imported.restored.rows)
        )),
    )?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "restored `{}` (tenant {}, exported from {} {}) from {} ({:.1} KiB) into {}: {}",
        imported.slug,
        imported.manifest.tenant.id,
        imported.manifest.engine,
        imported.manifest.tenant.placement,
        file.display(),
        bytes as f64 / 1024.0,
        imported.restored.home.placement(),
        per_table(&imported.restored.rows)
    );
    Ok(())
}

/// Shows a move's progress: a bar over the copy's rows, a line per step.
struct MoveProgress {
    bar: Option<ProgressBar>,
    /// Test hook: stop at this step and wait to be killed
    /// (`TENANTRY_MOVE_HOLD_AT`), so that tests can interrupt a move anywhere.
    hold_at: Option<String>,
}

impl MoveObserver for MoveProgress {
    fn reached(&mut self, step: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let said = match step {
            "created" => "made the target",
            "copied" => "copied the tenant's rows while it worked",
            "paused" => "paused the tenant's writes",
            "verified" => "brought over what changed; every table matches on both sides",
            "switched" => {
                "switched the directory: the tenant is served from the target, writes resumed"
            }
            "cleaned" => "removed the old copy",
            other => other,
        };
        println!("[{step}] {said}");
        if self.hold_at.as_deref() == Some(step) {
            eprintln!("holding at {step}");
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
    }

    fn copy_started(&mut self, rows: u64) {
        let bar = ProgressBar::new(rows).with_style(
            ProgressStyle::with_template("copying [{bar:30}] {pos}/{len} rows ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn copied(&mut self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => println!("{message}"),
        }
    }
}

/// `tenantry tenants move`.
fn move_tenant(
    layout: &StoreLayout,
    request: &MoveRequest,
    dry_run: bool,
    cache_ttl: Duration,
) -> anyhow::Result<()> {
    run_migrations(layout.main_owner_url())?;
    let mut operator = OperatorDb::connect(layout)?;
    let mut progress = MoveProgress {
        bar: None,
        hold_at: std::env::var("TENANTRY_MOVE_HOLD_AT").ok(),
    };
    let outcome = operator.move_tenant(request, dry_run, cache_ttl, &mut progress);
    if let Some(bar) = progress.bar.take() {
        bar.finish_and_clear();
    }
    match outcome? {
        MoveOutcome::Plan(plan) => {
            println!(
                "plan: move `{}` from {} to {}",
                plan.slug, plan.from, plan.to
            );
            if let Some(unfinished) = &plan.unfinished {
                println!("first: {unfinished}");
            }
            println!(
                "  1. make the target and copy every table from one snapshot while the tenant works:"
            );
            for (table, rows) in &plan.rows {
                println!("       {table:<16} {rows:>10} rows");
            }
            println!(
                "  2. pause the tenant's writes (reads go on), bring over what changed, compare every table's rows and SHA-256 on both sides"
            );
            println!("  3. switch the directory and resume writes; mark the old place `moved`");
            println!("  4. remove the old copy (a store after the host cache's lifetime)");
            println!(
                "expected write pause: about {:.1} s (one read of every row took {:.2} s just now; the pause reads both sides and the target again)",
                plan.expected_pause.as_secs_f64(),
                plan.read.as_secs_f64()
            );
            println!("dry run: nothing changed");
        }
        MoveOutcome::Moved(report) => {
            operator.record_tenant_operation(
                &report.slug,
                crate::domain::AuditAction::TenantMoved,
                serde_json::to_string(&report).ok(),
            )?;
            print_move_report(&report)
        }
    }
    Ok(())
}

/// The report of a move.
fn print_move_report(report: &MoveReport) {
    println!(
        "{:<16} {:>10} {:>10}  {:<16} match",
        "table", "source", "target", "sha-256"
    );
    for t in &report.tables {
        println!(
            "{:<16} {:>10} {:>10}  {:<16} {}",
            t.table,
            t.source_rows,
            t.target_rows,
            &t.target_sha256[..16.min(t.target_sha256.len())],
            if t.matches() { "yes" } else { "NO" }
        );
    }
    let [inserted, updated, deleted] = report.caught_up;
    println!(
        "moved `{}` from {} to {} (generation {}): {} rows copied while it worked; during the pause {} inserted, {} updated, {} deleted; writes paused {} ms; {}; {:.1} s in all",
        report.slug,
        report.from,
        report.to,
        report.generation,
        report.copied_rows,
        inserted,
        updated,
        deleted,
        report.pause_ms,
        report.source,
        report.total_ms as f64 / 1000.0
    );
}

/// `tenantry tenants delete`: erase, then show what was there and what is left.
fn delete_tenant(layout: &StoreLayout, slug: &str) -> anyhow::Result<()> {
    run_migrations(layout.main_owner_url())?;
    let mut operator = OperatorDb::connect(layout)?;
    let Some(erased) = operator.delete_tenant(slug)? else {
        anyhow::bail!("no tenant has the subdomain `{slug}`; nothing deleted");
    };
    println!("{:<28} {:>10} {:>8}", "table", "before", "after");
    for (table, before) in &erased.before.0 {
        let after = erased
            .after
            .0
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n);
        println!("{table:<28} {before:>10} {after:>8}");
    }
    if erased.placement != Placement::Shared {
        println!("its own {} store: removed", erased.placement);
    }
    if erased.wal_truncated == Some(false) {
        println!(
            "note: a reader held the SQLite log open, so it was not emptied yet; the erased rows are overwritten in the file, and the log is rewritten at the next checkpoint"
        );
    }
    println!(
        "deleted `{slug}`: {} rows before, {} after; its address answers \"no workspace\" (at once here, within a minute on running servers, whose cache of hosts lasts that long)",
        erased.before.total(),
        erased.after.total()
    );
    Ok(())
}

/// `tenantry migrate`: the main database, then every tenant store.
fn migrate_everything(layout: &StoreLayout) -> anyhow::Result<()> {
    let applied = run_migrations(layout.main_owner_url())?;
    let mut operator = OperatorDb::connect(layout)?;
    let main_version = operator.main_version()?.unwrap_or_default();
    println!("main database: {applied} migration(s) applied, at {main_version}");
    let homes = operator.homes()?;
    if homes.is_empty() {
        println!("no tenant has a schema or database of its own");
        return Ok(());
    }
    let bar = ProgressBar::new(homes.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("migrating tenant stores");
    bar.enable_steady_tick(Duration::from_millis(200));
    let outcomes = migrate_homes(layout, &homes, MIGRATE_PARALLELISM, |entry, outcome| {
        // A hidden bar (not a terminal) prints nothing, so the report goes to stdout.
        if bar.is_hidden() {
            println!("{}", describe(entry, outcome));
        } else {
            bar.println(describe(entry, outcome));
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let mut failed = 0;
    for (entry, outcome) in homes.iter().zip(&outcomes) {
        match outcome {
            HomeMigration::Current { version, .. } => operator.record_version(entry, version)?,
            HomeMigration::Failed(_) => failed += 1,
        }
    }
    let current = homes.len() - failed;
    if failed > 0 {
        anyhow::bail!(
            "{current} of {} tenant stores are current; {failed} failed (see above) and stay as they were: run `tenantry migrate` again once the cause is fixed",
            homes.len()
        );
    }
    println!("all {current} tenant stores are current");
    Ok(())
}

fn describe(entry: &HomeEntry, outcome: &HomeMigration) -> String {
    match outcome {
        HomeMigration::Current { applied, version } => {
            format!(
                "{}: {applied} migration(s) applied, at {version}",
                entry.label()
            )
        }
        HomeMigration::Failed(reason) => format!("{}: FAILED: {reason}", entry.label()),
    }
}

/// `tenantry migrate --status`: each database's version, read from it.
fn print_status(layout: &StoreLayout) -> anyhow::Result<()> {
    let newest = newest_version(layout);
    let mut operator = OperatorDb::connect(layout)?;
    let state = |v: Option<&str>| match v {
        Some(v) if v == newest => "current".to_owned(),
        Some(_) => "pending migrations".to_owned(),
        None => "not migrated".to_owned(),
    };
    println!("{:<56} {:<16} state", "database", "version");
    let main = operator.main_version()?;
    println!(
        "{:<56} {:<16} {}",
        "main",
        main.as_deref().unwrap_or("-"),
        state(main.as_deref())
    );
    let mut behind = usize::from(main.as_deref() != Some(newest.as_str()));
    for entry in operator.homes()? {
        match store_version(layout, &entry.home) {
            Ok(v) => {
                behind += usize::from(v.as_deref() != Some(newest.as_str()));
                println!(
                    "{:<56} {:<16} {}",
                    entry.label(),
                    v.as_deref().unwrap_or("-"),
                    state(v.as_deref())
                );
            }
            Err(e) => {
                behind += 1;
                println!("{:<56} {:<16} unreachable: {e:#}", entry.label(), "?");
            }
        }
    }
    println!(
        "this binary's newest migration: {newest}; {behind} database(s) need `tenantry migrate`"
    );
    Ok(())
}

fn print_tenants(
    tenants: &[crate::db::TenantSummary],
    format: Format,
    kind: crate::config::DbKind,
) -> anyhow::Result<()> {
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(tenants)?);
        return Ok(());
    }
    if tenants.is_empty() {
        println!("no tenants yet");
        return Ok(());
    }
    let count = |n: Option<i64>| n.map_or("?".to_owned(), |n| n.to_string());
    println!(
        "{:<24} {:<28} {:<9} {:<10} {:>8} {:>8}  created",
        "slug", "name", "plan", "placement", "members", "leads"
    );
    for t in tenants {
        println!(
            "{:<24} {:<28} {:<9} {:<10} {:>8} {:>8}  {}",
            t.slug,
            t.name,
            t.plan,
            t.placement,
            count(t.members),
            count(t.leads),
            t.created_at.format("%Y-%m-%d %H:%M")
        );
    }
    println!();
    for p in Placement::ALL {
        // SQLite offers no schemas.
        if p != Placement::Schema || kind == crate::config::DbKind::Postgres {
            println!("{:<10} {}", p.as_str(), p.explain());
        }
    }
    Ok(())
}
