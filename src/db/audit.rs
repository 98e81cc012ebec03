//! The audit log: adding an entry inside the transaction of what it records,
//! and reading the log back, newest first, a page at a time.
//!
//! Entries are numbered per tenant (`seq`, max + 1): every writing transaction
//! of a tenant is serialised ([`TenantTx::serialize_writes`] on PostgreSQL,
//! `BEGIN IMMEDIATE` on SQLite), so two entries never get the same number, and
//! a failed write takes its entry with it. Nothing here changes or removes an
//! entry: the app's role cannot on PostgreSQL (it holds only `SELECT` and
//! `INSERT`), and triggers refuse it on SQLite. Only the operator removes a
//! tenant's entries, with the tenant ([`with_deletes_allowed`]).

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::schema::{APPEND_ONLY_TABLES, audit_log};
use super::scope::TenantTx;
use super::{DbBackend, DbConnection};
use crate::domain::spreadsheet::csv_safe;
use crate::domain::{Actor, ActorKind, AuditAction, MemberId, RequestMeta, TenantId};

/// Longest target or label kept (a typed email of a refused log-in is cut).
pub const MAX_TARGET_LEN: usize = 300;
/// Longest detail kept.
pub const MAX_DETAIL_LEN: usize = 4_000;

/// An entry to add.
#[derive(Clone, Debug)]
pub struct NewAuditEvent {
    /// Who did it.
    pub actor: Actor,
    /// What they did.
    pub action: AuditAction,
    /// What it was done to, e.g. `lead 12`, `member ada@example.com`.
    pub target: Option<String>,
    /// A few facts, as short text or JSON (counts, a move's report).
    pub detail: Option<String>,
    /// Where the request came from.
    pub meta: RequestMeta,
}

impl NewAuditEvent {
    /// `actor` did `action`, from the request described by `meta`.
    pub fn new(actor: Actor, action: AuditAction, meta: &RequestMeta) -> Self {
        Self {
            actor,
            action,
            target: None,
            detail: None,
            meta: meta.clone(),
        }
    }

    /// To what.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// With these facts.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Text as an entry keeps it: no control characters (PostgreSQL refuses NUL
/// in text), at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(max)
        .collect()
}

/// A member as the log names them: by id, with their email now.
pub fn actor_of(member: &super::users::Member) -> Actor {
    Actor::Member {
        id: member.id.clone(),
        label: member.email.clone(),
    }
}

/// An entry as read back.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuditEntry {
    /// The tenant's running number of the entry.
    pub seq: i64,
    /// When, in UTC.
    pub at: NaiveDateTime,
    /// Who: their kind.
    pub actor_kind: ActorKind,
    /// Who: a member's or key's id.
    pub actor_id: Option<String>,
    /// Who: as named at the time.
    pub actor_label: String,
    /// What.
    pub action: AuditAction,
    /// To what.
    pub target: Option<String>,
    /// Facts.
    pub detail: Option<String>,
    /// From which address.
    pub client_ip: Option<String>,
    /// In which request.
    pub request_id: Option<String>,
}

/// The columns of an audit CSV (`/settings/audit.csv`, the zip's `audit.csv`).
pub const AUDIT_CSV_HEADER: [&str; 10] = [
    "seq",
    "at",
    "actor_kind",
    "actor",
    "action",
    "target",
    "detail",
    "client_ip",
    "request_id",
    "actor_id",
];

impl AuditEntry {
    /// The entry as a CSV row ([`AUDIT_CSV_HEADER`]), every text cell made safe
    /// for spreadsheets.
    pub fn csv_record(&self) -> [String; 10] {
        let opt = |v: &Option<String>| csv_safe(v.as_deref().unwrap_or_default());
        [
            self.seq.to_string(),
            self.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            self.actor_kind.as_str().to_owned(),
            csv_safe(&self.actor_label),
            self.action.as_str().to_owned(),
            opt(&self.target),
            opt(&self.detail),
            opt(&self.client_ip),
            opt(&self.request_id),
            opt(&self.actor_id),
        ]
    }
}

