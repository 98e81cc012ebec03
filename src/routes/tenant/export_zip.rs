//! `GET /settings/export.zip` (admin only): the workspace's own data as one zip,
//! streamed as it is written.
//!
//! The archive holds `leads.csv` (the lead list's export columns), `companies.csv`,
//! `notes.csv`, `members.csv` (no password hash, session or token: its query does
//! not select them) and, last, `manifest.json`: format version, the workspace,
//! when, and each file's row count and SHA-256, computed as the file streams.
//!
//! Every row comes from one snapshot ([`Db::read_snapshot`]), read a page at a time
//! on a blocking thread that writes the zip (`ZipWriter::new_stream`: data
//! descriptors, no seeking) into a bounded channel whose other end is the response
//! body. So a workspace with a million leads is never in memory, and the writer
//! goes at the client's pace. It stops when the client goes (the channel closes)
//! or takes nothing for [`STALL_TIMEOUT`], and the response then ends in an error,
//! never as a short zip that looks whole.
//!
//! The snapshot holds a pooled connection for as long as the download lasts, so
//! [`ExportSlots`] lets one download per workspace run at a time, and a few in all.
//! The handler waits for the first bytes before it answers, so that a database
//! that cannot be reached still gets its proper status and error page.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDateTime, Timelike};
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tracing::Instrument;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::auth::AdminMember;
use crate::db::audit::AUDIT_CSV_HEADER;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::leads::LEAD_CSV_HEADER;
use crate::db::workspace_export::{
    COMPANY_CSV_HEADER, EXPORT_PAGE_ROWS, ExportPage, MEMBER_CSV_HEADER, NOTE_CSV_HEADER,
};
use crate::db::{Db, DbError, QueryError, QueryResult, TenantScope, TenantTx};
use crate::domain::TenantId;
use crate::domain::{AuditAction, RequestMeta};
use crate::error::{AppError, AppResult, error_chain};

/// The manifest format this binary writes.
pub const FORMAT_VERSION: u32 = 1;
/// How long the writer waits for a client that takes nothing before it gives up.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes per message from the writer to the response.
const CHUNK_BYTES: usize = 64 * 1024;
/// Messages that may wait between the writer and the response (with
/// [`CHUNK_BYTES`], 256 KiB in flight at most).
const CHANNEL_CHUNKS: usize = 4;
/// What a refused download (another one running) asks the client to wait.
const BUSY_RETRY_AFTER_SECS: u64 = 30;

/// A message to the response: bytes of the zip, or why it stops.
type Chunk = Result<Bytes, AppError>;

/// The downloads running now: at most one per workspace, and at most `max` in
/// all. Each holds a pooled connection and a blocking thread for as long as its
/// client takes to read, so without a bound a few slow downloads could hold the
/// connections every other request needs.
#[derive(Debug)]
pub struct ExportSlots {
    running: Mutex<HashSet<TenantId>>,
    max: usize,
}

impl ExportSlots {
    /// Slots for a server whose main pool has `pool_size` connections: a quarter
    /// of them, at least one.
    pub fn for_pool(pool_size: u32) -> Self {
        Self::new(usize::try_from(pool_size / 4).unwrap_or(1).max(1))
    }

    /// At most `max` downloads at a time.
    pub fn new(max: usize) -> Self {
        Self {
            running: Mutex::default(),
            max,
        }
    }

    /// A slot for `tenant`'s download, unless it has one running or all are taken.
    fn take(self: Arc<Self>, tenant: &TenantId) -> Option<ExportSlot> {
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if running.len() >= self.max || !running.insert(tenant.clone()) {
                return None;
            }
        }
        Some(ExportSlot {
            slots: self,
            tenant: tenant.clone(),
        })
    }
}

/// A running download's place in [`ExportSlots`], given back when dropped.
#[derive(Debug)]
struct ExportSlot {
    slots: Arc<ExportSlots>,
    tenant: TenantId,
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock().unwrap_or_else(|p| p.into_inner());
        running.remove(&self.tenant);
    }
}

/// Why the writer stopped before the end, on the client's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gone {
    /// The response was dropped: the client went away.
    Closed,
    /// The client took nothing for [`STALL_TIMEOUT`].
    Stalled,
}

