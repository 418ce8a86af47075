//! `build msp`: a patch package that brings each target to its upgraded version.
//!
//! Per target a transform pair: `X` holds the product's changes (every table the
//! upgraded package changes, File.Sequence and the Media table excepted, and MsiFileHash
//! rows for the carried unversioned files), `#X` the patch's own rows (the PatchPackage
//! table and row, the patch Media row, the carried files' Sequence and the
//! msidbFileAttributesPatchAdded bit, the PATCHNEW* properties). Each target gets a
//! cabinet of the files whose bytes changed, streamed out of the upgraded package (or
//! the folder of new files) into the patch as it is written. The root holds the
//! summary information and a database with MsiPatchMetadata and MsiPatchSequence.
//! ARCHITECTURE.md states each rule with its source.

use super::cab_stream::{dos_datetime_unix, CabEntry, CabWriter};
use super::ids::{derived_guid, normalise_guid};
use super::package_writer::PackageWriter;
use super::patch_delta::{self, Choice, Delta};
use super::patch_spec::{DeltaMode, PatchReport, PatchRequest, PatchedFile, Progress, TargetReport, Upgraded};
use super::patch_target::{prepare, property, read_binary, Carried, FileFrom, Prepared, UpSide};
use super::transform::{transform_streams, Record, TableRecords, MSP_CLSID, MST_CLSID};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Result, Warning, WarningKind};
use crate::msi::compare::compare;
use crate::msi::summary::{unix_to_filetime, SummaryValue};
use crate::msi::{PropValue, TableData, Val};
use crate::output::{Target, WriteOptions};
use md5::Digest as _;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// msidbFileAttributesPatchAdded.
const PATCH_ADDED: i32 = 0x1000;
/// msidbFileAttributesCompressed.
const COMPRESSED: i32 = 0x4000;
/// msidbFileAttributesNoncompressed.
const NONCOMPRESSED: i32 = 0x2000;
/// Default validation: product code, upgrade code, three-part version equal.
pub const DEFAULT_VALIDATION: u16 = 0x0922;
/// Default suppressed errors: the row and table conditions.
pub const DEFAULT_SUPPRESS: u16 = 0x001F;

/// Where one target's files and rows go in the patch.
struct Placement {
    transform: String,
    cabinet: String,
    disk_id: i32,
    /// (key, sequence) in cabinet order.
    sequences: Vec<(String, i32)>,
    first: i32,
    last: i32,
}

fn hex(d: &[u8]) -> String {
    crate::output::hex(d)
}

fn codepage(db: &crate::msi::Database) -> u32 {
    match db.summary.get(1) {
        Some(PropValue::Int(c)) if *c & 0xFFFF != 0 => (*c as u32) & 0xFFFF,
        _ => 1252,
    }
}

fn page_count(db: &crate::msi::Database) -> i32 {
    match db.summary.get(14) {
        Some(PropValue::Int(c)) => *c,
        _ => 200,
    }
}

/// The summary of a patch transform: Template the base's platform;language, Last Saved
/// By the result's, Revision Number `{from}ver;{to}ver;{upgrade}`, Character Count the
/// validation and suppression flags, Page Count the higher of the two packages'.
#[allow(clippy::too_many_arguments)]
fn transform_summary(
    title: &str,
    template: &str,
    result_template: &str,
    code: &str,
    from: &str,
    to: &str,
    upgrade: &str,
    flags: u32,
    codepage: u32,
    pages: i32,
) -> Vec<(u32, SummaryValue)> {
    vec![
        (1, SummaryValue::I2(codepage as u16 as i16)),
        (2, SummaryValue::Str(title.to_string())),
        (7, SummaryValue::Str(template.to_string())),
        (8, SummaryValue::Str(result_template.to_string())),
        (9, SummaryValue::Str(format!("{code}{from};{code}{to};{upgrade}"))),
        (14, SummaryValue::I4(pages)),
        (16, SummaryValue::I4(flags as i32)),
        (18, SummaryValue::Str("hotfixkit".into())),
        (19, SummaryValue::I4(4)),
    ]
}

