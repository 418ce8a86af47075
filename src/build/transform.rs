//! Transforms written by us (no crate writes them): row-major records (§4 of the format
//! notes), an own string pool per transform (3-byte references once it holds 65,535
//! strings), `_Tables`/`_Columns` records for tables and columns a transform adds, and a
//! stream per binary cell it sets. Used for `build mst`, for both transforms of each
//! pair in `build msp`, and for fixtures; every transform made here is read back by
//! `hotfixkit::msp` and by msitools in the tests.

use crate::error::{Error, ErrorKind, Result};
use crate::msi::compare::{TableChange, TableStatus};
use crate::msi::encode_name;
use crate::msi::summary::{write_summary, SummaryValue};
use crate::msi::{ColInfo, ColKind, Val};
use std::collections::HashMap;

/// One record of a transform's table stream.
#[derive(Debug, Clone)]
pub enum Record {
    /// Insert (or assign) a whole row.
    Insert(Vec<Val>),
    /// Update: the whole new row, and the indexes of the columns to set (key columns are
    /// always written; their indexes need not be listed).
    Update(Vec<Val>, Vec<usize>),
    /// Delete the row with this primary key (key cells in key-column order).
    Delete(Vec<Val>),
}

/// The records one transform holds for one table.
#[derive(Debug, Clone)]
pub struct TableRecords {
    /// Table name.
    pub name: String,
    /// The table's columns after the transform (the records are laid out in these).
    pub columns: Vec<ColInfo>,
    /// The transform drops the table first (its old rows go with it).
    pub drop: bool,
    /// The transform creates the table (a `_Tables` record and every column's
    /// `_Columns` record).
    pub create: bool,
    /// Columns from this index on are added by the transform (`_Columns` records) when
    /// the table is not created; `columns.len()` when none are.
    pub first_new_column: usize,
    /// The row records.
    pub records: Vec<Record>,
}

impl TableRecords {
    /// Records changing an existing table without touching its columns.
    #[cfg(test)]
    fn rows(name: &str, columns: Vec<ColInfo>, records: Vec<Record>) -> TableRecords {
        let n = columns.len();
        TableRecords { name: name.to_string(), columns, drop: false, create: false, first_new_column: n, records }
    }

    /// The records that turn the old table into the new one, as `compare` found them.
    /// Updates go through an update record when every changed column is one an update
    /// mask can address (1 to 15), and as a delete and an insert otherwise.
    pub fn from_change(c: &TableChange) -> TableRecords {
        let n = c.columns.len();
        let mut t = TableRecords {
            name: c.name.clone(),
            columns: c.columns.clone(),
            drop: false,
            create: false,
            first_new_column: n,
            records: Vec::new(),
        };
        match c.status {
            TableStatus::Removed => {
                t.drop = true;
                return t;
            }
            TableStatus::Added => t.create = true,
            TableStatus::Replaced => {
                t.drop = true;
                t.create = true;
            }
            TableStatus::Changed => t.first_new_column = n - c.added_columns.len(),
        }
        for r in &c.removed {
            t.records.push(Record::Delete(c.key(r)));
        }
        for ch in &c.changed {
            let addressable = ch.columns.iter().all(|&i| (1..16).contains(&i) && !c.columns[i].key);
            if addressable {
                t.records.push(Record::Update(ch.new.clone(), ch.columns.clone()));
            } else {
                t.records.push(Record::Delete(c.key(&ch.new)));
                t.records.push(Record::Insert(ch.new.clone()));
            }
        }
        for r in &c.added {
            t.records.push(Record::Insert(r.clone()));
        }
        t
    }

    /// The binary columns a record sets (an insert with a value, or an update naming
    /// the column).
    fn sets_binary(&self, rec: &Record) -> Vec<usize> {
        let bin = |i: usize| self.columns.get(i).is_some_and(|c| c.kind == ColKind::Binary);
        match rec {
            Record::Insert(row) => (0..row.len()).filter(|&i| bin(i) && row[i] == Val::Binary).collect(),
            Record::Update(row, cols) => {
                cols.iter().copied().filter(|&i| bin(i) && row.get(i) == Some(&Val::Binary)).collect()
            }
            Record::Delete(_) => Vec::new(),
        }
    }
}

