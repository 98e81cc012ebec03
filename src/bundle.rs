//! The tenant bundle file of `tenantry tenants export` and `import`: one zip
//! archive holding `manifest.json`, one NDJSON file per table (`db::bundle`
//! writes and reads their rows) and `leads.csv` and `companies.csv` for people.
//!
//! The manifest names every other file with its SHA-256 (and a table's row
//! count), so an import checks the whole bundle before it changes anything: a
//! missing, extra or altered file, a wrong count or an unknown format version
//! refuses the bundle.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::config::DbKind;
use crate::db::OperatorDb;
use crate::db::bundle::{
    BUNDLE_TABLES, BundleSink, BundleSource, BundleTenant, LATER_TABLES, Restored, hex, table_file,
};
use crate::db::stores::StoreLayout;
use crate::domain::{Placement, Slug};

/// The bundle format this binary writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's name in the archive.
pub const MANIFEST: &str = "manifest.json";

/// `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The tenant, as the directory described it.
    pub tenant: BundleTenant,
    /// The engine it was exported from: `sqlite` or `postgres`.
    pub engine: String,
    /// The binary that wrote it.
    pub tenantry_version: String,
    /// When, in UTC.
    pub exported_at: NaiveDateTime,
    /// Every other file of the archive.
    pub files: Vec<ManifestFile>,
}

/// One file of a bundle.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Its name in the archive.
    pub name: String,
    /// Rows, for a table's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
}

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    /// The tenant.
    pub tenant: BundleTenant,
    /// Rows per table.
    pub rows: Vec<(&'static str, u64)>,
    /// The bundle's size in bytes.
    pub bytes: u64,
}

/// What an import restored.
#[derive(Debug)]
pub struct Imported {
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// Its subdomain here.
    pub slug: String,
    /// Where it now lives, and rows per table.
    pub restored: Restored,
}

/// Told of progress: a table's rows planned or done.
pub trait Progress {
    /// The rows to come, over every table.
    fn total(&mut self, rows: u64);
    /// `rows` more of `table` done.
    fn advance(&mut self, table: &str, rows: u64);
}

fn engine_name(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Sqlite => "sqlite",
        DbKind::Postgres => "postgres",
    }
}

/// Writes into the zip, hashing every file as it goes.
struct ZipSink<'p> {
    zip: ZipWriter<BufWriter<File>>,
    options: SimpleFileOptions,
    current: Option<(String, Sha256, u64)>,
    files: Vec<ManifestFile>,
    progress: &'p mut dyn Progress,
}

impl ZipSink<'_> {
    fn close(&mut self) {
        if let Some((name, hash, lines)) = self.current.take() {
            let rows = name.ends_with(".ndjson").then_some(lines);
            self.files.push(ManifestFile {
                name,
                rows,
                sha256: hex(&hash.finalize()),
            });
        }
    }
}

