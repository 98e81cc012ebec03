//! Writes of leads: create and update (each checking the lead's company and owner
//! in the tenant and recording status activity), delete, and bulk inserts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{INSERT_CHUNK, Lead};
use crate::db::companies::lock_numbers;
use crate::db::schema::{lead_activities, leads};
use crate::db::scope::TenantTx;
use crate::db::{insert_many, now};
use crate::domain::forms::{LeadInput, LeadRefusal};
use crate::domain::{ActivityKind, CompanyId, LeadId, LeadNumber, LeadStatus, MemberId, TenantId};

#[derive(Insertable)]
#[diesel(table_name = leads)]
struct NewLeadRow<'a> {
    tenant_id: &'a TenantId,
    id: &'a LeadId,
    number: LeadNumber,
    name: &'a str,
    email: &'a str,
    phone: &'a str,
    company_id: Option<&'a CompanyId>,
    status: LeadStatus,
    value: i64,
    owner_id: Option<&'a MemberId>,
    source: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> NewLeadRow<'a> {
    fn from_lead(tenant_id: &'a TenantId, lead: &'a Lead) -> Self {
        Self {
            tenant_id,
            id: &lead.id,
            number: lead.number,
            name: &lead.name,
            email: &lead.email,
            phone: &lead.phone,
            company_id: lead.company_id.as_ref(),
            status: lead.status,
            value: lead.value,
            owner_id: lead.owner_id.as_ref(),
            source: &lead.source,
            created_at: lead.created_at,
            updated_at: lead.updated_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = lead_activities)]
struct NewActivityRow<'a> {
    tenant_id: &'a TenantId,
    id: String,
    lead_id: &'a LeadId,
    actor_id: Option<&'a MemberId>,
    from_status: Option<LeadStatus>,
    to_status: LeadStatus,
    created_at: NaiveDateTime,
    kind: ActivityKind,
    detail: Option<&'a str>,
}

/// The most characters of a note or title an activity entry repeats.
const DETAIL_CHARS: usize = 120;

/// `text` cut to [`DETAIL_CHARS`] characters, with an ellipsis if it was longer,
/// and its line breaks made spaces.
pub(in crate::db) fn opening(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= DETAIL_CHARS {
        flat.to_owned()
    } else {
        let cut: String = flat.chars().take(DETAIL_CHARS - 1).collect();
        format!("{}\u{2026}", cut.trim_end())
    }
}

/// One change made to many leads at once from the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkChange {
    /// Give them this status.
    Status(LeadStatus),
    /// Give them this owner (none: nobody).
    Owner(Option<MemberId>),
    /// Delete them, with their notes, tasks and activity.
    Delete,
}

/// A lead's company and owner, resolved in the tenant.
type LeadRefs = (Option<CompanyId>, Option<MemberId>);