/// The `_Columns` type word of a column.
fn type_word(c: &ColInfo) -> i32 {
    i32::from(crate::msi::table_write::type_word(c))
}

struct Pool {
    ids: HashMap<String, u32>,
    list: Vec<(String, u32)>,
}

impl Pool {
    fn id(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&i) = self.ids.get(s) {
            self.list[(i - 1) as usize].1 += 1;
            return i;
        }
        self.list.push((s.to_string(), 1));
        let i = self.list.len() as u32;
        self.ids.insert(s.to_string(), i);
        i
    }
}

/// A cell before the string reference width is known.
enum Enc {
    Str(u32),
    I16(u16),
    I32(u32),
}

fn enc(pool: &mut Pool, col: &ColInfo, v: &Val) -> Enc {
    match (col.kind, v) {
        (ColKind::Int32, Val::Int(i)) => Enc::I32((*i as u32) ^ 0x8000_0000),
        (ColKind::Int32, _) => Enc::I32(0),
        (ColKind::Int16, Val::Int(i)) => Enc::I16((*i + 0x8000) as u16),
        (ColKind::Int16, _) => Enc::I16(0),
        (ColKind::Binary, Val::Null) => Enc::I16(0),
        (ColKind::Binary, _) => Enc::I16(1),
        (ColKind::Str(_), Val::Str(s)) => Enc::Str(pool.id(s)),
        (ColKind::Str(_), Val::Int(i)) => Enc::Str(pool.id(&i.to_string())),
        (ColKind::Str(_), _) => Enc::Str(0),
    }
}

fn catalog_str(name: &str) -> ColInfo {
    ColInfo { name: name.into(), kind: ColKind::Str(64), nullable: false, localizable: false, key: true }
}
fn catalog_i16(name: &str, key: bool) -> ColInfo {
    ColInfo { name: name.into(), kind: ColKind::Int16, nullable: false, localizable: false, key }
}

/// A record being built: its mask and its cells.
type Rec = (u16, Vec<Enc>);