/// What the writer, the task around it and the response body share.
#[derive(Debug, Default)]
struct Progress {
    /// Some bytes have gone to the response: its status is sent.
    started: AtomicBool,
    /// The last byte of the archive has gone to the response.
    complete: AtomicBool,
    /// Why the client side stopped the writer, if it did.
    gone: OnceLock<Gone>,
    /// Set once the archive will not be finished: later writes go nowhere, so
    /// what the zip crate writes when dropped unfinished is not sent.
    discard: AtomicBool,
}

/// The zip's output: bytes gathered into [`CHUNK_BYTES`] messages on a bounded
/// channel, each sent when there is room, waiting at most `stall` for it (this
/// blocks the writer's thread, a blocking-pool thread). The first write after the
/// client has gone fails, and [`Progress::gone`] says why.
struct ChannelWriter {
    sender: mpsc::Sender<Chunk>,
    runtime: tokio::runtime::Handle,
    buffer: Vec<u8>,
    stall: Duration,
    progress: Arc<Progress>,
    slot: Option<ExportSlot>,
}

impl ChannelWriter {
    fn new(
        sender: mpsc::Sender<Chunk>,
        runtime: tokio::runtime::Handle,
        stall: Duration,
        progress: Arc<Progress>,
        slot: Option<ExportSlot>,
    ) -> Self {
        Self {
            sender,
            runtime,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            stall,
            progress,
            slot,
        }
    }

    fn discarding(&self) -> bool {
        self.progress.discard.load(Ordering::Acquire)
    }

    fn stop(&mut self, why: Gone) -> io::Error {
        let _ = self.progress.gone.set(why);
        self.progress.discard.store(true, Ordering::Release);
        self.buffer = Vec::new();
        let message = match why {
            Gone::Closed => "the client went away",
            Gone::Stalled => "the client stopped reading",
        };
        io::Error::new(io::ErrorKind::BrokenPipe, message)
    }

    /// Sends what is buffered, waiting for room at most `stall`.
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.discarding() {
            self.buffer.clear();
            return Ok(());
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        // A blocking-pool thread may wait on the runtime that spawned it; the
        // runtime's own thread drives the timer meanwhile.
        let (stall, sender) = (self.stall, &self.sender);
        let sent = self
            .runtime
            .block_on(async move { tokio::time::timeout(stall, sender.send(Ok(chunk))).await });
        match sent {
            Ok(Ok(())) => {
                self.progress.started.store(true, Ordering::Release);
                Ok(())
            }
            Ok(Err(_)) => Err(self.stop(Gone::Closed)),
            Err(_) => Err(self.stop(Gone::Stalled)),
        }
    }

    /// Sends the archive's last bytes and marks it complete. The slot is given
    /// back first: the client may ask again as soon as it has the last byte.
    fn close(mut self) -> io::Result<()> {
        self.slot.take();
        if self.discarding() {
            return Err(io::Error::other("the archive was abandoned"));
        }
        self.send_buffer()?;
        self.progress.complete.store(true, Ordering::Release);
        Ok(())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.discarding() {
            return Ok(data.len());
        }
        if self.sender.is_closed() {
            return Err(self.stop(Gone::Closed));
        }
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A message waits for a full chunk; `close` sends the rest.
        Ok(())
    }
}

/// The workspace as the manifest names it, and when the export began.
#[derive(Clone, Debug)]
struct About {
    slug: String,
    name: String,
    generated_at: NaiveDateTime,
}

/// `manifest.json`.
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    format_version: u32,
    tenant: ManifestTenant<'a>,
    /// UTC, RFC 3339.
    generated_at: String,
    tenantry_version: &'static str,
    files: &'a [ManifestFile],
}

#[derive(Debug, Serialize)]
struct ManifestTenant<'a> {
    slug: &'a str,
    name: &'a str,
}

/// One file of the archive: its data rows (the header line aside), its size and
/// the SHA-256 of its bytes as unzipped.
#[derive(Debug, Serialize)]
struct ManifestFile {
    name: &'static str,
    rows: u64,
    bytes: u64,
    sha256: String,
}

/// Why an archive was not written to its end.
#[derive(Debug)]
enum ArchiveError {
    Query(QueryError),
    Io(io::Error),
}

impl From<io::Error> for ArchiveError {
    fn from(e: io::Error) -> Self {
        ArchiveError::Io(e)
    }
}

impl From<zip::result::ZipError> for ArchiveError {
    fn from(e: zip::result::ZipError) -> Self {
        ArchiveError::Io(e.into())
    }
}

