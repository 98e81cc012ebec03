//! The lead list: filter, search, sort and keyset pagination, and the names the
//! list shows beside each lead.
//!
//! The list is paginated by keyset, not offset: a page is "the next `limit` rows
//! after this lead in this order", with the lead's per-tenant `number` breaking
//! ties, so the last page costs what the first does and every lead appears exactly
//! once over all pages. Each sort order has an index that starts with `tenant_id`.

use std::collections::HashMap;

use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{
    BoardColumn, COUNT_BOUND, LEAD_PAGE_SIZE, Lead, LeadCount, LeadPage, LeadRow, ListRow,
    ListedLead, MAX_LEAD_PAGE_SIZE,
};
use crate::db::cached_sql::{FixedSql, LiteralLimit, Value};
use crate::db::schema::{companies, lead_counts, leads, users};
use crate::db::scope::{TenantScope, TenantTx};
use crate::db::{DbBackend, DbConnection};
use crate::domain::{
    CompanyId, CompanyNumber, LeadNumber, LeadSort, LeadStatus, MemberId, TenantId,
};

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

/// A tenant's leads, each with its company and owner (left joins on their
/// primary keys, within the tenant), as one boxed query: the list and its count
/// (the joins go unused there, and both planners drop them). For the
/// two-backend connection, or (`DB`) for one backend's own (see
/// `filtered_leads_on!`).
type LeadQuery<DB = DbBackend> = dsl::IntoBoxed<
    'static,
    dsl::LeftJoinOn<
        dsl::LeftJoinOn<
            dsl::Filter<leads::table, dsl::Eq<leads::tenant_id, TenantId>>,
            companies::table,
            dsl::And<
                dsl::Eq<companies::tenant_id, leads::tenant_id>,
                dsl::Eq<dsl::Nullable<companies::id>, leads::company_id>,
            >,
        >,
        users::table,
        dsl::And<
            dsl::Eq<users::tenant_id, leads::tenant_id>,
            dsl::Eq<dsl::Nullable<users::id>, leads::owner_id>,
        >,
    >,
    DB,
>;

/// Orders `$query` by `leads::$key` in direction `$dir` (then by number, the same
/// way) and, given the previous page's last lead `$cursor`, keeps only the rows
/// after it. One invocation per sort order in `sorted_after!`: that is the table
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

/// Where a page starts: the sort keys of the previous page's last lead.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = leads, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct Cursor {
    number: LeadNumber,
    name: String,
    value: i64,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    created_at: chrono::NaiveDateTime,
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    updated_at: chrono::NaiveDateTime,
}

