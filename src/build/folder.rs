//! `hotfixkit build cab DIR`: a cabinet of a folder, through the `cab` crate.

use super::cabinet::{write_cab, CabCompression, CabInput};
use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

use super::msi::MAX_INPUT;

/// A file to package: path components, source path, timestamp.
type Walked = (Vec<String>, std::path::PathBuf, (i32, u8, u8, u8, u8, u8));

fn walk(dir: &Path) -> Result<Vec<Walked>> {
    let mut out = Vec::new();
    let mut total = 0u64;
    for e in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let e = e.map_err(|e| Error::format(format!("walking: {e}")).with_path(dir))?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(dir).unwrap_or(e.path());
        let comps: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        crate::output::names::split_relative(&comps.join("/")).map_err(|err| err.with_path(e.path()))?;
        let meta = e.metadata().map_err(|err| Error::format(format!("{err}")).with_path(e.path()))?;
        total += meta.len();
        if total > MAX_INPUT {
            return Err(Error::new(ErrorKind::Limit, "folder holds more than 2 GiB").with_path(dir));
        }
        let secs = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or(315_532_800);
        let s = crate::dates::unix_to_iso(secs.max(315_532_800));
        let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap_or(0);
        out.push((
            comps,
            e.path().to_path_buf(),
            (n(0, 4) as i32, n(5, 7) as u8, n(8, 10) as u8, n(11, 13) as u8, n(14, 16) as u8, n(17, 19) as u8),
        ));
    }
    Ok(out)
}

/// A cabinet of every file under `dir` (names relative, backslash-separated).
pub fn build_cab(dir: &Path, compression: CabCompression) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    for (comps, path, when) in walk(dir)? {
        let data = std::fs::read(&path).map_err(|e| Error::io(&e, "reading").with_path(&path))?;
        files.push(CabInput { name: comps.join("\\"), data, datetime: when });
    }
    if files.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "no files to package").with_path(dir));
    }
    write_cab(&[files], compression)
}