/// The streams of one transform (stored names, bytes): the summary, the string pool,
/// `_Tables`/`_Columns` when tables or columns are added or dropped, one stream per
/// table it changes and one per binary cell it sets. Strings are stored in `codepage`;
/// `binary(stream)` gives the bytes of a binary cell the transform sets (`Table.key…`).
pub fn transform_streams(
    summary: &[(u32, SummaryValue)],
    codepage: u32,
    tables: &[TableRecords],
    binary: &mut dyn FnMut(&str) -> Result<Vec<u8>>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut pool = Pool { ids: HashMap::new(), list: Vec::new() };
    let tables_col = [catalog_str("Name")];
    let columns_cols =
        [catalog_str("Table"), catalog_i16("Number", true), catalog_str("Name"), catalog_i16("Type", false)];
    let mut tables_recs: Vec<Rec> = Vec::new();
    let mut columns_recs: Vec<Rec> = Vec::new();
    for t in tables {
        if t.drop {
            tables_recs.push((0, vec![enc(&mut pool, &tables_col[0], &Val::str(&t.name))]));
        }
    }
    for t in tables {
        if t.create {
            tables_recs.push((0x0101, vec![enc(&mut pool, &tables_col[0], &Val::str(&t.name))]));
        }
        let first = if t.create { 0 } else { t.first_new_column };
        for (i, c) in t.columns.iter().enumerate().skip(first) {
            let row = [Val::str(&t.name), Val::Int(i as i32 + 1), Val::str(&c.name), Val::Int(type_word(c))];
            let cells = columns_cols.iter().zip(&row).map(|(col, v)| enc(&mut pool, col, v)).collect();
            columns_recs.push((0x0401, cells));
        }
    }
    let mut table_streams: Vec<(String, Vec<Rec>)> = Vec::new();
    let mut binaries: Vec<String> = Vec::new();
    for t in tables {
        if t.columns.len() > 255 {
            return Err(Error::new(ErrorKind::Unsupported, format!("table {} has more than 255 columns", t.name)));
        }
        let mut recs = Vec::new();
        for r in &t.records {
            if !t.sets_binary(r).is_empty() {
                if let Record::Insert(row) | Record::Update(row, _) = r {
                    binaries.push(crate::msi::compare::stream_name(&t.name, &t.columns, row));
                }
            }
            match r {
                Record::Insert(row) => {
                    let mask = 0x0001u16 | ((t.columns.len() as u16) << 8);
                    let cells =
                        t.columns.iter().enumerate().map(|(i, c)| enc(&mut pool, c, row.get(i).unwrap_or(&Val::Null)));
                    recs.push((mask, cells.collect()));
                }
                Record::Delete(key) => {
                    let cells = t.columns.iter().filter(|c| c.key).zip(key).map(|(c, v)| enc(&mut pool, c, v));
                    recs.push((0, cells.collect()));
                }
                Record::Update(row, set) => {
                    let mut mask = 0u16;
                    for &i in set {
                        if i == 0 || i >= 16 {
                            return Err(Error::format(format!(
                                "table {}: an update record cannot set column {} ({})",
                                t.name,
                                i + 1,
                                t.columns.get(i).map(|c| c.name.as_str()).unwrap_or("?")
                            )));
                        }
                        if !t.columns[i].key {
                            mask |= 1 << i;
                        }
                    }
                    if mask == 0 {
                        continue;
                    }
                    let mut cells = Vec::new();
                    for (i, c) in t.columns.iter().enumerate() {
                        if c.key || mask & (1 << i) != 0 {
                            cells.push(enc(&mut pool, c, row.get(i).unwrap_or(&Val::Null)));
                        }
                    }
                    recs.push((mask, cells));
                }
            }
        }
        if !recs.is_empty() {
            table_streams.push((t.name.clone(), recs));
        }
    }
    let long = pool.list.len() >= 0xFFFF;
    let serialise = |recs: &[Rec]| -> Vec<u8> {
        let mut b = Vec::new();
        for (mask, cells) in recs {
            b.extend_from_slice(&mask.to_le_bytes());
            for c in cells {
                match c {
                    Enc::Str(id) => {
                        b.extend_from_slice(&(*id as u16).to_le_bytes());
                        if long {
                            b.push((*id >> 16) as u8);
                        }
                    }
                    Enc::I16(v) => b.extend_from_slice(&v.to_le_bytes()),
                    Enc::I32(v) => b.extend_from_slice(&v.to_le_bytes()),
                }
            }
        }
        b
    };
    let mut streams: Vec<(String, Vec<u8>)> = Vec::new();
    if !tables_recs.is_empty() {
        streams.push((encode_name("_Tables", true), serialise(&tables_recs)));
    }
    if !columns_recs.is_empty() {
        streams.push((encode_name("_Columns", true), serialise(&columns_recs)));
    }
    for (name, recs) in &table_streams {
        let stored = encode_name(name, true);
        if stored.encode_utf16().count() > 31 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("table name {name:?} is too long for a stream name"),
            ));
        }
        streams.push((stored, serialise(recs)));
    }
    binaries.sort();
    binaries.dedup();
    for b in binaries {
        let stored = encode_name(&b, false);
        if stored.encode_utf16().count() > 31 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("binary cell stream {b:?} is too long for a stream name (31 characters encoded)"),
            ));
        }
        let data = binary(&b)?;
        streams.push((stored, data));
    }
    let encoding = crate::msi::strings::encoding_for(codepage);
    let mut sp = Vec::with_capacity(4 + 4 * pool.list.len());
    sp.extend_from_slice(&((codepage & 0xFFFF) as u16).to_le_bytes());
    sp.extend_from_slice(&((((codepage >> 16) & 0x7FFF) as u16) | if long { 0x8000 } else { 0 }).to_le_bytes());
    let mut sd = Vec::new();
    for (s, refs) in &pool.list {
        let bytes = encoding.encode(s).0;
        let refs = (*refs).min(0xFFFF) as u16;
        if bytes.len() > 0xFFFF {
            sp.extend_from_slice(&0u16.to_le_bytes());
            sp.extend_from_slice(&refs.to_le_bytes());
            sp.extend_from_slice(&((bytes.len() & 0xFFFF) as u16).to_le_bytes());
            sp.extend_from_slice(&((bytes.len() >> 16) as u16).to_le_bytes());
        } else {
            sp.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            sp.extend_from_slice(&refs.to_le_bytes());
        }
        sd.extend_from_slice(&bytes);
    }
    streams.push((encode_name("_StringPool", true), sp));
    streams.push((encode_name("_StringData", true), sd));
    streams.push(("\u{5}SummaryInformation".to_string(), write_summary(summary)));
    Ok(streams)
}

