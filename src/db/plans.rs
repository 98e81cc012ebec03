//! Plans, per-tenant overrides, quotas counted inside the writing transaction,
//! and usage metering.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::{plans, tenant_usage, tenants};
use super::scope::TenantTx;
use super::{DbConnection, OperatorDb, PlatformTx, QueryResult};
use crate::domain::{Limits, Quota, QuotaHit, TenantId};

/// How long a day's usage is kept.
pub const USAGE_KEPT_DAYS: i64 = 90;

/// The plan every tenant falls back to when its own is not in `plans`.
pub const FALLBACK_PLAN: &str = "free";

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = plans, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Plan {
    /// Its name.
    pub name: String,
    /// How pages name it.
    pub title: String,
    requests_per_minute: i32,
    max_members: i32,
    max_leads: i32,
    max_companies: i32,
    max_import_rows: i32,
    max_mails_per_day: i32,
}

/// A tenant's own limits, where they differ from its plan's (`None`: the plan's),
/// kept as a JSON object in `tenants.limits`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overrides {
    /// Requests per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<i32>,
    /// Members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i32>,
    /// Leads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leads: Option<i32>,
    /// Companies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub companies: Option<i32>,
    /// Rows per import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_rows: Option<i32>,
    /// Mails per day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mails_per_day: Option<i32>,
}

impl Overrides {
    /// Whether no limit is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Reads the stored column; a value that does not parse counts as none (and
    /// is logged), so that a bad edit by hand never locks a tenant out.
    pub fn from_stored(stored: Option<&str>) -> Self {
        match stored.map(serde_json::from_str::<Self>) {
            None => Self::default(),
            Some(Ok(o)) => o,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a tenant's `limits` column does not parse; using its plan's");
                Self::default()
            }
        }
    }

    /// The stored column: `None` when nothing is overridden.
    pub fn to_stored(&self) -> Option<String> {
        if self.is_empty() {
            None
        } else {
            serde_json::to_string(self).ok()
        }
    }
}

