//! A tenant's rows as a bundle's tables: read for `tenantry tenants export` (and
//! for checksums that a move compares), written back by `tenants import`.
//!
//! Export reads every table from one snapshot of the tenant's store (on
//! PostgreSQL one `REPEATABLE READ` transaction; on SQLite one read transaction,
//! which sees one version of the file for as long as it lasts), a page at a time
//! in primary-key order, and hands each row on as one line of JSON: memory stays
//! at one page whatever the tenant's size. A table's lines depend only on its
//! rows (fields in a fixed order, rows by id, ids being UUIDs that sort the same
//! on both engines), so the same rows give the same bytes and the same SHA-256
//! wherever they are read: [`OperatorDb::tenant_digests`] computes them without
//! writing anything.
//!
//! What never travels: sessions, auth tokens (hand-off and reset links), API
//! keys, the outbox and mail queue, and staged imports: secrets or work in flight. Members
//! travel with their argon2 hashes (so they log in after a restore), invites with
//! the SHA-256 of their link's token (so a pending invite's link still works).
//!
//! Import writes the rows into a store in one transaction, parents before
//! children, inside the tenant (row-level security is forced for the owner too);
//! a tenant placed outside the main database is listed in the directory last, as
//! sign-up does, and its store removed if that fails.

use std::io::BufRead;

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::erase::enter;
use super::leads::Lead;
use super::migrate::{latest_version, migrate_home};
use super::operator::OperatorDb;
use super::schema::{
    api_keys, audit_log, auth_tokens, companies, invites, lead_activities, lead_import_changes,
    lead_imports, leads, member_directory, notes, outbox, sessions, tasks, tenants, users,
};
use super::scope::{TenantScope, TenantTx};
use super::stores::{Home, StoreLayout, connect_home, create_home, drop_home};
use super::tenants::NewTenant;
use super::{DbBackend, DbConnection, TxMode, in_transaction, insert_many};
use crate::config::DbKind;
use crate::domain::spreadsheet::csv_safe;
use crate::domain::{LeadNumber, Placement, TenantId};

/// The tables a bundle holds, parents before children (the order of import).
pub const BUNDLE_TABLES: [&str; 8] = [
    "users",
    "companies",
    "leads",
    "invites",
    "notes",
    "lead_activities",
    "tasks",
    "audit_log",
];

/// Bundle tables added after format 1 began: a bundle made before them has no
/// file for them, and restores with none of their rows.
pub const LATER_TABLES: [&str; 1] = ["tasks"];

/// The kind of an activity entry from a bundle made before entries had kinds.
fn status_kind() -> String {
    "status".to_owned()
}

/// Rows read per query while exporting.
pub(super) const PAGE_ROWS: i64 = 1_000;
/// Rows per multi-row `INSERT` while importing (13 columns at most: well under
/// both engines' limits on bound parameters).
pub(super) const INSERT_ROWS: usize = 500;

/// The bundle's file of a table.
pub fn table_file(table: &str) -> String {
    format!("{table}.ndjson")
}

/// The directory's facts about a tenant that a bundle carries.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleTenant {
    /// The tenant's id, kept by a restore.
    pub id: String,
    /// Its subdomain.
    pub slug: String,
    /// The organisation's name.
    pub name: String,
    /// Its plan.
    pub plan: String,
    /// Where it lived when exported.
    pub placement: String,
    /// When it signed up.
    pub created_at: NaiveDateTime,
}