impl From<&Lead> for Cursor {
    fn from(l: &Lead) -> Self {
        Cursor {
            number: l.number,
            name: l.name.clone(),
            value: l.value,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// `$query` in `$sort`'s order, after `$cursor` if given: a boxed lead query of
/// either connection.
macro_rules! sorted_after {
    ($query:expr, $sort:expr, $cursor:expr) => {
        match $sort {
            LeadSort::Updated => keyset!($query, $cursor, updated_at, desc),
            LeadSort::Created => keyset!($query, $cursor, created_at, desc),
            LeadSort::Name => keyset!($query, $cursor, name, asc),
            LeadSort::Value => keyset!($query, $cursor, value, desc),
        }
    };
}

/// A lead with its company's number and name and its owner's name and email,
/// as the list's query reads them.
type NamedLead = (
    Lead,
    Option<(CompanyNumber, String)>,
    Option<(String, String)>,
);

/// The first `limit` of `rows` (read with one more, to know whether there are
/// more) and, if there were more, `cursor` of the last one kept.
fn split_page<T, C>(mut rows: Vec<T>, limit: i64, cursor: impl Fn(&T) -> C) -> (Vec<T>, Option<C>) {
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(cursor)
    } else {
        None
    };
    (rows, next)
}

/// A lead as the list page's query reads it, with its company's number and
/// name and its owner's name.
type ShownLead = (ListedLead, Option<(CompanyNumber, String)>, Option<String>);

/// The search part of a filter, planned by [`TenantTx::plan_search`].
#[derive(Debug)]
enum Search {
    /// No search.
    Everything,
    /// Exactly the leads with these numbers (every match), looked up one by
    /// one: few of the tenant's leads.
    Numbers(Vec<LeadNumber>),
    /// Exactly the leads with these numbers (every match), so many of the
    /// tenant's leads that the list walks its own order and keeps them (SQLite):
    /// a page reads about `limit * leads / matches` index entries rather than
    /// every match (see [`walks`]).
    Among(Vec<LeadNumber>),
    /// Leads whose lowered name or email is `LIKE` the pattern, or whose company
    /// is one of these.
    Like {
        pattern: String,
        companies: Vec<CompanyId>,
        /// Known to match more than [`COUNT_BOUND`] leads.
        more_than_bound: bool,
        /// Planned for its own words every time rather than prepared once
        /// ([`replanned`]): PostgreSQL, words too short for a trigram.
        replan: bool,
    },
}

/// One number a query returns.
#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One id a query returns.
#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// A tenant's rows in the SQLite search index are `key * 2^32 + number`, `key`
/// being its row in `search_keys` (see the migration `2026-12-03-000002_search`).
const SEARCH_BASE: &str = "SELECT key * 4294967296 AS n FROM search_keys WHERE tenant_id = $1";

/// The leads of a tenant (its index range from `$2`) whose name or email
/// contains the phrase `$3`, at most `$4`: the index alone, which holds the
/// lowered text and so answers exactly what `lower(...) LIKE` would (see the
/// migration `2026-12-08-000001_exact_search`). It takes the values of
/// [`SEARCH_COMPANY_LEADS`]; the tenant (`$1`) is its index range here.
const SEARCH_LEADS: &str = "\
    SELECT f.rowid - $2 AS n FROM lead_search f \
     WHERE lead_search MATCH $3 AND f.rowid >= $2 AND f.rowid < $2 + 4294967296 \
     LIMIT $4";

/// The leads of a tenant (`$1`, its index range from `$2`) whose company's
/// name contains the phrase `$3`, at most `$4`. `CROSS JOIN` makes the index
/// the outer loop (SQLite keeps that order); each company's leads come from
/// `leads_by_company` alone.
const SEARCH_COMPANY_LEADS: &str = "\
    SELECT l.number AS n FROM company_search g \
      CROSS JOIN companies c ON c.tenant_id = $1 AND c.number = g.rowid - $2 \
      CROSS JOIN leads l ON l.tenant_id = $1 AND l.company_id = c.id \
     WHERE company_search MATCH $3 AND g.rowid >= $2 AND g.rowid < $2 + 4294967296 \
     LIMIT $4";

/// The companies of a tenant whose name contains the phrase, found as
/// [`SEARCH_COMPANY_LEADS`] does.
const SEARCH_COMPANIES: &str = "\
    SELECT c.id AS id FROM company_search g \
      CROSS JOIN companies c ON c.tenant_id = $1 AND c.number = g.rowid - $2 \
     WHERE company_search MATCH $3 AND g.rowid >= $2 AND g.rowid < $2 + 4294967296";

/// Index entries a walk of the list's order may step over for each lead it
/// would otherwise look up by number: a step reads the next entry of the same
/// index, a lookup descends two B-trees (the number's index, then the row).
const STEPS_PER_LOOKUP: i64 = 8;

/// Whether a page of `limit` leads among `matches` of the tenant's `leads` is
/// cheaper walked in the list's order (about `limit * leads / matches` steps,
/// index entries only) than by looking up every match and sorting them.
fn walks(matches: i64, leads: i64, limit: i64) -> bool {
    matches > 0
        && (limit + 1).saturating_mul(leads)
            < STEPS_PER_LOOKUP.saturating_mul(matches.saturating_mul(matches))
}

/// A condition that always holds and keeps its query from being prepared:
/// Diesel sends a query with an SQL literal as an unnamed statement, which
/// PostgreSQL plans for the values it is given each time. A prepared
/// `lower(...) LIKE $1` gets PostgreSQL's generic plan after five runs, which
/// cannot know that `$1` is too short for a trigram and takes the trigram
/// index anyway: for one or two characters that reads every entry of the index,
/// every tenant's (`q=zz` at 10,000 leads a tenant: 590 ms a query, against
/// 7.5 ms for the plan made for `%zz%`, which reads the tenant's leads).
fn replanned() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    dsl::sql::<diesel::sql_types::Bool>("TRUE")
}

/// Lead numbers as a JSON array.
fn json_numbers(numbers: &[LeadNumber]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(numbers.len() * 7 + 2);
    out.push('[');
    for (i, n) in numbers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", n.get());
    }
    out.push(']');
    out
}

