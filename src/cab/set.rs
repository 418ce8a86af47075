//! Cabinets as sources of data, chained into sets (prev/next), with folders that continue
//! across cabinets merged into logical folders, each decoded exactly once.

use super::checksum::block_checksum;
use super::decode::Decoder;
use super::header::*;
use crate::deadline::Deadline;
use crate::error::{Error, IoResultExt, Location, Result, Warning, WarningKind};
use crate::random_access::{read_full_at, Cursor, Shared};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A readable, seekable byte source (opened on the thread that uses it).
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Where a cabinet's bytes come from: a file, a stream inside a package, memory.
pub trait CabSource: Send + Sync {
    /// The name used in messages (`Disk1.CAB`, `pkg.msi:#cab1.cab`, a path).
    fn display(&self) -> String;
    /// The cabinet's own file name (what prev/next pointers would call it).
    fn cab_name(&self) -> String;
    /// A fresh reader positioned anywhere; the cabinet starts at offset 0.
    fn open(&self) -> Result<Box<dyn ReadSeek>>;
}

/// A cabinet file on disk.
pub struct FileSource {
    path: PathBuf,
    base: u64,
}

impl FileSource {
    /// A source for the cabinet at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource { path: path.into(), base: 0 }
    }
    /// A cabinet that starts `base` bytes into the file (inside an installer, say).
    pub fn at_offset(path: impl Into<PathBuf>, base: u64) -> Self {
        FileSource { path: path.into(), base }
    }
}

/// A view of a reader that starts at `base`.
struct Window<R> {
    inner: R,
    base: u64,
}

impl<R: Read> Read for Window<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Window<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let abs = match pos {
            SeekFrom::Start(p) => self.inner.seek(SeekFrom::Start(self.base.saturating_add(p)))?,
            other => self.inner.seek(other)?,
        };
        if abs < self.base {
            self.inner.seek(SeekFrom::Start(self.base))?;
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before cabinet start"));
        }
        Ok(abs - self.base)
    }
}

/// Find a cabinet inside `src` when it does not start at byte 0 (self-extracting
/// installers, cabinets behind junk): the first `MSCF` whose header parses and whose
/// declared size fits the file. Scans at most `limit` bytes.
pub fn search_cabinet_in(src: &Shared, limit: u64) -> Result<Option<u64>> {
    /// Candidates that pass the cheap checks but not a full header parse; past this many
    /// the search gives up (a file crafted with endless near-valid headers stays linear).
    const MAX_FALSE_HEADERS: usize = 256;
    let len = src.len().io_ctx("reading size")?;
    let mut buf = vec![0u8; 1 << 16];
    let mut at: u64 = 0;
    let end = len.min(limit);
    let mut false_headers = 0;
    while at < end {
        let n = read_full_at(&**src, &mut buf, at).io_ctx("reading")?;
        if n < 4 {
            break;
        }
        // Scan up to where a whole 36-byte header still fits in this read; the rest is
        // scanned at the start of the next read (the last read scans to its end).
        let last = n < buf.len() || at + n as u64 >= len;
        let scan = if last { n - 3 } else { n - 35 };
        for i in 0..scan {
            if &buf[i..i + 4] != b"MSCF" {
                continue;
            }
            let off = at + i as u64;
            // Cheap checks on the fixed header when it is in the buffer: format version
            // 1.x and a size that fits the file (reserved fields are not checked: real
            // cabinets behind junk have them non-zero).
            if i + 36 <= n {
                let h = &buf[i..i + 36];
                let size = u64::from(u32::from_le_bytes([h[8], h[9], h[10], h[11]]));
                if h[25] != 1 || size < 36 || size > len - off {
                    continue;
                }
            }
            let candidate = MemSource::shared("candidate", src.clone(), off);
            match read_header(&candidate) {
                Ok(h) if u64::from(h.size) <= len - off && !h.folders.is_empty() => return Ok(Some(off)),
                _ => {
                    false_headers += 1;
                    if false_headers >= MAX_FALSE_HEADERS {
                        return Err(Error::format(format!(
                            "gave up looking for a cabinet after {MAX_FALSE_HEADERS} invalid MSCF headers"
                        )));
                    }
                }
            }
        }
        at += scan as u64;
    }
    Ok(None)
}

