//! Leads of a tenant: create, read, update, delete, the filtered list with keyset
//! pagination, the dashboard's summary, and bulk insert for CSV import.
//!
//! The list is paginated by keyset, not offset: a page is "the next `limit` rows
//! after this lead in this order", with the lead's per-tenant `number` breaking
//! ties, so the last page costs what the first does and every lead appears exactly
//! once over all pages. Each sort order has an index that starts with `tenant_id`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::companies::lock_numbers;
use super::schema::{companies, lead_activities, leads, users};
use super::scope::TenantTx;
use super::{DbBackend, DbConnection, insert_many, now};
use crate::domain::{CompanyId, LeadId, LeadStatus, MemberId, TenantId};

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends for ASCII.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Default rows per page of the lead list.
pub const LEAD_PAGE_SIZE: i64 = 50;
/// Most rows per page a caller may ask for (the CSV export reads pages of this).
pub const MAX_LEAD_PAGE_SIZE: i64 = 1_000;
/// Rows per multi-row `INSERT` in bulk writes: 13 columns each stays well under
/// both backends' limits on bound parameters.
pub const INSERT_CHUNK: usize = 1_000;

/// A lead as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = leads, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Lead {
    /// Internal id.
    pub id: LeadId,
    /// The id in URLs, per tenant.
    pub number: i64,
    /// The person's name.
    pub name: String,
    /// Email, may be blank.
    pub email: String,
    /// Phone, may be blank.
    pub phone: String,
    /// Their company, if any.
    pub company_id: Option<CompanyId>,
    /// Pipeline status.
    pub status: LeadStatus,
    /// Deal value in minor units.
    pub value: i64,
    /// The member who owns it, if any.
    pub owner_id: Option<MemberId>,
    /// Where it came from.
    pub source: String,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// A validated lead form. `company` and `owner` are not trusted yet: they are
/// looked up in this tenant before anything is written.
#[derive(Clone, Debug)]
pub struct LeadInput {
    /// Name, trimmed, 1 to 200 characters.
    pub name: String,
    /// Email, normalised, or blank.
    pub email: String,
    /// Phone, or blank.
    pub phone: String,
    /// The company's number, if one was chosen.
    pub company: Option<i64>,
    /// Status.
    pub status: LeadStatus,
    /// Value in minor units, not negative.
    pub value: i64,
    /// The owner's member id, if one was chosen.
    pub owner: Option<MemberId>,
    /// Source, or blank.
    pub source: String,
}

/// Why a lead form that parsed could still not be saved: a reference that does
/// not resolve in this tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadRefusal {
    /// No such company in this tenant.
    UnknownCompany,
    /// No such active member in this tenant.
    UnknownOwner,
}

impl LeadRefusal {
    /// The form field it concerns.
    pub fn field(self) -> &'static str {
        match self {
            LeadRefusal::UnknownCompany => "company_id",
            LeadRefusal::UnknownOwner => "owner_id",
        }
    }

    /// A message to show beside it.
    pub fn message(self) -> &'static str {
        match self {
            LeadRefusal::UnknownCompany => "Choose a company of this workspace.",
            LeadRefusal::UnknownOwner => "Choose an active member of this workspace.",
        }
    }
}

/// Sort orders of the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LeadSort {
    /// Most recently changed first (the default).
    #[default]
    Updated,
    /// Newest first.
    Created,
    /// By name, A to Z.
    Name,
    /// Highest value first.
    Value,
}

impl LeadSort {
    /// Parses the `sort` query value; anything unknown is the default.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "created" => LeadSort::Created,
            "name" => LeadSort::Name,
            "value" => LeadSort::Value,
            _ => LeadSort::Updated,
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadSort::Updated => "updated",
            LeadSort::Created => "created",
            LeadSort::Name => "name",
            LeadSort::Value => "value",
        }
    }
}

/// Filters of the list (and of the CSV export).
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Words to find in name, email or company name.
    pub q: Option<String>,
    /// Only this status.
    pub status: Option<LeadStatus>,
    /// Only this owner.
    pub owner: Option<MemberId>,
    /// Only this company (its number).
    pub company: Option<i64>,
    /// Order.
    pub sort: LeadSort,
}

/// A lead with what the list shows beside it.
#[derive(Clone, Debug)]
pub struct LeadRow {
    /// The lead.
    pub lead: Lead,
    /// Its company's number and name.
    pub company: Option<(i64, String)>,
    /// Its owner's name and email.
    pub owner: Option<(String, String)>,
}

/// One page of the list.
#[derive(Debug)]
pub struct LeadPage {
    /// The rows in order.
    pub rows: Vec<LeadRow>,
    /// All matches of the filter, over every page.
    pub total: i64,
    /// The cursor (a lead number) of the next page, if there is one.
    pub next_after: Option<i64>,
}

