//! `tenantry tenants move`: a tenant changes placement while it works.
//!
//! The steps, each recorded in `tenant_moves` in the main database before the
//! next one begins, so that a rerun after the command was killed knows where it
//! stopped:
//!
//! 1. **copying**: the new store is made and migrated (or, for `shared`, the
//!    main database is the target) and every table is copied from one snapshot
//!    of the source while the tenant keeps working (a page at a time, each page
//!    its own short transaction in the target, so no other tenant waits on it).
//! 2. **paused**: the source's row of the tenant says `paused`: every writing
//!    transaction reads that under the tenant's write lock and answers 503, so
//!    from the moment it commits nothing changes in the source. Then what
//!    changed during the copy is brought over: both sides are read in key order
//!    and merged, and the rows that differ are inserted, updated or deleted in
//!    the target in one transaction. Every table's row count and SHA-256 (the
//!    bundle's deterministic lines, computed alike on both sides) must then
//!    match, or the move is undone.
//! 3. **switched**: the target's row is opened and the directory names the
//!    target, with the step, in one transaction of the main database: the only
//!    instant where the tenant's home changes. The source's row then says
//!    `moved`, so a server that still names the source (its host cache is up to
//!    `TENANT_CACHE_TTL_SECS` old) writes nothing there and reads nothing there
//!    either: it answers 503 with `Retry-After: 1` and looks the tenant up again.
//! 4. **done**: the source rows are removed (a store after the host cache's
//!    lifetime, since a server may still connect to it; the main database's rows
//!    at once, its directory row being the `moved` marker), and the report kept.
//!
//! Before the switch, a rerun undoes the move (reopens the source, removes the
//! target's copy) and starts again; after it, a rerun finishes the clean-up.
//! The tenant is served from exactly one place throughout: the one the
//! directory names.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::audit::with_deletes_allowed;
use super::bundle::{
    ActivityRecord, ApiKeyRecord, AuditRecord, CompanyRecord, ImportChangeRecord, InviteRecord,
    LeadImportRecord, LeadRecord, NoteRecord, OutboxRecord, Record, SessionRecord, TaskRecord,
    TokenRecord, UserRecord, hex,
};
use super::erase::enter;
use super::migrate::{latest_version, migrate_home};
use super::operator::OperatorDb;
use super::schema::{mail_due, mail_queue, member_directory, tenant_moves, tenants};
use super::stores::{Home, StoreName, connect_home, create_home, drop_home};
use super::{DbConnection, QueryError, TxMode, in_transaction};
use crate::config::{DatabaseUrl, DbKind};
use crate::domain::{Placement, TenantId, WriteState};

/// The tables a move carries, parents before children (the order of inserts;
/// deletes go the other way). Beyond a bundle's: sessions, so nobody is logged
/// out, pending links, and the outbox, so no mail is lost. Staged imports are
/// work in flight and stay behind.
pub const MOVE_TABLES: [&str; 14] = [
    "users",
    "companies",
    "leads",
    "invites",
    "notes",
    "lead_activities",
    "tasks",
    "lead_imports",
    "lead_import_changes",
    "sessions",
    "api_keys",
    "auth_tokens",
    "outbox",
    "audit_log",
];

/// Tables of the tenant in a store that are removed with the source (children
/// first); the main database's `member_directory` is kept, being the index of
/// a tenant placed elsewhere.
const SOURCE_ROWS: [&str; 17] = [
    "audit_log",
    "mail_queue",
    "outbox",
    "lead_activities",
    "tasks",
    "lead_import_changes",
    "lead_imports",
    "notes",
    "leads",
    // After the leads, whose triggers change it as they go; a move does not
    // carry it, the target's triggers count the leads as they arrive.
    "lead_counts",
    "companies",
    "import_staging",
    "invites",
    "sessions",
    "api_keys",
    "auth_tokens",
    "users",
];

/// Rows deleted per statement when the main database's copy is removed, so that
/// other tenants' writes never wait long.
const DELETE_ROWS: i64 = 5_000;

/// A step of a move, as `tenant_moves.step` stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The target is being made and filled while the tenant works.
    Copying,
    /// The tenant's writes are paused; the changes are being brought over.
    Paused,
    /// The directory names the target; the source is being removed.
    Switched,
    /// Finished.
    Done,
    /// Given up, the target removed.
    Undone,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Copying => "copying",
            Step::Paused => "paused",
            Step::Switched => "switched",
            Step::Done => "done",
            Step::Undone => "undone",
        }
    }

    fn parse(raw: &str) -> anyhow::Result<Self> {
        Ok(match raw {
            "copying" => Step::Copying,
            "paused" => Step::Paused,
            "switched" => Step::Switched,
            "done" => Step::Done,
            "undone" => Step::Undone,
            other => bail!("unknown move step `{other}`"),
        })
    }
}

/// Where a tenant moves.
#[derive(Clone, Debug)]
pub struct MoveRequest {
    /// The tenant.
    pub slug: String,
    /// The placement it goes to.
    pub to: Placement,
    /// For `dedicated` on PostgreSQL: a database given by URL, on any server.
    pub database_url: Option<String>,
}

/// One table compared on both sides.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableCheck {
    /// The table.
    pub table: String,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows in the target.
    pub target_rows: u64,
    /// SHA-256 of the source's rows.
    pub source_sha256: String,
    /// SHA-256 of the target's rows.
    pub target_sha256: String,
}

impl TableCheck {
    /// Whether both sides hold the same rows.
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_sha256 == self.target_sha256
    }
}

/// What a move did, printed and kept with its record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoveReport {
    /// The tenant's slug.
    pub slug: String,
    /// Where it lived.
    pub from: String,
    /// Where it lives.
    pub to: String,
    /// Rows copied while the tenant worked.
    pub copied_rows: u64,
    /// Rows brought over during the pause: inserted, updated, deleted.
    pub caught_up: [u64; 3],
    /// Every table, both sides.
    pub tables: Vec<TableCheck>,
    /// Milliseconds from the start to the switch.
    pub copy_ms: u64,
    /// Milliseconds the tenant's writes were paused.
    pub pause_ms: u64,
    /// The directory's generation after the switch.
    pub generation: i64,
    /// Milliseconds from the start to the end, clean-up included.
    pub total_ms: u64,
    /// What happened to the source.
    pub source: String,
}

