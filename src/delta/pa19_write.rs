//! PA19 patch writer: the container around [`super::lzx_encode`], the inverse of
//! [`super::pa19::apply`].
//!
//! For each old file the writer prepares the reference exactly as the applier will (the
//! same [`super::pe::normalise`] and [`super::pe::transform`] calls, then the ignore and
//! retain ranges zeroed), encodes the new file against it, and writes the header the
//! applier parses. Choices, and why:
//!
//! * **PE normalisation (32-bit images).** On by default when the new file and an old
//!   file are PE32 images: the options leave rebasing, unbinding and lock-prefix repair
//!   on, so the patch also applies to an old file that setup tools rebased, bound or
//!   whose lock prefixes a uniprocessor kernel smashed. Each step is switched off (its
//!   `NO_*` bit set) where our applier and the Windows one (as the format notes describe
//!   it) would not treat the old file alike: rebasing when an old image base differs from
//!   the new one (our applier does not apply relocations), unbinding when an import
//!   descriptor has a forwarder chain without a bind time or an `.idata` section is not
//!   writable, the lock-prefix fix when the table address lies below the image base. The
//!   new file is normalised with the same options (its own base and time, so for an image
//!   as the linker wrote it nothing changes); where that does change bytes, the patch
//!   produces the normalised file and [`CreateInfo`] says so. `normalize_new: false`
//!   keeps the new file's bytes instead.
//! * **64-bit images (PE32+) get no normalisation and no transforms.** PatchAPI applies
//!   them to PE32 images only (the format notes, §7.6: its normalisation and transforms
//!   check for the PE32 optional-header magic, and Wine's notes say mspatchc does no
//!   special processing of 64-bit images), so an applier would not undo anything we did;
//!   for them only E8 translation is tried.
//! * **Rift (RVA map) tables** are derived two ways and kept only when they make the
//!   patch smaller: from the section tables (each old section mapped to the new section
//!   of the same name), and from long LZ matches between the images (runs of equal bytes
//!   give old RVA → new RVA pairs; runs with the same shift are merged). They are written
//!   only for PE32 old files with a relocation directory (without one Windows scans the
//!   whole image for pointers, which our applier does not), with the extra flag
//!   `NO_RELCALLS` (our applier has no relative-call transform, as in the Windows-made
//!   vector) and never with `PE_RESOURCE_2`/`PE_IRELOC_2`.
//! * **E8 translation** is decided per old file by trying: when the new file is an x86 or
//!   x64 image both streams are built and the smaller kept; other data never uses it.
//! * **Window.** Old file (rounded up to 32 KiB) plus new file must fit the LZX window:
//!   8 MiB, or 32 MiB with `USE_LZX_LARGE`, which is set only when needed. Larger inputs
//!   are refused ([`ErrorKind::Limit`]); the interleaved form is not written.
//! * **Wine compatibility** (`wine_compatible`): Wine's applier (up to 9.x) parses
//!   neither the rebase nor the resource-time fields and does no PE processing, so this
//!   mode sets every `NO_*` bit and writes no rift table.
//!
//! The output is deterministic for the same inputs and options.

use super::header::{opt, Header, Ignore, Retain};
use super::lzx_encode::{self, Effort, LzxOptions, LzxStats};
use super::pe;
use crate::error::{Error, ErrorKind, Result};

const CHUNK: u64 = 32768;
const USE_LZX_A: u32 = 0x1;
/// Extra flag: no relative-call transform.
const NO_RELCALLS: u32 = 0x10;

/// How E8 call translation is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum E8Mode {
    /// Try both for x86/x64 images and keep the smaller; off for other data.
    #[default]
    Auto,
    /// Always on.
    On,
    /// Always off.
    Off,
}

/// How rift (RVA map) tables are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RiftMode {
    /// Derive from sections and from matches, keep whichever (or none) is smallest.
    #[default]
    Auto,
    /// Never write one.
    Off,
}

/// Ranges given for one old file.
#[derive(Debug, Clone, Default)]
pub struct OldRanges {
    /// Ranges of the old file to ignore (zeroed before its CRC and before encoding).
    pub ignore: Vec<Ignore>,
    /// Ranges copied from the old file into the new file. The new offsets and lengths
    /// must be the same for every old file.
    pub retain: Vec<Retain>,
}

/// What [`create`] is asked to do.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// New file time (Unix seconds) to record; `None` writes none.
    pub timestamp: Option<u32>,
    /// Normalise 32-bit PE images (see the module notes).
    pub pe_normalise: bool,
    /// Normalise the new file as the old one is (see the module notes).
    pub normalize_new: bool,
    /// Rift tables.
    pub rift: RiftMode,
    /// E8 translation.
    pub e8: E8Mode,
    /// Encoder effort.
    pub effort: Effort,
    /// Write only what Wine's applier understands.
    pub wine_compatible: bool,
    /// Ranges per old file (by index; missing entries have none).
    pub ranges: Vec<OldRanges>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            timestamp: None,
            pe_normalise: true,
            normalize_new: true,
            rift: RiftMode::Auto,
            e8: E8Mode::Auto,
            effort: Effort::Normal,
            wine_compatible: false,
            ranges: Vec::new(),
        }
    }
}