/// Whose entries a filter keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActorFilter {
    /// One member's.
    Member(MemberId),
    /// Every actor of a kind (the operator, the system, anonymous, keys).
    Kind(ActorKind),
}

/// What the log page and the CSV show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this actor.
    pub actor: Option<ActorFilter>,
}

/// Where a page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditCursor {
    /// Entries older than this number (the next page).
    Before(i64),
    /// Entries newer than this number (the previous page).
    After(i64),
}

/// One page of the log, newest first.
#[derive(Clone, Debug)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next (older) page, if there is one.
    pub older: Option<AuditCursor>,
    /// The cursor of the previous (newer) page, if there is one.
    pub newer: Option<AuditCursor>,
}

/// The tenant's entries that `filter` keeps, as a boxed query.
macro_rules! filtered {
    ($tx:expr, $filter:expr) => {{
        let mut q = $tx
            .scope
            .audit_log()
            .select(AuditEntry::as_select())
            .into_boxed::<DbBackend>();
        if let Some(action) = $filter.action {
            q = q.filter(audit_log::action.eq(action));
        }
        match &$filter.actor {
            Some(ActorFilter::Member(id)) => {
                q = q
                    .filter(audit_log::actor_kind.eq(ActorKind::Member))
                    .filter(audit_log::actor_id.eq(id.as_str().to_owned()));
            }
            Some(ActorFilter::Kind(kind)) => q = q.filter(audit_log::actor_kind.eq(*kind)),
            None => {}
        }
        q
    }};
}

impl TenantTx<'_> {
    /// Adds an entry, inside this (writing) transaction: it commits or rolls
    /// back with what it records.
    pub fn record_audit(&mut self, event: &NewAuditEvent) -> QueryResult<()> {
        let last: Option<i64> = self
            .scope
            .audit_log()
            .select(diesel::dsl::max(audit_log::seq))
            .first(self.conn)?;
        let seq = last.unwrap_or(0) + 1;
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::tenant_id.eq(self.scope.tenant_id().clone()),
                audit_log::id.eq(uuid::Uuid::new_v4().to_string()),
                audit_log::seq.eq(seq),
                audit_log::at.eq(super::now()),
                audit_log::actor_kind.eq(event.actor.kind()),
                audit_log::actor_id.eq(event.actor.id().map(str::to_owned)),
                audit_log::actor_label.eq(clean(event.actor.label(), MAX_TARGET_LEN)),
                audit_log::action.eq(event.action),
                audit_log::target.eq(event.target.as_deref().map(|t| clean(t, MAX_TARGET_LEN))),
                audit_log::detail.eq(event.detail.as_deref().map(|d| clean(d, MAX_DETAIL_LEN))),
                audit_log::client_ip.eq(event.meta.client_ip.clone()),
                audit_log::request_id.eq(event.meta.request_id.clone()),
            ))
            .execute(self.conn)?;
        Ok(())
    }

    /// The member `id` as the log names them (their email now; their id if
    /// they are not found).
    pub fn member_actor(&mut self, id: &MemberId) -> QueryResult<Actor> {
        Ok(match self.find_member(id)? {
            Some(member) => actor_of(&member),
            None => Actor::Member {
                id: id.clone(),
                label: id.as_str().to_owned(),
            },
        })
    }

    /// A page of at most `limit` entries that `filter` keeps, newest first,
    /// starting at `cursor` (none: the newest).
    pub fn audit_page(
        &mut self,
        filter: &AuditFilter,
        cursor: Option<AuditCursor>,
        limit: i64,
    ) -> QueryResult<AuditPage> {
        let limit = limit.max(1);
        if let Some(AuditCursor::After(seq)) = cursor {
            let mut newer: Vec<AuditEntry> = filtered!(self, filter)
                .filter(audit_log::seq.gt(seq))
                .order(audit_log::seq.asc())
                .limit(limit + 1)
                .load(self.conn)?;
            if newer.len() as i64 <= limit {
                // Back at the newest: show the first page as it is now.
                return self.audit_page(filter, None, limit);
            }
            newer.truncate(limit as usize);
            newer.reverse();
            return Ok(AuditPage {
                newer: newer.first().map(|e| AuditCursor::After(e.seq)),
                older: newer.last().map(|e| AuditCursor::Before(e.seq)),
                entries: newer,
            });
        }
        let mut q = filtered!(self, filter);
        if let Some(AuditCursor::Before(seq)) = cursor {
            q = q.filter(audit_log::seq.lt(seq));
        }
        let mut entries: Vec<AuditEntry> = q
            .order(audit_log::seq.desc())
            .limit(limit + 1)
            .load(self.conn)?;
        let more = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        Ok(AuditPage {
            older: if more {
                entries.last().map(|e| AuditCursor::Before(e.seq))
            } else {
                None
            },
            newer: match cursor {
                Some(_) => entries.first().map(|e| AuditCursor::After(e.seq)),
                None => None,
            },
            entries,
        })
    }
}

