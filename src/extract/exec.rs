//! The executor: decodes each cabinet folder once (independent folders in parallel),
//! copies loose files, and writes everything through [`Target`].

use super::plan::{Job, PlanEntry, Source};
use super::write::{Target, Written};
use crate::cab::{extract_folder, EntrySink, Span};
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// A written file with its metadata.
#[derive(Debug, Clone, serde::Serialize)]
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
    /// Files written, sorted by path (empty with [`ExecOptions::summary_only`]).
    pub written: Vec<WrittenEntry>,
    /// How many files were written.
    pub files: u64,
    /// How many bytes were written.
    pub bytes: u64,
    /// Files that could not be written.
    pub errors: Vec<Error>,
}

/// Executor options.
#[derive(Default)]
pub struct ExecOptions<'a> {
    /// Called with the number of bytes just written (from any thread).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Count the files and bytes written without keeping a [`WrittenEntry`] per file
    /// (which costs memory in proportion to the number of files).
    pub summary_only: bool,
}

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
    file: Option<super::write::AtomicFile>,
    out: Arc<Tally>,
    progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

impl<'a> Sink<'a> {
    fn new(target: &'a Target, entry: &'a PlanEntry, out: &Arc<Tally>, opts: &ExecOptions<'a>) -> Sink<'a> {
        Sink { target, entry, file: None, out: Arc::clone(out), progress: opts.progress }
    }

    fn file(&mut self) -> Result<&mut super::write::AtomicFile> {
        if self.file.is_none() {
            self.file = Some(self.target.create(&self.entry.components(), self.entry.mtime_unix)?);
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

/// The entries of a plan that claimed their paths, and the errors of those that could not.
pub struct Claimed {
    ok: Vec<usize>,
    errors: Vec<Error>,
}

/// Claim every path of `job` under `target`, in plan order, so collisions are reported
/// deterministically (the first entry of a name keeps it); entries without a source fail
/// here. Whatever claims a path afterwards collides with these.
pub fn claim_all(job: &Job, target: &Target) -> Claimed {
    let mut c = Claimed { ok: Vec::new(), errors: Vec::new() };
    for (i, e) in job.plan.entries.iter().enumerate() {
        match &e.source {
            Source::Unavailable { reason } => c.errors.push(Error::new(ErrorKind::Missing, reason.clone())),
            _ => match target.claim(&e.components()) {
                Ok(()) => c.ok.push(i),
                Err(err) => c.errors.push(err.context(format!("{} ({})", e.key, e.path))),
            },
        }
    }
    c
}

/// Write every entry of `job` under `target`.
pub fn execute(job: &Job, target: &Target, opts: &ExecOptions<'_>) -> Outcome {
    execute_claimed(job, target, claim_all(job, target), opts)
}

/// Write the entries [`claim_all`] claimed.
pub fn execute_claimed<'a>(job: &'a Job, target: &'a Target, claimed: Claimed, opts: &ExecOptions<'a>) -> Outcome {
    let out = Arc::new(Tally { keep: !opts.summary_only, ..Default::default() });
    let Claimed { ok: ok_idx, errors: claim_errors } = claimed;
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
        .filter(|&i| matches!(job.plan.entries[i].source, Source::Loose { .. } | Source::Delta { .. }))
        .collect();
    // Make directories up front, sequentially (cheap, and avoids racing creation).
    for &i in &ok_idx {
        let c = job.plan.entries[i].components();
        if c.len() > 1 {
            if let Err(e) = target.make_dirs(&c[..c.len() - 1]) {
                push_err(e);
            }
        }
    }
    let label = |e: &PlanEntry| if e.key == e.path { e.path.clone() } else { format!("{} ({})", e.key, e.path) };
    let sink = |e: &'a PlanEntry| -> Box<dyn EntrySink + '_> { Box::new(Sink::new(target, e, &out, opts)) };
    for e in extract_cabinet_groups(job, &ok_idx, label, sink) {
        push_err(e);
    }
    let loose_results: Vec<Option<Error>> = loose
        .par_iter()
        .map(|&i| {
            let e = &job.plan.entries[i];
            if let Source::Delta { .. } = &e.source {
                let r = crate::hotfix::find::read_source(job, &e.source, &e.key).and_then(|new| {
                    let mut sink = Sink::new(target, e, &out, opts);
                    sink.write(&new)?;
                    sink.finish()
                });
                return r.err();
            }
            let Source::Loose { path } = &e.source else { return None };
            let r = (|| -> Result<()> {
                let mut sink = Sink::new(target, e, &out, opts);
                let mut f = std::fs::File::open(path).io_ctx(format_args!("opening {}", path.display()))?;
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
        })
        .collect();
    for e in loose_results.into_iter().flatten() {
        push_err(e);
    }
    use std::sync::atomic::Ordering::Relaxed;
    let (files, bytes) = (out.files.load(Relaxed), out.bytes.load(Relaxed));
    let mut written = out.list.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    written.sort_by(|a, b| a.written.path.cmp(&b.written.path));
    Outcome { written, files, bytes, errors: errors.into_inner().unwrap_or_default() }
}

/// Stream the cabinet entries among the plan entries `indices`, grouped by (cabinet set,
/// folder), one parallel task per folder so each folder is decoded once; `label` names an
/// entry in messages and `sink` makes its destination. Other entries are left to the
/// caller. Returns the errors of every entry.
pub(crate) fn extract_cabinet_groups<'a>(
    job: &'a Job,
    indices: &[usize],
    label: impl Fn(&PlanEntry) -> String + Sync,
    sink: impl Fn(&'a PlanEntry) -> Box<dyn EntrySink + 'a> + Sync,
) -> Vec<Error> {
    let mut by_folder: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for &i in indices {
        if let Source::Cabinet { set, folder, .. } = &job.plan.entries[i].source {
            by_folder.entry((*set, *folder)).or_default().push(i);
        }
    }
    let groups: Vec<((usize, usize), Vec<usize>)> = by_folder.into_iter().collect();
    let per_folder: Vec<Vec<Error>> = groups
        .par_iter()
        .map(|((set, folder), idx)| {
            let spans: Vec<Span> = idx
                .iter()
                .map(|&i| match &job.plan.entries[i].source {
                    Source::Cabinet { file, .. } => {
                        let f = job.sets[*set].file(*file);
                        Span { start: u64::from(f.offset), len: u64::from(f.size) }
                    }
                    _ => unreachable!("grouped entries are cabinet entries"),
                })
                .collect();
            let open = |k: usize| sink(&job.plan.entries[idx[k]]);
            let name = |k: usize| label(&job.plan.entries[idx[k]]);
            extract_folder(&job.sets[*set], *folder, &spans, &open, &name)
        })
        .collect();
    per_folder.into_iter().flatten().collect()
}