/// Lowercase hex of bytes.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A zip time stamp (whole seconds, from 1980 on).
fn zip_time(at: NaiveDateTime) -> zip::DateTime {
    zip::DateTime::from_date_and_time(
        u16::try_from(at.year()).unwrap_or(1980),
        u8::try_from(at.month()).unwrap_or(1),
        u8::try_from(at.day()).unwrap_or(1),
        u8::try_from(at.hour()).unwrap_or(0),
        u8::try_from(at.minute()).unwrap_or(0),
        u8::try_from(at.second()).unwrap_or(0),
    )
    .unwrap_or_default()
}

/// Lines of CSV.
fn csv_lines<const N: usize>(records: impl Iterator<Item = [String; N]>) -> io::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        writer.write_record(&record)?;
    }
    writer.into_inner().map_err(|e| e.into_error())
}

/// Writes one CSV file into the zip: its header, then every page `page` gives
/// (from none, then after each page's last key), hashing the bytes as they go.
fn csv_file<W, R, C, const N: usize>(
    zip: &mut ZipWriter<W>,
    options: SimpleFileOptions,
    name: &'static str,
    header: [&str; N],
    mut page: impl FnMut(Option<C>) -> QueryResult<ExportPage<R, C>>,
    record: impl Fn(&R) -> [String; N],
) -> Result<ManifestFile, ArchiveError>
where
    W: Write + io::Seek,
{
    zip.start_file(name, options)?;
    let mut hash = Sha256::new();
    let mut bytes = 0u64;
    let mut rows = 0u64;
    let mut put = |zip: &mut ZipWriter<W>, data: &[u8]| -> io::Result<()> {
        hash.update(data);
        bytes += data.len() as u64;
        zip.write_all(data)
    };
    put(zip, &csv_lines(std::iter::once(header.map(str::to_owned)))?)?;
    let mut after = None;
    loop {
        let ExportPage {
            rows: page_rows,
            next,
        } = page(after.take()).map_err(ArchiveError::Query)?;
        put(zip, &csv_lines(page_rows.iter().map(&record))?)?;
        rows += page_rows.len() as u64;
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(ManifestFile {
        name,
        rows,
        bytes,
        sha256: hex(&hash.finalize()),
    })
}

/// Writes the whole archive from the snapshot `tx` reads into `out`, and returns
/// what the manifest lists.
fn write_archive(
    tx: &mut TenantTx<'_>,
    out: ChannelWriter,
    about: &About,
) -> Result<Vec<ManifestFile>, ArchiveError> {
    let progress = out.progress.clone();
    let mut zip = ZipWriter::new_stream(out);
    match write_files(tx, &mut zip, about) {
        Ok(files) => {
            zip.finish()?.into_inner().close()?;
            Ok(files)
        }
        Err(e) => {
            // A ZipWriter dropped unfinished finishes itself: into nothing.
            progress.discard.store(true, Ordering::Release);
            Err(e)
        }
    }
}

/// Every file of the archive, the manifest last.
fn write_files<W: Write + io::Seek>(
    tx: &mut TenantTx<'_>,
    zip: &mut ZipWriter<W>,
    about: &About,
) -> Result<Vec<ManifestFile>, ArchiveError> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip_time(about.generated_at));
    // A file past 4 GiB must say it is ZIP64 before it starts, and a big
    // workspace's leads or notes could get there; current unzip tools read it.
    let csv = options.large_file(true);
    let files = vec![
        csv_file(
            zip,
            csv,
            "leads.csv",
            LEAD_CSV_HEADER,
            |after| tx.export_leads(after, EXPORT_PAGE_ROWS),
            |row| row.csv_record(),
        )?,
        csv_file(
            zip,
            csv,
            "companies.csv",
            COMPANY_CSV_HEADER,
            |after| tx.export_companies(after, EXPORT_PAGE_ROWS),
            |row| row.csv_record(),
        )?,
        csv_file(
            zip,
            csv,
            "notes.csv",
            NOTE_CSV_HEADER,
            |after| tx.export_notes(after, EXPORT_PAGE_ROWS),
            |row| row.csv_record(),
        )?,
        csv_file(
            zip,
            csv,
            "members.csv",
            MEMBER_CSV_HEADER,
            |after| tx.export_members(after, EXPORT_PAGE_ROWS),
            |row| row.csv_record(),
        )?,
        csv_file(
            zip,
            csv,
            "audit.csv",
            AUDIT_CSV_HEADER,
            |after| tx.export_audit(after, EXPORT_PAGE_ROWS),
            |row| row.csv_record(),
        )?,
    ];
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tenant: ManifestTenant {
            slug: &about.slug,
            name: &about.name,
        },
        generated_at: about
            .generated_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tenantry_version: env!("CARGO_PKG_VERSION"),
        files: &files,
    };
    zip.start_file("manifest.json", options)?;
    serde_json::to_writer_pretty(&mut *zip, &manifest).map_err(io::Error::from)?;
    zip.write_all(b"\n")?;
    Ok(files)
}