impl CabSource for FileSource {
    fn display(&self) -> String {
        self.path.display().to_string()
    }
    fn cab_name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
    fn open(&self) -> Result<Box<dyn ReadSeek>> {
        let f = crate::random_access::open_file(&self.path)?;
        if self.base == 0 {
            Ok(Box::new(f))
        } else {
            Ok(Box::new(Window { inner: f, base: self.base }))
        }
    }
}

/// A cabinet in memory, or in any input read by position.
pub struct MemSource {
    name: String,
    data: Shared,
    base: u64,
}

impl MemSource {
    /// A source over `data` called `name`.
    pub fn new(name: impl Into<String>, data: Vec<u8>) -> Self {
        MemSource { name: name.into(), data: Arc::new(data), base: 0 }
    }
    /// A cabinet that starts `base` bytes into `data`.
    pub fn shared(name: impl Into<String>, data: Shared, base: u64) -> Self {
        MemSource { name: name.into(), data, base }
    }
}

impl CabSource for MemSource {
    fn display(&self) -> String {
        self.name.clone()
    }
    fn cab_name(&self) -> String {
        self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name).to_string()
    }
    fn open(&self) -> Result<Box<dyn ReadSeek>> {
        Ok(Box::new(Cursor::new(self.data.clone(), self.base).io_ctx("reading cabinet")?))
    }
}

/// Finds the cabinet a `next` pointer names.
pub trait CabResolver {
    /// The source for cabinet `name`, following `current`; `None` when absent.
    fn resolve(&self, current: &dyn CabSource, name: &str) -> Option<Arc<dyn CabSource>>;
}

/// Resolves next cabinets as files beside the current one (case-insensitive, never
/// outside that folder).
pub struct DirResolver {
    dir: PathBuf,
}

impl DirResolver {
    /// Look in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirResolver { dir: dir.into() }
    }
}

/// Find `name` in `dir` case-insensitively; plain names only.
pub fn find_beside(dir: &Path, name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains(['/', '\\', ':']) || name == "." || name == ".." {
        return None;
    }
    let exact = dir.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    let lower = name.to_lowercase();
    let rd = std::fs::read_dir(dir).ok()?;
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().to_lowercase() == lower && e.path().is_file() {
            return Some(e.path());
        }
    }
    None
}

/// Resolves nothing: a cabinet on its own (in memory, say).
pub struct NoResolver;

impl CabResolver for NoResolver {
    fn resolve(&self, _current: &dyn CabSource, _name: &str) -> Option<Arc<dyn CabSource>> {
        None
    }
}

impl CabResolver for DirResolver {
    fn resolve(&self, _current: &dyn CabSource, name: &str) -> Option<Arc<dyn CabSource>> {
        find_beside(&self.dir, name).map(|p| Arc::new(FileSource::new(p)) as Arc<dyn CabSource>)
    }
}

/// One cabinet of a set, opened.
pub struct OpenCab {
    /// Where it comes from.
    pub source: Arc<dyn CabSource>,
    /// Its name ([`CabSource::cab_name`]), shared by every entry planned from it.
    pub name: Arc<str>,
    /// Its directory.
    pub header: CabHeader,
}

impl OpenCab {
    /// A cabinet read from `source` with directory `header`.
    pub fn new(source: Arc<dyn CabSource>, header: CabHeader) -> OpenCab {
        OpenCab { name: source.cab_name().into(), source, header }
    }
}

