//! CSV export and import of leads.
//!
//! Export streams the current filtered list page by page (a read transaction per
//! page of [`EXPORT_PAGE_ROWS`], through the same keyset cursor as the list), so a
//! million rows never sit in memory.
//!
//! Import takes a `multipart/form-data` upload: that is what a file input sends,
//! and it lets the same form offer a text area for pasting. Its own limit,
//! [`MAX_IMPORT_BYTES`], is set on its route's registration (a
//! [`crate::tenancy::BodyLimit`]); the CSRF check is the one every form has. Columns are matched by header name, case-insensitively, in any
//! order; `name` is required, unknown columns are ignored and named in the report.
//! The rule: every valid row goes in (in one transaction), every refused row is
//! listed with its line and reason, and nothing is half-written.

use std::collections::HashMap;

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;

use super::leads::LeadListQuery;
use crate::auth::csrf::{CSRF_FIELD, check_csrf};
use crate::auth::{CurrentMember, TypedSession};
use crate::db::Db;
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::import::{ImportCommit, ImportOutcome, ImportRow};
use crate::db::imports::{ImportPreview, RowAction};
use crate::db::leads::{LEAD_CSV_HEADER, Lead, LeadRow, MAX_LEAD_PAGE_SIZE};
use crate::domain::forms::LeadForm;
use crate::domain::spreadsheet::csv_unsafe;
use crate::domain::{AuditAction, OnDuplicate, RequestMeta};
use crate::domain::{Email, MAX_NAME_LEN};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::render::{PageContext, render};
use crate::tenancy::BodyLimit;

/// Rows read per transaction while exporting: the most one read of the list gives.
pub const EXPORT_PAGE_ROWS: i64 = MAX_LEAD_PAGE_SIZE;
/// Largest upload accepted by the import (SPEC: CSV import says its own limit).
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_IMPORT_ROWS: usize = 100_000;
/// Refused rows listed on the report page (all are counted).
const MAX_REFUSALS_SHOWN: usize = 1_000;

/// One chunk of a streamed CSV download: `header` first when given, then one
/// line per record (the audit log's export writes its chunks with this too).
pub(super) fn csv_chunk<R, I>(header: Option<&[&str]>, records: I) -> Result<Bytes, AppError>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(16 * 1024));
    let err = |e: csv::Error| AppError::Internal(anyhow::Error::new(e).context("writing CSV"));
    if let Some(header) = header {
        writer.write_record(header).map_err(err)?;
    }
    for record in records {
        writer.write_record(record).map_err(err)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("flushing CSV: {e}")))
}

struct ExportState {
    db: Db,
    me: CurrentMember,
    query: LeadListQuery,
    after: Option<Lead>,
    first: bool,
    done: bool,
}

