//! Observe what a path holds (a tree, a package streamed in place, a file) and compare it
//! with a manifest. Findings are data in the report, never errors.

use super::{FileEntry, Manifest, Platform};
use crate::cab::EntrySink;
use crate::deadline::Deadline;
use crate::error::ResultExt;
use crate::error::{Error, IoResultExt, Result};
use crate::extract::{extract_cabinet_groups, Plan, PlanEntry, Source};
use crate::pe::{pe_info, MAX_PE_SIZE};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One file seen in the verified object.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Observed {
    /// Path relative to the tree (or the package's image), `/`-separated.
    pub path: String,
    /// Size.
    pub size: u64,
    /// Modification time (Unix seconds, UTC): cabinet entry time or file mtime.
    pub mtime: Option<i64>,
    /// SHA-256.
    pub sha256: String,
    /// PE machine platform name, when a PE file.
    pub machine: Option<String>,
    /// PE fixed file version, when present.
    pub version: Option<String>,
    /// Manifest platform of the PE machine.
    #[serde(skip)]
    pub platform: Option<Platform>,
    /// This is the administrative copy of an installer package at the root of an image
    /// (what `extract` writes beside the files), not a payload file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin_copy: bool,
    /// Its Authenticode signature, when signatures were checked and it can carry one
    /// (executables, installer packages, cabinets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<FileSignature>,
}

/// A file's signature, in brief.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FileSignature {
    /// The primary signature's verdict.
    pub verdict: crate::sign::Verdict,
    /// The signer's organisation (or common name when it has none).
    pub signer: Option<String>,
    /// Why, in one line.
    pub reason: String,
}

impl FileSignature {
    /// The primary signature of `r`, in brief.
    pub fn of(r: &crate::sign::SignatureReport) -> FileSignature {
        let first = r.signatures.first();
        let signer =
            first.and_then(|s| s.signer.as_ref()).and_then(|c| c.organization.clone().or(c.common_name.clone()));
        let reason = first.map(|s| s.reason.clone()).unwrap_or_else(|| "no signature".into());
        FileSignature { verdict: r.verdict, signer, reason }
    }
    fn unreadable(e: &Error) -> FileSignature {
        FileSignature { verdict: crate::sign::Verdict::Malformed, signer: None, reason: e.message().to_string() }
    }
    /// Whether the signature is a finding: present but not trusted (an unsigned file is
    /// a finding only where the manifest names a signer).
    pub fn is_failure(&self) -> bool {
        !self.verdict.is_trusted() && self.verdict != crate::sign::Verdict::Unsigned
    }
}

/// How to observe what a path holds.
#[derive(Clone, Default)]
pub struct ObserveOptions {
    /// Check the Authenticode signature of every executable, package and cabinet with
    /// these trust anchors.
    pub signatures: Option<Arc<crate::sign::TrustStore>>,
}

/// Nested packages and cabinets larger than this are not held in memory to check their
/// signatures inside a package (extract them and verify the tree instead).
const MAX_NESTED_SIGNED: u64 = 64 << 20;

