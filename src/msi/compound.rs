//! A read-only compound-file (MS-CFB) reader whose memory does not grow with the file.
//!
//! Opening a package with the `cfb` crate loads its whole allocation table and checks it
//! with a set of every sector: about 100 MB for a 1.6 GB package. This reader keeps only
//! the list of FAT sector numbers (4 bytes per 64 KiB of a 512-byte-sector file), the
//! reachable directory entries (at most [`MAX_ENTRIES`]), and the MiniFAT (at most
//! [`MAX_MINI_SECTORS`] entries). FAT sectors are read on demand while a chain is followed,
//! and a stream is kept as runs of consecutive sectors, so a contiguous cabinet stream
//! costs a few bytes however large it is. Every chain is checked for sectors past the end
//! of the file and for revisited sectors as it is followed.
//!
//! Reads use positioned I/O on a shared handle, so streams of one package can be read
//! from several threads at once.

use crate::random_access::{read_full_at, Shared};
use std::io::{self, Read, Seek, SeekFrom};

const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const MAX_REGULAR: u32 = 0xFFFF_FFFA;
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FREE: u32 = 0xFFFF_FFFF;
const NO_STREAM: u32 = 0xFFFF_FFFF;
const MINI_SECTOR: u64 = 64;
const MINI_CUTOFF: u64 = 4096;

/// Deepest storage nesting accepted. Installer packages nest one level (a patch's
/// transforms); the bound keeps every path short.
pub const MAX_DEPTH: usize = 64;
/// Most directory slots read from the directory chain (8 MiB of entries); reachable
/// entries are limited to [`MAX_ENTRIES`] separately.
const MAX_DIR_SLOTS: u64 = 4 * MAX_ENTRIES as u64;
/// Most mini sectors (a 64 MiB mini stream); small streams are under 4096 bytes each and
/// at most [`MAX_ENTRIES`] exist, so a real mini stream is far smaller.
pub const MAX_MINI_SECTORS: u64 = 1 << 20;

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn u16at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn read_at(file: &Shared, buf: &mut [u8], off: u64) -> io::Result<usize> {
    read_full_at(&**file, buf, off)
}

/// One reachable directory entry.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    storage: bool,
    parent: usize,
    depth: usize,
    clsid: [u8; 16],
    start: u32,
    len: u64,
    /// Children in directory order (the tree's in-order walk).
    children: Vec<usize>,
    /// State bits, creation and modification times (entry bytes 96..116), for signatures.
    meta: [u8; 20],
}

/// The most directory entries (streams and storages) a compound file may hold. Installer
/// packages hold tens to a few thousand; this bound keeps every per-entry walk cheap.
pub const MAX_ENTRIES: usize = 16_384;

/// A storage or stream, as listed by [`Compound::children`] and [`Compound::walk`].
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// Stored name (not decoded).
    pub name: String,
    /// Path from the root, `/`-separated and starting with `/`.
    pub path: String,
    /// A storage rather than a stream.
    pub storage: bool,
    /// Stream length in bytes (0 for storages).
    pub len: u64,
    /// The storage's class id.
    pub clsid: uuid::Uuid,
}

/// An open compound file.
pub struct Compound {
    file: Shared,
    /// Bytes really in the file.
    real_len: u64,
    /// Length the reader accepts: a truncated file's missing tail reads as zeros for the
    /// allocation tables and the directory, never for stream data.
    len: u64,
    shift: u32,
    major: u16,
    /// Number of sectors the file (as padded) holds after its header.
    sectors: u64,
    fat: Vec<u32>,
    minifat: Vec<u32>,
    /// The mini stream as runs in the file.
    mini_runs: Vec<Run>,
    nodes: Vec<Node>,
}

/// Consecutive stream bytes at one place in the file.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Offset in the stream.
    at: u64,
    /// Offset in the file.
    file: u64,
    len: u64,
}

/// A one-sector cache of the allocation table, for following chains.
struct FatCache {
    idx: usize,
    buf: Vec<u8>,
}

/// Revisit detection for a chain: free while the chain only moves forward (the usual
/// case); a bitset over the possible sectors once it steps back.
struct Seen {
    last: Option<u32>,
    bits: Option<Vec<u64>>,
    limit: u64,
}

