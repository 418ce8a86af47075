//! Compound-file access: lenient opening of truncated packages, MSI stream-name
//! encoding, and package streams as cabinet sources.

use crate::cab::{CabSource, ReadSeek};
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A file that may be shorter than its compound-file header says: reads beyond the real
/// end return `fill` bytes, and its length is reported as the padded length, so the
/// `cfb` crate's size check passes and the intact streams stay readable. Which stream
/// bytes came from the padding is found by reading with two fill values (see
/// [`StreamSource`]).
pub struct Padded {
    inner: File,
    real_len: u64,
    len: u64,
    pos: u64,
    fill: u8,
    /// Read-ahead: the `cfb` crate reads one 512-byte sector at a time with a seek before
    /// each; serving those from a buffer saves two system calls per sector.
    buf: Vec<u8>,
    buf_start: u64,
}

const READ_AHEAD: usize = 256 * 1024;

impl Read for Padded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        if self.pos >= self.real_len {
            let n = ((self.len - self.pos).min(buf.len() as u64)) as usize;
            buf[..n].fill(self.fill);
            self.pos += n as u64;
            return Ok(n);
        }
        let in_buf = self.pos >= self.buf_start && self.pos < self.buf_start + self.buf.len() as u64;
        if !in_buf {
            if buf.len() >= READ_AHEAD {
                // Large reads bypass the buffer.
                self.inner.seek(SeekFrom::Start(self.pos))?;
                let max = (self.real_len - self.pos).min(buf.len() as u64) as usize;
                let n = self.inner.read(&mut buf[..max])?;
                self.pos += n as u64;
                return Ok(n);
            }
            self.inner.seek(SeekFrom::Start(self.pos))?;
            let want = (self.real_len - self.pos).min(READ_AHEAD as u64) as usize;
            self.buf.resize(want, 0);
            let mut got = 0;
            while got < want {
                match self.inner.read(&mut self.buf[got..])? {
                    0 => break,
                    k => got += k,
                }
            }
            self.buf.truncate(got);
            self.buf_start = self.pos;
            if got == 0 {
                return Ok(0);
            }
        }
        let off = (self.pos - self.buf_start) as usize;
        let n = (self.buf.len() - off).min(buf.len());
        buf[..n].copy_from_slice(&self.buf[off..off + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Padded {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.len as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before start"));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

/// How much of a package is missing, when it is truncated.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Truncation {
    /// Real file length.
    pub actual: u64,
    /// Length the header implies.
    pub expected: u64,
}

/// Open `path` as a reader for the `cfb` crate, padding a truncated file (at most a
/// quarter missing) so that what is there can still be read.
pub fn open_padded(path: &Path) -> Result<(Padded, Option<Truncation>)> {
    open_padded_with(path, 0)
}

/// [`open_padded`] with a chosen fill byte for the missing part.
pub fn open_padded_with(path: &Path, fill: u8) -> Result<(Padded, Option<Truncation>)> {
    let mut f = File::open(path).io_ctx("opening package").map_err(|e| e.with_path(path))?;
    let real_len = f.metadata().io_ctx("reading package size").map_err(|e| e.with_path(path))?.len();
    let mut hdr = [0u8; 512];
    let mut trunc = None;
    let mut len = real_len;
    if real_len >= 512 && f.read_exact(&mut hdr).is_ok() && hdr[..8] == [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
    {
        let shift = u16::from_le_bytes([hdr[30], hdr[31]]);
        if shift == 9 || shift == 12 {
            let num_fat = u64::from(u32::from_le_bytes([hdr[44], hdr[45], hdr[46], hdr[47]]));
            let sectors = real_len >> shift;
            if num_fat > sectors + 1 {
                return Err(Error::format(format!(
                    "not a valid compound file (header claims {num_fat} FAT sectors; the file has {sectors} sectors)"
                ))
                .with_path(path));
            }
            let sector = 1u64 << shift;
            if real_len % sector != 0 {
                // Round up to whole sectors, and to what the FAT can address.
                let num_fat = u64::from(u32::from_le_bytes([hdr[44], hdr[45], hdr[46], hdr[47]]));
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
    f.seek(SeekFrom::Start(0)).io_ctx("rewinding package").map_err(|e| e.with_path(path))?;
    Ok((Padded { inner: f, real_len, len, pos: 0, fill, buf: Vec::new(), buf_start: 0 }, trunc))
}

/// Open a compound file (lenient on truncation).
pub fn open_cfb(path: &Path) -> Result<(cfb::CompoundFile<Padded>, Option<Truncation>)> {
    open_cfb_with(path, 0)
}

/// [`open_cfb`] with a chosen fill byte for the missing part of a truncated file.
pub fn open_cfb_with(path: &Path, fill: u8) -> Result<(cfb::CompoundFile<Padded>, Option<Truncation>)> {
    let (p, t) = open_padded_with(path, fill)?;
    let comp = catch(|| cfb::CompoundFile::open(p))
        .map_err(|e| e.with_path(path))?
        .map_err(|e| Error::new(ErrorKind::Format, format!("not a valid compound file ({e})")).with_path(path))?;
    let entries = catch(|| comp.walk().take(MAX_ENTRIES + 1).count())?;
    if entries > MAX_ENTRIES {
        return Err(Error::new(
            ErrorKind::Format,
            format!("compound file holds more than {MAX_ENTRIES} directory entries (the limit)"),
        )
        .with_path(path));
    }
    Ok((comp, t))
}

/// The most directory entries (streams and storages) a compound file may hold. Installer
/// packages hold tens to a few thousand; this bound keeps every per-entry walk cheap.
pub const MAX_ENTRIES: usize = 16_384;

/// Run `f`, turning a panic inside a third-party crate into an error.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T> {
    crate::panic_guard::quietly(f)
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

/// A stream of a package, readable on its own handle (so folders decode in parallel).
pub struct StreamSource {
    package: PathBuf,
    /// The stream's decoded name.
    name: String,
    /// The stream's path inside the compound file.
    cfb_path: String,
    /// For a truncated package: how many leading bytes of the stream are really present.
    valid: std::sync::OnceLock<u64>,
}

impl StreamSource {
    /// The stream `name` (decoded form, e.g. `cab1.cab`) of `package`, stored at `cfb_path`.
    pub fn new(package: &Path, name: &str, cfb_path: &str) -> Self {
        StreamSource {
            package: package.to_path_buf(),
            name: name.to_string(),
            cfb_path: cfb_path.to_string(),
            valid: std::sync::OnceLock::new(),
        }
    }

    fn open_with(&self, fill: u8) -> Result<(OwnedStream, bool)> {
        let (mut comp, trunc) = open_cfb_with(&self.package, fill)?;
        let stream = catch(|| comp.open_stream(&self.cfb_path))?.map_err(|e| {
            Error::new(ErrorKind::Missing, format!("stream {:?}: {e}", self.name)).with_path(&self.package)
        })?;
        Ok((OwnedStream { stream, _comp: comp, valid: u64::MAX, pos: 0 }, trunc.is_some()))
    }

    /// The number of leading stream bytes present in a truncated package: the stream is
    /// read with two different fills for the missing part, and the first difference
    /// marks where real data ends.
    fn valid_len(&self) -> Result<u64> {
        if let Some(v) = self.valid.get() {
            return Ok(*v);
        }
        let (mut a, _) = self.open_with(0x00)?;
        let (mut b, _) = self.open_with(0xFF)?;
        let mut ba = vec![0u8; 1 << 16];
        let mut bb = vec![0u8; 1 << 16];
        let mut pos = 0u64;
        let valid = loop {
            let na = read_full(&mut a, &mut ba).io_ctx("reading stream")?;
            let nb = read_full(&mut b, &mut bb).io_ctx("reading stream")?;
            let n = na.min(nb);
            if let Some(i) = (0..n).find(|&i| ba[i] != bb[i]) {
                break pos + i as u64;
            }
            pos += n as u64;
            if n == 0 || na != nb {
                break pos;
            }
        };
        let _ = self.valid.set(valid);
        Ok(valid)
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

struct OwnedStream {
    stream: cfb::Stream<Padded>,
    _comp: cfb::CompoundFile<Padded>,
    /// Bytes past this offset lie beyond the end of a truncated package.
    valid: u64,
    pos: u64,
}
impl Read for OwnedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.valid && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream data lies past the end of the truncated package",
            ));
        }
        let max = (self.valid - self.pos).min(buf.len() as u64) as usize;
        let n = self.stream.read(&mut buf[..max])?;
        self.pos += n as u64;
        Ok(n)
    }
}
impl Seek for OwnedStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = self.stream.seek(pos)?;
        Ok(self.pos)
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
        let (mut s, truncated) = self.open_with(0)?;
        if truncated {
            s.valid = self.valid_len()?;
        }
        Ok(Box::new(s))
    }
}

/// List the streams at the root of a compound file: (decoded name, stored path, length, is table).
pub fn root_streams<F: Read + Seek>(comp: &cfb::CompoundFile<F>) -> Vec<(String, String, u64, bool)> {
    let mut out = Vec::new();
    if let Ok(entries) = comp.read_storage("/") {
        for e in entries {
            if e.is_stream() {
                let raw = e.name().to_string();
                let (name, table) = decode_name(&raw);
                out.push((name, format!("/{raw}"), e.len(), table));
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
