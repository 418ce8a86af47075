//! The PA19 header: options, the new file's size, time and CRC, and each old file with
//! its ignore and retain ranges, RVA map and stream.

use crate::error::{Error, ErrorKind, Result};

/// Option bits.
pub mod opt {
    /// LZX with a large window (32 MB).
    pub const USE_LZX_LARGE: u32 = 0x4;
    /// No bound-import fix-up.
    pub const NO_BINDFIX: u32 = 0x10000;
    /// No lock-prefix fix-up.
    pub const NO_LOCKFIX: u32 = 0x20000;
    /// No rebase.
    pub const NO_REBASE: u32 = 0x40000;
    /// No PE checksum fix-up.
    pub const NO_CHECKSUM: u32 = 0x200000;
    /// No resource timestamp fix-up.
    pub const NO_RESTIMEFIX: u32 = 0x400000;
    /// A timestamp is present (the bit is named NO_TIMESTAMP, inverted on decode).
    pub const TIMESTAMP: u32 = 0x800000;
    /// Interleaved streams.
    pub const INTERLEAVE_FILES: u32 = 0x40000000;
    /// The extra-flags dword follows.
    pub const EXTRA_FLAGS: u32 = 0x80000000;
}

/// A range of the old file ignored when matching.
#[derive(Debug, Clone, Copy, serde::Serialize, schemars::JsonSchema)]
pub struct Ignore {
    /// Offset.
    pub offset: u64,
    /// Length.
    pub length: u64,
}

/// A range copied from the old file into the new file unchanged.
#[derive(Debug, Clone, Copy, serde::Serialize, schemars::JsonSchema)]
pub struct Retain {
    /// Offset in the old file.
    pub old_offset: u64,
    /// Offset in the new file.
    pub new_offset: u64,
    /// Length.
    pub length: u64,
}

/// One old file a patch accepts.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct OldFile {
    /// Size.
    pub size: u64,
    /// CRC-32 after normalisation with ignore and retain ranges zeroed.
    pub crc32: u32,
    /// Ignore ranges.
    pub ignore: Vec<Ignore>,
    /// Retain ranges.
    pub retain: Vec<Retain>,
    /// RVA map (PE patch transforms) entries.
    pub rva_map: usize,
    /// The RVA map: (old RVA, new RVA), ascending.
    #[serde(skip)]
    pub rva_pairs: Vec<(u32, u32)>,
    /// Size of its LZX DELTA stream (0: the new file is the old file).
    pub stream_size: u64,
    /// Offset of that stream in the patch.
    #[serde(skip)]
    pub stream_offset: usize,
}

/// A parsed PA19 header.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Header {
    /// Option flags.
    pub options: u32,
    /// Extra flags.
    pub extra_flags: u32,
    /// New file time (Unix seconds), when present.
    pub new_file_time: Option<u32>,
    /// New image base (PE), when present.
    pub new_image_base: Option<u32>,
    /// New image time (PE).
    pub new_image_time: Option<u32>,
    /// New resource time (PE).
    pub new_res_time: Option<u32>,
    /// New file size.
    pub new_size: u64,
    /// New file CRC-32 (retain ranges zeroed).
    pub new_crc32: u32,
    /// Old files.
    pub old_files: Vec<OldFile>,
    /// Whether the whole-patch CRC holds.
    pub crc_ok: bool,
    /// Whether every stream is present (a header-only patch lacks them).
    pub complete: bool,
}

struct Rd<'a> {
    b: &'a [u8],
    p: usize,
}

impl Rd<'_> {
    fn u8(&mut self) -> Result<u8> {
        let v = *self.b.get(self.p).ok_or_else(|| Error::format("PA19 header truncated"))?;
        self.p += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from(self.u8()?) | (u16::from(self.u8()?) << 8))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from(self.u16()?) | (u32::from(self.u16()?) << 16))
    }
    fn uvli(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..9 {
            let b = self.u8()?;
            v |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 != 0 {
                return Ok(v);
            }
        }
        Err(Error::format("PA19 variable-length integer too long"))
    }
    fn svli(&mut self) -> Result<i64> {
        let b = self.u8()?;
        let neg = b & 0x40 != 0;
        let mut v: i64 = i64::from(b & 0x3F);
        if b & 0x80 == 0 {
            let mut shift = 6;
            loop {
                let b = self.u8()?;
                v |= i64::from(b & 0x7F) << shift;
                shift += 7;
                if b & 0x80 != 0 {
                    break;
                }
                if shift > 62 {
                    return Err(Error::format("PA19 variable-length integer too long"));
                }
            }
        }
        Ok(if neg { v.wrapping_neg() } else { v })
    }
}

