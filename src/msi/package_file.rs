//! Compound-file access: lenient opening of truncated packages, MSI stream-name
//! encoding, and package streams as cabinet sources.

pub use super::compound::Compound;
use crate::cab::{CabSource, ReadSeek};
use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::random_access::{read_full_at, Shared};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much of a package is missing, when it is truncated.
#[derive(Debug, Clone, Copy, serde::Serialize, schemars::JsonSchema)]
pub struct Truncation {
    /// Real file length.
    pub actual: u64,
    /// Length the header implies.
    pub expected: u64,
}

/// Open a compound file. A truncated package (at most a quarter missing) still opens:
/// its missing tail reads as zeros for the allocation tables and the directory, and a
/// stream reports an error only when a read reaches data that is not there.
pub fn open_compound(path: &Path) -> Result<(Compound, Option<Truncation>)> {
    let f = crate::random_access::open_file(path)?;
    open_compound_from(path, Arc::new(f))
}

/// [`open_compound`] on any input; `label` names it in errors.
pub fn open_compound_from(label: &Path, src: Shared) -> Result<(Compound, Option<Truncation>)> {
    let real_len = src.len().io_ctx("reading package size").at_path(label)?;
    let mut hdr = [0u8; 512];
    let mut trunc = None;
    let mut len = real_len;
    let got = read_full_at(&*src, &mut hdr, 0).io_ctx("reading package header").at_path(label)?;
    if got == 512 && hdr[..8] == [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] {
        let shift = u16::from_le_bytes([hdr[30], hdr[31]]);
        if shift == 9 || shift == 12 {
            let num_fat = u64::from(u32::from_le_bytes([hdr[44], hdr[45], hdr[46], hdr[47]]));
            let sector = 1u64 << shift;
            if real_len % sector != 0 {
                // Round up to whole sectors, and to what the FAT can address.
                let fat_entries = num_fat.saturating_mul(sector / 4);
                let rounded = real_len.div_ceil(sector) * sector;
                let by_fat = (fat_entries + 1).saturating_mul(sector);
                let want = rounded.max(by_fat.min(real_len + real_len / 4));
                if want > real_len && want - real_len <= real_len / 4 {
                    len = want;
                    trunc = Some(Truncation { actual: real_len, expected: want });
                }
            }
        }
    }
    let signed = got >= 8 && hdr[..8] == [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    let comp = Compound::open(src, real_len, len).map_err(|e| {
        // A compound file that ends early shows as sectors beyond the end, or (when the
        // missing tail is read as zeros) as a damaged directory: say which it is.
        let text = e.to_string();
        let short = trunc.is_some()
            || text.contains("beyond the file")
            || text.contains("shorter than a compound-file header")
            || text.contains("the file has 0 sectors");
        let msg = if signed && short {
            format!(
                "not a valid compound file (truncated: the file ends after {real_len} bytes, before the data its header describes; {text})"
            )
        } else {
            format!("not a valid compound file ({text})")
        };
        Error::new(ErrorKind::Format, msg).with_path(label)
    })?;
    Ok((comp, trunc))
}

const TABLE_PREFIX: char = '\u{4840}';

fn to_b64(ch: char) -> Option<u32> {
    match ch {
        '0'..='9' => Some(ch as u32 - '0' as u32),
        'A'..='Z' => Some(10 + ch as u32 - 'A' as u32),
        'a'..='z' => Some(36 + ch as u32 - 'a' as u32),
        '.' => Some(62),
        '_' => Some(63),
        _ => None,
    }
}

fn from_b64(v: u32) -> char {
    match v {
        0..=9 => char::from(b'0' + v as u8),
        10..=35 => char::from(b'A' + (v - 10) as u8),
        36..=61 => char::from(b'a' + (v - 36) as u8),
        62 => '.',
        _ => '_',
    }
}

/// Encode a stream name the way Windows Installer stores it in the compound file.
pub fn encode_name(name: &str, is_table: bool) -> String {
    let mut out = String::new();
    if is_table {
        out.push(TABLE_PREFIX);
    }
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if let Some(a) = to_b64(chars[i]) {
            if let Some(b) = chars.get(i + 1).and_then(|&c| to_b64(c)) {
                out.push(char::from_u32(0x3800 + (b << 6) + a).unwrap_or('?'));
                i += 2;
                continue;
            }
            out.push(char::from_u32(0x4800 + a).unwrap_or('?'));
        } else {
            out.push(chars[i]);
        }
        i += 1;
    }
    out
}

/// Decode a stored stream name; returns the name and whether it is a table.
pub fn decode_name(name: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chars = name.chars().peekable();
    let is_table = chars.peek() == Some(&TABLE_PREFIX);
    if is_table {
        chars.next();
    }
    for c in chars {
        let v = c as u32;
        if (0x3800..0x4800).contains(&v) {
            let v = v - 0x3800;
            out.push(from_b64(v & 0x3f));
            out.push(from_b64(v >> 6));
        } else if (0x4800..0x4840).contains(&v) {
            out.push(from_b64(v - 0x4800));
        } else {
            out.push(c);
        }
    }
    (out, is_table)
}

/// A stream of a package, readable by several readers at once (so folders decode in
/// parallel). The stream's chain is followed once; every later reader is a copy of the
/// first, reading on the same handle at its own position.
pub struct StreamSource {
    package: PathBuf,
    /// The stream's decoded name.
    name: String,
    /// The stream's path inside the compound file.
    cfb_path: String,
    compound: Arc<Compound>,
    opened: std::sync::OnceLock<super::compound::StreamReader>,
}

impl StreamSource {
    /// The stream `name` (decoded form, e.g. `cab1.cab`) of the package `compound`
    /// (called `package` in messages), stored at `cfb_path`.
    pub fn new(compound: Arc<Compound>, package: &Path, name: &str, cfb_path: &str) -> Self {
        StreamSource {
            package: package.to_path_buf(),
            name: name.to_string(),
            cfb_path: cfb_path.to_string(),
            compound,
            opened: std::sync::OnceLock::new(),
        }
    }
}

impl CabSource for StreamSource {
    fn display(&self) -> String {
        format!("{}:#{}", self.package.display(), self.name)
    }
    fn cab_name(&self) -> String {
        self.name.clone()
    }
    fn open(&self) -> Result<Box<dyn ReadSeek>> {
        if let Some(s) = self.opened.get() {
            return Ok(Box::new(s.clone()));
        }
        let stream = self.compound.open_stream(&self.cfb_path).map_err(|e| {
            Error::new(ErrorKind::Missing, format!("stream {:?}: {e}", self.name))
                .with_path(&self.package)
                .at(crate::error::Location::Stream { name: self.name.clone() })
        })?;
        Ok(Box::new(self.opened.get_or_init(|| stream).clone()))
    }
}

/// List the streams at the root of a compound file: (decoded name, stored path, length, is table).
pub fn root_streams(comp: &Compound) -> Vec<(String, String, u64, bool)> {
    let mut out = Vec::new();
    if let Ok(entries) = comp.children("/") {
        for e in entries {
            if !e.storage {
                let (name, table) = decode_name(&e.name);
                out.push((name, e.path, e.len, table));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn stream_names_round_trip() {
        for n in ["File", "_StringPool", "cab1.cab", "Disk1.CAB", "a-b c", "x"] {
            let e = encode_name(n, false);
            assert_eq!(decode_name(&e), (n.to_string(), false));
        }
        assert_eq!(decode_name(&encode_name("Media", true)), ("Media".to_string(), true));
    }
}