fn carries_signature(head: &[u8]) -> bool {
    head.starts_with(b"MZ") || head.starts_with(b"MSCF") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

impl Observed {
    fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
    fn dir(&self) -> &str {
        match self.path.rfind('/') {
            Some(i) => &self.path[..i],
            None => "",
        }
    }
}

fn describe(
    path: String,
    data_head: Option<&[u8]>,
    size: u64,
    mtime: Option<i64>,
    sha256: String,
    opts: &ObserveOptions,
) -> Observed {
    let mut o = Observed {
        path,
        size,
        mtime,
        sha256,
        machine: None,
        version: None,
        platform: Some(Platform::None),
        admin_copy: false,
        signature: None,
    };
    if let (Some(store), Some(d)) = (&opts.signatures, data_head) {
        if carries_signature(d) {
            o.signature = Some(match crate::sign::verify_bytes_with(d, store) {
                Ok(r) => FileSignature::of(&r),
                Err(e) => FileSignature::unreadable(&e),
            });
        }
    }
    if let Some(d) = data_head {
        if crate::pe::is_pe(d) {
            if let Ok(info) = pe_info(d) {
                o.platform = Platform::of_machine(info.machine);
                o.machine = Some(info.machine.platform());
                o.version = info.version.and_then(|v| v.file_version);
            }
        }
    }
    o
}

fn hex(d: &[u8]) -> String {
    crate::output::hex(d)
}

fn observe_file(path: &Path, rel: String, opts: &ObserveOptions) -> Result<Observed> {
    let mut f = crate::random_access::open_file(path)?;
    let meta = f.metadata().io_ctx("reading").at_path(path)?;
    let mtime =
        meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs() as i64);
    let mut head = [0u8; 2];
    let n = f.read(&mut head).io_ctx("reading").at_path(path)?;
    let mut hasher = Sha256::new();
    hasher.update(&head[..n]);
    if n == 2 && &head == b"MZ" && meta.len() <= MAX_PE_SIZE {
        let mut data = head.to_vec();
        f.read_to_end(&mut data).io_ctx("reading").at_path(path)?;
        hasher.update(&data[2..]);
        return Ok(describe(rel, Some(&data), data.len() as u64, mtime, hex(&hasher.finalize()), opts));
    }
    // One read buffer per thread: a fresh zeroed megabyte per file cost more than the
    // hashing on trees of many small files.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 1 << 20]);
    }
    let size = BUF.with(|b| -> Result<u64> {
        let mut buf = b.borrow_mut();
        let mut size = n as u64;
        loop {
            let k = f.read(&mut buf).io_ctx("reading").at_path(path)?;
            if k == 0 {
                break;
            }
            hasher.update(&buf[..k]);
            size += k as u64;
        }
        Ok(size)
    })?;
    let mut o = describe(rel, None, size, mtime, hex(&hasher.finalize()), opts);
    // A package or cabinet is checked from the file (its digest reads it again).
    if let Some(store) = &opts.signatures {
        if n == 2 && (head == [0xD0, 0xCF] || &head == b"MS") {
            o.signature = Some(match crate::sign::verify_file_with(path, store) {
                Ok(r) => FileSignature::of(&r),
                Err(e) => FileSignature::unreadable(&e),
            });
        }
    }
    Ok(o)
}

struct Collect<'a> {
    rel: String,
    mtime: Option<i64>,
    hasher: Sha256,
    keep: Option<Vec<u8>>,
    keep_limit: u64,
    size: u64,
    out: &'a Mutex<Vec<Observed>>,
    opts: &'a ObserveOptions,
}

impl EntrySink for Collect<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.size == 0 && data.len() >= 4 {
            if &data[..2] == b"MZ" {
                self.keep = Some(Vec::new());
                self.keep_limit = MAX_PE_SIZE;
            } else if self.opts.signatures.is_some() && carries_signature(data) {
                self.keep = Some(Vec::new());
                self.keep_limit = MAX_NESTED_SIGNED;
            }
        }
        if let Some(k) = self.keep.as_mut() {
            if (k.len() + data.len()) as u64 <= self.keep_limit {
                k.extend_from_slice(data);
            } else {
                self.keep = None;
            }
        }
        self.hasher.update(data);
        self.size += data.len() as u64;
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        let h = std::mem::take(&mut self.hasher).finalize();
        let o = describe(self.rel.clone(), self.keep.as_deref(), self.size, self.mtime, hex(&h), self.opts);
        self.out.lock().map_err(|_| Error::format("internal lock poisoned"))?.push(o);
        Ok(())
    }
}

/// Stream every entry of a planned job through hashing and PE inspection; nothing is
/// written to disk. Entries that cannot be read are returned as errors.
pub fn observe_plan(job: &Plan) -> (Vec<Observed>, Vec<Error>) {
    observe_plan_with(job, &ObserveOptions::default())
}

