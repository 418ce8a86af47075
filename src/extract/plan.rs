//! Plans: every output file with its source, decided before anything is written.

use crate::cab::{find_beside, CabResolver, CabSet, CabSource, FileSource};
use crate::error::{Error, ErrorKind, Result, Warning, WarningKind};
use crate::msi::directory::{pick_name, Directories};
use crate::msi::{Compound, Database, PackageKind, StreamSource, TableData, Val};
use crate::output::names::split_relative;
use crate::package::{Cabinet, InputKind};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A cabinet entry's place: (logical folder, (cabinet, file)).
type EntryRef = (usize, (usize, usize));

/// Where one output file's bytes come from.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Source {
    /// An entry of a cabinet.
    Cabinet {
        /// The cabinet holding the entry's start (`#name` for embedded streams).
        cabinet: Arc<str>,
        /// The entry name inside the cabinet.
        entry: String,
        /// Logical folder index within its cabinet set.
        folder: usize,
        /// Offset within the folder.
        offset: u64,
        /// Compression method.
        #[serde(serialize_with = "compression_label")]
        #[schemars(with = "String")]
        compression: crate::cab::Compression,
        /// The cabinet set this comes from (index into the job's sets).
        #[serde(skip)]
        set: usize,
        /// The file reference within the set.
        #[serde(skip)]
        file: (usize, usize),
    },
    /// An uncompressed file in the source tree beside the package.
    Loose {
        /// Path on disk.
        path: PathBuf,
    },
    /// A binary delta (PA19) applied to the base package's file.
    Delta {
        /// Where the old bytes come from.
        base: Box<Source>,
        /// Where the delta comes from (an entry of the patch's cabinet).
        patch: Box<Source>,
    },
    /// The entry cannot be produced; why.
    Unavailable {
        /// The reason.
        reason: String,
    },
}

impl Source {
    /// The cabinet entry `file` of folder `folder` in `set` (the job's set number `set_idx`).
    fn cabinet_entry(set_idx: usize, set: &CabSet, folder: usize, file: (usize, usize)) -> Source {
        let f = set.file(file);
        Source::Cabinet {
            cabinet: Arc::clone(&set.cabs[file.0].name),
            entry: f.name.clone(),
            folder,
            offset: u64::from(f.offset),
            compression: set.folders[folder].compression,
            set: set_idx,
            file,
        }
    }
}

/// One output file.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PlanEntry {
    /// Path under the target, `/`-separated (empty when the name itself is unsafe).
    pub path: String,
    /// The key that identifies it in its package (File key, or cabinet entry name).
    pub key: String,
    /// Expected size.
    pub size: u64,
    /// Modification time to set (Unix seconds, from the cabinet entry); shown as ISO-8601
    /// UTC.
    #[serde(rename = "mtime", serialize_with = "iso_mtime")]
    #[schemars(with = "Option<String>")]
    pub mtime_unix: Option<i64>,
    /// Source.
    pub source: Source,
    /// How the path was chosen, for patch contents: `file-table` (the transforms name the
    /// file and its folder) or `file-key` (only the File key is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_by: Option<&'static str>,
    /// For patch contents: whether the entry is a binary delta rather than a whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<bool>,
}

impl PlanEntry {
    /// The checked components of [`PlanEntry::path`] (none when the path is empty).
    pub fn components(&self) -> Vec<&str> {
        if self.path.is_empty() {
            Vec::new()
        } else {
            self.path.split('/').collect()
        }
    }

    /// The modification time as ISO-8601 UTC.
    pub fn mtime(&self) -> Option<String> {
        self.mtime_unix.map(crate::dates::unix_to_iso)
    }
}

fn iso_mtime<S: serde::Serializer>(t: &Option<i64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&crate::dates::unix_to_iso(*t)),
        None => s.serialize_none(),
    }
}

fn compression_label<S: serde::Serializer>(c: &crate::cab::Compression, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&c.label())
}