/// What `move_tenant` found or did.
#[derive(Debug)]
pub enum MoveOutcome {
    /// `--dry-run`: what a move would do.
    Plan(MovePlan),
    /// The move is done.
    Moved(MoveReport),
}

/// What a move would do.
#[derive(Debug)]
pub struct MovePlan {
    /// The tenant's slug.
    pub slug: String,
    /// Where it lives.
    pub from: String,
    /// Where it would go.
    pub to: String,
    /// Its rows per table.
    pub rows: Vec<(&'static str, u64)>,
    /// How long one read of all of them took just now.
    pub read: Duration,
    /// What the write pause should take: reading both sides and the target again.
    pub expected_pause: Duration,
    /// An earlier move that did not finish, and what a run will do with it.
    pub unfinished: Option<String>,
}

/// Told what a move is doing, for the command line's progress.
pub trait MoveObserver {
    /// A step is done (`created`, `copied`, `paused`, `verified`, `switched`,
    /// `cleaned`).
    fn reached(&mut self, step: &str);
    /// The copy begins: this many rows.
    fn copy_started(&mut self, _rows: u64) {}
    /// This many more rows were copied.
    fn copied(&mut self, _rows: u64) {}
    /// Something worth a line.
    fn note(&mut self, _message: &str) {}
}

/// A move's record.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenant_moves, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct MoveRow {
    id: String,
    from_placement: Placement,
    from_store: Option<String>,
    from_server: Option<String>,
    to_placement: Placement,
    to_store: Option<String>,
    to_server: Option<String>,
    step: String,
    started_at: NaiveDateTime,
    report: Option<String>,
}

impl MoveRow {
    fn source_home(&self) -> anyhow::Result<Home> {
        Home::from_directory(
            self.from_placement,
            self.from_store.as_deref(),
            self.from_server.as_deref(),
        )
        .map_err(anyhow::Error::msg)
    }

    fn target_home_of(&self) -> anyhow::Result<Home> {
        Home::from_directory(
            self.to_placement,
            self.to_store.as_deref(),
            self.to_server.as_deref(),
        )
        .map_err(anyhow::Error::msg)
    }
}

/// A home in words: `shared`, `schema tenant_ab12`, `dedicated x (on server)`.
pub fn describe(home: &Home) -> String {
    match home {
        Home::Main => "shared".into(),
        Home::Schema(name) => format!("schema {}", name.as_str()),
        Home::Dedicated { name, server: None } => format!("dedicated {}", name.as_str()),
        Home::Dedicated {
            name,
            server: Some(server),
        } => format!("dedicated {} at {server}", name.as_str()),
    }
}

/// Sets the `writes` of the tenant's row where `conn` points.
fn set_writes(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &Home,
    writes: WriteState,
) -> anyhow::Result<()> {
    in_transaction(conn, TxMode::Write, |conn| {
        enter(conn, tenant, home)?;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
            .set(tenants::writes.eq(writes))
            .execute(conn)?;
        Ok::<_, QueryError>(())
    })?;
    Ok(())
}

/// Rows the copy writes per transaction in the target: large enough that the
/// target's index pages are not rewritten at every commit, small enough that
/// another tenant's write in the same database waits a moment at most.
const COPY_ROWS: usize = 10_000;

/// Copies one table from the snapshot `src` is in to `dst`, [`COPY_ROWS`] per
/// transaction there.
fn copy_table<R: Record>(
    src: &mut DbConnection,
    dst: &mut DbConnection,
    tenant: &TenantId,
    to: &Home,
    observer: &mut dyn MoveObserver,
) -> anyhow::Result<u64> {
    let mut after = None;
    let mut total = 0;
    let mut batch: Vec<R> = Vec::with_capacity(COPY_ROWS);
    loop {
        let page = R::page(src, tenant.as_str(), after.take())
            .with_context(|| format!("reading {}", R::TABLE))?;
        let last_page = page.len() < super::bundle::PAGE_ROWS as usize;
        if let Some(last) = page.last() {
            after = Some(last.key().to_owned());
        }
        batch.extend(page);
        if batch.len() >= COPY_ROWS || last_page {
            in_transaction(dst, TxMode::Write, |dst| {
                enter(dst, tenant, to)?;
                for rows in batch.chunks(super::bundle::INSERT_ROWS) {
                    R::insert(dst, rows)?;
                }
                Ok::<_, QueryError>(())
            })
            .with_context(|| format!("copying {}", R::TABLE))?;
            total += batch.len() as u64;
            observer.copied(batch.len() as u64);
            batch.clear();
        }
        if last_page {
            return Ok(total);
        }
    }
}

/// A connection for the move: on SQLite with a page cache large enough for a
/// tenant's indexes (the default 2 MiB makes a large copy re-read and rewrite
/// the same pages at every commit).
fn connect_for_move(
    layout: &super::stores::StoreLayout,
    home: &Home,
) -> anyhow::Result<DbConnection> {
    let mut conn = connect_home(layout, home, true)?;
    if let DbConnection::Sqlite(c) = &mut conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("PRAGMA cache_size = -131072")?;
    }
    Ok(conn)
}

/// A row's SHA-256: of its line in a bundle (the canonical JSON, fields in a
/// fixed order). A table's checksum is the SHA-256 of its rows' hashes in key
/// order, so that the target's can be finished from the rows a catch-up
/// rewrote without reading the rest again.
fn row_hash<R: Record>(row: &R, line: &mut Vec<u8>) -> anyhow::Result<[u8; 32]> {
    line.clear();
    serde_json::to_writer(&mut *line, row)?;
    line.push(b'\n');
    Ok(Sha256::digest(&line[..]).into())
}

/// One table's rows of a tenant, read in key order a page at a time, each
/// with its hash.
struct Cursor<R: Record> {
    rows: VecDeque<(R, [u8; 32])>,
    after: Option<String>,
    done: bool,
    /// The table's checksum so far.
    digest: Sha256,
    count: u64,
}

impl<R: Record> Cursor<R> {
    fn new() -> Self {
        Self {
            rows: VecDeque::new(),
            after: None,
            done: false,
            digest: Sha256::new(),
            count: 0,
        }
    }

    /// The next row, reading a page from `conn` when needed.
    fn peek(&mut self, conn: &mut DbConnection, tenant: &str) -> anyhow::Result<Option<&R>> {
        self.peek_with(|after| hashed_page(conn, tenant, after))
    }