/// An identifier (for MsiPatchSequence.PatchFamily) from a product name.
fn identifier(s: &str) -> String {
    let mut id: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id.insert(0, '_');
    }
    id.truncate(72);
    id
}

fn set_row(t: &mut TableData, key_col: usize, row: Vec<Val>) {
    match t.rows.iter().position(|r| r.get(key_col) == row.get(key_col)) {
        Some(i) => t.rows[i] = row,
        None => t.rows.push(row),
    }
}

fn ensure_table<'a>(tables: &'a mut BTreeMap<String, TableData>, name: &str) -> &'a mut TableData {
    tables.entry(name.to_string()).or_insert_with(|| TableData {
        name: name.to_string(),
        columns: crate::msi::schema::columns(name).unwrap_or_default(),
        rows: Vec::new(),
    })
}

/// The tables as `X` leaves the target: the upgraded tables, with the target's Media
/// rows and patch tables, every File row's Sequence the target's (a new file's the
/// target's last), and MsiFileHash rows for the carried unversioned files.
fn x_view(p: &Prepared, md5: &BTreeMap<String, [u8; 16]>) -> BTreeMap<String, TableData> {
    let t = &p.target.tables;
    let mut v = p.upgraded.clone();
    for name in ["Media", "PatchPackage", "Patch", "MsiPatchHeaders"] {
        match t.get(name) {
            Some(tb) => {
                v.insert(name.to_string(), tb.clone());
            }
            None => {
                v.remove(name);
            }
        }
    }
    let target_seq: BTreeMap<String, i32> = t
        .get("File")
        .map(|f| f.rows.iter().map(|r| (f.get(r, "File").text(), f.get(r, "Sequence").as_int().unwrap_or(0))).collect())
        .unwrap_or_default();
    let last_media = t
        .get("Media")
        .map(|m| m.rows.iter().filter_map(|r| m.get(r, "LastSequence").as_int()).max().unwrap_or(1))
        .unwrap_or(1);
    if let Some(f) = v.get_mut("File") {
        if let (Some(ki), Some(si)) = (f.col("File"), f.col("Sequence")) {
            for r in &mut f.rows {
                let k = r[ki].text();
                r[si] = Val::Int(target_seq.get(&k).copied().unwrap_or(last_media));
            }
        }
    }
    for c in &p.carried {
        if c.version.is_none() {
            if let Some(m) = md5.get(&c.key) {
                super::upgraded::set_hash(&mut v, &c.key, Some(m));
            }
        }
    }
    v
}

/// What `#X` makes of the tables `X` leaves.
struct FullView {
    /// The tables as `#X` leaves them.
    tables: BTreeMap<String, TableData>,
    /// The binary cell streams `#X` sets (the deltas' headers), by name.
    headers: BTreeMap<String, Vec<u8>>,
    /// The File keys whose delta's header is in MsiPatchHeaders.
    long_keys: Vec<String>,
}

