//! Transforms (.mst files and the sub-storages of a patch): reading the row records and
//! applying them to a database held in memory.
//!
//! A transform has its own string pool; its table streams are row-major records
//! `u16 mask, cells…` whose widths come from the *target* table's columns (or the
//! transform's own `_Columns` records for tables it creates). Mask bit 0 = insert (the
//! high byte counts the columns), mask 0 = delete (key columns only), otherwise an update
//! whose bit i marks column i present (key columns always present).

use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, Result};
use crate::msi::package_file::{self as cfbio, decode_name, encode_name};
use crate::msi::strings::StringPool;
use crate::msi::summary::Summary;
use crate::msi::{ColInfo, ColKind, Compound, TableData, Val};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Error-condition bits (low word of PID 16) the applier must ignore.
pub mod suppress {
    /// Adding a row that exists.
    pub const ADD_EXISTING_ROW: u16 = 0x01;
    /// Deleting a row that does not exist.
    pub const DEL_MISSING_ROW: u16 = 0x02;
    /// Adding a table that exists.
    pub const ADD_EXISTING_TABLE: u16 = 0x04;
    /// Deleting a table that does not exist.
    pub const DEL_MISSING_TABLE: u16 = 0x08;
    /// Updating a row that does not exist.
    pub const UPDATE_MISSING_ROW: u16 = 0x10;
    /// Code page mismatch.
    pub const CODEPAGE: u16 = 0x20;
}

/// Validation bits (high word of PID 16).
pub mod validate {
    /// Language.
    pub const LANGUAGE: u16 = 0x0001;
    /// ProductCode.
    pub const PRODUCT: u16 = 0x0002;
    /// Platform.
    pub const PLATFORM: u16 = 0x0004;
    /// Compare major version.
    pub const MAJOR: u16 = 0x0008;
    /// Compare major.minor.
    pub const MINOR: u16 = 0x0010;
    /// Compare major.minor.update.
    pub const UPDATE: u16 = 0x0020;
    /// Target version < base.
    pub const LESS: u16 = 0x0040;
    /// Target version <= base.
    pub const LESS_EQ: u16 = 0x0080;
    /// Target version == base.
    pub const EQUAL: u16 = 0x0100;
    /// Target version >= base.
    pub const GREATER_EQ: u16 = 0x0200;
    /// Target version > base.
    pub const GREATER: u16 = 0x0400;
    /// UpgradeCode.
    pub const UPGRADE_CODE: u16 = 0x0800;
}

/// A transform's identity and flags, from its summary information.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct TransformInfo {
    /// Storage name inside a patch, or the file name of an .mst.
    pub name: String,
    /// Template: platform;language of the base database.
    pub template: Option<String>,
    /// Last Saved By: platform;language after the transform.
    pub result_template: Option<String>,
    /// Raw Revision Number: `{from}ver;{to}ver;{upgrade}`.
    pub revision: Option<String>,
    /// ProductCode the transform applies to.
    pub target_product: Option<String>,
    /// ProductVersion it applies to.
    pub target_version: Option<String>,
    /// ProductCode after it.
    pub upgraded_product: Option<String>,
    /// ProductVersion after it.
    pub upgraded_version: Option<String>,
    /// UpgradeCode.
    pub upgrade_code: Option<String>,
    /// Validation flags (high word of Character Count).
    pub validation: u16,
    /// Suppressed error conditions (low word of Character Count).
    pub suppressed: u16,
    /// The validation flags by name.
    pub validation_names: Vec<String>,
    /// The suppressed conditions by name.
    pub suppressed_names: Vec<String>,
    /// Tables the transform touches.
    pub tables: Vec<String>,
}

/// A transform read into memory (table streams are small: they hold changes only).
#[derive(Debug, Clone)]
pub struct Transform {
    /// Identity and flags.
    pub info: TransformInfo,
    pool: StringPool,
    /// Table name -> raw record stream.
    streams: BTreeMap<String, Vec<u8>>,
    /// Binary cell streams: decoded name (`Table.Key`) -> path inside the compound file.
    pub binaries: BTreeMap<String, String>,
    /// The file holding it (for messages).
    pub file: PathBuf,
    compound: Arc<Compound>,
}

