//! Writing tables back into a compound file, in Windows Installer's own encoding: a fresh
//! string pool, `_Tables`, `_Columns` and one column-major stream per table. Used for the
//! administrative package of a patched image, so that no third-party writer has to trust
//! (or fix up) the original string pool's reference counts.

use super::package_file::encode_name;
use super::table::{ColInfo, ColKind, TableData, Val};
use crate::error::{Error, ErrorKind, Result};
use std::collections::{BTreeMap, HashMap};

/// The `_Columns` type word of a column.
pub fn type_word(c: &ColInfo) -> u16 {
    let mut t = match c.kind {
        ColKind::Int16 => 0x0502,
        ColKind::Int32 => 0x0104,
        ColKind::Str(n) => 0x0D00 | (n.min(255) as u16),
        ColKind::Binary => 0x0900,
    };
    if c.localizable {
        t |= 0x0200;
    }
    if c.nullable {
        t |= 0x1000;
    }
    if c.key {
        t |= 0x2000;
    }
    t
}

struct Pool {
    ids: HashMap<String, u32>,
    strings: Vec<(String, u32)>,
}

impl Pool {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            self.strings[(i - 1) as usize].1 += 1;
            return i;
        }
        self.strings.push((s.to_string(), 1));
        let i = self.strings.len() as u32;
        self.ids.insert(s.to_string(), i);
        i
    }
}

/// Encode `tables` (every table but the catalog ones) as (stream name as stored, bytes),
/// table streams and the string pool included. Strings are stored in `codepage`.
pub fn encode_tables(tables: &BTreeMap<String, TableData>, codepage: u32) -> Result<Vec<(String, Vec<u8>)>> {
    let enc = super::strings::encoding_for(codepage);
    let mut pool = Pool { ids: HashMap::new(), strings: Vec::new() };
    let user: Vec<&TableData> = tables
        .values()
        .filter(|t| !matches!(t.name.as_str(), "_Tables" | "_Columns" | "_StringPool" | "_StringData"))
        .collect();
    // First pass: intern every string so the reference width is known.
    let mut tables_rows = Vec::new();
    let mut columns_rows = Vec::new();
    for t in &user {
        tables_rows.push(pool.id(&t.name));
        for (i, c) in t.columns.iter().enumerate() {
            columns_rows.push((pool.id(&t.name), i as i32 + 1, pool.id(&c.name), type_word(c)));
        }
    }
    let mut cell_ids: Vec<Vec<Vec<u32>>> = Vec::new();
    for t in &user {
        let mut per_row = Vec::with_capacity(t.rows.len());
        for r in &t.rows {
            let mut ids = Vec::with_capacity(r.len());
            for (c, v) in t.columns.iter().zip(r) {
                ids.push(match (c.kind, v) {
                    (ColKind::Str(_), Val::Str(s)) if !s.is_empty() => pool.id(s),
                    _ => 0,
                });
            }
            per_row.push(ids);
        }
        cell_ids.push(per_row);
    }
    let long = pool.strings.len() >= 0xFFFF;
    let push_ref = |out: &mut Vec<u8>, id: u32| {
        out.extend_from_slice(&(id as u16).to_le_bytes());
        if long {
            out.push((id >> 16) as u8);
        }
    };
    let mut streams = Vec::new();
    // String pool.
    let mut sp = Vec::new();
    sp.extend_from_slice(&((codepage & 0xFFFF) as u16).to_le_bytes());
    let hi = ((codepage >> 16) & 0x7FFF) as u16 | if long { 0x8000 } else { 0 };
    sp.extend_from_slice(&hi.to_le_bytes());
    let mut sd = Vec::new();
    for (s, refs) in &pool.strings {
        let bytes = enc.encode(s).0;
        let n = bytes.len();
        let refs = (*refs).min(0xFFFF) as u16;
        if n > 0xFFFF {
            sp.extend_from_slice(&0u16.to_le_bytes());
            sp.extend_from_slice(&refs.to_le_bytes());
            sp.extend_from_slice(&((n & 0xFFFF) as u16).to_le_bytes());
            sp.extend_from_slice(&((n >> 16) as u16).to_le_bytes());
        } else {
            sp.extend_from_slice(&(n as u16).to_le_bytes());
            sp.extend_from_slice(&refs.to_le_bytes());
        }
        sd.extend_from_slice(&bytes);
    }
    streams.push((encode_name("_StringPool", true), sp));
    streams.push((encode_name("_StringData", true), sd));
    // _Tables: one string column.
    let mut tb = Vec::new();
    for id in &tables_rows {
        push_ref(&mut tb, *id);
    }
    streams.push((encode_name("_Tables", true), tb));
    // _Columns: column-major Table, Number, Name, Type.
    let mut cb = Vec::new();
    for r in &columns_rows {
        push_ref(&mut cb, r.0);
    }
    for r in &columns_rows {
        cb.extend_from_slice(&((r.1 + 0x8000) as u16).to_le_bytes());
    }
    for r in &columns_rows {
        push_ref(&mut cb, r.2);
    }
    for r in &columns_rows {
        cb.extend_from_slice(&(r.3.wrapping_add(0x8000)).to_le_bytes());
    }
    streams.push((encode_name("_Columns", true), cb));
    // Tables, column-major.
    for (ti, t) in user.iter().enumerate() {
        if t.rows.is_empty() {
            continue;
        }
        let mut b = Vec::new();
        for (ci, c) in t.columns.iter().enumerate() {
            for (ri, r) in t.rows.iter().enumerate() {
                let v = r.get(ci).unwrap_or(&Val::Null);
                match c.kind {
                    ColKind::Str(_) => push_ref(&mut b, cell_ids[ti][ri][ci]),
                    ColKind::Int16 => {
                        let raw = match v {
                            Val::Int(i) => (*i + 0x8000) as u16,
                            _ => 0,
                        };
                        b.extend_from_slice(&raw.to_le_bytes());
                    }
                    ColKind::Int32 => {
                        let raw = match v {
                            Val::Int(i) => (*i as u32) ^ 0x8000_0000,
                            _ => 0,
                        };
                        b.extend_from_slice(&raw.to_le_bytes());
                    }
                    ColKind::Binary => {
                        let raw: u16 = if *v == Val::Null { 0 } else { 1 };
                        b.extend_from_slice(&raw.to_le_bytes());
                    }
                }
            }
        }
        if encode_name(&t.name, true).encode_utf16().count() > 31 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("table name {:?} is too long for a stream name", t.name),
            ));
        }
        streams.push((encode_name(&t.name, true), b));
    }
    Ok(streams)
}