/// What an extraction will write, decided before anything is written: every output file
/// with its source, the administrative copy of the package, and what the planner
/// noticed. It serialises to what `extract --dry-run --json` prints; the open sources it
/// needs (cabinet sets, the package) travel with it, so [`super::execute`] and
/// [`super::read_entry`] need nothing else.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Plan {
    /// The input.
    pub package: String,
    /// What the input is.
    pub kind: InputKind,
    /// Files to write.
    pub entries: Vec<PlanEntry>,
    /// For an installer package: the file name the administrative copy of the package gets
    /// in the target (none when only some files are extracted).
    pub admin_package: Option<String>,
    /// Embedded cabinet streams left out of the administrative copy.
    pub dropped_streams: Vec<String>,
    /// Things the user should know that do not stop extraction.
    pub warnings: Vec<Warning>,
    /// Cabinet sets referenced by `Source::Cabinet::set`.
    #[serde(skip)]
    pub(crate) sets: Vec<CabSet>,
    /// What the administrative copy is made from.
    #[serde(skip)]
    pub(crate) admin_source: Option<super::admin::AdminSource>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("package", &self.package)
            .field("kind", &self.kind)
            .field("entries", &self.entries.len())
            .field("admin_package", &self.admin_package)
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// The files to write.
    pub fn entries(&self) -> &[PlanEntry] {
        &self.entries
    }
}

/// Select entries by name: keep those whose key, file name or path matches one of
/// `names` case-insensitively.
pub(crate) fn filter_entries(plan: &mut Plan, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let wanted: Vec<String> = names.iter().map(|n| n.to_lowercase().replace('\\', "/")).collect();
    let mut hit = vec![false; wanted.len()];
    plan.entries.retain(|e| {
        let path = e.path.to_lowercase();
        let base = path.rsplit('/').next().unwrap_or("").to_string();
        let key = e.key.to_lowercase();
        let mut keep = false;
        for (i, w) in wanted.iter().enumerate() {
            if *w == path || *w == base || *w == key {
                hit[i] = true;
                keep = true;
            }
        }
        keep
    });
    let missing: Vec<&String> = names.iter().zip(&hit).filter(|(_, h)| !**h).map(|(n, _)| n).collect();
    if !missing.is_empty() {
        return Err(Error::new(
            ErrorKind::Missing,
            format!(
                "no file named {} in {}",
                missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
                plan.package
            ),
        ));
    }
    Ok(())
}

fn cab_entry(set_idx: usize, set: &CabSet, folder: usize, file: (usize, usize)) -> PlanEntry {
    let f = set.file(file);
    let checked = match &f.name_error {
        Some(e) => Err(crate::error::Error::new(ErrorKind::UnsafePath, e.to_string())),
        None => split_relative(&f.name),
    };
    let (components, source) = match checked {
        Ok(c) => (c, Source::cabinet_entry(set_idx, set, folder, file)),
        Err(e) => (Vec::new(), Source::Unavailable { reason: e.message().to_string() }),
    };
    PlanEntry {
        named_by: None,
        delta: None,
        path: components.join("/"),
        key: f.name.clone(),
        size: u64::from(f.size),
        mtime_unix: f.unix_mtime(),
        source,
    }
}

/// Plan the extraction of a cabinet and the rest of its set.
pub(crate) fn plan_cab(cab: Cabinet) -> Plan {
    let Cabinet { path, set, warnings } = cab;
    let mut entries = Vec::new();
    for (fi, r) in set.all_files() {
        entries.push(cab_entry(0, &set, fi, r));
    }
    for u in &set.unreachable {
        let f = set.file(u.file);
        entries.push(PlanEntry {
            named_by: None,
            delta: None,
            path: split_relative(&f.name).map(|c| c.join("/")).unwrap_or_default(),
            key: f.name.clone(),
            size: u64::from(f.size),
            mtime_unix: None,
            source: Source::Unavailable { reason: u.reason.clone() },
        });
    }
    Plan {
        package: path.display().to_string(),
        kind: InputKind::Cab,
        entries,
        admin_package: None,
        dropped_streams: Vec::new(),
        warnings,
        sets: vec![set],
        admin_source: None,
    }
}

/// The streams of a package (or patch) that cabinets can be read from, and where the
/// package lives for cabinets beside it.
#[derive(Clone)]
pub(crate) struct PackageStreams {
    /// The package's name in messages.
    pub label: PathBuf,
    /// The open package.
    pub compound: Arc<Compound>,
    /// Its folder, for external cabinets (none for an input in memory).
    pub dir: Option<PathBuf>,
    /// (decoded name, stored path) of every non-table root stream.
    pub streams: Vec<(String, String)>,
}