impl Seen {
    fn new(limit: u64) -> Self {
        Seen { last: None, bits: None, limit }
    }
    /// Record `s`; false when it was seen before. `earlier` lists what came before, for
    /// building the bitset the first time the chain steps back.
    fn visit(&mut self, s: u32, earlier: &mut dyn Iterator<Item = u32>) -> bool {
        if u64::from(s) >= self.limit {
            return false;
        }
        if self.bits.is_none() && self.last.is_none_or(|l| s > l) {
            self.last = Some(s);
            return true;
        }
        let limit = self.limit as usize;
        let bits = self.bits.get_or_insert_with(|| {
            let mut bits = vec![0u64; limit.div_ceil(64)];
            for e in earlier {
                bits[e as usize / 64] |= 1 << (e % 64);
            }
            bits
        });
        let (w, b) = (s as usize / 64, s % 64);
        if bits[w] & (1 << b) != 0 {
            return false;
        }
        bits[w] |= 1 << b;
        true
    }
}

fn sector_runs(runs: &[(u32, u32)]) -> impl Iterator<Item = u32> + '_ {
    runs.iter().flat_map(|&(s, n)| s..s + n)
}

impl std::fmt::Debug for Compound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compound").field("entries", &self.nodes.len()).field("len", &self.real_len).finish()
    }
}

impl Compound {
    /// Open `file` (of `real_len` bytes) as a compound file; `len` is the length to accept
    /// (larger than `real_len` for a truncated file whose tail is read as zeros).
    pub fn open(file: Shared, real_len: u64, len: u64) -> io::Result<Compound> {
        let mut hdr = [0u8; 512];
        if real_len < 512 || read_at(&file, &mut hdr, 0)? < 512 {
            return Err(bad("the file is shorter than a compound-file header"));
        }
        if hdr[..8] != SIGNATURE {
            return Err(bad("no compound-file signature"));
        }
        let major = u16at(&hdr, 26);
        let shift = u32::from(u16at(&hdr, 30));
        match (major, shift) {
            (3, 9) | (4, 12) => {}
            _ => return Err(bad(format!("version {major} with sector shift {shift}"))),
        }
        if u16at(&hdr, 32) != 6 {
            return Err(bad(format!("mini sector shift {} (must be 6)", u16at(&hdr, 32))));
        }
        if u64::from(u32at(&hdr, 56)) != MINI_CUTOFF {
            return Err(bad(format!("mini stream cutoff {} (must be 4096)", u32at(&hdr, 56))));
        }
        let ss = 1u64 << shift;
        let sectors = (len.max(ss) - ss) / ss;
        let mut c = Compound {
            file,
            real_len,
            len,
            shift,
            major,
            sectors,
            fat: Vec::new(),
            minifat: Vec::new(),
            mini_runs: Vec::new(),
            nodes: Vec::new(),
        };
        c.read_fat_list(&hdr)?;
        let mut cache = FatCache { idx: usize::MAX, buf: vec![0; ss as usize] };
        let slots = c.read_directory(u32at(&hdr, 48), &mut cache)?;
        c.build_tree(&slots)?;
        drop(slots);
        // The mini stream and its allocation table.
        let root_len = c.nodes[0].len;
        let mini_sectors = root_len / MINI_SECTOR;
        if mini_sectors > MAX_MINI_SECTORS {
            return Err(bad(format!("mini stream of {root_len} bytes (the limit is 64 MiB)")));
        }
        if root_len > 0 {
            let runs = c.chain(c.nodes[0].start, root_len.div_ceil(ss), &mut cache, "the mini stream")?;
            c.mini_runs = c.to_runs(&runs, root_len);
        }
        let per = ss / 4;
        let want_sectors = mini_sectors.div_ceil(per).min(u64::from(u32at(&hdr, 64)));
        if want_sectors > 0 {
            let runs = c.chain(u32at(&hdr, 60), want_sectors, &mut cache, "the MiniFAT")?;
            let mut buf = vec![0u8; ss as usize];
            for s in sector_runs(&runs) {
                c.read_meta(s, &mut buf)?;
                c.minifat.extend(buf.chunks_exact(4).map(|b| u32at(b, 0)));
            }
            c.minifat.truncate(mini_sectors as usize);
        }
        Ok(c)
    }