/// [`observe_plan`], checking signatures when `opts` asks for it.
pub fn observe_plan_with(job: &Plan, opts: &ObserveOptions) -> (Vec<Observed>, Vec<Error>) {
    let out = Mutex::new(Vec::new());
    let errs = Mutex::new(Vec::new());
    let mut loose = Vec::new();
    for (i, e) in job.entries.iter().enumerate() {
        match &e.source {
            Source::Cabinet { .. } => {}
            Source::Loose { path } => loose.push((i, path.clone())),
            Source::Delta { .. } => match crate::extract::read_source(job, &e.source, &e.key, &Deadline::NONE) {
                Ok(data) => {
                    let mut h = Sha256::new();
                    h.update(&data);
                    let o = describe(
                        e.path.clone(),
                        Some(&data),
                        data.len() as u64,
                        e.mtime_unix,
                        hex(&h.finalize()),
                        opts,
                    );
                    if let Ok(mut v) = out.lock() {
                        v.push(o);
                    }
                }
                Err(err) => {
                    if let Ok(mut v) = errs.lock() {
                        v.push(err);
                    }
                }
            },
            Source::Unavailable { reason } => {
                if let Ok(mut v) = errs.lock() {
                    v.push(Error::new(crate::ErrorKind::Missing, reason.clone()));
                }
            }
        }
    }
    let sink = |e: &PlanEntry| -> Box<dyn EntrySink + '_> {
        Box::new(Collect {
            rel: e.path.clone(),
            mtime: e.mtime_unix,
            hasher: Sha256::new(),
            keep: None,
            keep_limit: 0,
            size: 0,
            out: &out,
            opts,
        })
    };
    let all: Vec<usize> = (0..job.entries.len()).collect();
    let cab_errs = extract_cabinet_groups(job, &all, &Deadline::NONE, |e| e.key.clone(), sink);
    errs.lock().map(|mut v| v.extend(cab_errs)).unwrap_or(());
    for (i, p) in loose {
        match observe_file(&p, job.entries[i].path.clone(), opts) {
            Ok(o) => out.lock().map(|mut v| v.push(o)).unwrap_or(()),
            Err(e) => errs.lock().map(|mut v| v.push(e)).unwrap_or(()),
        }
    }
    let mut v = out.into_inner().unwrap_or_default();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    (v, errs.into_inner().unwrap_or_default())
}

/// Whether the file at `p` is an installer package marked as an administrative image
/// (summary Word Count bit 2), the copy `extract` writes at an image's root.
fn is_admin_copy(p: &Path) -> bool {
    use std::io::Read;
    let Ok((comp, _)) = crate::msi::open_compound(p) else { return false };
    if comp.root_clsid().hyphenated().to_string() != "000c1084-0000-0000-c000-000000000046" {
        return false;
    }
    let Ok(s) = comp.open_stream("\u{5}SummaryInformation") else { return false };
    let mut b = Vec::new();
    if s.take(1 << 20).read_to_end(&mut b).is_err() {
        return false;
    }
    crate::msi::Summary::parse(&b).ok().and_then(|s| s.word_count()).is_some_and(|wc| wc & 4 != 0)
}

/// What a path holds, observed.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Every file.
    pub files: Vec<Observed>,
    /// Entries that could not be read.
    pub errors: Vec<Error>,
    /// For a package (or cabinet) verified in place: its own signature, when signatures
    /// were checked.
    pub package_signature: Option<FileSignature>,
}

/// What `path` holds: a directory tree (files only, links not followed), a package or
/// cabinet (streamed in place), or a single file.
pub fn observe(path: &Path) -> Result<(Vec<Observed>, Vec<Error>)> {
    let o = observe_with(path, &ObserveOptions::default())?;
    Ok((o.files, o.errors))
}

/// [`observe`], checking signatures when `opts` asks for it.
pub fn observe_with(path: &Path, opts: &ObserveOptions) -> Result<Observation> {
    let meta = std::fs::symlink_metadata(path).io_ctx("reading").at_path(path)?;
    if meta.is_dir() {
        let mut files = Vec::new();
        for e in walkdir::WalkDir::new(path).follow_links(false).sort_by_file_name() {
            let e = e.map_err(|e| Error::format(format!("walking: {e}")).with_path(path))?;
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(path).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
                files.push((e.path().to_path_buf(), rel));
            }
        }
        let results: Vec<Result<Observed>> = files
            .par_iter()
            .map(|(p, rel)| {
                let mut o = observe_file(p, rel.clone(), opts)?;
                o.admin_copy = !rel.contains('/') && is_admin_copy(p);
                if o.admin_copy {
                    // The copy an administrative install writes has a changed summary and
                    // no cabinets: its publisher's signature cannot cover it (the same holds
                    // for Windows' /a), so it is not judged by it.
                    o.signature = None;
                }
                Ok(o)
            })
            .collect();
        let mut out = Observation::default();
        for r in results {
            match r {
                Ok(o) => out.files.push(o),
                Err(e) => out.errors.push(e),
            }
        }
        return Ok(out);
    }
    match crate::package::sniff(path)? {
        crate::package::InputKind::Cab | crate::package::InputKind::Cfb => {
            let plan = crate::extract::plan(&crate::extract::ExtractRequest::new(path))?;
            let (files, errors) = observe_plan_with(&plan, opts);
            let package_signature =
                opts.signatures.as_ref().map(|store| match crate::sign::verify_file_with(path, store) {
                    Ok(r) => FileSignature::of(&r),
                    Err(e) => FileSignature::unreadable(&e),
                });
            Ok(Observation { files, errors, package_signature })
        }
        _ => {
            let rel = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(Observation { files: vec![observe_file(path, rel, opts)?], errors: Vec::new(), package_signature: None })
        }
    }
}