impl BundleSink for ZipSink<'_> {
    fn start_file(&mut self, name: &str) -> anyhow::Result<()> {
        self.close();
        self.zip.start_file(name, self.options)?;
        self.current = Some((name.to_owned(), Sha256::new(), 0));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        if let Some((_, hash, lines)) = &mut self.current {
            hash.update(bytes);
            *lines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.zip.write_all(bytes).context("writing the bundle")?;
        Ok(())
    }

    fn planned(&mut self, counts: &[(&'static str, u64)]) {
        self.progress.total(counts.iter().map(|(_, n)| n).sum());
    }

    fn rows_written(&mut self, table: &'static str, rows: u64) {
        self.progress.advance(table, rows);
    }
}

/// `tenantry tenants export SLUG --out FILE`: the bundle is written beside
/// `out` and renamed into place once whole, so a failed export leaves no file.
pub fn export_tenant(
    layout: &StoreLayout,
    slug: &str,
    out: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<Exported> {
    let mut operator = OperatorDb::connect(layout)?;
    let Some((tenant, home)) = operator.bundle_tenant(slug)? else {
        bail!("no tenant has the subdomain `{slug}`; nothing exported");
    };
    let partial = partial_path(out);
    let file = File::create(&partial)
        .with_context(|| format!("could not create {}", partial.display()))?;
    let now = crate::db::now();
    let written = (|| {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(zip_time(now))
            .large_file(true);
        let mut sink = ZipSink {
            zip: ZipWriter::new(BufWriter::new(file)),
            options,
            current: None,
            files: Vec::new(),
            progress,
        };
        let tenant_id = crate::domain::TenantId::from_string(tenant.id.clone());
        let rows = operator.export_tables(&tenant_id, &home, true, &mut sink)?;
        sink.close();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            tenant: tenant.clone(),
            engine: engine_name(layout.kind()).to_owned(),
            tenantry_version: env!("CARGO_PKG_VERSION").to_owned(),
            exported_at: now,
            files: sink.files.clone(),
        };
        sink.zip.start_file(MANIFEST, options)?;
        serde_json::to_writer_pretty(&mut sink.zip, &manifest)?;
        sink.zip
            .finish()?
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        Ok::<_, anyhow::Error>(rows)
    })();
    let rows = match written {
        Ok(rows) => rows,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out)
        .with_context(|| format!("could not move the bundle to {}", out.display()))?;
    let bytes = std::fs::metadata(out)?.len();
    Ok(Exported {
        tenant,
        rows,
        bytes,
    })
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

/// A zip time stamp (whole seconds from 1980 on; earlier clocks get 1980).
fn zip_time(at: NaiveDateTime) -> zip::DateTime {
    zip::DateTime::from_date_and_time(
        u16::try_from(at.year()).unwrap_or(1980),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    )
    .unwrap_or_default()
}

/// Opens a bundle and checks it whole: the manifest's format version, every
/// file it names present with its SHA-256 and row count, no file it does not
/// name, and every table's file there. The error names what is wrong.
pub fn verify_bundle(path: &Path) -> anyhow::Result<(Manifest, ZipArchive<BufReader<File>>)> {
    let file = File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let mut zip = ZipArchive::new(BufReader::new(file)).context("not a zip archive")?;
    let mut raw = String::new();
    zip.by_name(MANIFEST)
        .map_err(|_| anyhow::anyhow!("it has no {MANIFEST}"))?
        .read_to_string(&mut raw)
        .with_context(|| format!("reading {MANIFEST}"))?;
    // The version first, so that a newer bundle says so rather than fail to parse.
    let version = serde_json::from_str::<serde_json::Value>(&raw)
        .with_context(|| format!("{MANIFEST} is not JSON"))?
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        bail!(
            "unknown format version {} (this binary reads version {FORMAT_VERSION})",
            version.map_or("(none)".to_owned(), |v| v.to_string())
        );
    }
    let manifest: Manifest =
        serde_json::from_str(&raw).with_context(|| format!("{MANIFEST} is malformed"))?;
    let listed: BTreeMap<&str, &ManifestFile> = manifest
        .files
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    for table in BUNDLE_TABLES {
        let name = table_file(table);
        match listed.get(name.as_str()) {
            Some(f) if f.rows.is_some() => {}
            None if LATER_TABLES.contains(&table) => {}
            _ => bail!("{MANIFEST} does not list {name} with its row count"),
        }
    }
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    if let Some(extra) = names
        .iter()
        .find(|n| n.as_str() != MANIFEST && !listed.contains_key(n.as_str()))
    {
        bail!("{extra} is in the archive but not in {MANIFEST}");
    }
    for entry in &manifest.files {
        let mut member = zip
            .by_name(&entry.name)
            .map_err(|_| anyhow::anyhow!("{} is missing from the archive", entry.name))?;
        let mut hash = Sha256::new();
        let mut lines = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = member
                .read(&mut buf)
                .with_context(|| format!("{} cannot be read", entry.name))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
        if hex(&hash.finalize()) != entry.sha256 {
            bail!(
                "{} does not match its SHA-256 in {MANIFEST}: the bundle was changed or damaged",
                entry.name
            );
        }
        if let Some(rows) = entry.rows
            && rows != lines
        {
            bail!("{} has {lines} rows, {MANIFEST} says {rows}", entry.name);
        }
    }
    Ok((manifest, zip))
}

struct ZipSource<'z>(&'z mut ZipArchive<BufReader<File>>);

impl BundleSource for ZipSource<'_> {
    fn table(&mut self, table: &str) -> anyhow::Result<Box<dyn std::io::BufRead + '_>> {
        let name = table_file(table);
        if LATER_TABLES.contains(&table) && self.0.index_for_name(&name).is_none() {
            return Ok(Box::new(std::io::empty()));
        }
        let member = self
            .0
            .by_name(&name)
            .with_context(|| format!("{name} is missing from the archive"))?;
        Ok(Box::new(BufReader::new(member)))
    }
}

/// `tenantry tenants import FILE [--slug NEW]`: checks the bundle, refuses a
/// slug or tenant id that exists here, and restores into `placement`.
pub fn import_tenant(
    layout: &StoreLayout,
    path: &Path,
    slug: Option<&str>,
    placement: Placement,
    progress: &mut dyn Progress,
) -> anyhow::Result<Imported> {
    let (manifest, mut zip) = verify_bundle(path)
        .map_err(|e| anyhow::anyhow!("refused the bundle: {e:#}; nothing was imported"))?;
    let wanted = slug.unwrap_or(&manifest.tenant.slug);
    let slug = Slug::parse(wanted)
        .map_err(|e| anyhow::anyhow!("`{wanted}` cannot be a subdomain: {e}"))?
        .as_str()
        .to_owned();
    // The id names the tenant's rows and, on SQLite, its file: only a UUID as
    // Tenantry writes them (lowercase, hyphenated) is taken.
    let id = &manifest.tenant.id;
    if uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .as_deref()
        != Ok(id.as_str())
    {
        bail!(
            "refused the bundle: its tenant id `{id}` is not one Tenantry makes; nothing was imported"
        );
    }
    let mut operator = OperatorDb::connect(layout)?;
    let (slug_owner, id_slug) = operator.taken(&slug, &manifest.tenant.id)?;
    if slug_owner.is_some() {
        bail!(
            "a tenant has the subdomain `{slug}` here already; nothing was imported (give another with --slug NEW)"
        );
    }
    if let Some(existing) = id_slug {
        bail!(
            "tenant {} exists here already (at `{existing}`); nothing was imported: delete it first (`tenantry tenants delete {existing} --confirm {existing}`)",
            manifest.tenant.id
        );
    }
    progress.total(manifest.files.iter().filter_map(|f| f.rows).sum());
    let restored = operator.restore_tenant(
        &manifest.tenant,
        &slug,
        placement,
        &mut ZipSource(&mut zip),
        &mut |table, rows| progress.advance(table, rows),
    )?;
    Ok(Imported {
        manifest,
        slug,
        restored,
    })
}