/// One encoding tried for an old file.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Trial {
    /// Rift source: "none", "sections" or "matches".
    pub rift: &'static str,
    /// Rift entries.
    pub rift_entries: usize,
    /// E8 translation.
    pub e8: bool,
    /// Stream bytes.
    pub stream_size: u64,
}

/// What was written for one old file.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct OldInfo {
    /// Size.
    pub size: u64,
    /// CRC-32 written (normalised, ranges zeroed).
    pub crc32: u32,
    /// Whether it is a PE32 image.
    pub pe32: bool,
    /// Whether normalisation changed bytes of it.
    pub normalisation_changed: bool,
    /// Ignore ranges.
    pub ignore_ranges: usize,
    /// Retain ranges.
    pub retain_ranges: usize,
    /// Rift source chosen: "none", "sections" or "matches".
    pub rift: &'static str,
    /// Rift entries written.
    pub rift_entries: usize,
    /// E8 translation chosen.
    pub e8: bool,
    /// LZX stream bytes (0: the new file equals this old file).
    pub stream_size: u64,
    /// Encoder statistics of the chosen stream.
    pub lzx: LzxStats,
    /// Every encoding tried, in order.
    pub trials: Vec<Trial>,
}

/// What [`create`] chose and produced.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CreateInfo {
    /// Option flags written.
    pub options: u32,
    /// Extra flags written (0 when absent).
    pub extra_flags: u32,
    /// Whether the new file is a PE32 image.
    pub new_pe32: bool,
    /// Machine of the new file when it is a PE image (PE32 or PE32+).
    pub new_machine: Option<u16>,
    /// Whether PE normalisation is on in the options (any of rebase, unbind, lock fix).
    pub pe_normalisation: bool,
    /// Which normalisation steps are on.
    pub normalisation_steps: Vec<&'static str>,
    /// Whether normalising the new file changed it (the patch then yields the
    /// normalised file).
    pub new_changed_by_normalisation: bool,
    /// Whether the 32 MiB window was needed.
    pub large_window: bool,
    /// New file size.
    pub new_size: u64,
    /// New file CRC-32 written (retain ranges zeroed).
    pub new_crc32: u32,
    /// Patch size.
    pub patch_size: u64,
    /// Per old file.
    pub old_files: Vec<OldInfo>,
}

/// The encoding kept for an old file: stream, statistics, rift source, rift, E8.
type Chosen = (Vec<u8>, LzxStats, &'static str, Vec<(u32, u32)>, bool);

fn uvli(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b | 0x80);
            return;
        }
        out.push(b);
    }
}

fn svli(out: &mut Vec<u8>, v: i64) {
    let neg = v < 0;
    let mut m = v.unsigned_abs();
    let first = (m & 0x3F) as u8 | if neg { 0x40 } else { 0 };
    m >>= 6;
    if m == 0 {
        out.push(first | 0x80);
        return;
    }
    out.push(first);
    uvli(out, m);
}

/// Four bytes that, appended to `data`, make the CRC-32 of the whole come out as
/// 0xFFFFFFFF (what the applier checks). CRC-32 runs the register backwards one byte at a
/// time: the table entry whose top byte matches the register's is the one that produced
/// it.
fn crc_tail(data: &[u8]) -> [u8; 4] {
    let mut table = [0u32; 256];
    for (i, e) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *e = c;
    }
    let mut top = [0u8; 256];
    for (i, e) in table.iter().enumerate() {
        top[(e >> 24) as usize] = i as u8;
    }
    // Register wanted after the four bytes (final XOR undone), walked back to the
    // register before them; the bytes are the difference from the real register.
    let mut reg: u32 = !0xFFFF_FFFFu32;
    for _ in 0..4 {
        let idx = top[(reg >> 24) as usize];
        reg = ((reg ^ table[usize::from(idx)]) << 8) | u32::from(idx);
    }
    (reg ^ !crc32fast::hash(data)).to_le_bytes()
}

/// The header-only form of a patch (what `ExtractPatchHeaderToFile` gives, and what a
/// Patch table row carries in its Header column for validation): the patch up to its
/// first stream, the stream sizes kept, with a new CRC tail so the whole-file CRC holds.
/// Appliers refuse it with "patch not available"; it tells which old files it fits.
pub fn header_only(patch: &[u8]) -> Result<Vec<u8>> {
    let h = super::header::parse(patch)?;
    if !h.crc_ok || !h.complete {
        return Err(Error::format("a PA19 header can only be taken from a complete patch whose CRC holds"));
    }
    let end =
        h.old_files.first().map(|f| f.stream_offset).ok_or_else(|| Error::format("PA19 patch lists no old file"))?;
    let mut out = patch.get(..end).ok_or_else(|| Error::format("PA19 header runs past the patch"))?.to_vec();
    let tail = crc_tail(&out);
    out.extend_from_slice(&tail);
    Ok(out)
}

