//! Find a file by name in a folder, a package or a cabinet, and inside packages nested in
//! any of them (a cabinet in an MSI, an MSI in a folder), to a bounded depth.

use crate::cab::{extract_folder, EntrySink, Span};
use crate::error::{Error, ErrorKind, Result};
use crate::extract::{Job, Source};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How deep packages inside packages are searched.
pub const MAX_DEPTH: usize = 4;
/// Largest entry read into memory while searching.
pub const MAX_ENTRY: u64 = 512 << 20;

/// A found file.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its bytes.
    pub data: Vec<u8>,
    /// Its name as stored.
    pub name: String,
    /// Where: `outer.msi > inner.cab > name`.
    pub location: String,
    /// Its cabinet or file time (Unix seconds).
    pub mtime: Option<i64>,
}

struct Grab<'a> {
    buf: Vec<u8>,
    out: &'a Mutex<Option<Vec<u8>>>,
}

impl EntrySink for Grab<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if (self.buf.len() + data.len()) as u64 > MAX_ENTRY {
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

/// Read one planned entry into memory.
pub fn read_entry(job: &Job, index: usize) -> Result<Vec<u8>> {
    let e = &job.plan.entries[index];
    read_source(job, &e.source, &e.key)
}

/// Read the bytes a source names (a cabinet entry, a loose file, a delta applied).
pub fn read_source(job: &Job, source: &Source, label: &str) -> Result<Vec<u8>> {
    match source {
        Source::Delta { base, patch } => {
            let old = read_source(job, base, label)?;
            let d = read_source(job, patch, label)?;
            crate::delta::pa19::apply(&d, Some(&old)).map_err(|err| err.context(format!("File {label} (binary delta)")))
        }
        Source::Loose { path } => std::fs::read(path).map_err(|err| Error::io(&err, "reading").with_path(path)),
        Source::Unavailable { reason } => Err(Error::new(ErrorKind::Missing, reason.clone())),
        Source::Cabinet { set, folder, file, .. } => {
            let slot = Mutex::new(None);
            let f = job.sets[*set].file(*file);
            let span = Span { start: u64::from(f.offset), len: u64::from(f.size) };
            let open = |_| -> Box<dyn EntrySink + '_> { Box::new(Grab { buf: Vec::new(), out: &slot }) };
            if let Some(e) = extract_folder(&job.sets[*set], *folder, &[span], &open, &|_| label.to_string()).pop() {
                return Err(e);
            }
            slot.into_inner().ok().flatten().ok_or_else(|| Error::format(format!("{label}: no data")))
        }
    }
}

fn plan(path: &Path) -> Result<Option<Job>> {
    Ok(match crate::sniff(path)? {
        crate::FileKind::Cab => Some(crate::extract::plan_cab(path)?),
        crate::FileKind::Cfb => {
            let db = crate::msi::Database::open(path)?;
            Some(match db.kind {
                crate::msi::PackageKind::Msi => crate::extract::plan_msi(&db)?,
                crate::msi::PackageKind::Msp => crate::extract::plan_patch_alone(path)?,
                _ => return Ok(None),
            })
        }
        _ => None,
    })
}

fn is_package_name(n: &str) -> bool {
    let l = n.to_lowercase();
    l.ends_with(".msi") || l.ends_with(".cab") || l.ends_with(".msp")
}

fn base(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn search(path: &Path, name: &str, depth: usize, label: &str, scratch: &Path, out: &mut Vec<Found>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(&e, "reading").with_path(path))?;
    if meta.is_dir() {
        let mut nested = Vec::new();
        for e in walkdir::WalkDir::new(path).follow_links(false).sort_by_file_name().into_iter().flatten() {
            if !e.file_type().is_file() {
                continue;
            }
            let fname = e.file_name().to_string_lossy().into_owned();
            let rel = e.path().strip_prefix(path).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
            if fname.eq_ignore_ascii_case(name) {
                let data = std::fs::read(e.path()).map_err(|err| Error::io(&err, "reading").with_path(e.path()))?;
                let mtime = e
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64);
                out.push(Found { data, name: fname, location: format!("{label}{rel}"), mtime });
            } else if is_package_name(&fname) {
                nested.push((e.path().to_path_buf(), rel));
            }
        }
        if out.is_empty() {
            for (p, rel) in nested {
                search(&p, name, depth + 1, &format!("{label}{rel} > "), scratch, out)?;
                if !out.is_empty() {
                    break;
                }
            }
        }
        return Ok(());
    }
    let Some(job) = plan(path)? else { return Ok(()) };
    let mut nested = Vec::new();
    for (i, e) in job.plan.entries.iter().enumerate() {
        let shown = if e.path.is_empty() { e.key.as_str() } else { e.path.as_str() };
        let fname = base(shown);
        if fname.eq_ignore_ascii_case(name) || base(&e.key).eq_ignore_ascii_case(name) {
            let data = read_entry(&job, i)?;
            out.push(Found { data, name: fname.to_string(), location: format!("{label}{shown}"), mtime: e.mtime_unix });
        } else if is_package_name(fname) {
            nested.push((i, shown.to_string()));
        }
    }
    if out.is_empty() {
        for (i, shown) in nested {
            let data = match read_entry(&job, i) {
                Ok(d) => d,
                Err(_) => continue,
            };
            let tmp = scratch.join(format!("nested-{depth}-{i}-{}", base(&shown)));
            std::fs::write(&tmp, &data).map_err(|e| Error::io(&e, "writing scratch copy").with_path(&tmp))?;
            let r = search(&tmp, name, depth + 1, &format!("{label}{shown} > "), scratch, out);
            let _ = std::fs::remove_file(&tmp);
            r?;
            if !out.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

/// Every file called `name` (case-insensitively) in `path`; packages nested inside are
/// searched only when the outer level has none. `scratch` holds nested packages briefly.
pub fn find_file(path: &Path, name: &str, scratch: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let label = format!("{} > ", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    search(path, name, 0, &label, scratch, &mut out)?;
    Ok(out)
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A new scratch directory under the system temporary directory.
    pub fn new() -> Result<Scratch> {
        let p = std::env::temp_dir().join(format!(
            "hotfixkit-scratch-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ));
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&e, "creating scratch directory").with_path(&p))?;
        Ok(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