    /// The FAT sector numbers, from the header and the DIFAT chain.
    fn read_fat_list(&mut self, hdr: &[u8]) -> io::Result<()> {
        let ss = 1u64 << self.shift;
        let num_fat = u64::from(u32at(hdr, 44));
        if num_fat > self.sectors + 1 {
            return Err(bad(format!("header claims {num_fat} FAT sectors; the file has {} sectors", self.sectors)));
        }
        let num_difat = u64::from(u32at(hdr, 72));
        if num_difat > self.sectors {
            return Err(bad(format!("header claims {num_difat} DIFAT sectors; the file has {} sectors", self.sectors)));
        }
        let mut ids: Vec<u32> = (0..109).map(|i| u32at(hdr, 76 + 4 * i)).collect();
        let mut next = u32at(hdr, 68);
        let mut seen = Seen::new(self.sectors);
        let mut visited: Vec<u32> = Vec::new();
        let mut buf = vec![0u8; ss as usize];
        while next != END_OF_CHAIN && next != FREE {
            if u64::from(next) >= self.sectors {
                return Err(bad(format!("DIFAT sector {next} lies beyond the file")));
            }
            if !seen.visit(next, &mut visited.iter().copied()) {
                return Err(bad(format!("the DIFAT chain loops (sector {next} twice)")));
            }
            visited.push(next);
            if visited.len() as u64 > num_difat {
                return Err(bad(format!("the DIFAT chain is longer than the {num_difat} sectors the header gives")));
            }
            self.read_meta(next, &mut buf)?;
            let per = buf.len() / 4 - 1;
            ids.extend((0..per).map(|i| u32at(&buf, 4 * i)));
            next = u32at(&buf, 4 * per);
        }
        if (ids.len() as u64) < num_fat {
            return Err(bad(format!("the DIFAT lists {} of {num_fat} FAT sectors", ids.len())));
        }
        ids.truncate(num_fat as usize);
        for &id in &ids {
            if u64::from(id) >= self.sectors {
                return Err(bad(format!("FAT sector {id} lies beyond the file")));
            }
        }
        self.fat = ids;
        Ok(())
    }

    /// Read whole sector `s` of the allocation tables or directory; bytes past the real end
    /// of a truncated file read as zeros.
    fn read_meta(&self, s: u32, buf: &mut [u8]) -> io::Result<()> {
        let off = (u64::from(s) + 1) << self.shift;
        if u64::from(s) >= self.sectors || off + buf.len() as u64 > self.len {
            return Err(bad(format!("sector {s} lies beyond the file")));
        }
        let n = if off < self.real_len { read_at(&self.file, buf, off)? } else { 0 };
        buf[n..].fill(0);
        Ok(())
    }

    /// The FAT entry of sector `s`.
    fn next(&self, s: u32, cache: &mut FatCache) -> io::Result<u32> {
        let per = (1usize << self.shift) / 4;
        let idx = s as usize / per;
        let Some(&fs) = self.fat.get(idx) else {
            return Err(bad(format!("sector {s} has no FAT entry")));
        };
        if cache.idx != idx {
            cache.idx = usize::MAX;
            self.read_meta(fs, &mut cache.buf)?;
            cache.idx = idx;
        }
        Ok(u32at(&cache.buf, (s as usize % per) * 4))
    }

    /// Follow a chain of `count` sectors from `start`, as runs (first sector, count).
    fn chain(&self, start: u32, count: u64, cache: &mut FatCache, what: &str) -> io::Result<Vec<(u32, u32)>> {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        let mut seen = Seen::new(self.sectors);
        let mut s = start;
        for i in 0..count {
            if s == END_OF_CHAIN || s == FREE {
                return Err(bad(format!("the chain of {what} ends after {i} of {count} sectors")));
            }
            if s > MAX_REGULAR || u64::from(s) >= self.sectors {
                return Err(bad(format!("the chain of {what} reaches sector {s}, beyond the file")));
            }
            if !seen.visit(s, &mut sector_runs(&runs)) {
                return Err(bad(format!("the chain of {what} contains duplicate sector {s}")));
            }
            match runs.last_mut() {
                Some((first, n)) if *first + *n == s => *n += 1,
                _ => runs.push((s, 1)),
            }
            if i + 1 < count {
                s = self.next(s, cache)?;
            }
        }
        Ok(runs)
    }

    /// Sector runs as byte runs covering `len` stream bytes.
    fn to_runs(&self, runs: &[(u32, u32)], len: u64) -> Vec<Run> {
        let mut out = Vec::with_capacity(runs.len());
        let mut at = 0u64;
        for &(s, n) in runs {
            if at >= len {
                break;
            }
            let bytes = (u64::from(n) << self.shift).min(len - at);
            out.push(Run { at, file: (u64::from(s) + 1) << self.shift, len: bytes });
            at += bytes;
        }
        out
    }

