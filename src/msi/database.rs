//! A package's database read once into owned values: the summary information, every
//! table (decoded by [`super::table_read`]), the root streams and the storages.

use super::compound::Compound;
use super::package_file::{self as cfbio, Truncation};
use super::summary::Summary;
use super::table::TableData;
use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, Result};
use crate::random_access::Shared;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What kind of compound file a package is, by its root CLSID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PackageKind {
    /// Installer database.
    Msi,
    /// Patch.
    Msp,
    /// Transform.
    Mst,
    /// Merge module (an installer database with a ModuleSignature table).
    Msm,
    /// A compound file of another kind.
    Other,
}

/// A stream at the root of the package.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StreamInfo {
    /// Decoded name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Path in the compound file (encoded name).
    #[serde(skip)]
    pub cfb_path: String,
    /// The stream starts with `MSCF` (a cabinet, perhaps).
    #[serde(skip)]
    pub starts_mscf: bool,
}

/// A package database: summary, tables, streams, storages.
pub struct Database {
    /// Where it was read from (the name given for an input in memory).
    pub path: PathBuf,
    /// The folder external cabinets and uncompressed source files are looked up in
    /// (none for an input that is not a file).
    pub dir: Option<PathBuf>,
    /// The open compound file: streams and storages are read from it on demand.
    pub compound: Arc<Compound>,
    /// Kind by CLSID.
    pub kind: PackageKind,
    /// Root CLSID.
    pub clsid: String,
    /// Summary information.
    pub summary: Summary,
    /// Tables by name.
    pub tables: BTreeMap<String, TableData>,
    /// Non-table streams at the root (cabinets, binaries, signatures).
    pub streams: Vec<StreamInfo>,
    /// Sub-storages (transforms in patches, embedded transforms in packages).
    pub storages: Vec<String>,
    /// Set when the file is shorter than its header implies.
    pub truncated: Option<Truncation>,
    /// Why tables could not be read, when they could not (an MSP without tables the
    /// crate accepts, a damaged package); the summary and streams are still there.
    pub table_error: Option<String>,
}

fn clsid_kind(clsid: &str) -> PackageKind {
    match clsid.to_ascii_lowercase().as_str() {
        "000c1084-0000-0000-c000-000000000046" => PackageKind::Msi,
        "000c1086-0000-0000-c000-000000000046" => PackageKind::Msp,
        "000c1082-0000-0000-c000-000000000046" => PackageKind::Mst,
        _ => PackageKind::Other,
    }
}

/// Most rows read from one table.
pub use super::table_read::MAX_ROWS;

impl Database {
    /// Read the package at `path`.
    pub fn open(path: &Path) -> Result<Database> {
        Self::open_tables_opt(path, None)
    }

    /// Read the package at `path`, loading only the rows of the tables `only` names (every
    /// table's columns are still known). Extraction needs five tables; reading the others
    /// (MsiFileHash has a row per file) costs time for nothing.
    pub fn open_tables(path: &Path, only: &[&str]) -> Result<Database> {
        Self::open_tables_opt(path, Some(only))
    }

    fn open_tables_opt(path: &Path, only: Option<&[&str]>) -> Result<Database> {
        let f = crate::random_access::open_file(path)?;
        let dir =
            path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }).map(Path::to_path_buf);
        Self::from_source(path, dir, Arc::new(f), only)
    }

    /// Read a package from any input; `label` names it in messages, `dir` is where its
    /// external cabinets and source files are (none: only what is inside the package).
    pub fn from_source(label: &Path, dir: Option<PathBuf>, src: Shared, only: Option<&[&str]>) -> Result<Database> {
        let path = label;
        let (comp, truncated) = cfbio::open_compound_from(label, src)?;
        let clsid = comp.root_clsid().hyphenated().to_string();
        let kind = clsid_kind(&clsid);
        let summary = {
            let mut buf = Vec::new();
            let name = "\u{5}SummaryInformation";
            match comp.open_stream(name) {
                Ok(s) => {
                    s.take(1 << 20)
                        .read_to_end(&mut buf)
                        .map_err(|e| Error::io(&e, "reading summary information").with_path(path))?;
                    Summary::parse(&buf).at_path(path)?
                }
                Err(_) => Summary::default(),
            }
        };
        let mut streams = Vec::new();
        for (name, cfb_path, size, is_table) in cfbio::root_streams(&comp) {
            if !is_table && !name.starts_with('\u{5}') {
                streams.push(StreamInfo { name, size, cfb_path, starts_mscf: false });
            }
        }
        streams.sort_by(|a, b| a.name.cmp(&b.name));
        for st in &mut streams {
            st.starts_mscf = comp
                .open_stream_prefix(&st.cfb_path, 4)
                .ok()
                .and_then(|mut r| {
                    let mut m = [0u8; 4];
                    r.read_exact(&mut m).ok().map(|_| &m == b"MSCF")
                })
                .unwrap_or(false);
        }
        let mut storages = Vec::new();
        if let Ok(entries) = comp.children("/") {
            for e in entries {
                if e.storage {
                    storages.push(cfbio::decode_name(&e.name).0);
                }
            }
        }
        storages.sort();
        let prepared = if kind == PackageKind::Mst {
            Ok(Prepared { streams: BTreeMap::new(), lengths: BTreeMap::new() })
        } else {
            prepare_tables(path, &comp, only)
        };
        let (tables, table_error) = match if kind == PackageKind::Mst {
            Err(Error::format("a transform holds changes to tables, not a database of its own"))
        } else {
            read_tables(path, prepared, only)
        } {
            Ok(t) => (t, None),
            Err(e) if kind == PackageKind::Msi => return Err(e),
            Err(e) => (BTreeMap::new(), Some(e.message().to_string())),
        };
        // A merge module is a database with a ModuleSignature table and no Media table (a
        // package that merged modules keeps their ModuleSignature rows beside its media).
        let kind =
            if kind == PackageKind::Msi && tables.contains_key("ModuleSignature") && !tables.contains_key("Media") {
                PackageKind::Msm
            } else {
                kind
            };
        Ok(Database {
            path: path.to_path_buf(),
            dir,
            compound: Arc::new(comp),
            kind,
            clsid,
            summary,
            tables,
            streams,
            storages,
            truncated,
            table_error,
        })
    }

    /// Table `name`, if present.
    pub fn table(&self, name: &str) -> Option<&TableData> {
        self.tables.get(name)
    }

    /// Find a root stream by decoded name (exact first, then case-insensitive).
    pub fn stream(&self, name: &str) -> Option<&StreamInfo> {
        self.streams
            .iter()
            .find(|s| s.name == name)
            .or_else(|| self.streams.iter().find(|s| s.name.eq_ignore_ascii_case(name)))
    }
}

