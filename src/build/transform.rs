//! Transforms and patches written by us (no crate writes them): the records of §4 of the
//! format notes, an own string pool per transform, and a patch compound file holding a
//! root database, cabinet streams and transform sub-storages. Used for fixtures; every
//! patch made here is read back by `hotfixkit::msp` and by msitools in the tests.

use super::database::{clear_cfb_root_times, Cell, ColSpec};
use crate::error::{IoResultExt, Result};
use crate::msi::encode_name;
use std::collections::HashMap;
use std::io::{Cursor, Write};

/// A change to one row.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert a whole row (every column).
    Insert(Vec<Cell>),
    /// Update: the key cells (in key-column order) and (column index, value) pairs.
    Update(Vec<Cell>, Vec<(usize, Cell)>),
    /// Delete by key.
    Delete(Vec<Cell>),
}

/// The changes to one table, with the table's columns (its schema in the target).
#[derive(Debug, Clone)]
pub struct TableOps {
    /// Table name.
    pub name: String,
    /// Columns of the table in the target (or as created by this transform).
    pub columns: Vec<ColSpec>,
    /// Whether this transform creates the table (adds `_Tables`/`_Columns` records).
    pub create: bool,
    /// Row changes.
    pub ops: Vec<Op>,
}

/// A summary property value.
#[derive(Debug, Clone)]
pub enum Prop {
    /// VT_I2.
    I2(i16),
    /// VT_I4.
    I4(i32),
    /// VT_LPSTR.
    Str(String),
    /// VT_FILETIME (100 ns since 1601).
    Time(u64),
}

