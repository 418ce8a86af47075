//! The executor: decodes each cabinet folder once (independent folders in parallel),
//! copies loose files, applies deltas, writes the administrative copy of the package,
//! and writes everything through one [`Target`].

use super::plan::{Plan, PlanEntry, Source};
use crate::cab::{extract_folder, EntrySink, Span};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::output::{Target, WriteOptions, Written};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A written file with its metadata.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct WrittenEntry {
    /// Path, size and hash.
    #[serde(flatten)]
    pub written: Written,
    /// Package key.
    pub key: String,
    /// Timestamp set (ISO-8601 UTC).
    pub mtime: Option<String>,
}

/// What an execution did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files written, sorted by path (empty with [`ExecuteOptions::count_only`]).
    pub written: Vec<WrittenEntry>,
    /// How many files the plan asked for.
    pub planned: u64,
    /// How many files were written.
    pub files: u64,
    /// How many bytes were written.
    pub bytes: u64,
    /// Where the administrative copy of the package was written, when it was.
    pub admin_package: Option<String>,
    /// What could not be written (files, and the administrative copy).
    pub errors: Vec<Error>,
}

/// How to execute a plan.
#[derive(Clone, Copy, Default)]
pub struct ExecuteOptions<'a> {
    /// How files are written (replacing, durability, deadline).
    pub write: WriteOptions,
    /// Called with the number of bytes just written (from any thread).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Only count the files written, without a [`WrittenEntry`] per file in the outcome
    /// (which costs memory in proportion to the number of files).
    pub count_only: bool,
}

impl std::fmt::Debug for ExecuteOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecuteOptions")
            .field("write", &self.write)
            .field("count_only", &self.count_only)
            .finish_non_exhaustive()
    }
}

/// Less data than this (in all, for the folders or the loose files of a plan) is
/// written on the calling thread alone.
const PARALLEL_MIN_BYTES: u64 = 4 << 20;

/// Where sinks report what they wrote.
#[derive(Default)]
struct Tally {
    list: Mutex<Vec<WrittenEntry>>,
    keep: bool,
    files: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

struct Sink<'a> {
    target: &'a Target,
    entry: &'a PlanEntry,
    file: Option<crate::output::AtomicFile>,
    out: Arc<Tally>,
    progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

impl<'a> Sink<'a> {
    fn new(target: &'a Target, entry: &'a PlanEntry, out: &Arc<Tally>, opts: &ExecuteOptions<'a>) -> Sink<'a> {
        Sink { target, entry, file: None, out: Arc::clone(out), progress: opts.progress }
    }

    fn file(&mut self) -> Result<&mut crate::output::AtomicFile> {
        if self.file.is_none() {
            let mut f = self.target.create(&self.entry.components(), self.entry.mtime_unix)?;
            // No record is kept of the file, so its hash would go unread.
            if !self.out.keep {
                f.skip_hash();
            }
            self.file = Some(f);
        }
        self.file.as_mut().ok_or_else(|| Error::format("internal: no file"))
    }
}

impl EntrySink for Sink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file()?.write(data)?;
        if let Some(p) = self.progress {
            p(data.len() as u64);
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        let w = self.file()?.finish()?;
        self.file = None;
        let e = WrittenEntry { written: w, key: self.entry.key.clone(), mtime: self.entry.mtime() };
        use std::sync::atomic::Ordering::Relaxed;
        self.out.files.fetch_add(1, Relaxed);
        self.out.bytes.fetch_add(e.written.size, Relaxed);
        if self.out.keep {
            self.out.list.lock().map_err(|_| Error::format("internal lock poisoned"))?.push(e);
        }
        Ok(())
    }
}

/// Write every entry of `plan` under `target` (created if missing), then the
/// administrative copy of the package when every file was written. A target that is not
/// empty is refused unless `opts.write.overwrite`. Errors of single files are in
/// the outcome; an error is returned only when the target cannot be used at all.
///
/// ```no_run
/// # fn main() -> hotfixkit::Result<()> {
/// let plan = hotfixkit::plan(&hotfixkit::ExtractRequest::new("product.msi"))?;
/// let outcome = hotfixkit::execute(&plan, "image".as_ref(), &Default::default())?;
/// println!("{} of {} files written", outcome.files, outcome.planned);
/// # Ok(())
/// # }
/// ```
pub fn execute(plan: &Plan, target: &Path, opts: &ExecuteOptions<'_>) -> Result<Outcome> {
    if !opts.write.overwrite && dir_is_nonempty(target) {
        return Err(Error::new(ErrorKind::Exists, "target directory is not empty").with_path(target));
    }
    let t = Target::new(target, opts.write)?;
    let mut outcome = write_entries(plan, &t, opts);
    // The administrative copy says the image is complete: it is written with the files
    // (one commit makes both durable) and named only when every file was.
    let mut held = None;
    if let (Some(name), Some(src)) = (&plan.admin_package, &plan.admin_source) {
        if outcome.errors.is_empty() {
            match write_admin(&t, name, src, &plan.dropped_streams) {
                Ok(h) => held = Some((name, h)),
                Err(e) => outcome.errors.push(e.context("administrative package copy")),
            }
        }
    }
    commit_into(&t, &mut outcome);
    if let Some((name, h)) = held {
        if outcome.errors.is_empty() {
            match h.commit() {
                Ok(()) => outcome.admin_package = Some(target.join(name).display().to_string()),
                Err(e) => outcome.errors.push(e.context("administrative package copy")),
            }
        }
    }
    Ok(outcome)
}

fn write_admin(
    t: &Target,
    name: &str,
    src: &super::admin::AdminSource,
    dropped: &[String],
) -> Result<crate::output::Held> {
    t.claim(&[name])?;
    let mut f = t.create(&[name], None)?;
    super::admin::write_admin_package(src, dropped, f.file_mut()?)?;
    f.finish_held().map(|(_, h)| h)
}

/// Make the files written durable and give them their final names; a file that could not
/// be is an error of the outcome and no longer counted.
fn commit_into(target: &Target, outcome: &mut Outcome) {
    let late = target.commit();
    outcome.files = outcome.files.saturating_sub(late.len() as u64);
    outcome.errors.extend(late);
}

fn dir_is_nonempty(p: &Path) -> bool {
    std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false)
}

