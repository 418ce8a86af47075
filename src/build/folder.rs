//! `hotfixkit build cab DIR`: a cabinet of a folder, through the `cab` crate.

use super::cabinet::{write_cab, CabCompression, CabInput};
use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

use super::msi::walk;

/// A Unix time as the cabinet's (year, month, day, hour, minute, second), no earlier
/// than 1980-01-01 (the first DOS date).
fn civil(secs: i64) -> (i32, u8, u8, u8, u8, u8) {
    match time::OffsetDateTime::from_unix_timestamp(secs.max(315_532_800)) {
        Ok(t) => (t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()),
        Err(_) => (1980, 1, 1, 0, 0, 0),
    }
}

/// A cabinet of every file under `dir` (names relative, backslash-separated).
pub fn build_cab(dir: &Path, compression: CabCompression) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    for f in walk(dir)? {
        let data = std::fs::read(&f.path).map_err(|e| Error::io(&e, "reading").with_path(&f.path))?;
        files.push(CabInput { name: f.rel.join("\\"), data, datetime: civil(f.mtime) });
    }
    if files.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "no files to package").with_path(dir));
    }
    write_cab(&[files], compression)
}