/// The words as one FTS5 phrase: a substring, whatever characters it holds.
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
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

/// Writes `$name`, the filter as a boxed lead query for backend `$db` (without
/// order or cursor), with the search part as [`TenantTx::plan_search`] planned
/// it: one text for the two-backend connection and for each backend's own. The
/// list page's query runs on the backend's own connection (see `on_backend!`):
/// its rows are read without the two-backend conversions, and its SQL is
/// written once per run rather than three times.
macro_rules! filtered_leads_on {
    ($name:ident, $db:ty) => {
        fn $name(scope: &TenantScope, filter: &LeadFilter, search: &Search) -> LeadQuery<$db> {
            let mut query = scope
                .leads()
                .left_join(
                    companies::table.on(companies::tenant_id
                        .eq(leads::tenant_id)
                        .and(companies::id.nullable().eq(leads::company_id))),
                )
                .left_join(
                    users::table.on(users::tenant_id
                        .eq(leads::tenant_id)
                        .and(users::id.nullable().eq(leads::owner_id))),
                )
                .into_boxed();
            if let Some(status) = filter.status {
                query = query.filter(leads::status.eq(status));
            }
            if let Some(owner) = &filter.owner {
                query = query.filter(leads::owner_id.eq(owner.clone()));
            }
            if let Some(number) = filter.company {
                // On the joined company rather than a lookup first: a number that
                // no company of this tenant has matches nothing, rather than being
                // ignored.
                query = query.filter(companies::number.eq(number));
            }
            match search {
                Search::Everything => {}
                Search::Numbers(numbers) => {
                    // A list of binds, not one JSON array (`one_of!`): the planner
                    // must see how few they are, or it walks the tenant's leads in
                    // the list's order and checks each against them.
                    query = query.filter(leads::number.eq_any(numbers.clone()));
                }
                Search::Among(numbers) => {
                    // That walk, on purpose: one JSON array (the same SQL each
                    // time, so the statement stays compiled), and `+` keeps the
                    // planner from looking the numbers up in their index.
                    query = query.filter(crate::db::cached_sql::JsonEachIn {
                        column: "+leads.number",
                        json: json_numbers(numbers),
                    });
                }
                Search::Like {
                    pattern,
                    companies,
                    replan,
                    ..
                } => {
                    if *replan {
                        query = query.filter(replanned());
                    }
                    let by_person = lower(leads::name)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(leads::email).like(pattern.clone()).escape('\\'));
                    query = if companies.is_empty() {
                        query.filter(by_person)
                    } else {
                        let ids: Vec<Option<CompanyId>> =
                            companies.iter().cloned().map(Some).collect();
                        query.filter(by_person.or(leads::company_id.eq_any(ids)))
                    };
                }
            }
            query
        }
    };
}

filtered_leads_on!(filtered_leads_any, DbBackend);
filtered_leads_on!(filtered_leads_sqlite, diesel::sqlite::Sqlite);
filtered_leads_on!(filtered_leads_pg, diesel::pg::Pg);

