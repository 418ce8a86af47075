//! Find a file by name in a folder, a package or a cabinet, and inside packages nested in
//! any of them (a cabinet in an MSI, an MSI in a folder), to a bounded depth. Nested
//! packages are read in memory; nothing is written.

use crate::error::{Error, ErrorKind, Result};
use crate::extract::{plan, read_entry, ExtractRequest, Plan};
use crate::package::InputKind;
use std::path::Path;

/// How deep packages inside packages are searched.
pub const MAX_DEPTH: usize = 4;

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

/// A plan for whatever `req` names, or `None` when it holds no files (a transform, an
/// unknown compound file, anything that is not a package).
fn plan_any(req: &ExtractRequest) -> Result<Option<Plan>> {
    let kind = match &req.data {
        Some(d) => crate::package::sniff_source(&req.input, &**d)?,
        None => crate::package::sniff(&req.input)?,
    };
    if !matches!(kind, InputKind::Cab | InputKind::Cfb) {
        return Ok(None);
    }
    match plan(req) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind() == ErrorKind::Usage => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_package_name(n: &str) -> bool {
    let l = n.to_lowercase();
    l.ends_with(".msi") || l.ends_with(".cab") || l.ends_with(".msp")
}

fn base(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn search_dir(path: &Path, name: &str, depth: usize, label: &str, out: &mut Vec<Found>) -> Result<()> {
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
            search(&ExtractRequest::new(p), name, depth + 1, &format!("{label}{rel} > "), out)?;
            if !out.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

fn search(req: &ExtractRequest, name: &str, depth: usize, label: &str, out: &mut Vec<Found>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    if req.data.is_none() {
        let meta = std::fs::symlink_metadata(&req.input).map_err(|e| Error::io(&e, "reading").with_path(&req.input))?;
        if meta.is_dir() {
            return search_dir(&req.input, name, depth, label, out);
        }
    }
    let Some(plan) = plan_any(req)? else { return Ok(()) };
    let mut nested = Vec::new();
    for (i, e) in plan.entries().iter().enumerate() {
        let shown = if e.path.is_empty() { e.key.as_str() } else { e.path.as_str() };
        let fname = base(shown);
        if fname.eq_ignore_ascii_case(name) || base(&e.key).eq_ignore_ascii_case(name) {
            let data = read_entry(&plan, i)?;
            out.push(Found { data, name: fname.to_string(), location: format!("{label}{shown}"), mtime: e.mtime_unix });
        } else if is_package_name(fname) {
            nested.push((i, shown.to_string()));
        }
    }
    if out.is_empty() {
        for (i, shown) in nested {
            let Ok(data) = read_entry(&plan, i) else { continue };
            let inner = ExtractRequest::from_bytes(base(&shown), data);
            search(&inner, name, depth + 1, &format!("{label}{shown} > "), out)?;
            if !out.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

/// Every file called `name` (case-insensitively) in `path` (a folder, package or
/// cabinet); packages nested inside are searched only when the outer level has none.
pub fn find_file(path: &Path, name: &str) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let label = format!("{} > ", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    search(&ExtractRequest::new(path), name, 0, &label, &mut out)?;
    Ok(out)
}
