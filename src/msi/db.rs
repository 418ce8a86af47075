//! A package's database read once into owned values. The `msi` crate does the table
//! decoding; everything it is given passes through a panic guard, and nothing of it
//! leaks past this file.

use super::cfbio::{self, Truncation};
use super::summary::Summary;
use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What kind of compound file a package is, by its root CLSID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PackageKind {
    /// Installer database.
    Msi,
    /// Patch.
    Msp,
    /// Transform.
    Mst,
    /// A compound file of another kind.
    Other,
}

/// A cell value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(untagged)]
pub enum Val {
    /// NULL.
    Null,
    /// Integer.
    Int(i32),
    /// String (shared with every other cell holding the same pool string; a thin pointer,
    /// so that a cell takes 16 bytes).
    Str(std::sync::Arc<String>),
    /// Binary stream (stored as `Table.Key` stream).
    #[serde(serialize_with = "ser_binary")]
    Binary,
}

fn ser_binary<S: serde::Serializer>(s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str("[binary]")
}

impl Val {
    /// A string cell.
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(std::sync::Arc::new(s.into()))
    }
    /// The string, if a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The integer, if an integer.
    pub fn as_int(&self) -> Option<i32> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// Text form (empty for NULL).
    pub fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s.to_string(),
            Val::Binary => "[binary]".into(),
        }
    }
}

/// A column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ColKind {
    /// 16-bit integer.
    Int16,
    /// 32-bit integer.
    Int32,
    /// String of at most this many characters (0 = unlimited).
    Str(u32),
    /// Stream.
    Binary,
}

/// A column definition.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColInfo {
    /// Name.
    pub name: String,
    /// Type.
    pub kind: ColKind,
    /// May be NULL.
    pub nullable: bool,
    /// Localizable string.
    pub localizable: bool,
    /// Part of the primary key.
    pub key: bool,
}

impl ColInfo {
    /// The IDT type code (`s72`, `L0`, `i2`, `V0`, ...).
    pub fn idt_type(&self) -> String {
        let (c, n) = match self.kind {
            ColKind::Int16 => ('i', 2),
            ColKind::Int32 => ('i', 4),
            ColKind::Str(n) => (if self.localizable { 'l' } else { 's' }, n),
            ColKind::Binary => ('v', 0),
        };
        let c = if self.nullable { c.to_ascii_uppercase() } else { c };
        format!("{c}{n}")
    }
}

/// A table with its rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableData {
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColInfo>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Val>>,
}

impl TableData {
    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    /// The value at `row`, column `name` (NULL if no such column).
    pub fn get<'a>(&'a self, row: &'a [Val], name: &str) -> &'a Val {
        static NULL: Val = Val::Null;
        self.col(name).and_then(|i| row.get(i)).unwrap_or(&NULL)
    }
    /// The primary key of `row` joined with `.` (as binary stream names use it).
    pub fn key_of(&self, row: &[Val]) -> String {
        self.columns.iter().zip(row).filter(|(c, _)| c.key).map(|(_, v)| v.text()).collect::<Vec<_>>().join(".")
    }
}

/// A stream at the root of the package.
#[derive(Debug, Clone, serde::Serialize)]
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
    /// Where it was read from.
    pub path: PathBuf,
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
pub use super::tableread::MAX_ROWS;

impl Database {
    /// Read the package at `path`.
    pub fn open(path: &Path) -> Result<Database> {
        Self::open_with(path, None)
    }

    /// Read the package at `path`, loading only the rows of the tables `only` names (every
    /// table's columns are still known). Extraction needs five tables; reading the others
    /// (MsiFileHash has a row per file) costs time for nothing.
    pub fn open_tables(path: &Path, only: &[&str]) -> Result<Database> {
        Self::open_with(path, Some(only))
    }

    fn open_with(path: &Path, only: Option<&[&str]>) -> Result<Database> {
        let (comp, truncated) = cfbio::open_cfb(path)?;
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
                    Summary::parse(&buf).map_err(|e| e.with_path(path))?
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
        drop(comp);
        let (tables, table_error) = match if kind == PackageKind::Mst {
            Err(Error::format("a transform holds changes to tables, not a database of its own"))
        } else {
            read_tables(path, prepared, only)
        } {
            Ok(t) => (t, None),
            Err(e) if kind == PackageKind::Msi => return Err(e),
            Err(e) => (BTreeMap::new(), Some(e.message().to_string())),
        };
        Ok(Database {
            path: path.to_path_buf(),
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
    use super::tableread;
    let Prepared { streams, lengths } = prepared?;
    let fail = |m: String| Error::new(ErrorKind::Format, format!("reading tables: {m}")).with_path(path);
    let get = |n: &str| streams.get(n).map(Vec::as_slice).unwrap_or_default();
    let pool =
        super::strings::StringPool::parse(get("_StringPool"), get("_StringData")).map_err(|e| e.with_path(path))?;
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
