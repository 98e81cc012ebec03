//! Bulk writes of leads from a CSV file, after the rows have been parsed.
//!
//! An import is all or nothing, and must not hold the write lock for long: on
//! SQLite there is one writer, and a tenant's 100,000-row file written in one
//! transaction would make every other tenant's writes wait past the busy timeout
//! and fail. So the rows are first *staged* (`import_staging`, invisible as leads)
//! in short transactions of [`STAGE_CHUNK`] rows, then *published* in one short
//! transaction of a few `INSERT ... SELECT` statements that the database runs
//! without a round trip per row. A failure before the publish leaves only staged
//! rows, which are removed (now, or by the next import after [`STALE_STAGING`]).

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::audit::NewAuditEvent;
use super::companies::lock_numbers;
use super::schema::{companies, import_staging, lead_imports, leads};
use super::scope::{TenantScope, TenantTx};
use super::{Db, DbConnection, DbResult, insert_many, now};
use crate::domain::forms::{CompanyInput, LeadInput};
use crate::domain::{
    LeadId, LeadNumber, LeadStatus, Limits, MemberId, OnDuplicate, Quota, QuotaHit, TenantId,
};

/// Refused rows: their line in the file and why.
type Refusals = Vec<(u64, String)>;

/// Rows staged per transaction: a few milliseconds of write lock each.
pub const STAGE_CHUNK: usize = 2_000;
/// Staged rows older than this belong to an import that died; the next import of
/// the tenant removes them.
pub const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(3600);

/// One parsed CSV row whose company and owner are still names.
#[derive(Clone, Debug)]
pub struct ImportRow {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The lead's own fields; `company` and `owner` are ignored.
    pub input: LeadInput,
    /// Company name, or blank.
    pub company_name: String,
    /// Owner's email, lowercase, or blank.
    pub owner_email: String,
    /// Which of the status and value cells were blank (`status`, `value`,
    /// comma-separated): an update keeps the lead's own there.
    pub blank: String,
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportOutcome {
    /// Leads inserted.
    pub imported: usize,
    /// Existing leads updated (`on_duplicate=update`).
    pub updated: usize,
    /// Rows skipped, their email being an existing lead's (`on_duplicate=skip`).
    pub skipped: usize,
    /// The import's id in the history, once committed.
    pub import_id: Option<String>,
    /// A previewed import whose staged rows are gone (committed already, or
    /// older than [`STALE_STAGING`]): nothing was imported.
    pub expired: bool,
    /// Companies created because no company had the row's name.
    pub companies_created: usize,
    /// Rows refused here (unknown owner), with their line and reason.
    pub refused: Vec<(u64, String)>,
    /// A quota the import would have passed: then nothing was imported.
    pub over_quota: Option<QuotaHit>,
}

#[derive(Insertable)]
#[diesel(table_name = import_staging)]
struct StagedRow<'a> {
    tenant_id: &'a TenantId,
    import_id: &'a str,
    seq: i64,
    lead_id: LeadId,
    activity_id: String,
    name: &'a str,
    email: &'a str,
    phone: &'a str,
    company_name: &'a str,
    status: LeadStatus,
    value: i64,
    owner_id: Option<&'a MemberId>,
    source: &'a str,
    staged_at: NaiveDateTime,
    blank: &'a str,
}

/// The publish step's statements. `$1` tenant, `$2` import, `$3` the tenant's
/// highest lead number before, `$4` now. SQLite numbers `$N` parameters by first
/// appearance, not by N, so it gets them as `?N` (see [`for_backend`]). A lead takes the oldest company of its
/// name (the companies were created just before, where missing).
const PUBLISH_LEADS: &str = "INSERT INTO leads (tenant_id, id, number, name, email, phone, \
        company_id, status, value, owner_id, source, created_at, updated_at) \
     SELECT s.tenant_id, s.lead_id, $3 + ROW_NUMBER() OVER (ORDER BY s.seq), s.name, s.email, s.phone, \
        CASE WHEN s.company_name = '' THEN NULL ELSE \
          (SELECT c.id FROM companies c WHERE c.tenant_id = s.tenant_id \
             AND c.name = s.company_name ORDER BY c.number LIMIT 1) END, \
        s.status, s.value, s.owner_id, s.source, $4, $4 \
     FROM import_staging s WHERE s.tenant_id = $1 AND s.import_id = $2 ORDER BY s.seq";
const PUBLISH_CHANGES: &str = "INSERT INTO lead_import_changes (tenant_id, id, import_id, lead_id, \
        kind, before, after_at) \
     SELECT s.tenant_id, s.import_id || ':' || s.lead_id, s.import_id, s.lead_id, 'created', NULL, $3 \
     FROM import_staging s WHERE s.tenant_id = $1 AND s.import_id = $2";