/// Write the entries of `plan` through `target` (claimed first, in plan order, so that
/// collisions are reported deterministically: the first entry of a name keeps it).
pub(crate) fn execute_into<'a>(plan: &'a Plan, target: &'a Target, opts: &ExecuteOptions<'a>) -> Outcome {
    let mut outcome = write_entries(plan, target, opts);
    commit_into(target, &mut outcome);
    outcome
}

/// [`execute_into`] without the commit: the files wait under their temporary names.
fn write_entries<'a>(plan: &'a Plan, target: &'a Target, opts: &ExecuteOptions<'a>) -> Outcome {
    let out = Arc::new(Tally { keep: !opts.count_only, ..Default::default() });
    let mut ok_idx = Vec::new();
    let mut claim_errors = Vec::new();
    for (i, e) in plan.entries.iter().enumerate() {
        match &e.source {
            Source::Unavailable { reason } => claim_errors.push(Error::new(ErrorKind::Missing, reason.clone())),
            _ => match target.claim(&e.components()) {
                Ok(()) => ok_idx.push(i),
                Err(err) => claim_errors.push(err.context(format!("{} ({})", e.key, e.path))),
            },
        }
    }
    let planned = plan.entries.len() as u64;
    let errors = Mutex::new(claim_errors);
    let push_err = |e: Error| {
        if let Ok(mut v) = errors.lock() {
            v.push(e);
        }
    };
    // Loose files and deltas on their own; cabinet entries by folder, below.
    let loose: Vec<usize> = ok_idx
        .iter()
        .copied()
        .filter(|&i| matches!(plan.entries[i].source, Source::Loose { .. } | Source::Delta { .. }))
        .collect();
    // Make directories up front, sequentially (cheap, and avoids racing creation).
    for &i in &ok_idx {
        let c = plan.entries[i].components();
        if c.len() > 1 {
            if let Err(e) = target.make_dirs(&c[..c.len() - 1]) {
                push_err(e);
            }
        }
    }
    let label = |e: &PlanEntry| if e.key == e.path { e.path.clone() } else { format!("{} ({})", e.key, e.path) };
    let sink = |e: &'a PlanEntry| -> Box<dyn EntrySink + '_> { Box::new(Sink::new(target, e, &out, opts)) };
    for e in extract_cabinet_groups(plan, &ok_idx, &opts.write.deadline, label, sink) {
        push_err(e);
    }
    let loose_bytes: u64 = loose.iter().map(|&i| plan.entries[i].size).sum();
    let copy_one = |&i: &usize| {
        let e = &plan.entries[i];
        if let Source::Delta { .. } = &e.source {
            let r = super::read::read_source(plan, &e.source, &e.key, &opts.write.deadline).and_then(|new| {
                let mut sink = Sink::new(target, e, &out, opts);
                sink.write(&new)?;
                sink.finish()
            });
            return r.err();
        }
        let Source::Loose { path } = &e.source else { return None };
        let r = (|| -> Result<()> {
            let mut sink = Sink::new(target, e, &out, opts);
            let mut f = crate::random_access::open_file(path)?;
            let mut buf = vec![0u8; 1 << 16];
            sink.file()?;
            loop {
                let n = f.read(&mut buf).io_ctx(format_args!("reading {}", path.display()))?;
                if n == 0 {
                    break;
                }
                sink.write(&buf[..n])?;
            }
            sink.finish()
        })();
        r.err().map(|err| err.context(&e.key))
    };
    let loose_results: Vec<Option<Error>> = if loose.len() > 1 && loose_bytes >= PARALLEL_MIN_BYTES {
        loose.par_iter().map(copy_one).collect()
    } else {
        loose.iter().map(copy_one).collect()
    };
    for e in loose_results.into_iter().flatten() {
        push_err(e);
    }
    use std::sync::atomic::Ordering::Relaxed;
    let (files, bytes) = (out.files.load(Relaxed), out.bytes.load(Relaxed));
    let mut written = out.list.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    written.sort_by(|a, b| a.written.path.cmp(&b.written.path));
    Outcome { written, planned, files, bytes, admin_package: None, errors: errors.into_inner().unwrap_or_default() }
}