fn add(a: u64, d: i64) -> Result<u64> {
    (a as i64)
        .checked_add(d)
        .filter(|v| *v >= 0)
        .map(|v| v as u64)
        .ok_or_else(|| Error::format("PA19 range out of bounds"))
}

/// Most bytes a new file may have.
pub const MAX_NEW: u64 = 1 << 31;

/// Parse a patch.
pub fn parse(p: &[u8]) -> Result<Header> {
    if p.len() < 8 || &p[..4] != b"PA19" {
        return Err(Error::format("not a PA19 patch (no PA19 signature)"));
    }
    let crc_ok = crc32fast::hash(p) == 0xFFFF_FFFF;
    let mut r = Rd { b: p, p: 4 };
    let options = r.u32()?;
    let extra_flags = if options & opt::EXTRA_FLAGS != 0 { r.u32()? } else { 0 };
    let new_file_time = if options & opt::TIMESTAMP != 0 { Some(r.u32()?) } else { None };
    let (mut new_image_base, mut new_image_time, mut new_res_time) = (None, None, None);
    if options & opt::NO_REBASE == 0 {
        new_image_base = Some(u32::from(r.u16()?) << 16);
        let t = match new_file_time {
            Some(ft) if ft != 0 => i64::from(ft).wrapping_sub(r.svli()?) as u32,
            _ => r.u32()?,
        };
        new_image_time = Some(t);
    }
    if options & opt::NO_RESTIMEFIX == 0 {
        let t = match new_image_time {
            Some(it) if it != 0 => i64::from(it).wrapping_sub(r.svli()?) as u32,
            _ => r.u32()?,
        };
        new_res_time = Some(t);
    }
    let new_size = r.uvli()?;
    if new_size > MAX_NEW {
        return Err(Error::new(ErrorKind::Limit, format!("PA19 new file of {new_size} bytes is over the 2 GiB limit")));
    }
    let new_crc32 = r.u32()?;
    if extra_flags & 0x10000 != 0 {
        r.u8()?;
    }
    let count = r.u8()?;
    let mut old_files = Vec::new();
    for _ in 0..count {
        let size = add(new_size, r.svli()?)?;
        let crc32 = r.u32()?;
        let n = r.u8()?;
        let mut ignore = Vec::new();
        let mut prev = 0u64;
        for _ in 0..n {
            let offset = add(prev, r.svli()?)?;
            let length = r.uvli()?;
            prev = offset.checked_add(length).ok_or_else(|| Error::format("PA19 range out of bounds"))?;
            ignore.push(Ignore { offset, length });
        }
        let n = r.u8()?;
        let mut retain = Vec::new();
        let mut prev = 0u64;
        for _ in 0..n {
            let old_offset = add(prev, r.svli()?)?;
            let new_offset = add(old_offset, r.svli()?)?;
            let length = r.uvli()?;
            prev = old_offset.checked_add(length).ok_or_else(|| Error::format("PA19 range out of bounds"))?;
            retain.push(Retain { old_offset, new_offset, length });
        }
        let rva_map = r.uvli()? as usize;
        if rva_map > 1 << 20 {
            return Err(Error::format("PA19 RVA map too large"));
        }
        let mut rva_pairs = Vec::with_capacity(rva_map.min(4096));
        let (mut o, mut n) = (0u64, 0i64);
        for _ in 0..rva_map {
            // Both columns are running sums: old RVAs of unsigned steps, new RVAs of
            // signed ones (the new RVA is not stored relative to the old one).
            o = o.wrapping_add(r.uvli()?);
            n = n.wrapping_add(r.svli()?);
            rva_pairs.push((o as u32, n as u32));
        }
        if options & opt::INTERLEAVE_FILES != 0 {
            return Err(Error::new(ErrorKind::Unsupported, "interleaved PA19 streams are not supported"));
        }
        let stream_size = r.uvli()?;
        old_files.push(OldFile { size, crc32, ignore, retain, rva_map, rva_pairs, stream_size, stream_offset: 0 });
    }
    let mut off = r.p;
    let mut complete = true;
    for f in &mut old_files {
        f.stream_offset = off;
        off = off.saturating_add(usize::try_from(f.stream_size).unwrap_or(usize::MAX));
        if off.saturating_add(4) > p.len() {
            complete = false;
        }
    }
    Ok(Header {
        options,
        extra_flags,
        new_file_time,
        new_image_base,
        new_image_time,
        new_res_time,
        new_size,
        new_crc32,
        old_files,
        crc_ok,
        complete,
    })
}
