//! A workspace's own data, read for its admins' download (`GET /settings/export.zip`):
//! leads, companies, notes and members, a keyset page at a time.
//!
//! The caller runs every page inside one [`Db::read_snapshot`](super::Db::read_snapshot)
//! transaction, so the files agree with each other (a note's lead is in `leads.csv`)
//! however long the download takes, and memory stays at one page of
//! [`EXPORT_PAGE_ROWS`] whatever the workspace's size. Pages follow the order of a
//! unique key with an index that starts with `tenant_id` (a number, or a time with
//! the id breaking ties), so every row appears exactly once.
//!
//! Unlike the operator's bundle (`db::bundle`), this is for people: no internal ids,
//! names instead of references, and never a password hash, session or token. The
//! members' query selects its columns one by one for that reason.
//!
//! Every text cell goes through [`csv_safe`], as every CSV Tenantry writes does.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::AuditEntry;
use super::leads::{Lead, LeadRow};
use super::schema::{audit_log, companies, leads, notes, users};
use super::scope::TenantTx;
use crate::domain::spreadsheet::csv_safe;
use crate::domain::{CompanyNumber, LeadId, LeadNumber, MemberId, Role};

/// Rows read per query while exporting.
pub const EXPORT_PAGE_ROWS: i64 = 1_000;

/// How `created_at` and `updated_at` cells are written (UTC), as in the lead list's
/// CSV export.
const CSV_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// The columns of `companies.csv`, in order.
pub const COMPANY_CSV_HEADER: [&str; 5] = ["number", "name", "domain", "created_at", "updated_at"];
/// The columns of `notes.csv`, in order.
pub const NOTE_CSV_HEADER: [&str; 6] = [
    "lead_number",
    "lead_name",
    "author_name",
    "author_email",
    "body",
    "created_at",
];
/// The columns of `members.csv`, in order. Nothing that logs anyone in.
pub const MEMBER_CSV_HEADER: [&str; 5] = ["name", "email", "role", "active", "created_at"];

/// One page of an export and where the next one starts (none after the last).
#[derive(Debug)]
pub struct ExportPage<R, C> {
    /// The rows, in key order.
    pub rows: Vec<R>,
    /// The key of the last row, when the page was full.
    pub next: Option<C>,
}

impl<R, C> ExportPage<R, C> {
    fn of(rows: Vec<R>, limit: i64, key: impl Fn(&R) -> C) -> Self {
        let full = i64::try_from(rows.len()).is_ok_and(|n| n >= limit);
        let next = if full { rows.last().map(key) } else { None };
        Self { rows, next }
    }
}

/// Where the next page of notes or members starts: after this creation time and id.
#[derive(Clone, Debug)]
pub struct TimeKey {
    at: NaiveDateTime,
    id: String,
}

/// A company as `companies.csv` shows it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = companies, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CompanyExport {
    /// The number its URL shows.
    pub number: CompanyNumber,
    /// Its name.
    pub name: String,
    /// Its web domain, may be blank.
    pub domain: String,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl CompanyExport {
    /// The company as a line of `companies.csv`, in [`COMPANY_CSV_HEADER`] order.
    pub fn csv_record(&self) -> [String; 5] {
        [
            self.number.to_string(),
            csv_safe(&self.name),
            csv_safe(&self.domain),
            self.created_at.format(CSV_TIME).to_string(),
            self.updated_at.format(CSV_TIME).to_string(),
        ]
    }
}

/// A note as `notes.csv` shows it: its lead by number and name, its author by name
/// and email.
#[derive(Debug)]
pub struct NoteExport {
    /// The lead's number.
    pub lead_number: Option<LeadNumber>,
    /// The lead's name.
    pub lead_name: String,
    /// The author's name and email.
    pub author: Option<(String, String)>,
    /// Text as written.
    pub body: String,
    /// When it was written.
    pub created_at: NaiveDateTime,
}

impl NoteExport {
    /// The note as a line of `notes.csv`, in [`NOTE_CSV_HEADER`] order.
    pub fn csv_record(&self) -> [String; 6] {
        let (author_name, author_email) = self
            .author
            .as_ref()
            .map_or(("", ""), |(n, e)| (n.as_str(), e.as_str()));
        [
            self.lead_number.map(|n| n.to_string()).unwrap_or_default(),
            csv_safe(&self.lead_name),
            csv_safe(author_name),
            csv_safe(author_email),
            csv_safe(&self.body),
            self.created_at.format(CSV_TIME).to_string(),
        ]
    }
}

/// A member as `members.csv` shows it. Its query names these columns and no
/// other: the password hash never leaves the table this way.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MemberExport {
    id: MemberId,
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Admin or member.
    pub role: Role,
    /// Whether they may log in.
    pub active: bool,
    /// When they joined.
    pub created_at: NaiveDateTime,
}