pub(super) async fn export_leads(
    meta: RequestMeta,
    me: CurrentMember,
    db: web::Data<Db>,
    query: web::Query<LeadListQuery>,
) -> AppResult<HttpResponse> {
    // Recorded before the first byte: a download is a read, and this one small
    // write is what the log needs of it.
    let event =
        NewAuditEvent::new(actor_of(&me.member), AuditAction::LeadsExported, &meta).target("leads");
    super::audit::record_download(&db, &me.tenant.scope, event).await?;
    let state = ExportState {
        db: db.get_ref().clone(),
        me,
        query: query.into_inner(),
        after: None,
        first: true,
        done: false,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let filter = st.query.filter();
        let after = st.after.take();
        let page = st
            .db
            .read(&st.me.tenant.scope, move |tx| {
                tx.list_leads_after(&filter, after, EXPORT_PAGE_ROWS)
            })
            .await;
        let chunk = page.map_err(AppError::from).and_then(|(rows, next)| {
            st.done = next.is_none();
            st.after = next;
            csv_chunk(
                st.first.then_some(&LEAD_CSV_HEADER[..]),
                rows.iter().map(LeadRow::csv_record),
            )
        });
        st.first = false;
        if chunk.is_err() {
            // The status line is gone already; stop, the log has the cause.
            st.done = true;
        }
        Some((chunk, st))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"leads.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(stream))
}

#[derive(Template)]
#[template(path = "leads/import.html")]
struct ImportPage {
    ctx: PageContext,
    error: Option<String>,
    report: Option<ImportReport>,
    /// What the import will do, before it commits.
    preview: Option<ImportPreview>,
    /// The staged import a preview's confirm button commits.
    import_id: String,
    mode: OnDuplicate,
    modes: [OnDuplicate; 3],
    max_mib: usize,
}

impl ImportPage {
    fn new(ctx: PageContext, error: Option<String>, report: Option<ImportReport>) -> Self {
        Self {
            ctx,
            error,
            report,
            preview: None,
            import_id: String::new(),
            mode: OnDuplicate::Skip,
            modes: OnDuplicate::ALL,
            max_mib: MAX_IMPORT_BYTES / (1024 * 1024),
        }
    }

    fn with_mode(self, mode: OnDuplicate) -> Self {
        Self { mode, ..self }
    }
}

/// What the report page shows.
struct ImportReport {
    outcome: ImportOutcome,
    refused_total: usize,
    ignored_columns: Vec<String>,
}

pub(super) async fn import_form(
    me: CurrentMember,
    session: TypedSession,
) -> AppResult<HttpResponse> {
    render(
        StatusCode::OK,
        &ImportPage::new(PageContext::app(&session, &me, "leads"), None, None),
    )
}

/// The fields an import form sends: its CSRF token, an uploaded file, pasted
/// text, what to do with duplicates, the step (`preview`), and the previewed
/// import a confirmation commits.
const IMPORT_FIELDS: [&str; 6] = [
    CSRF_FIELD,
    "file",
    "csv",
    "on_duplicate",
    "step",
    "import_id",
];

/// Reads a `multipart/form-data` body (actix-multipart) into the import form's
/// fields, at most `limit` bytes in all (more is a 413); other fields are read past
/// and dropped.
async fn read_import_form(
    mut form: Multipart,
    limit: usize,
) -> AppResult<HashMap<&'static str, Vec<u8>>> {
    let malformed = |e: MultipartError| AppError::BadRequest(format!("multipart: {e}"));
    let mut fields = HashMap::new();
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        let name = IMPORT_FIELDS.into_iter().find(|n| field.name() == Some(*n));
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            total = total.saturating_add(chunk.len());
            if total > limit {
                return Err(AppError::PayloadTooLarge);
            }
            if name.is_some() {
                data.extend_from_slice(&chunk);
            }
        }
        if let Some(name) = name {
            fields.entry(name).or_insert(data);
        }
    }
    Ok(fields)
}