fn positive(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// The limits of `plan` with `overrides` applied; `None` when `plan` is unknown.
pub fn effective(plan: &Plan, overrides: &Overrides) -> Limits {
    let pick = |o: Option<i32>, p: i32| positive(o.unwrap_or(p));
    Limits {
        plan: plan.name.clone(),
        plan_title: plan.title.clone(),
        requests_per_minute: pick(overrides.requests_per_minute, plan.requests_per_minute).max(1),
        members: pick(overrides.members, plan.max_members),
        leads: pick(overrides.leads, plan.max_leads),
        companies: pick(overrides.companies, plan.max_companies),
        import_rows: pick(overrides.import_rows, plan.max_import_rows),
        mails_per_day: pick(overrides.mails_per_day, plan.max_mails_per_day),
    }
}

/// The plan named `name`, or the fallback plan when there is no such plan.
pub(super) fn plan_or_fallback(conn: &mut DbConnection, name: &str) -> QueryResult<Plan> {
    if let Some(plan) = find_plan(conn, name)? {
        return Ok(plan);
    }
    tracing::warn!(
        plan = name,
        "a tenant's plan is not in `plans`; using the free plan's limits"
    );
    find_plan(conn, FALLBACK_PLAN)?.ok_or(diesel::result::Error::NotFound)
}

fn find_plan(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Plan>> {
    plans::table
        .find(name)
        .select(Plan::as_select())
        .first(conn)
        .optional()
}

/// A tenant's limits from its directory row.
pub(super) fn limits_of(
    conn: &mut DbConnection,
    tenant: &TenantId,
    plan: &str,
) -> QueryResult<Limits> {
    let stored: Option<String> = tenants::table
        .find(tenant)
        .select(tenants::limits)
        .first(conn)?;
    let overrides = Overrides::from_stored(stored.as_deref());
    Ok(effective(&plan_or_fallback(conn, plan)?, &overrides))
}

impl PlatformTx<'_> {
    /// Whether a plan of this name exists (start-up checks `NEW_TENANT_PLAN`).
    pub fn plan_exists(&mut self, name: &str) -> QueryResult<bool> {
        Ok(find_plan(self.conn, name)?.is_some())
    }
}

/// The start of today, UTC.
fn today_start() -> chrono::NaiveDateTime {
    crate::db::now().date().and_time(chrono::NaiveTime::MIN)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl TenantTx<'_> {
    /// How many of `quota` the tenant uses now (import rows: none, it is per import).
    pub fn quota_used(&mut self, quota: Quota) -> QueryResult<i64> {
        match quota {
            Quota::Members => {
                use super::schema::users;
                self.scope
                    .users()
                    .filter(users::active.eq(true))
                    .count()
                    .get_result(self.conn)
            }
            Quota::Leads => Ok(self.lead_counts()?.iter().map(|(_, n, _)| n).sum()),
            Quota::Companies => self.scope.companies().count().get_result(self.conn),
            Quota::ImportRows => Ok(0),
            Quota::MailsPerDay => {
                use super::schema::outbox;
                self.scope
                    .outbox()
                    .filter(outbox::created_at.ge(today_start()))
                    .count()
                    .get_result(self.conn)
            }
        }
    }

    /// Refuses `wanted` more of `quota` past the tenant's limit. Call it inside the
    /// writing transaction, before the write: writes of a tenant are serialised, so
    /// two requests cannot both take the last free slot.
    pub fn check_quota(
        &mut self,
        limits: &Limits,
        quota: Quota,
        wanted: i64,
    ) -> QueryResult<Result<(), QuotaHit>> {
        if wanted <= 0 {
            return Ok(Ok(()));
        }
        let used = self.quota_used(quota)?;
        Ok(limits.check(quota, used, wanted))
    }

    /// The sizes usage records: members, leads, companies, and an estimate of the
    /// bytes the tenant's rows take (their text plus a fixed overhead per row).
    pub fn usage_sizes(&mut self) -> QueryResult<Sizes> {
        let members = self.quota_used(Quota::Members)?;
        let leads = self.quota_used(Quota::Leads)?;
        let companies = self.quota_used(Quota::Companies)?;
        let tenant = self.scope.tenant_id().as_str().to_owned();
        let length = match self.conn {
            DbConnection::Postgresql(_) => "octet_length",
            DbConnection::Sqlite(_) => "length",
        };
        // Text is what grows; each row also costs its keys, numbers and index entries.
        let sql = format!(
            "SELECT (SELECT COALESCE(SUM({length}(name) + {length}(email) + {length}(phone) + {length}(source) + {ROW_BYTES}), 0) FROM leads WHERE tenant_id = $1) \
             + (SELECT COALESCE(SUM({length}(name) + COALESCE({length}(domain), 0) + {ROW_BYTES}), 0) FROM companies WHERE tenant_id = $1) \
             + (SELECT COALESCE(SUM({length}(body) + {ROW_BYTES}), 0) FROM notes WHERE tenant_id = $1) \
             + (SELECT COALESCE(SUM(COALESCE({length}(detail), 0) + {ROW_BYTES}), 0) FROM lead_activities WHERE tenant_id = $1) \
             + (SELECT COALESCE(SUM({length}(title) + {ROW_BYTES}), 0) FROM tasks WHERE tenant_id = $1) AS n"
        );
        let query = diesel::sql_query(sql).bind::<Text, _>(tenant);
        let bytes = match &mut *self.conn {
            DbConnection::Postgresql(c) => query.get_result::<Count>(c)?.n,
            DbConnection::Sqlite(c) => query.get_result::<Count>(c)?.n,
        };
        let mails_today = {
            use super::schema::outbox;
            self.scope
                .outbox()
                .filter(outbox::sent_at.ge(today_start()))
                .count()
                .get_result(self.conn)?
        };
        Ok(Sizes {
            members,
            leads,
            companies,
            stored_bytes: bytes,
            mails_today,
        })
    }
}

/// Bytes counted per stored row besides its text (keys, numbers, index entries).
const ROW_BYTES: i64 = 96;

/// What a tenant stores, as usage records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// Members.
    pub members: i64,
    /// Leads.
    pub leads: i64,
    /// Companies.
    pub companies: i64,
    /// Estimated bytes of its rows.
    pub stored_bytes: i64,
    /// Mails sent today (UTC).
    pub mails_today: i64,
}

/// One tenant's usage of one day.
#[derive(Queryable, Selectable, Clone, Debug, serde::Serialize)]
#[diesel(table_name = tenant_usage, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct UsageDay {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Requests on its host.
    pub requests: i64,
    /// Mails sent.
    pub mails_sent: i64,
    /// Members at the day's last snapshot.
    pub members: Option<i64>,
    /// Leads at the day's last snapshot.
    pub leads: Option<i64>,
    /// Companies at the day's last snapshot.
    pub companies: Option<i64>,
    /// Estimated stored bytes at the day's last snapshot.
    pub stored_bytes: Option<i64>,
}

/// Counts to add to a tenant's usage of today.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageDelta {
    /// Requests.
    pub requests: i64,
}