fn usage(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, m)
}

// ---------------------------------------------------------------------------------------
// A small PE header reader for the choices (the applier's own reader is in pe.rs).

fn r16(d: &[u8], o: usize) -> Option<u16> {
    d.get(o..o.checked_add(2)?).map(|s| u16::from_le_bytes([s[0], s[1]]))
}
fn r32(d: &[u8], o: usize) -> Option<u32> {
    d.get(o..o.checked_add(4)?).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

struct Sec {
    name: [u8; 8],
    va: u32,
    raw: u32,
    raw_size: u32,
    chars: u32,
}

struct PeView {
    machine: u16,
    pe32: bool,
    time: u32,
    image_base: u32,
    size_of_headers: u32,
    dirs: Vec<(u32, u32)>,
    secs: Vec<Sec>,
}

impl PeView {
    fn parse(d: &[u8]) -> Option<PeView> {
        if d.len() < 0x40 || &d[..2] != b"MZ" {
            return None;
        }
        let nt = r32(d, 0x3c)? as usize;
        if d.get(nt..nt.checked_add(4)?)? != b"PE\0\0" {
            return None;
        }
        let machine = r16(d, nt + 4)?;
        let nsec = usize::from(r16(d, nt + 6)?);
        let time = r32(d, nt + 8)?;
        let opt_size = usize::from(r16(d, nt + 20)?);
        let o = nt + 24;
        let magic = r16(d, o)?;
        let (pe32, dir_at) = match magic {
            0x10B => (true, o + 96),
            0x20B => (false, o + 112),
            _ => return None,
        };
        let image_base = if pe32 { r32(d, o + 28)? } else { 0 };
        let size_of_headers = r32(d, o + 60)?;
        let ndirs = (r32(d, dir_at - 4)? as usize).min(16);
        let dirs = (0..ndirs)
            .map(|i| (r32(d, dir_at + i * 8).unwrap_or(0), r32(d, dir_at + 4 + i * 8).unwrap_or(0)))
            .collect();
        let so = o + opt_size;
        let secs = (0..nsec.min(96))
            .filter_map(|i| {
                let s = so + i * 40;
                let mut name = [0u8; 8];
                name.copy_from_slice(d.get(s..s + 8)?);
                Some(Sec {
                    name,

                    va: r32(d, s + 12)?,
                    raw_size: r32(d, s + 16)?,
                    raw: r32(d, s + 20)?,
                    chars: r32(d, s + 36)?,
                })
            })
            .collect();
        Some(PeView { machine, pe32, time, image_base, size_of_headers, dirs, secs })
    }

    fn off(&self, rva: u32) -> Option<usize> {
        if rva < self.size_of_headers {
            return Some(rva as usize);
        }
        self.secs
            .iter()
            .find(|s| rva >= s.va && rva < s.va.saturating_add(s.raw_size))
            .map(|s| s.raw as usize + (rva - s.va) as usize)
    }

    /// RVA of a file offset (inside a section's raw data or the headers).
    fn rva(&self, off: usize) -> Option<u32> {
        if off < self.size_of_headers as usize {
            return Some(off as u32);
        }
        self.secs
            .iter()
            .find(|s| off >= s.raw as usize && off < s.raw as usize + s.raw_size as usize)
            .map(|s| s.va + (off - s.raw as usize) as u32)
    }

    fn dir(&self, i: usize) -> Option<(u32, u32)> {
        self.dirs.get(i).copied().filter(|(r, s)| *r != 0 && *s != 0)
    }

    /// Whether unbinding would be done differently by our applier and the Windows one.
    fn bindfix_ambiguous(&self, d: &[u8]) -> bool {
        for s in &self.secs {
            if s.name.eq_ignore_ascii_case(b".idata\0\0") && s.chars & 0x8000_0000 == 0 {
                return true;
            }
        }
        let Some((rva, _)) = self.dir(1) else { return false };
        let Some(mut o) = self.off(rva) else { return false };
        for _ in 0..4096 {
            let (oft, ts, fwd, name, ft) = (r32(d, o), r32(d, o + 4), r32(d, o + 8), r32(d, o + 12), r32(d, o + 16));
            let (Some(oft), Some(ts), Some(fwd), Some(name), Some(ft)) = (oft, ts, fwd, name, ft) else { return true };
            if oft == 0 && name == 0 && ft == 0 {
                return false;
            }
            if oft == 0 || (ts == 0 && fwd != 0) {
                return true;
            }
            o += 20;
        }
        true
    }

    /// Whether the lock-prefix table is one the Windows applier refuses.
    fn lockfix_ambiguous(&self, d: &[u8]) -> bool {
        let Some((rva, _)) = self.dir(10) else { return false };
        let Some(o) = self.off(rva) else { return false };
        let t = r32(d, o + 0x20).unwrap_or(0);
        t != 0 && t < self.image_base
    }

    fn resource_time(&self, d: &[u8]) -> u32 {
        self.dir(2).and_then(|(rva, _)| self.off(rva)).and_then(|o| r32(d, o + 4)).unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------

fn zero(d: &mut [u8], off: u64, len: u64) {
    let s = (off as usize).min(d.len());
    let e = (off.saturating_add(len) as usize).min(d.len());
    d[s..e].fill(0);
}

/// An RVA map from sections of the same name whose address moved.
fn rift_from_sections(old: &PeView, new: &PeView) -> Vec<(u32, u32)> {
    let mut used = vec![false; new.secs.len()];
    let mut pairs = Vec::new();
    for s in &old.secs {
        if let Some(k) = (0..new.secs.len()).find(|&k| !used[k] && new.secs[k].name == s.name) {
            used[k] = true;
            pairs.push((s.va, new.secs[k].va));
        }
    }
    tidy_map(pairs)
}

/// Sort by old RVA, drop duplicates and entries that do not change the mapping.
fn tidy_map(mut pairs: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    pairs.sort_by_key(|p| p.0);
    pairs.dedup_by_key(|p| p.0);
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut delta: i64 = 0;
    for (o, n) in pairs {
        let d = i64::from(n) - i64::from(o);
        if d != delta {
            out.push((o, n));
            delta = d;
        }
    }
    out
}

/// An RVA map from long runs of equal bytes between the prepared old image and the new
/// image: each run gives its old RVA and new RVA; the map keeps a run's shift from where
/// the run starts in the old image.
fn rift_from_matches(old_d: &[u8], old: &PeView, new_d: &[u8], new: &PeView) -> Vec<(u32, u32)> {
    let runs = lzx_encode::correspondences(old_d, new_d, 64);
    let mut pairs: Vec<(u32, i64)> = Vec::new();
    for (no, oo, len) in runs {
        let (Some(orva), Some(nrva)) = (old.rva(oo), new.rva(no)) else { continue };
        // Only runs inside one section on both sides.
        if old.rva(oo + len - 1) != Some(orva + len as u32 - 1) || new.rva(no + len - 1) != Some(nrva + len as u32 - 1)
        {
            continue;
        }
        pairs.push((orva, i64::from(nrva) - i64::from(orva)));
    }
    pairs.sort_by_key(|p| p.0);
    // The most common shift wins where runs overlap in the old image: keep runs in order
    // and let a later run start a new entry only where its shift differs.
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut delta = 0i64;
    for (o, d) in pairs {
        if d != delta {
            let n = i64::from(o) + d;
            if (0..=i64::from(u32::MAX)).contains(&n) {
                out.push((o, n as u32));
                delta = d;
            }
        }
    }
    tidy_map(out)
}

/// The reference the applier will build for an old file: normalised, transformed by the
/// RVA map, ranges zeroed.
fn reference(norm: &[u8], h: &Header, map: &[(u32, u32)], ranges: &OldRanges) -> Result<Vec<u8>> {
    let mut r = norm.to_vec();
    if !map.is_empty() {
        pe::transform(&mut r, h, &pe::RvaMap(map.to_vec()))?;
    }
    for ig in &ranges.ignore {
        zero(&mut r, ig.offset, ig.length);
    }
    for rt in &ranges.retain {
        zero(&mut r, rt.old_offset, rt.length);
    }
    Ok(r)
}

fn check_ranges(i: usize, size: u64, new_size: u64, r: &OldRanges, first: Option<&OldRanges>) -> Result<()> {
    if r.ignore.len() > 255 || r.retain.len() > 255 {
        return Err(usage(format!("old file {i}: at most 255 ignore and 255 retain ranges are allowed")));
    }
    for g in &r.ignore {
        if g.offset.checked_add(g.length).is_none_or(|e| e > size) {
            return Err(usage(format!(
                "old file {i}: ignore range at {} ({} bytes) runs past its end",
                g.offset, g.length
            )));
        }
    }
    for t in &r.retain {
        if t.old_offset.checked_add(t.length).is_none_or(|e| e > size)
            || t.new_offset.checked_add(t.length).is_none_or(|e| e > new_size)
        {
            return Err(usage(format!(
                "old file {i}: retain range at {} ({} bytes) runs past a file's end",
                t.old_offset, t.length
            )));
        }
    }
    if let Some(f) = first {
        let key = |v: &[Retain]| {
            let mut k: Vec<(u64, u64)> = v.iter().map(|t| (t.new_offset, t.length)).collect();
            k.sort_unstable();
            k
        };
        if key(&f.retain) != key(&r.retain) {
            return Err(usage(format!(
                "old file {i}: retain ranges must have the same new offsets and lengths for every old file"
            )));
        }
    }
    Ok(())
}

/// Create a PA19 patch that turns each of `olds` into `new` (`olds` empty: a patch made
/// without an old file). Returns the patch and what was chosen.
pub fn create(olds: &[&[u8]], new: &[u8], opts: &CreateOptions) -> Result<(Vec<u8>, CreateInfo)> {
    if olds.len() > 255 {
        return Err(usage("a PA19 patch holds at most 255 old files"));
    }
    if new.len() as u64 > super::header::MAX_NEW {
        return Err(Error::new(ErrorKind::Limit, "new file is over the 2 GiB PA19 limit"));
    }
    let no_old: [&[u8]; 1] = [&[]];
    let olds: &[&[u8]] = if olds.is_empty() { &no_old } else { olds };
    let empty = OldRanges::default();
    let ranges: Vec<&OldRanges> = (0..olds.len()).map(|i| opts.ranges.get(i).unwrap_or(&empty)).collect();
    for (i, old) in olds.iter().enumerate() {
        check_ranges(i, old.len() as u64, new.len() as u64, ranges[i], if i > 0 { Some(ranges[0]) } else { None })?;
    }
    // Window: decided before anything else so that a refusal comes first and cheaply.
    let mut large = false;
    for old in olds {
        let total = (old.len() as u64).div_ceil(CHUNK) * CHUNK + new.len() as u64;
        if total > 32 << 20 {
            return Err(Error::new(
                ErrorKind::Limit,
                format!(
                    "old file ({} bytes) plus new file ({} bytes) exceed the 32 MiB LZX DELTA window (old rounded up to 32 KiB plus new); interleaved PA19 streams are not written",
                    old.len(),
                    new.len()
                ),
            ));
        }
        large |= total > 8 << 20;
    }

    // Options.
    let new_view = PeView::parse(new);
    let new_pe32 = new_view.as_ref().is_some_and(|v| v.pe32) && pe::is_pe32(new);
    let any_old_pe32 = olds.iter().any(|o| pe::is_pe32(o));
    let pe_on = opts.pe_normalise && !opts.wine_compatible && new_pe32 && any_old_pe32;
    let mut options = USE_LZX_A;
    if large {
        options |= opt::USE_LZX_LARGE;
    }
    if opts.timestamp.is_some() {
        options |= opt::TIMESTAMP;
    }
    let (mut image_base, mut image_time, mut res_time) = (None, None, None);
    if pe_on {
        let nv = new_view.as_ref().ok_or_else(|| Error::format("new PE image unreadable"))?;
        let old_views: Vec<(&[u8], PeView)> = olds
            .iter()
            .filter(|o| pe::is_pe32(o))
            .filter_map(|o| PeView::parse(o).map(|v| (*o, v)))
            .filter(|(_, v)| v.pe32)
            .collect();
        let same_base = old_views.iter().all(|(_, v)| v.image_base == nv.image_base);
        if nv.image_base & 0xFFFF != 0 || !same_base {
            options |= opt::NO_REBASE;
        } else {
            image_base = Some(nv.image_base);
            image_time = Some(nv.time);
        }
        if old_views.iter().any(|(o, v)| v.bindfix_ambiguous(o)) || nv.bindfix_ambiguous(new) {
            options |= opt::NO_BINDFIX;
        }
        if old_views.iter().any(|(o, v)| v.lockfix_ambiguous(o)) || nv.lockfix_ambiguous(new) {
            options |= opt::NO_LOCKFIX;
        }
        // The resource time is only used by the transforms; decided below with the rift.
        res_time = Some(nv.resource_time(new));
    } else {
        options |= opt::NO_REBASE | opt::NO_RESTIMEFIX;
        if !new_pe32 || opts.wine_compatible || !opts.pe_normalise {
            options |= opt::NO_BINDFIX | opt::NO_LOCKFIX;
        }
    }
    // Rifts are only possible with PE processing on; whether one is written decides the
    // extra flags and the resource-time field, which must be known before the old CRCs
    // (they do not depend on them: normalisation reads neither).
    let rift_allowed = pe_on && opts.rift == RiftMode::Auto;
    let res_time_nonzero = res_time.is_some_and(|t| t != 0);
    if !(rift_allowed && res_time_nonzero) {
        options |= opt::NO_RESTIMEFIX;
        res_time = None;
    }
    if rift_allowed {
        options |= opt::EXTRA_FLAGS;
    }
    let extra_flags = if rift_allowed { NO_RELCALLS } else { 0 };
    let h = Header {
        options,
        extra_flags,
        new_file_time: opts.timestamp,
        new_image_base: image_base,
        new_image_time: image_time,
        new_res_time: res_time,
        new_size: new.len() as u64,
        new_crc32: 0,
        old_files: Vec::new(),
        crc_ok: true,
        complete: true,
    };

    // The new file as the patch will produce it.
    let mut target = new.to_vec();
    let mut new_changed = false;
    if pe_on && opts.normalize_new {
        pe::normalise(&mut target, &h);
        new_changed = target != new;
    }
    let mut target_zeroed = target.clone();
    for rt in &ranges[0].retain {
        zero(&mut target_zeroed, rt.new_offset, rt.length);
    }
    let new_crc32 = crc32fast::hash(&target_zeroed);
    let x86 = new_view.as_ref().is_some_and(|v| v.machine == 0x14c || v.machine == 0x8664);
    let e8_choices: Vec<bool> = match opts.e8 {
        E8Mode::On => vec![true],
        E8Mode::Off => vec![false],
        E8Mode::Auto if x86 => vec![false, true],
        E8Mode::Auto => vec![false],
    };

    let mut infos = Vec::new();
    let mut streams = Vec::new();
    let mut entries = Vec::new();
    for (i, old) in olds.iter().enumerate() {
        let r = ranges[i];
        let old_pe32 = pe::is_pe32(old);
        let mut norm = old.to_vec();
        if old_pe32 {
            pe::normalise(&mut norm, &h);
        }
        let normalisation_changed = norm != *old;
        let mut crc_buf = norm.clone();
        for ig in &r.ignore {
            zero(&mut crc_buf, ig.offset, ig.length);
        }
        for rt in &r.retain {
            zero(&mut crc_buf, rt.old_offset, rt.length);
        }
        let crc32 = crc32fast::hash(&crc_buf);
        let mut info = OldInfo {
            size: old.len() as u64,
            crc32,
            pe32: old_pe32,
            normalisation_changed,
            ignore_ranges: r.ignore.len(),
            retain_ranges: r.retain.len(),
            rift: "none",
            rift_entries: 0,
            e8: false,
            stream_size: 0,
            lzx: LzxStats::default(),
            trials: Vec::new(),
        };
        // Unnecessary: what the applier yields without a stream is already the target.
        if old.len() == new.len() {
            let mut out = crc_buf.clone();
            for rt in &r.retain {
                zero(&mut out, rt.new_offset, rt.length);
            }
            if out == target_zeroed {
                infos.push(info);
                streams.push(Vec::new());
                entries.push((old.len() as u64, crc32, r.clone(), Vec::new()));
                continue;
            }
        }
        // Candidate rift tables.
        let mut maps: Vec<(&'static str, Vec<(u32, u32)>)> = vec![("none", Vec::new())];
        if rift_allowed && old_pe32 {
            let ov = PeView::parse(&norm)
                .filter(|v| v.pe32 && v.dir(5).is_some_and(|(rva, _)| PeView::off(v, rva).is_some()));
            if let (Some(ov), Some(nv)) = (ov, new_view.as_ref()) {
                let s = rift_from_sections(&ov, nv);
                if !s.is_empty() {
                    maps.push(("sections", s));
                }
                let m = rift_from_matches(&norm, &ov, &target, nv);
                if !m.is_empty() && m.len() <= 1 << 16 && maps.iter().all(|(_, x)| *x != m) {
                    maps.push(("matches", m));
                }
            }
        }
        let mut best: Option<Chosen> = None;
        for (name, map) in maps {
            let reference = reference(&norm, &h, &map, r)?;
            let e8_size = new.len() as u32;
            let runs: Vec<Result<(Vec<u8>, LzxStats)>> = match e8_choices.as_slice() {
                [a, b] => {
                    let enc = |e8: bool| {
                        lzx_encode::encode(
                            &reference,
                            &target_zeroed,
                            &LzxOptions { e8_size: e8.then_some(e8_size), large_window: large, effort: opts.effort },
                        )
                    };
                    let (x, y) = rayon::join(|| enc(*a), || enc(*b));
                    vec![x, y]
                }
                _ => e8_choices
                    .iter()
                    .map(|&e8| {
                        lzx_encode::encode(
                            &reference,
                            &target_zeroed,
                            &LzxOptions { e8_size: e8.then_some(e8_size), large_window: large, effort: opts.effort },
                        )
                    })
                    .collect(),
            };
            for (run, &e8) in runs.into_iter().zip(&e8_choices) {
                let (s, st) = run?;
                // A rift entry costs a few header bytes; count them with the stream.
                let cost = s.len() + map.len() * 5;
                info.trials.push(Trial { rift: name, rift_entries: map.len(), e8, stream_size: s.len() as u64 });
                let better = match &best {
                    None => true,
                    Some((b, _, _, bm, _)) => cost < b.len() + bm.len() * 5,
                };
                if better {
                    best = Some((s, st, name, map.clone(), e8));
                }
            }
        }
        let (s, st, name, map, e8) = best.ok_or_else(|| Error::format("no encoding was produced"))?;
        info.rift = name;
        info.rift_entries = map.len();
        info.e8 = e8;
        info.stream_size = s.len() as u64;
        info.lzx = st;
        infos.push(info);
        streams.push(s);
        entries.push((old.len() as u64, crc32, r.clone(), map));
    }
    // A patch made only with E8 on or a rift does not change the header layout, but a rift
    // table nowhere means the extra flags are not needed.
    let any_rift = entries.iter().any(|e| !e.3.is_empty());
    let (options, extra_flags) = if rift_allowed && !any_rift {
        // Without transforms the resource time is unused: drop the field and the flags.
        ((options & !opt::EXTRA_FLAGS) | opt::NO_RESTIMEFIX, 0)
    } else {
        (options, extra_flags)
    };
    let res_time = if options & opt::NO_RESTIMEFIX != 0 { None } else { res_time };

    // Header.
    let mut p = b"PA19".to_vec();
    p.extend_from_slice(&options.to_le_bytes());
    if options & opt::EXTRA_FLAGS != 0 {
        p.extend_from_slice(&extra_flags.to_le_bytes());
    }
    if let Some(t) = opts.timestamp {
        p.extend_from_slice(&t.to_le_bytes());
    }
    if options & opt::NO_REBASE == 0 {
        let base = image_base.unwrap_or(0);
        let it = image_time.unwrap_or(0);
        p.extend_from_slice(&((base >> 16) as u16).to_le_bytes());
        match opts.timestamp {
            Some(ft) if ft != 0 => svli(&mut p, i64::from(ft) - i64::from(it)),
            _ => p.extend_from_slice(&it.to_le_bytes()),
        }
    }
    if options & opt::NO_RESTIMEFIX == 0 {
        let rt = res_time.unwrap_or(0);
        match image_time.filter(|_| options & opt::NO_REBASE == 0) {
            Some(it) if it != 0 => svli(&mut p, i64::from(it) - i64::from(rt)),
            _ => p.extend_from_slice(&rt.to_le_bytes()),
        }
    }
    uvli(&mut p, new.len() as u64);
    p.extend_from_slice(&new_crc32.to_le_bytes());
    p.push(olds.len() as u8);
    for ((size, crc, r, map), s) in entries.iter().zip(&streams) {
        svli(&mut p, *size as i64 - new.len() as i64);
        p.extend_from_slice(&crc.to_le_bytes());
        let mut ig = r.ignore.clone();
        ig.sort_by_key(|g| g.offset);
        p.push(ig.len() as u8);
        let mut prev = 0u64;
        for g in &ig {
            svli(&mut p, g.offset as i64 - prev as i64);
            uvli(&mut p, g.length);
            prev = g.offset + g.length;
        }
        let mut rt = r.retain.clone();
        rt.sort_by_key(|t| t.old_offset);
        p.push(rt.len() as u8);
        let mut prev = 0u64;
        for t in &rt {
            svli(&mut p, t.old_offset as i64 - prev as i64);
            svli(&mut p, t.new_offset as i64 - t.old_offset as i64);
            uvli(&mut p, t.length);
            prev = t.old_offset + t.length;
        }
        uvli(&mut p, map.len() as u64);
        let (mut po, mut pn) = (0u32, 0u32);
        for &(o, n) in map {
            uvli(&mut p, u64::from(o - po));
            svli(&mut p, i64::from(n) - i64::from(pn));
            po = o;
            pn = n;
        }
        uvli(&mut p, s.len() as u64);
    }
    for s in &streams {
        p.extend_from_slice(s);
    }
    let tail = crc_tail(&p);
    p.extend_from_slice(&tail);

    let mut steps = Vec::new();
    if pe_on {
        if options & opt::NO_REBASE == 0 {
            steps.push("rebase");
        }
        if options & opt::NO_BINDFIX == 0 {
            steps.push("unbind");
        }
        if options & opt::NO_LOCKFIX == 0 {
            steps.push("lock-prefixes");
        }
        steps.push("checksum");
    }
    let info = CreateInfo {
        options,
        extra_flags,
        new_pe32,
        new_machine: new_view.as_ref().map(|v| v.machine),
        pe_normalisation: pe_on,
        normalisation_steps: steps,
        new_changed_by_normalisation: new_changed,
        large_window: large,
        new_size: new.len() as u64,
        new_crc32,
        patch_size: p.len() as u64,
        old_files: infos,
    };
    Ok((p, info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{apply, parse};

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    fn check(olds: &[&[u8]], new: &[u8], o: &CreateOptions) -> (Vec<u8>, CreateInfo) {
        let (p, info) = create(olds, new, o).unwrap();
        assert_eq!(crc32fast::hash(&p), 0xFFFF_FFFF);
        assert_eq!(info.patch_size, p.len() as u64);
        if olds.is_empty() {
            assert_eq!(apply(&p, None).unwrap(), new);
        }
        for old in olds {
            assert!(apply(&p, Some(old)).unwrap() == new, "old of {} bytes", old.len());
        }
        (p, info)
    }

    #[test]
    fn crc_tail_makes_the_crc_all_ones() {
        for n in [0usize, 1, 7, 1000] {
            let mut d: Vec<u8> = (0..n).map(|i| (i * 31 + 7) as u8).collect();
            let t = crc_tail(&d);
            d.extend_from_slice(&t);
            assert_eq!(crc32fast::hash(&d), 0xFFFF_FFFF);
        }
    }

    #[test]
    fn round_trips_and_special_cases() {
        let mut r = rng(5);
        let old: Vec<u8> = (0..50_000).map(|_| r() as u8).collect();
        let mut new = old.clone();
        for _ in 0..100 {
            let p = (r() % new.len() as u64) as usize;
            new[p] = r() as u8;
        }
        new.extend_from_slice(b"tail");
        let o = CreateOptions { timestamp: Some(1_700_000_000), ..Default::default() };
        let (p, info) = check(&[&old], &new, &o);
        assert!(p.len() < 1500, "{}", p.len());
        assert_eq!(parse(&p).unwrap().new_file_time, Some(1_700_000_000));
        assert_eq!(info.old_files[0].rift, "none");
        // No old file; empty new file; identical files; an empty new file from an old one.
        check(&[], &new, &o);
        check(&[], b"", &o);
        let (p, info) = check(&[&old], &old, &o);
        assert_eq!(info.old_files[0].stream_size, 0);
        assert!(p.len() < 40);
        check(&[&old], b"", &o);
        check(&[b""], &new, &o);
        // Several old files.
        let other: Vec<u8> = old.iter().rev().copied().collect();
        let (_, info) = check(&[&old, &other, &new], &new, &o);
        assert_eq!(info.old_files.len(), 3);
        assert_eq!(info.old_files[2].stream_size, 0);
        // Deterministic.
        assert_eq!(create(&[&old], &new, &o).unwrap().0, create(&[&old], &new, &o).unwrap().0);
    }

    #[test]
    fn ranges_are_written_and_honoured() {
        let mut r = rng(8);
        let old0: Vec<u8> = (0..20_000).map(|_| r() as u8).collect();
        let mut old1 = old0.clone();
        old1.truncate(19_000);
        let mut new = old0.clone();
        new.insert(10, 0xAA);
        // Retained bytes come from each old file; ignored bytes of the old files may differ.
        let retain = |old_offset| Retain { old_offset, new_offset: 5001, length: 100 };
        new[5001..5101].copy_from_slice(&old0[5000..5100]);
        let o = CreateOptions {
            ranges: vec![
                OldRanges { ignore: vec![Ignore { offset: 12_000, length: 50 }], retain: vec![retain(5000)] },
                OldRanges { ignore: vec![], retain: vec![retain(5000)] },
            ],
            ..Default::default()
        };
        let (p, _) = create(&[&old0, &old1], &new, &o).unwrap();
        let mut changed = old0.clone();
        changed[12_010] ^= 0xFF;
        assert_eq!(apply(&p, Some(&changed)).unwrap(), new);
        let out1 = apply(&p, Some(&old1)).unwrap();
        assert_eq!(out1.len(), new.len());
        let h = parse(&p).unwrap();
        assert_eq!(h.old_files[0].ignore.len(), 1);
        assert_eq!(h.old_files[1].retain[0].new_offset, 5001);
        // Inconsistent retain ranges and ranges past the end are refused.
        let bad = CreateOptions {
            ranges: vec![OldRanges { ignore: vec![], retain: vec![retain(5000)] }, OldRanges::default()],
            ..Default::default()
        };
        assert_eq!(create(&[&old0, &old1], &new, &bad).unwrap_err().kind(), ErrorKind::Usage);
        let bad = CreateOptions {
            ranges: vec![OldRanges { ignore: vec![Ignore { offset: 19_990, length: 50 }], retain: vec![] }],
            ..Default::default()
        };
        assert_eq!(create(&[&old0], &new, &bad).unwrap_err().kind(), ErrorKind::Usage);
    }

    #[test]
    fn pe_images_round_trip_with_normalisation_and_e8() {
        use crate::testing::{write_pe, PeSpec};
        for machine in [0x14c, 0x8664] {
            let spec = |v: u16, size: usize| PeSpec {
                machine,
                version: (1, 0, v, 0),
                strings: vec![("FileVersion".into(), format!("1.0.{v}.0"))],
                size,
                seed: "same".into(),
                dll: true,
            };
            let old = write_pe(&spec(1, 60_000)).unwrap();
            let new = write_pe(&spec(2, 61_000)).unwrap();
            let (_, info) = check(&[&old], &new, &CreateOptions::default());
            assert_eq!(info.new_pe32, machine == 0x14c);
            assert_eq!(info.pe_normalisation, machine == 0x14c);
            assert_eq!(info.old_files[0].trials.len(), 2, "E8 off and on were tried");
            let (p, info) = check(&[&old], &new, &CreateOptions { wine_compatible: true, ..Default::default() });
            assert!(!info.pe_normalisation);
            let h = parse(&p).unwrap();
            assert_eq!(h.options & 0x0047_0000, 0x0047_0000 & h.options);
            assert!(h.options & opt::NO_REBASE != 0 && h.options & opt::NO_RESTIMEFIX != 0);
        }
    }

    #[test]
    fn too_large_inputs_are_refused_with_the_limit() {
        let old = vec![0u8; 20 << 20];
        let new = vec![1u8; 13 << 20];
        let e = create(&[&old], &new, &CreateOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
        assert!(e.to_string().contains("32 MiB"), "{e}");
    }
}