impl PackageStreams {
    pub fn of(db: &Database) -> PackageStreams {
        PackageStreams {
            label: db.path.clone(),
            compound: db.compound.clone(),
            dir: db.dir.clone(),
            streams: db.streams.iter().map(|s| (s.name.clone(), s.cfb_path.clone())).collect(),
        }
    }
}

/// Resolves cabinets named by a package: Media cabinets, embedded streams, files beside it.
struct MsiResolver(PackageStreams);

impl MsiResolver {
    fn source_for(&self, cabinet: &str) -> Option<Arc<dyn CabSource>> {
        let p = &self.0;
        if let Some(name) = cabinet.strip_prefix('#') {
            let s = p
                .streams
                .iter()
                .find(|(n, _)| n == name)
                .or_else(|| p.streams.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))?;
            return Some(Arc::new(StreamSource::new(p.compound.clone(), &p.label, &s.0, &s.1)));
        }
        let dir = p.dir.as_ref()?;
        find_beside(dir, cabinet).map(|p| Arc::new(FileSource::new(p)) as Arc<dyn CabSource>)
    }
}

impl CabResolver for MsiResolver {
    fn resolve(&self, current: &dyn CabSource, name: &str) -> Option<Arc<dyn CabSource>> {
        // A next cabinet is looked for where the current one lives first.
        let embedded = current.display().contains(":#");
        let first = if embedded { format!("#{name}") } else { name.to_string() };
        let second = if embedded { name.to_string() } else { format!("#{name}") };
        self.source_for(&first).or_else(|| self.source_for(&second))
    }
}

fn source_path(root: &Path, comps: &[String]) -> Option<PathBuf> {
    // Case-insensitive walk of the source tree beside the package.
    let mut p = root.to_path_buf();
    for c in comps {
        let exact = p.join(c);
        if exact.exists() {
            p = exact;
            continue;
        }
        let lc = c.to_lowercase();
        let found =
            std::fs::read_dir(&p).ok()?.flatten().find(|e| e.file_name().to_string_lossy().to_lowercase() == lc)?;
        p = found.path();
    }
    Some(p)
}

/// File.Attributes bits that decide compression per file.
const ATTR_NONCOMPRESSED: i32 = 0x2000;
const ATTR_COMPRESSED: i32 = 0x4000;
const ATTR_PATCH_ADDED: i32 = 0x1000;

/// Plan the administrative image of an installer package, taking the File table's rows out of `db`: they are cut down to the six
/// fields the planner reads and freed before the plan is built, so a package of many
/// files does not hold its File rows and its plan at once (the table keeps its columns,
/// with no rows).
pub(crate) fn plan_msi_consume(db: &mut Database, opts: MsiPlanOptions) -> Result<Plan> {
    let rows = db.tables.get_mut("File").map(|t| std::mem::take(&mut t.rows));
    plan_msi_rows(db, &db.tables, &BTreeMap::new(), rows, opts)
}

/// How an installer package's image is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MsiPlanOptions {
    /// Short file and folder names (msiexec's SHORTFILENAMES).
    pub short_names: bool,
}

/// The stream a merge module keeps its files in, keyed by File key.
const MERGE_MODULE_CABINET: &str = "MergeModule.CABinet";

/// What the planner reads of a File row (string cells share the table's strings).
struct FileRow {
    key: Val,
    component: Val,
    file_name: Val,
    size: i32,
    sequence: i32,
    attributes: i32,
}

impl FileRow {
    fn of(t: &TableData, r: &[Val]) -> FileRow {
        let int = |c: &str| t.get(r, c).as_int().unwrap_or(0);
        FileRow {
            key: t.get(r, "File").clone(),
            component: t.get(r, "Component_").clone(),
            file_name: t.get(r, "FileName").clone(),
            size: int("FileSize"),
            sequence: int("Sequence"),
            attributes: int("Attributes"),
        }
    }
}

/// The tables [`plan_msi`] reads: an unpatched extraction loads only these.
pub(crate) const PLAIN_MSI_TABLES: &[&str] = &["File", "Component", "Directory", "Media", "Patch"];