const PUBLISH_ACTIVITY: &str = "INSERT INTO lead_activities (tenant_id, id, lead_id, actor_id, \
        from_status, to_status, created_at) \
     SELECT s.tenant_id, s.activity_id, s.lead_id, NULL, NULL, s.status, $3 \
     FROM import_staging s WHERE s.tenant_id = $1 AND s.import_id = $2";

/// A statement written with PostgreSQL's `$N` parameters, for the connection's
/// backend: SQLite's `?N` means "parameter N" as `$N` does for PostgreSQL.
fn for_backend(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Postgresql(_) => sql.to_owned(),
        DbConnection::Sqlite(_) => sql.replace('$', "?"),
    }
}

impl TenantTx<'_> {
    /// Resolves every row's owner (an active member of this tenant, by email)
    /// without writing anything; the refused rows come back with their line.
    fn resolve_owners(
        &mut self,
        rows: &[ImportRow],
    ) -> QueryResult<Result<Vec<Option<MemberId>>, Refusals>> {
        let members = self.members_by_email()?;
        let mut owners = Vec::with_capacity(rows.len());
        let mut refused = Vec::new();
        for row in rows {
            if row.owner_email.is_empty() {
                owners.push(None);
                continue;
            }
            match members.get(&row.owner_email) {
                Some((id, true)) => owners.push(Some(id.clone())),
                _ => refused.push((
                    row.line,
                    format!(
                        "owner_email: no active member of this workspace has the email {}",
                        row.owner_email
                    ),
                )),
            }
        }
        Ok(if refused.is_empty() {
            Ok(owners)
        } else {
            Err(refused)
        })
    }

    /// Stages rows `first_seq..` of an import.
    fn stage_rows(
        &mut self,
        import_id: &str,
        first_seq: usize,
        rows: &[(ImportRow, Option<MemberId>)],
    ) -> QueryResult<()> {
        let tenant_id = self.scope.tenant_id().clone();
        let at = now();
        let staged: Vec<StagedRow<'_>> = rows
            .iter()
            .enumerate()
            .map(|(i, (row, owner))| StagedRow {
                tenant_id: &tenant_id,
                import_id,
                seq: i64::try_from(first_seq + i).unwrap_or(i64::MAX),
                lead_id: LeadId::generate(),
                activity_id: uuid::Uuid::new_v4().to_string(),
                name: &row.input.name,
                email: &row.input.email,
                phone: &row.input.phone,
                company_name: &row.company_name,
                status: row.input.status,
                value: row.input.value,
                owner_id: owner.as_ref(),
                source: &row.input.source,
                staged_at: at,
                blank: &row.blank,
            })
            .collect();
        // At most STAGE_CHUNK rows: well inside PostgreSQL's 65,535 parameters.
        insert_many!(self.conn, import_staging::table, staged);
        Ok(())
    }

    /// Removes an import's staged rows, and any left by imports that died.
    fn discard_staged(&mut self, import_id: &str) -> QueryResult<()> {
        let stale = chrono::TimeDelta::from_std(STALE_STAGING)
            .ok()
            .and_then(|age| now().checked_sub_signed(age))
            .unwrap_or(NaiveDateTime::MIN);
        diesel::delete(
            self.scope.import_staging().filter(
                import_staging::import_id
                    .eq(import_id)
                    .or(import_staging::staged_at.lt(stale)),
            ),
        )
        .execute(self.conn)?;
        Ok(())
    }

    /// Publishes a staged import: applies `mode` to the rows whose email is an
    /// existing lead's (skips them, or updates those leads), creates the
    /// companies the rest name that do not exist yet, numbers and inserts the
    /// rest with their "created" activity, records it all in the import history,
    /// and drops the staged rows. `None` when nothing is staged under this id.
    fn publish_staged(
        &mut self,
        import_id: &str,
        limits: &Limits,
        mode: OnDuplicate,
        actor: Option<&MemberId>,
    ) -> QueryResult<Option<Result<Published, QuotaHit>>> {
        let tenant_id = self.scope.tenant_id().clone();
        let staged: i64 = self
            .scope
            .import_staging()
            .filter(import_staging::import_id.eq(import_id))
            .count()
            .get_result(self.conn)?;
        if staged == 0 {
            return Ok(None);
        }
        let matched = if mode == OnDuplicate::Create {
            Vec::new()
        } else {
            self.staged_matches(import_id)?
        };
        let mut skipped = 0;
        if mode == OnDuplicate::Skip {
            let seqs: Vec<i64> = matched.iter().map(|(seq, _)| *seq).collect();
            for chunk in seqs.chunks(500) {
                skipped += diesel::delete(
                    self.scope
                        .import_staging()
                        .filter(import_staging::import_id.eq(import_id))
                        .filter(import_staging::seq.eq_any(chunk)),
                )
                .execute(self.conn)?;
            }
        }
        let updates = if mode == OnDuplicate::Update {
            matched.len()
        } else {
            0
        };
        let names: Vec<String> = self
            .scope
            .import_staging()
            .filter(import_staging::import_id.eq(import_id))
            .filter(import_staging::company_name.ne(""))
            .select(import_staging::company_name)
            .distinct()
            .load(self.conn)?;
        let mut existing: HashSet<String> = HashSet::new();
        for chunk in names.chunks(500) {
            let found: Vec<String> = self
                .scope
                .companies()
                .filter(companies::name.eq_any(chunk))
                .select(companies::name)
                .load(self.conn)?;
            existing.extend(found);
        }
        // The quotas, counted in this transaction under the tenant's write lock.
        let new_companies = names.iter().filter(|n| !existing.contains(*n)).count();
        let new_leads = staged - i64::try_from(skipped + updates).unwrap_or(i64::MAX);
        for (quota, wanted) in [
            (Quota::Leads, new_leads),
            (
                Quota::Companies,
                i64::try_from(new_companies).unwrap_or(i64::MAX),
            ),
        ] {
            if let Err(hit) = self.check_quota(limits, quota, wanted)? {
                return Ok(Some(Err(hit)));
            }
        }
        let mut companies_created = 0;
        for name in names.iter().filter(|n| !existing.contains(*n)) {
            self.insert_company(&CompanyInput {
                name: name.clone(),
                domain: String::new(),
            })?;
            companies_created += 1;
        }
        let at = now();
        // The history's entry first: each change below belongs to it.
        diesel::insert_into(lead_imports::table)
            .values((
                lead_imports::tenant_id.eq(&tenant_id),
                lead_imports::id.eq(import_id),
                lead_imports::created_by.eq(actor),
                lead_imports::created_at.eq(at),
                lead_imports::on_duplicate.eq(mode.as_str()),
                lead_imports::created_count.eq(new_leads),
                lead_imports::updated_count.eq(i64::try_from(updates).unwrap_or(i64::MAX)),
                lead_imports::skipped_count.eq(i64::try_from(skipped).unwrap_or(i64::MAX)),
            ))
            .execute(self.conn)?;
        if mode == OnDuplicate::Update {
            self.update_matched(import_id, &matched, actor, at)?;
        }
        lock_numbers(self.conn, &tenant_id, "leads")?;
        let highest: Option<LeadNumber> = self
            .scope
            .leads()
            .select(diesel::dsl::max(leads::number))
            .first(self.conn)?;
        let highest = highest.map_or(0, LeadNumber::get);
        let (leads_query, activity_query, changes_query) = (
            diesel::sql_query(for_backend(self.conn, PUBLISH_LEADS))
                .bind::<Text, _>(tenant_id.as_str())
                .bind::<Text, _>(import_id)
                .bind::<BigInt, _>(highest)
                .bind::<Timestamp, _>(at),
            diesel::sql_query(for_backend(self.conn, PUBLISH_ACTIVITY))
                .bind::<Text, _>(tenant_id.as_str())
                .bind::<Text, _>(import_id)
                .bind::<Timestamp, _>(at),
            diesel::sql_query(for_backend(self.conn, PUBLISH_CHANGES))
                .bind::<Text, _>(tenant_id.as_str())
                .bind::<Text, _>(import_id)
                .bind::<Timestamp, _>(at),
        );
        let imported = match &mut *self.conn {
            DbConnection::Postgresql(c) => {
                let n = leads_query.execute(c)?;
                activity_query.execute(c)?;
                changes_query.execute(c)?;
                n
            }
            DbConnection::Sqlite(c) => {
                let n = leads_query.execute(c)?;
                activity_query.execute(c)?;
                changes_query.execute(c)?;
                n
            }
        };
        diesel::delete(
            self.scope
                .import_staging()
                .filter(import_staging::import_id.eq(import_id)),
        )
        .execute(self.conn)?;
        Ok(Some(Ok(Published {
            imported,
            updated: updates,
            skipped,
            companies_created,
        })))
    }
}

