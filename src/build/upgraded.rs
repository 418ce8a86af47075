//! The upgraded database of a target, derived from a folder of new file versions: each
//! file is matched to a File row, and that row gets the new size, the version and
//! language of the file's version resource, and (for a file without a version) a
//! MsiFileHash row with the MD5 of its bytes.

use crate::error::{Error, ErrorKind, Result, Warning, WarningKind};
use crate::extract::Plan;
use crate::msi::{Database, TableData, Val};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A new file version found in the folder.
pub(super) struct NewFile {
    /// Where it is.
    pub path: PathBuf,
    /// Size.
    pub size: u64,
    /// SHA-256.
    pub sha256: [u8; 32],
}

/// The derived database and the files it takes from the folder, by File key.
pub(super) struct Derived {
    pub tables: BTreeMap<String, TableData>,
    pub files: BTreeMap<String, NewFile>,
    pub warnings: Vec<Warning>,
}

/// Whether a File.Version value is a version (a companion-file reference is a File key).
pub(super) fn is_version(v: &Val) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(|c: char| c.is_ascii_digit()))
}

/// MsiFileHash's four parts: the MD5 of the bytes as four little-endian 32-bit integers.
pub(super) fn hash_parts(md5: &[u8; 16]) -> [i32; 4] {
    let p = |i: usize| i32::from_le_bytes([md5[i], md5[i + 1], md5[i + 2], md5[i + 3]]);
    [p(0), p(4), p(8), p(12)]
}

/// The MsiFileHash row of `key` for MD5 `md5`.
pub(super) fn hash_row(key: &str, md5: &[u8; 16]) -> Vec<Val> {
    let h = hash_parts(md5);
    vec![Val::str(key), Val::Int(0), Val::Int(h[0]), Val::Int(h[1]), Val::Int(h[2]), Val::Int(h[3])]
}

/// Set (or remove, with `None`) the MsiFileHash row of `key`, creating the table when
/// needed.
pub(super) fn set_hash(tables: &mut BTreeMap<String, TableData>, key: &str, md5: Option<&[u8; 16]>) {
    if md5.is_none() && !tables.contains_key("MsiFileHash") {
        return;
    }
    let t = tables.entry("MsiFileHash".into()).or_insert_with(|| TableData {
        name: "MsiFileHash".into(),
        columns: crate::msi::schema::columns("MsiFileHash").unwrap_or_default(),
        rows: Vec::new(),
    });
    let at = t.rows.iter().position(|r| r.first().and_then(Val::as_str) == Some(key));
    match (md5, at) {
        (Some(m), Some(i)) => t.rows[i] = hash_row(key, m),
        (Some(m), None) => t.rows.push(hash_row(key, m)),
        (None, Some(i)) => {
            t.rows.remove(i);
        }
        (None, None) => {}
    }
}

/// A file's version and language from its version resource, when it is a PE file with one.
pub(super) fn pe_version(data: &[u8]) -> Option<(String, Option<String>)> {
    let v = crate::pe::pe_info(data).ok()?.version?;
    let fv = v.file_version?;
    let lang = v
        .string_table
        .as_deref()
        .and_then(|t| t.get(..4))
        .and_then(|h| u16::from_str_radix(h, 16).ok())
        .map(|l| l.to_string());
    Some((fv, lang))
}

/// Match the files under `dir` to the target's File rows and derive the upgraded tables.
pub(super) fn derive(target: &Database, plan: &Plan, dir: &Path, product_version: Option<&str>) -> Result<Derived> {
    use md5::Digest as _;
    let file = target
        .table("File")
        .ok_or_else(|| Error::new(ErrorKind::Missing, "the target has no File table").with_path(&target.path))?;
    let (ki, si, vi, li) = (file.col("File"), file.col("FileSize"), file.col("Version"), file.col("Language"));
    let (Some(ki), Some(si), Some(vi), Some(li)) = (ki, si, vi, li) else {
        return Err(Error::format("the File table lacks a standard column").with_path(&target.path));
    };
    let by_path: BTreeMap<String, String> =
        plan.entries.iter().filter(|e| !e.path.is_empty()).map(|e| (e.path.to_lowercase(), e.key.clone())).collect();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &file.rows {
        let name = crate::msi::directory::pick_name(&file.get(r, "FileName").text(), false).to_lowercase();
        by_name.entry(name).or_default().push(file.get(r, "File").text());
    }
    let mut files: BTreeMap<String, NewFile> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut tables = target.tables.clone();
    for e in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let e = e.map_err(|err| Error::format(format!("walking: {err}")).with_path(dir))?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(dir).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
        let base = rel.rsplit('/').next().unwrap_or(&rel).to_lowercase();
        let key = match by_path.get(&rel.to_lowercase()) {
            Some(k) => k.clone(),
            None => match by_name.get(&base).map(Vec::as_slice) {
                Some([k]) => k.clone(),
                Some(many) => {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!(
                            "{rel} matches several File rows ({}); place it at its path in the target's image",
                            many.join(", ")
                        ),
                    )
                    .with_path(dir))
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!("{rel} matches no File row of the target (by path or by name)"),
                    )
                    .with_path(dir))
                }
            },
        };
        if let Some(prev) = files.get(&key) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{rel} and {} both match File row {key}", prev.path.display()),
            )
            .with_path(dir));
        }
        let data = std::fs::read(e.path()).map_err(|err| Error::io(&err, "reading").with_path(e.path()))?;
        if data.len() as u64 > i32::MAX as u64 {
            return Err(
                Error::new(ErrorKind::Limit, "file larger than 2 GiB (File.FileSize is 32-bit)").with_path(e.path())
            );
        }
        let sha: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&data).into();
        let md5: [u8; 16] = md5::Md5::digest(&data).into();
        let Some(row) = tables.get_mut("File").and_then(|t| t.rows.iter_mut().find(|r| r[ki].as_str() == Some(&key)))
        else {
            continue;
        };
        let was_versioned = is_version(&row[vi]);
        let companion = !row[vi].text().is_empty() && !was_versioned;
        row[si] = Val::Int(data.len() as i32);
        let mut versioned = false;
        match pe_version(&data) {
            Some((v, lang)) if !companion => {
                row[vi] = Val::str(v);
                if let Some(l) = lang {
                    row[li] = Val::str(l);
                }
                versioned = true;
            }
            _ if companion => {}
            _ => {
                if was_versioned {
                    warnings.push(Warning::new(
                        WarningKind::Other,
                        format!("File {key}: the new {rel} has no version resource; it becomes unversioned"),
                    ));
                }
                row[vi] = Val::Null;
            }
        }
        let hashed = !versioned && !companion;
        set_hash(&mut tables, &key, hashed.then_some(&md5));
        files.insert(key, NewFile { path: e.path().to_path_buf(), size: data.len() as u64, sha256: sha });
    }
    if files.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "the folder holds no files").with_path(dir));
    }
    if let Some(v) = product_version {
        if let Some(p) = tables.get_mut("Property") {
            if let Some(r) = p.rows.iter_mut().find(|r| r.first().and_then(Val::as_str) == Some("ProductVersion")) {
                r[1] = Val::str(v);
            }
        }
    }
    Ok(Derived { tables, files, warnings })
}