/// The Authenticode signature of every executable, package and cabinet under `dir` (or
/// of `dir` itself when it is a file), without hashing anything else: what `extract
/// --verify-signatures` checks after writing an image.
pub fn check_signatures(dir: &Path, store: &Arc<crate::sign::TrustStore>) -> Result<Vec<SignedFile>> {
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let e = e.map_err(|e| Error::format(format!("walking: {e}")).with_path(dir))?;
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
            files.push((e.path().to_path_buf(), rel));
        }
    }
    let checked: Vec<Option<SignedFile>> = files
        .par_iter()
        .map(|(p, rel)| {
            let mut head = [0u8; 8];
            let n = crate::random_access::open_file(p).ok().and_then(|mut f| f.read(&mut head).ok()).unwrap_or(0);
            // The image's administrative copy is left out, as in `observe` (the package it
            // was made from is checked before extraction).
            if n < 4 || !carries_signature(&head[..n]) || (!rel.contains('/') && is_admin_copy(p)) {
                return None;
            }
            let signature = match crate::sign::verify_file_with(p, store) {
                Ok(r) => FileSignature::of(&r),
                Err(e) => FileSignature::unreadable(&e),
            };
            Some(SignedFile { path: if rel.is_empty() { p.display().to_string() } else { rel.clone() }, signature })
        })
        .collect();
    Ok(checked.into_iter().flatten().collect())
}

/// One comparison.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Check {
    /// `size`, `version`, `platform`, `time`, `sha256`.
    pub field: String,
    /// Documented value.
    pub expected: String,
    /// Found value.
    pub actual: String,
    /// Whether they agree.
    pub ok: bool,
    /// Whether the comparison decides the row's status. Times are compared only when
    /// asked for ([`VerifyOptions::check_times`]); otherwise a differing time is a note.
    pub compared: bool,
}

impl Check {
    /// A comparison that decides and does not agree.
    pub fn is_mismatch(&self) -> bool {
        self.compared && !self.ok
    }
    /// A comparison that does not decide and does not agree (a note).
    pub fn is_note(&self) -> bool {
        !self.compared && !self.ok
    }
}

/// Row status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Every check agrees.
    Ok,
    /// Found, but something differs.
    Mismatch,
    /// No file of that name.
    Missing,
}

/// The result for one manifest row.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RowResult {
    /// File name.
    pub name: String,
    /// Documented platform.
    pub platform: Platform,
    /// Status.
    pub status: RowStatus,
    /// The file it was matched with.
    pub path: Option<String>,
    /// Checks made.
    pub checks: Vec<Check>,
}

/// A verification report (the `--format json` output).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct VerifyReport {
    /// What was verified.
    pub target: String,
    /// Product.
    pub product: String,
    /// KB number.
    pub kb: u32,
    /// Service pack.
    pub service_pack: Option<String>,
    /// One result per manifest row, in manifest order.
    pub rows: Vec<RowResult>,
    /// Files not named by the manifest.
    pub extra: Vec<String>,
    /// Administrative copies of packages at the image's root: neither payload nor extra.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_copies: Vec<String>,
    /// Whether extra files count as findings.
    pub strict: bool,
    /// Whether times were compared.
    pub check_times: bool,
    /// Every file whose signature was checked, with what was found (when signatures
    /// were checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<SignedFile>,
    /// The signature of the package verified in place, when checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_signature: Option<FileSignature>,
    /// The manifest's package signer requirement, when it has one: whether it is met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_signer: Option<Check>,
    /// Counts: rows ok, mismatched, missing; extra files.
    pub summary: Summary,
    /// Entries that could not be read (the verification could not see them).
    pub errors: Vec<String>,
}