/// What a publish did.
struct Published {
    imported: usize,
    updated: usize,
    skipped: usize,
    companies_created: usize,
}

impl Db {
    /// Imports the rows into `scope`'s tenant at once, all or nothing: if
    /// `refused_before` (the caller refused some rows already) or any row's
    /// owner is not an active member, writes nothing and returns the refusals.
    /// Otherwise stages the rows in short transactions and publishes them in
    /// one (see the module doc), doing `mode` with rows that match a lead.
    pub async fn import_leads(
        &self,
        scope: &TenantScope,
        rows: Vec<ImportRow>,
        refused_before: bool,
        limits: &Limits,
        commit: ImportCommit,
    ) -> DbResult<ImportOutcome> {
        let import_id = match self
            .stage_import(scope, rows, refused_before, limits)
            .await?
        {
            Ok(id) => id,
            Err(outcome) => return Ok(*outcome),
        };
        self.publish_import(scope, &import_id, limits, commit).await
    }

    /// Checks and stages the rows for a preview (or [`Db::import_leads`]):
    /// the import's id, or (nothing staged) the outcome that says why not.
    pub async fn stage_import(
        &self,
        scope: &TenantScope,
        rows: Vec<ImportRow>,
        refused_before: bool,
        limits: &Limits,
    ) -> DbResult<Result<String, Box<ImportOutcome>>> {
        if let Err(hit) = limits.check(
            Quota::ImportRows,
            0,
            i64::try_from(rows.len()).unwrap_or(i64::MAX),
        ) {
            return Ok(Err(Box::new(ImportOutcome {
                over_quota: Some(hit),
                ..ImportOutcome::default()
            })));
        }
        let (rows, owners) = self
            .read(scope, move |tx| {
                let owners = tx.resolve_owners(&rows)?;
                Ok((rows, owners))
            })
            .await?;
        let owners = match owners {
            Err(refused) => {
                return Ok(Err(Box::new(ImportOutcome {
                    refused,
                    ..ImportOutcome::default()
                })));
            }
            Ok(_) if refused_before => return Ok(Err(Box::default())),
            Ok(owners) => owners,
        };
        let import_id = uuid::Uuid::new_v4().to_string();
        let staged: Vec<(ImportRow, Option<MemberId>)> = rows.into_iter().zip(owners).collect();
        let outcome = self.stage_all(scope, &import_id, staged).await;
        if outcome.is_err() {
            self.discard_import(scope, &import_id).await;
        }
        outcome.map(|()| Ok(import_id))
    }