/// The tables as `#X` leaves them after `X`, the binary cell streams `#X` sets (the
/// deltas' headers), and the File keys whose header is in MsiPatchHeaders.
#[allow(clippy::too_many_arguments)]
fn full_view(
    x: &BTreeMap<String, TableData>,
    p: &Prepared,
    place: &Placement,
    choices: &[Choice],
    req: &PatchRequest,
    patch_code: &str,
    display: &str,
    description: &str,
) -> FullView {
    let mut v = x.clone();
    let pp = ensure_table(&mut v, "PatchPackage");
    set_row(pp, 0, vec![Val::str(patch_code), Val::Int(place.disk_id)]);
    let source_prop = format!("_{}", patch_code.replace(['{', '}', '-'], "").to_uppercase());
    let media = ensure_table(&mut v, "Media");
    set_row(
        media,
        0,
        vec![
            Val::Int(place.disk_id),
            Val::Int(place.last),
            Val::Null,
            Val::str(format!("#{}", place.cabinet)),
            Val::Null,
            Val::str(source_prop),
        ],
    );
    let compressed_package = p.target.summary.word_count().is_some_and(|w| w & 2 != 0);
    // Whole files move to the patch's media; a delta-patched file keeps its row (its old
    // copy stays on the product's media) and gets a Patch row instead.
    let seq: BTreeMap<&str, i32> = place
        .sequences
        .iter()
        .zip(choices)
        .filter(|(_, ch)| ch.delta.is_none())
        .map(|((k, s), _)| (k.as_str(), *s))
        .collect();
    let deltas: Vec<(&str, i32, &Delta)> = place
        .sequences
        .iter()
        .zip(choices)
        .filter_map(|((k, s), ch)| ch.delta.as_ref().map(|d| (k.as_str(), *s, d)))
        .collect();
    if let Some(f) = v.get_mut("File") {
        if let (Some(ki), Some(si), Some(ai)) = (f.col("File"), f.col("Sequence"), f.col("Attributes")) {
            for r in &mut f.rows {
                let k = r[ki].text();
                let Some(s) = seq.get(k.as_str()) else { continue };
                r[si] = Val::Int(*s);
                let mut a = r[ai].as_int().unwrap_or(0);
                if a & NONCOMPRESSED != 0 || (!compressed_package && a & COMPRESSED == 0) {
                    a = (a & !NONCOMPRESSED) | COMPRESSED;
                }
                r[ai] = Val::Int(a | PATCH_ADDED);
            }
        }
    }
    let prop = ensure_table(&mut v, "Property");
    let mut props = vec![
        ("PATCHNEWPACKAGECODE".to_string(), patch_code.to_string()),
        ("PATCHNEWSUMMARYSUBJECT".to_string(), display.to_string()),
        ("PATCHNEWSUMMARYCOMMENTS".to_string(), description.to_string()),
    ];
    if let Some(id) = &req.client_patch_id {
        props.push((format!("{id}.AllowRemoval"), if req.metadata.allow_removal { "1" } else { "0" }.into()));
        props.push((format!("{id}.PatchCode"), patch_code.to_string()));
    }
    for (k, val) in props {
        set_row(prop, 0, vec![Val::str(k), Val::str(val)]);
    }
    let (headers, long_keys) = patch_delta::add_patch_rows(&mut v, &deltas, patch_code);
    if !deltas.is_empty() {
        patch_delta::add_patch_files(&mut v);
    }
    FullView { tables: v, headers, long_keys }
}

/// Records of the changes from `a` to `b` (binary cells: `same_binary` and `binary`).
fn records(
    a: &BTreeMap<String, TableData>,
    b: &BTreeMap<String, TableData>,
    same_binary: &mut dyn FnMut(&str) -> Result<bool>,
) -> Result<Vec<TableRecords>> {
    Ok(compare(a, b, same_binary)?.iter().map(TableRecords::from_change).collect())
}

fn counts(recs: &[TableRecords]) -> Vec<(String, usize, usize, usize)> {
    recs.iter()
        .map(|t| {
            let (mut i, mut u, mut d) = (0, 0, 0);
            for r in &t.records {
                match r {
                    Record::Insert(_) => i += 1,
                    Record::Update(..) => u += 1,
                    Record::Delete(_) => d += 1,
                }
            }
            (t.name.clone(), i, u, d)
        })
        .collect()
}

/// Write the deltas among the cabinet's next entries (they are in memory), until the
/// current entry is a whole file or the cabinet is full; returns the bytes written.
fn write_deltas<W: std::io::Write + std::io::Seek>(
    cab: &mut CabWriter<W>,
    deltas: &BTreeMap<&str, &[u8]>,
) -> Result<u64> {
    let mut n = 0;
    while let Some(d) = cab.current().and_then(|k| deltas.get(k).copied()) {
        cab.write(d)?;
        n += d.len() as u64;
    }
    Ok(n)
}