    /// The next row, asking `fetch` for the page after the last key when needed.
    fn peek_with(
        &mut self,
        fetch: impl FnOnce(Option<String>) -> anyhow::Result<Vec<(R, [u8; 32])>>,
    ) -> anyhow::Result<Option<&R>> {
        if self.rows.is_empty() && !self.done {
            let page = fetch(self.after.clone())?;
            self.done = page.len() < super::bundle::PAGE_ROWS as usize;
            for (row, hash) in &page {
                // The merge needs the engines' key order to be the bytes' order
                // (lowercase UUIDs): refuse rather than mismatch if it is not.
                if let Some(previous) = &self.after {
                    anyhow::ensure!(
                        previous.as_str() < row.key(),
                        "{} keys are not in byte order ({previous} before {}); the move cannot merge them",
                        R::TABLE,
                        row.key()
                    );
                }
                self.after = Some(row.key().to_owned());
                self.digest.update(hash);
            }
            self.count += page.len() as u64;
            self.rows.extend(page);
        }
        Ok(self.rows.front().map(|(row, _)| row))
    }

    fn pop(&mut self) -> Option<(R, [u8; 32])> {
        self.rows.pop_front()
    }

    fn checksum(&mut self) -> String {
        hex(&std::mem::take(&mut self.digest).finalize())
    }
}

/// A page of rows after `after`, each with its hash.
fn hashed_page<R: Record>(
    conn: &mut DbConnection,
    tenant: &str,
    after: Option<String>,
) -> anyhow::Result<Vec<(R, [u8; 32])>> {
    let rows = R::page(conn, tenant, after).with_context(|| format!("reading {}", R::TABLE))?;
    let mut line = Vec::with_capacity(512);
    rows.into_iter()
        .map(|row| row_hash(&row, &mut line).map(|h| (row, h)))
        .collect()
}

/// What differs in one table between the (paused) source and the target, and
/// the target's row hashes in key order: read from the target for the rows
/// that are the same, to be read again after the catch-up for the rest.
struct Diff<R: Record> {
    inserts: Vec<R>,
    updates: Vec<R>,
    deletes: Vec<String>,
    source_rows: u64,
    source_sha256: String,
    slots: Vec<[u8; 32]>,
    /// Slots the catch-up writes: (index, key), in key order.
    pending: Vec<(usize, String)>,
}

/// A table's differences, whatever its row type.
trait Changes: Send {
    fn table(&self) -> &'static str;
    fn delete(&self, conn: &mut DbConnection, tenant: &str) -> QueryResult<()>;
    fn upsert(&self, conn: &mut DbConnection) -> QueryResult<()>;
    fn counts(&self) -> [u64; 3];
    fn source(&self) -> (u64, String);
    /// After the catch-up committed: the target's rows and checksum, from the
    /// rows read before for what it left alone and from the target again for
    /// what it wrote; the deleted keys must be gone and the count must agree.
    fn target(&mut self, conn: &mut DbConnection, tenant: &str) -> anyhow::Result<(u64, String)>;
}

impl<R: Record> Changes for Diff<R> {
    fn table(&self) -> &'static str {
        R::TABLE
    }
    fn delete(&self, conn: &mut DbConnection, tenant: &str) -> QueryResult<()> {
        R::delete(conn, tenant, &self.deletes)
    }
    fn upsert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        for row in &self.updates {
            row.update(conn)?;
        }
        for rows in self.inserts.chunks(super::bundle::INSERT_ROWS) {
            R::insert(conn, rows)?;
        }
        Ok(())
    }
    fn counts(&self) -> [u64; 3] {
        [
            self.inserts.len() as u64,
            self.updates.len() as u64,
            self.deletes.len() as u64,
        ]
    }
    fn source(&self) -> (u64, String) {
        (self.source_rows, self.source_sha256.clone())
    }
    fn target(&mut self, conn: &mut DbConnection, tenant: &str) -> anyhow::Result<(u64, String)> {
        let table = R::TABLE;
        let mut line = Vec::with_capacity(512);
        for chunk in self.pending.chunks(super::bundle::INSERT_ROWS) {
            let keys: Vec<String> = chunk.iter().map(|(_, k)| k.clone()).collect();
            let rows = R::by_keys(conn, tenant, &keys)?;
            anyhow::ensure!(
                rows.len() == keys.len(),
                "{table}: {} of {} rows written by the catch-up are not in the target",
                keys.len() - rows.len(),
                keys.len()
            );
            for ((slot, key), row) in chunk.iter().zip(&rows) {
                anyhow::ensure!(row.key() == key, "{table}: rows came back out of order");
                self.slots[*slot] = row_hash(row, &mut line)?;
            }
        }
        for chunk in self.deletes.chunks(super::bundle::INSERT_ROWS) {
            let left = R::by_keys(conn, tenant, chunk)?;
            anyhow::ensure!(
                left.is_empty(),
                "{table}: {} deleted rows are still in the target",
                left.len()
            );
        }
        let count = R::count(conn, tenant)?.max(0) as u64;
        anyhow::ensure!(
            count == self.slots.len() as u64,
            "{table}: the target has {count} rows, the catch-up expected {}",
            self.slots.len()
        );
        let mut digest = Sha256::new();
        for hash in &self.slots {
            digest.update(hash);
        }
        Ok((count, hex(&digest.finalize())))
    }
}