/// The root CLSID of a patch.
pub const MSP_CLSID: &str = "000c1086-0000-0000-c000-000000000046";
/// The root CLSID of a transform (and of each transform storage in a patch).
pub const MST_CLSID: &str = "000c1082-0000-0000-c000-000000000046";

/// The CLSID `s` (a constant above).
pub fn clsid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).unwrap_or_default()
}

/// A stand-alone transform (.mst): a compound file with the transform's streams at its
/// root.
pub fn write_mst(streams: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut w = super::package_writer::PackageWriter::new(std::io::Cursor::new(Vec::new()), MST_CLSID)?;
    for (name, data) in streams {
        w.raw_stream("", name, data)?;
    }
    Ok(w.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msi::schema::columns;

    #[test]
    fn records_read_back_through_the_transform_reader() {
        let file = columns("File").unwrap();
        let recs = vec![
            TableRecords::rows(
                "File",
                file.clone(),
                vec![
                    Record::Update(
                        vec![
                            Val::str("a"),
                            Val::Null,
                            Val::Null,
                            Val::Int(77),
                            Val::str("1.2.3.4"),
                            Val::Null,
                            Val::Null,
                            Val::Null,
                        ],
                        vec![3, 4],
                    ),
                    Record::Delete(vec![Val::str("b")]),
                ],
            ),
            TableRecords {
                name: "PatchPackage".into(),
                columns: columns("PatchPackage").unwrap(),
                drop: false,
                create: true,
                first_new_column: 0,
                records: vec![Record::Insert(vec![Val::str("{P}"), Val::Int(2)])],
            },
        ];
        let streams = transform_streams(&[(1, SummaryValue::I2(1252))], 1252, &recs, &mut |_| Ok(Vec::new())).unwrap();
        let bytes = write_mst(&streams).unwrap();
        let dir = std::env::temp_dir().join(format!("hfk-mst-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.mst");
        std::fs::write(&p, &bytes).unwrap();
        let t = crate::msp::Transform::read(&p, "").unwrap();
        let mut tables = std::collections::BTreeMap::new();
        let row = |k: &str| {
            vec![
                Val::str(k),
                Val::str("C"),
                Val::str("a.txt"),
                Val::Int(1),
                Val::Null,
                Val::Null,
                Val::Int(0),
                Val::Int(1),
            ]
        };
        tables.insert(
            "File".to_string(),
            crate::msi::TableData { name: "File".into(), columns: file, rows: vec![row("a"), row("b")] },
        );
        crate::msp::apply(&t, &mut tables, Default::default()).unwrap();
        let f = &tables["File"];
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0][3], Val::Int(77));
        assert_eq!(f.rows[0][4], Val::str("1.2.3.4"));
        assert_eq!(f.rows[0][2], Val::str("a.txt"));
        assert_eq!(tables["PatchPackage"].rows[0], vec![Val::str("{P}"), Val::Int(2)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
