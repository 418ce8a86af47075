//! VS_VERSIONINFO: the fixed file info and the StringFileInfo string tables.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Version facts from a version resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct VersionInfo {
    /// Fixed file version `a.b.c.d` (VS_FIXEDFILEINFO).
    pub file_version: Option<String>,
    /// Fixed product version.
    pub product_version: Option<String>,
    /// StringFileInfo strings of the first string table, by key; an embedded NUL is kept
    /// and shown as `\0`.
    pub strings: BTreeMap<String, String>,
    /// The string table's language/codepage key (e.g. `040904B0`).
    pub string_table: Option<String>,
}

const MAX_DEPTH: usize = 4;

struct Block<'a> {
    key: String,
    value: &'a [u8],
    children: &'a [u8],
}

fn u16at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

/// Parse one block at the start of `b`; returns it and its total length (aligned).
fn block(b: &[u8]) -> Result<(Block<'_>, usize)> {
    let bad = |m: &str| Error::format(format!("version resource: {m}"));
    let len = usize::from(u16at(b, 0).ok_or_else(|| bad("truncated block header"))?);
    let vlen = usize::from(u16at(b, 2).ok_or_else(|| bad("truncated block header"))?);
    let vtype = u16at(b, 4).ok_or_else(|| bad("truncated block header"))?;
    if len < 6 || len > b.len() {
        return Err(bad(&format!("block length {len} outside 6..{}", b.len())));
    }
    let blk = &b[..len];
    // Key: UTF-16 up to NUL.
    let mut key = Vec::new();
    let mut pos = 6;
    loop {
        let c = u16at(blk, pos).ok_or_else(|| bad("unterminated key"))?;
        pos += 2;
        if c == 0 {
            break;
        }
        key.push(c);
        if key.len() > 256 {
            return Err(bad("key longer than 256 characters"));
        }
    }
    let key = String::from_utf16_lossy(&key);
    pos = align4(pos).min(len);
    let value_is_text = vtype == 1;
    let vbytes = if value_is_text { vlen * 2 } else { vlen };
    let vend = pos.saturating_add(vbytes).min(len);
    let value = &blk[pos..vend];
    let cstart = align4(vend).min(len);
    Ok((Block { key, value, children: &blk[cstart..] }, align4(len)))
}

fn children(mut b: &[u8]) -> Result<Vec<Block<'_>>> {
    let mut out = Vec::new();
    while b.len() >= 6 {
        let (blk, used) = block(b)?;
        out.push(blk);
        if used == 0 || used >= b.len() {
            break;
        }
        b = &b[used..];
        if out.len() > 4096 {
            return Err(Error::format("version resource: too many blocks"));
        }
    }
    Ok(out)
}

fn text(value: &[u8]) -> String {
    let units: Vec<u16> = value.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let s = String::from_utf16_lossy(&units);
    // Only the terminating NULs go; an embedded NUL is kept and escaped.
    s.trim_end_matches('\0').replace('\0', "\\0")
}

fn ver(ms: u32, ls: u32) -> String {
    format!("{}.{}.{}.{}", ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF)
}

/// Parse a VS_VERSIONINFO resource. `Ok(None)` when it has no fixed info and no strings.
pub fn parse_version_info(b: &[u8]) -> Result<Option<VersionInfo>> {
    let (root, _) = block(b)?;
    if root.key != "VS_VERSION_INFO" {
        return Err(Error::format(format!("version resource: root key is {:?}", root.key)));
    }
    let mut info =
        VersionInfo { file_version: None, product_version: None, strings: BTreeMap::new(), string_table: None };
    let v = root.value;
    if v.len() >= 52 {
        let w = |i: usize| u32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
        if w(0) == 0xFEEF04BD {
            info.file_version = Some(ver(w(8), w(12)));
            info.product_version = Some(ver(w(16), w(20)));
        }
    }
    walk(root.children, 1, &mut info)?;
    if info.file_version.is_none() && info.strings.is_empty() {
        return Ok(None);
    }
    Ok(Some(info))
}

fn walk(b: &[u8], depth: usize, info: &mut VersionInfo) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for c in children(b)? {
        if c.key == "StringFileInfo" {
            for table in children(c.children)? {
                if info.string_table.is_some() {
                    break;
                }
                info.string_table = Some(table.key.clone());
                for s in children(table.children)? {
                    info.strings.insert(s.key.clone(), text(s.value));
                }
            }
        }
    }
    Ok(())
}
