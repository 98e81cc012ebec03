//! Leads of a tenant: the model here; the filtered list in [`list`], single-lead
//! and summary reads in [`read`], leads created per week in [`weekly`], writes
//! (with their status activity) in [`write`].

mod list;
mod read;
mod weekly;
mod write;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use list::LeadFilter;
pub use weekly::MAX_WEEKS;
pub use write::BulkChange;
pub(in crate::db) use write::opening;

use super::schema::leads;
use crate::domain::forms::LeadForm;
use crate::domain::spreadsheet::csv_safe;
use crate::domain::{
    ActivityKind, CompanyId, CompanyNumber, LeadId, LeadNumber, LeadStatus, MemberId, format_money,
};

/// Default rows per page of the lead list.
pub const LEAD_PAGE_SIZE: i64 = 50;
/// Most rows per page a visitor may ask for on the list (`per=`).
pub const MAX_LEAD_LIST_PAGE_SIZE: i64 = 200;
/// Most rows one read of the list returns, whatever the caller asks for; the CSV
/// export reads pages of exactly this.
pub const MAX_LEAD_PAGE_SIZE: i64 = 1_000;
/// Rows per multi-row `INSERT` in bulk writes: 13 columns each stays well under
/// both backends' limits on bound parameters.
pub const INSERT_CHUNK: usize = 1_000;

// The page sizes nest: the default within what a visitor may ask for, and that
// within what one read returns, so no clamp silently cuts a page shorter.
const _: () = assert!(LEAD_PAGE_SIZE <= MAX_LEAD_LIST_PAGE_SIZE);
const _: () = assert!(MAX_LEAD_LIST_PAGE_SIZE <= MAX_LEAD_PAGE_SIZE);

/// A lead as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = leads, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Lead {
    /// Internal id.
    pub id: LeadId,
    /// The id in URLs, per tenant.
    pub number: LeadNumber,
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
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    /// Last change.
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
}

impl Lead {
    /// The lead form filled in with this lead's values (`company` is its
    /// company's number): what the edit form shows, and what the API's `PATCH`
    /// changes the sent fields of.
    pub fn form(&self, company: Option<CompanyNumber>) -> LeadForm {
        LeadForm {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            company_id: company.map(|n| n.to_string()).unwrap_or_default(),
            status: self.status.as_str().to_owned(),
            value: if self.value == 0 {
                String::new()
            } else {
                format_money(self.value)
            },
            owner_id: self
                .owner_id
                .as_ref()
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            source: self.source.clone(),
        }
    }
}

/// A lead as the list page shows it: its number, name, email, status, value and
/// last change, without the ids, phone, source and creation time the page never
/// shows. Each of those is a value to read (most of them a string to allocate)
/// per row, and reading rows was the largest part of a list request's cost.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = leads, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ListedLead {
    /// The id in URLs, per tenant.
    pub number: LeadNumber,
    /// The person's name.
    pub name: String,
    /// Email, may be blank.
    pub email: String,
    /// Pipeline status.
    pub status: LeadStatus,
    /// Deal value in minor units.
    pub value: i64,
    /// Last change.
    #[diesel(deserialize_as = crate::db::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
}

/// A row of the list page: the lead, its company's number and name, its owner's
/// name.
#[derive(Clone, Debug)]
pub struct ListRow {
    /// The lead.
    pub lead: ListedLead,
    /// Its company's number and name.
    pub company: Option<(CompanyNumber, String)>,
    /// Its owner's name.
    pub owner: Option<String>,
}

/// A lead with what the list shows beside it.
#[derive(Clone, Debug)]
pub struct LeadRow {
    /// The lead.
    pub lead: Lead,
    /// Its company's number and name.
    pub company: Option<(CompanyNumber, String)>,
    /// Its owner's name and email.
    pub owner: Option<(String, String)>,
}

impl LeadRow {
    /// The lead as a line of `leads.csv` (the list's export and a tenant bundle),
    /// in the order of [`LEAD_CSV_HEADER`]; cells a spreadsheet would run as a
    /// formula are made text.
    pub fn csv_record(&self) -> [String; 11] {
        let lead = &self.lead;
        [
            lead.number.to_string(),
            csv_safe(&lead.name),
            csv_safe(&lead.email),
            csv_safe(&lead.phone),
            csv_safe(self.company.as_ref().map_or("", |c| c.1.as_str())),
            lead.status.as_str().to_owned(),
            format_money(lead.value),
            csv_safe(self.owner.as_ref().map_or("", |o| o.1.as_str())),
            csv_safe(&lead.source),
            lead.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            lead.updated_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        ]
    }
}

/// The columns of `leads.csv`, in order; the lead import reads the same names.
pub const LEAD_CSV_HEADER: [&str; 11] = [
    "number",
    "name",
    "email",
    "phone",
    "company",
    "status",
    "value",
    "owner_email",
    "source",
    "created_at",
    "updated_at",
];

/// Matches past this are not counted one by one: the list says "more than 1,000".
pub const COUNT_BOUND: i64 = 1_000;

/// How many leads match a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadCount {
    /// Exactly this many.
    Exact(i64),
    /// More than this many (a filter without a counter, counted up to a bound).
    MoreThan(i64),
}

impl LeadCount {
    /// Whether it is exactly one (for the list's "1 lead matches").
    pub fn is_one(self) -> bool {
        self == LeadCount::Exact(1)
    }
}

impl std::fmt::Display for LeadCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            LeadCount::Exact(n) => write!(
                f,
                "{}",
                crate::domain::group_thousands(n.max(0).unsigned_abs())
            ),
            LeadCount::MoreThan(n) => write!(
                f,
                "More than {}",
                crate::domain::group_thousands(n.max(0).unsigned_abs())
            ),
        }
    }
}

/// One page of the list: [`LeadRow`]s for the API, [`ListRow`]s for the page.
#[derive(Debug)]
pub struct LeadPage<R = LeadRow> {
    /// The rows in order.
    pub rows: Vec<R>,
    /// All matches of the filter, over every page.
    pub total: LeadCount,
    /// The cursor (a lead number) of the next page, if there is one.
    pub next_after: Option<LeadNumber>,
}

/// One column of the pipeline board.
#[derive(Clone, Debug)]
pub struct BoardColumn {
    /// Its status.
    pub status: LeadStatus,
    /// How many leads it holds (bounded when filtered by a search).
    pub count: LeadCount,
    /// Their summed value, when the count is exact.
    pub value: Option<i64>,
    /// Whether there are more leads than the cards shown.
    pub more: bool,
    /// Its first leads, in the list's order.
    pub cards: Vec<LeadRow>,
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

/// An entry of a lead's activity: a status change, a note, a task, an owner.
#[derive(Clone, Debug)]
pub struct Activity {
    /// What it records.
    pub kind: ActivityKind,
    /// Who did it, if still known.
    pub actor_name: Option<String>,
    /// The status before a status change (none when the lead was created, and
    /// for other kinds).
    pub from_status: Option<LeadStatus>,
    /// The status after (for other kinds, the lead's status then).
    pub to_status: LeadStatus,
    /// A line about it: a note's opening, a task's title, the new owner's name.
    pub detail: String,
    /// When.
    pub created_at: NaiveDateTime,
}
