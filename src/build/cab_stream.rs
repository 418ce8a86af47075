//! A cabinet written as its files arrive (ours): MSZIP, one folder, the entries declared
//! up front with their sizes, data compressed 32 KiB block by block and written at once.
//! Memory stays bounded whatever the payload: one batch of [`BATCH`] blocks in and out
//! (about 2 MiB), compressed in parallel (MSZIP blocks here never refer to the previous
//! block's history, so each is a deflate stream of its own). The folder's block count
//! and the cabinet's size are written back at the end, so the sink must seek.
//!
//! The `cab` crate writes cabinets too, but hands out one writer per file through a
//! borrow of itself, which a decoder delivering files through callbacks cannot hold;
//! this writer takes bytes for whichever file is current.

use crate::error::{Error, ErrorKind, Result};
use rayon::prelude::*;
use std::io::{Seek, SeekFrom, Write};

/// Uncompressed bytes per data block.
const BLOCK: usize = 32 * 1024;
/// Blocks compressed together (in parallel) before they are written.
const BATCH: usize = 32;
/// Most files in one cabinet (the CFHEADER count is 16 bits).
pub const MAX_FILES: usize = 65_535;
/// Most bytes in one cabinet's folder: 65,535 data blocks (the CFFOLDER count is 16 bits).
pub const MAX_BYTES: u64 = 65_535 * BLOCK as u64;

/// One file of the cabinet.
#[derive(Debug, Clone)]
pub struct CabEntry {
    /// Name as stored (a File key for installer cabinets).
    pub name: String,
    /// Exact size: the writer refuses more or fewer bytes.
    pub size: u64,
    /// DOS date and time fields (see [`dos_datetime`]).
    pub date_time: (u16, u16),
}

/// DOS date and time fields for a timestamp (year, month, day, hour, minute, second),
/// taken as UTC; years before 1980 become 1980.
pub fn dos_datetime(dt: (i32, u8, u8, u8, u8, u8)) -> (u16, u16) {
    let y = (dt.0 - 1980).clamp(0, 127) as u16;
    let date = (y << 9) | (u16::from(dt.1) << 5) | u16::from(dt.2);
    let time = (u16::from(dt.3) << 11) | (u16::from(dt.4) << 5) | u16::from(dt.5 / 2);
    (date, time)
}

/// DOS date and time fields of Unix seconds.
pub fn dos_datetime_unix(secs: i64) -> (u16, u16) {
    let s = crate::dates::unix_to_iso(secs.max(315_532_800));
    let n = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
    dos_datetime((n(0, 4) as i32, n(5, 7) as u8, n(8, 10) as u8, n(11, 13) as u8, n(14, 16) as u8, n(17, 19) as u8))
}

/// Split `entries` (in order) into groups that each fit one cabinet.
pub fn split(entries: &[CabEntry]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if i > start && (i - start >= MAX_FILES || bytes + e.size > MAX_BYTES) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += e.size;
    }
    if start < entries.len() || out.is_empty() {
        out.push(start..entries.len());
    }
    out
}

/// A cabinet being written into `W`.
pub struct CabWriter<W: Write + Seek> {
    w: W,
    /// Where the cabinet starts in `W`.
    base: u64,
    entries: Vec<CabEntry>,
    /// The entry bytes are going to, and how many it has had.
    current: usize,
    in_current: u64,
    /// Uncompressed blocks waiting to be compressed.
    pending: Vec<Vec<u8>>,
    block: Vec<u8>,
    blocks: u32,
    total: u64,
    level: i32,
}

fn io(e: std::io::Error) -> Error {
    Error::io(&e, "writing cabinet")
}