/// Plan the administrative image from `tables` (the package's own, or a patched view);
/// Media rows listed in `patch_media` take their `#cabinet` from that patch.
pub(crate) fn plan_msi_with(
    db: &Database,
    tables: &BTreeMap<String, TableData>,
    patch_media: &BTreeMap<i32, PackageStreams>,
    opts: MsiPlanOptions,
) -> Result<Plan> {
    plan_msi_rows(db, tables, patch_media, None, opts)
}

/// [`plan_msi_with`], with the File rows given apart (owned) when `file_rows` is set.
fn plan_msi_rows(
    db: &Database,
    tables: &BTreeMap<String, TableData>,
    patch_media: &BTreeMap<i32, PackageStreams>,
    file_rows: Option<Vec<Vec<Val>>>,
    opts: MsiPlanOptions,
) -> Result<Plan> {
    let path = &db.path;
    let module = db.kind == PackageKind::Msm;
    if db.kind != PackageKind::Msi && !module {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("{:?} is not an installer package (it is {:?})", path.display().to_string(), db.kind),
        )
        .with_path(path));
    }
    let dir = db.dir.clone();
    let wc = db.summary.word_count().unwrap_or(0);
    let src_short = wc & 1 != 0;
    // A merge module's files are all in its cabinet stream.
    let compressed_default = wc & 2 != 0 || module;
    let mut warnings = Vec::new();
    if let Some(t) = db.truncated {
        warnings.push(Warning::new(
            WarningKind::Truncated,
            format!(
                "package is truncated: {} of {} bytes present; streams that reach past the end cannot be read",
                t.actual, t.expected
            ),
        ));
    }
    let target_dirs = Directories::resolve_tables(tables, opts.short_names);
    let source_dirs = Directories::resolve_tables(tables, src_short);
    warnings.extend(target_dirs.notes.iter().map(|n| Warning::new(WarningKind::Directory, n.clone())));

    // Media rows in LastSequence order.
    let mut media: Vec<(i32, i32, String)> = Vec::new(); // (last_seq, disk_id, cabinet)
    if let Some(t) = tables.get("Media") {
        for r in &t.rows {
            let disk = t.get(r, "DiskId").as_int().unwrap_or(0);
            let last = t.get(r, "LastSequence").as_int().unwrap_or(0);
            let cab = t.get(r, "Cabinet").text();
            media.push((last, disk, cab));
        }
    }
    if module {
        media = vec![(i32::MAX, 1, format!("#{MERGE_MODULE_CABINET}"))];
    }
    media.sort_by_key(|m| (m.0, m.1));

    let resolver = MsiResolver(PackageStreams::of(db));
    let patch_resolvers: BTreeMap<i32, MsiResolver> =
        patch_media.iter().map(|(d, p)| (*d, MsiResolver(p.clone()))).collect();
    let set_key = |disk: i32, cab: &str| -> String {
        let pkg = patch_media.get(&disk).map(|p| p.label.display().to_string()).unwrap_or_default();
        format!("{pkg}|{}", cab.trim_start_matches('#').to_lowercase())
    };
    // Open each cabinet chain once.
    let mut sets: Vec<CabSet> = Vec::new();
    let mut cab_to_set: HashMap<String, usize> = HashMap::new();
    let mut dropped_streams = Vec::new();
    for (_, disk, cab) in &media {
        if cab.is_empty() {
            continue;
        }
        let from_patch = patch_media.contains_key(disk);
        if let Some(n) = cab.strip_prefix('#') {
            if !from_patch && !dropped_streams.contains(&n.to_string()) {
                dropped_streams.push(n.to_string());
            }
        }
        let key = set_key(*disk, cab);
        if cab_to_set.contains_key(&key) {
            continue;
        }
        let res = patch_resolvers.get(disk).unwrap_or(&resolver);
        let Some(src) = res.source_for(cab) else {
            warnings.push(Warning::new(WarningKind::Media, format!("Media row {disk}: cabinet {cab:?} not found")));
            continue;
        };
        match CabSet::open_chain(src, res) {
            Ok(set) => {
                let idx = sets.len();
                for c in &set.cabs {
                    cab_to_set.entry(set_key(*disk, &c.source.cab_name())).or_insert(idx);
                    if !from_patch
                        && c.source.display().contains(":#")
                        && !dropped_streams.contains(&c.source.cab_name())
                    {
                        dropped_streams.push(c.source.cab_name());
                    }
                }
                warnings.extend(set.warnings.iter().cloned());
                sets.push(set);
            }
            Err(e) => {
                warnings.push(Warning::new(WarningKind::Media, format!("Media row {disk}: cabinet {cab:?}: {e}")))
            }
        }
    }
    // Per set: entry name -> (folder, file ref).
    let index: Vec<HashMap<&str, EntryRef>> =
        sets.iter().map(|s| s.all_files().map(|(fi, r)| (s.file(r).name.as_str(), (fi, r))).collect()).collect();
    let unreachable: Vec<HashMap<&str, &str>> = sets
        .iter()
        .map(|s| s.unreachable.iter().map(|u| (s.file(u.file).name.as_str(), u.reason.as_str())).collect())
        .collect();

    let comp_dir: HashMap<String, String> = tables
        .get("Component")
        .map(|c| c.rows.iter().map(|r| (c.get(r, "Component").text(), c.get(r, "Directory_").text())).collect())
        .unwrap_or_default();
    // Files a patch updates with a binary delta (Patch rows).
    let deltas: HashMap<String, i32> = tables
        .get("Patch")
        .map(|p| {
            p.rows.iter().map(|r| (p.get(r, "File_").text(), p.get(r, "Sequence").as_int().unwrap_or(0))).collect()
        })
        .unwrap_or_default();
    // Reserved up front: a plan entry is a few hundred bytes, and doubling a vector of
    // 20,000 of them would hold both copies at once.
    // The File rows in sequence order, cut down to what is read (owned rows are freed
    // here, before the plan is built in their place).
    let mut rows: Vec<FileRow> = Vec::new();
    if let Some(t) = tables.get("File") {
        match file_rows {
            Some(owned) => {
                rows.reserve_exact(owned.len());
                rows.extend(owned.into_iter().map(|r| FileRow::of(t, &r)));
                // The rows' memory goes back to the system before the plan takes its place.
                crate::heap::trim();
            }
            None => rows.extend(t.rows.iter().map(|r| FileRow::of(t, r))),
        }
    }
    rows.sort_by_key(|r| r.sequence);
    let mut entries = Vec::with_capacity(rows.len());
    {
        for r in rows {
            let key = r.key.text();
            let comp = r.component.text();
            let file_name = r.file_name.text();
            let size = r.size.max(0) as u64;
            let seq = r.sequence;
            let attrs = r.attributes;
            let dir_key = comp_dir.get(&comp).cloned();
            let make = |components: Vec<String>, source: Source, mtime: Option<i64>| PlanEntry {
                named_by: None,
                delta: None,
                path: components.join("/"),
                key: key.clone(),
                size,
                mtime_unix: mtime,
                source,
            };
            let Some(dir_key) = dir_key else {
                entries.push(make(
                    Vec::new(),
                    Source::Unavailable { reason: format!("File {key}: component {comp:?} has no Component row") },
                    None,
                ));
                continue;
            };
            let long = pick_name(&file_name, opts.short_names).to_string();
            let dir_comps = target_dirs.get(&dir_key).cloned().unwrap_or_default();
            let mut components = dir_comps.clone();
            components.push(long.clone());
            let rel = components.join("/");
            if let Err(e) = split_relative(&rel) {
                entries.push(make(
                    Vec::new(),
                    Source::Unavailable { reason: format!("File {key}: {}", e.message()) },
                    None,
                ));
                continue;
            }
            // A file a patch delivers (msidbFileAttributesPatchAdded) always comes from the
            // patch's cabinet, whatever the package's source type.
            let compressed = if attrs & ATTR_COMPRESSED != 0 || attrs & ATTR_PATCH_ADDED != 0 {
                true
            } else if attrs & ATTR_NONCOMPRESSED != 0 {
                false
            } else {
                compressed_default
            };
            let medium = media.iter().find(|m| m.0 >= seq);
            if compressed {
                let Some((_, disk, cab)) = medium else {
                    entries.push(make(
                        components,
                        Source::Unavailable {
                            reason: format!("File {key}: sequence {seq} is beyond the last Media row"),
                        },
                        None,
                    ));
                    continue;
                };
                if cab.is_empty() {
                    entries.push(make(
                        components,
                        Source::Unavailable {
                            reason: format!("File {key} is compressed but Media row {disk} names no cabinet"),
                        },
                        None,
                    ));
                    continue;
                }
                let ckey = set_key(*disk, cab);
                let Some(&si) = cab_to_set.get(&ckey) else {
                    entries.push(make(
                        components,
                        Source::Unavailable { reason: format!("File {key}: cabinet {cab:?} is not available") },
                        None,
                    ));
                    continue;
                };
                let found = index[si]
                    .get(key.as_str())
                    .map(|&v| (si, v))
                    .or_else(|| index.iter().enumerate().find_map(|(i, m)| m.get(key.as_str()).map(|&v| (i, v))));
                match found {
                    Some((si, (fi, fr))) => {
                        let set = &sets[si];
                        let f = set.file(fr);
                        let source = Source::cabinet_entry(si, set, fi, fr);
                        let mut e = make(components, source, f.unix_mtime());
                        // The cabinet entry's size is what gets written.
                        e.size = u64::from(f.size);
                        entries.push(e);
                    }
                    None => {
                        let reason = unreachable[si]
                            .get(key.as_str())
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| format!("File {key} is not in cabinet {cab:?}"));
                        entries.push(make(components, Source::Unavailable { reason }, None));
                    }
                }
            } else {
                let src_long = pick_name(&file_name, src_short).to_string();
                let mut sc = source_dirs.get(&dir_key).cloned().unwrap_or_default();
                sc.push(src_long);
                match dir.as_deref().and_then(|dir| source_path(dir, &sc)) {
                    Some(p) if p.is_file() => {
                        let mtime = std::fs::metadata(&p)
                            .and_then(|m| m.modified())
                            .ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map(|d| d.as_secs() as i64);
                        entries.push(make(components, Source::Loose { path: p }, mtime));
                    }
                    _ => entries.push(make(
                        components,
                        Source::Unavailable {
                            reason: format!(
                                "File {key} is uncompressed but its source {:?} is not beside the package",
                                sc.join("/")
                            ),
                        },
                        None,
                    )),
                }
            }
        }
    }
    // Two File rows that map to one path (ICE30's fault): the row later in sequence is
    // written, as the copy made last stands; the earlier is left out, with a warning.
    let mut by_path: HashMap<String, usize> = HashMap::new();
    let mut superseded = vec![false; entries.len()];
    for i in 0..entries.len() {
        if entries[i].path.is_empty() || matches!(entries[i].source, Source::Unavailable { .. }) {
            continue;
        }
        if let Some(prev) = by_path.insert(entries[i].path.to_lowercase(), i) {
            superseded[prev] = true;
            warnings.push(Warning::new(
                WarningKind::DuplicatePath,
                format!(
                    "File rows {} and {} both map to {}; {}, later in sequence, is written (ICE30)",
                    entries[prev].key, entries[i].key, entries[i].path, entries[i].key
                ),
            ));
        }
    }
    if superseded.iter().any(|s| *s) {
        let mut keep = superseded.iter().map(|s| !s);
        entries.retain(|_| keep.next().unwrap_or(true));
    }
    // Files a patch updates with a binary delta: the old bytes come from where the base
    // package has them, the delta from the patch's cabinet (entry named by File key).
    if !deltas.is_empty() {
        let patch_sets: Vec<usize> = sets
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.cabs.iter().any(|c| {
                    patch_media.values().any(|p| c.source.display().starts_with(&format!("{}:#", p.label.display())))
                })
            })
            .map(|(i, _)| i)
            .collect();
        for e in entries.iter_mut() {
            let Some(seq) = deltas.get(&e.key) else { continue };
            let found = patch_sets.iter().find_map(|&si| index[si].get(e.key.as_str()).map(|&v| (si, v)));
            e.source = match (found, std::mem::replace(&mut e.source, Source::Unavailable { reason: String::new() })) {
                (Some((si, (fi, fr))), base @ (Source::Cabinet { .. } | Source::Loose { .. })) => {
                    let set = &sets[si];
                    let f = set.file(fr);
                    e.mtime_unix = f.unix_mtime();
                    Source::Delta { base: Box::new(base), patch: Box::new(Source::cabinet_entry(si, set, fi, fr)) }
                }
                (None, _) => Source::Unavailable {
                    reason: format!(
                        "File {} is updated by a binary delta (patch sequence {seq}) that no patch cabinet holds",
                        e.key
                    ),
                },
                (_, Source::Unavailable { reason }) => {
                    Source::Unavailable { reason: format!("{reason} (and a delta needs it as its old file)") }
                }
                (_, other) => other,
            };
        }
    }
    // A merge module is not an installation source: it gets no administrative copy.
    let admin_package = if module { None } else { path.file_name().map(|n| n.to_string_lossy().into_owned()) };
    let admin_source =
        (!module).then(|| super::admin::AdminSource::plain(db.compound.clone(), &db.path, opts.short_names));
    if module {
        dropped_streams.clear();
    }
    Ok(Plan {
        package: path.display().to_string(),
        kind: if module { InputKind::Msm } else { InputKind::Msi },
        entries,
        admin_package,
        dropped_streams,
        warnings,
        sets,
        admin_source,
    })
}