fn split_guid_version(part: &str) -> (Option<String>, Option<String>) {
    let p = part.trim();
    if p.starts_with('{') {
        if let Some(end) = p.find('}') {
            let guid = p[..=end].to_string();
            let ver = p[end + 1..].trim().to_string();
            return (Some(guid), Some(ver).filter(|v| !v.is_empty()));
        }
    }
    (None, Some(p.to_string()).filter(|v| !v.is_empty()))
}

fn names(bits: u16, table: &[(u16, &str)]) -> Vec<String> {
    table.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| n.to_string()).collect()
}

impl TransformInfo {
    /// From a transform's summary information.
    pub fn from_summary(name: &str, s: &Summary) -> TransformInfo {
        let revision = s.get_str(9).map(str::to_string);
        let mut info = TransformInfo {
            name: name.to_string(),
            template: s.get_str(7).map(str::to_string),
            result_template: s.get_str(8).map(str::to_string),
            revision: revision.clone(),
            ..Default::default()
        };
        if let Some(r) = &revision {
            let parts: Vec<&str> = r.split(';').collect();
            if let Some(p) = parts.first() {
                (info.target_product, info.target_version) = split_guid_version(p);
            }
            if let Some(p) = parts.get(1) {
                (info.upgraded_product, info.upgraded_version) = split_guid_version(p);
            }
            if let Some(p) = parts.get(2) {
                info.upgrade_code = Some(p.trim().to_string()).filter(|v| !v.is_empty());
            }
        }
        if let Some(crate::msi::summary::PropValue::Int(v)) = s.get(16) {
            let v = *v as u32;
            info.validation = (v >> 16) as u16;
            info.suppressed = (v & 0xFFFF) as u16;
        }
        info.validation_names = names(
            info.validation,
            &[
                (validate::LANGUAGE, "language"),
                (validate::PRODUCT, "product"),
                (validate::PLATFORM, "platform"),
                (validate::MAJOR, "major-version"),
                (validate::MINOR, "minor-version"),
                (validate::UPDATE, "update-version"),
                (validate::LESS, "new<base"),
                (validate::LESS_EQ, "new<=base"),
                (validate::EQUAL, "new=base"),
                (validate::GREATER_EQ, "new>=base"),
                (validate::GREATER, "new>base"),
                (validate::UPGRADE_CODE, "upgrade-code"),
            ],
        );
        info.suppressed_names = names(
            info.suppressed,
            &[
                (suppress::ADD_EXISTING_ROW, "add-existing-row"),
                (suppress::DEL_MISSING_ROW, "delete-missing-row"),
                (suppress::ADD_EXISTING_TABLE, "add-existing-table"),
                (suppress::DEL_MISSING_TABLE, "delete-missing-table"),
                (suppress::UPDATE_MISSING_ROW, "update-missing-row"),
                (suppress::CODEPAGE, "codepage"),
            ],
        );
        info
    }
}

/// Largest table stream read from a transform.
const MAX_STREAM: u64 = 64 << 20;

impl Transform {
    /// Read the transform stored at `storage` (empty = the root of an .mst) in `file`.
    pub fn read(file: &Path, storage: &str) -> Result<Transform> {
        let (comp, _) = cfbio::open_compound(file)?;
        Self::read_from(Arc::new(comp), file, storage)
    }

