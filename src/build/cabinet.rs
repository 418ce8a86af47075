//! Cabinet writing.

#[cfg(feature = "testing")]
use crate::cab::block_checksum;
use crate::error::{Error, IoResultExt, Result};
use std::io::Cursor;

/// One file to put in a cabinet.
#[derive(Debug, Clone)]
pub struct CabInput {
    /// Name as stored (backslash separators).
    pub name: String,
    /// Contents.
    pub data: Vec<u8>,
    /// Timestamp: (year, month, day, hour, minute, second), taken as UTC.
    pub datetime: (i32, u8, u8, u8, u8, u8),
}

/// Cabinet compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CabCompression {
    /// Stored.
    None,
    /// MSZIP.
    MsZip,
}

fn to_primitive(dt: (i32, u8, u8, u8, u8, u8)) -> Result<time::PrimitiveDateTime> {
    let month = time::Month::try_from(dt.1).map_err(|e| Error::format(format!("bad month: {e}")))?;
    let date =
        time::Date::from_calendar_date(dt.0, month, dt.2).map_err(|e| Error::format(format!("bad date: {e}")))?;
    let t = time::Time::from_hms(dt.3, dt.4, dt.5).map_err(|e| Error::format(format!("bad time: {e}")))?;
    Ok(time::PrimitiveDateTime::new(date, t))
}

/// DOS date and time fields for a timestamp.
#[cfg(feature = "testing")]
pub fn dos_datetime(dt: (i32, u8, u8, u8, u8, u8)) -> (u16, u16) {
    let y = (dt.0 - 1980).clamp(0, 127) as u16;
    let date = (y << 9) | (u16::from(dt.1) << 5) | u16::from(dt.2);
    let time = (u16::from(dt.3) << 11) | (u16::from(dt.4) << 5) | u16::from(dt.5 / 2);
    (date, time)
}

/// Write a cabinet with the `cab` crate: one folder per entry of `folders`.
pub fn write_cab(folders: &[Vec<CabInput>], compression: CabCompression) -> Result<Vec<u8>> {
    let mut b = cab::CabinetBuilder::new();
    for files in folders {
        let ct = match compression {
            CabCompression::None => cab::CompressionType::None,
            CabCompression::MsZip => cab::CompressionType::MsZip,
        };
        let folder = b.add_folder(ct);
        for f in files {
            let fb = folder.add_file(f.name.clone());
            fb.set_datetime(to_primitive(f.datetime)?);
            fb.set_is_archive(true);
        }
    }
    let mut w = b.build(Cursor::new(Vec::new())).io_ctx("starting cabinet")?;
    let all: Vec<&CabInput> = folders.iter().flatten().collect();
    let mut i = 0;
    while let Some(mut fw) = w.next_file().io_ctx("writing cabinet")? {
        std::io::Write::write_all(&mut fw, &all[i].data).io_ctx("writing cabinet file")?;
        i += 1;
    }
    Ok(w.finish().io_ctx("finishing cabinet")?.into_inner())
}