/// How an export's blocking work ended.
enum Outcome {
    Done(Vec<ManifestFile>),
    ClientGone(Gone),
    Failed(AppError),
}

/// Runs the export on a blocking thread inside one snapshot of the tenant, into
/// `out`; logs how it ended, and tells the response of a failure through
/// `failures` (the same channel).
async fn run_export(
    db: Db,
    scope: TenantScope,
    about: About,
    out: ChannelWriter,
    failures: mpsc::Sender<Chunk>,
) {
    let progress = out.progress.clone();
    let outcome = db
        .read_snapshot(&scope, move |tx| {
            let progress = out.progress.clone();
            match (write_archive(tx, out, &about), progress.gone.get()) {
                (Ok(files), _) => Ok(Outcome::Done(files)),
                (Err(_), Some(why)) => Ok(Outcome::ClientGone(*why)),
                (Err(ArchiveError::Query(e)), None) => Err(e),
                (Err(ArchiveError::Io(e)), None) => Ok(Outcome::Failed(AppError::Internal(
                    anyhow::Error::new(e).context("writing the workspace export"),
                ))),
            }
        })
        .await
        .unwrap_or_else(|e: DbError| Outcome::Failed(e.into()));
    match outcome {
        Outcome::Done(files) => {
            let rows = |name: &str| files.iter().find(|f| f.name == name).map_or(0, |f| f.rows);
            tracing::info!(
                leads.rows = rows("leads.csv"),
                companies.rows = rows("companies.csv"),
                notes.rows = rows("notes.csv"),
                members.rows = rows("members.csv"),
                "workspace exported"
            );
        }
        Outcome::ClientGone(Gone::Closed) => {
            tracing::info!("workspace export stopped: the client went away");
        }
        Outcome::ClientGone(Gone::Stalled) => {
            tracing::info!(
                timeout_secs = STALL_TIMEOUT.as_secs(),
                "workspace export stopped: the client stopped reading"
            );
        }
        Outcome::Failed(e) if progress.started.load(Ordering::Acquire) => {
            // The status line is sent; the response ends in an error (see `body`).
            tracing::error!(error = %error_chain(&e), "workspace export failed");
        }
        Outcome::Failed(e) => {
            // The handler still waits for the first bytes: it answers with the
            // error's own status, and logs it there.
            if let Err(unsent) = failures.try_send(Err(e))
                && let Err(e) = unsent.into_inner()
            {
                tracing::error!(error = %error_chain(&e), "workspace export failed");
            }
        }
    }
}

/// The response body: `first`, the channel's chunks, then, unless the writer
/// marked the archive complete, an error, so that the connection is cut rather
/// than a short zip ending like a whole one.
fn body(
    first: Bytes,
    receiver: mpsc::Receiver<Chunk>,
    progress: Arc<Progress>,
) -> impl futures_util::Stream<Item = Chunk> {
    let rest = futures_util::stream::unfold(Some(receiver), move |receiver| {
        let progress = progress.clone();
        async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(chunk) => Some((chunk, Some(receiver))),
                None if progress.complete.load(Ordering::Acquire) => None,
                None => Some((
                    Err(AppError::Internal(anyhow::anyhow!(
                        "the workspace export stopped before its end"
                    ))),
                    None,
                )),
            }
        }
    });
    futures_util::stream::once(async move { Ok(first) }).chain(rest)
}