/// Adds `delta` (and the latest `sizes`, if measured) to `tenant`'s row of `day`
/// in the main database, and forgets its days older than [`USAGE_KEPT_DAYS`].
/// Runs inside the tenant (row-level security) in the caller's transaction.
pub(super) fn add_usage(
    conn: &mut DbConnection,
    tenant: &TenantId,
    day: NaiveDate,
    delta: UsageDelta,
    sizes: Option<Sizes>,
) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
            .bind::<Text, _>(tenant.as_str())
            .execute(pg)?;
    }
    let row = (
        tenant_usage::tenant_id.eq(tenant),
        tenant_usage::day.eq(day),
        tenant_usage::requests.eq(delta.requests),
        tenant_usage::mails_sent.eq(sizes.map_or(0, |s| s.mails_today)),
        tenant_usage::members.eq(sizes.map(|s| s.members)),
        tenant_usage::leads.eq(sizes.map(|s| s.leads)),
        tenant_usage::companies.eq(sizes.map(|s| s.companies)),
        tenant_usage::stored_bytes.eq(sizes.map(|s| s.stored_bytes)),
    );
    let update = tenant_usage::requests.eq(tenant_usage::requests + delta.requests);
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::insert_into(tenant_usage::table)
                .values(row)
                .on_conflict((tenant_usage::tenant_id, tenant_usage::day))
                .do_update()
                .set(update)
                .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            diesel::insert_into(tenant_usage::table)
                .values(row)
                .on_conflict((tenant_usage::tenant_id, tenant_usage::day))
                .do_update()
                .set(update)
                .execute(c)?;
        }
    }
    if let Some(sizes) = sizes {
        diesel::update(
            tenant_usage::table
                .filter(tenant_usage::tenant_id.eq(tenant))
                .filter(tenant_usage::day.eq(day)),
        )
        .set((
            tenant_usage::mails_sent.eq(sizes.mails_today),
            tenant_usage::members.eq(sizes.members),
            tenant_usage::leads.eq(sizes.leads),
            tenant_usage::companies.eq(sizes.companies),
            tenant_usage::stored_bytes.eq(sizes.stored_bytes),
        ))
        .execute(conn)?;
    }
    let oldest = day - chrono::Days::new(USAGE_KEPT_DAYS as u64);
    diesel::delete(
        tenant_usage::table
            .filter(tenant_usage::tenant_id.eq(tenant))
            .filter(tenant_usage::day.lt(oldest)),
    )
    .execute(conn)?;
    Ok(())
}

/// A tenant's recorded days, newest first.
pub(super) fn usage_days(conn: &mut DbConnection, tenant: &TenantId) -> QueryResult<Vec<UsageDay>> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
            .bind::<Text, _>(tenant.as_str())
            .execute(pg)?;
    }
    tenant_usage::table
        .filter(tenant_usage::tenant_id.eq(tenant))
        .order(tenant_usage::day.desc())
        .select(UsageDay::as_select())
        .load(conn)
}

impl OperatorDb {
    /// Sets a tenant's plan; `false` when there is no such plan.
    pub fn set_plan(&mut self, tenant: &TenantId, plan: &str) -> anyhow::Result<bool> {
        if find_plan(&mut self.conn, plan)?.is_none() {
            return Ok(false);
        }
        diesel::update(tenants::table.find(tenant))
            .set((
                tenants::plan.eq(plan),
                tenants::updated_at.eq(crate::db::now()),
            ))
            .execute(&mut self.conn)?;
        Ok(true)
    }

    /// Every plan, by name.
    pub fn plans(&mut self) -> anyhow::Result<Vec<Plan>> {
        Ok(plans::table
            .order(plans::requests_per_minute)
            .select(Plan::as_select())
            .load(&mut self.conn)?)
    }

    /// Replaces a tenant's overrides.
    pub fn set_overrides(&mut self, tenant: &TenantId, o: &Overrides) -> anyhow::Result<()> {
        diesel::update(tenants::table.find(tenant))
            .set((
                tenants::limits.eq(o.to_stored()),
                tenants::updated_at.eq(crate::db::now()),
            ))
            .execute(&mut self.conn)?;
        Ok(())
    }

    /// A tenant's overrides and effective limits.
    pub fn limits(&mut self, tenant: &TenantId) -> anyhow::Result<(Overrides, Limits)> {
        let (plan, stored): (String, Option<String>) = tenants::table
            .find(tenant)
            .select((tenants::plan, tenants::limits))
            .first(&mut self.conn)?;
        let overrides = Overrides::from_stored(stored.as_deref());
        let plan = plan_or_fallback(&mut self.conn, &plan)?;
        let limits = effective(&plan, &overrides);
        Ok((overrides, limits))
    }