/// A folder as the compressor saw it: one stream, possibly stored in several cabinets.
#[derive(Debug, Clone)]
pub struct LogicalFolder {
    /// (cabinet index, folder index) pieces in order.
    pub segments: Vec<(usize, usize)>,
    /// Compression method.
    pub compression: Compression,
    /// The files stored in it: (cabinet index, file index), each listed once.
    pub files: Vec<(usize, usize)>,
}

/// A file that cannot be extracted from this set, and why.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// (cabinet index, file index).
    pub file: (usize, usize),
    /// Why.
    pub reason: String,
}

/// A chain of cabinets with its logical folders.
pub struct CabSet {
    /// The cabinets in chain order.
    pub cabs: Vec<OpenCab>,
    /// Logical folders.
    pub folders: Vec<LogicalFolder>,
    /// Files whose data is not in this chain (they start in a cabinet not given).
    pub unreachable: Vec<Unreachable>,
    /// Problems with the chain itself (a missing next cabinet, a set mismatch).
    pub warnings: Vec<Warning>,
}

/// At most this many cabinets in one chain.
pub const MAX_CHAIN: usize = 1000;

/// Read one cabinet's directory.
pub fn read_header(source: &dyn CabSource) -> Result<CabHeader> {
    let mut r = source.open()?;
    CabHeader::read(&mut r).map_err(|e| e.context(source.display()))
}

impl CabSet {
    /// Open `first` and follow its `next` pointers through `resolver`.
    pub fn open_chain(first: Arc<dyn CabSource>, resolver: &dyn CabResolver) -> Result<CabSet> {
        let header = read_header(first.as_ref())?;
        let mut warnings: Vec<Warning> = header
            .notes
            .iter()
            .map(|n| Warning::new(WarningKind::CabinetHeader, format!("{}: {n}", first.display())))
            .collect();
        let mut cabs = vec![OpenCab::new(first, header)];
        // Walk back to the head of the set, as cabextract does, so that a set can be
        // opened from any of its parts.
        while let Some((prev_name, _)) = cabs[0].header.prev.clone() {
            if cabs.len() >= MAX_CHAIN {
                break;
            }
            let cur = cabs[0].source.clone();
            let Some(src) = resolver.resolve(cur.as_ref(), &prev_name) else {
                warnings.push(Warning::new(
                    WarningKind::CabinetSet,
                    format!("{}: previous cabinet {prev_name:?} not found", cur.display()),
                ));
                break;
            };
            if cabs.iter().any(|c| c.source.display() == src.display()) {
                break;
            }
            let Ok(header) = read_header(src.as_ref()) else {
                warnings.push(Warning::new(
                    WarningKind::CabinetSet,
                    format!("{}: previous cabinet {prev_name:?} is not readable", cur.display()),
                ));
                break;
            };
            if header.next.is_none() {
                break;
            }
            cabs.insert(0, OpenCab::new(src, header));
        }
        while let Some((next_name, _)) = cabs.last().and_then(|c| c.header.next.clone()) {
            if cabs.len() >= MAX_CHAIN {
                warnings.push(Warning::new(
                    WarningKind::CabinetSet,
                    format!("cabinet chain longer than {MAX_CHAIN}; stopped"),
                ));
                break;
            }
            let cur = cabs.last().map(|c| c.source.clone());
            let Some(cur) = cur else { break };
            let Some(src) = resolver.resolve(cur.as_ref(), &next_name) else {
                warnings.push(Warning::new(
                    WarningKind::CabinetSet,
                    format!("{}: next cabinet {next_name:?} not found", cur.display()),
                ));
                break;
            };
            if cabs.iter().any(|c| c.source.display() == src.display()) {
                warnings.push(Warning::new(
                    WarningKind::CabinetSet,
                    format!("{}: cabinet chain loops back to {next_name:?}", cur.display()),
                ));
                break;
            }
            let header = match read_header(src.as_ref()) {
                Ok(h) => h,
                Err(e) => {
                    warnings.push(Warning::new(
                        WarningKind::CabinetSet,
                        format!("{}: next cabinet {next_name:?}: {e}", cur.display()),
                    ));
                    break;
                }
            };
            if header.flags & FLAG_PREV_CABINET == 0 {
                warnings.push(Warning::new(
                    WarningKind::CabinetSet,
                    format!("{}: {next_name:?} does not declare a previous cabinet; not joined", cur.display()),
                ));
                break;
            }
            cabs.push(OpenCab::new(src, header));
        }
        Ok(Self::assemble(cabs, warnings))
    }