/// `GET /settings/export.zip`.
#[tracing::instrument(name = "export workspace", skip_all)]
pub(super) async fn export_workspace(
    meta: RequestMeta,
    AdminMember(me): AdminMember,
    db: web::Data<Db>,
    slots: web::Data<ExportSlots>,
) -> AppResult<HttpResponse> {
    let slot =
        slots
            .into_inner()
            .take(me.tenant.scope.tenant_id())
            .ok_or(AppError::TooManyRequests {
                retry_after: BUSY_RETRY_AFTER_SECS,
            })?;
    // Recorded before the download starts, in its own small write (the snapshot
    // is a read), so the log says who took the workspace even if the download
    // is cut short; the zip's `audit.csv` lists this entry too.
    let event = NewAuditEvent::new(actor_of(&me.member), AuditAction::WorkspaceExported, &meta)
        .target("workspace export.zip");
    super::audit::record_download(&db, &me.tenant.scope, event).await?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("no runtime")))?;
    let about = About {
        slug: me.tenant.slug.to_string(),
        name: me.tenant.name.clone(),
        generated_at: crate::db::now(),
    };
    let disposition = format!(
        "attachment; filename=\"{}-export-{}.zip\"",
        about.slug,
        about.generated_at.format("%Y-%m-%d")
    );
    let disposition = HeaderValue::from_str(&disposition)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("Content-Disposition")))?;
    let (sender, mut receiver) = mpsc::channel(CHANNEL_CHUNKS);
    let progress = Arc::new(Progress::default());
    let failures = sender.clone();
    let out = ChannelWriter::new(sender, runtime, STALL_TIMEOUT, progress.clone(), Some(slot));
    actix_web::rt::spawn(
        run_export(
            db.get_ref().clone(),
            me.tenant.scope.clone(),
            about,
            out,
            failures,
        )
        .instrument(tracing::Span::current()),
    );
    // The first bytes (or the failure that came instead) decide the status.
    let first = match receiver.recv().await {
        Some(Ok(first)) => first,
        Some(Err(e)) => return Err(e),
        None => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the workspace export ended before its first byte"
            )));
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body(first, receiver, progress)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: u8) -> TenantId {
        TenantId::from_string(format!("tenant-{n}"))
    }

    #[test]
    fn one_download_per_workspace_and_a_few_in_all() {
        let slots = Arc::new(ExportSlots::new(2));
        let a = slots.clone().take(&tenant(1));
        assert!(a.is_some());
        assert!(
            slots.clone().take(&tenant(1)).is_none(),
            "one per workspace"
        );
        let b = slots.clone().take(&tenant(2));
        assert!(b.is_some());
        assert!(slots.clone().take(&tenant(3)).is_none(), "two in all");
        drop(a);
        assert!(
            slots.clone().take(&tenant(3)).is_some(),
            "given back on drop"
        );
        assert_eq!(ExportSlots::for_pool(8).max, 2);
        assert_eq!(ExportSlots::for_pool(1).max, 1);
    }

    /// The writer on a blocking thread of a current-thread runtime, as under an
    /// actix worker, with a response that reads nothing (or is gone): why it
    /// stopped, how many chunks it wrote, whether any was sent.
    fn writer_run(stall: Duration, keep_receiver: bool) -> (Option<Gone>, usize, bool) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (sender, receiver) = mpsc::channel(CHANNEL_CHUNKS);
            let receiver = keep_receiver.then_some(receiver);
            let progress = Arc::new(Progress::default());
            let handle = tokio::runtime::Handle::current();
            let mut out = ChannelWriter::new(sender, handle, stall, progress.clone(), None);
            let written = tokio::task::spawn_blocking(move || {
                let data = vec![b'x'; CHUNK_BYTES];
                // More than the channel holds: the writer must wait for room.
                (0..CHANNEL_CHUNKS + 4)
                    .take_while(|_| out.write_all(&data).is_ok())
                    .count()
            })
            .await
            .unwrap();
            drop(receiver);
            (
                progress.gone.get().copied(),
                written,
                progress.started.load(Ordering::Acquire),
            )
        })
    }

    #[test]
    fn a_client_that_reads_nothing_stops_the_writer_after_the_stall_timeout() {
        let started = std::time::Instant::now();
        let (gone, written, sent) = writer_run(Duration::from_millis(200), true);
        assert_eq!(gone, Some(Gone::Stalled));
        assert_eq!(
            written, CHANNEL_CHUNKS,
            "as many chunks as the channel holds"
        );
        assert!(sent);
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_client_that_went_away_stops_the_writer_at_once() {
        let (gone, written, sent) = writer_run(Duration::from_secs(60), false);
        assert_eq!(gone, Some(Gone::Closed));
        assert_eq!(written, 0);
        assert!(!sent);
    }

    #[test]
    fn zip_times_are_whole_seconds_from_1980() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_micro_opt(10, 11, 12, 999_999)
            .unwrap();
        let t = zip_time(at);
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 2, 10, 11, 12)
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
