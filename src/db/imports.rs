//! What CSV imports did and how to take one back: matching rows to existing
//! leads by email (for the preview and for `on_duplicate`), updating matched
//! leads with their earlier fields kept, the history at `/leads/imports`, and
//! undo, which deletes what an import created and restores what it updated,
//! unless any of those leads changed since.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::import::ImportRow;
use super::leads::Lead;
use super::now;
use super::schema::{companies, import_staging, lead_import_changes, lead_imports, leads};
use super::scope::TenantTx;
use crate::domain::{
    ActivityKind, CompanyId, LeadId, LeadNumber, LeadStatus, MemberId, OnDuplicate,
};

/// Emails (or ids) per `IN (...)` list.
const CHUNK: usize = 500;
/// Rows of a file the preview shows one by one (all are counted).
pub const PREVIEW_ROWS: usize = 50;
/// Imports the history lists.
pub const HISTORY_ROWS: i64 = 100;
/// Changed leads an undo refusal names (all are counted).
const CHANGED_NAMED: usize = 20;

/// What an import will do with one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAction {
    /// A new lead.
    New,
    /// An update of the existing lead.
    Update,
    /// Nothing: the email is an existing lead's.
    Skip,
}

impl RowAction {
    /// As the preview says it.
    pub fn as_str(self) -> &'static str {
        match self {
            RowAction::New => "new",
            RowAction::Update => "update",
            RowAction::Skip => "skip",
        }
    }
}

/// One row of a preview.
#[derive(Clone, Debug)]
pub struct PreviewRow {
    /// Its line in the file.
    pub line: u64,
    /// The name it gives.
    pub name: String,
    /// Its email.
    pub email: String,
    /// What the import will do with it.
    pub action: RowAction,
    /// The existing lead its email matched.
    pub lead: Option<(LeadNumber, String)>,
}

/// What an import will do, before it commits.
#[derive(Clone, Debug, Default)]
pub struct ImportPreview {
    /// Leads it will create.
    pub new: usize,
    /// Existing leads it will update.
    pub updated: usize,
    /// Rows it will skip.
    pub skipped: usize,
    /// The first [`PREVIEW_ROWS`] rows.
    pub rows: Vec<PreviewRow>,
}

/// An import in the history.
#[derive(Clone, Debug)]
pub struct ImportEntry {
    /// Its id (in the undo's URL).
    pub id: String,
    /// When it was committed.
    pub created_at: NaiveDateTime,
    /// Who imported, if still a member.
    pub by: Option<String>,
    /// What it did with duplicates.
    pub mode: OnDuplicate,
    /// Leads created, updated, and rows skipped.
    pub created: i64,
    /// Leads updated.
    pub updated: i64,
    /// Rows skipped.
    pub skipped: i64,
    /// When it was undone, if it was.
    pub undone_at: Option<NaiveDateTime>,
}

/// What an undo did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UndoOutcome {
    /// Created leads deleted.
    pub deleted: usize,
    /// Updated leads given their earlier fields back.
    pub restored: usize,
}

/// Why an undo was refused (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UndoRefusal {
    /// It was undone already.
    AlreadyUndone,
    /// Leads it created or updated changed since, or were deleted.
    ChangedSince {
        /// The first few changed ones still there.
        changed: Vec<(LeadNumber, String)>,
        /// How many changed, in all.
        total: usize,
        /// How many of them were deleted.
        deleted: usize,
    },
}

/// An updated lead's fields before the import, as its change row keeps them.
#[derive(Debug, Serialize, Deserialize)]
struct LeadBefore {
    name: String,
    phone: String,
    company_id: Option<String>,
    status: String,
    value: i64,
    owner_id: Option<String>,
    source: String,
    updated_at: NaiveDateTime,
}

/// A staged row as an update reads it.
type StagedFields = (
    i64,
    String,
    String,
    String,
    LeadStatus,
    i64,
    Option<MemberId>,
    String,
    String,
);