    /// Build logical folders from cabinets already in chain order.
    pub fn assemble(cabs: Vec<OpenCab>, warnings: Vec<Warning>) -> CabSet {
        let mut folders: Vec<LogicalFolder> = Vec::new();
        let mut unreachable = Vec::new();
        // map (cab, folder) -> logical folder index
        let mut map: Vec<Vec<usize>> = Vec::with_capacity(cabs.len());
        for (ci, cab) in cabs.iter().enumerate() {
            let continues = cab
                .header
                .files
                .iter()
                .any(|f| f.folder == IFOLD_CONTINUED_FROM_PREV || f.folder == IFOLD_CONTINUED_PREV_AND_NEXT);
            let mut m = Vec::with_capacity(cab.header.folders.len());
            for (fi, folder) in cab.header.folders.iter().enumerate() {
                let join = ci > 0
                    && fi == 0
                    && continues
                    && !folders.is_empty()
                    && folders.last().map(|f| f.compression) == Some(folder.compression)
                    && !cabs[ci - 1].header.folders.is_empty();
                if join {
                    let last = folders.len() - 1;
                    folders[last].segments.push((ci, fi));
                    m.push(last);
                } else {
                    folders.push(LogicalFolder {
                        segments: vec![(ci, fi)],
                        compression: folder.compression,
                        files: Vec::new(),
                    });
                    m.push(folders.len() - 1);
                }
            }
            map.push(m);
        }
        for (ci, cab) in cabs.iter().enumerate() {
            let nf = cab.header.folders.len();
            for (fi, f) in cab.header.files.iter().enumerate() {
                let target = match f.folder {
                    IFOLD_CONTINUED_TO_NEXT => nf.checked_sub(1),
                    IFOLD_CONTINUED_FROM_PREV | IFOLD_CONTINUED_PREV_AND_NEXT => {
                        if ci == 0 || map[ci].first().is_none_or(|&l| folders[l].segments[0].0 >= ci) {
                            unreachable.push(Unreachable {
                                file: (ci, fi),
                                reason: format!(
                                    "{} starts in a previous cabinet ({}) that was not given",
                                    f.name,
                                    cab.header.prev.as_ref().map(|p| p.0.as_str()).unwrap_or("?")
                                ),
                            });
                        }
                        // Listed already in the cabinet where it starts.
                        continue;
                    }
                    n => Some(usize::from(n)).filter(|&n| n < nf),
                };
                match target {
                    Some(folder) => {
                        let lf = map[ci][folder];
                        // A file in a cabinet that starts mid-folder cannot be decoded.
                        if folders[lf].segments[0].0 == ci
                            && folders[lf].segments[0].1 == folder
                            && ci == 0
                            && folder == 0
                            && cab.header.flags & FLAG_PREV_CABINET != 0
                            && cab.header.files.iter().any(|g| {
                                g.folder == IFOLD_CONTINUED_FROM_PREV || g.folder == IFOLD_CONTINUED_PREV_AND_NEXT
                            })
                            && f.folder == 0
                        {
                            unreachable.push(Unreachable {
                                file: (ci, fi),
                                reason: format!("{} lies in a folder that starts in a previous cabinet", f.name),
                            });
                            continue;
                        }
                        folders[lf].files.push((ci, fi));
                    }
                    None => unreachable.push(Unreachable {
                        file: (ci, fi),
                        reason: format!("{} names folder {} which does not exist", f.name, f.folder),
                    }),
                }
            }
        }
        // Drop the first folder of a chain that starts mid-set: its data begins mid-stream.
        CabSet { cabs, folders, unreachable, warnings }
    }

