//! Reading one planned entry into memory, without writing anything.

use super::plan::{Plan, Source};
use crate::cab::{extract_folder, EntrySink, Span};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Result};
use std::sync::Mutex;

/// Largest entry read into memory.
pub const MAX_IN_MEMORY: u64 = 512 << 20;

struct Grab<'a> {
    buf: Vec<u8>,
    out: &'a Mutex<Option<Vec<u8>>>,
}

impl EntrySink for Grab<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if (self.buf.len() + data.len()) as u64 > MAX_IN_MEMORY {
            return Err(Error::new(ErrorKind::Limit, "entry larger than 512 MiB"));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        *self.out.lock().map_err(|_| Error::format("internal lock poisoned"))? = Some(std::mem::take(&mut self.buf));
        Ok(())
    }
}

/// Read entry `index` of `plan` into memory (at most 512 MiB): a cabinet entry is
/// decoded from its folder's start, a delta applied to its base file.
///
/// ```no_run
/// # fn main() -> hotfixkit::Result<()> {
/// let plan = hotfixkit::plan(&hotfixkit::ExtractRequest::new("hotfix.msi"))?;
/// if let Some(i) = plan.entries().iter().position(|e| e.path.ends_with("CCMCertFix.exe")) {
///     let bytes = hotfixkit::read_entry(&plan, i)?;
///     println!("{} bytes", bytes.len());
/// }
/// # Ok(())
/// # }
/// ```
pub fn read_entry(plan: &Plan, index: usize) -> Result<Vec<u8>> {
    let e =
        plan.entries.get(index).ok_or_else(|| Error::new(ErrorKind::Usage, format!("no entry {index} in the plan")))?;
    read_source(plan, &e.source, &e.key, &Deadline::NONE)
}

/// Read the bytes a source names (a cabinet entry, a loose file, a delta applied).
pub(crate) fn read_source(plan: &Plan, source: &Source, label: &str, deadline: &Deadline) -> Result<Vec<u8>> {
    match source {
        Source::Delta { base, patch } => {
            let old = read_source(plan, base, label, deadline)?;
            let d = read_source(plan, patch, label, deadline)?;
            crate::delta::apply(&d, Some(&old)).map_err(|err| err.context(format!("File {label} (binary delta)")))
        }
        Source::Loose { path } => {
            use std::io::Read;
            let f = crate::random_access::open_file(path)?;
            let mut v = Vec::new();
            f.take(MAX_IN_MEMORY + 1).read_to_end(&mut v).map_err(|err| Error::io(&err, "reading").with_path(path))?;
            if v.len() as u64 > MAX_IN_MEMORY {
                return Err(Error::new(ErrorKind::Limit, "file larger than 512 MiB").with_path(path));
            }
            Ok(v)
        }
        Source::Unavailable { reason } => Err(Error::new(ErrorKind::Missing, reason.clone())),
        Source::Cabinet { set, folder, file, .. } => {
            let slot = Mutex::new(None);
            let f = plan.sets[*set].file(*file);
            let span = Span { start: u64::from(f.offset), len: u64::from(f.size) };
            let open = |_| -> Box<dyn EntrySink + '_> { Box::new(Grab { buf: Vec::new(), out: &slot }) };
            if let Some(e) =
                extract_folder(&plan.sets[*set], *folder, &[span], deadline, &open, &|_| label.to_string()).pop()
            {
                return Err(e);
            }
            slot.into_inner().ok().flatten().ok_or_else(|| Error::format(format!("{label}: no data")))
        }
    }
}

/// The order [`stream_entries`] delivers `indices` in: cabinet entries by (set, folder,
/// offset), then every other entry in the order given.
pub(crate) fn delivery_order(plan: &Plan, indices: &[usize]) -> Vec<usize> {
    let mut cab: Vec<(usize, usize, u64, usize)> = Vec::new();
    let mut other = Vec::new();
    for &i in indices {
        match plan.entries.get(i).map(|e| &e.source) {
            Some(Source::Cabinet { set, folder, offset, .. }) => cab.push((*set, *folder, *offset, i)),
            Some(_) => other.push(i),
            None => {}
        }
    }
    cab.sort();
    cab.into_iter().map(|c| c.3).chain(other).collect()
}

/// What [`stream_entries`] calls: bytes of entry `index` (in order), then `None` once
/// that entry is complete.
pub(crate) type EntryBytes<'a> = dyn FnMut(usize, Option<&[u8]>) -> Result<()> + 'a;

struct Forward<'a, 'b> {
    index: usize,
    to: &'a std::cell::RefCell<&'b mut EntryBytes<'b>>,
}

impl EntrySink for Forward<'_, '_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        (self.to.borrow_mut())(self.index, Some(data))
    }
    fn finish(&mut self) -> Result<()> {
        (self.to.borrow_mut())(self.index, None)
    }
}

/// Deliver the bytes of the entries `indices` (in [`delivery_order`]) to `each`, one
/// entry after the other, on this thread: every cabinet folder is decoded once, from
/// its start to its last entry wanted; other sources are read whole. Memory holds a
/// decoded block at a time (a whole file only for loose files and deltas).
pub(crate) fn stream_entries<'b>(
    plan: &Plan,
    indices: &[usize],
    deadline: &Deadline,
    each: &'b mut EntryBytes<'b>,
) -> Result<()> {
    let order = delivery_order(plan, indices);
    let to = std::cell::RefCell::new(each);
    let mut k = 0;
    while k < order.len() {
        let i = order[k];
        let e = &plan.entries[i];
        if let Source::Cabinet { set, folder, .. } = &e.source {
            let (set, folder) = (*set, *folder);
            let mut group = Vec::new();
            while k < order.len() {
                match &plan.entries[order[k]].source {
                    Source::Cabinet { set: s, folder: f, .. } if *s == set && *f == folder => group.push(order[k]),
                    _ => break,
                }
                k += 1;
            }
            let spans: Vec<Span> = group
                .iter()
                .map(|&g| match &plan.entries[g].source {
                    Source::Cabinet { file, .. } => {
                        let f = plan.sets[set].file(*file);
                        Span { start: u64::from(f.offset), len: u64::from(f.size) }
                    }
                    _ => Span { start: 0, len: 0 },
                })
                .collect();
            let open = |n: usize| -> Box<dyn EntrySink + '_> { Box::new(Forward { index: group[n], to: &to }) };
            let label = |n: usize| plan.entries[group[n]].key.clone();
            if let Some(err) =
                extract_folder(&plan.sets[set], folder, &spans, deadline, &open, &label).into_iter().next()
            {
                return Err(err);
            }
        } else {
            let data = read_source(plan, &e.source, &e.key, deadline)?;
            let mut f = to.borrow_mut();
            for chunk in data.chunks(1 << 16) {
                (f)(i, Some(chunk))?;
            }
            (f)(i, None)?;
            k += 1;
        }
    }
    Ok(())
}