    /// The directory chain's raw 128-byte slots.
    fn read_directory(&self, first: u32, cache: &mut FatCache) -> io::Result<Vec<u8>> {
        let ss = 1usize << self.shift;
        let mut out = Vec::new();
        let mut seen = Seen::new(self.sectors);
        let mut visited: Vec<u32> = Vec::new();
        let mut s = first;
        while s != END_OF_CHAIN {
            if s > MAX_REGULAR || u64::from(s) >= self.sectors {
                return Err(bad(format!("the directory chain reaches sector {s}, beyond the file")));
            }
            if !seen.visit(s, &mut visited.iter().copied()) {
                return Err(bad(format!("the directory chain loops (sector {s} twice)")));
            }
            visited.push(s);
            if (out.len() / 128) as u64 >= MAX_DIR_SLOTS {
                return Err(bad(format!("the directory holds more than {MAX_DIR_SLOTS} slots")));
            }
            let at = out.len();
            out.resize(at + ss, 0);
            self.read_meta(s, &mut out[at..])?;
            s = self.next(s, cache)?;
        }
        if out.is_empty() {
            return Err(bad("the directory is empty"));
        }
        Ok(out)
    }

    /// Walk the directory tree from the root, keeping reachable entries only.
    fn build_tree(&mut self, slots: &[u8]) -> io::Result<()> {
        let count = slots.len() / 128;
        let slot = |i: u32| -> io::Result<&[u8]> {
            if i as usize >= count {
                return Err(bad(format!("entry {i} is beyond the {count} directory slots")));
            }
            Ok(&slots[i as usize * 128..i as usize * 128 + 128])
        };
        let root = slot(0)?;
        if root[66] != 5 {
            return Err(bad("the root entry is missing"));
        }
        let mut root_clsid = [0u8; 16];
        root_clsid.copy_from_slice(&root[80..96]);
        self.nodes.push(Node {
            name: "Root Entry".into(),
            storage: true,
            parent: 0,
            depth: 0,
            clsid: root_clsid,
            start: u32at(root, 116),
            len: self.entry_len(root),
            children: Vec::new(),
            meta: meta_of(root),
        });
        let mut visited = vec![false; count];
        visited[0] = true;
        // Storages whose children are still to be collected: (node, first child slot).
        let mut pending: Vec<(usize, u32)> = vec![(0, u32at(root, 76))];
        while let Some((parent, top)) = pending.pop() {
            // In-order walk of this storage's sibling tree.
            let mut stack: Vec<(u32, bool)> = Vec::new();
            if top != NO_STREAM {
                stack.push((top, false));
            }
            let mut kids: Vec<usize> = Vec::new();
            let mut names = std::collections::HashSet::new();
            while let Some((i, expanded)) = stack.pop() {
                let e = slot(i)?;
                if expanded {
                    let depth = self.nodes[parent].depth + 1;
                    let node = self.node(e, i, parent, depth)?;
                    if !names.insert(node.name.to_uppercase()) {
                        return Err(bad(format!("two entries named {:?} in one storage", node.name)));
                    }
                    let child = u32at(e, 76);
                    let idx = self.nodes.len();
                    if node.storage {
                        if depth >= MAX_DEPTH {
                            return Err(bad(format!("storages nested more than {MAX_DEPTH} deep")));
                        }
                        pending.push((idx, child));
                    }
                    self.nodes.push(node);
                    if self.nodes.len() > MAX_ENTRIES {
                        return Err(bad(format!("more than {MAX_ENTRIES} directory entries (the limit)")));
                    }
                    kids.push(idx);
                    continue;
                }
                if visited.get(i as usize).copied().unwrap_or(false) {
                    return Err(bad(format!("loop in tree (entry {i} reached twice)")));
                }
                if i as usize >= count {
                    return Err(bad(format!("entry {i} is beyond the {count} directory slots")));
                }
                visited[i as usize] = true;
                let (left, right) = (u32at(e, 68), u32at(e, 72));
                if right != NO_STREAM {
                    stack.push((right, false));
                }
                stack.push((i, true));
                if left != NO_STREAM {
                    stack.push((left, false));
                }
            }
            self.nodes[parent].children = kids;
        }
        Ok(())
    }