    /// The file entry for a (cabinet, file) reference.
    pub fn file(&self, r: (usize, usize)) -> &CabFile {
        &self.cabs[r.0].header.files[r.1]
    }

    /// Every reachable file: (logical folder index, (cabinet, file)).
    pub fn all_files(&self) -> impl Iterator<Item = (usize, (usize, usize))> + '_ {
        self.folders.iter().enumerate().flat_map(|(i, f)| f.files.iter().map(move |&r| (i, r)))
    }

    /// Decode logical folder `index` from its start, handing each decoded block to `sink`
    /// with its offset in the folder. `sink` returns `false` to stop early. `deadline` is
    /// checked before every block.
    pub fn decode_folder(
        &self,
        index: usize,
        deadline: &Deadline,
        sink: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let lf = &self.folders[index];
        let mut decoder = Decoder::new(lf.compression)?;
        let mut out = Vec::with_capacity(super::decode::MAX_BLOCK);
        let mut pos: u64 = 0;
        let mut pending: Vec<u8> = Vec::new();
        let mut block_no = 0usize;
        // MSZIP: blocks are batched and decoded in parallel, each first without the
        // previous block's history; the few that need it are redone in order.
        let batched = lf.compression == Compression::MsZip;
        // A small folder is decoded on this thread alone: starting the pool's threads
        // costs more than they save.
        let blocks: usize =
            lf.segments.iter().map(|&(ci, fi)| usize::from(self.cabs[ci].header.folders[fi].num_blocks)).sum();
        let parallel = blocks >= PARALLEL_MIN_BLOCKS;
        let mut batch: Batch = Vec::new();
        let mut history: Vec<u8> = Vec::new();
        for (si, &(ci, fi)) in lf.segments.iter().enumerate() {
            let cab = &self.cabs[ci];
            let folder = &cab.header.folders[fi];
            let name = cab.source.display();
            let mut r = cab.source.open()?;
            r.seek(SeekFrom::Start(u64::from(folder.data_offset)))
                .io_ctx(format_args!("{name}: seeking to folder {fi} data"))?;
            let mut r = std::io::BufReader::with_capacity(1 << 16, r);
            let reserve = usize::from(cab.header.data_reserve);
            let mut hdr = vec![0u8; 8 + reserve];
            let mut data = Vec::with_capacity(65536);
            let last_segment = si + 1 == lf.segments.len();
            for b in 0..folder.num_blocks {
                deadline.check()?;
                let at = || format!("{name}: folder {fi} block {b}");
                r.read_exact(&mut hdr).io_ctx(format_args!("{}: reading CFDATA header", at()))?;
                let csum = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                let cb_data = u16::from_le_bytes([hdr[4], hdr[5]]);
                let cb_uncomp = u16::from_le_bytes([hdr[6], hdr[7]]);
                data.clear();
                data.resize(usize::from(cb_data), 0);
                r.read_exact(&mut data).io_ctx(format_args!("{}: reading {cb_data} bytes of data", at()))?;
                if csum != 0 {
                    let want = block_checksum(&data, cb_data, cb_uncomp);
                    if want != csum {
                        return Err(Error::format(format!(
                            "{}: checksum mismatch (stored 0x{csum:08x}, computed 0x{want:08x})",
                            at()
                        ))
                        .at(Location::Cabinet { name: cab.source.cab_name() })
                        .at(Location::Folder { index: fi })
                        .at(Location::Block { index: usize::from(b) }));
                    }
                }
                let is_last_block = b + 1 == folder.num_blocks;
                if cb_uncomp == 0 && is_last_block {
                    if last_segment {
                        return Err(Error::new(
                            crate::error::ErrorKind::Missing,
                            format!(
                                "{}: the folder continues in the next cabinet ({}), which is not available",
                                at(),
                                cab.header.next.as_ref().map(|n| n.0.as_str()).unwrap_or("?")
                            ),
                        ));
                    }
                    // The block continues in the next cabinet.
                    pending.extend_from_slice(&data);
                    continue;
                }
                let input: &[u8] = if pending.is_empty() {
                    &data
                } else {
                    pending.extend_from_slice(&data);
                    &pending
                };
                if batched {
                    batch.push((input.to_vec(), usize::from(cb_uncomp), at()));
                    pending.clear();
                    if batch.len() >= MSZIP_BATCH && !flush_batch(&mut batch, parallel, &mut pos, &mut history, sink)? {
                        return Ok(());
                    }
                    continue;
                }
                decoder.decode(input, usize::from(cb_uncomp), &mut out).map_err(|e| e.context(at()))?;
                pending.clear();
                block_no += 1;
                let keep_going = flush_sink(sink, pos, &out)?;
                pos += out.len() as u64;
                if !keep_going {
                    return Ok(());
                }
            }
        }
        let _ = block_no;
        if batched && !batch.is_empty() {
            flush_batch(&mut batch, parallel, &mut pos, &mut history, sink)?;
        }
        Ok(())
    }
}

