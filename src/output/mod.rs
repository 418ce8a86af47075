//! The one way files are written: under a target directory, every name checked as a
//! Windows path component, every path resolved from an open handle without following
//! links, data written to a temporary name and renamed into place when complete.

mod dir_handle;
pub mod names;
pub mod spill;
mod target;

pub use target::{hex, AtomicFile, Held, Target, WriteOptions, Written};

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// Write `data` to the file at `path` (a name the caller chose) through the safe writer:
/// a temporary name in the same folder, renamed into place when complete; an existing
/// file is replaced only with `opts.overwrite`. The folder is created when missing.
pub fn write_file(path: &Path, data: &[u8], opts: &WriteOptions) -> Result<Written> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(ErrorKind::Usage, "not a file name (or not valid Unicode)").with_path(path))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let t = Target::new(dir, *opts)?;
    let mut f = t.create_named(name, None).map_err(|e| e.with_path(path))?;
    f.write(data).map_err(|e| e.with_path(path))?;
    let w = f.finish().map_err(|e| e.with_path(path))?;
    match t.commit().into_iter().next() {
        Some(e) => Err(e.with_path(path)),
        None => Ok(w),
    }
}

/// Where a producer hands its bytes, piece by piece.
pub type ByteSink<'a> = dyn FnMut(&[u8]) -> Result<()> + 'a;

/// Write the file at `path` from a producer that hands its bytes to `sink` piece by
/// piece (so the whole never sits in memory), through the safe writer as
/// [`write_file`] does.
pub fn write_file_with(
    path: &Path,
    opts: &WriteOptions,
    produce: &mut dyn FnMut(&mut ByteSink<'_>) -> Result<()>,
) -> Result<Written> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(ErrorKind::Usage, "not a file name (or not valid Unicode)").with_path(path))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let t = Target::new(dir, *opts)?;
    let mut f = t.create_named(name, None).map_err(|e| e.with_path(path))?;
    produce(&mut |b| f.write(b))?;
    let w = f.finish().map_err(|e| e.with_path(path))?;
    match t.commit().into_iter().next() {
        Some(e) => Err(e.with_path(path)),
        None => Ok(w),
    }
}

/// Refuse to write `output` when it is one of `inputs` (the same file under any name),
/// or a folder that holds one of them.
pub fn refuse_inputs(output: &Path, inputs: &[&Path]) -> Result<()> {
    let Ok(out_meta) = std::fs::metadata(output) else { return Ok(()) };
    for i in inputs {
        let Ok(in_meta) = std::fs::metadata(i) else { continue };
        if same_file(&out_meta, &in_meta) {
            return Err(Error::new(ErrorKind::Usage, format!("is also an input ({}); not overwritten", i.display()))
                .with_path(output));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok() && a.created().ok() == b.created().ok()
}