impl TenantTx<'_> {
    /// The next free lead number of this tenant; call after [`lock_numbers`].
    fn next_lead_number(&mut self) -> QueryResult<LeadNumber> {
        let max: Option<LeadNumber> = self
            .scope
            .leads()
            .select(diesel::dsl::max(leads::number))
            .first(self.conn)?;
        Ok(max.unwrap_or(LeadNumber::new(0)).next())
    }

    /// Resolves the form's company and owner inside this tenant. The owner must
    /// be active, unless it is `current_owner` (a lead keeps a deactivated owner
    /// until someone picks another).
    fn resolve_refs(
        &mut self,
        input: &LeadInput,
        current_owner: Option<&MemberId>,
    ) -> QueryResult<Result<LeadRefs, LeadRefusal>> {
        let company = match input.company {
            Some(n) => match self.find_company_by_number(n)? {
                Some(c) => Some(c.id),
                None => return Ok(Err(LeadRefusal::UnknownCompany)),
            },
            None => None,
        };
        let owner = match &input.owner {
            Some(id) => match self.find_member(id)? {
                Some(m) if m.active || current_owner == Some(&m.id) => Some(m.id),
                _ => return Ok(Err(LeadRefusal::UnknownOwner)),
            },
            None => None,
        };
        Ok(Ok((company, owner)))
    }

    /// Records a change of status (none before: the lead's creation).
    pub(in crate::db) fn record_status(
        &mut self,
        lead: &LeadId,
        actor: Option<&MemberId>,
        from: Option<LeadStatus>,
        to: LeadStatus,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        self.insert_activity(lead, actor, from, to, ActivityKind::Status, None, at)
    }

    /// Records something other than a status change in a lead's activity
    /// (`status` is the lead's, as it stands): a note, a task, an owner.
    pub(in crate::db) fn record_activity(
        &mut self,
        lead: &LeadId,
        status: LeadStatus,
        actor: Option<&MemberId>,
        kind: ActivityKind,
        detail: &str,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        self.insert_activity(lead, actor, None, status, kind, Some(detail), at)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_activity(
        &mut self,
        lead: &LeadId,
        actor: Option<&MemberId>,
        from: Option<LeadStatus>,
        to: LeadStatus,
        kind: ActivityKind,
        detail: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        let tenant_id = self.scope.tenant_id().clone();
        diesel::insert_into(lead_activities::table)
            .values(NewActivityRow {
                tenant_id: &tenant_id,
                id: uuid::Uuid::new_v4().to_string(),
                lead_id: lead,
                actor_id: actor,
                from_status: from,
                to_status: to,
                created_at: at,
                kind,
                detail,
            })
            .execute(self.conn)?;
        Ok(())
    }

    /// Records that a lead's owner became `owner` (none: nobody).
    fn record_owner(
        &mut self,
        lead: &LeadId,
        status: LeadStatus,
        actor: Option<&MemberId>,
        owner: Option<&MemberId>,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        let name = match owner {
            Some(id) => self.find_member(id)?.map(|m| m.name),
            None => None,
        };
        let detail = name.unwrap_or_default();
        self.record_activity(lead, status, actor, ActivityKind::Owner, &detail, at)
    }

    /// Creates a lead after checking its company and owner belong to this tenant.
    pub fn create_lead(
        &mut self,
        input: &LeadInput,
        actor: &MemberId,
    ) -> QueryResult<Result<Lead, LeadRefusal>> {
        let (company_id, owner_id) = match self.resolve_refs(input, None)? {
            Ok(refs) => refs,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let tenant_id = self.scope.tenant_id().clone();
        lock_numbers(self.conn, &tenant_id, "leads")?;
        let at = now();
        let lead = Lead {
            id: LeadId::generate(),
            number: self.next_lead_number()?,
            name: input.name.clone(),
            email: input.email.clone(),
            phone: input.phone.clone(),
            company_id,
            status: input.status,
            value: input.value,
            owner_id,
            source: input.source.clone(),
            created_at: at,
            updated_at: at,
        };
        diesel::insert_into(leads::table)
            .values(NewLeadRow::from_lead(&tenant_id, &lead))
            .execute(self.conn)?;
        self.record_status(&lead.id, Some(actor), None, lead.status, at)?;
        Ok(Ok(lead))
    }

    /// Updates a lead; a change of status is recorded as activity.
    pub fn update_lead(
        &mut self,
        existing: &Lead,
        input: &LeadInput,
        actor: &MemberId,
    ) -> QueryResult<Result<(), LeadRefusal>> {
        let (company_id, owner_id) = match self.resolve_refs(input, existing.owner_id.as_ref())? {
            Ok(refs) => refs,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let at = now();
        diesel::update(self.scope.leads().filter(leads::id.eq(&existing.id)))
            .set((
                leads::name.eq(&input.name),
                leads::email.eq(&input.email),
                leads::phone.eq(&input.phone),
                leads::company_id.eq(company_id),
                leads::status.eq(input.status),
                leads::value.eq(input.value),
                leads::owner_id.eq(owner_id.as_ref()),
                leads::source.eq(&input.source),
                leads::updated_at.eq(at),
            ))
            .execute(self.conn)?;
        if existing.status != input.status {
            self.record_status(
                &existing.id,
                Some(actor),
                Some(existing.status),
                input.status,
                at,
            )?;
        }
        if existing.owner_id != owner_id {
            self.record_owner(
                &existing.id,
                input.status,
                Some(actor),
                owner_id.as_ref(),
                at,
            )?;
        }
        Ok(Ok(()))
    }

    /// Moves a lead to `status` (the pipeline board's move), recorded as
    /// activity; `false` if it had that status already (nothing changes).
    pub fn change_lead_status(
        &mut self,
        existing: &Lead,
        status: LeadStatus,
        actor: &MemberId,
    ) -> QueryResult<bool> {
        if existing.status == status {
            return Ok(false);
        }
        let at = now();
        diesel::update(self.scope.leads().filter(leads::id.eq(&existing.id)))
            .set((leads::status.eq(status), leads::updated_at.eq(at)))
            .execute(self.conn)?;
        self.record_status(&existing.id, Some(actor), Some(existing.status), status, at)?;
        Ok(true)
    }

    /// The tenant's leads among these numbers, by number; another tenant's
    /// numbers and unknown ones are simply not among them.
    pub fn leads_by_numbers(&mut self, numbers: &[LeadNumber]) -> QueryResult<Vec<Lead>> {
        self.scope
            .leads()
            .filter(leads::number.eq_any(numbers))
            .order(leads::number.asc())
            .select(Lead::as_select())
            .load(self.conn)
    }

    /// Applies one change to many leads of this tenant (already read with
    /// [`TenantTx::leads_by_numbers`]), each recorded in the lead's activity;
    /// how many changed (a lead already so is left alone). A new owner must be
    /// an active member. Call inside one write, so that all change or none.
    pub fn bulk_change(
        &mut self,
        leads: &[Lead],
        change: &BulkChange,
        actor: &MemberId,
    ) -> QueryResult<Result<usize, LeadRefusal>> {
        let at = now();
        let mut changed = 0;
        match change {
            BulkChange::Status(status) => {
                let ids: Vec<&LeadId> = leads
                    .iter()
                    .filter(|l| l.status != *status)
                    .map(|l| &l.id)
                    .collect();
                for chunk in ids.chunks(INSERT_CHUNK) {
                    diesel::update(self.scope.leads().filter(leads::id.eq_any(chunk)))
                        .set((leads::status.eq(status), leads::updated_at.eq(at)))
                        .execute(self.conn)?;
                }
                for lead in leads.iter().filter(|l| l.status != *status) {
                    self.record_status(&lead.id, Some(actor), Some(lead.status), *status, at)?;
                    changed += 1;
                }
            }
            BulkChange::Owner(owner) => {
                if let Some(id) = owner {
                    match self.find_member(id)? {
                        Some(m) if m.active => {}
                        _ => return Ok(Err(LeadRefusal::UnknownOwner)),
                    }
                }
                let moving: Vec<&Lead> = leads.iter().filter(|l| l.owner_id != *owner).collect();
                let ids: Vec<&LeadId> = moving.iter().map(|l| &l.id).collect();
                for chunk in ids.chunks(INSERT_CHUNK) {
                    diesel::update(self.scope.leads().filter(leads::id.eq_any(chunk)))
                        .set((leads::owner_id.eq(owner.as_ref()), leads::updated_at.eq(at)))
                        .execute(self.conn)?;
                }
                for lead in moving {
                    self.record_owner(&lead.id, lead.status, Some(actor), owner.as_ref(), at)?;
                    changed += 1;
                }
            }
            BulkChange::Delete => {
                let ids: Vec<&LeadId> = leads.iter().map(|l| &l.id).collect();
                for chunk in ids.chunks(INSERT_CHUNK) {
                    changed += diesel::delete(self.scope.leads().filter(leads::id.eq_any(chunk)))
                        .execute(self.conn)?;
                }
            }
        }
        Ok(Ok(changed))
    }

    /// Deletes a lead; its notes and activity go with it (foreign-key cascade).
    pub fn delete_lead(&mut self, id: &LeadId) -> QueryResult<usize> {
        diesel::delete(self.scope.leads().filter(leads::id.eq(id))).execute(self.conn)
    }
    /// Numbers and inserts leads in bulk, without activity rows: demo data has no
    /// history to show. (CSV imports go through `db::import`'s staging instead.)
    pub(in crate::db) fn insert_leads_without_activity(
        &mut self,
        batch: Vec<Lead>,
    ) -> QueryResult<Vec<LeadNumber>> {
        let batch = self.insert_numbered(batch)?;
        Ok(batch.iter().map(|l| l.number).collect())
    }

    /// Numbers the leads after the tenant's highest and inserts them; returns them
    /// as inserted.
    fn insert_numbered(&mut self, mut batch: Vec<Lead>) -> QueryResult<Vec<Lead>> {
        let tenant_id = self.scope.tenant_id().clone();
        lock_numbers(self.conn, &tenant_id, "leads")?;
        let mut number = self.next_lead_number()?;
        for lead in &mut batch {
            lead.number = number;
            number = number.next();
        }
        for chunk in batch.chunks(INSERT_CHUNK) {
            let rows: Vec<NewLeadRow<'_>> = chunk
                .iter()
                .map(|l| NewLeadRow::from_lead(&tenant_id, l))
                .collect();
            insert_many!(self.conn, leads::table, rows);
        }
        Ok(batch)
    }
}
