//! `diff`: what differs between two packages, or what a patch or transform does to one:
//! summary information, tables row by row (matched by primary key, column by column,
//! binary cells by their bytes), root streams, and files by File key (size, version,
//! language, SHA-256 of the bytes).

use crate::error::{Error, ErrorKind, Result, Warning, WarningKind};
use crate::extract::{plan, ExtractRequest};
use crate::msi::compare::{compare, TableChange, TableStatus};
use crate::msi::{Compound, Database, PropValue, TableData, Val};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to compare.
#[derive(Debug, Clone)]
pub struct DiffRequest {
    /// The old package.
    pub old: PathBuf,
    /// The new package, or a transform (.mst) or patch (.msp) applied to the old one.
    pub new: PathBuf,
    /// Patches applied to the new side, in order (after `transforms`).
    pub patches: Vec<PathBuf>,
    /// Transforms applied to the new side, in order.
    pub transforms: Vec<PathBuf>,
    /// Compare the summary information.
    pub summary: bool,
    /// Compare tables.
    pub tables: bool,
    /// Compare root streams (binary cells are compared with their tables).
    pub streams: bool,
    /// Compare files (every file of both sides is read and hashed).
    pub files: bool,
}

impl DiffRequest {
    /// Compare everything between `old` and `new`.
    pub fn new(old: impl Into<PathBuf>, new: impl Into<PathBuf>) -> DiffRequest {
        DiffRequest {
            old: old.into(),
            new: new.into(),
            patches: Vec::new(),
            transforms: Vec::new(),
            summary: true,
            tables: true,
            streams: true,
            files: true,
        }
    }
}

/// A summary property that differs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SummaryChange {
    /// Property id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Old value (absent: `null`).
    pub old: Option<PropValue>,
    /// New value.
    pub new: Option<PropValue>,
}

/// One cell that differs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CellChange {
    /// Column name.
    pub column: String,
    /// Old value.
    pub old: Val,
    /// New value.
    pub new: Val,
    /// For a binary cell: SHA-256 of the old and new stream (`null` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<(Option<String>, Option<String>)>,
}

/// A row that differs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RowChange {
    /// Its primary key (columns joined with a tab).
    pub key: String,
    /// The cells that differ.
    pub cells: Vec<CellChange>,
}

/// A table that differs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TableDiff {
    /// Table name.
    pub table: String,
    /// What happened to it.
    pub status: TableStatus,
    /// Columns the new table adds.
    pub added_columns: Vec<String>,
    /// Rows only the new side has (column -> value).
    pub added: Vec<BTreeMap<String, Val>>,
    /// Rows only the old side has.
    pub removed: Vec<BTreeMap<String, Val>>,
    /// Rows both have, with the cells that differ.
    pub changed: Vec<RowChange>,
}

/// A root stream that differs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StreamChange {
    /// Decoded name.
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    /// Old size.
    pub old_size: Option<u64>,
    /// New size.
    pub new_size: Option<u64>,
    /// Old SHA-256.
    pub old_sha256: Option<String>,
    /// New SHA-256.
    pub new_sha256: Option<String>,
}

/// What is known of one side's file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct FileFacts {
    /// Path in the administrative image.
    pub path: String,
    /// File.FileSize.
    pub size: Option<i32>,
    /// File.Version.
    pub version: Option<String>,
    /// File.Language.
    pub language: Option<String>,
    /// SHA-256 of the bytes (`null` when they could not be read).
    pub sha256: Option<String>,
}

/// A file that differs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FileChange {
    /// File key.
    pub key: String,
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    /// What differs: `path`, `size`, `version`, `language`, `bytes`.
    pub fields: Vec<&'static str>,
    /// The old file.
    pub old: Option<FileFacts>,
    /// The new file.
    pub new: Option<FileFacts>,
}