    /// Read the transform stored at `storage` (empty = the root) of an open compound
    /// file; `file` names it in messages.
    pub fn read_from(comp: Arc<Compound>, file: &Path, storage: &str) -> Result<Transform> {
        let base = if storage.is_empty() { "/".to_string() } else { format!("/{storage}/") };
        let entries: Vec<(String, bool)> = {
            let sp = if storage.is_empty() { "/".to_string() } else { format!("/{storage}") };
            let list = comp
                .children(&sp)
                .map(|it| it.into_iter().filter(|e| !e.storage).map(|e| e.name).collect::<Vec<_>>())
                .map_err(|e| {
                    Error::new(ErrorKind::Missing, format!("transform storage {storage:?}: {e}")).with_path(file)
                })?;
            list.into_iter().map(|raw| (raw.clone(), decode_name(&raw).1)).collect()
        };
        let read = |name: &str| -> Result<Option<Vec<u8>>> {
            let p = format!("{base}{name}");
            match comp.open_stream(&p) {
                Ok(s) => {
                    let mut v = Vec::new();
                    s.take(MAX_STREAM)
                        .read_to_end(&mut v)
                        .map_err(|e| Error::io(&e, format_args!("reading {p}")).with_path(file))?;
                    Ok(Some(v))
                }
                Err(_) => Ok(None),
            }
        };
        let summary = match read("\u{5}SummaryInformation")? {
            Some(b) => Summary::parse(&b).at_path(file)?,
            None => Summary::default(),
        };
        let pool_bytes = read(&encode_name("_StringPool", true))?.unwrap_or_default();
        let data_bytes = read(&encode_name("_StringData", true))?.unwrap_or_default();
        let pool = StringPool::parse(&pool_bytes, &data_bytes)
            .map_err(|e| e.context(format_args!("transform {storage}")).with_path(file))?;
        let mut streams = BTreeMap::new();
        let mut binaries = BTreeMap::new();
        for (raw, is_table) in entries {
            let (name, _) = decode_name(&raw);
            if raw.starts_with('\u{5}') {
                continue;
            }
            if is_table {
                if name == "_StringPool" || name == "_StringData" {
                    continue;
                }
                if let Some(b) = read(&raw)? {
                    streams.insert(name, b);
                }
            } else {
                binaries.insert(name, format!("{base}{raw}"));
            }
        }
        let display = if storage.is_empty() {
            file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        } else {
            storage.to_string()
        };
        let mut info = TransformInfo::from_summary(&display, &summary);
        info.tables = streams.keys().cloned().collect();
        Ok(Transform { info, pool, streams, binaries, file: file.to_path_buf(), compound: comp })
    }

    /// The compound file the transform is stored in.
    pub fn compound(&self) -> &Arc<Compound> {
        &self.compound
    }

    /// Read the bytes of binary cell stream `name` (`Table.Key`).
    pub fn read_binary(&self, name: &str) -> Result<Vec<u8>> {
        let p =
            self.binaries.get(name).ok_or_else(|| Error::new(ErrorKind::Missing, format!("binary stream {name:?}")))?;
        let mut v = Vec::new();
        self.compound
            .open_stream(p)
            .map_err(|e| Error::new(ErrorKind::Missing, format!("stream {name:?}: {e}")))?
            .take(MAX_STREAM)
            .read_to_end(&mut v)
            .map_err(|e| Error::io(&e, format_args!("reading {name}")))?;
        Ok(v)
    }
}

/// Column definition from a `_Columns` type word (the database reader's rules; an
/// integer of an odd size reads as 16-bit).
pub fn col_from_type(name: &str, t: i32) -> ColInfo {
    crate::msi::table_read::column_lenient(name, t as u32 & 0xFFFF)
}

fn fixed_schema(table: &str) -> Option<Vec<ColInfo>> {
    let s = |n: &str, key: bool| ColInfo {
        name: n.into(),
        kind: ColKind::Str(64),
        nullable: false,
        localizable: false,
        key,
    };
    let i =
        |n: &str, key: bool| ColInfo { name: n.into(), kind: ColKind::Int16, nullable: false, localizable: false, key };
    match table {
        "_Tables" => Some(vec![s("Name", true)]),
        "_Columns" => Some(vec![s("Table", true), i("Number", true), s("Name", false), i("Type", false)]),
        _ => None,
    }
}

/// One decoded record.
#[derive(Debug, Clone)]
enum Record {
    Insert(Vec<Val>),
    Delete(Vec<Val>),
    Update(Vec<Option<Val>>),
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
}

fn read_cell(c: &mut Cursor<'_>, col: &ColInfo, pool: &StringPool) -> Result<Val> {
    let short = || Error::format("transform record ends early");
    Ok(match col.kind {
        ColKind::Str(_) => {
            let w = pool.ref_width();
            let b = c.take(w).ok_or_else(short)?;
            let id = if w == 3 {
                u32::from(b[0]) | (u32::from(b[1]) << 8) | (u32::from(b[2]) << 16)
            } else {
                u32::from(b[0]) | (u32::from(b[1]) << 8)
            };
            match id {
                0 => Val::Null,
                _ => Val::str(
                    pool.get(id).ok_or_else(|| Error::format(format!("string id {id} not in the transform's pool")))?,
                ),
            }
        }
        ColKind::Int16 => {
            let b = c.take(2).ok_or_else(short)?;
            let raw = u16::from_le_bytes([b[0], b[1]]);
            if raw == 0 {
                Val::Null
            } else {
                Val::Int(i32::from(raw) - 0x8000)
            }
        }
        ColKind::Int32 => {
            let b = c.take(4).ok_or_else(short)?;
            let raw = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if raw == 0 {
                Val::Null
            } else {
                Val::Int((raw ^ 0x8000_0000) as i32)
            }
        }
        ColKind::Binary => {
            let b = c.take(2).ok_or_else(short)?;
            if b == [0, 0] {
                Val::Null
            } else {
                Val::Binary
            }
        }
    })
}