/// Leads and value per status, for the dashboard.
#[derive(Clone, Debug)]
pub struct StatusSummary {
    /// The status.
    pub status: LeadStatus,
    /// How many leads have it.
    pub count: i64,
    /// Their total value in minor units.
    pub value: i64,
}

#[derive(Insertable)]
#[diesel(table_name = leads)]
struct NewLeadRow<'a> {
    tenant_id: &'a TenantId,
    id: &'a LeadId,
    number: i64,
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
}

/// A status change of a lead.
#[derive(Clone, Debug)]
pub struct Activity {
    /// Who changed it, if still known.
    pub actor_name: Option<String>,
    /// The status before (none when the lead was created).
    pub from_status: Option<LeadStatus>,
    /// The status after.
    pub to_status: LeadStatus,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A lead's company and owner, resolved in the tenant.
type LeadRefs = (Option<CompanyId>, Option<MemberId>);

/// A `LIKE` pattern that finds `needle` anywhere, with `%`, `_` and `\` escaped.
fn contains_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Lowercases a search the way the backend's `lower()` does: PostgreSQL folds
/// all of Unicode, SQLite only ASCII (and its `LIKE` ignores ASCII case anyway).
fn fold_case(conn: &DbConnection, s: &str) -> String {
    match conn {
        DbConnection::Postgresql(_) => s.to_lowercase(),
        DbConnection::Sqlite(_) => s.to_ascii_lowercase(),
    }
}

impl TenantTx<'_> {
    /// The next free lead number of this tenant; call after [`lock_numbers`].
    fn next_lead_number(&mut self) -> QueryResult<i64> {
        let max: Option<i64> = self
            .scope
            .leads()
            .select(diesel::dsl::max(leads::number))
            .first(self.conn)?;
        Ok(max.unwrap_or(0) + 1)
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

    fn record_status(
        &mut self,
        lead: &LeadId,
        actor: Option<&MemberId>,
        from: Option<LeadStatus>,
        to: LeadStatus,
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
            })
            .execute(self.conn)?;
        Ok(())
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
                leads::owner_id.eq(owner_id),
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
        Ok(Ok(()))
    }

    /// Deletes a lead; its notes and activity go with it (foreign-key cascade).
    pub fn delete_lead(&mut self, id: &LeadId) -> QueryResult<usize> {
        diesel::delete(self.scope.leads().filter(leads::id.eq(id))).execute(self.conn)
    }

    /// The lead with this URL number.
    pub fn find_lead_by_number(&mut self, number: i64) -> QueryResult<Option<Lead>> {
        self.scope
            .leads()
            .filter(leads::number.eq(number))
            .select(Lead::as_select())
            .first(self.conn)
            .optional()
    }

    /// A lead's status changes, oldest first.
    pub fn list_activity(&mut self, lead: &LeadId) -> QueryResult<Vec<Activity>> {
        let rows: Vec<(
            Option<MemberId>,
            Option<LeadStatus>,
            LeadStatus,
            NaiveDateTime,
        )> = self
            .scope
            .lead_activities()
            .filter(lead_activities::lead_id.eq(lead))
            .order(lead_activities::created_at.asc())
            .select((
                lead_activities::actor_id,
                lead_activities::from_status,
                lead_activities::to_status,
                lead_activities::created_at,
            ))
            .load(self.conn)?;
        let names = self.member_names(rows.iter().filter_map(|r| r.0.clone()).collect())?;
        Ok(rows
            .into_iter()
            .map(|(actor, from_status, to_status, created_at)| Activity {
                actor_name: actor.and_then(|a| names.get(&a).map(|(n, _)| n.clone())),
                from_status,
                to_status,
                created_at,
            })
            .collect())
    }

    /// Names and emails of members by id (for lists and notes).
    pub(super) fn member_names(
        &mut self,
        ids: Vec<MemberId>,
    ) -> QueryResult<HashMap<MemberId, (String, String)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(MemberId, String, String)> = self
            .scope
            .users()
            .filter(users::id.eq_any(ids))
            .select((users::id, users::name, users::email))
            .load(self.conn)?;
        Ok(rows.into_iter().map(|(id, n, e)| (id, (n, e))).collect())
    }

    /// Every member for the owner filter and drop-down: `(id, name, active)`.
    pub fn member_choices(&mut self) -> QueryResult<Vec<(MemberId, String, bool)>> {
        self.scope
            .users()
            .order((users::name.asc(), users::id.asc()))
            .select((users::id, users::name, users::active))
            .load(self.conn)
    }

    /// The filter as a boxed query (without order or cursor), shared by the list
    /// and its count.
    fn filtered_leads(
        &mut self,
        filter: &LeadFilter,
    ) -> QueryResult<leads::BoxedQuery<'static, DbBackend>> {
        let mut query = self.scope.leads().into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(leads::status.eq(status));
        }
        if let Some(owner) = &filter.owner {
            query = query.filter(leads::owner_id.eq(owner.clone()));
        }
        if let Some(number) = filter.company {
            // An unknown company matches nothing, rather than being ignored.
            let id = self
                .find_company_by_number(number)?
                .map(|c| c.id)
                .unwrap_or_else(|| CompanyId::from_string(String::new()));
            query = query.filter(leads::company_id.eq(id));
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = contains_pattern(&fold_case(self.conn, q));
            let matching_companies = self
                .scope
                .companies()
                .filter(lower(companies::name).like(pattern.clone()).escape('\\'))
                .select(companies::id.nullable());
            query = query.filter(
                lower(leads::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(leads::email).like(pattern).escape('\\'))
                    .or(leads::company_id.eq_any(matching_companies)),
            );
        }
        Ok(query)
    }

    /// How many leads match the filter.
    pub fn count_leads(&mut self, filter: &LeadFilter) -> QueryResult<i64> {
        self.filtered_leads(filter)?.count().get_result(self.conn)
    }

    /// Up to `limit` leads matching the filter, in its order, after the lead
    /// numbered `after` (a cursor from the previous page). A cursor whose lead is
    /// gone starts over from the first page.
    pub fn list_leads(
        &mut self,
        filter: &LeadFilter,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<(Vec<Lead>, Option<i64>)> {
        let cursor = match after {
            Some(n) => self.find_lead_by_number(n)?,
            None => None,
        };
        let (rows, next) = self.list_leads_after(filter, cursor, limit)?;
        Ok((rows, next.map(|l| l.number)))
    }

    /// As [`TenantTx::list_leads`], with the cursor given as the last lead of the
    /// previous page itself (its sort key is what counts), so that a walk over all
    /// pages (the CSV export) goes on even if that lead is deleted meanwhile.
    /// Returns the rows and, if there is a next page, the lead to continue after.
    pub fn list_leads_after(
        &mut self,
        filter: &LeadFilter,
        cursor: Option<Lead>,
        limit: i64,
    ) -> QueryResult<(Vec<Lead>, Option<Lead>)> {
        let limit = limit.clamp(1, MAX_LEAD_PAGE_SIZE);
        let mut query = self.filtered_leads(filter)?;
        query = match filter.sort {
            LeadSort::Updated => query.order((leads::updated_at.desc(), leads::number.desc())),
            LeadSort::Created => query.order((leads::created_at.desc(), leads::number.desc())),
            LeadSort::Name => query.order((leads::name.asc(), leads::number.asc())),
            LeadSort::Value => query.order((leads::value.desc(), leads::number.desc())),
        };
        if let Some(c) = cursor {
            // "After (k, n)" in the order: the outer `<=`/`>=` bound on the sort
            // key is redundant but lets both planners start the index range scan
            // at the cursor instead of filtering from the tenant's first row.
            let n = c.number;
            query = match filter.sort {
                LeadSort::Updated => query.filter(
                    leads::updated_at
                        .le(c.updated_at)
                        .and(leads::updated_at.lt(c.updated_at).or(leads::number.lt(n))),
                ),
                LeadSort::Created => query.filter(
                    leads::created_at
                        .le(c.created_at)
                        .and(leads::created_at.lt(c.created_at).or(leads::number.lt(n))),
                ),
                LeadSort::Name => query.filter(
                    leads::name
                        .ge(c.name.clone())
                        .and(leads::name.gt(c.name).or(leads::number.gt(n))),
                ),
                LeadSort::Value => query.filter(
                    leads::value
                        .le(c.value)
                        .and(leads::value.lt(c.value).or(leads::number.lt(n))),
                ),
            };
        }
        let mut rows: Vec<Lead> = query
            .select(Lead::as_select())
            .limit(limit + 1)
            .load(self.conn)?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().cloned()
        } else {
            None
        };
        Ok((rows, next))
    }

    /// Adds company and owner names to leads.
    pub fn describe_leads(&mut self, leads: Vec<Lead>) -> QueryResult<Vec<LeadRow>> {
        let mut company_ids: Vec<CompanyId> =
            leads.iter().filter_map(|l| l.company_id.clone()).collect();
        company_ids.sort();
        company_ids.dedup();
        let companies: HashMap<CompanyId, (i64, String)> = if company_ids.is_empty() {
            HashMap::new()
        } else {
            self.scope
                .companies()
                .filter(companies::id.eq_any(company_ids))
                .select((companies::id, companies::number, companies::name))
                .load::<(CompanyId, i64, String)>(self.conn)?
                .into_iter()
                .map(|(id, n, name)| (id, (n, name)))
                .collect()
        };
        let mut owner_ids: Vec<MemberId> =
            leads.iter().filter_map(|l| l.owner_id.clone()).collect();
        owner_ids.sort();
        owner_ids.dedup();
        let owners = self.member_names(owner_ids)?;
        Ok(leads
            .into_iter()
            .map(|lead| LeadRow {
                company: lead
                    .company_id
                    .as_ref()
                    .and_then(|id| companies.get(id).cloned()),
                owner: lead
                    .owner_id
                    .as_ref()
                    .and_then(|id| owners.get(id).cloned()),
                lead,
            })
            .collect())
    }

    /// One page of the list with names and the total count.
    pub fn lead_page(
        &mut self,
        filter: &LeadFilter,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<LeadPage> {
        let total = self.count_leads(filter)?;
        let (leads, next_after) = self.list_leads(filter, after, limit)?;
        Ok(LeadPage {
            rows: self.describe_leads(leads)?,
            total,
            next_after,
        })
    }

    /// Count and value of leads per status, every status listed.
    pub fn lead_status_summary(&mut self) -> QueryResult<Vec<StatusSummary>> {
        let rows: Vec<(LeadStatus, i64, i64)> = self
            .scope
            .leads()
            .group_by(leads::status)
            .select((
                leads::status,
                diesel::dsl::count_star(),
                // SUM of BIGINT is NUMERIC on PostgreSQL; both read it back as BIGINT.
                diesel::dsl::sql::<BigInt>("CAST(COALESCE(SUM(value), 0) AS BIGINT)"),
            ))
            .load(self.conn)?;
        Ok(LeadStatus::ALL
            .into_iter()
            .map(|status| {
                let (count, value) = rows
                    .iter()
                    .find(|r| r.0 == status)
                    .map_or((0, 0), |r| (r.1, r.2));
                StatusSummary {
                    status,
                    count,
                    value,
                }
            })
            .collect())
    }

    /// The leads of a company, most recently changed first, at most `limit`.
    pub fn leads_of_company(&mut self, company: &CompanyId, limit: i64) -> QueryResult<Vec<Lead>> {
        self.scope
            .leads()
            .filter(leads::company_id.eq(company))
            .order((leads::updated_at.desc(), leads::number.desc()))
            .select(Lead::as_select())
            .limit(limit)
            .load(self.conn)
    }

    /// How many leads a company has.
    pub fn count_leads_of_company(&mut self, company: &CompanyId) -> QueryResult<i64> {
        self.scope
            .leads()
            .filter(leads::company_id.eq(company))
            .count()
            .get_result(self.conn)
    }

    /// Inserts many already-validated leads (CSV import) with multi-row inserts,
    /// numbering them after the tenant's highest, each with its "created" activity.
    /// Returns the numbers given.
    pub fn insert_leads_bulk(&mut self, batch: Vec<Lead>) -> QueryResult<Vec<i64>> {
        self.insert_leads_numbered(batch, true)
    }

    /// As [`TenantTx::insert_leads_bulk`]; demo data skips the activity rows.
    pub(super) fn insert_leads_numbered(
        &mut self,
        mut batch: Vec<Lead>,
        with_activity: bool,
    ) -> QueryResult<Vec<i64>> {
        let tenant_id = self.scope.tenant_id().clone();
        lock_numbers(self.conn, &tenant_id, "leads")?;
        let first = self.next_lead_number()?;
        for (number, lead) in (first..).zip(batch.iter_mut()) {
            lead.number = number;
        }
        for chunk in batch.chunks(INSERT_CHUNK) {
            let rows: Vec<NewLeadRow<'_>> = chunk
                .iter()
                .map(|l| NewLeadRow::from_lead(&tenant_id, l))
                .collect();
            insert_many!(self.conn, leads::table, rows);
            if !with_activity {
                continue;
            }
            let activities: Vec<NewActivityRow<'_>> = chunk
                .iter()
                .map(|l| NewActivityRow {
                    tenant_id: &tenant_id,
                    id: uuid::Uuid::new_v4().to_string(),
                    lead_id: &l.id,
                    actor_id: None,
                    from_status: None,
                    to_status: l.status,
                    created_at: l.created_at,
                })
                .collect();
            insert_many!(self.conn, lead_activities::table, activities);
        }
        Ok(batch.iter().map(|l| l.number).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn unknown_sorts_fall_back_to_updated() {
        assert_eq!(LeadSort::parse("value"), LeadSort::Value);
        assert_eq!(LeadSort::parse("drop table"), LeadSort::Updated);
    }
}