/// What `diff` found.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct DiffReport {
    /// The old package.
    pub old: String,
    /// The new side: a package, or the old package with transforms and patches.
    pub new: String,
    /// Whether nothing that was compared differs.
    pub same: bool,
    /// Summary properties that differ.
    pub summary: Vec<SummaryChange>,
    /// Tables that differ.
    pub tables: Vec<TableDiff>,
    /// Root streams that differ.
    pub streams: Vec<StreamChange>,
    /// Files that differ.
    pub files: Vec<FileChange>,
    /// What the comparison noticed (transforms applied, files that could not be read).
    pub warnings: Vec<Warning>,
}

/// One side: its database, its tables, and where binary cells set by transforms live.
struct Side {
    db: Database,
    tables: BTreeMap<String, TableData>,
    binaries: BTreeMap<String, (Arc<Compound>, String)>,
    request: ExtractRequest,
}

impl Side {
    fn binary(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let (comp, path) = match self.binaries.get(name) {
            Some((c, p)) => (c.clone(), p.clone()),
            None => (self.db.compound.clone(), format!("/{}", crate::msi::encode_name(name, false))),
        };
        match comp.open_stream(&path) {
            Ok(s) => {
                let mut v = Vec::new();
                s.take(256 << 20)
                    .read_to_end(&mut v)
                    .map_err(|e| Error::io(&e, format_args!("reading stream {name}")))?;
                Ok(Some(v))
            }
            Err(_) => Ok(None),
        }
    }
}

fn sha(d: &[u8]) -> String {
    use sha2::Digest;
    crate::output::hex(&sha2::Sha256::digest(d))
}

fn open_side(
    base: &Path,
    transforms: &[PathBuf],
    patches: &[PathBuf],
    label: String,
    warnings: &mut Vec<Warning>,
) -> Result<(Side, String)> {
    let db = Database::open(base)?;
    if let Some(e) = &db.table_error {
        return Err(Error::format(format!("tables could not be read: {e}")).with_path(base));
    }
    let mut request = ExtractRequest::new(base);
    request.transforms = transforms.to_vec();
    request.patches = patches.to_vec();
    if transforms.is_empty() && patches.is_empty() {
        let tables = db.tables.clone();
        return Ok((Side { db, tables, binaries: BTreeMap::new(), request }, label));
    }
    let patched = match crate::extract::apply_all(&db, transforms, patches, false) {
        Ok((p, _)) => p,
        Err(e) if e.kind() == ErrorKind::Validation => {
            warnings.push(Warning::new(
                WarningKind::Validation,
                format!("{e}; compared with the changes applied anyway (installing would refuse them)"),
            ));
            request.force_apply = true;
            crate::extract::apply_all(&db, transforms, patches, true)?.0
        }
        Err(e) => return Err(e),
    };
    for (file, name, st) in &patched.applied {
        warnings.push(Warning::new(
            WarningKind::Applied,
            format!(
                "applied transform {name} of {file}: {} rows inserted, {} updated, {} deleted",
                st.inserted, st.updated, st.deleted
            ),
        ));
    }
    let binaries = patched.binaries.iter().map(|(k, (c, p, _))| (k.clone(), (c.clone(), p.clone()))).collect();
    Ok((Side { db, tables: patched.tables, binaries, request }, label))
}

fn row_map(cols: &[crate::msi::ColInfo], row: &[Val]) -> BTreeMap<String, Val> {
    cols.iter().zip(row).map(|(c, v)| (c.name.clone(), v.clone())).collect()
}