fn decode_records(stream: &[u8], cols: &[ColInfo], pool: &StringPool) -> Result<Vec<Record>> {
    let mut c = Cursor { b: stream, at: 0 };
    let mut out = Vec::new();
    while c.at < stream.len() {
        let mb = c.take(2).ok_or_else(|| Error::format("transform record ends early"))?;
        let mask = u16::from_le_bytes([mb[0], mb[1]]);
        if mask & 1 == 1 {
            let n = usize::from(mask >> 8).min(cols.len());
            let n = if n == 0 { cols.len() } else { n };
            let mut v = Vec::with_capacity(cols.len());
            for col in &cols[..n] {
                v.push(read_cell(&mut c, col, pool)?);
            }
            v.resize(cols.len(), Val::Null);
            out.push(Record::Insert(v));
        } else if mask == 0 {
            let mut v = Vec::new();
            for col in cols.iter().filter(|c| c.key) {
                v.push(read_cell(&mut c, col, pool)?);
            }
            out.push(Record::Delete(v));
        } else {
            let mut v = Vec::with_capacity(cols.len());
            for (i, col) in cols.iter().enumerate() {
                let present = col.key || (i < 16 && mask & (1 << i) != 0);
                v.push(if present { Some(read_cell(&mut c, col, pool)?) } else { None });
            }
            out.push(Record::Update(v));
        }
        if out.len() > 4_000_000 {
            return Err(Error::new(ErrorKind::Limit, "transform has more than 4,000,000 records in one table"));
        }
    }
    Ok(out)
}

/// What applying a transform did.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct ApplyStats {
    /// Rows inserted.
    pub inserted: usize,
    /// Rows updated (or overwritten).
    pub updated: usize,
    /// Rows deleted.
    pub deleted: usize,
    /// Tables created.
    pub tables_added: Vec<String>,
    /// Tables dropped.
    pub tables_dropped: Vec<String>,
    /// Binary cells set: `Table.Key`.
    pub binaries: Vec<String>,
}

fn key_of(cols: &[ColInfo], row: &[Val]) -> Vec<Val> {
    cols.iter().zip(row).filter(|(c, _)| c.key).map(|(_, v)| v.clone()).collect()
}

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Ignore every error condition (as if all were suppressed).
    pub force: bool,
    /// Create missing standard tables (File, Component, Directory, Media, ...) with their
    /// standard columns: used to read a patch without its target package.
    pub standard_schemas: bool,
}