impl MemberExport {
    /// The member as a line of `members.csv`, in [`MEMBER_CSV_HEADER`] order.
    pub fn csv_record(&self) -> [String; 5] {
        [
            csv_safe(&self.name),
            csv_safe(&self.email),
            self.role.as_str().to_owned(),
            self.active.to_string(),
            self.created_at.format(CSV_TIME).to_string(),
        ]
    }
}

impl TenantTx<'_> {
    /// A page of the tenant's leads by number, after `after`, with their company
    /// and owner named as the list's CSV export shows them.
    pub fn export_leads(
        &mut self,
        after: Option<LeadNumber>,
        limit: i64,
    ) -> QueryResult<ExportPage<LeadRow, LeadNumber>> {
        let mut query = self
            .scope
            .leads()
            .order(leads::number.asc())
            .select(Lead::as_select())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(leads::number.gt(after));
        }
        let page: Vec<Lead> = query.load(self.conn)?;
        let rows = self.describe_leads(page)?;
        Ok(ExportPage::of(rows, limit, |r| r.lead.number))
    }

    /// A page of the tenant's audit log, oldest first, after the entry `after`.
    pub fn export_audit(
        &mut self,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<ExportPage<AuditEntry, i64>> {
        let mut query = self
            .scope
            .audit_log()
            .order(audit_log::seq.asc())
            .select(AuditEntry::as_select())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(audit_log::seq.gt(after));
        }
        let rows = query.load(self.conn)?;
        Ok(ExportPage::of(rows, limit, |e| e.seq))
    }

    /// A page of the tenant's companies by number, after `after`.
    pub fn export_companies(
        &mut self,
        after: Option<CompanyNumber>,
        limit: i64,
    ) -> QueryResult<ExportPage<CompanyExport, CompanyNumber>> {
        let mut query = self
            .scope
            .companies()
            .order(companies::number.asc())
            .select(CompanyExport::as_select())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(companies::number.gt(after));
        }
        let rows = query.load(self.conn)?;
        Ok(ExportPage::of(rows, limit, |c| c.number))
    }

    /// A page of the tenant's notes, oldest first, after `after`; each with its
    /// lead's number and name and its author's name and email (looked up for
    /// this page only).
    pub fn export_notes(
        &mut self,
        after: Option<TimeKey>,
        limit: i64,
    ) -> QueryResult<ExportPage<NoteExport, TimeKey>> {
        let mut query = self.scope.notes().into_boxed();
        if let Some(k) = after {
            query = query.filter(
                notes::created_at
                    .gt(k.at)
                    .or(notes::created_at.eq(k.at).and(notes::id.gt(k.id))),
            );
        }
        let rows: Vec<(String, LeadId, MemberId, String, NaiveDateTime)> = query
            .order((notes::created_at.asc(), notes::id.asc()))
            .select((
                notes::id,
                notes::lead_id,
                notes::author_id,
                notes::body,
                notes::created_at,
            ))
            .limit(limit)
            .load(self.conn)?;
        let ExportPage { rows, next } = ExportPage::of(rows, limit, |(id, _, _, _, at)| TimeKey {
            at: *at,
            id: id.clone(),
        });

        let mut lead_ids: Vec<LeadId> = rows.iter().map(|r| r.1.clone()).collect();
        lead_ids.sort();
        lead_ids.dedup();
        let leads: HashMap<LeadId, (LeadNumber, String)> = if lead_ids.is_empty() {
            Default::default()
        } else {
            self.scope
                .leads()
                .filter(leads::id.eq_any(lead_ids))
                .select((leads::id, leads::number, leads::name))
                .load::<(LeadId, LeadNumber, String)>(self.conn)?
                .into_iter()
                .map(|(id, n, name)| (id, (n, name)))
                .collect()
        };
        let mut author_ids: Vec<MemberId> = rows.iter().map(|r| r.2.clone()).collect();
        author_ids.sort();
        author_ids.dedup();
        let authors = self.member_names(author_ids)?;
        let rows = rows
            .into_iter()
            .map(|(_, lead, author, body, created_at)| {
                let lead = leads.get(&lead);
                NoteExport {
                    lead_number: lead.map(|l| l.0),
                    lead_name: lead.map(|l| l.1.clone()).unwrap_or_default(),
                    author: authors.get(&author).cloned(),
                    body,
                    created_at,
                }
            })
            .collect();
        Ok(ExportPage { rows, next })
    }

    /// A page of the tenant's members in the order they joined, after `after`:
    /// name, email, role, whether active, when they joined; nothing else.
    pub fn export_members(
        &mut self,
        after: Option<TimeKey>,
        limit: i64,
    ) -> QueryResult<ExportPage<MemberExport, TimeKey>> {
        let mut query = self.scope.users().into_boxed();
        if let Some(k) = after {
            query = query.filter(
                users::created_at
                    .gt(k.at)
                    .or(users::created_at.eq(k.at).and(users::id.gt(k.id))),
            );
        }
        let rows = query
            .order((users::created_at.asc(), users::id.asc()))
            .select(MemberExport::as_select())
            .limit(limit)
            .load(self.conn)?;
        Ok(ExportPage::of(rows, limit, |m: &MemberExport| TimeKey {
            at: m.created_at,
            id: m.id.as_str().to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::notes::NewNoteRow;
    use crate::db::schema::tenants;
    use crate::db::scope::TenantScope;
    use crate::db::stores::Home;
    use crate::db::tenants::{NewTenant, NewUser};
    use crate::db::{QueryError, TxMode, establish, in_transaction, run_migrations};
    use crate::domain::{NoteId, TenantId};

    fn second(s: usize) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + s as i64, 0)
            .unwrap()
            .naive_utc()
    }

    /// Every page of one export, by `page`, from the start.
    fn all<R, C>(mut page: impl FnMut(Option<C>) -> QueryResult<ExportPage<R, C>>) -> Vec<Vec<R>> {
        let mut pages = Vec::new();
        let mut after = None;
        loop {
            let ExportPage { rows, next } = page(after.take()).unwrap();
            pages.push(rows);
            match next {
                Some(next) => after = Some(next),
                None => return pages,
            }
        }
    }

    fn sizes<R>(pages: &[Vec<R>]) -> Vec<usize> {
        pages.iter().map(Vec::len).collect()
    }

    #[test]
    fn notes_and_members_page_by_time_then_id_and_give_each_row_once() {
        // Arrange: more than a page of members and of notes, many sharing a time.
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(&dir.path().join("main.db"));
        run_migrations(&url).unwrap();
        let mut conn = establish(&url).unwrap();
        let tenant = TenantId::generate();
        let lead = LeadId::generate();
        let members: Vec<MemberId> = (0..1_005).map(|_| MemberId::generate()).collect();
        conn.transaction(|conn| {
            diesel::insert_into(tenants::table)
                .values(&NewTenant::at(&tenant, "acme", "Acme", &Home::Main))
                .execute(conn)?;
            for (i, id) in members.iter().enumerate() {
                diesel::insert_into(users::table)
                    .values(NewUser {
                        tenant_id: &tenant,
                        id,
                        email: &format!("m{i:04}@acme.test"),
                        name: "Member",
                        password_hash: "$argon2id$not-exported",
                        role: Role::Member,
                        active: true,
                        created_at: second(i / 10),
                        updated_at: second(0),
                    })
                    .execute(conn)?;
            }
            diesel::insert_into(leads::table)
                .values((
                    leads::tenant_id.eq(&tenant),
                    leads::id.eq(&lead),
                    leads::number.eq(7_i64),
                    leads::name.eq("Ada"),
                    leads::status.eq("new"),
                    leads::created_at.eq(second(0)),
                    leads::updated_at.eq(second(0)),
                ))
                .execute(conn)?;
            for i in 0..2_345 {
                diesel::insert_into(notes::table)
                    .values(NewNoteRow {
                        tenant_id: &tenant,
                        id: NoteId::generate(),
                        lead_id: &lead,
                        author_id: &members[i % 3],
                        body: &format!("note {i:04}"),
                        created_at: second(i / 7),
                    })
                    .execute(conn)?;
            }
            Ok::<_, QueryError>(())
        })
        .unwrap();
        let scope = TenantScope::new(tenant, Home::Main);

        // Act
        let (notes, people) = in_transaction(&mut conn, TxMode::Snapshot, |conn| {
            let mut tx = TenantTx::enter(conn, &scope)?;
            let notes = all(|after| tx.export_notes(after, EXPORT_PAGE_ROWS));
            let people = all(|after| tx.export_members(after, EXPORT_PAGE_ROWS));
            Ok::<_, QueryError>((notes, people))
        })
        .unwrap();

        // Assert: full pages then the rest, each row once, in time order.
        assert_eq!(sizes(&notes), [1_000, 1_000, 345]);
        let notes: Vec<NoteExport> = notes.into_iter().flatten().collect();
        assert!(notes.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        let mut bodies: Vec<&str> = notes.iter().map(|n| n.body.as_str()).collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), 2_345);
        let record = notes[0].csv_record();
        assert_eq!(record[..4], ["7", "Ada", "Member", record[3].as_str()]);
        assert!(record[3].ends_with("@acme.test"));

        assert_eq!(sizes(&people), [1_000, 5]);
        let people: Vec<MemberExport> = people.into_iter().flatten().collect();
        assert!(
            people
                .windows(2)
                .all(|w| w[0].created_at <= w[1].created_at)
        );
        let mut emails: Vec<&str> = people.iter().map(|m| m.email.as_str()).collect();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), 1_005);
        assert_eq!(
            people[0].csv_record()[1..4],
            [people[0].email.clone(), "member".into(), "true".into()]
        );
    }
}