/// Merges the source's rows of one table with the target's, both in key order.
/// The target is read (and hashed) on a thread of its own, a few pages ahead,
/// so that the pause costs about one read of the larger side.
fn diff_table<R: Record + 'static>(
    src: &mut DbConnection,
    dst: &mut DbConnection,
    tenant: &TenantId,
) -> anyhow::Result<Box<dyn Changes>> {
    use std::cmp::Ordering;
    let t = tenant.as_str();
    std::thread::scope(|scope| {
        type Page<R> = anyhow::Result<Vec<(R, [u8; 32])>>;
        let (pages, incoming) = std::sync::mpsc::sync_channel::<Page<R>>(4);
        scope.spawn(move || {
            let mut after = None;
            loop {
                let page = hashed_page::<R>(dst, t, after.take());
                let (last, more) = match &page {
                    Ok(rows) => (
                        rows.last().map(|(r, _)| r.key().to_owned()),
                        rows.len() == super::bundle::PAGE_ROWS as usize,
                    ),
                    Err(_) => (None, false),
                };
                if pages.send(page).is_err() || !more {
                    return;
                }
                after = last;
            }
        });
        let mut source = Cursor::<R>::new();
        let mut target = Cursor::<R>::new();
        let next_page = || {
            incoming
                .recv()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the target's reader stopped")))
        };
        let (mut inserts, mut updates, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
        let (mut slots, mut pending) = (Vec::new(), Vec::new());
        loop {
            let a = source.peek(src, t)?.map(|r| r.key().to_owned());
            let b = target
                .peek_with(|_| next_page())?
                .map(|r| r.key().to_owned());
            let order = match (&a, &b) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            };
            match order {
                Ordering::Less => {
                    if let Some((row, _)) = source.pop() {
                        pending.push((slots.len(), row.key().to_owned()));
                        slots.push([0; 32]);
                        inserts.push(row);
                    }
                }
                Ordering::Greater => {
                    target.pop();
                    deletes.extend(b);
                }
                Ordering::Equal => {
                    if let (Some((new, _)), Some((old, old_hash))) = (source.pop(), target.pop()) {
                        if new == old {
                            slots.push(old_hash);
                        } else {
                            pending.push((slots.len(), new.key().to_owned()));
                            slots.push([0; 32]);
                            updates.push(new);
                        }
                    }
                }
            }
        }
        Ok(Box::new(Diff::<R> {
            inserts,
            updates,
            deletes,
            source_rows: source.count,
            source_sha256: source.checksum(),
            slots,
            pending,
        }) as Box<dyn Changes>)
    })
}

/// Every moved table's differences, parents first.
fn diff_tables(
    src: &mut DbConnection,
    dst: &mut DbConnection,
    tenant: &TenantId,
) -> anyhow::Result<Vec<Box<dyn Changes>>> {
    Ok(vec![
        diff_table::<UserRecord>(src, dst, tenant)?,
        diff_table::<CompanyRecord>(src, dst, tenant)?,
        diff_table::<LeadRecord>(src, dst, tenant)?,
        diff_table::<InviteRecord>(src, dst, tenant)?,
        diff_table::<NoteRecord>(src, dst, tenant)?,
        diff_table::<ActivityRecord>(src, dst, tenant)?,
        diff_table::<TaskRecord>(src, dst, tenant)?,
        diff_table::<LeadImportRecord>(src, dst, tenant)?,
        diff_table::<ImportChangeRecord>(src, dst, tenant)?,
        diff_table::<SessionRecord>(src, dst, tenant)?,
        diff_table::<ApiKeyRecord>(src, dst, tenant)?,
        diff_table::<TokenRecord>(src, dst, tenant)?,
        diff_table::<OutboxRecord>(src, dst, tenant)?,
        diff_table::<AuditRecord>(src, dst, tenant)?,
    ])
}

/// One table's row count and checksum where `conn` points (inside the tenant).
fn digest_table<R: Record + 'static>(
    conn: &mut DbConnection,
    tenant: &TenantId,
) -> anyhow::Result<(u64, String)> {
    let mut cursor = Cursor::<R>::new();
    while cursor.peek(conn, tenant.as_str())?.is_some() {
        cursor.rows.clear();
    }
    Ok((cursor.count, cursor.checksum()))
}

/// Every moved table's row count and SHA-256, in [`MOVE_TABLES`] order.
fn digest_tables(conn: &mut DbConnection, tenant: &TenantId) -> anyhow::Result<Vec<(u64, String)>> {
    Ok(vec![
        digest_table::<UserRecord>(conn, tenant)?,
        digest_table::<CompanyRecord>(conn, tenant)?,
        digest_table::<LeadRecord>(conn, tenant)?,
        digest_table::<InviteRecord>(conn, tenant)?,
        digest_table::<NoteRecord>(conn, tenant)?,
        digest_table::<ActivityRecord>(conn, tenant)?,
        digest_table::<TaskRecord>(conn, tenant)?,
        digest_table::<LeadImportRecord>(conn, tenant)?,
        digest_table::<ImportChangeRecord>(conn, tenant)?,
        digest_table::<SessionRecord>(conn, tenant)?,
        digest_table::<ApiKeyRecord>(conn, tenant)?,
        digest_table::<TokenRecord>(conn, tenant)?,
        digest_table::<OutboxRecord>(conn, tenant)?,
        digest_table::<AuditRecord>(conn, tenant)?,
    ])
}

/// The small index tables of a tenant: its listed addresses, its queued mail.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Indexes {
    listed: Vec<String>,
    queued: Vec<(String, NaiveDateTime)>,
}

fn read_indexes(conn: &mut DbConnection, tenant: &TenantId) -> QueryResult<Indexes> {
    let listed = member_directory::table
        .filter(member_directory::tenant_id.eq(tenant))
        .order(member_directory::email.asc())
        .select(member_directory::email)
        .load(conn)?;
    let queued = mail_queue::table
        .filter(mail_queue::tenant_id.eq(tenant))
        .order(mail_queue::outbox_id.asc())
        .select((mail_queue::outbox_id, mail_queue::due_at))
        .load(conn)?;
    Ok(Indexes { listed, queued })
}