/// Stream the cabinet entries among the plan entries `indices`, grouped by (cabinet set,
/// folder), one parallel task per folder so each folder is decoded once; `label` names an
/// entry in messages and `sink` makes its destination. Other entries are left to the
/// caller. Returns the errors of every entry.
pub(crate) fn extract_cabinet_groups<'a>(
    job: &'a Plan,
    indices: &[usize],
    deadline: &Deadline,
    label: impl Fn(&PlanEntry) -> String + Sync,
    sink: impl Fn(&'a PlanEntry) -> Box<dyn EntrySink + 'a> + Sync,
) -> Vec<Error> {
    let mut by_folder: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for &i in indices {
        if let Source::Cabinet { set, folder, .. } = &job.entries[i].source {
            by_folder.entry((*set, *folder)).or_default().push(i);
        }
    }
    let groups: Vec<((usize, usize), Vec<usize>)> = by_folder.into_iter().collect();
    let one = |((set, folder), idx): &((usize, usize), Vec<usize>)| {
        let spans: Vec<Span> = idx
            .iter()
            .map(|&i| match &job.entries[i].source {
                Source::Cabinet { file, .. } => {
                    let f = job.sets[*set].file(*file);
                    Span { start: u64::from(f.offset), len: u64::from(f.size) }
                }
                _ => unreachable!("grouped entries are cabinet entries"),
            })
            .collect();
        let open = |k: usize| sink(&job.entries[idx[k]]);
        let name = |k: usize| label(&job.entries[idx[k]]);
        extract_folder(&job.sets[*set], *folder, &spans, deadline, &open, &name)
    };
    // One folder, or a few small ones, on this thread: the pool's threads would cost
    // more to start than they save.
    let bytes: u64 = indices.iter().map(|&i| job.entries[i].size).sum();
    let per_folder: Vec<Vec<Error>> = if groups.len() > 1 && bytes >= PARALLEL_MIN_BYTES {
        groups.par_iter().map(one).collect()
    } else {
        groups.iter().map(one).collect()
    };
    per_folder.into_iter().flatten().collect()
}