    fn entry_len(&self, e: &[u8]) -> u64 {
        let lo = u64::from(u32at(e, 120));
        if self.major == 3 {
            lo
        } else {
            lo | (u64::from(u32at(e, 124)) << 32)
        }
    }

    /// Check and decode directory slot `i`.
    fn node(&self, e: &[u8], i: u32, parent: usize, depth: usize) -> io::Result<Node> {
        let storage = match e[66] {
            1 => true,
            2 => false,
            t => return Err(bad(format!("entry {i} has object type {t} inside the tree"))),
        };
        let name_bytes = u16at(e, 64) as usize;
        if name_bytes > 64 {
            return Err(bad(format!("entry {i}: name length too large: {name_bytes}")));
        }
        if !name_bytes.is_multiple_of(2) {
            return Err(bad(format!("entry {i}: odd name length: {name_bytes}")));
        }
        if name_bytes < 4 {
            return Err(bad(format!("entry {i}: empty name")));
        }
        let units: Vec<u16> = (0..name_bytes / 2).map(|k| u16at(e, 2 * k)).collect();
        if units[units.len() - 1] != 0 {
            return Err(bad(format!("entry {i}: name not null-terminated")));
        }
        let name = String::from_utf16(&units[..units.len() - 1])
            .map_err(|_| bad(format!("entry {i}: name not valid UTF-16")))?;
        if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\' | ':' | '!' | '\0')) {
            return Err(bad(format!("entry {i}: name {name:?} contains {c:?}")));
        }
        if name == "." || name == ".." {
            return Err(bad(format!("entry {i}: name {name:?}")));
        }
        let mut clsid = [0u8; 16];
        clsid.copy_from_slice(&e[80..96]);
        let len = if storage { 0 } else { self.entry_len(e) };
        Ok(Node {
            name,
            storage,
            parent,
            depth,
            clsid,
            start: u32at(e, 116),
            len,
            children: Vec::new(),
            meta: meta_of(e),
        })
    }

    /// The compound-file version.
    pub fn version(&self) -> cfb::Version {
        if self.major == 4 {
            cfb::Version::V4
        } else {
            cfb::Version::V3
        }
    }

    /// The root storage's class id.
    pub fn root_clsid(&self) -> uuid::Uuid {
        uuid::Uuid::from_bytes_le(self.nodes[0].clsid)
    }

    fn path_of(&self, mut i: usize) -> String {
        let mut parts = Vec::new();
        while i != 0 {
            parts.push(self.nodes[i].name.as_str());
            i = self.nodes[i].parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    fn info(&self, i: usize) -> EntryInfo {
        let n = &self.nodes[i];
        EntryInfo {
            name: n.name.clone(),
            path: self.path_of(i),
            storage: n.storage,
            len: n.len,
            clsid: uuid::Uuid::from_bytes_le(n.clsid),
        }
    }

    /// The node at `path` (`/`-separated; names compare exactly, then ignoring case).
    fn find(&self, path: &str) -> Option<usize> {
        let mut at = 0usize;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let kids = &self.nodes[at].children;
            at =
                kids.iter().copied().find(|&k| self.nodes[k].name == part).or_else(|| {
                    kids.iter().copied().find(|&k| self.nodes[k].name.to_uppercase() == part.to_uppercase())
                })?;
        }
        Some(at)
    }

    /// The entries of the storage at `path`, in directory order.
    pub fn children(&self, path: &str) -> io::Result<Vec<EntryInfo>> {
        match self.find(path) {
            Some(i) if self.nodes[i].storage => Ok(self.nodes[i].children.iter().map(|&k| self.info(k)).collect()),
            Some(_) => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{path} is a stream"))),
            None => Err(io::Error::new(io::ErrorKind::NotFound, format!("no storage {path}"))),
        }
    }

    /// Every storage and stream below the root, each storage before what it holds.
    pub fn walk(&self) -> Vec<EntryInfo> {
        (1..self.nodes.len()).map(|i| self.info(i)).collect()
    }

    /// How many entries (the root included) the tree holds.
    pub fn entry_count(&self) -> usize {
        self.nodes.len()
    }

    /// Open the stream at `path`.
    pub fn open_stream(&self, path: &str) -> io::Result<StreamReader> {
        self.open_stream_prefix(path, u64::MAX)
    }

    /// Open the first `max` bytes of the stream at `path` (following only the sectors
    /// that hold them: a look at a cabinet's signature need not walk its whole chain).
    pub fn open_stream_prefix(&self, path: &str, max: u64) -> io::Result<StreamReader> {
        let i = self.find(path).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no stream {path}")))?;
        let n = &self.nodes[i];
        if n.storage {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{path} is a storage")));
        }
        let len = n.len.min(max);
        let runs = if len == 0 {
            Vec::new()
        } else if n.len < MINI_CUTOFF {
            self.mini_chain(n.start, len, path)?
        } else {
            let ss = 1u64 << self.shift;
            let mut cache = FatCache { idx: usize::MAX, buf: vec![0; ss as usize] };
            let runs = self.chain(n.start, len.div_ceil(ss), &mut cache, path)?;
            self.to_runs(&runs, len)
        };
        Ok(StreamReader { file: std::sync::Arc::clone(&self.file), real_len: self.real_len, runs, len, pos: 0, run: 0 })
    }

    /// The runs of a small stream, through the MiniFAT and the mini stream.
    fn mini_chain(&self, start: u32, len: u64, what: &str) -> io::Result<Vec<Run>> {
        let count = len.div_ceil(MINI_SECTOR);
        let mut seen = Seen::new(self.minifat.len() as u64);
        let mut visited: Vec<u32> = Vec::new();
        let mut out: Vec<Run> = Vec::new();
        let mut s = start;
        for i in 0..count {
            if (s as usize) >= self.minifat.len() {
                return Err(bad(format!("the mini chain of {what} reaches mini sector {s} after {i} of {count}")));
            }
            if !seen.visit(s, &mut visited.iter().copied()) {
                return Err(bad(format!("the mini chain of {what} contains duplicate sector {s}")));
            }
            visited.push(s);
            let at = u64::from(s) * MINI_SECTOR;
            let want = MINI_SECTOR.min(len - i * MINI_SECTOR);
            let file = self.mini_offset(at, want).ok_or_else(|| {
                bad(format!("the mini chain of {what} reaches mini sector {s}, beyond the mini stream"))
            })?;
            match out.last_mut() {
                Some(r) if r.file + r.len == file => r.len += want,
                _ => out.push(Run { at: i * MINI_SECTOR, file, len: want }),
            }
            s = self.minifat[s as usize];
        }
        Ok(out)
    }

    /// File offset of `len` bytes at `at` in the mini stream (a mini sector never straddles
    /// two regular sectors).
    fn mini_offset(&self, at: u64, len: u64) -> Option<u64> {
        let k = self.mini_runs.partition_point(|r| r.at + r.len <= at);
        let r = self.mini_runs.get(k)?;
        (at >= r.at && at + len <= r.at + r.len).then(|| r.file + (at - r.at))
    }
}

