//! `tenantry tenants plan`, `tenants limits` and `tenants usage`.

use crate::db::OperatorDb;
use crate::db::plans::{Overrides, TenantUsage};
use crate::db::stores::StoreLayout;
use crate::domain::{AuditAction, Limits, Quota, TenantId, group_thousands};

/// How usage is printed.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum UsageFormat {
    /// Aligned columns for a terminal: each tenant's use against its limits now.
    #[default]
    Table,
    /// One JSON array: limits, overrides, use now and every recorded day.
    Json,
    /// One row per tenant and recorded day, for billing.
    Csv,
}

/// New values for a tenant's overrides (`None`: leave as it is).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LimitFlags {
    /// Requests per minute on the tenant's host.
    #[arg(long)]
    pub requests_per_minute: Option<u32>,
    /// Active members.
    #[arg(long)]
    pub max_members: Option<u32>,
    /// Leads.
    #[arg(long)]
    pub max_leads: Option<u32>,
    /// Companies.
    #[arg(long)]
    pub max_companies: Option<u32>,
    /// Rows in one CSV import.
    #[arg(long)]
    pub max_import_rows: Option<u32>,
    /// Mails queued per day.
    #[arg(long)]
    pub max_mails_per_day: Option<u32>,
    /// Remove every override first: the plan's limits again.
    #[arg(long)]
    pub clear: bool,
}

fn tenant_id(db: &mut OperatorDb, slug: &str) -> anyhow::Result<TenantId> {
    db.find_tenant(slug)?
        .map(|(id, _)| id)
        .ok_or_else(|| anyhow::anyhow!("no tenant has the subdomain `{slug}`"))
}

fn to_i32(n: u32, flag: &str) -> anyhow::Result<i32> {
    i32::try_from(n).map_err(|_| anyhow::anyhow!("--{flag} is too large (at most {})", i32::MAX))
}

/// `tenantry tenants plan SLUG PLAN`.
pub fn set_plan(layout: &StoreLayout, slug: &str, plan: &str) -> anyhow::Result<()> {
    crate::db::run_migrations(layout.main_owner_url())?;
    let mut db = OperatorDb::connect(layout)?;
    let id = tenant_id(&mut db, slug)?;
    let (_, before) = db.limits(&id)?;
    if !db.set_plan(&id, plan)? {
        let names: Vec<String> = db.plans()?.into_iter().map(|p| p.name).collect();
        anyhow::bail!("no plan `{plan}`; the plans are: {}", names.join(", "));
    }
    let (_, after) = db.limits(&id)?;
    let detail = serde_json::json!({ "from": before.plan, "to": after.plan }).to_string();
    db.record_tenant_operation(slug, AuditAction::TenantPlanChanged, Some(detail))?;
    println!("`{slug}`: plan {} -> {}", before.plan, after.plan);
    print_limits(&after);
    println!("servers apply it within TENANT_CACHE_TTL_SECS");
    Ok(())
}

