//! Companies of a tenant. A company's URL id is its `number`, allocated per tenant
//! in the inserting transaction; its internal id is a random UUID.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{companies, leads};
use super::scope::TenantTx;
use super::{DbConnection, now};
use crate::domain::forms::CompanyInput;
use crate::domain::{CompanyId, CompanyNumber, TenantId};

/// Companies shown on one page of the list.
pub const COMPANY_PAGE_SIZE: i64 = 50;
/// Most companies offered in a lead form's drop-down.
pub const MAX_COMPANY_CHOICES: i64 = 1_000;

/// A company as pages see it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = companies, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Company {
    /// Internal id.
    pub id: CompanyId,
    /// The id in URLs, per tenant.
    pub number: CompanyNumber,
    /// Display name.
    pub name: String,
    /// Web domain, may be blank.
    pub domain: String,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// One row of the company list.
#[derive(Clone, Debug)]
pub struct CompanyRow {
    /// The company.
    pub company: Company,
    /// How many leads point at it.
    pub lead_count: i64,
}

/// One page of companies.
#[derive(Debug)]
pub struct CompanyPage {
    /// The rows, by name.
    pub rows: Vec<CompanyRow>,
    /// The cursor of the next page, if there is one.
    pub next_after: Option<CompanyNumber>,
}

#[derive(Insertable)]
#[diesel(table_name = companies)]
pub(super) struct NewCompanyRow<'a> {
    pub tenant_id: &'a TenantId,
    pub id: &'a CompanyId,
    pub number: CompanyNumber,
    pub name: &'a str,
    pub domain: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Serialises number allocation per tenant on PostgreSQL, where two transactions
/// could otherwise both read the same `max(number)`. SQLite's `BEGIN IMMEDIATE`
/// already lets one writer in at a time.
pub(super) fn lock_numbers(
    conn: &mut DbConnection,
    tenant: &TenantId,
    table: &str,
) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
            .bind::<diesel::sql_types::Text, _>(format!("{tenant}:{table}"))
            .execute(pg)?;
    }
    Ok(())
}