impl TenantTx<'_> {
    /// The lead each email is (the oldest, when several have it); blank emails
    /// match nothing.
    pub(super) fn match_emails(&mut self, emails: &[&str]) -> QueryResult<HashMap<String, Lead>> {
        let mut wanted: Vec<&str> = emails.iter().copied().filter(|e| !e.is_empty()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found: HashMap<String, Lead> = HashMap::new();
        for chunk in wanted.chunks(CHUNK) {
            let leads: Vec<Lead> = self
                .scope
                .leads()
                .filter(leads::email.eq_any(chunk))
                .order(leads::number.asc())
                .select(Lead::as_select())
                .load(self.conn)?;
            for lead in leads {
                found.entry(lead.email.clone()).or_insert(lead);
            }
        }
        Ok(found)
    }

    /// What importing `rows` with `mode` would do now.
    pub fn preview_import(
        &mut self,
        rows: &[ImportRow],
        mode: OnDuplicate,
    ) -> QueryResult<ImportPreview> {
        let emails: Vec<&str> = rows.iter().map(|r| r.input.email.as_str()).collect();
        let matches = if mode == OnDuplicate::Create {
            HashMap::new()
        } else {
            self.match_emails(&emails)?
        };
        let mut preview = ImportPreview::default();
        for row in rows {
            let lead = matches.get(&row.input.email);
            let action = match (lead, mode) {
                (None, _) | (Some(_), OnDuplicate::Create) => RowAction::New,
                (Some(_), OnDuplicate::Update) => RowAction::Update,
                (Some(_), OnDuplicate::Skip) => RowAction::Skip,
            };
            match action {
                RowAction::New => preview.new += 1,
                RowAction::Update => preview.updated += 1,
                RowAction::Skip => preview.skipped += 1,
            }
            if preview.rows.len() < PREVIEW_ROWS {
                preview.rows.push(PreviewRow {
                    line: row.line,
                    name: row.input.name.clone(),
                    email: row.input.email.clone(),
                    action,
                    lead: lead.map(|l| (l.number, l.name.clone())),
                });
            }
        }
        Ok(preview)
    }

    /// The staged rows of an import whose email is an existing lead's, with
    /// that lead, in file order.
    pub(super) fn staged_matches(&mut self, import_id: &str) -> QueryResult<Vec<(i64, Lead)>> {
        let staged: Vec<(i64, String)> = self
            .scope
            .import_staging()
            .filter(import_staging::import_id.eq(import_id))
            .filter(import_staging::email.ne(""))
            .order(import_staging::seq.asc())
            .select((import_staging::seq, import_staging::email))
            .load(self.conn)?;
        let emails: Vec<&str> = staged.iter().map(|(_, e)| e.as_str()).collect();
        let leads = self.match_emails(&emails)?;
        Ok(staged
            .iter()
            .filter_map(|(seq, email)| leads.get(email).map(|l| (*seq, l.clone())))
            .collect())
    }

    /// Updates each matched lead from its staged row (blank cells keep the
    /// lead's own), keeping its fields before for an undo, and removes those
    /// rows from the staging. A lead two rows match gets both, in file order.
    pub(super) fn update_matched(
        &mut self,
        import_id: &str,
        matched: &[(i64, Lead)],
        actor: Option<&MemberId>,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        let tenant_id = self.scope.tenant_id().clone();
        let mut current: HashMap<LeadId, Lead> = HashMap::new();
        let mut recorded: HashSet<LeadId> = HashSet::new();
        for chunk in matched.chunks(CHUNK) {
            let seqs: Vec<i64> = chunk.iter().map(|(s, _)| *s).collect();
            let rows: Vec<StagedFields> = self
                .scope
                .import_staging()
                .filter(import_staging::import_id.eq(import_id))
                .filter(import_staging::seq.eq_any(&seqs))
                .select((
                    import_staging::seq,
                    import_staging::name,
                    import_staging::phone,
                    import_staging::company_name,
                    import_staging::status,
                    import_staging::value,
                    import_staging::owner_id,
                    import_staging::source,
                    import_staging::blank,
                ))
                .load(self.conn)?;
            let rows: HashMap<i64, StagedFields> = rows.into_iter().map(|r| (r.0, r)).collect();
            let names: Vec<&str> = rows
                .values()
                .map(|r| r.3.as_str())
                .filter(|n| !n.is_empty())
                .collect();
            let companies = self.companies_named(&names)?;
            for (seq, matched_lead) in chunk {
                let Some((_, name, phone, company, status, value, owner, source, blank)) =
                    rows.get(seq)
                else {
                    continue;
                };
                let lead = current
                    .get(&matched_lead.id)
                    .cloned()
                    .unwrap_or_else(|| matched_lead.clone());
                let keep = |field: &str| blank.split(',').any(|b| b == field);
                let next = Lead {
                    name: name.clone(),
                    phone: if phone.is_empty() {
                        lead.phone.clone()
                    } else {
                        phone.clone()
                    },
                    company_id: if company.is_empty() {
                        lead.company_id.clone()
                    } else {
                        companies
                            .get(company.as_str())
                            .cloned()
                            .or(lead.company_id.clone())
                    },
                    status: if keep("status") { lead.status } else { *status },
                    value: if keep("value") { lead.value } else { *value },
                    owner_id: owner.clone().or(lead.owner_id.clone()),
                    source: if source.is_empty() {
                        lead.source.clone()
                    } else {
                        source.clone()
                    },
                    updated_at: at,
                    ..lead.clone()
                };
                diesel::update(self.scope.leads().filter(leads::id.eq(&lead.id)))
                    .set((
                        leads::name.eq(&next.name),
                        leads::phone.eq(&next.phone),
                        leads::company_id.eq(next.company_id.as_ref()),
                        leads::status.eq(next.status),
                        leads::value.eq(next.value),
                        leads::owner_id.eq(next.owner_id.as_ref()),
                        leads::source.eq(&next.source),
                        leads::updated_at.eq(at),
                    ))
                    .execute(self.conn)?;
                if recorded.insert(lead.id.clone()) {
                    let before = LeadBefore {
                        name: lead.name.clone(),
                        phone: lead.phone.clone(),
                        company_id: lead.company_id.as_ref().map(|c| c.as_str().to_owned()),
                        status: lead.status.as_str().to_owned(),
                        value: lead.value,
                        owner_id: lead.owner_id.as_ref().map(|o| o.as_str().to_owned()),
                        source: lead.source.clone(),
                        updated_at: lead.updated_at,
                    };
                    let before = serde_json::to_string(&before)
                        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                    diesel::insert_into(lead_import_changes::table)
                        .values((
                            lead_import_changes::tenant_id.eq(&tenant_id),
                            lead_import_changes::id.eq(format!("{import_id}:{}", lead.id)),
                            lead_import_changes::import_id.eq(import_id),
                            lead_import_changes::lead_id.eq(&lead.id),
                            lead_import_changes::kind.eq("updated"),
                            lead_import_changes::before.eq(before),
                            lead_import_changes::after_at.eq(at),
                        ))
                        .execute(self.conn)?;
                }
                self.record_activity(
                    &lead.id,
                    next.status,
                    actor,
                    ActivityKind::Import,
                    "updated from a CSV file",
                    at,
                )?;
                if next.status != lead.status {
                    self.record_status(&lead.id, actor, Some(lead.status), next.status, at)?;
                }
                current.insert(lead.id.clone(), next);
            }
            diesel::delete(
                self.scope
                    .import_staging()
                    .filter(import_staging::import_id.eq(import_id))
                    .filter(import_staging::seq.eq_any(&seqs)),
            )
            .execute(self.conn)?;
        }
        Ok(())
    }

    /// The oldest company of each name.
    fn companies_named(&mut self, names: &[&str]) -> QueryResult<HashMap<String, CompanyId>> {
        let mut found = HashMap::new();
        for chunk in names.chunks(CHUNK) {
            let rows: Vec<(String, CompanyId)> = self
                .scope
                .companies()
                .filter(companies::name.eq_any(chunk))
                .order(companies::number.asc())
                .select((companies::name, companies::id))
                .load(self.conn)?;
            for (name, id) in rows {
                found.entry(name).or_insert(id);
            }
        }
        Ok(found)
    }

    /// The tenant's imports, newest first, at most [`HISTORY_ROWS`].
    pub fn list_imports(&mut self) -> QueryResult<Vec<ImportEntry>> {
        type Row = (
            String,
            NaiveDateTime,
            Option<MemberId>,
            OnDuplicate,
            i64,
            i64,
            i64,
            Option<NaiveDateTime>,
        );
        let rows: Vec<Row> = self
            .scope
            .lead_imports()
            .order((lead_imports::created_at.desc(), lead_imports::id.desc()))
            .select((
                lead_imports::id,
                lead_imports::created_at,
                lead_imports::created_by,
                lead_imports::on_duplicate,
                lead_imports::created_count,
                lead_imports::updated_count,
                lead_imports::skipped_count,
                lead_imports::undone_at,
            ))
            .limit(HISTORY_ROWS)
            .load(self.conn)?;
        let mut ids: Vec<MemberId> = rows.iter().filter_map(|r| r.2.clone()).collect();
        ids.sort();
        ids.dedup();
        let names = self.member_names(ids)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, created_at, by, mode, created, updated, skipped, undone_at)| ImportEntry {
                    id,
                    created_at,
                    by: by.and_then(|b| names.get(&b).map(|(n, _)| n.clone())),
                    mode,
                    created,
                    updated,
                    skipped,
                    undone_at,
                },
            )
            .collect())
    }

    /// Takes an import back: deletes the leads it created and gives the ones it
    /// updated their earlier fields, unless any of them changed (or went) since,
    /// in which case nothing changes and the refusal names them. `None` if the
    /// tenant has no such import.
    pub fn undo_import(
        &mut self,
        id: &str,
        actor: &MemberId,
    ) -> QueryResult<Option<Result<UndoOutcome, UndoRefusal>>> {
        let Some(undone_at) = self
            .scope
            .lead_imports()
            .filter(lead_imports::id.eq(id))
            .select(lead_imports::undone_at)
            .first::<Option<NaiveDateTime>>(self.conn)
            .optional()?
        else {
            return Ok(None);
        };
        if undone_at.is_some() {
            return Ok(Some(Err(UndoRefusal::AlreadyUndone)));
        }
        let changes: Vec<(LeadId, String, Option<String>, NaiveDateTime)> = self
            .scope
            .lead_import_changes()
            .filter(lead_import_changes::import_id.eq(id))
            .order(lead_import_changes::id.asc())
            .select((
                lead_import_changes::lead_id,
                lead_import_changes::kind,
                lead_import_changes::before,
                lead_import_changes::after_at,
            ))
            .load(self.conn)?;
        let mut now_there: HashMap<LeadId, (LeadNumber, String, NaiveDateTime)> = HashMap::new();
        for chunk in changes.chunks(CHUNK) {
            let ids: Vec<&LeadId> = chunk.iter().map(|c| &c.0).collect();
            let rows: Vec<(LeadId, LeadNumber, String, NaiveDateTime)> = self
                .scope
                .leads()
                .filter(leads::id.eq_any(ids))
                .select((leads::id, leads::number, leads::name, leads::updated_at))
                .load(self.conn)?;
            now_there.extend(rows.into_iter().map(|(i, n, name, at)| (i, (n, name, at))));
        }
        let mut changed = Vec::new();
        let (mut total, mut deleted) = (0, 0);
        for (lead, _, _, after_at) in &changes {
            match now_there.get(lead) {
                None => {
                    total += 1;
                    deleted += 1;
                }
                Some((number, name, at)) if at != after_at => {
                    total += 1;
                    if changed.len() < CHANGED_NAMED {
                        changed.push((*number, name.clone()));
                    }
                }
                Some(_) => {}
            }
        }
        if total > 0 {
            changed.sort();
            return Ok(Some(Err(UndoRefusal::ChangedSince {
                changed,
                total,
                deleted,
            })));
        }
        let at = now();
        let mut outcome = UndoOutcome::default();
        let created: Vec<&LeadId> = changes
            .iter()
            .filter(|c| c.1 == "created")
            .map(|c| &c.0)
            .collect();
        for chunk in created.chunks(CHUNK) {
            outcome.deleted += diesel::delete(self.scope.leads().filter(leads::id.eq_any(chunk)))
                .execute(self.conn)?;
        }
        for (lead, _, before, _) in changes.iter().filter(|c| c.1 == "updated") {
            let Some(before) = before
                .as_deref()
                .and_then(|b| serde_json::from_str::<LeadBefore>(b).ok())
            else {
                continue;
            };
            let status = before
                .status
                .parse::<LeadStatus>()
                .unwrap_or(LeadStatus::New);
            diesel::update(self.scope.leads().filter(leads::id.eq(lead)))
                .set((
                    leads::name.eq(&before.name),
                    leads::phone.eq(&before.phone),
                    leads::company_id.eq(before.company_id.clone().map(CompanyId::from_string)),
                    leads::status.eq(status),
                    leads::value.eq(before.value),
                    leads::owner_id.eq(before.owner_id.clone().map(MemberId::from_string)),
                    leads::source.eq(&before.source),
                    leads::updated_at.eq(before.updated_at),
                ))
                .execute(self.conn)?;
            self.record_activity(
                lead,
                status,
                Some(actor),
                ActivityKind::Import,
                "restored: the import that updated it was undone",
                at,
            )?;
            outcome.restored += 1;
        }
        diesel::update(self.scope.lead_imports().filter(lead_imports::id.eq(id)))
            .set((
                lead_imports::undone_at.eq(Some(at)),
                lead_imports::undone_by.eq(Some(actor)),
            ))
            .execute(self.conn)?;
        Ok(Some(Ok(outcome)))
    }
}