/// A short text field of the import form.
fn text_field(fields: &HashMap<&'static str, Vec<u8>>, name: &str) -> String {
    fields
        .get(name)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// "Imported 3 lead(s)." with what else it did.
fn imported_message(outcome: &ImportOutcome) -> String {
    let mut message = format!("Imported {} lead(s)", outcome.imported);
    if outcome.updated > 0 {
        message.push_str(&format!(", updated {}", outcome.updated));
    }
    if outcome.skipped > 0 {
        message.push_str(&format!(", skipped {} already there", outcome.skipped));
    }
    message.push('.');
    message
}

#[tracing::instrument(name = "import leads", skip_all)]
pub(super) async fn import_leads(
    req: HttpRequest,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    form: Multipart,
) -> AppResult<HttpResponse> {
    // Counted as it streams in: the limit set on this route's registration.
    let mut fields = read_import_form(form, BodyLimit::of(&req)).await?;
    let token = fields
        .get(CSRF_FIELD)
        .and_then(|t| std::str::from_utf8(t).ok());
    check_csrf(&session, token)?;
    let raw_mode = text_field(&fields, "on_duplicate");
    let preview = text_field(&fields, "step") == "preview";
    let import_id = text_field(&fields, "import_id");
    let page = |error: Option<String>, report: Option<ImportReport>| {
        ImportPage::new(PageContext::app(&session, &me, "leads"), error, report)
    };
    // A form without the choice (a script of before it existed) creates, as
    // imports did then.
    let mode = if raw_mode.is_empty() {
        Some(OnDuplicate::Create)
    } else {
        OnDuplicate::from_stored(&raw_mode)
    };
    let Some(mode) = mode else {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                Some("Choose what to do with rows whose email is a lead's already: skip, update or create.".into()),
                None,
            ),
        );
    };
    let commit = ImportCommit {
        mode,
        actor: Some(me.member.id.clone()),
        audit: NewAuditEvent::new(
            actor_of(&me.member),
            AuditAction::LeadsImported,
            &crate::client::meta_of_request(&req),
        )
        .target("leads"),
    };
    let over_quota = |hit: crate::domain::QuotaHit| {
        // Nothing went in; the message names the limit and the plan.
        render(
            StatusCode::FORBIDDEN,
            &page(Some(format!("Nothing was imported. {hit}")), None).with_mode(mode),
        )
    };
    if !import_id.is_empty() {
        // The confirmation of a preview: its staged rows go in now.
        let mut outcome = db
            .publish_import(&me.tenant.scope, &import_id, &me.tenant.limits, commit)
            .await?;
        if let Some(hit) = outcome.over_quota.take() {
            return over_quota(hit);
        }
        if outcome.expired {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(
                    Some("This preview is no longer waiting: it was imported already, or it is more than an hour old. Nothing was imported; upload the file again.".into()),
                    None,
                )
                .with_mode(mode),
            );
        }
        tracing::info!(
            leads.imported = outcome.imported,
            leads.updated = outcome.updated,
            leads.skipped = outcome.skipped,
            "previewed import committed"
        );
        session.flash("success", imported_message(&outcome));
        return Ok(see_other("/leads/imports"));
    }
    let file = fields.remove("file").filter(|d| !d.is_empty());
    let pasted = fields
        .remove("csv")
        .filter(|d| !d.iter().all(u8::is_ascii_whitespace));
    let invalid = |message: String| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(Some(message), None).with_mode(mode),
        )
    };
    let Some(data) = file.or(pasted) else {
        return invalid("Choose a CSV file, or paste CSV text.".into());
    };
    // Parsing and checking up to 100,000 rows is CPU work: off the async worker.
    let parsed = crate::blocking::spawn_blocking_in_span(move || parse_csv(&data))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return invalid(message),
    };
    let ParsedCsv {
        rows,
        mut refused,
        ignored_columns,
    } = parsed;
    let refused_before = !refused.is_empty();
    // What it would do, worked out before anything is written.
    let planned = if preview {
        let rows = rows.clone();
        Some(
            db.read(&me.tenant.scope, move |tx| tx.preview_import(&rows, mode))
                .await?,
        )
    } else {
        None
    };
    let staged = if preview {
        db.stage_import(&me.tenant.scope, rows, refused_before, &me.tenant.limits)
            .await?
            .map_err(|outcome| *outcome)
    } else {
        Err(db
            .import_leads(
                &me.tenant.scope,
                rows,
                refused_before,
                &me.tenant.limits,
                commit,
            )
            .await?)
    };
    let mut outcome = match staged {
        Ok(import_id) => {
            // Staged and waiting: the preview, with the button that commits it.
            let mut page = page(None, None).with_mode(mode);
            page.preview = planned;
            page.import_id = import_id;
            return render(StatusCode::OK, &page);
        }
        Err(outcome) => outcome,
    };
    if let Some(hit) = outcome.over_quota.take() {
        return over_quota(hit);
    }
    refused.append(&mut outcome.refused);
    refused.sort_by_key(|r| r.0);
    tracing::info!(
        leads.imported = outcome.imported,
        leads.updated = outcome.updated,
        leads.skipped = outcome.skipped,
        leads.refused = refused.len(),
        "leads imported"
    );
    if refused.is_empty() {
        session.flash("success", imported_message(&outcome));
        return Ok(see_other("/leads"));
    }
    let refused_total = refused.len();
    refused.truncate(MAX_REFUSALS_SHOWN);
    outcome.refused = refused;
    // Nothing went in: the file is invalid input, answered like a form (422), and
    // sending it again (a refresh) cannot import anything twice.
    let mut page = page(
        None,
        Some(ImportReport {
            outcome,
            refused_total,
            ignored_columns,
        }),
    )
    .with_mode(mode);
    page.preview = planned;
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The rows of a file that passed the checks that need no database, and the
/// refusals so far.
struct ParsedCsv {
    rows: Vec<ImportRow>,
    refused: Vec<(u64, String)>,
    ignored_columns: Vec<String>,
}

/// Columns the import understands, with the names accepted for each.
const COLUMNS: [(&str, &[&str]); 8] = [
    ("name", &["name", "lead", "full name"]),
    ("email", &["email", "e-mail"]),
    ("phone", &["phone", "telephone"]),
    ("company", &["company", "company_name", "company name"]),
    ("status", &["status"]),
    ("value", &["value", "amount"]),
    ("owner_email", &["owner_email", "owner", "owner email"]),
    ("source", &["source"]),
];

/// Ignored on import: they belong to the exporting workspace.
const KNOWN_IGNORED: [&str; 3] = ["number", "created_at", "updated_at"];