impl<W: Write + Seek> CabWriter<W> {
    /// Start a cabinet of `entries` (at most [`MAX_FILES`], at most [`MAX_BYTES`] in all)
    /// at the current position of `w`. `level` is the deflate level (1 to 12).
    pub fn new(mut w: W, entries: Vec<CabEntry>, level: i32) -> Result<CabWriter<W>> {
        let total: u64 = entries.iter().map(|e| e.size).sum();
        if entries.len() > MAX_FILES || total > MAX_BYTES {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("a cabinet holds at most {MAX_FILES} files and {MAX_BYTES} bytes"),
            ));
        }
        if entries.iter().any(|e| e.size > u64::from(u32::MAX) || e.name.len() > 255 || e.name.contains('\0')) {
            return Err(Error::format("a cabinet entry is larger than 4 GiB or has a bad name"));
        }
        let base = w.stream_position().map_err(io)?;
        let files_len: usize = entries.iter().map(|e| 16 + e.name.len() + 1).sum();
        let header_len = 36u32;
        let folder_at = header_len;
        let files_at = folder_at + 8;
        let data_at = files_at + files_len as u32;
        let mut h = Vec::with_capacity(data_at as usize);
        h.extend_from_slice(b"MSCF");
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // cbCabinet, written at the end
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&files_at.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&[3, 1]);
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // flags
        h.extend_from_slice(&0u16.to_le_bytes()); // set id
        h.extend_from_slice(&0u16.to_le_bytes()); // index in set
        h.extend_from_slice(&data_at.to_le_bytes()); // CFFOLDER.coffCabStart
        h.extend_from_slice(&0u16.to_le_bytes()); // cCFData, written at the end
        h.extend_from_slice(&1u16.to_le_bytes()); // MSZIP
        let mut off = 0u64;
        for e in &entries {
            h.extend_from_slice(&(e.size as u32).to_le_bytes());
            h.extend_from_slice(&(off as u32).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&e.date_time.0.to_le_bytes());
            h.extend_from_slice(&e.date_time.1.to_le_bytes());
            h.extend_from_slice(&0x20u16.to_le_bytes());
            h.extend_from_slice(e.name.as_bytes());
            h.push(0);
            off += e.size;
        }
        w.write_all(&h).map_err(io)?;
        let mut cw = CabWriter {
            w,
            base,
            entries,
            current: 0,
            in_current: 0,
            pending: Vec::new(),
            block: Vec::with_capacity(BLOCK),
            blocks: 0,
            total,
            level: level.clamp(1, 12),
        };
        cw.skip_empty();
        Ok(cw)
    }

    fn skip_empty(&mut self) {
        while self.current < self.entries.len() && self.entries[self.current].size == self.in_current {
            self.current += 1;
            self.in_current = 0;
        }
    }

    /// The name of the entry the next bytes belong to (`None` once every entry is full).
    pub fn current(&self) -> Option<&str> {
        self.entries.get(self.current).map(|e| e.name.as_str())
    }

    /// Bytes of the current entry (and, past its end, of the ones after it).
    pub fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let Some(e) = self.entries.get(self.current) else {
                return Err(Error::format("more bytes than the cabinet's entries declare"));
            };
            let room = (e.size - self.in_current).min(data.len() as u64) as usize;
            let (now, rest) = data.split_at(room);
            let mut now = now;
            while !now.is_empty() {
                let n = (BLOCK - self.block.len()).min(now.len());
                self.block.extend_from_slice(&now[..n]);
                now = &now[n..];
                if self.block.len() == BLOCK {
                    let full = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
                    self.pending.push(full);
                    if self.pending.len() == BATCH {
                        self.flush_pending()?;
                    }
                }
            }
            self.in_current += room as u64;
            data = rest;
            self.skip_empty();
        }
        Ok(())
    }

    /// Whether the entry named `name` is complete (every declared byte written).
    pub fn entry_done(&self, name: &str) -> bool {
        match self.entries.iter().position(|e| e.name == name) {
            Some(i) => i < self.current,
            None => false,
        }
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let level = self.level;
        let compressed: Vec<Result<Vec<u8>>> = self
            .pending
            .par_iter()
            .map_init(
                || Compressor::new(level),
                |c, b| c.as_mut().map_err(|e| e.clone()).and_then(|c| compress_block(c, b)),
            )
            .collect();
        for (raw, c) in self.pending.iter().zip(compressed) {
            let c = c?;
            let mut hdr = [0u8; 8];
            let cb = c.len() as u16;
            let unc = raw.len() as u16;
            hdr[0..4].copy_from_slice(&crate::cab::block_checksum(&c, cb, unc).to_le_bytes());
            hdr[4..6].copy_from_slice(&cb.to_le_bytes());
            hdr[6..8].copy_from_slice(&unc.to_le_bytes());
            self.w.write_all(&hdr).map_err(io)?;
            self.w.write_all(&c).map_err(io)?;
            self.blocks += 1;
        }
        self.pending.clear();
        Ok(())
    }

    /// Write what is left, the block count and the size; returns the sink. Every entry
    /// must be complete.
    pub fn finish(mut self) -> Result<W> {
        if self.current < self.entries.len() {
            let e = &self.entries[self.current];
            return Err(Error::format(format!(
                "cabinet entry {} got {} of its {} bytes",
                e.name, self.in_current, e.size
            )));
        }
        if !self.block.is_empty() {
            let last = std::mem::take(&mut self.block);
            self.pending.push(last);
        }
        self.flush_pending()?;
        if self.blocks > 0xFFFF {
            return Err(Error::new(ErrorKind::Limit, "more than 65,535 data blocks in one cabinet folder"));
        }
        let end = self.w.stream_position().map_err(io)?;
        let size = end - self.base;
        if size > u64::from(u32::MAX) {
            return Err(Error::new(ErrorKind::Limit, "cabinet larger than 4 GiB"));
        }
        self.w.seek(SeekFrom::Start(self.base + 8)).map_err(io)?;
        self.w.write_all(&(size as u32).to_le_bytes()).map_err(io)?;
        self.w.seek(SeekFrom::Start(self.base + 36 + 4)).map_err(io)?;
        self.w.write_all(&(self.blocks as u16).to_le_bytes()).map_err(io)?;
        self.w.seek(SeekFrom::Start(end)).map_err(io)?;
        self.w.flush().map_err(io)?;
        let _ = self.total;
        Ok(self.w)
    }
}