/// Takes a bundle's files as the snapshot is read.
pub trait BundleSink {
    /// Starts the next file: what [`BundleSink::write`] gives goes into it.
    fn start_file(&mut self, name: &str) -> anyhow::Result<()>;
    /// Appends to the current file.
    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()>;
    /// Told once, before any file, how many rows each table has.
    fn planned(&mut self, _counts: &[(&'static str, u64)]) {}
    /// Told after each page of rows (for progress).
    fn rows_written(&mut self, _table: &'static str, _rows: u64) {}
}

/// Gives a bundle's table files back for a restore.
pub trait BundleSource {
    /// The lines of the file of `table`.
    fn table(&mut self, table: &str) -> anyhow::Result<Box<dyn BufRead + '_>>;
}

/// One table's rows of a tenant: how many, and the SHA-256 of their lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDigest {
    /// The table.
    pub table: &'static str,
    /// Its rows of the tenant.
    pub rows: u64,
    /// Lowercase hex SHA-256 of the table's bundle file.
    pub sha256: String,
}

/// Rows per table, in [`BUNDLE_TABLES`] order.
pub type TableRows = Vec<(&'static str, u64)>;

/// What a restore wrote.
#[derive(Debug)]
pub struct Restored {
    /// Where the tenant now lives.
    pub home: Home,
    /// Rows per table.
    pub rows: Vec<(&'static str, u64)>,
}

/// The next page of `$table` after the key `$after`, in key order.
macro_rules! page_of {
    ($conn:expr, $table:ident, $record:ty, $tenant:expr, $after:expr) => {{
        let mut query = $table::table
            .filter($table::tenant_id.eq($tenant))
            .order($table::id.asc())
            .select(<$record>::as_select())
            .limit(PAGE_ROWS)
            .into_boxed::<DbBackend>();
        if let Some(after) = $after {
            query = query.filter($table::id.gt(after));
        }
        query.load::<$record>($conn)
    }};
}

/// A row of a bundle table: serialised as one line, read back and inserted.
pub(super) trait Record: Serialize + DeserializeOwned + PartialEq + Send {
    /// The table's name.
    const TABLE: &'static str;
    fn key(&self) -> &str;
    fn tenant(&self) -> &str;
    /// The tenant's next page of rows after the key `after`, in key order.
    fn page(conn: &mut DbConnection, tenant: &str, after: Option<String>)
    -> QueryResult<Vec<Self>>;
    /// Inserts rows (at most [`INSERT_ROWS`]).
    fn insert(conn: &mut DbConnection, rows: &[Self]) -> QueryResult<()>;
    /// Overwrites the row of the same key with this one.
    fn update(&self, conn: &mut DbConnection) -> QueryResult<()>;
    /// Deletes the tenant's rows of these keys.
    fn delete(conn: &mut DbConnection, tenant: &str, keys: &[String]) -> QueryResult<()>;
    /// The tenant's rows of these keys (at most [`INSERT_ROWS`]), in key order.
    fn by_keys(conn: &mut DbConnection, tenant: &str, keys: &[String]) -> QueryResult<Vec<Self>>;
    /// How many rows the tenant has.
    fn count(conn: &mut DbConnection, tenant: &str) -> QueryResult<i64>;
}

macro_rules! records {
    ($($(#[$doc:meta])* $name:ident => $table:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? })*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Serialize, Deserialize)]
            #[diesel(table_name = $table, primary_key(tenant_id, id), treat_none_as_null = true)]
            #[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
            #[serde(deny_unknown_fields)]
            pub(super) struct $name {
                tenant_id: String,
                id: String,
                $($(#[$fmeta])* $field: $ty),*
            }

            impl Record for $name {
                const TABLE: &'static str = stringify!($table);
                fn key(&self) -> &str {
                    &self.id
                }
                fn tenant(&self) -> &str {
                    &self.tenant_id
                }
                fn page(
                    conn: &mut DbConnection,
                    tenant: &str,
                    after: Option<String>,
                ) -> QueryResult<Vec<Self>> {
                    page_of!(conn, $table, $name, tenant, after)
                }
                fn insert(conn: &mut DbConnection, rows: &[Self]) -> QueryResult<()> {
                    insert_many!(conn, $table::table, *rows);
                    Ok(())
                }
                fn update(&self, conn: &mut DbConnection) -> QueryResult<()> {
                    diesel::update(
                        $table::table
                            .filter($table::tenant_id.eq(&self.tenant_id))
                            .filter($table::id.eq(&self.id)),
                    )
                    .set(self)
                    .execute(conn)?;
                    Ok(())
                }
                fn delete(conn: &mut DbConnection, tenant: &str, keys: &[String]) -> QueryResult<()> {
                    for keys in keys.chunks(INSERT_ROWS) {
                        diesel::delete(
                            $table::table
                                .filter($table::tenant_id.eq(tenant))
                                .filter($table::id.eq_any(keys)),
                        )
                        .execute(conn)?;
                    }
                    Ok(())
                }
                fn by_keys(conn: &mut DbConnection, tenant: &str, keys: &[String]) -> QueryResult<Vec<Self>> {
                    $table::table
                        .filter($table::tenant_id.eq(tenant))
                        .filter($table::id.eq_any(keys))
                        .order($table::id.asc())
                        .select(<$name>::as_select())
                        .load(conn)
                }
                fn count(conn: &mut DbConnection, tenant: &str) -> QueryResult<i64> {
                    $table::table
                        .filter($table::tenant_id.eq(tenant))
                        .count()
                        .get_result(conn)
                }
            }
        )*
    };
}

records! {
    /// A member, with their password's argon2 hash.
    UserRecord => users {
        email: String,
        name: String,
        password_hash: String,
        role: String,
        active: bool,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    /// A company, with the number its URL shows.
    CompanyRecord => companies {
        number: i64,
        name: String,
        domain: String,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    /// A lead, with the number its URL shows.
    LeadRecord => leads {
        number: i64,
        name: String,
        email: String,
        phone: String,
        company_id: Option<String>,
        status: String,
        value: i64,
        owner_id: Option<String>,
        source: String,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    /// An invitation, with the SHA-256 of its link's token.
    InviteRecord => invites {
        email: String,
        role: String,
        token_hash: String,
        invited_by: String,
        expires_at: NaiveDateTime,
        accepted_at: Option<NaiveDateTime>,
        revoked_at: Option<NaiveDateTime>,
        created_at: NaiveDateTime,
    }
    /// A note on a lead.
    NoteRecord => notes {
        lead_id: String,
        author_id: String,
        body: String,
        created_at: NaiveDateTime,
    }
    /// An entry of a lead's activity. Bundles from before entries had kinds
    /// hold only status changes.
    ActivityRecord => lead_activities {
        lead_id: String,
        actor_id: Option<String>,
        from_status: Option<String>,
        to_status: String,
        created_at: NaiveDateTime,
        #[serde(default = "status_kind")]
        kind: String,
        detail: Option<String>,
    }
    /// A committed CSV import (moves only: a bundle is a new start).
    LeadImportRecord => lead_imports {
        created_by: Option<String>,
        created_at: NaiveDateTime,
        on_duplicate: String,
        created_count: i64,
        updated_count: i64,
        skipped_count: i64,
        undone_at: Option<NaiveDateTime>,
        undone_by: Option<String>,
    }
    /// What an import did to a lead (moves only).
    ImportChangeRecord => lead_import_changes {
        import_id: String,
        lead_id: String,
        kind: String,
        before: Option<String>,
        after_at: NaiveDateTime,
    }
    /// A task on a lead.
    TaskRecord => tasks {
        lead_id: String,
        title: String,
        due_on: NaiveDate,
        assignee_id: String,
        created_by: Option<String>,
        created_at: NaiveDateTime,
        done_at: Option<NaiveDateTime>,
        done_by: Option<String>,
    }
    /// An audit log entry, as it was written: bundles and moves carry the log
    /// whole (restoring inserts, which the log allows; nothing updates it).
    AuditRecord => audit_log {
        seq: i64,
        at: NaiveDateTime,
        actor_kind: String,
        actor_id: Option<String>,
        actor_label: String,
        action: String,
        target: Option<String>,
        detail: Option<String>,
        client_ip: Option<String>,
        request_id: Option<String>,
    }
    /// A log-in session (only its token's SHA-256): moves carry it, bundles never.
    SessionRecord => sessions {
        user_id: String,
        token_hash: String,
        user_agent: String,
        client_addr: String,
        created_at: NaiveDateTime,
        last_seen_at: NaiveDateTime,
        expires_at: NaiveDateTime,
    }
    /// An API key (only its SHA-256): moves carry it, so integrations keep
    /// working; bundles never.
    ApiKeyRecord => api_keys {
        name: String,
        prefix: String,
        key_hash: String,
        scope: String,
        created_by: String,
        created_at: NaiveDateTime,
        expires_at: NaiveDateTime,
        last_used_at: Option<NaiveDateTime>,
        revoked_at: Option<NaiveDateTime>,
    }
    /// A hand-off or reset link (only its token's SHA-256): moves only.
    TokenRecord => auth_tokens {
        user_id: String,
        purpose: String,
        token_hash: String,
        expires_at: NaiveDateTime,
        used_at: Option<NaiveDateTime>,
        created_at: NaiveDateTime,
    }
    /// An outgoing mail, sent or not: moves only.
    OutboxRecord => outbox {
        purpose: String,
        invite_id: Option<String>,
        user_id: Option<String>,
        recipient: String,
        subject: String,
        body_text: String,
        body_html: String,
        link: Option<String>,
        status: String,
        attempts: i32,
        next_attempt_at: NaiveDateTime,
        last_error: Option<String>,
        created_at: NaiveDateTime,
        sent_at: Option<NaiveDateTime>,
    }
}

/// Writes every row of one table, page by page, as lines of JSON.
fn write_table<R: Record>(
    conn: &mut DbConnection,
    tenant: &str,
    sink: &mut dyn BundleSink,
) -> anyhow::Result<(&'static str, u64)> {
    let table = R::TABLE;
    sink.start_file(&table_file(table))?;
    let mut after = None;
    let mut total = 0;
    let mut line = Vec::with_capacity(512);
    loop {
        let rows =
            R::page(conn, tenant, after.take()).with_context(|| format!("reading {table}"))?;
        for row in &rows {
            line.clear();
            serde_json::to_writer(&mut line, row)?;
            line.push(b'\n');
            sink.write(&line)?;
        }
        total += rows.len() as u64;
        sink.rows_written(table, rows.len() as u64);
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE_ROWS => after = Some(last.key().to_owned()),
            _ => return Ok((table, total)),
        }
    }
}

/// Every bundle table of the tenant where `conn` points, inside the snapshot.
fn write_tables(
    conn: &mut DbConnection,
    tenant: &TenantId,
    sink: &mut dyn BundleSink,
) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let t = tenant.as_str();
    Ok(vec![
        write_table::<UserRecord>(conn, t, sink)?,
        write_table::<CompanyRecord>(conn, t, sink)?,
        write_table::<LeadRecord>(conn, t, sink)?,
        write_table::<InviteRecord>(conn, t, sink)?,
        write_table::<NoteRecord>(conn, t, sink)?,
        write_table::<ActivityRecord>(conn, t, sink)?,
        write_table::<TaskRecord>(conn, t, sink)?,
        write_table::<AuditRecord>(conn, t, sink)?,
    ])
}

/// Counts the tenant's rows of every bundle table, inside the snapshot.
fn count_tables(
    conn: &mut DbConnection,
    tenant: &TenantId,
) -> QueryResult<Vec<(&'static str, u64)>> {
    macro_rules! count {
        ($table:ident) => {
            $table::table
                .filter($table::tenant_id.eq(tenant))
                .count()
                .get_result::<i64>(&mut *conn)?
                .max(0) as u64
        };
    }
    Ok(vec![
        ("users", count!(users)),
        ("companies", count!(companies)),
        ("leads", count!(leads)),
        ("invites", count!(invites)),
        ("notes", count!(notes)),
        ("lead_activities", count!(lead_activities)),
        ("tasks", count!(tasks)),
        ("audit_log", count!(audit_log)),
    ])
}

/// `leads.csv` and `companies.csv`: what a person reads, in the snapshot, by
/// the numbers their URLs show.
fn write_spreadsheets(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &Home,
    sink: &mut dyn BundleSink,
) -> anyhow::Result<()> {
    let csv_bytes = |records: &mut dyn Iterator<Item = Vec<String>>| -> anyhow::Result<Vec<u8>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for record in records {
            writer.write_record(&record)?;
        }
        writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    };
    sink.start_file("companies.csv")?;
    let header = ["number", "name", "domain", "created_at", "updated_at"];
    sink.write(&csv_bytes(&mut std::iter::once(
        header.map(str::to_owned).to_vec(),
    ))?)?;
    let mut after: Option<i64> = None;
    loop {
        let mut query = companies::table
            .filter(companies::tenant_id.eq(tenant))
            .order(companies::number.asc())
            .select(CompanyRecord::as_select())
            .limit(PAGE_ROWS)
            .into_boxed::<DbBackend>();
        if let Some(after) = after.take() {
            query = query.filter(companies::number.gt(after));
        }
        let rows: Vec<CompanyRecord> = query.load(&mut *conn)?;
        sink.write(&csv_bytes(&mut rows.iter().map(|c| {
            vec![
                c.number.to_string(),
                csv_safe(&c.name),
                csv_safe(&c.domain),
                c.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                c.updated_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            ]
        }))?)?;
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE_ROWS => after = Some(last.number),
            _ => break,
        }
    }

    // The leads as the list's own export writes them, company and owner named.
    sink.start_file("leads.csv")?;
    sink.write(&csv_bytes(&mut std::iter::once(
        super::leads::LEAD_CSV_HEADER.map(str::to_owned).to_vec(),
    ))?)?;
    let scope = TenantScope::new(tenant.clone(), home.clone());
    let mut tx = TenantTx::enter(conn, &scope)?;
    let mut after: Option<LeadNumber> = None;
    loop {
        let mut query = tx
            .scope
            .leads()
            .order(leads::number.asc())
            .select(Lead::as_select())
            .limit(PAGE_ROWS)
            .into_boxed::<DbBackend>();
        if let Some(after) = after.take() {
            query = query.filter(leads::number.gt(after));
        }
        let page: Vec<Lead> = query.load(tx.conn)?;
        let last = page.last().map(|l| l.number);
        let full = page.len() as i64 == PAGE_ROWS;
        let rows = tx.describe_leads(page)?;
        sink.write(&csv_bytes(
            &mut rows.iter().map(|row| row.csv_record().to_vec()),
        )?)?;
        match last {
            Some(last) if full => after = Some(last),
            _ => break,
        }
    }
    Ok(())
}

/// Hashes each table's lines as they come, writing nothing.
#[derive(Default)]
struct DigestSink {
    done: Vec<(String, String)>,
    current: Option<(String, Sha256)>,
}

impl DigestSink {
    fn close(&mut self) {
        if let Some((name, hash)) = self.current.take() {
            self.done.push((name, hex(&hash.finalize())));
        }
    }
}

impl BundleSink for DigestSink {
    fn start_file(&mut self, name: &str) -> anyhow::Result<()> {
        self.close();
        self.current = Some((name.to_owned(), Sha256::new()));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        if let Some((_, hash)) = &mut self.current {
            hash.update(bytes);
        }
        Ok(())
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl OperatorDb {
    /// The directory's facts about the tenant at `slug`, and where it lives.
    pub fn bundle_tenant(&mut self, slug: &str) -> anyhow::Result<Option<(BundleTenant, Home)>> {
        let Some((id, home)) = self.find_tenant(slug)? else {
            return Ok(None);
        };
        let (name, plan, created_at): (String, String, NaiveDateTime) = tenants::table
            .filter(tenants::id.eq(&id))
            .select((tenants::name, tenants::plan, tenants::created_at))
            .first(&mut self.conn)?;
        Ok(Some((
            BundleTenant {
                id: id.as_str().to_owned(),
                slug: slug.to_owned(),
                name,
                plan,
                placement: home.placement().as_str().to_owned(),
                created_at,
            },
            home,
        )))
    }

    /// Runs `f` on a connection to `home` as the owner.
    fn on_home<T>(
        &mut self,
        home: &Home,
        f: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if home.is_main() {
            f(&mut self.conn)
        } else {
            let mut conn = connect_home(&self.layout, home, true)?;
            f(&mut conn)
        }
    }

    /// Writes the tenant's tables (and with `spreadsheets`, its CSV files) from
    /// one snapshot of its store into `sink`. Returns the rows per table.
    pub fn export_tables(
        &mut self,
        tenant: &TenantId,
        home: &Home,
        spreadsheets: bool,
        sink: &mut dyn BundleSink,
    ) -> anyhow::Result<Vec<(&'static str, u64)>> {
        self.on_home(home, |conn| {
            in_transaction(conn, TxMode::Snapshot, |conn| {
                enter(conn, tenant, home)?;
                sink.planned(&count_tables(conn, tenant)?);
                let counts = write_tables(conn, tenant, sink)?;
                if spreadsheets {
                    write_spreadsheets(conn, tenant, home, sink)?;
                }
                Ok(counts)
            })
        })
    }

    /// Each bundle table's row count and SHA-256 for the tenant in `home`, as an
    /// export would write them, without writing anything.
    pub fn tenant_digests(
        &mut self,
        tenant: &TenantId,
        home: &Home,
    ) -> anyhow::Result<Vec<TableDigest>> {
        let mut sink = DigestSink::default();
        let counts = self.export_tables(tenant, home, false, &mut sink)?;
        sink.close();
        Ok(counts
            .into_iter()
            .zip(sink.done)
            .map(|((table, rows), (_, sha256))| TableDigest {
                table,
                rows,
                sha256,
            })
            .collect())
    }

    /// Which of a slug and a tenant id are taken here: the slug's tenant, the
    /// id's tenant's slug.
    pub fn taken(
        &mut self,
        slug: &str,
        id: &str,
    ) -> anyhow::Result<(Option<String>, Option<String>)> {
        let by_slug = tenants::table
            .filter(tenants::slug.eq(slug))
            .select(tenants::id)
            .first::<String>(&mut self.conn)
            .optional()?;
        let by_id = tenants::table
            .filter(tenants::id.eq(id))
            .select(tenants::slug)
            .first::<String>(&mut self.conn)
            .optional()?;
        Ok((by_slug, by_id))
    }

    /// Restores a bundle's tenant under `slug` into `placement`: a new store made
    /// and migrated for it (unless shared), its rows in one transaction, then its
    /// directory row and its members' addresses in the main database. A failure
    /// leaves nothing: the transaction rolls back and a new store is removed.
    pub fn restore_tenant(
        &mut self,
        tenant: &BundleTenant,
        slug: &str,
        placement: Placement,
        source: &mut dyn BundleSource,
        progress: &mut dyn FnMut(&'static str, u64),
    ) -> anyhow::Result<Restored> {
        let id = TenantId::from_string(tenant.id.clone());
        if placement == Placement::Shared {
            let rows = in_transaction(&mut self.conn, TxMode::Write, |conn| {
                list_tenant(conn, tenant, slug, &Home::Main, None)?;
                let (rows, _) = write_rows(conn, &id, &Home::Main, source, progress)?;
                Ok::<_, anyhow::Error>(rows)
            })?;
            return Ok(Restored {
                home: Home::Main,
                rows,
            });
        }
        let home = new_home(&self.layout, placement, &id)?;
        let restored = (|| {
            create_home(&self.layout, &home)?;
            migrate_home(&self.layout, &home)?;
            let version = latest_version(self.layout.kind());
            let mut conn = connect_home(&self.layout, &home, true)?;
            let (rows, listed) = in_transaction(&mut conn, TxMode::Write, |conn| {
                // The store's own copy of its directory row, which its keys reference.
                list_tenant(conn, tenant, slug, &home, Some(&version))?;
                write_rows(conn, &id, &home, source, progress)
            })?;
            drop(conn);
            in_transaction(&mut self.conn, TxMode::Write, |conn| {
                list_tenant(conn, tenant, slug, &home, Some(&version))?;
                list_members(conn, &id, &listed)
            })?;
            Ok(rows)
        })();
        match restored {
            Ok(rows) => Ok(Restored { home, rows }),
            Err(e) => {
                if let Err(dropped) = drop_home(&self.layout, &home) {
                    tracing::warn!(error = %format!("{dropped:#}"), "could not remove the half-restored store");
                }
                Err(e)
            }
        }
    }
}

/// A new store for a restored tenant, named as sign-up names one. A SQLite
/// file is named by its tenant: one left behind is refused rather than reused.
fn new_home(layout: &StoreLayout, placement: Placement, id: &TenantId) -> anyhow::Result<Home> {
    let name = layout.new_store_name(placement, Some(id));
    let home = match placement {
        Placement::Schema => Home::Schema(name),
        _ => Home::Dedicated { name, server: None },
    };
    if let (DbKind::Sqlite, Home::Dedicated { name, .. }) = (layout.kind(), &home) {
        let file = layout.sqlite_file(name);
        anyhow::ensure!(
            !file.exists(),
            "the tenant's file {} exists already; remove it first",
            file.display()
        );
    }
    Ok(home)
}

/// Writes a directory row for the tenant at `home` (the main directory's or a
/// store's own copy), keeping its name, plan and sign-up time.
fn list_tenant(
    conn: &mut DbConnection,
    tenant: &BundleTenant,
    slug: &str,
    home: &Home,
    version: Option<&str>,
) -> anyhow::Result<()> {
    let id = TenantId::from_string(tenant.id.clone());
    let mut row = NewTenant::at(&id, slug, &tenant.name, home);
    row.created_at = tenant.created_at;
    row.store_version = version;
    diesel::insert_into(tenants::table)
        .values(&row)
        .execute(conn)
        .context("adding the tenant to the directory")?;
    diesel::update(tenants::table.filter(tenants::id.eq(&id)))
        .set(tenants::plan.eq(&tenant.plan))
        .execute(conn)?;
    Ok(())
}

/// Lists the active members' addresses in the finder's index where `conn` points.
fn list_members(
    conn: &mut DbConnection,
    tenant: &TenantId,
    emails: &[String],
) -> anyhow::Result<()> {
    for email in emails {
        diesel::insert_into(member_directory::table)
            .values((
                member_directory::email.eq(email),
                member_directory::tenant_id.eq(tenant),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Inserts every table's rows inside the tenant, parents first, and the
/// store's own listing of its active members. Returns the rows per table and
/// the active members' addresses.
fn write_rows(
    conn: &mut DbConnection,
    tenant: &TenantId,
    home: &Home,
    source: &mut dyn BundleSource,
    progress: &mut dyn FnMut(&'static str, u64),
) -> anyhow::Result<(TableRows, Vec<String>)> {
    enter(conn, tenant, home)?;
    let mut active = Vec::new();
    let mut rows = Vec::new();
    rows.push((
        "users",
        insert_table::<UserRecord>(conn, tenant, "users", source, progress, |conn, batch| {
            active.extend(batch.iter().filter(|u| u.active).map(|u| u.email.clone()));
            insert_many!(conn, users::table, *batch);
            Ok(())
        })?,
    ));
    macro_rules! restore {
        ($name:literal, $table:ident, $record:ty) => {
            rows.push((
                $name,
                insert_table::<$record>(conn, tenant, $name, source, progress, |conn, batch| {
                    insert_many!(conn, $table::table, *batch);
                    Ok(())
                })?,
            ));
        };
    }
    restore!("companies", companies, CompanyRecord);
    restore!("leads", leads, LeadRecord);
    restore!("invites", invites, InviteRecord);
    restore!("notes", notes, NoteRecord);
    restore!("lead_activities", lead_activities, ActivityRecord);
    restore!("tasks", tasks, TaskRecord);
    restore!("audit_log", audit_log, AuditRecord);
    list_members(conn, tenant, &active)?;
    Ok((rows, active))
}

/// Reads one table's lines and inserts them in batches; every row must be the
/// tenant's.
fn insert_table<R: Record>(
    conn: &mut DbConnection,
    tenant: &TenantId,
    table: &'static str,
    source: &mut dyn BundleSource,
    progress: &mut dyn FnMut(&'static str, u64),
    mut insert: impl FnMut(&mut DbConnection, &Vec<R>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let file = table_file(table);
    let reader = source.table(table)?;
    let mut batch: Vec<R> = Vec::with_capacity(INSERT_ROWS);
    let mut total = 0;
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {file}"))?;
        if line.is_empty() {
            continue;
        }
        let row: R = serde_json::from_str(&line)
            .with_context(|| format!("{file} line {}: not a row of {table}", n + 1))?;
        anyhow::ensure!(
            row.tenant() == tenant.as_str(),
            "{file} line {}: the row belongs to another tenant",
            n + 1
        );
        batch.push(row);
        if batch.len() == INSERT_ROWS {
            insert(conn, &batch).with_context(|| format!("restoring {table}"))?;
            total += batch.len() as u64;
            progress(table, batch.len() as u64);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert(conn, &batch).with_context(|| format!("restoring {table}"))?;
        total += batch.len() as u64;
        progress(table, batch.len() as u64);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn operator(dir: &tempfile::TempDir) -> OperatorDb {
        let url = crate::config::DatabaseUrl::sqlite_file(&dir.path().join("main.db"));
        let config = Config::local(url.clone(), url.clone(), dir.path());
        super::super::run_migrations(&url).unwrap();
        OperatorDb::connect(&StoreLayout::new(&config)).unwrap()
    }

    fn digest_of(op: &mut OperatorDb, tenant: &TenantId, table: &str) -> TableDigest {
        op.tenant_digests(tenant, &Home::Main)
            .unwrap()
            .into_iter()
            .find(|d| d.table == table)
            .unwrap()
    }

    #[test]
    fn table_checksums_are_stable_and_follow_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut op = operator(&dir);
        let tenant = TenantId::generate();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 678_901)
            .unwrap();
        let home = Home::Main;
        let row = NewTenant::at(&tenant, "acme", "Acme", &home);
        diesel::insert_into(tenants::table)
            .values(&row)
            .execute(&mut op.conn)
            .unwrap();
        // More than a page, so that the keyset goes on past the first.
        let companies: Vec<CompanyRecord> = (1..=(PAGE_ROWS + 5))
            .map(|n| CompanyRecord {
                tenant_id: tenant.as_str().to_owned(),
                id: uuid::Uuid::new_v4().to_string(),
                number: n,
                name: format!("Company {n}"),
                domain: String::new(),
                created_at: at,
                updated_at: at,
            })
            .collect();
        let DbConnection::Sqlite(conn) = &mut op.conn else {
            panic!("a SQLite test");
        };
        diesel::insert_into(companies::table)
            .values(&companies)
            .execute(conn)
            .unwrap();

        let first = digest_of(&mut op, &tenant, "companies");
        let again = digest_of(&mut op, &tenant, "companies");
        assert_eq!(first, again, "same rows, same checksum");
        assert_eq!(first.rows, PAGE_ROWS as u64 + 5);
        assert_eq!(first.sha256.len(), 64);

        diesel::update(companies::table.filter(companies::number.eq(PAGE_ROWS + 2)))
            .set(companies::name.eq("Company renamed"))
            .execute(&mut op.conn)
            .unwrap();
        let changed = digest_of(&mut op, &tenant, "companies");
        assert_eq!(changed.rows, first.rows);
        assert_ne!(changed.sha256, first.sha256, "a changed row changes it");
        // Other tables are untouched.
        assert_eq!(digest_of(&mut op, &tenant, "leads").rows, 0);
    }
}