    /// Removes an import's staged rows, saying so in the log if it cannot.
    pub async fn discard_import(&self, scope: &TenantScope, import_id: &str) {
        let id = import_id.to_owned();
        if let Err(e) = self.write(scope, move |tx| tx.discard_staged(&id)).await {
            tracing::warn!(error = %e, "could not remove an import's staged rows");
        }
    }

    async fn stage_all(
        &self,
        scope: &TenantScope,
        import_id: &str,
        rows: Vec<(ImportRow, Option<MemberId>)>,
    ) -> DbResult<()> {
        let id = import_id.to_owned();
        self.write(scope, move |tx| tx.discard_staged(&id)).await?;
        let mut rows = rows;
        let mut first = 0;
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(STAGE_CHUNK));
            let (chunk, id, at) = (rows, import_id.to_owned(), first);
            first += chunk.len();
            self.write(scope, move |tx| tx.stage_rows(&id, at, &chunk))
                .await?;
            rows = rest;
        }
        Ok(())
    }

    /// Publishes a staged import in one transaction (recording it in the audit
    /// log there); an import over a quota publishes nothing and is discarded.
    pub async fn publish_import(
        &self,
        scope: &TenantScope,
        import_id: &str,
        limits: &Limits,
        commit: ImportCommit,
    ) -> DbResult<ImportOutcome> {
        let id = import_id.to_owned();
        let limits = limits.clone();
        let ImportCommit { mode, actor, audit } = commit;
        let published = self
            .write(scope, move |tx| {
                let published = tx.publish_staged(&id, &limits, mode, actor.as_ref())?;
                if let Some(Ok(p)) = &published {
                    // Recorded with what it records: the publish step.
                    tx.record_audit(&audit.detail(format!(
                        "{{\"leads\":{},\"updated\":{},\"skipped\":{},\"companies_created\":{},\"on_duplicate\":\"{}\"}}",
                        p.imported,
                        p.updated,
                        p.skipped,
                        p.companies_created,
                        mode.as_str()
                    )))?;
                }
                Ok(published)
            })
            .await;
        if !matches!(&published, Ok(Some(Ok(_)))) {
            self.discard_import(scope, import_id).await;
        }
        Ok(match published? {
            Some(Ok(p)) => ImportOutcome {
                imported: p.imported,
                updated: p.updated,
                skipped: p.skipped,
                companies_created: p.companies_created,
                import_id: Some(import_id.to_owned()),
                ..ImportOutcome::default()
            },
            Some(Err(hit)) => ImportOutcome {
                over_quota: Some(hit),
                ..ImportOutcome::default()
            },
            None => ImportOutcome {
                expired: true,
                ..ImportOutcome::default()
            },
        })
    }
}

/// How an import is committed: what it does with duplicates, who does it, and
/// its audit event.
pub struct ImportCommit {
    /// What to do with a row whose email is an existing lead's.
    pub mode: OnDuplicate,
    /// The member importing.
    pub actor: Option<MemberId>,
    /// The audit event, completed with the counts when published.
    pub audit: NewAuditEvent,
}