/// Plan the contents of every cabinet stream of a package (a patch's cabinets, say):
/// entries named by their cabinet entry names.
pub(crate) fn plan_stream_cabinets(db: &Database) -> Plan {
    let mut sets = Vec::new();
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let resolver = MsiResolver(PackageStreams::of(db));
    let mut seen: Vec<String> = Vec::new();
    for s in &db.streams {
        if !s.starts_mscf || seen.contains(&s.name) {
            continue;
        }
        let src: Arc<dyn CabSource> = Arc::new(StreamSource::new(db.compound.clone(), &db.path, &s.name, &s.cfb_path));
        match CabSet::open_chain(src, &resolver) {
            Ok(set) => {
                let si = sets.len();
                for c in &set.cabs {
                    seen.push(c.source.cab_name());
                }
                for (fi, r) in set.all_files() {
                    entries.push(cab_entry(si, &set, fi, r));
                }
                warnings.extend(set.warnings.iter().cloned());
                sets.push(set);
            }
            Err(e) => warnings.push(Warning::new(WarningKind::Media, format!("stream {}: {e}", s.name))),
        }
    }
    let kind = match db.kind {
        PackageKind::Msp => InputKind::Msp,
        PackageKind::Msm => InputKind::Msm,
        PackageKind::Mst => InputKind::Mst,
        PackageKind::Msi => InputKind::Msi,
        PackageKind::Other => InputKind::Cfb,
    };
    Plan {
        package: db.path.display().to_string(),
        kind,
        entries,
        admin_package: None,
        dropped_streams: Vec::new(),
        warnings,
        sets,
        admin_source: None,
    }
}

/// Resource limits for an extraction, checked on the plan before anything is written
/// (sizes come from the headers; every file is also cut to exactly its declared size
/// while writing, so the plan's total bounds the output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes written in all.
    pub max_output: u64,
    /// Most files written.
    pub max_entries: usize,
    /// Largest single file.
    pub max_entry: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_output: 64 << 30, max_entries: 1_000_000, max_entry: 8 << 30 }
    }
}

/// Refuse a plan that exceeds `limits`, naming the first entry over a limit.
pub(crate) fn check_limits(plan: &Plan, limits: &Limits) -> Result<()> {
    let writable: Vec<&PlanEntry> =
        plan.entries.iter().filter(|e| !matches!(e.source, Source::Unavailable { .. })).collect();
    if writable.len() > limits.max_entries {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("{} files exceed the limit of {} files", writable.len(), limits.max_entries),
        ));
    }
    let mut total = 0u64;
    for e in writable {
        if e.size > limits.max_entry {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("{} declares {} bytes, over the per-file limit of {} bytes", e.key, e.size, limits.max_entry),
            ));
        }
        total = total.saturating_add(e.size);
        if total > limits.max_output {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("output would exceed {} bytes at {}", limits.max_output, e.key),
            ));
        }
    }
    Ok(())
}