/// Report counts.
#[derive(Debug, Clone, Copy, serde::Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Rows that match.
    pub ok: usize,
    /// Rows found with differences.
    pub mismatch: usize,
    /// Rows not found.
    pub missing: usize,
    /// Files not in the manifest.
    pub extra: usize,
    /// Signatures present but not trusted (a bad digest, an untrusted root, …).
    pub signature_failures: usize,
}

/// A file whose signature was checked.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SignedFile {
    /// Its path.
    pub path: String,
    /// What was found.
    pub signature: FileSignature,
}

impl VerifyReport {
    /// True when there is something to report (exit code 1).
    pub fn has_findings(&self) -> bool {
        self.summary.mismatch > 0
            || self.summary.missing > 0
            || (self.strict && self.summary.extra > 0)
            || self.summary.signature_failures > 0
            || self.package_signer.as_ref().is_some_and(|c| !c.ok)
    }
}

/// Seconds of slack around a documented time: DOS times have 2-second steps.
pub const TIME_SLACK: i64 = 2;

fn time_check(row: &FileEntry, o: &Observed, compared: bool) -> Check {
    let expected = format!("{} {} UTC", row.date, row.time);
    let want = Manifest::row_time(row);
    let (ok, actual) = match (want, o.mtime) {
        (Some(t), Some(m)) => {
            // HH:MM covers the whole minute; HH:MM:SS the second.
            let span = if row.time.len() == 5 { 60 } else { 1 };
            (m >= t - TIME_SLACK && m < t + span + TIME_SLACK, crate::dates::unix_to_iso(m))
        }
        (_, None) => (false, "unknown".into()),
        (None, Some(m)) => (false, crate::dates::unix_to_iso(m)),
    };
    Check { field: "time".into(), expected, actual, ok, compared }
}

/// A required publisher against what was found: a trusted signature by it.
fn signer_check(want: &str, found: Option<&FileSignature>) -> Check {
    let (ok, actual) = match found {
        Some(s) if s.verdict.is_trusted() => {
            let who = s.signer.clone().unwrap_or_default();
            (who.eq_ignore_ascii_case(want), who)
        }
        Some(s) => (false, format!("{} ({})", s.verdict.label(), s.reason)),
        None => (false, "no signature checked".into()),
    };
    Check { field: "signer".into(), expected: want.to_string(), actual, ok, compared: true }
}

fn compare(row: &FileEntry, o: &Observed, check_times: bool) -> Vec<Check> {
    let mut c = vec![Check {
        field: "size".into(),
        expected: row.size.to_string(),
        actual: o.size.to_string(),
        ok: row.size == o.size,
        compared: true,
    }];
    if let Some(v) = &row.version {
        let actual = o.version.clone().unwrap_or_else(|| "none".into());
        c.push(Check {
            field: "version".into(),
            expected: v.clone(),
            actual: actual.clone(),
            ok: &actual == v,
            compared: true,
        });
    }
    let actual_platform = match (&o.machine, o.platform) {
        (Some(_), Some(p)) => p.as_str().to_string(),
        (Some(m), None) => m.clone(),
        (None, _) => "none".into(),
    };
    c.push(Check {
        field: "platform".into(),
        expected: row.platform.as_str().into(),
        actual: actual_platform.clone(),
        ok: actual_platform == row.platform.as_str(),
        compared: true,
    });
    c.push(time_check(row, o, check_times));
    if let Some(want) = &row.signer {
        c.push(signer_check(want, o.signature.as_ref()));
    }
    if let Some(h) = &row.sha256 {
        c.push(Check {
            field: "sha256".into(),
            expected: h.clone(),
            actual: o.sha256.clone(),
            ok: h == &o.sha256,
            compared: true,
        });
    }
    c
}