fn table_diff(c: &TableChange, old: &Side, new: &Side) -> Result<TableDiff> {
    let mut changed = Vec::new();
    for ch in &c.changed {
        let key: Vec<String> = c.key(&ch.new).iter().map(Val::text).collect();
        let mut cells = Vec::new();
        for &i in &ch.columns {
            let col = &c.columns[i];
            let binary = if col.kind == crate::msi::ColKind::Binary {
                let name = c.stream_name(&ch.new);
                Some((old.binary(&name)?.map(|d| sha(&d)), new.binary(&name)?.map(|d| sha(&d))))
            } else {
                None
            };
            cells.push(CellChange { column: col.name.clone(), old: ch.old[i].clone(), new: ch.new[i].clone(), binary });
        }
        changed.push(RowChange { key: key.join("\t"), cells });
    }
    let old_cols = if c.status == TableStatus::Removed { &c.columns } else { &c.old_columns };
    Ok(TableDiff {
        table: c.name.clone(),
        status: c.status,
        added_columns: c.added_columns.iter().map(|x| x.name.clone()).collect(),
        added: c.added.iter().map(|r| row_map(&c.columns, r)).collect(),
        removed: c.removed.iter().map(|r| row_map(old_cols, r)).collect(),
        changed,
    })
}

fn streams(db: &Database) -> Result<BTreeMap<String, (u64, String)>> {
    // Binary cells are compared with their tables.
    let binary_tables: Vec<&str> = db
        .tables
        .values()
        .filter(|t| t.columns.iter().any(|c| c.kind == crate::msi::ColKind::Binary))
        .map(|t| t.name.as_str())
        .collect();
    let mut out = BTreeMap::new();
    for s in &db.streams {
        if binary_tables.iter().any(|t| s.name.strip_prefix(t).is_some_and(|r| r.starts_with('.'))) {
            continue;
        }
        let mut v = Vec::new();
        db.compound
            .open_stream(&s.cfb_path)
            .map_err(|e| Error::format(format!("stream {}: {e}", s.name)).with_path(&db.path))?
            .read_to_end(&mut v)
            .map_err(|e| Error::io(&e, format_args!("reading stream {}", s.name)).with_path(&db.path))?;
        out.insert(s.name.clone(), (v.len() as u64, sha(&v)));
    }
    Ok(out)
}

/// Every file of a side by File key: what its tables say and the hash of its bytes.
fn files(side: &Side, warnings: &mut Vec<Warning>, label: &str) -> Result<BTreeMap<String, FileFacts>> {
    let p = plan(&side.request)?;
    let (hashes, errors) = crate::extract::hash_entries(&p, &crate::deadline::Deadline::NONE, None);
    if !errors.is_empty() {
        warnings.push(Warning::new(
            WarningKind::Media,
            format!("{label}: {} files could not be read (first: {})", errors.len(), errors[0]),
        ));
    }
    let file = side.tables.get("File");
    let mut out = BTreeMap::new();
    for (i, e) in p.entries.iter().enumerate() {
        let row = file.and_then(|f| f.rows.iter().find(|r| f.get(r, "File").as_str() == Some(&e.key)).map(|r| (f, r)));
        let get = |c: &str| row.map(|(f, r)| f.get(r, c).clone()).unwrap_or(Val::Null);
        out.insert(
            e.key.clone(),
            FileFacts {
                path: e.path.clone(),
                size: get("FileSize").as_int(),
                version: get("Version").as_str().map(str::to_string),
                language: get("Language").as_str().map(str::to_string),
                sha256: hashes.get(&i).map(|(_, d)| crate::output::hex(d)),
            },
        );
    }
    Ok(out)
}