impl TenantTx<'_> {
    /// Adds a company; its number is the tenant's highest plus one.
    pub fn insert_company(&mut self, input: &CompanyInput) -> QueryResult<Company> {
        let tenant_id = self.scope.tenant_id().clone();
        lock_numbers(self.conn, &tenant_id, "companies")?;
        let max: Option<CompanyNumber> = self
            .scope
            .companies()
            .select(diesel::dsl::max(companies::number))
            .first(self.conn)?;
        let at = now();
        let company = Company {
            id: CompanyId::generate(),
            number: max.unwrap_or(CompanyNumber::new(0)).next(),
            name: input.name.clone(),
            domain: input.domain.clone(),
            created_at: at,
            updated_at: at,
        };
        diesel::insert_into(companies::table)
            .values(NewCompanyRow {
                tenant_id: &tenant_id,
                id: &company.id,
                number: company.number,
                name: &company.name,
                domain: &company.domain,
                created_at: at,
                updated_at: at,
            })
            .execute(self.conn)?;
        Ok(company)
    }

    /// The company with this URL number.
    pub fn find_company_by_number(
        &mut self,
        number: CompanyNumber,
    ) -> QueryResult<Option<Company>> {
        self.scope
            .companies()
            .filter(companies::number.eq(number))
            .select(Company::as_select())
            .first(self.conn)
            .optional()
    }

    /// The company with this internal id.
    pub fn find_company(&mut self, id: &CompanyId) -> QueryResult<Option<Company>> {
        self.scope
            .companies()
            .filter(companies::id.eq(id))
            .select(Company::as_select())
            .first(self.conn)
            .optional()
    }

    /// One page of companies by name, after the company numbered `after`.
    pub fn list_companies(&mut self, after: Option<CompanyNumber>) -> QueryResult<CompanyPage> {
        let cursor = match after {
            Some(n) => self.find_company_by_number(n)?,
            None => None,
        };
        let mut query = self
            .scope
            .companies()
            .order((companies::name.asc(), companies::number.asc()))
            .select(Company::as_select())
            .limit(COMPANY_PAGE_SIZE + 1)
            .into_boxed();
        if let Some(c) = cursor {
            query = query.filter(
                companies::name.gt(c.name.clone()).or(companies::name
                    .eq(c.name)
                    .and(companies::number.gt(c.number))),
            );
        }
        let mut rows: Vec<Company> = query.load(self.conn)?;
        let next_after = if rows.len() as i64 > COMPANY_PAGE_SIZE {
            rows.truncate(COMPANY_PAGE_SIZE as usize);
            rows.last().map(|c| c.number)
        } else {
            None
        };
        let ids: Vec<CompanyId> = rows.iter().map(|c| c.id.clone()).collect();
        let counts: Vec<(Option<CompanyId>, i64)> = self
            .scope
            .leads()
            .filter(leads::company_id.eq_any(ids))
            .group_by(leads::company_id)
            .select((leads::company_id, diesel::dsl::count_star()))
            .load(self.conn)?;
        let rows = rows
            .into_iter()
            .map(|company| {
                let lead_count = counts
                    .iter()
                    .find(|(id, _)| id.as_ref() == Some(&company.id))
                    .map_or(0, |(_, n)| *n);
                CompanyRow {
                    company,
                    lead_count,
                }
            })
            .collect();
        Ok(CompanyPage { rows, next_after })
    }

    /// Every company for a drop-down, by name (`(number, name)`), or `None` if
    /// there are more than `max`. Whether there are is asked first, of the
    /// numbers alone: a tenant with thousands of companies pays for stepping
    /// over `max` index entries, not for reading and dropping `max` names.
    pub fn company_choices_within(
        &mut self,
        max: i64,
    ) -> QueryResult<Option<Vec<(CompanyNumber, String)>>> {
        // On the list's every page: on the backend's own connection (see
        // `on_backend!`).
        let past = self
            .scope
            .companies()
            .select(companies::number)
            .order(companies::number.asc())
            .offset(max)
            .limit(1);
        let past_max =
            crate::db::on_backend!(self.conn, |c| past.first::<CompanyNumber>(c).optional())?;
        if past_max.is_some() {
            return Ok(None);
        }
        self.company_choices(max).map(Some)
    }

    /// Up to `limit` companies for a drop-down, by name: `(number, name)`.
    pub fn company_choices(&mut self, limit: i64) -> QueryResult<Vec<(CompanyNumber, String)>> {
        let query = self
            .scope
            .companies()
            .order((companies::name.asc(), companies::number.asc()))
            .select((companies::number, companies::name))
            .limit(limit);
        crate::db::on_backend!(self.conn, |c| query.load(c))
    }

    /// Changes a company's fields.
    pub fn update_company(&mut self, id: &CompanyId, input: &CompanyInput) -> QueryResult<usize> {
        diesel::update(self.scope.companies().filter(companies::id.eq(id)))
            .set((
                companies::name.eq(&input.name),
                companies::domain.eq(&input.domain),
                companies::updated_at.eq(now()),
            ))
            .execute(self.conn)
    }

    /// Deletes a company. Its leads are kept and unlinked (their company becomes
    /// empty) in the same transaction. Returns how many leads were unlinked.
    pub fn delete_company(&mut self, id: &CompanyId) -> QueryResult<usize> {
        let unlinked = diesel::update(self.scope.leads().filter(leads::company_id.eq(id)))
            .set((
                leads::company_id.eq(None::<CompanyId>),
                leads::updated_at.eq(now()),
            ))
            .execute(self.conn)?;
        diesel::delete(self.scope.companies().filter(companies::id.eq(id))).execute(self.conn)?;
        Ok(unlinked)
    }
}