    /// A tenant's recorded usage days, newest first.
    pub fn usage_days(&mut self, tenant: &TenantId) -> anyhow::Result<Vec<UsageDay>> {
        let conn = &mut self.conn;
        Ok(super::in_transaction(conn, super::TxMode::Read, |conn| {
            usage_days(conn, tenant)
        })?)
    }
}

impl super::Db {
    /// Adds `delta` (and `sizes`, when measured) to the tenant's usage of today,
    /// in one transaction on the main database.
    pub async fn add_usage(
        &self,
        tenant: TenantId,
        delta: UsageDelta,
        sizes: Option<Sizes>,
    ) -> super::DbResult<()> {
        let day = crate::db::now().date();
        self.with_conn(move |conn| {
            super::in_transaction(conn, super::TxMode::Write, |conn| {
                add_usage(conn, &tenant, day, delta, sizes)
            })
        })
        .await
    }

    /// A tenant's recorded usage days, newest first (the usage page).
    pub async fn usage_days(&self, tenant: TenantId) -> super::DbResult<Vec<UsageDay>> {
        self.with_conn(move |conn| {
            super::in_transaction(conn, super::TxMode::Read, |conn| usage_days(conn, &tenant))
        })
        .await
    }
}

/// One tenant's usage against its limits, for `tenants usage`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TenantUsage {
    /// Subdomain.
    pub slug: String,
    /// Plan name.
    pub plan: String,
    /// Its own overrides.
    pub overrides: Overrides,
    /// Effective limits.
    #[serde(serialize_with = "limits_json")]
    pub limits: Limits,
    /// What it stores now (`None` when its store could not be read).
    pub now: Option<Sizes>,
    /// Requests recorded today (the server adds them every `USAGE_FLUSH_SECS`).
    pub requests_today: i64,
    /// Recorded days, newest first (at most 90).
    pub days: Vec<UsageDay>,
}

fn limits_json<S: serde::Serializer>(l: &Limits, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(6))?;
    map.serialize_entry("requests_per_minute", &l.requests_per_minute)?;
    for quota in Quota::ALL {
        map.serialize_entry(quota.as_str(), &l.of(quota))?;
    }
    map.end()
}

impl OperatorDb {
    /// Usage of the tenant at `slug`, or of every tenant, by slug.
    pub fn usage(&mut self, slug: Option<&str>) -> anyhow::Result<Vec<TenantUsage>> {
        let mut query = tenants::table
            .order(tenants::slug.asc())
            .select((tenants::id, tenants::slug, tenants::plan))
            .into_boxed();
        if let Some(slug) = slug {
            query = query.filter(tenants::slug.eq(slug.to_owned()));
        }
        let rows: Vec<(TenantId, String, String)> = query.load(&mut self.conn)?;
        let today = crate::db::now().date();
        let mut out = Vec::with_capacity(rows.len());
        for (id, slug, plan) in rows {
            let (overrides, limits) = self.limits(&id)?;
            let now = self.sizes(&slug).ok();
            let mut days = self.usage_days(&id)?;
            // Today is not over: its sizes are what the tenant stores now, not
            // the server's last snapshot (taken at most every ten minutes).
            if let (Some(sizes), Some(day)) = (now, days.iter_mut().find(|d| d.day == today)) {
                day.members = Some(sizes.members);
                day.leads = Some(sizes.leads);
                day.companies = Some(sizes.companies);
                day.stored_bytes = Some(sizes.stored_bytes);
            }
            let requests_today = days
                .iter()
                .find(|d| d.day == today)
                .map_or(0, |d| d.requests);
            out.push(TenantUsage {
                slug,
                plan,
                overrides,
                limits,
                now,
                requests_today,
                days,
            });
        }
        Ok(out)
    }

    /// What the tenant at `slug` stores now, read inside it where it lives.
    fn sizes(&mut self, slug: &str) -> anyhow::Result<Sizes> {
        let (id, home) = self
            .find_tenant(slug)?
            .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))?;
        let scope = super::TenantScope::new(id, home.clone());
        let read = |conn: &mut DbConnection| {
            super::in_transaction(conn, super::TxMode::Read, |conn| {
                let mut tx = TenantTx::enter(conn, &scope)?;
                tx.usage_sizes()
            })
        };
        if home.is_main() {
            Ok(read(&mut self.conn)?)
        } else {
            let mut conn = super::stores::connect_home(&self.layout, &home, true)?;
            Ok(read(&mut conn)?)
        }
    }
}