/// Write one stored folder as a set of cabinets spanning several files. `split_at` gives
/// the amount of folder data (uncompressed = stored bytes) each cabinet but the last
/// holds; a split falling inside a data block splits that block across cabinets, as
/// real sets do. No crate writes cabinet sets, so this writer is ours; tests check its
/// output with cabextract where it is installed.
#[cfg(feature = "testing")]
pub fn write_spanned_stored(names: &[&str], files: &[CabInput], split_at: &[u64], set_id: u16) -> Result<Vec<Vec<u8>>> {
    const BLOCK: usize = 4096;
    let n = names.len();
    if n < 2 || split_at.len() != n - 1 {
        return Err(Error::format("a spanned set needs at least two names and n-1 split points"));
    }
    let data: Vec<u8> = files.iter().flat_map(|f| f.data.iter().copied()).collect();
    let mut offsets = Vec::new();
    let mut off = 0u64;
    for f in files {
        offsets.push(off);
        off += f.data.len() as u64;
    }
    // Cut the folder stream into blocks, then cut blocks at the split points.
    let mut bounds: Vec<u64> = vec![0];
    for s in split_at {
        if *s == 0 || *s >= data.len() as u64 || Some(s) <= bounds.last() {
            return Err(Error::format("split points must increase inside the data"));
        }
        bounds.push(*s);
    }
    bounds.push(data.len() as u64);
    // Blocks: (start, len) in folder space.
    let blocks: Vec<(u64, u64)> =
        (0..data.len()).step_by(BLOCK).map(|s| (s as u64, BLOCK.min(data.len() - s) as u64)).collect();
    let mut cabs = Vec::new();
    for ci in 0..n {
        let (lo, hi) = (bounds[ci], bounds[ci + 1]);
        // Data pieces of this cabinet: (piece bytes, cbUncomp)
        let mut pieces: Vec<(Vec<u8>, u16)> = Vec::new();
        for &(bs, bl) in &blocks {
            let be = bs + bl;
            if be <= lo || bs >= hi {
                continue;
            }
            let s = bs.max(lo);
            let e = be.min(hi);
            let bytes = data[s as usize..e as usize].to_vec();
            // The part that ends a block carries the block's full size; an earlier part 0.
            let unc = if e == be { bl as u16 } else { 0 };
            pieces.push((bytes, unc));
        }
        // Files: those starting in this cabinet, plus those continuing into it.
        let mut entries: Vec<(&CabInput, u64, u16)> = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            let fs = offsets[fi];
            let fe = fs + f.data.len() as u64;
            let starts_here = fs >= lo && fs < hi;
            let overlaps = fs < hi && fe > lo;
            let from_prev = fs < lo && overlaps;
            let to_next = fe > hi && overlaps;
            let ifold = match (from_prev, to_next) {
                (true, true) => 0xFFFF,
                (true, false) => 0xFFFD,
                (false, true) => 0xFFFE,
                (false, false) => 0,
            };
            if starts_here || from_prev {
                entries.push((f, fs, ifold));
            }
        }
        let prev = if ci > 0 { Some(names[ci - 1]) } else { None };
        let next = if ci + 1 < n { Some(names[ci + 1]) } else { None };
        let mut flags = 0u16;
        let mut names_block = Vec::new();
        if let Some(p) = prev {
            flags |= 1;
            names_block.extend_from_slice(p.as_bytes());
            names_block.push(0);
            names_block.extend_from_slice(b"Disk\0");
        }
        if let Some(nx) = next {
            flags |= 2;
            names_block.extend_from_slice(nx.as_bytes());
            names_block.push(0);
            names_block.extend_from_slice(b"Disk\0");
        }
        let header_len = 36 + names_block.len();
        let folder_len = 8;
        let files_len: usize = entries.iter().map(|(f, _, _)| 16 + f.name.len() + 1).sum();
        let data_off = header_len + folder_len + files_len;
        let data_len: usize = pieces.iter().map(|(b, _)| 8 + b.len()).sum();
        let total = data_off + data_len;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(b"MSCF");
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&((header_len + folder_len) as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&[3, 1]);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&set_id.to_le_bytes());
        out.extend_from_slice(&(ci as u16).to_le_bytes());
        out.extend_from_slice(&names_block);
        out.extend_from_slice(&(data_off as u32).to_le_bytes());
        out.extend_from_slice(&(pieces.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        for (f, fs, ifold) in &entries {
            let (d, t) = dos_datetime(f.datetime);
            out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(*fs as u32).to_le_bytes());
            out.extend_from_slice(&ifold.to_le_bytes());
            out.extend_from_slice(&d.to_le_bytes());
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&0x20u16.to_le_bytes());
            out.extend_from_slice(f.name.as_bytes());
            out.push(0);
        }
        for (bytes, unc) in &pieces {
            let cb = bytes.len() as u16;
            out.extend_from_slice(&block_checksum(bytes, cb, *unc).to_le_bytes());
            out.extend_from_slice(&cb.to_le_bytes());
            out.extend_from_slice(&unc.to_le_bytes());
            out.extend_from_slice(bytes);
        }
        debug_assert_eq!(out.len(), total);
        cabs.push(out);
    }
    Ok(cabs)
}
