//! Notes that members write on leads.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::leads::{Lead, opening};
use super::now;
use super::schema::{leads, notes};
use super::scope::TenantTx;
use crate::domain::{ActivityKind, Before, LeadId, LeadNumber, MemberId, NoteId, TenantId};

/// How many notes, and how many activity entries, a lead's page shows at a time.
pub const HISTORY_PAGE_SIZE: i64 = 50;

/// One page of a lead's history, newest first, and where the next older page
/// starts (none when this is the oldest).
#[derive(Clone, Debug)]
pub struct HistoryPage<T> {
    /// The entries, newest first.
    pub items: Vec<T>,
    /// The cursor of the next older page.
    pub older: Option<Before>,
}

impl<T> HistoryPage<T> {
    /// Cuts `rows` (up to `limit + 1`, newest first) to a page; `key` gives a row's
    /// cursor, taken from the last row shown when there are more.
    pub(super) fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        key: impl Fn(&R) -> Before,
        into: impl FnMut(R) -> T,
    ) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let older = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            rows.last().map(&key)
        });
        Self {
            older: older.flatten(),
            items: rows.into_iter().map(into).collect(),
        }
    }
}

/// A note with its author, as a lead's page shows it.
#[derive(Clone, Debug)]
pub struct NoteView {
    /// Text as written.
    pub body: String,
    /// The author's name, if they are still a member.
    pub author_name: Option<String>,
    /// When it was written.
    pub created_at: NaiveDateTime,
}

/// A recent note for the dashboard, with its lead.
#[derive(Clone, Debug)]
pub struct RecentNote {
    /// The note.
    pub note: NoteView,
    /// Its lead's number.
    pub lead_number: LeadNumber,
    /// Its lead's name.
    pub lead_name: String,
}

#[derive(Insertable)]
#[diesel(table_name = notes)]
pub(super) struct NewNoteRow<'a> {
    pub tenant_id: &'a TenantId,
    pub id: NoteId,
    pub lead_id: &'a LeadId,
    pub author_id: &'a MemberId,
    pub body: &'a str,
    pub created_at: NaiveDateTime,
}

impl TenantTx<'_> {
    /// Adds a note to a lead (already found in this tenant), touches the lead,
    /// and records the note's opening in its activity.
    pub fn add_note(&mut self, lead: &Lead, author: &MemberId, body: &str) -> QueryResult<()> {
        let tenant_id = self.scope.tenant_id().clone();
        let at = now();
        diesel::insert_into(notes::table)
            .values(NewNoteRow {
                tenant_id: &tenant_id,
                id: NoteId::generate(),
                lead_id: &lead.id,
                author_id: author,
                body,
                created_at: at,
            })
            .execute(self.conn)?;
        diesel::update(self.scope.leads().filter(leads::id.eq(&lead.id)))
            .set(leads::updated_at.eq(at))
            .execute(self.conn)?;
        self.record_activity(
            &lead.id,
            lead.status,
            Some(author),
            ActivityKind::Note,
            &opening(body),
            at,
        )
    }

    /// A page of a lead's notes, newest first: `limit` of them, older than
    /// `before` if given. Authors' names come for that page's authors only.
    pub fn list_notes(
        &mut self,
        lead: &LeadId,
        before: Option<&Before>,
        limit: i64,
    ) -> QueryResult<HistoryPage<NoteView>> {
        let mut query = self
            .scope
            .notes()
            .filter(notes::lead_id.eq(lead))
            .into_boxed();
        if let Some(b) = before {
            query = query.filter(
                notes::created_at
                    .lt(b.at)
                    .or(notes::created_at.eq(b.at).and(notes::id.lt(b.id.clone()))),
            );
        }
        let rows: Vec<(String, MemberId, String, NaiveDateTime)> = query
            .order((notes::created_at.desc(), notes::id.desc()))
            .select((notes::id, notes::author_id, notes::body, notes::created_at))
            .limit(limit.saturating_add(1))
            .load(self.conn)?;
        let names = self.member_names(rows.iter().map(|r| r.1.clone()).collect())?;
        Ok(HistoryPage::from_rows(
            rows,
            limit,
            |(id, _, _, at)| Before::after_row(*at, id.clone()),
            |(_, author, body, created_at)| NoteView {
                body,
                author_name: names.get(&author).map(|(n, _)| n.clone()),
                created_at,
            },
        ))
    }

    /// The tenant's latest notes with their leads.
    pub fn recent_notes(&mut self, limit: i64) -> QueryResult<Vec<RecentNote>> {
        let rows: Vec<(LeadId, MemberId, String, NaiveDateTime)> = self
            .scope
            .notes()
            .order(notes::created_at.desc())
            .select((
                notes::lead_id,
                notes::author_id,
                notes::body,
                notes::created_at,
            ))
            .limit(limit)
            .load(self.conn)?;
        let names = self.member_names(rows.iter().map(|r| r.1.clone()).collect())?;
        let lead_ids: Vec<LeadId> = rows.iter().map(|r| r.0.clone()).collect();
        let leads: Vec<(LeadId, LeadNumber, String)> = self
            .scope
            .leads()
            .filter(leads::id.eq_any(lead_ids))
            .select((leads::id, leads::number, leads::name))
            .load(self.conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(lead, author, body, created_at)| {
                let (_, number, name) = leads.iter().find(|l| l.0 == lead)?;
                Some(RecentNote {
                    note: NoteView {
                        body,
                        author_name: names.get(&author).map(|(n, _)| n.clone()),
                        created_at,
                    },
                    lead_number: *number,
                    lead_name: name.clone(),
                })
            })
            .collect())
    }
}