type Batch = Vec<(Vec<u8>, usize, String)>;

/// Decode a batch of MSZIP blocks (in parallel, then in order where history is needed)
/// and hand them to `sink`; `false` when the sink wants no more.
fn flush_batch(
    batch: &mut Batch,
    parallel: bool,
    pos: &mut u64,
    history: &mut Vec<u8>,
    sink: &mut dyn FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<bool> {
    use rayon::prelude::*;
    let first = |(inp, n, _): &(Vec<u8>, usize, String)| super::decode::inflate_mszip(inp, *n, None).ok();
    let spec: Vec<Option<Vec<u8>>> =
        if parallel { batch.par_iter().map(first).collect() } else { batch.iter().map(first).collect() };
    for ((inp, n, at), got) in batch.drain(..).zip(spec) {
        let data = match got {
            Some(d) => d,
            None => super::decode::inflate_mszip(&inp, n, Some(history.as_slice())).map_err(|e| e.context(&at))?,
        };
        if data.len() >= super::decode::MAX_BLOCK {
            history.clear();
            history.extend_from_slice(&data[data.len() - super::decode::MAX_BLOCK..]);
        } else {
            history.extend_from_slice(&data);
            let cut = history.len().saturating_sub(super::decode::MAX_BLOCK);
            history.drain(..cut);
        }
        let keep = sink(*pos, &data)?;
        *pos += data.len() as u64;
        if !keep {
            return Ok(false);
        }
    }
    Ok(true)
}

fn flush_sink(sink: &mut dyn FnMut(u64, &[u8]) -> Result<bool>, pos: u64, data: &[u8]) -> Result<bool> {
    sink(pos, data)
}

/// MSZIP blocks decoded together (32 KiB each). Measured on 2 cores (kb.msi, big.msi):
/// 12 beat 4 (the pool starts too often), 32 and 96 (the writing thread waits longer
/// for each batch, and idle pool threads spin meanwhile).
const MSZIP_BATCH: usize = 12;

/// MSZIP folders of fewer blocks (2 MiB) have their blocks decoded one after the other.
const PARALLEL_MIN_BLOCKS: usize = 64;

/// Folders with less data than this are decoded on the calling thread.
const PIPELINE_MIN: u64 = 1 << 20;
/// Decoded blocks in flight between the decoding and the writing thread (32 KiB each).
const PIPELINE_DEPTH: usize = 16;

/// One destination for a file's bytes.
pub trait EntrySink {
    /// More bytes, in order.
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// All bytes delivered.
    fn finish(&mut self) -> Result<()>;
}

/// A file of a logical folder: its byte range.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// Offset in the folder.
    pub start: u64,
    /// Length.
    pub len: u64,
}