impl TenantTx<'_> {
    /// The filter as a boxed query (without order or cursor), shared by the list
    /// and its count, with the search part as [`TenantTx::plan_search`] planned it.
    fn filtered_leads(&mut self, filter: &LeadFilter, search: &Search) -> LeadQuery {
        filtered_leads_any(&self.scope, filter, search)
    }

    /// Plans the search part of a filter. Every plan finds exactly the leads
    /// whose name or email contains the words, ignoring case as the backend's
    /// `lower()` does, or whose company's name does:
    /// - PostgreSQL: `lower(...) LIKE`, which the pg_trgm index serves for words
    ///   of three characters or more where `lower` and `LIKE` are marked
    ///   leakproof (see [`crate::db::SEARCH_INDEX_LEAKPROOF`]; otherwise forced
    ///   row-level security keeps the planner from the index, and it is a scan
    ///   of the tenant's leads); the matching companies are looked up first.
    ///   Up to [`COUNT_BOUND`] matching leads become a list of numbers; past
    ///   that, the list walks its index with the `LIKE`, as on SQLite.
    /// - SQLite, three characters or more: the FTS5 trigram index, which holds
    ///   the lowered text, finds this tenant's matches (its own rowid range)
    ///   without reading a lead; up to [`COUNT_BOUND`] of them become a list of
    ///   numbers. Past that, the list walks its index with the `LIKE`, which is
    ///   then cheap, matches being that common.
    /// - A list of numbers that is a large share of the tenant's leads is, on
    ///   SQLite, walked in the list's order rather than looked up (see
    ///   [`walks`]).
    /// - Shorter words, either backend: there is no trigram to look up, so the
    ///   tenant's leads are scanned with the `LIKE` in their stored order, up to
    ///   [`COUNT_BOUND`] + 1 matches; as with the index, up to the bound become
    ///   a list of numbers, and past it the list walks its index with the `LIKE`.
    fn plan_search(&mut self, filter: &LeadFilter) -> QueryResult<Search> {
        let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
            return Ok(Search::Everything);
        };
        let folded = fold_case(self.conn, q);
        let pattern = contains_pattern(&folded);
        let indexed = q.chars().count() >= 3;
        if indexed && matches!(self.conn, DbConnection::Sqlite(_)) {
            let Some(base) = self.search_base()? else {
                // The tenant never had a lead or company in this store.
                return Ok(Search::Numbers(Vec::new()));
            };
            let phrase = fts_phrase(&folded);
            let mut numbers = self.fts_numbers(SEARCH_LEADS, base, &phrase)?;
            if numbers.len() as i64 <= COUNT_BOUND {
                numbers.extend(self.fts_numbers(SEARCH_COMPANY_LEADS, base, &phrase)?);
                numbers.sort_unstable();
                numbers.dedup();
            }
            if numbers.len() as i64 <= COUNT_BOUND {
                return self.exactly(numbers);
            }
            let companies = self.fts_company_ids(base, &phrase)?;
            return Ok(Search::Like {
                pattern,
                companies,
                more_than_bound: true,
                replan: false,
            });
        }
        let replan = !indexed && matches!(self.conn, DbConnection::Postgresql(_));
        let companies = self
            .scope
            .companies()
            .filter(lower(companies::name).like(pattern.clone()).escape('\\'))
            .select(companies::id)
            .into_boxed();
        let companies = if replan {
            companies.filter(replanned())
        } else {
            companies
        }
        .load(self.conn)?;
        // The matching leads' numbers, up to `COUNT_BOUND` + 1, by a query of
        // their own. On PostgreSQL, for three characters or more, without an
        // order, so that its planner may take the trigram index: with the
        // list's order and limit it walked the tenant's leads by `updated_at`
        // (873 ms for `zzq` at 100,000 leads). Where `lower` and `LIKE` are not
        // marked leakproof, row-level security keeps the planner from the index
        // and this is a scan of the tenant's leads. For shorter words,
        // with no trigram to look up on either backend, in the order the leads
        // are stored (by number): walking them in the list's order read them in
        // random order, a page at a time (4.6 s for `zz` at 100,000 leads).
        let scan = Search::Like {
            pattern: pattern.clone(),
            companies: companies.clone(),
            more_than_bound: false,
            replan,
        };
        let mut candidates = self.filtered_leads(&LeadFilter::default(), &scan);
        if !indexed {
            candidates = candidates.order(leads::number.asc());
        }
        let numbers: Vec<LeadNumber> = candidates
            .select(leads::number)
            .limit(COUNT_BOUND + 1)
            .load(self.conn)?;
        if numbers.len() as i64 <= COUNT_BOUND {
            return self.exactly(numbers);
        }
        Ok(Search::Like {
            pattern,
            companies,
            more_than_bound: true,
            replan,
        })
    }

    /// Exactly the leads with these numbers: on SQLite, walked in the list's
    /// order where they are many of the tenant's leads (see [`walks`]; the
    /// tenant's size is its counters' sum), otherwise looked up.
    fn exactly(&mut self, numbers: Vec<LeadNumber>) -> QueryResult<Search> {
        if matches!(self.conn, DbConnection::Sqlite(_)) {
            let leads = self.lead_counts()?.iter().map(|(_, n, _)| n).sum();
            if walks(numbers.len() as i64, leads, LEAD_PAGE_SIZE) {
                return Ok(Search::Among(numbers));
            }
        }
        Ok(Search::Numbers(numbers))
    }

    /// This tenant's search key in this SQLite file, times 2^32: the first rowid
    /// of its range in the search index. `None` if it has none yet.
    fn search_base(&mut self) -> QueryResult<Option<i64>> {
        let tenant = self.scope.tenant_id().as_str().to_owned();
        let DbConnection::Sqlite(c) = &mut *self.conn else {
            return Ok(None);
        };
        Ok(FixedSql {
            sql: SEARCH_BASE,
            values: vec![Value::Text(tenant)],
        }
        .get_result::<Number>(c)
        .optional()?
        .map(|r| r.n))
    }

    /// Up to [`COUNT_BOUND`] + 1 numbers of leads that `sql` (one of
    /// [`SEARCH_LEADS`] and [`SEARCH_COMPANY_LEADS`]) finds for the phrase.
    fn fts_numbers(
        &mut self,
        sql: &'static str,
        base: i64,
        phrase: &str,
    ) -> QueryResult<Vec<LeadNumber>> {
        let tenant = self.scope.tenant_id().as_str().to_owned();
        let DbConnection::Sqlite(c) = &mut *self.conn else {
            return Ok(Vec::new());
        };
        let values = vec![
            Value::Text(tenant),
            Value::BigInt(base),
            Value::Text(phrase.to_owned()),
            Value::BigInt(COUNT_BOUND + 1),
        ];
        let rows: Vec<Number> = FixedSql { sql, values }.load(c)?;
        Ok(rows.into_iter().map(|r| LeadNumber::new(r.n)).collect())
    }

    /// Ids of the companies whose name contains the phrase, from the index.
    fn fts_company_ids(&mut self, base: i64, phrase: &str) -> QueryResult<Vec<CompanyId>> {
        let tenant = self.scope.tenant_id().as_str().to_owned();
        let DbConnection::Sqlite(c) = &mut *self.conn else {
            return Ok(Vec::new());
        };
        let rows: Vec<Id> = FixedSql {
            sql: SEARCH_COMPANIES,
            values: vec![
                Value::Text(tenant),
                Value::BigInt(base),
                Value::Text(phrase.to_owned()),
            ],
        }
        .load(c)?;
        Ok(rows
            .into_iter()
            .map(|r| CompanyId::from_string(r.id))
            .collect())
    }

    /// How many leads match the filter. The whole list and a status filter read
    /// the tenant's counters (six rows, whatever its size); a filter they do not
    /// cover is counted up to [`COUNT_BOUND`], past which it says "more than".
    pub fn count_leads(&mut self, filter: &LeadFilter) -> QueryResult<LeadCount> {
        let search = self.plan_search(filter)?;
        self.count_planned(filter, &search)
    }

    fn count_planned(&mut self, filter: &LeadFilter, search: &Search) -> QueryResult<LeadCount> {
        let others = filter.owner.is_some() || filter.company.is_some() || filter.status.is_some();
        match search {
            Search::Everything if filter.owner.is_none() && filter.company.is_none() => {
                let counts = self.lead_counts()?;
                return Ok(LeadCount::Exact(
                    counts
                        .iter()
                        .filter(|(status, _, _)| filter.status.is_none_or(|s| s == *status))
                        .map(|(_, n, _)| n)
                        .sum(),
                ));
            }
            Search::Numbers(numbers) | Search::Among(numbers) if !others => {
                return Ok(LeadCount::Exact(numbers.len() as i64));
            }
            Search::Like {
                more_than_bound: true,
                ..
            } if !others => return Ok(LeadCount::MoreThan(COUNT_BOUND)),
            _ => {}
        }
        let found = self
            .filtered_leads(filter, search)
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
        let query = self.scope.lead_counts().select((
            lead_counts::status,
            lead_counts::leads,
            lead_counts::value,
        ));
        crate::db::on_backend!(self.conn, |c| query.load(c))
    }

    /// Up to `limit` leads matching the filter with their company and owner
    /// names, in its order, after the lead
    /// numbered `after` (a cursor from the previous page). A cursor whose lead is
    /// gone starts over from the first page.
    pub fn list_leads(
        &mut self,
        filter: &LeadFilter,
        after: Option<LeadNumber>,
        limit: i64,
    ) -> QueryResult<(Vec<LeadRow>, Option<LeadNumber>)> {
        let cursor = self.cursor_at(after)?;
        let search = self.plan_search(filter)?;
        let (rows, next) = self.list_planned(filter, &search, cursor, limit)?;
        Ok((rows, next.map(|l| l.number)))
    }

    /// The sort keys of the lead numbered `after`, if it is there.
    fn cursor_at(&mut self, after: Option<LeadNumber>) -> QueryResult<Option<Cursor>> {
        let Some(n) = after else {
            return Ok(None);
        };
        let query = self.scope.leads().filter(leads::number.eq(n));
        crate::db::on_backend!(self.conn, |c| query
            .select(Cursor::as_select())
            .first(c)
            .optional())
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
    ) -> QueryResult<(Vec<LeadRow>, Option<Lead>)> {
        let search = self.plan_search(filter)?;
        self.list_planned(filter, &search, cursor.as_ref().map(Cursor::from), limit)
    }

    /// A page of the list as [`LeadRow`]s (whole leads, their company's number
    /// and name, their owner's name and email) and the last lead if there are
    /// more.
    fn list_planned(
        &mut self,
        filter: &LeadFilter,
        search: &Search,
        cursor: Option<Cursor>,
        limit: i64,
    ) -> QueryResult<(Vec<LeadRow>, Option<Lead>)> {
        let limit = limit.clamp(1, MAX_LEAD_PAGE_SIZE);
        let query = sorted_after!(self.filtered_leads(filter, search), filter.sort, cursor);
        let rows: Vec<NamedLead> = query
            .select((
                Lead::as_select(),
                (companies::number, companies::name).nullable(),
                (users::name, users::email).nullable(),
            ))
            .limit(limit + 1)
            .load(self.conn)?;
        let (rows, next) = split_page(rows, limit, |row| row.0.clone());
        let rows = rows
            .into_iter()
            .map(|(lead, company, owner)| LeadRow {
                company,
                owner,
                lead,
            })
            .collect();
        Ok((rows, next))
    }

    /// A page of the list as the list page shows it ([`ListRow`]: the columns
    /// it has, and nothing else), and the number of its last lead if there are
    /// more.
    fn list_shown_planned(
        &mut self,
        filter: &LeadFilter,
        search: &Search,
        cursor: Option<Cursor>,
        limit: i64,
    ) -> QueryResult<(Vec<ListRow>, Option<LeadNumber>)> {
        let limit = limit.clamp(1, MAX_LEAD_PAGE_SIZE);
        let scope = &self.scope;
        // The same query for each backend's own connection, from its own
        // `filtered_leads_on!` function.
        macro_rules! shown {
            ($filtered:ident) => {
                sorted_after!($filtered(scope, filter, search), filter.sort, cursor).select((
                    ListedLead::as_select(),
                    (companies::number, companies::name).nullable(),
                    users::name.nullable(),
                ))
            };
        }
        let rows: Vec<ShownLead> = match &mut *self.conn {
            DbConnection::Sqlite(c) => shown!(filtered_leads_sqlite).limit(limit + 1).load(c)?,
            // The limit written into the text, so that PostgreSQL's generic
            // plan knows it (see `LiteralLimit`).
            DbConnection::Postgresql(c) => LiteralLimit {
                query: shown!(filtered_leads_pg),
                limit: limit + 1,
            }
            .load(c)?,
        };
        let (rows, next) = split_page(rows, limit, |row| row.0.number);
        let rows = rows
            .into_iter()
            .map(|(lead, company, owner)| ListRow {
                lead,
                company,
                owner,
            })
            .collect();
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
            let query = self.scope.companies().into_boxed();
            crate::db::one_of!(query, self.conn, companies::id, "companies.id", company_ids)
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

    /// The pipeline board: a column per status with its count, its value (when
    /// the count is exact) and its first `per_column` leads in the list's order.
    /// Unfiltered, counts and values come from the counters, so a status with
    /// 10,000 leads costs its first cards only.
    pub fn board(&mut self, filter: &LeadFilter, per_column: i64) -> QueryResult<Vec<BoardColumn>> {
        let unfiltered = filter.q.is_none() && filter.owner.is_none() && filter.company.is_none();
        let counters = if unfiltered {
            self.lead_counts()?
        } else {
            Vec::new()
        };
        let search = self.plan_search(filter)?;
        let mut columns = Vec::new();
        let mut all = Vec::new();
        for status in LeadStatus::ALL {
            let f = LeadFilter {
                status: Some(status),
                ..filter.clone()
            };
            let (leads, next) = self.list_planned(&f, &search, None, per_column)?;
            let (count, value) = if unfiltered {
                let (n, v) = counters
                    .iter()
                    .find(|(s, _, _)| *s == status)
                    .map_or((0, 0), |(_, n, v)| (*n, *v));
                (LeadCount::Exact(n), Some(v))
            } else if next.is_none() {
                let v = leads.iter().map(|l| l.lead.value).sum();
                (LeadCount::Exact(leads.len() as i64), Some(v))
            } else {
                match self.count_planned(&f, &search)? {
                    LeadCount::Exact(n) => {
                        (LeadCount::Exact(n), Some(self.value_planned(&f, &search)?))
                    }
                    more => (more, None),
                }
            };
            columns.push(BoardColumn {
                status,
                count,
                value,
                more: next.is_some(),
                cards: Vec::new(),
            });
            all.extend(leads);
        }
        for row in all {
            if let Some(column) = columns.iter_mut().find(|c| c.status == row.lead.status) {
                column.cards.push(row);
            }
        }
        Ok(columns)
    }

    /// The summed value of the leads a filter matches (only asked for counts that
    /// are exact, so at most [`COUNT_BOUND`] leads).
    fn value_planned(&mut self, filter: &LeadFilter, search: &Search) -> QueryResult<i64> {
        let sum: Option<i64> = self
            .filtered_leads(filter, search)
            .select(diesel::dsl::sql::<diesel::sql_types::Nullable<BigInt>>(
                "CAST(SUM(leads.value) AS BIGINT)",
            ))
            .first(self.conn)?;
        Ok(sum.unwrap_or(0))
    }

    /// One page of the list with names and the total count, for the API:
    /// whole leads with their company and owner.
    pub fn lead_page(
        &mut self,
        filter: &LeadFilter,
        after: Option<LeadNumber>,
        limit: i64,
    ) -> QueryResult<LeadPage> {
        self.page_with(filter, after, |tx, search, cursor| {
            let (rows, next) = tx.list_planned(filter, search, cursor, limit)?;
            Ok((rows, next.map(|l| l.number)))
        })
    }

    /// One page of the list and the total count, as the list page shows it.
    pub fn shown_lead_page(
        &mut self,
        filter: &LeadFilter,
        after: Option<LeadNumber>,
        limit: i64,
    ) -> QueryResult<LeadPage<ListRow>> {
        self.page_with(filter, after, |tx, search, cursor| {
            tx.list_shown_planned(filter, search, cursor, limit)
        })
    }

    /// A page read by `list` (rows and the next page's cursor) after the lead
    /// numbered `after`, and its total.
    fn page_with<R>(
        &mut self,
        filter: &LeadFilter,
        after: Option<LeadNumber>,
        list: impl FnOnce(
            &mut Self,
            &Search,
            Option<Cursor>,
        ) -> QueryResult<(Vec<R>, Option<LeadNumber>)>,
    ) -> QueryResult<LeadPage<R>> {
        let search = self.plan_search(filter)?;
        let cursor = self.cursor_at(after)?;
        let first_page = cursor.is_none();
        let (rows, next_after) = list(self, &search, cursor)?;
        // A first page that holds every match is its own count: a search that
        // finds a few leads (or none) is not walked a second time to count them.
        let total = if first_page && next_after.is_none() {
            LeadCount::Exact(rows.len() as i64)
        } else {
            self.count_planned(filter, &search)?
        };
        Ok(LeadPage {
            rows,
            total,
            next_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_phrases_quote_the_words_whole() {
        assert_eq!(fts_phrase("ada"), "\"ada\"");
        assert_eq!(fts_phrase("a \"b\" OR c*"), "\"a \"\"b\"\" OR c*\"");
    }

    #[test]
    fn a_large_share_of_the_tenant_is_walked_and_a_few_leads_looked_up() {
        // 565 of 10,000 leads: a page walks about 900 index entries rather than
        // looking up 565 leads.
        assert!(walks(565, 10_000, 50));
        // Every lead of a small tenant.
        assert!(walks(13, 13, 50));
        assert!(!walks(4, 13, 50));
        assert!(!walks(30, 100_000, 50));
        assert!(!walks(1_000, 1_000_000, 200));
        assert!(!walks(0, 0, 50));
        assert!(!walks(0, 10, 50));
    }

    #[test]
    fn a_search_too_short_for_a_trigram_is_planned_for_its_words_on_postgresql() {
        use diesel::query_builder::QueryFragment;
        let scope = TenantScope::for_tests(TenantId::generate());
        let like = |replan| Search::Like {
            pattern: "%zz%".to_owned(),
            companies: Vec::new(),
            more_than_bound: false,
            replan,
        };
        let cached = |search: &Search| {
            let query =
                filtered_leads_pg(&scope, &LeadFilter::default(), search).select(leads::number);
            QueryFragment::<diesel::pg::Pg>::is_safe_to_cache_prepared(&query, &diesel::pg::Pg)
                .unwrap()
        };
        // Not a prepared statement, whose generic plan would read the whole
        // trigram index: an unnamed one, planned for `%zz%` each time.
        assert!(!cached(&like(true)));
        // Words the index serves stay prepared.
        assert!(cached(&like(false)));
        assert!(cached(&Search::Everything));
    }

    #[test]
    fn numbers_become_a_json_array() {
        assert_eq!(json_numbers(&[]), "[]");
        let numbers = [1, 42, 9_007_199_254_740_993].map(LeadNumber::new);
        assert_eq!(json_numbers(&numbers), "[1,42,9007199254740993]");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