/// `tenantry tenants limits SLUG [flags]`: without flags, prints the limits.
pub fn set_limits(layout: &StoreLayout, slug: &str, flags: &LimitFlags) -> anyhow::Result<()> {
    crate::db::run_migrations(layout.main_owner_url())?;
    let mut db = OperatorDb::connect(layout)?;
    let id = tenant_id(&mut db, slug)?;
    let (current, _) = db.limits(&id)?;
    let mut next = if flags.clear {
        Overrides::default()
    } else {
        current.clone()
    };
    if let Some(n) = flags.requests_per_minute {
        if n == 0 {
            anyhow::bail!("--requests-per-minute must be at least 1");
        }
        next.requests_per_minute = Some(to_i32(n, "requests-per-minute")?);
    }
    if let Some(n) = flags.max_members {
        if n == 0 {
            anyhow::bail!("--max-members must be at least 1: a workspace has its admin");
        }
        next.members = Some(to_i32(n, "max-members")?);
    }
    if let Some(n) = flags.max_leads {
        next.leads = Some(to_i32(n, "max-leads")?);
    }
    if let Some(n) = flags.max_companies {
        next.companies = Some(to_i32(n, "max-companies")?);
    }
    if let Some(n) = flags.max_import_rows {
        next.import_rows = Some(to_i32(n, "max-import-rows")?);
    }
    if let Some(n) = flags.max_mails_per_day {
        next.mails_per_day = Some(to_i32(n, "max-mails-per-day")?);
    }
    if next != current {
        db.set_overrides(&id, &next)?;
        let detail = next.to_stored().unwrap_or_else(|| "{}".to_owned());
        db.record_tenant_operation(slug, AuditAction::TenantLimitsChanged, Some(detail))?;
    }
    let (overrides, limits) = db.limits(&id)?;
    if next == current {
        println!("`{slug}`: nothing changed (plan {})", limits.plan);
    } else {
        println!(
            "`{slug}`: overrides {} (plan {})",
            overrides
                .to_stored()
                .unwrap_or_else(|| "cleared".to_owned()),
            limits.plan
        );
    }
    print_limits(&limits);
    if next != current {
        println!("servers apply it within TENANT_CACHE_TTL_SECS");
    }
    Ok(())
}

fn print_limits(limits: &Limits) {
    println!(
        "  requests per minute: {}",
        group_thousands(u64::from(limits.requests_per_minute))
    );
    for quota in Quota::ALL {
        println!(
            "  {}: {}",
            quota.noun(),
            group_thousands(u64::from(limits.of(quota)))
        );
    }
}

/// `tenantry tenants usage [SLUG] [--format ...]`.
pub fn print_usage(
    layout: &StoreLayout,
    slug: Option<&str>,
    format: UsageFormat,
) -> anyhow::Result<()> {
    crate::db::run_migrations(layout.main_owner_url())?;
    let mut db = OperatorDb::connect(layout)?;
    let usage = db.usage(slug)?;
    if let (Some(slug), true) = (slug, usage.is_empty()) {
        anyhow::bail!("no tenant has the subdomain `{slug}`");
    }
    match format {
        UsageFormat::Json => println!("{}", serde_json::to_string_pretty(&usage)?),
        UsageFormat::Csv => print_csv(&usage)?,
        UsageFormat::Table => print_table(&usage),
    }
    Ok(())
}

fn used_of(used: Option<i64>, limit: u32) -> String {
    match used {
        Some(n) => format!("{n}/{limit}"),
        None => format!("?/{limit}"),
    }
}

fn print_table(usage: &[TenantUsage]) {
    let header = [
        "SLUG",
        "PLAN",
        "REQ/MIN",
        "REQ TODAY",
        "MEMBERS",
        "LEADS",
        "COMPANIES",
        "MAILS TODAY",
        "STORED",
    ];
    let rows: Vec<[String; 9]> = usage
        .iter()
        .map(|u| {
            let now = u.now;
            [
                u.slug.clone(),
                u.plan.clone(),
                u.limits.requests_per_minute.to_string(),
                u.requests_today.to_string(),
                used_of(now.map(|s| s.members), u.limits.members),
                used_of(now.map(|s| s.leads), u.limits.leads),
                used_of(now.map(|s| s.companies), u.limits.companies),
                used_of(now.map(|s| s.mails_today), u.limits.mails_per_day),
                now.map_or_else(|| "?".to_owned(), |s| human_bytes(s.stored_bytes)),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(header.to_vec()));
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}

fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    }
}

fn print_csv(usage: &[TenantUsage]) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    out.write_record([
        "day",
        "slug",
        "plan",
        "requests",
        "mails_sent",
        "members",
        "leads",
        "companies",
        "stored_bytes",
    ])?;
    let cell = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    for u in usage {
        for d in u.days.iter().rev() {
            out.write_record([
                d.day.to_string(),
                u.slug.clone(),
                u.plan.clone(),
                d.requests.to_string(),
                d.mails_sent.to_string(),
                cell(d.members),
                cell(d.leads),
                cell(d.companies),
                cell(d.stored_bytes),
            ])?;
        }
    }
    out.flush()?;
    Ok(())
}