/// Decode folder `index` once and split it into the files `spans` describes. A file's
/// destination is made by `open(i)` only when the decoder reaches the file, so memory
/// holds the files being written, not every file of the folder; `label(i)` names a file
/// in messages. Returns the errors, one per file that was not written whole.
pub fn extract_folder<'a>(
    set: &CabSet,
    index: usize,
    spans: &[Span],
    deadline: &Deadline,
    open: &dyn Fn(usize) -> Box<dyn EntrySink + 'a>,
    label: &dyn Fn(usize) -> String,
) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| (spans[i].start, spans[i].len));
    // Zero-length files need no data.
    order.retain(|&i| {
        if spans[i].len > 0 {
            return true;
        }
        if let Err(e) = open(i).finish() {
            errors.push(e);
        }
        false
    });
    let mut next = 0usize;
    let mut active: Vec<(usize, Box<dyn EntrySink + 'a>)> = Vec::new();
    let mut remaining = order.len();
    let mut end_pos = 0u64;
    let total: u64 = order.iter().map(|&i| spans[i].len).sum();
    let nothing_to_do = remaining == 0;
    let mut consume = |pos: u64, data: &[u8]| -> Result<bool> {
        let chunk_end = pos + data.len() as u64;
        end_pos = chunk_end;
        while next < order.len() && spans[order[next]].start < chunk_end {
            active.push((order[next], open(order[next])));
            next += 1;
        }
        let mut k = 0;
        while k < active.len() {
            let (i, sink) = &mut active[k];
            let t = spans[*i];
            let s = t.start.max(pos);
            let e = (t.start + t.len).min(chunk_end);
            let mut result = None;
            if s < e {
                if let Err(err) = sink.write(&data[(s - pos) as usize..(e - pos) as usize]) {
                    result = Some(Err(err));
                }
            }
            if result.is_none() && t.start + t.len <= chunk_end {
                result = Some(sink.finish());
            }
            match result {
                Some(r) => {
                    if let Err(e) = r {
                        errors.push(e);
                    }
                    // `remove`, not `swap_remove`: sinks are served in the order they
                    // were opened (offset order), which streaming callers rely on.
                    active.remove(k);
                    remaining -= 1;
                }
                None => k += 1,
            }
        }
        Ok(remaining > 0)
    };
    let outcome = if nothing_to_do {
        Ok(())
    } else if total < PIPELINE_MIN {
        set.decode_folder(index, deadline, &mut consume)
    } else {
        // Decode on a second thread while this one hashes and writes: the two halves of
        // the work overlap, and memory stays bounded by the channel's depth.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>)>(PIPELINE_DEPTH);
        std::thread::scope(|scope| {
            let decoder = scope.spawn(move || {
                set.decode_folder(index, deadline, &mut |pos, data| Ok(tx.send((pos, data.to_vec())).is_ok()))
            });
            let mut result = Ok(());
            for (pos, data) in rx.iter() {
                match consume(pos, &data) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            drop(rx);
            let decoded = decoder.join().unwrap_or_else(|_| Err(Error::format("decoder thread failed")));
            result.and(decoded)
        })
    };
    let unfinished: Vec<usize> = active.iter().map(|a| a.0).chain(order[next..].iter().copied()).collect();
    drop(active);
    for i in unfinished {
        let t = spans[i];
        errors.push(match &outcome {
            Err(e) => Error::new(e.kind(), format!("{}: {}", label(i), e)),
            Ok(()) => Error::format(format!(
                "{}: folder data ends at byte {end_pos}, before the file's end at {}",
                label(i),
                t.start + t.len
            )),
        });
    }
    errors
}
