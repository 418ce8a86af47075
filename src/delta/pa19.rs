//! PA19 (PatchAPI) delta patches: old-file matching, LZX DELTA decoding, CRC checks.

use super::header::{opt, parse};
use super::lzx;
use crate::error::{Error, ErrorKind, Result};

fn zero(data: &mut [u8], off: u64, len: u64) {
    let s = (off as usize).min(data.len());
    let e = (off.saturating_add(len) as usize).min(data.len());
    data[s..e].fill(0);
}

/// Apply `patch` to `old` (`None` = no old file). Returns the new file.
pub fn apply(patch: &[u8], old: Option<&[u8]>) -> Result<Vec<u8>> {
    let h = parse(patch)?;
    if !h.crc_ok {
        return Err(Error::format("PA19 patch is corrupt (its CRC does not hold)"));
    }
    let old = old.unwrap_or(&[]);
    let mut chosen = None;
    for (i, f) in h.old_files.iter().enumerate() {
        if f.size != old.len() as u64 {
            continue;
        }
        let mut work = old.to_vec();
        if super::pe::is_pe32(old) {
            super::pe::normalise(&mut work, &h);
        }
        for ig in &f.ignore {
            zero(&mut work, ig.offset, ig.length);
        }
        for rt in &f.retain {
            zero(&mut work, rt.old_offset, rt.length);
        }
        if crc32fast::hash(&work) == f.crc32 {
            chosen = Some((i, work));
            break;
        }
    }
    let Some((i, mut work)) = chosen else {
        return Err(Error::new(
            ErrorKind::Usage,
            "wrong old file: it matches none of the files this patch was made from",
        ));
    };
    let f = &h.old_files[i];
    let mut new = if f.stream_size == 0 {
        if h.new_size != old.len() as u64 {
            return Err(Error::format("PA19 patch has no data but the sizes differ"));
        }
        work.clone()
    } else {
        let s = patch.get(f.stream_offset..f.stream_offset + f.stream_size as usize).ok_or_else(|| {
            Error::new(ErrorKind::Missing, "the patch holds only its header (the LZX data is not there)")
        })?;
        let large = h.options & opt::USE_LZX_LARGE != 0;
        std::mem::take(&mut work);
        let mut reference = old.to_vec();
        if super::pe::is_pe32(old) {
            super::pe::normalise(&mut reference, &h);
            if !f.rva_pairs.is_empty() {
                super::pe::transform(&mut reference, &h, &super::pe::RvaMap(f.rva_pairs.clone()))?;
            }
        }
        for ig in &f.ignore {
            zero(&mut reference, ig.offset, ig.length);
        }
        for rt in &f.retain {
            zero(&mut reference, rt.old_offset, rt.length);
        }
        lzx::decode(s, &reference, h.new_size as usize, large)?
    };
    for rt in &f.retain {
        zero(&mut new, rt.new_offset, rt.length);
    }
    if crc32fast::hash(&new) != h.new_crc32 {
        return Err(Error::format("PA19 output does not match the new file's CRC (corrupt patch or wrong old file)"));
    }
    for rt in &f.retain {
        let (s, e) = (rt.old_offset as usize, rt.old_offset.saturating_add(rt.length) as usize);
        let (ns, ne) = (rt.new_offset as usize, rt.new_offset.saturating_add(rt.length) as usize);
        if e <= old.len() && ne <= new.len() && e - s == ne - ns {
            new[ns..ne].copy_from_slice(&old[s..e]);
        }
    }
    Ok(new)
}