fn parse_csv(data: &[u8]) -> Result<ParsedCsv, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers = reader
        .headers()
        .map_err(|e| format!("The first line must be a header of column names ({e})."))?
        .clone();
    let mut index: [Option<usize>; 8] = [None; 8];
    let mut ignored_columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_lowercase();
        match COLUMNS
            .iter()
            .position(|(_, names)| names.contains(&h.as_str()))
        {
            Some(c) if index[c].is_none() => index[c] = Some(i),
            _ if KNOWN_IGNORED.contains(&h.as_str()) => {}
            _ => ignored_columns.push(h),
        }
    }
    if index[0].is_none() {
        return Err("The header has no `name` column. Columns are matched by their header: name, email, phone, company, status, value, owner_email, source.".into());
    }
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // The reader knows where a record starts, even after quoted newlines; a
        // record it could not read has no position, so count from the header.
        // The first record's position is the header's (line 1): no record is
        // before line i + 2.
        let line = match &record {
            Ok(r) => r.position().map(|p| p.line()),
            Err(e) => e.position().map(|p| p.line()),
        }
        .unwrap_or(0)
        .max(i as u64 + 2);
        if rows.len() + refused.len() >= MAX_IMPORT_ROWS {
            return Err(format!(
                "The file has more than {MAX_IMPORT_ROWS} rows; split it and import each part."
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                refused.push((line, format!("not readable as CSV: {e}")));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        // No text we store may hold NUL (PostgreSQL refuses it in `text`); the
        // row is refused like any other invalid one, and nothing is imported.
        if record.iter().any(|cell| cell.contains('\0')) {
            refused.push((line, "a cell holds a NUL character".to_owned()));
            continue;
        }
        let get = |c: usize| {
            index[c]
                .and_then(|i| record.get(i))
                .map(csv_unsafe)
                .unwrap_or_default()
                .to_owned()
        };
        let form = LeadForm {
            name: get(0),
            email: get(1),
            phone: get(2),
            company_id: String::new(),
            status: get(4),
            value: get(5),
            owner_id: String::new(),
            source: get(7),
        };
        let mut reasons: Vec<String> = Vec::new();
        let company_name = get(3);
        if company_name.chars().count() > MAX_NAME_LEN {
            reasons.push("company: Must be at most 200 characters.".into());
        }
        let owner_email = get(6);
        let owner_email = if owner_email.is_empty() {
            String::new()
        } else {
            match Email::parse(&owner_email) {
                Ok(e) => e.as_str().to_owned(),
                Err(e) => {
                    reasons.push(format!("owner_email: {e}"));
                    String::new()
                }
            }
        };
        match form.parse() {
            Ok(input) if reasons.is_empty() => rows.push(ImportRow {
                line,
                input,
                company_name,
                owner_email,
                blank: [("status", &form.status), ("value", &form.value)]
                    .into_iter()
                    .filter(|(_, cell)| cell.trim().is_empty())
                    .map(|(field, _)| field)
                    .collect::<Vec<_>>()
                    .join(","),
            }),
            Ok(_) => refused.push((line, reasons.join(" "))),
            Err(errors) => {
                for (column, field) in [
                    ("name", "name"),
                    ("email", "email"),
                    ("phone", "phone"),
                    ("status", "status"),
                    ("value", "value"),
                    ("source", "source"),
                ] {
                    if let Some(m) = errors.get(field) {
                        reasons.push(format!("{column}: {m}"));
                    }
                }
                refused.push((line, reasons.join(" ")));
            }
        }
    }
    Ok(ParsedCsv {
        rows,
        refused,
        ignored_columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked_one_by_one() {
        let csv = "Name,Value,Status,Owner_Email,Extra\nAda,1250.50,won,,x\n,3,new,,\nBob,-1,new,,\nCy,1,open,bad,\n";
        let parsed = parse_csv(csv.as_bytes()).ok();
        let parsed = parsed.as_ref();
        assert_eq!(parsed.map(|p| p.rows.len()), Some(1));
        assert_eq!(
            parsed.map(|p| p.refused.iter().map(|r| r.0).collect::<Vec<_>>()),
            Some(vec![3, 4, 5])
        );
        assert_eq!(
            parsed.map(|p| p.ignored_columns.clone()),
            Some(vec!["extra".to_owned()])
        );
        assert!(parse_csv(b"email\nx@y.z\n").is_err());
    }

    #[test]
    fn rows_know_their_line_and_blank_cells() {
        let parsed =
            parse_csv(b"name,email,status,value\r\nAda,a@x.test,,\r\nBob,b@x.test,won,5\r\n").ok();
        let rows = parsed.map(|p| p.rows).unwrap_or_default();
        let lines: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.blank.as_str())).collect();
        assert_eq!(lines, vec![(2, "status,value"), (3, "")]);
    }

    #[test]
    fn refused_rows_name_their_line_even_after_quoted_newlines() {
        let csv = "name,value\n\"Two\nline name\",1\nBad,-1\n";
        let parsed = parse_csv(csv.as_bytes()).ok();
        let refused = parsed.map(|p| p.refused).unwrap_or_default();
        let lines: Vec<u64> = refused.iter().map(|r| r.0).collect();
        // The two-line name is refused (no control characters in names) on line 2;
        // the negative value on line 4, not 3.
        assert_eq!(lines, vec![2, 4]);
    }
}