fn meta_of(e: &[u8]) -> [u8; 20] {
    let mut m = [0u8; 20];
    m.copy_from_slice(&e[96..116]);
    m
}

// ---- Read-only view for Authenticode (crate::sign): raw names and entry metadata. ----

/// A directory entry with the raw fields a signature digest covers.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// Name as stored: UTF-16 code units without the terminating NUL (empty for the root).
    pub name_utf16: Vec<u16>,
    /// Path from the root, for [`Compound::open_stream`].
    pub path: String,
    /// A storage (or the root) rather than a stream.
    pub storage: bool,
    /// The class id bytes as stored.
    pub clsid: [u8; 16],
    /// State bits (4 bytes), creation time (8) and modification time (8), as stored.
    pub meta: [u8; 20],
    /// Stream length (0 for storages).
    pub len: u64,
    /// Indices of the children in this list (for storages).
    pub children: Vec<usize>,
}

impl Compound {
    /// Every reachable entry, the root first (index 0), with raw names and metadata.
    pub fn raw_entries(&self) -> Vec<RawEntry> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| RawEntry {
                name_utf16: if i == 0 { Vec::new() } else { n.name.encode_utf16().collect() },
                path: if i == 0 { "/".into() } else { self.path_of(i) },
                storage: n.storage,
                clsid: n.clsid,
                meta: n.meta,
                len: n.len,
                children: n.children.clone(),
            })
            .collect()
    }
}

/// A stream of a compound file, readable and seekable on its own. A clone reads the
/// same stream independently (positioned reads on a shared handle).
#[derive(Clone)]
pub struct StreamReader {
    file: Shared,
    real_len: u64,
    runs: Vec<Run>,
    len: u64,
    pos: u64,
    /// Index of the run holding `pos` (a hint; checked on each read).
    run: usize,
}

