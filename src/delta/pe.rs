//! 32-bit PE processing for PA19: normalisation of the old image and the patch transforms
//! driven by the RVA map ("rift table"), as described in the format notes (§7.6).

use super::header::{opt, Header};
use crate::error::{Error, Result};

struct Section {
    va: u32,
    vsize: u32,
    raw: u32,
    raw_size: u32,
    chars: u32,
}

struct Pe {
    nt: usize,
    image_base: u32,
    size_of_image: u32,
    size_of_headers: u32,
    dirs: Vec<(u32, u32)>,
    sections: Vec<Section>,
}

fn rd32(d: &[u8], o: usize) -> Option<u32> {
    d.get(o..o + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn rd16(d: &[u8], o: usize) -> Option<u16> {
    d.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}
fn wr32(d: &mut [u8], o: usize, v: u32) {
    if let Some(s) = d.get_mut(o..o + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

impl Pe {
    fn parse(d: &[u8]) -> Option<Pe> {
        let nt = rd32(d, 0x3c)? as usize;
        if d.get(nt..nt + 4)? != b"PE\0\0" || rd16(d, nt + 24)? != 0x10B {
            return None;
        }
        let nsec = usize::from(rd16(d, nt + 6)?);
        let opt_size = usize::from(rd16(d, nt + 20)?);
        let o = nt + 24;
        let ndirs = (rd32(d, o + 92)? as usize).min(16);
        let dirs =
            (0..ndirs).map(|i| (rd32(d, o + 96 + i * 8).unwrap_or(0), rd32(d, o + 100 + i * 8).unwrap_or(0))).collect();
        let so = o + opt_size;
        let sections = (0..nsec.min(96))
            .filter_map(|i| {
                let s = so + i * 40;
                Some(Section {
                    va: rd32(d, s + 12)?,
                    vsize: rd32(d, s + 8)?,
                    raw: rd32(d, s + 20)?,
                    raw_size: rd32(d, s + 16)?,
                    chars: rd32(d, s + 36)?,
                })
            })
            .collect();
        Some(Pe {
            nt,
            image_base: rd32(d, o + 28)?,
            size_of_image: rd32(d, o + 56)?,
            size_of_headers: rd32(d, o + 60)?,
            dirs,
            sections,
        })
    }

    fn off(&self, rva: u32) -> Option<usize> {
        if rva < self.size_of_headers {
            return Some(rva as usize);
        }
        self.sections
            .iter()
            .find(|s| rva >= s.va && rva < s.va.saturating_add(s.raw_size))
            .map(|s| (s.raw + (rva - s.va)) as usize)
    }
}

/// Is `d` a PE32 image that PA19 processes?
pub fn is_pe32(d: &[u8]) -> bool {
    d.len() >= 0x200 && &d[..2] == b"MZ" && Pe::parse(d).is_some()
}

fn pe_checksum(d: &[u8], checksum_off: usize) -> u32 {
    let mut sum: u64 = 0;
    let mut i = 0;
    while i < d.len() {
        if i == checksum_off {
            i += 4;
            continue;
        }
        let w = if i + 1 < d.len() { u64::from(u16::from_le_bytes([d[i], d[i + 1]])) } else { u64::from(d[i]) };
        sum += w;
        sum = (sum & 0xFFFF) + (sum >> 16);
        i += 2;
    }
    sum = (sum & 0xFFFF) + (sum >> 16);
    (sum as u32).wrapping_add(d.len() as u32)
}

/// Walk the import descriptors (at most 4096) until the all-zero one, calling `f` with each
/// descriptor's offset and its (OriginalFirstThunk, TimeDateStamp, Name, FirstThunk). Each
/// descriptor is read when it is reached, so edits `f` makes further on are seen.
fn for_each_import(pe: &Pe, d: &mut [u8], mut f: impl FnMut(&mut [u8], usize, [u32; 4])) {
    let Some(&(rva, _)) = pe.dirs.get(1).filter(|(r, _)| *r != 0) else { return };
    let Some(mut o) = pe.off(rva) else { return };
    for _ in 0..4096 {
        let desc = [0, 4, 12, 16].map(|k| rd32(d, o + k).unwrap_or(0));
        if desc[0] == 0 && desc[2] == 0 && desc[3] == 0 {
            break;
        }
        f(d, o, desc);
        o += 20;
    }
}

/// Normalise an old image in place (rebase time stamp, unbind, lock prefixes, checksum).
pub fn normalise(d: &mut [u8], h: &Header) {
    let Some(pe) = Pe::parse(d) else { return };
    let mut changed = false;
    if h.options & opt::NO_REBASE == 0 {
        if let Some(t) = h.new_image_time.filter(|t| *t != 0) {
            if rd32(d, pe.nt + 8) != Some(t) {
                wr32(d, pe.nt + 8, t);
                changed = true;
            }
        }
    }
    if h.options & opt::NO_BINDFIX == 0 {
        if let Some(&(rva, size)) = pe.dirs.get(11) {
            if rva != 0 || size != 0 {
                if let Some(o) = pe.off(rva) {
                    let e = (o + size as usize).min(d.len());
                    d[o.min(e)..e].fill(0);
                }
                wr32(d, pe.nt + 24 + 96 + 11 * 8, 0);
                wr32(d, pe.nt + 24 + 100 + 11 * 8, 0);
                changed = true;
            }
        }
        for_each_import(&pe, d, |d, o, [oft, ts, _, ft]| {
            if ts != 0 {
                wr32(d, o + 4, 0);
                wr32(d, o + 8, 0);
                if let (Some(mut a), Some(mut b)) = (pe.off(oft), pe.off(ft)) {
                    for _ in 0..65536 {
                        let v = rd32(d, a).unwrap_or(0);
                        wr32(d, b, v);
                        if v == 0 {
                            break;
                        }
                        a += 4;
                        b += 4;
                    }
                }
                changed = true;
            }
        });
    }
    if h.options & opt::NO_LOCKFIX == 0 {
        if let Some(&(rva, _)) = pe.dirs.get(10) {
            if let Some(o) = pe.off(rva).filter(|_| rva != 0) {
                let table = rd32(d, o + 0x20).unwrap_or(0);
                if table != 0 {
                    if let Some(mut t) = pe.off(table.wrapping_sub(pe.image_base)) {
                        for _ in 0..65536 {
                            let va = rd32(d, t).unwrap_or(0);
                            if va == 0 {
                                break;
                            }
                            if let Some(p) = pe.off(va.wrapping_sub(pe.image_base)) {
                                if d.get(p).is_some_and(|b| *b != 0xF0) {
                                    d[p] = 0xF0;
                                    changed = true;
                                }
                            }
                            t += 4;
                        }
                    }
                }
            }
        }
    }
    let cks = pe.nt + 24 + 64;
    if h.options & opt::NO_CHECKSUM != 0 {
        wr32(d, cks, 0);
    } else if changed {
        let c = pe_checksum(d, cks);
        wr32(d, cks, c);
    }
}

/// The RVA map: sorted (old, new) pairs.
pub struct RvaMap(pub Vec<(u32, u32)>);

impl RvaMap {
    fn map(&self, x: u32) -> u32 {
        match self.0.partition_point(|(o, _)| *o <= x) {
            0 => x,
            i => {
                let (o, n) = self.0[i - 1];
                x.wrapping_add(n.wrapping_sub(o))
            }
        }
    }
}

/// Apply the patch transforms (old order; relative calls skipped when flagged).
pub fn transform(d: &mut [u8], h: &Header, map: &RvaMap) -> Result<()> {
    let pe = Pe::parse(d).ok_or_else(|| Error::format("not a PE32 image"))?;
    let mut hint = vec![0u8; d.len()];
    // mark
    for s in &pe.sections {
        if s.chars & 0x2000_0000 == 0 {
            let a = (s.raw as usize).min(d.len());
            let b = (s.raw as usize + s.raw_size as usize).min(d.len());
            hint[a..b].fill(0x01);
        }
    }
    let hdr = (pe.size_of_headers as usize).min(d.len());
    hint[..hdr].fill(0x03);
    for (i, &(rva, size)) in pe.dirs.iter().enumerate() {
        if rva == 0 || size == 0 {
            continue;
        }
        let o = if i == 4 { Some(rva as usize) } else { pe.off(rva) };
        if let Some(o) = o {
            let e = (o + size as usize).min(d.len());
            hint[o.min(e)..e].fill(0x03);
        }
    }
    let extra = h.extra_flags;
    // relocations
    if extra & 0x01 == 0 {
        if let Some(&(rva, size)) = pe.dirs.get(5).filter(|(r, s)| *r != 0 && *s != 0) {
            if let Some(base) = pe.off(rva) {
                let mut entries: Vec<(u32, u16)> = Vec::new();
                let mut p = base;
                let end = base + size as usize;
                while p + 8 <= end {
                    let va = rd32(d, p).unwrap_or(0);
                    let bs = rd32(d, p + 4).unwrap_or(0) as usize;
                    if bs < 8 {
                        break;
                    }
                    let n = (bs - 8) / 2;
                    let mut k = 0;
                    while k < n {
                        let e = rd16(d, p + 8 + k * 2).unwrap_or(0);
                        k += 1;
                        let typ = e >> 12;
                        let r = va.wrapping_add(u32::from(e & 0xFFF));
                        if typ == 0 {
                            continue;
                        }
                        if typ == 4 {
                            k += 1;
                        }
                        if let Some(fo) = pe.off(r) {
                            let w = if typ == 3 { 4 } else { 2 };
                            for b in hint.iter_mut().skip(fo).take(w) {
                                *b |= 1;
                            }
                            if typ == 3 {
                                if let Some(v) = rd32(d, fo) {
                                    let t = v.wrapping_sub(pe.image_base);
                                    wr32(d, fo, map.map(t).wrapping_add(pe.image_base));
                                }
                            }
                        }
                        entries.push((map.map(r), typ));
                    }
                    p += bs;
                }
                // Rewrite the directory, sorted by new RVA, one block per page.
                entries.sort_by_key(|e| e.0);
                let limit = pe
                    .sections
                    .iter()
                    .find(|s| rva >= s.va && rva < s.va + s.raw_size.max(s.vsize))
                    .map(|s| (s.raw + s.raw_size) as usize)
                    .unwrap_or(end)
                    .min(d.len());
                let mut out = Vec::new();
                let mut i = 0;
                while i < entries.len() {
                    let page = entries[i].0 & !0xFFF;
                    let mut block: Vec<u16> = Vec::new();
                    while i < entries.len() && entries[i].0 & !0xFFF == page {
                        block.push((entries[i].1 << 12) | (entries[i].0 & 0xFFF) as u16);
                        i += 1;
                    }
                    if block.len() % 2 == 1 {
                        block.push(0);
                    }
                    out.extend_from_slice(&page.to_le_bytes());
                    out.extend_from_slice(&((8 + 2 * block.len()) as u32).to_le_bytes());
                    for e in block {
                        out.extend_from_slice(&e.to_le_bytes());
                    }
                }
                if base < d.len() {
                    let n = out.len().min(limit.saturating_sub(base)).min(d.len() - base);
                    d[base..base + n].copy_from_slice(&out[..n]);
                }
            }
        }
    }
    // imports
    if extra & 0x02 == 0 {
        for_each_import(&pe, d, |d, o, [oft, ts, name, ft]| {
            if ts == 0 {
                let mut arrays = vec![oft];
                if ft != oft {
                    arrays.push(ft);
                }
                for a in arrays.into_iter().filter(|a| *a != 0) {
                    if let Some(mut t) = pe.off(a) {
                        for _ in 0..65536 {
                            let v = rd32(d, t).unwrap_or(0);
                            if v == 0 {
                                break;
                            }
                            if v & 0x8000_0000 == 0 {
                                wr32(d, t, map.map(v));
                            }
                            t += 4;
                        }
                    }
                }
            }
            if oft != 0 {
                wr32(d, o, map.map(oft));
            }
            if name != 0 {
                wr32(d, o + 12, map.map(name));
            }
            if ft != 0 {
                wr32(d, o + 16, map.map(ft));
            }
        });
    }
    // exports
    if extra & 0x04 == 0 {
        if let Some(&(rva, _)) = pe.dirs.first().filter(|(r, _)| *r != 0) {
            if let Some(o) = pe.off(rva) {
                let nf = rd32(d, o + 20).unwrap_or(0).min(65536);
                let nn = rd32(d, o + 24).unwrap_or(0).min(65536);
                let (af, an, ao, nm) = (
                    rd32(d, o + 28).unwrap_or(0),
                    rd32(d, o + 32).unwrap_or(0),
                    rd32(d, o + 36).unwrap_or(0),
                    rd32(d, o + 12).unwrap_or(0),
                );
                for (arr, n) in [(af, nf), (an, nn)] {
                    if let Some(t) = pe.off(arr).filter(|_| arr != 0) {
                        for k in 0..n as usize {
                            if let Some(v) = rd32(d, t + k * 4).filter(|v| *v != 0) {
                                wr32(d, t + k * 4, map.map(v));
                            }
                        }
                    }
                }
                for (at, v) in [(12, nm), (28, af), (32, an), (36, ao)] {
                    if v != 0 {
                        wr32(d, o + at, map.map(v));
                    }
                }
            }
        }
    }
    // relative jumps
    if extra & 0x08 == 0 {
        for s in &pe.sections {
            if s.chars & 0x2000_0000 == 0 {
                continue;
            }
            let start = s.raw as usize;
            let len = s.vsize.min(s.raw_size) as usize;
            let stop = (start + len).saturating_sub(5).min(d.len().saturating_sub(6));
            let mut i = start;
            let clear =
                |hint: &[u8], a: usize, n: usize| hint.get(a..a + n).is_some_and(|h| h.iter().all(|b| b & 1 == 0));
            while i < stop {
                let (op_at, disp_at) = if d[i] == 0xE9 {
                    (i, i + 1)
                } else if d[i] == 0x0F && (0x80..=0x8F).contains(&d[i + 1]) && hint[i] & 1 == 0 {
                    (i + 1, i + 2)
                } else {
                    i += 1;
                    continue;
                };
                if !clear(&hint, op_at, 5) {
                    i += 1;
                    continue;
                }
                let disp = rd32(d, disp_at).unwrap_or(0) as i32;
                if !(-128..=127).contains(&disp) {
                    let next = s.va.wrapping_add((disp_at + 4 - start) as u32);
                    let target = next.wrapping_add(disp as u32);
                    if target < pe.size_of_image {
                        if let Some(tfo) = pe.off(target) {
                            if hint.get(tfo).is_some_and(|b| b & 1 == 0) {
                                let new = map.map(target).wrapping_sub(map.map(next)) as i32;
                                if (-128..=127).contains(&new) {
                                    if op_at == i {
                                        d[i] = 0xEB;
                                    } else {
                                        d[op_at] = 0x70 | (d[op_at] & 0x0F);
                                    }
                                    d[op_at + 1] = new as i8 as u8;
                                } else if new != disp {
                                    wr32(d, disp_at, new as u32);
                                }
                            }
                        }
                    }
                }
                i = disp_at + 4;
            }
        }
    }
    // resources (the old-compatible walk)
    if extra & 0x20 == 0 {
        if let Some(&(rva, size)) = pe.dirs.get(2).filter(|(r, _)| *r != 0) {
            if let Some(base) = pe.off(rva) {
                let res_time = if h.options & opt::NO_RESTIMEFIX != 0 { 0 } else { h.new_res_time.unwrap_or(0) };
                let rebase = |x: u32| -> u32 {
                    let hi = x & 0x8000_0000;
                    let lo = x & 0x7FFF_FFFF;
                    hi | (map.map(lo.wrapping_add(rva)).wrapping_sub(map.map(rva)) & 0x7FFF_FFFF)
                };
                let mut budget: u64 = 0;
                let mut stack = vec![0u32];
                let mut seen = std::collections::HashSet::new();
                while let Some(dir) = stack.pop() {
                    if !seen.insert(dir) {
                        continue;
                    }
                    budget += 16;
                    if budget > u64::from(size) {
                        break;
                    }
                    let o = base + dir as usize;
                    wr32(d, o + 4, res_time);
                    let n = usize::from(rd16(d, o + 12).unwrap_or(0)) + usize::from(rd16(d, o + 14).unwrap_or(0));
                    let mut subdirs = Vec::new();
                    for k in 0..n {
                        budget += 8;
                        if budget > u64::from(size) {
                            break;
                        }
                        let e = o + 16 + k * 8;
                        let (name, data) = (rd32(d, e).unwrap_or(0), rd32(d, e + 4).unwrap_or(0));
                        if name & 0x8000_0000 != 0 {
                            wr32(d, e, rebase(name));
                        }
                        wr32(d, e + 4, rebase(data));
                        if data & 0x8000_0000 != 0 {
                            subdirs.push(data & 0x7FFF_FFFF);
                        } else {
                            let de = base + data as usize;
                            if let Some(r) = rd32(d, de) {
                                wr32(d, de, map.map(r));
                                budget += u64::from(rd32(d, de + 4).unwrap_or(0));
                            }
                        }
                    }
                    for sd in subdirs.into_iter().rev() {
                        stack.push(sd);
                    }
                }
            }
        }
    }
    Ok(())
}