struct Compressor;

impl Compressor {
    #[allow(clippy::new_ret_no_self)]
    fn new(level: i32) -> Result<libdeflater::Compressor> {
        let lvl = libdeflater::CompressionLvl::new(level).map_err(|_| Error::format("bad deflate level"))?;
        Ok(libdeflater::Compressor::new(lvl))
    }
}

/// One MSZIP block: `CK` and a raw deflate stream of `raw` (at most 32 KiB), which a
/// stored block keeps under the 32 KiB + 12 bytes a CFDATA block may hold.
fn compress_block(c: &mut libdeflater::Compressor, raw: &[u8]) -> Result<Vec<u8>> {
    let bound = c.deflate_compress_bound(raw.len());
    let mut out = vec![0u8; 2 + bound];
    out[0] = b'C';
    out[1] = b'K';
    let n = c.deflate_compress(raw, &mut out[2..]).map_err(|e| Error::format(format!("deflate: {e:?}")))?;
    out.truncate(2 + n);
    if out.len() > BLOCK + 12 {
        // Never with libdeflate's stored fallback, but the format's limit is checked.
        return Err(Error::format("a compressed block is larger than MSZIP allows"));
    }
    Ok(out)
}

/// What `data` costs in an MSZIP cabinet written at `level`: its 32 KiB blocks each
/// compressed on its own, plus the 8-byte CFDATA header of each (the bytes a patch pays
/// for a file, not counting its CFFILE entry). Blocks are compressed in parallel.
pub fn mszip_size(data: &[u8], level: i32) -> Result<u64> {
    let sizes: Vec<Result<u64>> = data
        .par_chunks(BLOCK)
        .map_init(
            || Compressor::new(level.clamp(1, 12)),
            |c, b| {
                let c = c.as_mut().map_err(|e| e.clone())?;
                Ok(compress_block(c, b)?.len() as u64 + 8)
            },
        )
        .collect();
    sizes.into_iter().sum()
}

/// Write a whole cabinet of `(entry, bytes)` into memory (small cabinets, tests).
#[cfg(test)]
fn cabinet_bytes(files: &[(CabEntry, &[u8])]) -> Result<Vec<u8>> {
    let entries = files.iter().map(|(e, _)| e.clone()).collect();
    let mut w = CabWriter::new(std::io::Cursor::new(Vec::new()), entries, 6)?;
    for (_, d) in files {
        w.write(d)?;
    }
    Ok(w.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cabinets_read_back_with_our_reader_and_the_cab_crate() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let files = [
            (CabEntry { name: "a".into(), size: 5, date_time: dos_datetime((2010, 1, 25, 6, 27, 0)) }, &b"hello"[..]),
            (CabEntry { name: "empty".into(), size: 0, date_time: (0x21, 0) }, &b""[..]),
            (CabEntry { name: "big".into(), size: big.len() as u64, date_time: (0x21, 0) }, &big[..]),
        ];
        let bytes = cabinet_bytes(&files).unwrap();
        let mut cab = cab::Cabinet::new(std::io::Cursor::new(bytes)).unwrap();
        for (e, d) in &files {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut cab.read_file(&e.name).unwrap(), &mut v).unwrap();
            assert_eq!(&v[..], *d, "{}", e.name);
        }
        assert_eq!(split(&[]).len(), 1);
    }
}