/// Compare two packages (see [`DiffRequest`]).
///
/// ```no_run
/// # fn main() -> hotfixkit::Result<()> {
/// let mut req = hotfixkit::diff::DiffRequest::new("product.msi", "product.msi");
/// req.patches.push("fix.msp".into());
/// let report = hotfixkit::diff::diff(&req)?;
/// for t in &report.tables {
///     println!("{}: {} added, {} changed", t.table, t.added.len(), t.changed.len());
/// }
/// # Ok(())
/// # }
/// ```
pub fn diff(req: &DiffRequest) -> Result<DiffReport> {
    let mut warnings = Vec::new();
    let (old, old_label) = open_side(&req.old, &[], &[], req.old.display().to_string(), &mut warnings)?;
    let (comp, _) = crate::msi::open_compound(&req.new)?;
    let clsid = comp.root_clsid().hyphenated().to_string();
    drop(comp);
    let (base, mut transforms, mut patches) = match clsid.as_str() {
        "000c1082-0000-0000-c000-000000000046" => (req.old.clone(), vec![req.new.clone()], Vec::new()),
        "000c1086-0000-0000-c000-000000000046" => (req.old.clone(), Vec::new(), vec![req.new.clone()]),
        _ => (req.new.clone(), Vec::new(), Vec::new()),
    };
    transforms.extend(req.transforms.iter().cloned());
    patches.extend(req.patches.iter().cloned());
    let mut label = base.display().to_string();
    for t in &transforms {
        label.push_str(&format!(" --transform {}", t.display()));
    }
    for p in &patches {
        label.push_str(&format!(" --patch {}", p.display()));
    }
    let (new, new_label) = open_side(&base, &transforms, &patches, label, &mut warnings)?;
    let mut summary = Vec::new();
    if req.summary {
        let ids: std::collections::BTreeSet<u32> =
            old.db.summary.properties.iter().chain(&new.db.summary.properties).map(|p| p.0).collect();
        for id in ids {
            let (a, b) = (old.db.summary.get(id).cloned(), new.db.summary.get(id).cloned());
            if a != b {
                summary.push(SummaryChange {
                    id,
                    name: crate::msi::summary::prop_name(id).to_string(),
                    old: a,
                    new: b,
                });
            }
        }
    }
    let mut tables = Vec::new();
    if req.tables {
        let mut same = |name: &str| -> Result<bool> { Ok(old.binary(name)? == new.binary(name)?) };
        for c in compare(&old.tables, &new.tables, &mut same)? {
            tables.push(table_diff(&c, &old, &new)?);
        }
    }
    let mut stream_changes = Vec::new();
    if req.streams {
        let (a, b) = (streams(&old.db)?, streams(&new.db)?);
        let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for n in names {
            let (x, y) = (a.get(n), b.get(n));
            if x == y {
                continue;
            }
            stream_changes.push(StreamChange {
                name: n.clone(),
                status: match (x, y) {
                    (None, _) => "added",
                    (_, None) => "removed",
                    _ => "changed",
                },
                old_size: x.map(|v| v.0),
                new_size: y.map(|v| v.0),
                old_sha256: x.map(|v| v.1.clone()),
                new_sha256: y.map(|v| v.1.clone()),
            });
        }
    }
    let mut file_changes = Vec::new();
    if req.files {
        let a = files(&old, &mut warnings, &old_label)?;
        let b = files(&new, &mut warnings, &new_label)?;
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            let (x, y) = (a.get(k), b.get(k));
            let (status, fields) = match (x, y) {
                (None, Some(_)) => ("added", Vec::new()),
                (Some(_), None) => ("removed", Vec::new()),
                (Some(x), Some(y)) => {
                    let mut f = Vec::new();
                    if x.path != y.path {
                        f.push("path");
                    }
                    if x.size != y.size {
                        f.push("size");
                    }
                    if x.version != y.version {
                        f.push("version");
                    }
                    if x.language != y.language {
                        f.push("language");
                    }
                    if x.sha256 != y.sha256 {
                        f.push("bytes");
                    }
                    if f.is_empty() {
                        continue;
                    }
                    ("changed", f)
                }
                (None, None) => continue,
            };
            file_changes.push(FileChange { key: k.clone(), status, fields, old: x.cloned(), new: y.cloned() });
        }
    }
    let same = summary.is_empty() && tables.is_empty() && stream_changes.is_empty() && file_changes.is_empty();
    Ok(DiffReport {
        old: old_label,
        new: new_label,
        same,
        summary,
        tables,
        streams: stream_changes,
        files: file_changes,
        warnings,
    })
}