/// The streams table decoding needs, read once: `_StringPool`, `_StringData`,
/// `_Tables`, `_Columns` and the tables `only` keeps (every table when `None`), by
/// decoded name; with every table stream's length. The string pool's declared sizes are
/// checked before anything is sized from them.
fn prepare_tables(path: &Path, comp: &cfbio::Compound, only: Option<&[&str]>) -> Result<Prepared> {
    let listed = cfbio::root_streams(comp);
    let lengths: BTreeMap<String, u64> = listed.iter().filter(|s| s.3).map(|s| (s.0.clone(), s.2)).collect();
    let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, cfb_path, _, is_table) in listed {
        if !is_table || !(name.starts_with('_') || only.is_none_or(|o| o.contains(&name.as_str()))) {
            continue;
        }
        let mut data = Vec::new();
        if let Ok(s) = comp.open_stream(&cfb_path) {
            s.take(256 << 20)
                .read_to_end(&mut data)
                .map_err(|e| Error::io(&e, format_args!("reading {name}")).with_path(path))?;
        }
        kept.insert(name, data);
    }
    let pool = kept.get("_StringPool").map(Vec::as_slice).unwrap_or_default();
    check_string_pool(path, pool, lengths.get("_StringData").copied().unwrap_or(0))?;
    Ok(Prepared { streams: kept, lengths })
}

/// What [`prepare_tables`] read.
struct Prepared {
    streams: BTreeMap<String, Vec<u8>>,
    lengths: BTreeMap<String, u64>,
}

/// The string pool's declared lengths must fit in the string data (`data_len` bytes)
/// before the `msi` crate sizes buffers from them.
fn check_string_pool(path: &Path, pool: &[u8], data_len: u64) -> Result<()> {
    let total = super::strings::declared_data_len(pool);
    if total > data_len {
        return Err(Error::format(format!(
            "string pool declares {total} bytes of strings but _StringData holds {data_len}"
        ))
        .with_path(path));
    }
    Ok(())
}

/// Decode every table's columns from the streams [`prepare_tables`] read (or its error),
/// and the rows only of the tables `only` names. Every table's stream length is checked
/// against its columns, whether its rows are read or not.
fn read_tables(path: &Path, prepared: Result<Prepared>, only: Option<&[&str]>) -> Result<BTreeMap<String, TableData>> {
    use super::table_read as tableread;
    let Prepared { streams, lengths } = prepared?;
    let fail = |m: String| Error::new(ErrorKind::Format, format!("reading tables: {m}")).with_path(path);
    let get = |n: &str| streams.get(n).map(Vec::as_slice).unwrap_or_default();
    let pool = super::strings::StringPool::parse(get("_StringPool"), get("_StringData")).at_path(path)?;
    if !super::strings::known_codepage(pool.codepage) {
        return Err(fail(format!("Unknown codepage for string pool ({})", pool.codepage)));
    }
    let schema = tableread::schema(&pool, get("_Tables"), get("_Columns")).map_err(fail)?;
    let mut tables = BTreeMap::new();
    let mut shared = tableread::Shared::new();
    for (name, columns) in schema {
        let len = lengths.get(&name).copied().unwrap_or(0);
        tableread::row_count(&pool, &name, &columns, len).map_err(fail)?;
        if name == "_Tables" || name == "_Columns" {
            continue;
        }
        let rows = if only.is_some_and(|o| !o.contains(&name.as_str())) {
            Vec::new()
        } else {
            tableread::rows(&pool, &mut shared, &name, &columns, get(&name)).map_err(fail)?
        };
        tables.insert(name.clone(), TableData { name, columns, rows });
    }
    Ok(tables)
}