/// Serialize a summary information property set.
pub fn summary_stream(props: &[(u32, Prop)]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut offsets = Vec::new();
    let header_len = 8 + 8 * props.len();
    for (pid, v) in props {
        offsets.push((*pid, (header_len + body.len()) as u32));
        match v {
            Prop::I2(x) => {
                body.extend_from_slice(&2u32.to_le_bytes());
                body.extend_from_slice(&x.to_le_bytes());
                body.extend_from_slice(&[0, 0]);
            }
            Prop::I4(x) => {
                body.extend_from_slice(&3u32.to_le_bytes());
                body.extend_from_slice(&x.to_le_bytes());
            }
            Prop::Str(s) => {
                body.extend_from_slice(&30u32.to_le_bytes());
                body.extend_from_slice(&(s.len() as u32 + 1).to_le_bytes());
                body.extend_from_slice(s.as_bytes());
                body.push(0);
                while body.len() % 4 != 0 {
                    body.push(0);
                }
            }
            Prop::Time(t) => {
                body.extend_from_slice(&64u32.to_le_bytes());
                body.extend_from_slice(&t.to_le_bytes());
            }
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0xFFFEu16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0x0002_0105u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&1u32.to_le_bytes());
    // FMTID_SummaryInformation F29F85E0-4FF9-1068-AB91-08002B27B3D9
    out.extend_from_slice(&[
        0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9,
    ]);
    out.extend_from_slice(&48u32.to_le_bytes());
    out.extend_from_slice(&((header_len + body.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(props.len() as u32).to_le_bytes());
    for (pid, off) in offsets {
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
    }
    out.extend_from_slice(&body);
    out
}

fn type_word(c: &ColSpec) -> i32 {
    let t = c.kind.chars().next().unwrap_or('s');
    let n: i32 = c.kind[1..].parse().unwrap_or(0);
    let mut w = match t.to_ascii_lowercase() {
        'i' if n == 4 => 0x0104,
        'i' => 0x0502,
        'v' => 0x0900,
        'l' => 0x0F00 | n,
        _ => 0x0D00 | n,
    };
    if t.is_ascii_uppercase() {
        w |= 0x1000;
    }
    if c.key {
        w |= 0x2000;
    }
    w
}

struct Pool {
    ids: HashMap<String, u16>,
    list: Vec<(String, u16)>,
}

impl Pool {
    fn id(&mut self, s: &str) -> u16 {
        if let Some(&i) = self.ids.get(s) {
            self.list[usize::from(i) - 1].1 += 1;
            return i;
        }
        self.list.push((s.to_string(), 1));
        let i = self.list.len() as u16;
        self.ids.insert(s.to_string(), i);
        i
    }
}

fn cell(out: &mut Vec<u8>, pool: &mut Pool, col: &ColSpec, v: &Cell) {
    let t = col.kind.chars().next().unwrap_or('s').to_ascii_lowercase();
    let wide = col.kind.ends_with('4') && t == 'i';
    match (t, v) {
        ('i', Cell::Int(i)) if wide => out.extend_from_slice(&((*i as u32) ^ 0x8000_0000).to_le_bytes()),
        ('i', Cell::Int(i)) => out.extend_from_slice(&((*i + 0x8000) as u16).to_le_bytes()),
        ('i', _) if wide => out.extend_from_slice(&0u32.to_le_bytes()),
        ('v', Cell::Null) => out.extend_from_slice(&0u16.to_le_bytes()),
        ('v', _) => out.extend_from_slice(&1u16.to_le_bytes()),
        (_, Cell::Str(s)) if !s.is_empty() => out.extend_from_slice(&pool.id(s).to_le_bytes()),
        _ => out.extend_from_slice(&0u16.to_le_bytes()),
    }
}

/// The streams of one transform (stored names, bytes): summary, string pool, records.
pub fn transform_streams(summary: &[(u32, Prop)], tables: &[TableOps]) -> Vec<(String, Vec<u8>)> {
    let mut pool = Pool { ids: HashMap::new(), list: Vec::new() };
    let mut streams: Vec<(String, Vec<u8>)> = Vec::new();
    let tables_schema = [ColSpec { name: "Name", kind: "s64", key: true }];
    let columns_schema = [
        ColSpec { name: "Table", kind: "s64", key: true },
        ColSpec { name: "Number", kind: "i2", key: true },
        ColSpec { name: "Name", kind: "s64", key: false },
        ColSpec { name: "Type", kind: "i2", key: false },
    ];
    let mut tb = Vec::new();
    let mut cb = Vec::new();
    for t in tables.iter().filter(|t| t.create) {
        tb.extend_from_slice(&0x0101u16.to_le_bytes());
        cell(&mut tb, &mut pool, &tables_schema[0], &Cell::Str(t.name.clone()));
        for (i, c) in t.columns.iter().enumerate() {
            cb.extend_from_slice(&0x0401u16.to_le_bytes());
            cell(&mut cb, &mut pool, &columns_schema[0], &Cell::Str(t.name.clone()));
            cell(&mut cb, &mut pool, &columns_schema[1], &Cell::Int(i as i32 + 1));
            cell(&mut cb, &mut pool, &columns_schema[2], &Cell::Str(c.name.to_string()));
            cell(&mut cb, &mut pool, &columns_schema[3], &Cell::Int(type_word(c)));
        }
    }
    if !tb.is_empty() {
        streams.push((encode_name("_Tables", true), tb));
        streams.push((encode_name("_Columns", true), cb));
    }
    for t in tables {
        let mut b = Vec::new();
        for op in &t.ops {
            match op {
                Op::Insert(row) => {
                    b.extend_from_slice(&(0x0001u16 | ((t.columns.len() as u16) << 8)).to_le_bytes());
                    for (c, v) in t.columns.iter().zip(row) {
                        cell(&mut b, &mut pool, c, v);
                    }
                }
                Op::Delete(key) => {
                    b.extend_from_slice(&0u16.to_le_bytes());
                    for (c, v) in t.columns.iter().filter(|c| c.key).zip(key) {
                        cell(&mut b, &mut pool, c, v);
                    }
                }
                Op::Update(key, set) => {
                    let mask = set.iter().fold(0u16, |m, (i, _)| m | (1 << i));
                    b.extend_from_slice(&mask.to_le_bytes());
                    let mut k = key.iter();
                    for (i, c) in t.columns.iter().enumerate() {
                        if c.key {
                            cell(&mut b, &mut pool, c, k.next().unwrap_or(&Cell::Null));
                        } else if let Some((_, v)) = set.iter().find(|(j, _)| *j == i) {
                            cell(&mut b, &mut pool, c, v);
                        }
                    }
                }
            }
        }
        if !b.is_empty() {
            streams.push((encode_name(&t.name, true), b));
        }
    }
    let mut sp = vec![0u8; 4];
    let mut sd = Vec::new();
    for (s, refs) in &pool.list {
        sp.extend_from_slice(&(s.len() as u16).to_le_bytes());
        sp.extend_from_slice(&refs.to_le_bytes());
        sd.extend_from_slice(s.as_bytes());
    }
    streams.push((encode_name("_StringPool", true), sp));
    streams.push((encode_name("_StringData", true), sd));
    streams.push(("\u{5}SummaryInformation".to_string(), summary_stream(summary)));
    streams
}

/// Streams of a storage: (stored name, bytes).
pub type Streams = Vec<(String, Vec<u8>)>;

/// A patch to write.
pub struct PatchSpec {
    /// Root summary information.
    pub summary: Vec<(u32, Prop)>,
    /// Root database tables (MsiPatchMetadata, MsiPatchSequence), already encoded.
    pub root_tables: Vec<(String, Vec<u8>)>,
    /// Root streams by plain name (cabinets).
    pub streams: Vec<(String, Vec<u8>)>,
    /// Transform storages: name and streams.
    pub transforms: Vec<(String, Streams)>,
    /// Pad the file to exactly this size with a root stream named `Padding`, if given.
    pub size: Option<u64>,
}

const MSP_CLSID: &str = "000c1086-0000-0000-c000-000000000046";
const MST_CLSID: &str = "000c1082-0000-0000-c000-000000000046";

fn write_patch_once(spec: &PatchSpec, padding: usize) -> Result<Vec<u8>> {
    let mut comp =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).io_ctx("creating patch")?;
    let clsid = |s: &str| uuid::Uuid::parse_str(s).unwrap_or_default();
    comp.set_storage_clsid("/", clsid(MSP_CLSID)).io_ctx("CLSID")?;
    let put = |comp: &mut cfb::CompoundFile<Cursor<Vec<u8>>>, path: &str, data: &[u8]| -> Result<()> {
        let mut w = comp.create_stream(path).io_ctx(format_args!("stream {path}"))?;
        w.write_all(data).io_ctx("writing")?;
        Ok(())
    };
    put(&mut comp, "/\u{5}SummaryInformation", &summary_stream(&spec.summary))?;
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
/// table; where `want` falls in such a gap, a different split between padding streams is
/// tried by the caller through `make`'s second argument.
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