/// Compare observed files with a manifest.
pub fn verify(
    manifest: &Manifest,
    observed: &[Observed],
    target: &str,
    opts: &VerifyOptions,
    errors: &[Error],
) -> VerifyReport {
    let strict = opts.strict;
    let mut used = vec![false; observed.len()];
    let mut matched: Vec<Option<usize>> = vec![None; manifest.files.len()];
    // Files by name, and by (name, folder) for rows that give a destination: a payload
    // with the same names in hundreds of folders is matched without scanning them all.
    let mut by_name: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    let mut by_name_dir: std::collections::HashMap<(String, String), Vec<usize>> = std::collections::HashMap::new();
    for (i, o) in observed.iter().enumerate() {
        let name = o.name().to_lowercase();
        by_name_dir.entry((name.clone(), o.dir().to_ascii_lowercase())).or_default().push(i);
        by_name.entry(name).or_default().push(i);
    }
    let candidates = |row: &FileEntry| -> Vec<usize> {
        let name = row.name.to_lowercase();
        let found = match &row.destination {
            Some(d) => by_name_dir.get(&(name, d.trim_matches('/').to_ascii_lowercase())),
            None => by_name.get(&name),
        };
        found.cloned().unwrap_or_default()
    };
    // Rows sharing a name (one per platform) are told apart by PE machine. Pass 0 pairs a
    // row with a file of the same name, platform and size; pass 1 with the same name and
    // platform; pass 2 with the same name. Within a pass, a file whose folder names the
    // platform (x86/i386, x64/amd64, ia64) is preferred, then path order.
    let mentions = |o: &Observed, p: Platform| -> bool {
        let tokens: &[&str] = match p {
            Platform::X86 => &["x86", "i386"],
            Platform::X64 => &["x64", "amd64"],
            Platform::Ia64 => &["ia64", "ia-64", "itanium"],
            Platform::None => &[],
        };
        o.dir().to_lowercase().split('/').any(|c| tokens.contains(&c))
    };
    for pass in 0..3 {
        for (ri, row) in manifest.files.iter().enumerate() {
            if matched[ri].is_some() {
                continue;
            }
            let mut cands: Vec<usize> = candidates(row)
                .into_iter()
                .filter(|&i| !used[i])
                .filter(|&i| match pass {
                    0 => observed[i].platform == Some(row.platform) && observed[i].size == row.size,
                    1 => observed[i].platform == Some(row.platform),
                    _ => true,
                })
                .collect();
            cands.sort_by_key(|&i| (!mentions(&observed[i], row.platform), i));
            let pick = cands.first().copied();
            if let Some(i) = pick {
                used[i] = true;
                matched[ri] = Some(i);
            }
        }
    }
    let mut rows = Vec::new();
    let mut summary = Summary { ok: 0, mismatch: 0, missing: 0, extra: 0, signature_failures: 0 };
    for (ri, row) in manifest.files.iter().enumerate() {
        let r = match matched[ri] {
            Some(i) => {
                let checks = compare(row, &observed[i], opts.check_times);
                let status = if checks.iter().any(Check::is_mismatch) { RowStatus::Mismatch } else { RowStatus::Ok };
                RowResult {
                    name: row.name.clone(),
                    platform: row.platform,
                    status,
                    path: Some(observed[i].path.clone()),
                    checks,
                }
            }
            None => RowResult {
                name: row.name.clone(),
                platform: row.platform,
                status: RowStatus::Missing,
                path: None,
                checks: Vec::new(),
            },
        };
        match r.status {
            RowStatus::Ok => summary.ok += 1,
            RowStatus::Mismatch => summary.mismatch += 1,
            RowStatus::Missing => summary.missing += 1,
        }
        rows.push(r);
    }
    let signatures: Vec<SignedFile> = observed
        .iter()
        .filter_map(|o| o.signature.clone().map(|s| SignedFile { path: o.path.clone(), signature: s }))
        .collect();
    summary.signature_failures = signatures.iter().filter(|s| s.signature.is_failure()).count();
    let unused = || observed.iter().zip(&used).filter(|(_, u)| !**u).map(|(o, _)| o);
    let extra: Vec<String> = unused().filter(|o| !o.admin_copy).map(|o| o.path.clone()).collect();
    let admin_copies: Vec<String> = unused().filter(|o| o.admin_copy).map(|o| o.path.clone()).collect();
    summary.extra = extra.len();
    VerifyReport {
        target: target.to_string(),
        product: manifest.product.clone(),
        kb: manifest.kb,
        service_pack: manifest.service_pack.clone(),
        rows,
        extra,
        admin_copies,
        strict,
        check_times: opts.check_times,
        signatures,
        package_signature: None,
        package_signer: None,
        summary,
        errors: errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// A lock manifest recording exactly what was observed.
pub fn lock(observed: &[Observed], product: &str, kb: u32) -> Manifest {
    let files = observed
        .iter()
        .map(|o| {
            let (date, time) = match o.mtime {
                Some(m) => {
                    let s = crate::dates::unix_to_iso(m);
                    (s[..10].to_string(), s[11..19].to_string())
                }
                None => ("1980-01-01".into(), "00:00:00".into()),
            };
            FileEntry {
                name: o.name().to_string(),
                platform: o.platform.unwrap_or(Platform::None),
                version: o.version.clone(),
                size: o.size,
                date,
                time,
                sha256: Some(o.sha256.clone()),
                destination: Some(o.dir().to_string()).filter(|d| !d.is_empty()),
                // A trusted signature's publisher is pinned too.
                signer: o.signature.as_ref().filter(|s| s.verdict.is_trusted()).and_then(|s| s.signer.clone()),
            }
        })
        .collect();
    Manifest { product: product.to_string(), kb, service_pack: None, signer: None, files }
}

/// How to verify.
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// Files the manifest does not name are findings too (the administrative copy of the
    /// package at an image's root is not one of them).
    pub strict: bool,
    /// Compare the manifest's dates and times too. Off by default: copies, checkouts,
    /// downloads and zip round trips reset times, and sizes, versions, platforms and
    /// hashes identify the content; a differing time is then a note.
    pub check_times: bool,
    /// Check the Authenticode signature of every executable, package and cabinet with
    /// these trust anchors (a manifest that names a signer turns this on with the
    /// default anchors).
    pub signatures: Option<Arc<crate::sign::TrustStore>>,
}

impl VerifyOptions {
    /// The options `manifest` needs: signatures are checked when it names a signer.
    fn for_manifest(&self, manifest: &Manifest) -> Result<ObserveOptions> {
        let wants = manifest.signer.is_some() || manifest.files.iter().any(|f| f.signer.is_some());
        let signatures = match (&self.signatures, wants) {
            (Some(s), _) => Some(s.clone()),
            (None, true) => Some(Arc::new(crate::sign::TrustStore::new(&crate::sign::TrustOptions::default())?)),
            (None, false) => None,
        };
        Ok(ObserveOptions { signatures })
    }
}

/// Verify what `path` holds (a tree, a package streamed in place, or a file) against
/// `manifest`. Findings are in the report; an error means `path` could not be read.
pub fn verify_path(path: &Path, manifest: &Manifest, opts: &VerifyOptions) -> Result<VerifyReport> {
    let o = observe_with(path, &opts.for_manifest(manifest)?)?;
    Ok(verify_observation(manifest, &o, &path.display().to_string(), opts))
}

/// Compare an observation (files, errors, the package's own signature) with a manifest.
pub fn verify_observation(manifest: &Manifest, o: &Observation, target: &str, opts: &VerifyOptions) -> VerifyReport {
    let mut r = verify(manifest, &o.files, target, opts, &o.errors);
    r.package_signature = o.package_signature.clone();
    if let Some(want) = &manifest.signer {
        r.package_signer = Some(signer_check(want, o.package_signature.as_ref()));
    }
    r
}

/// [`verify_path`] with the manifest read from `manifest_file` while `path` is hashed.
pub fn verify_path_with_manifest_file(path: &Path, manifest_file: &Path, opts: &VerifyOptions) -> Result<VerifyReport> {
    // The manifest is read while the tree is hashed. A manifest that names a signer when
    // signatures were not asked for turns them on: the tree is then observed again.
    let observe_opts = ObserveOptions { signatures: opts.signatures.clone() };
    let (m, observed) = rayon::join(|| Manifest::load(manifest_file), || observe_with(path, &observe_opts));
    let m = m?;
    if opts.signatures.is_none() && (m.signer.is_some() || m.files.iter().any(|f| f.signer.is_some())) {
        return verify_path(path, &m, opts);
    }
    Ok(verify_observation(&m, &observed?, &path.display().to_string(), opts))
}
