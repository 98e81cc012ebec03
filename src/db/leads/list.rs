//! The lead list: filter, search, sort and keyset pagination, and the names the
//! list shows beside each lead.
//!
//! The list is paginated by keyset, not offset: a page is "the next `limit` rows
//! after this lead in this order", with the lead's per-tenant `number` breaking
//! ties, so the last page costs what the first does and every lead appears exactly
//! once over all pages. Each sort order has an index that starts with `tenant_id`.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{COUNT_BOUND, Lead, LeadCount, LeadPage, LeadRow, MAX_LEAD_PAGE_SIZE};
use crate::db::schema::{companies, lead_counts, leads};
use crate::db::scope::TenantTx;
use crate::db::{DbBackend, DbConnection};
use crate::domain::{CompanyId, CompanyNumber, LeadNumber, LeadSort, LeadStatus, MemberId};

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends for ASCII.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
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
    /// Only this company (its number); a number no company has matches nothing.
    pub company: Option<CompanyNumber>,
    /// Order.
    pub sort: LeadSort,
}

type LeadQuery = leads::BoxedQuery<'static, DbBackend>;

/// Orders `$query` by `leads::$key` in direction `$dir` (then by number, the same
/// way) and, given the previous page's last lead `$cursor`, keeps only the rows
/// after it. One invocation per sort order in [`sorted_after`]: that is the table
/// of sort orders.
macro_rules! keyset {
    ($query:expr, $cursor:expr, $key:ident, desc) => {{
        let query = $query.order((leads::$key.desc(), leads::number.desc()));
        match $cursor {
            // "After (k, n)": the outer `<=` bound on the key is redundant but lets
            // both planners start the index range scan at the cursor instead of
            // filtering from the tenant's first row.
            Some(c) => query.filter(
                leads::$key
                    .le(c.$key.clone())
                    .and(leads::$key.lt(c.$key).or(leads::number.lt(c.number))),
            ),
            None => query,
        }
    }};
    ($query:expr, $cursor:expr, $key:ident, asc) => {{
        let query = $query.order((leads::$key.asc(), leads::number.asc()));
        match $cursor {
            Some(c) => query.filter(
                leads::$key
                    .ge(c.$key.clone())
                    .and(leads::$key.gt(c.$key).or(leads::number.gt(c.number))),
            ),
            None => query,
        }
    }};
}

/// The query in `sort`'s order, after `cursor` if given.
fn sorted_after(query: LeadQuery, sort: LeadSort, cursor: Option<Lead>) -> LeadQuery {
    match sort {
        LeadSort::Updated => keyset!(query, cursor, updated_at, desc),
        LeadSort::Created => keyset!(query, cursor, created_at, desc),
        LeadSort::Name => keyset!(query, cursor, name, asc),
        LeadSort::Value => keyset!(query, cursor, value, desc),
    }
}

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
    /// The filter as a boxed query (without order or cursor), shared by the list
    /// and its count.
    fn filtered_leads(&mut self, filter: &LeadFilter) -> LeadQuery {
        let mut query = self.scope.leads().into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(leads::status.eq(status));
        }
        if let Some(owner) = &filter.owner {
            query = query.filter(leads::owner_id.eq(owner.clone()));
        }
        if let Some(number) = filter.company {
            // A subquery rather than a lookup first: a number that no company of
            // this tenant has matches nothing, rather than being ignored.
            let company = self
                .scope
                .companies()
                .filter(companies::number.eq(number))
                .select(companies::id.nullable());
            query = query.filter(leads::company_id.eq_any(company));
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
        query
    }

    /// How many leads match the filter. The whole list and a status filter read
    /// the tenant's counters (six rows, whatever its size); a filter they do not
    /// cover is counted up to [`COUNT_BOUND`], past which it says "more than".
    pub fn count_leads(&mut self, filter: &LeadFilter) -> QueryResult<LeadCount> {
        let searching = filter.q.as_deref().is_some_and(|q| !q.trim().is_empty());
        if !searching && filter.owner.is_none() && filter.company.is_none() {
            let counts = self.lead_counts()?;
            return Ok(LeadCount::Exact(
                counts
                    .iter()
                    .filter(|(status, _, _)| filter.status.is_none_or(|s| s == *status))
                    .map(|(_, n, _)| n)
                    .sum(),
            ));
        }
        let found = self
            .filtered_leads(filter)
            .select(leads::number)
            .limit(COUNT_BOUND + 1)
            .load::<LeadNumber>(self.conn)?
            .len() as i64;
        Ok(if found > COUNT_BOUND {
            LeadCount::MoreThan(COUNT_BOUND)
        } else {
            LeadCount::Exact(found)
        })
    }

    /// The tenant's counters: leads and their value per status (statuses it has
    /// never had are missing).
    pub fn lead_counts(&mut self) -> QueryResult<Vec<(LeadStatus, i64, i64)>> {
        self.scope
            .lead_counts()
            .select((lead_counts::status, lead_counts::leads, lead_counts::value))
            .load(self.conn)
    }

    /// Up to `limit` leads matching the filter, in its order, after the lead
    /// numbered `after` (a cursor from the previous page). A cursor whose lead is
    /// gone starts over from the first page.
    pub fn list_leads(
        &mut self,
        filter: &LeadFilter,
        after: Option<LeadNumber>,
        limit: i64,
    ) -> QueryResult<(Vec<Lead>, Option<LeadNumber>)> {
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
    /// `limit` is clamped to 1..=[`MAX_LEAD_PAGE_SIZE`].
    pub fn list_leads_after(
        &mut self,
        filter: &LeadFilter,
        cursor: Option<Lead>,
        limit: i64,
    ) -> QueryResult<(Vec<Lead>, Option<Lead>)> {
        let limit = limit.clamp(1, MAX_LEAD_PAGE_SIZE);
        let query = sorted_after(self.filtered_leads(filter), filter.sort, cursor);
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
        let companies: HashMap<CompanyId, (CompanyNumber, String)> = if company_ids.is_empty() {
            HashMap::new()
        } else {
            self.scope
                .companies()
                .filter(companies::id.eq_any(company_ids))
                .select((companies::id, companies::number, companies::name))
                .load::<(CompanyId, CompanyNumber, String)>(self.conn)?
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
        after: Option<LeadNumber>,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