/// Stream the carried files of one target into a cabinet in `w` (whole files as they are
/// read, deltas from memory, in the carried order); returns the MD5s of the new bytes.
#[allow(clippy::too_many_arguments)]
fn write_cabinet<F: std::io::Read + std::io::Write + std::io::Seek>(
    w: &mut PackageWriter<F>,
    p: &Prepared,
    place: &Placement,
    choices: &[Choice],
    deadline: &Deadline,
    progress: &(dyn Fn(Progress) + Sync),
    done: &mut u64,
    total: u64,
) -> Result<BTreeMap<String, [u8; 16]>> {
    let when = dos_datetime_unix(1_262_304_000);
    let entries: Vec<CabEntry> = p
        .carried
        .iter()
        .zip(choices)
        .map(|(c, ch)| CabEntry {
            name: c.key.clone(),
            size: ch.delta.as_ref().map(|d| d.bytes.len() as u64).unwrap_or(c.size),
            date_time: when,
        })
        .collect();
    let stream = w.stream_writer(&place.cabinet)?;
    let mut cab = CabWriter::new(stream, entries, patch_delta::LEVEL)?;
    let mut md5s = BTreeMap::new();
    let mut deltas: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for (c, ch) in p.carried.iter().zip(choices) {
        if let (Some(d), Some(m)) = (&ch.delta, ch.md5) {
            deltas.insert(c.key.as_str(), d.bytes.as_slice());
            md5s.insert(c.key.clone(), m);
        }
    }
    *done += write_deltas(&mut cab, &deltas)?;
    let mut h = md5::Md5::new();
    let key_of: BTreeMap<usize, &str> = p
        .carried
        .iter()
        .filter(|c| !deltas.contains_key(c.key.as_str()))
        .filter_map(|c| if let FileFrom::Entry(i) = c.from { Some((i, c.key.as_str())) } else { None })
        .collect();
    let indices: Vec<usize> = key_of.keys().copied().collect();
    if let (Some(plan), false) = (&p.upgraded_plan, indices.is_empty()) {
        let mut each = |i: usize, chunk: Option<&[u8]>| -> Result<()> {
            let key = key_of.get(&i).copied().unwrap_or("");
            match chunk {
                Some(d) => {
                    *done += write_deltas(&mut cab, &deltas)?;
                    if cab.current() != Some(key) {
                        return Err(Error::format(format!("File {key} arrived out of the cabinet's order")));
                    }
                    cab.write(d)?;
                    h.update(d);
                    *done += d.len() as u64;
                    progress(Progress { phase: "compressing", done: *done, total });
                }
                None => {
                    md5s.insert(key.to_string(), std::mem::take(&mut h).finalize().into());
                }
            }
            Ok(())
        };
        crate::extract::stream_entries(plan, &indices, deadline, &mut each)?;
    }
    *done += write_deltas(&mut cab, &deltas)?;
    for c in &p.carried {
        let FileFrom::Disk(path) = &c.from else { continue };
        if deltas.contains_key(c.key.as_str()) {
            continue;
        }
        *done += write_deltas(&mut cab, &deltas)?;
        let mut f = crate::random_access::open_file(path)?;
        let mut buf = vec![0u8; 1 << 16];
        let mut h = md5::Md5::new();
        loop {
            deadline.check()?;
            let n = f.read(&mut buf).map_err(|e| Error::io(&e, "reading").with_path(path))?;
            if n == 0 {
                break;
            }
            cab.write(&buf[..n])?;
            h.update(&buf[..n]);
            *done += n as u64;
            progress(Progress { phase: "compressing", done: *done, total });
        }
        if !cab.entry_done(&c.key) {
            return Err(Error::format("the file changed while the patch was written").with_path(path));
        }
        md5s.insert(c.key.clone(), h.finalize().into());
    }
    *done += write_deltas(&mut cab, &deltas)?;
    cab.finish()?;
    Ok(md5s)
}