/// Runs `f` (which deletes a tenant's rows of an append-only table, as the
/// operator) with the table's SQLite `DELETE` trigger lifted, and puts the
/// trigger back before returning; the caller's transaction holds all three, so
/// no other connection ever sees the table without it (SQLite's DDL is
/// transactional, and the write lock is held from the first statement). On
/// PostgreSQL the owner may delete and nothing is lifted.
pub(super) fn with_deletes_allowed<T>(
    conn: &mut DbConnection,
    table: &str,
    f: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    if !APPEND_ONLY_TABLES.contains(&table) || !matches!(conn, DbConnection::Sqlite(_)) {
        return f(conn);
    }
    conn.batch_execute(&format!("DROP TRIGGER IF EXISTS {table}_no_delete"))?;
    let value = f(conn)?;
    conn.batch_execute(&format!(
        "CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
         BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    ))?;
    Ok(value)
}

/// Inserts an operator's entry into the tenant's log where `conn` points, in
/// the caller's transaction (which has entered the tenant).
pub(super) fn record_in(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &super::Home,
    event: &NewAuditEvent,
) -> QueryResult<()> {
    let scope = super::TenantScope::new(tenant.clone(), home.clone());
    let mut tx = TenantTx::enter(conn, &scope)?;
    // Takes the tenant's write lock on PostgreSQL, as the app's writes do, so
    // that the next number is this entry's alone.
    tx.serialize_writes()?;
    tx.record_audit(event)
}

impl super::OperatorDb {
    /// Records one of the operator's operations on the tenant at `slug` in its
    /// audit log, where the tenant lives now, with the actor `operator`: `tenants
    /// move`, `tenants import`, and the plan and limits commands
    /// ([`AuditAction::TenantPlanChanged`], [`AuditAction::TenantLimitsChanged`]),
    /// each calling this once its change is done. Returns `false` when there is
    /// no such tenant.
    pub fn record_tenant_operation(
        &mut self,
        slug: &str,
        action: AuditAction,
        detail: Option<String>,
    ) -> anyhow::Result<bool> {
        let Some((tenant, home)) = self.find_tenant(slug)? else {
            return Ok(false);
        };
        let mut event = NewAuditEvent::new(Actor::Operator, action, &RequestMeta::default())
            .target(format!("tenant {slug}"));
        event.detail = detail;
        let write = |conn: &mut DbConnection| {
            super::in_transaction(conn, super::TxMode::Write, |conn| {
                record_in(conn, &tenant, &home, &event)
            })
        };
        if home.is_main() {
            write(&mut self.conn)?;
        } else {
            let mut conn = super::stores::connect_home(&self.layout, &home, true)?;
            write(&mut conn)?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_control_characters_and_cuts() {
        assert_eq!(clean("a\0b\u{7}c", 10), "abc");
        assert_eq!(clean("abcdef", 3), "abc");
    }
}