fn write_indexes(conn: &mut DbConnection, tenant: &TenantId, indexes: &Indexes) -> QueryResult<()> {
    diesel::delete(member_directory::table.filter(member_directory::tenant_id.eq(tenant)))
        .execute(conn)?;
    diesel::delete(mail_queue::table.filter(mail_queue::tenant_id.eq(tenant))).execute(conn)?;
    for email in &indexes.listed {
        diesel::insert_into(member_directory::table)
            .values((
                member_directory::email.eq(email),
                member_directory::tenant_id.eq(tenant),
            ))
            .execute(conn)?;
    }
    for (outbox_id, due_at) in &indexes.queued {
        diesel::insert_into(mail_queue::table)
            .values((
                mail_queue::tenant_id.eq(tenant),
                mail_queue::outbox_id.eq(outbox_id),
                mail_queue::due_at.eq(due_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes the tenant's rows of `tables` where `conn` points, a bounded batch
/// per transaction, so that other tenants' writes in the same database never
/// wait long.
fn remove_rows(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &Home,
    tables: &[&str],
) -> anyhow::Result<u64> {
    let mut removed = 0;
    for table in tables {
        // mail_queue is keyed by its outbox id, import_staging by import and
        // seq: both small, and deleted in one statement.
        let batched = !matches!(*table, "mail_queue" | "import_staging" | "lead_counts");
        let sql = if batched {
            format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND id IN \
                 (SELECT id FROM {table} WHERE tenant_id = $2 LIMIT {DELETE_ROWS})"
            )
        } else {
            format!("DELETE FROM {table} WHERE tenant_id = $1 AND tenant_id = $2")
        };
        loop {
            let n = in_transaction(conn, TxMode::Write, |conn| {
                enter(conn, tenant, home)?;
                // The audit log refuses deletes on SQLite: lifted for this
                // transaction only (the source's copy goes as a whole).
                with_deletes_allowed(conn, table, |conn| {
                    let q = diesel::sql_query(&sql)
                        .bind::<Text, _>(tenant.as_str())
                        .bind::<Text, _>(tenant.as_str());
                    match &mut *conn {
                        DbConnection::Postgresql(c) => q.execute(c),
                        DbConnection::Sqlite(c) => q.execute(c),
                    }
                })
            })?;
            removed += n as u64;
            if !batched || (n as i64) < DELETE_ROWS {
                break;
            }
        }
    }
    Ok(removed)
}

impl OperatorDb {
    /// Moves the tenant at `request.slug` to `request.to` (or, with `dry_run`,
    /// says what that would do). Finishes or undoes an earlier move of the same
    /// tenant that did not end first.
    pub fn move_tenant(
        &mut self,
        request: &MoveRequest,
        dry_run: bool,
        cache_ttl: Duration,
        observer: &mut dyn MoveObserver,
    ) -> anyhow::Result<MoveOutcome> {
        let started = Instant::now();
        let Some((tenant, from)) = self.find_tenant(&request.slug)? else {
            bail!("no tenant has the slug `{}`", request.slug);
        };
        let unfinished: Option<MoveRow> = self.in_tenant(&tenant, |conn| {
            tenant_moves::table
                .filter(tenant_moves::tenant_id.eq(&tenant))
                .filter(tenant_moves::step.eq_any(["copying", "paused", "switched"]))
                .select(MoveRow::as_select())
                .first(conn)
                .optional()
        })?;
        if dry_run {
            return self.plan(request, &tenant, &from, unfinished.as_ref());
        }
        if let Some(row) = unfinished {
            match Step::parse(&row.step)? {
                Step::Switched => {
                    observer.note(&format!(
                        "finishing the move to {} that was interrupted after its switch",
                        describe(&row.target_home_of()?)
                    ));
                    let report = self.finish(&row, &tenant, cache_ttl, observer)?;
                    return Ok(MoveOutcome::Moved(report));
                }
                step => {
                    observer.note(&format!(
                        "undoing the move to {} that was interrupted while {}",
                        describe(&row.target_home_of()?),
                        step.as_str()
                    ));
                    self.undo(&row, &tenant)?;
                }
            }
        }
        // Where it lives now (an undo changed nothing there, but read it again).
        let Some((_, from)) = self.find_tenant(&request.slug)? else {
            bail!("no tenant has the slug `{}`", request.slug);
        };
        let to = self.target_home(request, &tenant, &from)?;
        let report = self.run(
            &tenant,
            &request.slug,
            &from,
            &to,
            started,
            cache_ttl,
            observer,
        )?;
        Ok(MoveOutcome::Moved(report))
    }

    /// Where `request` sends a tenant that lives at `from`.
    fn target_home(
        &self,
        request: &MoveRequest,
        tenant: &TenantId,
        from: &Home,
    ) -> anyhow::Result<Home> {
        let kind = self.layout.kind();
        if request.database_url.is_some() && request.to != Placement::Dedicated {
            bail!("--database-url goes with --to dedicated");
        }
        let to = match request.to {
            Placement::Shared => Home::Main,
            Placement::Schema => {
                if kind == DbKind::Sqlite {
                    bail!(
                        "the schema placement needs PostgreSQL; on SQLite use shared or dedicated"
                    );
                }
                Home::Schema(self.layout.new_store_name(Placement::Schema, Some(tenant)))
            }
            Placement::Dedicated => match &request.database_url {
                Some(raw) => {
                    if kind == DbKind::Sqlite {
                        bail!(
                            "--database-url needs PostgreSQL; on SQLite a dedicated tenant gets its own file"
                        );
                    }
                    let url = DatabaseUrl::parse(raw).context("--database-url is not usable")?;
                    if url.kind() != DbKind::Postgres {
                        bail!("--database-url must be a postgres:// URL");
                    }
                    let db = url
                        .database_name()
                        .context("--database-url names no database")?;
                    let name = StoreName::parse(&db)
                        .map_err(|e| anyhow::anyhow!("--database-url's database `{db}`: {e}"))?;
                    Home::Dedicated {
                        name,
                        server: Some(url.redacted()),
                    }
                }
                None => Home::Dedicated {
                    name: self
                        .layout
                        .new_store_name(Placement::Dedicated, Some(tenant)),
                    server: None,
                },
            },
        };
        let same = match (from, &to) {
            (Home::Main, Home::Main) | (Home::Schema(_), Home::Schema(_)) => true,
            (Home::Dedicated { server: a, .. }, Home::Dedicated { server: b, .. }) => {
                kind == DbKind::Sqlite || a == b || b.is_none()
            }
            _ => false,
        };
        if same {
            bail!(
                "`{}` already lives in {}; nothing to move",
                request.slug,
                describe(from)
            );
        }
        Ok(to)
    }

    /// `--dry-run`: the plan, and the pause it should take, from one read of
    /// the tenant's rows now.
    fn plan(
        &mut self,
        request: &MoveRequest,
        tenant: &TenantId,
        from: &Home,
        unfinished: Option<&MoveRow>,
    ) -> anyhow::Result<MoveOutcome> {
        let unfinished = match unfinished {
            Some(row) => Some(match Step::parse(&row.step)? {
                Step::Switched => format!(
                    "a move to {} was interrupted after its switch: a run finishes it",
                    describe(&row.target_home_of()?)
                ),
                step => format!(
                    "a move to {} was interrupted while {}: a run undoes it first",
                    describe(&row.target_home_of()?),
                    step.as_str()
                ),
            }),
            None => None,
        };
        let to = match (&unfinished, self.target_home(request, tenant, from)) {
            (_, Ok(to)) => describe(&to),
            (Some(_), Err(_)) => request.to.as_str().to_owned(),
            (None, Err(e)) => return Err(e),
        };
        let read_started = Instant::now();
        let mut conn = connect_home(&self.layout, from, true)?;
        let digests = in_transaction(&mut conn, TxMode::Snapshot, |conn| {
            enter(conn, tenant, from)?;
            digest_tables(conn, tenant)
        })?;
        let read = read_started.elapsed();
        Ok(MoveOutcome::Plan(MovePlan {
            slug: request.slug.clone(),
            from: describe(from),
            to,
            rows: MOVE_TABLES
                .iter()
                .zip(&digests)
                .map(|(table, (rows, _))| (*table, *rows))
                .collect(),
            read,
            // The pause reads the source and the target once to merge them and
            // the target again to check it; what changed meanwhile is small.
            expected_pause: read * 3,
            unfinished,
        }))
    }

    /// A move from start to end.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        tenant: &TenantId,
        slug: &str,
        from: &Home,
        to: &Home,
        started: Instant,
        cache_ttl: Duration,
        observer: &mut dyn MoveObserver,
    ) -> anyhow::Result<MoveReport> {
        // The record first, naming the target, so that a crash while it is made
        // leaves something an undo can find and remove.
        let id = uuid::Uuid::new_v4().to_string();
        self.in_tenant(tenant, |conn| {
            diesel::insert_into(tenant_moves::table)
                .values((
                    tenant_moves::id.eq(&id),
                    tenant_moves::tenant_id.eq(tenant),
                    tenant_moves::from_placement.eq(from.placement()),
                    tenant_moves::from_store.eq(from.store_name()),
                    tenant_moves::from_server.eq(from.server()),
                    tenant_moves::to_placement.eq(to.placement()),
                    tenant_moves::to_store.eq(to.store_name()),
                    tenant_moves::to_server.eq(to.server()),
                    tenant_moves::step.eq(Step::Copying.as_str()),
                    tenant_moves::started_at.eq(super::now()),
                ))
                .execute(conn)
        })
        .context("recording the move (is another move of this tenant under way?)")?;
        let row = self.reload(tenant, &id)?;
        match self.copy_and_switch(&row, tenant, slug, from, to, started, observer) {
            Ok(()) => {}
            Err(e) => {
                // Before the switch: give the tenant back its source, whole.
                let undone = self.reload(tenant, &id).and_then(|row| {
                    if Step::parse(&row.step)? == Step::Switched {
                        return Ok(false);
                    }
                    self.undo(&row, tenant).map(|()| true)
                });
                return match undone {
                    Ok(true) => {
                        Err(e.context("the move was undone; the tenant stays where it was"))
                    }
                    Ok(false) => Err(
                        e.context("the switch was made; run the move again to finish the clean-up")
                    ),
                    Err(undo) => Err(e.context(format!(
                        "undoing the move failed too ({undo:#}); run the move again to undo it"
                    ))),
                };
            }
        }
        let row = self.reload(tenant, &id)?;
        self.finish(&row, tenant, cache_ttl, observer)
    }

    /// Runs `f` in a transaction of the main database inside the tenant (the
    /// move's record is under row-level security, forced for the owner too).
    fn in_tenant<T>(
        &mut self,
        tenant: &TenantId,
        f: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
    ) -> anyhow::Result<T> {
        Ok(in_transaction(&mut self.conn, TxMode::Write, |conn| {
            enter(conn, tenant, &Home::Main)?;
            f(conn)
        })?)
    }

    fn reload(&mut self, tenant: &TenantId, id: &str) -> anyhow::Result<MoveRow> {
        self.in_tenant(tenant, |conn| {
            tenant_moves::table
                .find(id)
                .select(MoveRow::as_select())
                .first(conn)
        })
    }

    fn set_step(&mut self, tenant: &TenantId, id: &str, step: Step) -> anyhow::Result<()> {
        let now = super::now();
        self.in_tenant(tenant, |conn| {
            let q = diesel::update(tenant_moves::table.find(id));
            match step {
                Step::Paused => q
                    .set((
                        tenant_moves::step.eq(step.as_str()),
                        tenant_moves::paused_at.eq(now),
                    ))
                    .execute(conn),
                Step::Done | Step::Undone => q
                    .set((
                        tenant_moves::step.eq(step.as_str()),
                        tenant_moves::finished_at.eq(now),
                    ))
                    .execute(conn),
                _ => q.set(tenant_moves::step.eq(step.as_str())).execute(conn),
            }
        })?;
        Ok(())
    }

    /// Steps 1 to 3: make and fill the target, pause, catch up, check, switch.
    #[allow(clippy::too_many_arguments)]
    fn copy_and_switch(
        &mut self,
        row: &MoveRow,
        tenant: &TenantId,
        slug: &str,
        from: &Home,
        to: &Home,
        started: Instant,
        observer: &mut dyn MoveObserver,
    ) -> anyhow::Result<()> {
        let layout = self.layout.clone();
        let (facts, _) = self
            .bundle_tenant(slug)?
            .context("the tenant disappeared")?;
        let generation: i64 = tenants::table
            .find(tenant)
            .select(tenants::generation)
            .first(&mut self.conn)?;
        // 1. The target, its copy of the tenant's row closed to writes.
        if to.is_main() {
            // The directory row is the target's own; it stays closed to writes
            // (no server writes a tenant placed elsewhere here) until the switch.
            set_writes(&mut self.conn, tenant, &Home::Main, WriteState::Moved)?;
            let leftovers = remove_rows(&mut self.conn, tenant, &Home::Main, &SOURCE_ROWS)?;
            if leftovers > 0 {
                observer.note(&format!(
                    "removed {leftovers} rows an earlier move left behind"
                ));
            }
        } else {
            create_home(&layout, to).context("making the tenant's new store")?;
            migrate_home(&layout, to).context("migrating the tenant's new store")?;
            let mut dst = connect_home(&layout, to, true)?;
            let others: i64 = tenants::table.count().get_result(&mut dst)?;
            anyhow::ensure!(
                others == 0,
                "the target database already holds a tenant; give an empty one"
            );
            let version = latest_version(layout.kind());
            in_transaction(&mut dst, TxMode::Write, |conn| {
                let mut listing = super::tenants::NewTenant::at(tenant, slug, &facts.name, to);
                listing.created_at = facts.created_at;
                listing.store_version = Some(&version);
                diesel::insert_into(tenants::table)
                    .values(&listing)
                    .execute(conn)?;
                diesel::update(tenants::table.find(tenant))
                    .set((
                        tenants::plan.eq(&facts.plan),
                        tenants::writes.eq(WriteState::Paused),
                        tenants::generation.eq(generation + 1),
                    ))
                    .execute(conn)?;
                Ok::<_, QueryError>(())
            })?;
        }
        observer.reached("created");

        // 1. The copy, from one snapshot, while the tenant works.
        let mut src = connect_for_move(&layout, from)?;
        let mut dst = connect_for_move(&layout, to)?;
        let copied = in_transaction(&mut src, TxMode::Snapshot, |src| {
            enter(src, tenant, from)?;
            let digests = digest_counts(src, tenant)?;
            observer.copy_started(digests);
            let mut n = 0;
            n += copy_table::<UserRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<CompanyRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<LeadRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<InviteRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<NoteRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<ActivityRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<TaskRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<LeadImportRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<ImportChangeRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<SessionRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<ApiKeyRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<TokenRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<OutboxRecord>(src, &mut dst, tenant, to, observer)?;
            n += copy_table::<AuditRecord>(src, &mut dst, tenant, to, observer)?;
            Ok::<_, anyhow::Error>(n)
        })?;
        observer.reached("copied");

        // 2. The pause: once this commits, the source changes no more.
        let paused = Instant::now();
        set_writes(&mut src, tenant, from, WriteState::Paused)?;
        self.set_step(tenant, &row.id, Step::Paused)?;
        observer.reached("paused");

        // 2. What changed meanwhile, brought over in one transaction.
        let changes = in_transaction(&mut src, TxMode::Snapshot, |src| {
            enter(src, tenant, from)?;
            let changes = in_transaction(&mut dst, TxMode::Read, |dst| {
                enter(dst, tenant, to)?;
                diff_tables(src, dst, tenant)
            })?;
            let indexes = read_indexes(src, tenant)?;
            Ok::<_, anyhow::Error>((changes, indexes))
        })?;
        let (changes, indexes) = changes;
        let name: String = {
            let mut main_name = tenants::table
                .find(tenant)
                .select(tenants::name)
                .first::<String>(&mut self.conn)?;
            // The source's row has the current name (a rename copies it to the
            // main database after its commit).
            if !from.is_main()
                && let Some(n) = tenants::table
                    .find(tenant)
                    .select(tenants::name)
                    .first::<String>(&mut src)
                    .optional()?
            {
                main_name = n;
            }
            main_name
        };
        in_transaction(&mut dst, TxMode::Write, |dst| {
            enter(dst, tenant, to)?;
            for change in changes.iter().rev() {
                change.delete(dst, tenant.as_str())?;
            }
            for change in &changes {
                change.upsert(dst)?;
            }
            if !to.is_main() || !from.is_main() {
                write_indexes(dst, tenant, &indexes)?;
            }
            diesel::update(tenants::table.find(tenant))
                .set(tenants::name.eq(&name))
                .execute(dst)?;
            Ok::<_, QueryError>(())
        })
        .context("bringing over what changed during the copy")?;
        let caught_up = changes.iter().fold([0u64; 3], |mut sum, c| {
            for (s, n) in sum.iter_mut().zip(c.counts()) {
                *s += n;
            }
            sum
        });

        // 2. The proof: every table's count and checksum, both sides.
        // The target's side: read from the target, the rows the catch-up left
        // alone during the merge and the ones it wrote again now.
        let mut changes = changes;
        let target = in_transaction(&mut dst, TxMode::Snapshot, |dst| {
            enter(dst, tenant, to)?;
            changes
                .iter_mut()
                .map(|change| change.target(dst, tenant.as_str()))
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let target_indexes =
            in_transaction(&mut dst, TxMode::Read, |dst| read_indexes(dst, tenant))?;
        let tables: Vec<TableCheck> = changes
            .iter()
            .zip(&target)
            .map(|(change, (rows, sha))| {
                let (source_rows, source_sha256) = change.source();
                TableCheck {
                    table: change.table().to_owned(),
                    source_rows,
                    target_rows: *rows,
                    source_sha256,
                    target_sha256: sha.clone(),
                }
            })
            .collect();
        if let Some(bad) = tables.iter().find(|t| !t.matches()) {
            bail!(
                "{} differs after the copy: {} rows ({}) in the source, {} rows ({}) in the target",
                bad.table,
                bad.source_rows,
                bad.source_sha256,
                bad.target_rows,
                bad.target_sha256
            );
        }
        anyhow::ensure!(
            to.is_main() && from.is_main() || target_indexes == indexes,
            "the member listing or mail queue differs after the copy"
        );
        observer.reached("verified");

        // 3. The switch: the target opens, then the directory names it.
        if !to.is_main() {
            set_writes(&mut dst, tenant, to, WriteState::Open)?;
        }
        let pause_ms = paused.elapsed().as_millis() as u64;
        let report = MoveReport {
            slug: slug.to_owned(),
            from: describe(from),
            to: describe(to),
            copied_rows: copied,
            caught_up,
            tables,
            copy_ms: started.elapsed().as_millis() as u64,
            pause_ms,
            generation: generation + 1,
            total_ms: 0,
            source: String::new(),
        };
        let version = (!to.is_main()).then(|| latest_version(layout.kind()));
        let next_mail = indexes.queued.iter().map(|(_, at)| *at).min();
        let report_json = serde_json::to_string(&report)?;
        in_transaction(&mut self.conn, TxMode::Write, |conn| {
            enter(conn, tenant, &Home::Main)?;
            diesel::update(tenants::table.find(tenant))
                .set((
                    tenants::placement.eq(to.placement()),
                    tenants::store.eq(to.store_name()),
                    tenants::database_url.eq(to.server()),
                    tenants::store_version.eq(version.as_deref()),
                    tenants::writes.eq(if to.is_main() {
                        WriteState::Open
                    } else {
                        WriteState::Moved
                    }),
                    tenants::generation.eq(generation + 1),
                ))
                .execute(conn)?;
            diesel::delete(mail_due::table.filter(mail_due::tenant_id.eq(tenant))).execute(conn)?;
            if let (false, Some(at)) = (to.is_main(), next_mail) {
                diesel::insert_into(mail_due::table)
                    .values((
                        mail_due::tenant_id.eq(tenant),
                        mail_due::due_at.eq(at),
                        mail_due::stamp.eq(uuid::Uuid::new_v4().to_string()),
                    ))
                    .execute(conn)?;
            }
            diesel::update(tenant_moves::table.find(&row.id))
                .set((
                    tenant_moves::step.eq(Step::Switched.as_str()),
                    tenant_moves::switched_at.eq(super::now()),
                    tenant_moves::report.eq(&report_json),
                ))
                .execute(conn)?;
            Ok::<_, QueryError>(())
        })
        .context("switching the directory")?;
        observer.reached("switched");
        Ok(())
    }

    /// Step 4: the source marked `moved` and removed; the record closed.
    fn finish(
        &mut self,
        row: &MoveRow,
        tenant: &TenantId,
        cache_ttl: Duration,
        observer: &mut dyn MoveObserver,
    ) -> anyhow::Result<MoveReport> {
        let layout = self.layout.clone();
        let from = row.source_home()?;
        let mut report: MoveReport = serde_json::from_str(
            row.report
                .as_deref()
                .context("the switched move has no report")?,
        )?;
        let source = if from.is_main() {
            // The directory row says `moved` since the switch: a server that
            // still reads here finds that first and reads nothing more.
            let mut main = connect_for_move(&layout, &Home::Main)?;
            let removed = remove_rows(&mut main, tenant, &Home::Main, &SOURCE_ROWS)?;
            format!("{removed} rows removed from the main database")
        } else {
            // (A rerun after the store was removed finds nothing to mark.)
            let gone = match (&from, layout.kind()) {
                (Home::Dedicated { name, .. }, DbKind::Sqlite) => {
                    !layout.sqlite_file(name).exists()
                }
                _ => false,
            };
            if !gone {
                let marked = connect_home(&layout, &from, true)
                    .and_then(|mut src| set_writes(&mut src, tenant, &from, WriteState::Moved));
                if let Err(e) = marked {
                    observer.note(&format!(
                        "the old store could not be marked `moved` (already removed?): {e:#}"
                    ));
                }
            }
            // A server may still connect to it by name until its host cache
            // expires; after that nobody does.
            let switched_ago = self
                .in_tenant(tenant, |conn| {
                    tenant_moves::table
                        .find(&row.id)
                        .select(tenant_moves::switched_at)
                        .first::<Option<NaiveDateTime>>(conn)
                })?
                .map(|at| (super::now() - at).to_std().unwrap_or_default())
                .unwrap_or_default();
            let wait = cache_ttl.saturating_sub(switched_ago);
            if !wait.is_zero() {
                observer.note(&format!(
                    "waiting {} s for every server's host cache before removing {}",
                    wait.as_secs_f64().ceil(),
                    describe(&from)
                ));
                std::thread::sleep(wait);
            }
            drop_home(&layout, &from).context("removing the tenant's old store")?;
            format!("{} removed", describe(&from))
        };
        observer.reached("cleaned");
        report.source = source;
        // From the record, so that a move finished by a rerun counts both runs.
        report.total_ms = (super::now() - row.started_at).num_milliseconds().max(0) as u64;
        let report_json = serde_json::to_string(&report)?;
        self.in_tenant(tenant, |conn| {
            diesel::update(tenant_moves::table.find(&row.id))
                .set((
                    tenant_moves::step.eq(Step::Done.as_str()),
                    tenant_moves::finished_at.eq(super::now()),
                    tenant_moves::report.eq(&report_json),
                ))
                .execute(conn)
        })?;
        Ok(report)
    }

    /// Gives up a move that did not switch: the source reopened, the target's
    /// copy removed, the record closed.
    fn undo(&mut self, row: &MoveRow, tenant: &TenantId) -> anyhow::Result<()> {
        let layout = self.layout.clone();
        let from = row.source_home()?;
        let to = row.target_home_of()?;
        if to.is_main() {
            remove_rows(&mut self.conn, tenant, &Home::Main, &SOURCE_ROWS)?;
        } else {
            drop_home(&layout, &to).context("removing the move's target")?;
        }
        let mut src = connect_home(&layout, &from, true)?;
        set_writes(&mut src, tenant, &from, WriteState::Open)?;
        self.set_step(tenant, &row.id, Step::Undone)?;
        Ok(())
    }

    /// The tenant's moves, newest first: when, from, to, how it ended, report.
    pub fn moves_of(&mut self, slug: &str) -> anyhow::Result<Vec<(String, Option<MoveReport>)>> {
        let Some((tenant, _)) = self.find_tenant(slug)? else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String, Option<String>)> = self.in_tenant(&tenant, |conn| {
            tenant_moves::table
                .filter(tenant_moves::tenant_id.eq(&tenant))
                .order(tenant_moves::started_at.desc())
                .select((tenant_moves::step, tenant_moves::report))
                .load(conn)
        })?;
        Ok(rows
            .into_iter()
            .map(|(step, report)| (step, report.and_then(|r| serde_json::from_str(&r).ok())))
            .collect())
    }
}

/// The rows the copy will read (for its progress bar), inside the snapshot.
fn digest_counts(conn: &mut DbConnection, tenant: &TenantId) -> QueryResult<u64> {
    use super::schema::{
        api_keys, audit_log, auth_tokens, companies, invites, lead_activities, lead_import_changes,
        lead_imports, leads, notes, outbox, sessions, tasks, users,
    };
    macro_rules! count {
        ($($table:ident),*) => {{
            let mut n = 0i64;
            $(n += $table::table.filter($table::tenant_id.eq(tenant)).count().get_result::<i64>(&mut *conn)?;)*
            n.max(0) as u64
        }};
    }
    Ok(count!(
        users,
        companies,
        leads,
        invites,
        notes,
        lead_activities,
        tasks,
        lead_imports,
        lead_import_changes,
        sessions,
        api_keys,
        auth_tokens,
        outbox,
        audit_log
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_back() {
        for step in [
            Step::Copying,
            Step::Paused,
            Step::Switched,
            Step::Done,
            Step::Undone,
        ] {
            assert_eq!(Step::parse(step.as_str()).unwrap(), step);
        }
        assert!(Step::parse("flying").is_err());
    }
}
