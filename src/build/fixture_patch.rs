//! Hand-made patches for fixtures (the `testing` feature): rows given as cells, and a
//! patch assembled in memory from ready streams, optionally padded to an exact size.

use super::database::{clear_cfb_root_times, Cell, ColSpec};
use super::transform::{clsid, Record, TableRecords, MSP_CLSID, MST_CLSID};
use crate::error::{IoResultExt, Result};
use crate::msi::encode_name;
use crate::msi::summary::{write_summary, SummaryValue};
use crate::msi::{ColInfo, Val};
use std::io::{Cursor, Write};

/// A change to one row (fixture form).
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert a whole row (every column).
    Insert(Vec<Cell>),
    /// Update: the key cells (in key-column order) and (column index, value) pairs.
    Update(Vec<Cell>, Vec<(usize, Cell)>),
    /// Delete by key.
    Delete(Vec<Cell>),
}

/// The changes to one table (fixture form), with the table's columns.
#[derive(Debug, Clone)]
pub struct TableOps {
    /// Table name.
    pub name: String,
    /// Columns of the table in the target (or as created by this transform).
    pub columns: Vec<ColSpec>,
    /// Whether this transform creates the table.
    pub create: bool,
    /// Row changes.
    pub ops: Vec<Op>,
}

fn val(c: &Cell) -> Val {
    match c {
        Cell::Null => Val::Null,
        Cell::Int(i) => Val::Int(*i),
        Cell::Str(s) if s.is_empty() => Val::Null,
        Cell::Str(s) => Val::str(s.as_str()),
    }
}

impl TableOps {
    /// The same changes as [`TableRecords`].
    pub fn records(&self) -> TableRecords {
        let columns: Vec<ColInfo> =
            self.columns.iter().map(|c| crate::msi::schema::column(c.name, c.kind, c.key)).collect();
        let mut records = Vec::new();
        for op in &self.ops {
            records.push(match op {
                Op::Insert(row) => Record::Insert(row.iter().map(val).collect()),
                Op::Delete(key) => Record::Delete(key.iter().map(val).collect()),
                Op::Update(key, set) => {
                    let mut row = vec![Val::Null; columns.len()];
                    let mut k = key.iter();
                    for (i, c) in columns.iter().enumerate() {
                        if c.key {
                            row[i] = k.next().map(val).unwrap_or(Val::Null);
                        }
                    }
                    for (i, v) in set {
                        if let Some(slot) = row.get_mut(*i) {
                            *slot = val(v);
                        }
                    }
                    Record::Update(row, set.iter().map(|(i, _)| *i).collect())
                }
            });
        }
        let n = columns.len();
        TableRecords {
            name: self.name.clone(),
            columns,
            drop: false,
            create: self.create,
            first_new_column: n,
            records,
        }
    }
}

/// Streams of a storage: (stored name, bytes).
pub type Streams = Vec<(String, Vec<u8>)>;

/// A patch to write (fixture form: everything in memory).
pub struct PatchSpec {
    /// Root summary information.
    pub summary: Vec<(u32, SummaryValue)>,
    /// Root database tables (MsiPatchMetadata, MsiPatchSequence), already encoded.
    pub root_tables: Vec<(String, Vec<u8>)>,
    /// Root streams by plain name (cabinets).
    pub streams: Vec<(String, Vec<u8>)>,
    /// Transform storages: name and streams.
    pub transforms: Vec<(String, Streams)>,
    /// Pad the file to exactly this size with a root stream named `Padding`, if given.
    pub size: Option<u64>,
}

fn write_patch_once(spec: &PatchSpec, padding: usize) -> Result<Vec<u8>> {
    let mut comp =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).io_ctx("creating patch")?;
    comp.set_storage_clsid("/", clsid(MSP_CLSID)).io_ctx("CLSID")?;
    let put = |comp: &mut cfb::CompoundFile<Cursor<Vec<u8>>>, path: &str, data: &[u8]| -> Result<()> {
        let mut w = comp.create_stream(path).io_ctx(format_args!("stream {path}"))?;
        w.write_all(data).io_ctx("writing")?;
        Ok(())
    };
    put(&mut comp, "/\u{5}SummaryInformation", &write_summary(&spec.summary))?;
    for (name, data) in &spec.root_tables {
        put(&mut comp, &format!("/{name}"), data)?;
    }
    for (name, data) in &spec.streams {
        put(&mut comp, &format!("/{}", encode_name(name, false)), data)?;
    }
    if padding > 0 {
        put(&mut comp, &format!("/{}", encode_name("Padding", false)), &vec![0u8; padding])?;
    }
    for (name, streams) in &spec.transforms {
        let p = format!("/{name}");
        comp.create_storage(&p).io_ctx("storage")?;
        comp.set_storage_clsid(&p, clsid(MST_CLSID)).io_ctx("CLSID")?;
        comp.set_modified_time(&p, std::time::UNIX_EPOCH).io_ctx("time")?;
        comp.set_created_time(&p, std::time::UNIX_EPOCH).io_ctx("time")?;
        for (sname, data) in streams {
            put(&mut comp, &format!("{p}/{sname}"), data)?;
        }
    }
    comp.flush().io_ctx("flushing patch")?;
    let mut bytes = comp.into_inner().into_inner();
    clear_cfb_root_times(&mut bytes);
    Ok(bytes)
}

/// Write a patch; with `size`, the `Padding` stream is grown until the file is exactly
/// that size (compound files grow in 512-byte sectors, so sizes must be multiples of 512).
pub fn write_patch(spec: &PatchSpec) -> Result<Vec<u8>> {
    let base = write_patch_once(spec, 0)?;
    let Some(want) = spec.size else { return Ok(base) };
    pad_to(want, base.len() as u64, |n| write_patch_once(spec, n))
}

/// Find the padding `n` for which `make(n)` is exactly `want` bytes long. Compound
/// files grow in 512-byte sectors, with an occasional extra sector for the allocation
/// table; where `want` falls in such a gap, neighbouring paddings are tried.
pub fn pad_to(want: u64, base_len: u64, make: impl Fn(usize) -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    if want < base_len {
        return Err(crate::Error::format(format!("cannot shrink to {want} bytes (minimum {base_len})")));
    }
    let mut n = (want - base_len).max(4096) as usize;
    let mut tried = std::collections::BTreeMap::new();
    for _ in 0..200 {
        let b = make(n)?;
        let len = b.len() as u64;
        if len == want {
            return Ok(b);
        }
        tried.insert(n, len);
        let diff = want as i64 - len as i64;
        let mut next = (n as i64 + diff).max(4096) as usize;
        if tried.contains_key(&next) {
            // Oscillating around a gap: nudge by single bytes toward the target.
            next = (n as i64 + diff.signum()).max(4096) as usize;
            while tried.contains_key(&next) {
                next = (next as i64 + diff.signum()) as usize;
            }
        }
        n = next;
    }
    Err(crate::Error::format(format!("could not reach exactly {want} bytes")))
}