/// Apply `t` to `tables`. Error conditions the transform does not suppress are errors
/// unless `force`; a suppressed "add existing row" overwrites the row.
pub fn apply(t: &Transform, tables: &mut BTreeMap<String, TableData>, opts: ApplyOptions) -> Result<ApplyStats> {
    let force = opts.force;
    let mut st = ApplyStats::default();
    let sup = |bit: u16| force || t.info.suppressed & bit != 0;
    let err = |m: String| Error::format(format!("transform {}: {m}", t.info.name)).with_path(&t.file);
    // 1. _Tables
    if let Some(s) = t.streams.get("_Tables") {
        let cols = fixed_schema("_Tables").unwrap_or_default();
        for r in decode_records(s, &cols, &t.pool)
            .map_err(|e| e.context(format!("transform {} table _Tables", t.info.name)))?
        {
            match r {
                Record::Insert(v) => {
                    let name = v[0].text();
                    if tables.contains_key(&name) {
                        if !sup(suppress::ADD_EXISTING_TABLE) {
                            return Err(err(format!("adds table {name} which exists")));
                        }
                    } else {
                        tables.insert(
                            name.clone(),
                            TableData { name: name.clone(), columns: Vec::new(), rows: Vec::new() },
                        );
                        st.tables_added.push(name);
                    }
                }
                Record::Delete(v) => {
                    let name = v.first().map(Val::text).unwrap_or_default();
                    if tables.remove(&name).is_none() && !sup(suppress::DEL_MISSING_TABLE) {
                        return Err(err(format!("drops table {name} which does not exist")));
                    }
                    st.tables_dropped.push(name);
                }
                Record::Update(_) => {}
            }
        }
    }
    // 2. _Columns: new columns, numbered in record order when Number is NULL.
    if let Some(s) = t.streams.get("_Columns") {
        let cols = fixed_schema("_Columns").unwrap_or_default();
        for r in decode_records(s, &cols, &t.pool)
            .map_err(|e| e.context(format!("transform {} table _Columns", t.info.name)))?
        {
            if let Record::Insert(v) = r {
                let table = v[0].text();
                let name = v[2].text();
                let ty = v[3].as_int().unwrap_or(0);
                let Some(td) = tables.get_mut(&table) else {
                    return Err(err(format!("adds column {name} to table {table} which does not exist")));
                };
                if td.col(&name).is_none() {
                    td.columns.push(col_from_type(&name, ty));
                    for row in &mut td.rows {
                        row.push(Val::Null);
                    }
                }
            }
        }
    }
    // 3. Every other table.
    for (name, s) in &t.streams {
        if name == "_Tables" || name == "_Columns" {
            continue;
        }
        if !tables.contains_key(name) {
            match crate::msi::schema::columns(name).filter(|_| opts.standard_schemas) {
                Some(columns) => {
                    tables.insert(name.clone(), TableData { name: name.clone(), columns, rows: Vec::new() });
                }
                None if force => continue,
                None => return Err(err(format!("changes table {name} which the database does not have"))),
            }
        }
        let Some(td) = tables.get_mut(name) else { continue };
        let cols = td.columns.clone();
        if cols.is_empty() {
            return Err(err(format!("table {name} has no columns")));
        }
        let recs = decode_records(s, &cols, &t.pool)
            .map_err(|e| e.context(format!("transform {} table {name}", t.info.name)))?;
        // Index rows by key.
        let mut index: std::collections::HashMap<Vec<Val>, usize> =
            td.rows.iter().enumerate().map(|(i, r)| (key_of(&cols, r), i)).collect();
        let binary_name = |row: &[Val]| -> String {
            let k: Vec<String> = cols.iter().zip(row).filter(|(c, _)| c.key).map(|(_, v)| v.text()).collect();
            format!("{name}.{}", k.join("."))
        };
        let mut deleted: Vec<usize> = Vec::new();
        for r in recs {
            match r {
                Record::Insert(v) => {
                    let k = key_of(&cols, &v);
                    if cols.iter().zip(&v).any(|(c, x)| c.kind == ColKind::Binary && *x == Val::Binary) {
                        st.binaries.push(binary_name(&v));
                    }
                    match index.get(&k) {
                        Some(&i) if !deleted.contains(&i) => {
                            if !sup(suppress::ADD_EXISTING_ROW) {
                                return Err(err(format!("adds a row to {name} whose key {} exists", fmt_key(&k))));
                            }
                            td.rows[i] = v;
                            st.updated += 1;
                        }
                        _ => {
                            index.insert(k, td.rows.len());
                            td.rows.push(v);
                            st.inserted += 1;
                        }
                    }
                }
                Record::Delete(k) => match index.remove(&k) {
                    Some(i) => {
                        deleted.push(i);
                        st.deleted += 1;
                    }
                    None if sup(suppress::DEL_MISSING_ROW) => {}
                    None => {
                        return Err(err(format!(
                            "deletes a row of {name} with key {} which does not exist",
                            fmt_key(&k)
                        )))
                    }
                },
                Record::Update(v) => {
                    let k: Vec<Val> = cols
                        .iter()
                        .zip(&v)
                        .filter(|(c, _)| c.key)
                        .map(|(_, x)| x.clone().unwrap_or(Val::Null))
                        .collect();
                    match index.get(&k) {
                        Some(&i) => {
                            for (j, x) in v.into_iter().enumerate() {
                                if let Some(x) = x {
                                    if cols[j].kind == ColKind::Binary && x == Val::Binary {
                                        st.binaries.push(binary_name(&td.rows[i]));
                                    }
                                    td.rows[i][j] = x;
                                }
                            }
                            st.updated += 1;
                        }
                        None if sup(suppress::UPDATE_MISSING_ROW) => {
                            // As Windows Installer and Wine do: the update becomes an insert.
                            let row: Vec<Val> = v.into_iter().map(|x| x.unwrap_or(Val::Null)).collect();
                            index.insert(k, td.rows.len());
                            td.rows.push(row);
                            st.inserted += 1;
                        }
                        None => {
                            return Err(err(format!(
                                "updates a row of {name} with key {} which does not exist",
                                fmt_key(&k)
                            )))
                        }
                    }
                }
            }
        }
        if !deleted.is_empty() {
            deleted.sort_unstable();
            let mut i = 0usize;
            td.rows.retain(|_| {
                let keep = deleted.binary_search(&i).is_err();
                i += 1;
                keep
            });
        }
    }
    Ok(st)
}