/// Build the patch `req` asks for into `output` (through the safe writer: a temporary
/// name, renamed when complete; an existing file is replaced only with
/// `opts.overwrite`). `progress` is told how hashing and compressing go.
///
/// ```no_run
/// # fn main() -> hotfixkit::Result<()> {
/// use hotfixkit::build::{build_msp, PatchRequest, Upgraded};
/// let req = PatchRequest::new(vec!["rtm.msi".into()], Upgraded::Packages(vec!["hotfix.msi".into()]));
/// let report = build_msp(&req, "fix.msp".as_ref(), &Default::default(), None)?;
/// println!("{} carries {} files", report.patch_code, report.targets[0].files.len());
/// # Ok(())
/// # }
/// ```
pub fn build_msp(
    req: &PatchRequest,
    output: &Path,
    opts: &WriteOptions,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<PatchReport> {
    let noop = |_: Progress| {};
    let progress: &(dyn Fn(Progress) + Sync) = progress.unwrap_or(&noop);
    let deadline = opts.deadline;
    if req.targets.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "a patch needs at least one target package"));
    }
    let mut inputs: Vec<&Path> = req.targets.iter().map(|p| p.as_path()).collect();
    let ups: Vec<UpSide> = match &req.upgraded {
        Upgraded::Packages(u) if u.len() == 1 => vec![UpSide::Package(u[0].as_path()); req.targets.len()],
        Upgraded::Packages(u) if u.len() == req.targets.len() => {
            u.iter().map(|p| UpSide::Package(p.as_path())).collect()
        }
        Upgraded::Packages(u) => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{} targets and {} upgraded packages: give one upgraded package, or one per target",
                    req.targets.len(),
                    u.len()
                ),
            ))
        }
        Upgraded::Files(d) => vec![UpSide::Files(d.as_path()); req.targets.len()],
    };
    if let Upgraded::Packages(u) = &req.upgraded {
        inputs.extend(u.iter().map(|p| p.as_path()));
    }
    crate::output::refuse_inputs(output, &inputs)?;
    let mut warnings: Vec<Warning> = Vec::new();
    let mut prepared = Vec::new();
    for (t, u) in req.targets.iter().zip(&ups) {
        let p = prepare(t, *u, req.product_version.as_deref(), &deadline, progress)?;
        warnings.extend(p.warnings.iter().map(|w| Warning::new(w.kind, format!("{}: {}", t.display(), w.message))));
        prepared.push(p);
    }
    // Which files travel as deltas (and the deltas).
    let mut choices: Vec<Vec<Choice>> = Vec::new();
    for p in &prepared {
        choices.push(patch_delta::choose(p, req.deltas, req.delta_options, &deadline, progress)?);
    }
    // Identity and names.
    let patch_code = match &req.patch_code {
        Some(c) => {
            normalise_guid(c).ok_or_else(|| Error::new(ErrorKind::Usage, format!("patch code {c:?} is not a GUID")))?
        }
        None => {
            let mut seed = String::from("patch");
            // A patch carrying deltas is another patch than the one carrying whole files.
            seed.push_str(match req.deltas {
                DeltaMode::Off => "",
                DeltaMode::Always => "delta-always",
                DeltaMode::Auto => "delta-auto",
            });
            for p in &prepared {
                seed.push_str(p.target.summary.get_str(9).unwrap_or(""));
                seed.push_str(&p.upgraded_label);
                for c in &p.carried {
                    seed.push_str(&c.key);
                    seed.push_str(&hex(&c.sha256));
                }
            }
            derived_guid(&seed)
        }
    };
    let mut obsoletes = Vec::new();
    for o in &req.obsoletes {
        obsoletes.push(
            normalise_guid(o)
                .ok_or_else(|| Error::new(ErrorKind::Usage, format!("obsoleted patch code {o:?} is not a GUID")))?,
        );
    }
    let validation = req.validation.unwrap_or(DEFAULT_VALIDATION);
    let suppress = req.suppress.unwrap_or(DEFAULT_SUPPRESS);
    let flags = (u32::from(validation) << 16) | u32::from(suppress);
    let first = &prepared[0];
    let product_name = property(&first.target.tables, "ProductName").unwrap_or_else(|| "product".into());
    let display = req.metadata.display_name.clone().unwrap_or_else(|| {
        if first.from_version == first.to_version {
            format!("{product_name} {} hotfix", first.to_version)
        } else {
            format!("{product_name} {} update", first.to_version)
        }
    });
    let description = req.metadata.description.clone().unwrap_or_else(|| display.clone());
    let manufacturer = req
        .metadata
        .manufacturer
        .clone()
        .or_else(|| property(&first.target.tables, "Manufacturer"))
        .unwrap_or_default();
    let mut seq = req.sequence_start.unwrap_or_else(|| prepared.iter().map(|p| p.next_sequence).max().unwrap_or(1));
    let first_disk = req.disk_id.unwrap_or_else(|| prepared.iter().map(|p| p.next_disk).max().unwrap_or(2));
    let mut places = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let disk = first_disk + i as i32;
        let transform = match (&req.transform_name, prepared.len()) {
            (Some(n), 1) => n.clone(),
            (Some(n), _) => format!("{n}.{}", i + 1),
            (None, _) => format!("T{}ToU{}", i + 1, i + 1),
        };
        if transform.starts_with('#')
            || transform.contains(['/', '\\', ':', ';'])
            || transform.encode_utf16().count() > 30
        {
            return Err(Error::new(ErrorKind::Usage, format!("{transform:?} cannot name a transform storage")));
        }
        let cabinet = match req.cabinets.get(i) {
            Some(c) => c.clone(),
            None if req.cabinets.is_empty() => format!("{transform}.cab"),
            None => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("{} cabinet names for {} targets: give one per target", req.cabinets.len(), prepared.len()),
                ))
            }
        };
        if cabinet.is_empty() || crate::msi::encode_name(&cabinet, false).encode_utf16().count() > 31 {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{cabinet:?} cannot name a cabinet stream (31 characters encoded)"),
            ));
        }
        if disk > i16::MAX as i32 {
            return Err(Error::new(ErrorKind::Usage, format!("DiskId {disk} is larger than the Media table allows")));
        }
        let start = seq;
        let sequences: Vec<(String, i32)> = p
            .carried
            .iter()
            .map(|c| {
                let s = seq;
                seq += 1;
                (c.key.clone(), s)
            })
            .collect();
        places.push(Placement { cabinet, transform, disk_id: disk, sequences, first: start, last: seq - 1 });
    }
    // Write.
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(ErrorKind::Usage, "not a file name (or not valid Unicode)").with_path(output))?;
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = Target::new(dir, *opts)?;
    let mut file = target.create_named(name, None).map_err(|e| e.with_path(output))?;
    let handle = file.file_mut()?.try_clone().map_err(|e| Error::io(&e, "opening the output").with_path(output))?;
    let mut w = PackageWriter::new(handle, MSP_CLSID)?;
    let stored = |c: &Carried, ch: &Choice| ch.delta.as_ref().map(|d| d.bytes.len() as u64).unwrap_or(c.size);
    let total: u64 =
        prepared.iter().zip(&choices).flat_map(|(p, chs)| p.carried.iter().zip(chs).map(|(c, ch)| stored(c, ch))).sum();
    let mut done = 0u64;
    let mut reports = Vec::new();
    let mut storages: Vec<String> = Vec::new();
    for ((p, place), chs) in prepared.iter().zip(&places).zip(&choices) {
        let md5 = write_cabinet(&mut w, p, place, chs, &deadline, progress, &mut done, total)?;
        let x = x_view(p, &md5);
        let FullView { tables: full, headers, long_keys } =
            full_view(&x, p, place, chs, req, &patch_code, &display, &description);
        for k in long_keys {
            warnings.push(Warning::new(
                WarningKind::Other,
                format!(
                    "{}: File {k}: the key is too long for a Patch.Header stream, so its delta's header is in MsiPatchHeaders (Windows Installer 2.0 and later); Wine's msiexec drops such Patch rows and leaves the file unpatched",
                    p.target.path.display()
                ),
            ));
        }
        let mut same_binary = |name: &str| -> Result<bool> {
            let a = read_binary(&p.target, name)?;
            let b = match &p.upgraded_db {
                Some(u) => read_binary(u, name)?,
                None => a.clone(),
            };
            Ok(a == b)
        };
        let x_recs = records(&p.target.tables, &x, &mut same_binary)?;
        let hx_recs = records(&x, &full, &mut |_| Ok(true))?;
        let cp = codepage(&p.target);
        let t_template = p.target.summary.get_str(7).unwrap_or("Intel;1033").to_string();
        let u_template = p.upgraded_db.as_ref().and_then(|u| u.summary.get_str(7)).unwrap_or(&t_template).to_string();
        let pages = page_count(&p.target).max(p.upgraded_db.as_ref().map(page_count).unwrap_or(0));
        let uc = p.upgrade_code.clone().unwrap_or_default();
        let xs = transform_summary(
            "Patch transform",
            &t_template,
            &u_template,
            &p.product_code,
            &p.from_version,
            &p.to_version,
            &uc,
            flags,
            cp,
            pages,
        );
        let hxs = transform_summary(
            "Patch transform",
            &u_template,
            &u_template,
            &p.product_code,
            &p.to_version,
            &p.to_version,
            &uc,
            flags,
            cp,
            pages,
        );
        let mut binary = |name: &str| -> Result<Vec<u8>> {
            let src = p.upgraded_db.as_ref().unwrap_or(&p.target);
            read_binary(src, name)?.ok_or_else(|| {
                Error::new(ErrorKind::Missing, format!("binary cell stream {name} is missing")).with_path(&src.path)
            })
        };
        let x_streams = transform_streams(&xs, cp, &x_recs, &mut binary)?;
        let hx_streams = transform_streams(&hxs, cp, &hx_recs, &mut |n| {
            headers
                .get(n)
                .cloned()
                .ok_or_else(|| Error::format(format!("internal: the patch transform sets binary cell {n}")))
        })?;
        w.storage(&place.transform, MST_CLSID, &x_streams)?;
        w.storage(&format!("#{}", place.transform), MST_CLSID, &hx_streams)?;
        storages.push(format!(":{}", place.transform));
        storages.push(format!(":#{}", place.transform));
        let seq_of: BTreeMap<&str, i32> = place.sequences.iter().map(|(k, s)| (k.as_str(), *s)).collect();
        reports.push(TargetReport {
            target: p.target.path.display().to_string(),
            upgraded: p.upgraded_label.clone(),
            product_code: p.product_code.clone(),
            from_version: p.from_version.clone(),
            to_version: p.to_version.clone(),
            transform: place.transform.clone(),
            cabinet: place.cabinet.clone(),
            disk_id: place.disk_id,
            first_sequence: place.first,
            last_sequence: place.last,
            tables: counts(&x_recs),
            files: p
                .carried
                .iter()
                .zip(chs)
                .map(|(c, ch): (&Carried, &Choice)| PatchedFile {
                    key: c.key.clone(),
                    status: if c.added { "added" } else { "changed" },
                    payload: if ch.delta.is_some() { "delta" } else { "whole" },
                    size: c.size,
                    stored: stored(c, ch),
                    delta_size: ch.delta_size,
                    note: ch.note.clone(),
                    version: c.version.clone(),
                    sequence: seq_of.get(c.key.as_str()).copied().unwrap_or(0),
                    sha256: hex(&c.sha256),
                })
                .collect(),
        });
    }
    // The root: its database and summary.
    let mut root = BTreeMap::new();
    let meta_cols = crate::msi::schema::columns("MsiPatchMetadata").unwrap_or_default();
    let mut meta = vec![
        (None, "Classification".to_string(), req.metadata.classification.clone().unwrap_or_else(|| "Hotfix".into())),
        (None, "DisplayName".to_string(), display.clone()),
        (None, "Description".to_string(), description.clone()),
        (None, "ManufacturerName".to_string(), manufacturer.clone()),
        (None, "AllowRemoval".to_string(), if req.metadata.allow_removal { "1" } else { "0" }.to_string()),
        (
            None,
            "TargetProductName".to_string(),
            req.metadata.target_product_name.clone().unwrap_or_else(|| product_name.clone()),
        ),
    ];
    if let Some(u) = &req.metadata.more_info_url {
        meta.push((None, "MoreInfoURL".into(), u.clone()));
    }
    if let Some(t) = req.created {
        let iso = crate::dates::unix_to_iso(t);
        // MM-DD-YY HH:MM, as the Patch Creation Wizard and WiX write it.
        let v = format!("{}-{}-{} {}", &iso[5..7], &iso[8..10], &iso[2..4], &iso[11..16]);
        meta.push((None, "CreationTimeUTC".into(), v));
    }
    for (c, k, v) in &req.metadata.extra {
        match meta.iter_mut().find(|m| m.0 == *c && m.1 == *k) {
            Some(m) => m.2 = v.clone(),
            None => meta.push((c.clone(), k.clone(), v.clone())),
        }
    }
    root.insert(
        "MsiPatchMetadata".to_string(),
        TableData {
            name: "MsiPatchMetadata".into(),
            columns: meta_cols,
            rows: meta
                .into_iter()
                .map(|(c, k, v)| vec![c.map(Val::str).unwrap_or(Val::Null), Val::str(k), Val::str(v)])
                .collect(),
        },
    );
    let family = req.family.clone().unwrap_or_else(|| identifier(&product_name));
    let sequence = req.sequence.clone().unwrap_or_else(|| {
        let mut parts: Vec<&str> = first.to_version.split('.').collect();
        parts.resize(4, "0");
        parts.join(".")
    });
    root.insert(
        "MsiPatchSequence".to_string(),
        TableData {
            name: "MsiPatchSequence".into(),
            columns: crate::msi::schema::columns("MsiPatchSequence").unwrap_or_default(),
            rows: vec![vec![
                Val::str(family),
                Val::Null,
                Val::str(sequence),
                Val::Int(if req.supersede { 1 } else { 0 }),
            ]],
        },
    );
    w.tables(&root, codepage(&first.target))?;
    let mut revision = patch_code.clone();
    for o in &obsoletes {
        revision.push_str(o);
    }
    let mut summary = vec![
        (1, SummaryValue::I2(codepage(&first.target) as u16 as i16)),
        (2, SummaryValue::Str("Patch".into())),
        (3, SummaryValue::Str(display.clone())),
        (4, SummaryValue::Str(manufacturer)),
        (5, SummaryValue::Str("Installer,Patching,PCP,Database".into())),
        (6, SummaryValue::Str(description)),
        (7, SummaryValue::Str(prepared.iter().map(|p| p.product_code.clone()).collect::<Vec<_>>().join(";"))),
        (8, SummaryValue::Str(storages.join(";"))),
        (9, SummaryValue::Str(revision)),
    ];
    if let Some(t) = req.created {
        summary.push((12, SummaryValue::Time(unix_to_filetime(t))));
        summary.push((13, SummaryValue::Time(unix_to_filetime(t))));
    }
    summary.push((15, SummaryValue::I4(4)));
    summary.push((18, SummaryValue::Str("hotfixkit".into())));
    summary.push((19, SummaryValue::I4(4)));
    w.summary(&summary)?;
    drop(w.finish()?);
    let written = file.finish().map_err(|e| e.with_path(output))?;
    if let Some(e) = target.commit().into_iter().next() {
        return Err(e.with_path(output));
    }
    Ok(PatchReport {
        output: output.display().to_string(),
        size: written.size,
        patch_code,
        obsoletes,
        targets: reports,
        warnings,
    })
}