impl StreamReader {
    /// The stream's length.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// How many leading bytes of the stream are really in the file (less than its length
    /// only in a truncated package).
    pub fn present(&self) -> u64 {
        for r in &self.runs {
            if r.file + r.len > self.real_len {
                return r.at + self.real_len.saturating_sub(r.file);
            }
        }
        self.len
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let ok = |r: &Run, pos: u64| pos >= r.at && pos < r.at + r.len;
        if !self.runs.get(self.run).is_some_and(|r| ok(r, self.pos)) {
            self.run = self.runs.partition_point(|r| r.at + r.len <= self.pos);
        }
        let Some(&r) = self.runs.get(self.run) else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "stream offset outside its sectors"));
        };
        let into = self.pos - r.at;
        let want = (r.len - into).min(buf.len() as u64) as usize;
        let off = r.file + into;
        if off >= self.real_len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream data lies past the end of the truncated package",
            ));
        }
        let want = want.min((self.real_len - off) as usize);
        let n = read_at(&self.file, &mut buf[..want], off)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the package ended while a stream was read"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for StreamReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => i128::from(p),
            SeekFrom::End(d) => i128::from(self.len) + i128::from(d),
            SeekFrom::Current(d) => i128::from(self.pos) + i128::from(d),
        };
        if new < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of a stream"));
        }
        self.pos = u64::try_from(new).unwrap_or(u64::MAX);
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;

    /// Build a compound file with the `cfb` crate and read it back with this reader.
    fn round_trip(version: cfb::Version, streams: &[(&str, Vec<u8>)]) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.cfb");
        {
            let f = File::create(&p).unwrap();
            let mut c = cfb::CompoundFile::create_with_version(version, f).unwrap();
            c.create_storage("/sub").unwrap();
            for (name, data) in streams {
                c.create_stream(name).unwrap().write_all(data).unwrap();
            }
            c.flush().unwrap();
        }
        let f = File::open(&p).unwrap();
        let len = f.metadata().unwrap().len();
        let c = Compound::open(std::sync::Arc::new(f), len, len).unwrap();
        for (name, data) in streams {
            let mut r = c.open_stream(name).unwrap();
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            assert_eq!(&got, data, "{name}");
            if data.len() >= 300_000 {
                // A stream written in one go lies mostly in consecutive sectors: a few
                // runs (the writer puts allocation-table sectors between), not one entry
                // per sector.
                assert!(r.runs.len() <= 8, "{name}: {} runs", r.runs.len());
            }
            let mut head = Vec::new();
            c.open_stream_prefix(name, 5).unwrap().read_to_end(&mut head).unwrap();
            assert_eq!(head, data[..data.len().min(5)], "{name}: prefix");
            if data.len() > 10 {
                r.seek(SeekFrom::Start(5)).unwrap();
                let mut b = [0u8; 3];
                r.read_exact(&mut b).unwrap();
                assert_eq!(&b, &data[5..8]);
            }
        }
        let walked: Vec<String> = c.walk().into_iter().map(|e| e.path).collect();
        assert!(walked.contains(&"/sub".to_string()));
        assert_eq!(walked.len(), streams.len() + 1);
    }

    #[test]
    fn reads_what_the_cfb_crate_writes() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let small: Vec<u8> = (0..3000u32).map(|i| (i % 13) as u8).collect();
        let streams = vec![
            ("/a", big.clone()),
            ("/b", small.clone()),
            ("/sub/c", b"hello".to_vec()),
            ("/empty", Vec::new()),
            ("/edge", vec![9u8; 4096]),
        ];
        round_trip(cfb::Version::V3, &streams);
        round_trip(cfb::Version::V4, &streams);
    }

    #[test]
    fn revisits_are_found_on_both_paths() {
        let mut s = Seen::new(100);
        let mut none = std::iter::empty();
        assert!(s.visit(3, &mut none));
        assert!(s.visit(7, &mut std::iter::empty()));
        assert!(s.visit(5, &mut [3u32, 7].into_iter()));
        assert!(!s.visit(7, &mut std::iter::empty()));
        assert!(!s.visit(3, &mut std::iter::empty()));
        assert!(s.visit(99, &mut std::iter::empty()));
    }
}