fn fmt_key(k: &[Val]) -> String {
    k.iter().map(Val::text).collect::<Vec<_>>().join("/")
}

fn property<'a>(tables: &'a BTreeMap<String, TableData>, name: &str) -> Option<&'a str> {
    let t = tables.get("Property")?;
    t.rows.iter().find(|r| t.get(r, "Property").as_str() == Some(name)).and_then(|r| t.get(r, "Value").as_str())
}

fn parse_version(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.trim().parse().unwrap_or(0)).collect()
}

/// Check the transform's validation flags against the database as it is now.
/// `Err` carries the reason (the first failed condition).
pub fn check_applicable(
    info: &TransformInfo,
    tables: &BTreeMap<String, TableData>,
    db_language: Option<&str>,
) -> std::result::Result<(), String> {
    let v = info.validation;
    if v & validate::PRODUCT != 0 {
        let have = property(tables, "ProductCode").unwrap_or("");
        let want = info.target_product.as_deref().unwrap_or("");
        if !have.eq_ignore_ascii_case(want) {
            return Err(format!("ProductCode is {have}, the transform is for {want}"));
        }
    }
    if v & validate::UPGRADE_CODE != 0 {
        let have = property(tables, "UpgradeCode").unwrap_or("");
        let want = info.upgrade_code.as_deref().unwrap_or("");
        if !have.eq_ignore_ascii_case(want) {
            return Err(format!("UpgradeCode is {have}, the transform is for {want}"));
        }
    }
    if v & validate::LANGUAGE != 0 {
        let langs = info.template.as_deref().and_then(|t| t.split_once(';')).map(|(_, l)| l).unwrap_or("");
        let have = property(tables, "ProductLanguage").or(db_language).unwrap_or("");
        if !langs.is_empty() && !langs.split(',').any(|l| l.trim() == have || l.trim() == "0") {
            return Err(format!("ProductLanguage is {have}, the transform is for {langs}"));
        }
    }
    let precision = if v & validate::UPDATE != 0 {
        3
    } else if v & validate::MINOR != 0 {
        2
    } else if v & validate::MAJOR != 0 {
        1
    } else {
        0
    };
    if precision > 0 {
        let have_s = property(tables, "ProductVersion").unwrap_or("");
        let want_s = info.target_version.as_deref().unwrap_or("");
        let mut have = parse_version(have_s);
        let mut want = parse_version(want_s);
        have.resize(precision, 0);
        want.resize(precision, 0);
        let rel = v & (validate::LESS | validate::LESS_EQ | validate::EQUAL | validate::GREATER_EQ | validate::GREATER);
        let ok = match rel {
            validate::LESS => have < want,
            validate::LESS_EQ => have <= want,
            validate::GREATER_EQ => have >= want,
            validate::GREATER => have > want,
            _ => have == want,
        };
        if !ok {
            let op = match rel {
                validate::LESS => "<",
                validate::LESS_EQ => "<=",
                validate::GREATER_EQ => ">=",
                validate::GREATER => ">",
                _ => "=",
            };
            return Err(format!(
                "ProductVersion {have_s} fails the version check ({} parts, {op} {want_s})",
                precision
            ));
        }
    }
    Ok(())
}
