//! `hotfixkit build cab|msi DIR`: package a folder, through the third-party writers.

use super::cabinet::{write_cab, CabCompression, CabInput};
use super::database::{write_database, PackageFile, PackageSpec, SummarySpec};
use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// Largest folder packaged.
pub const MAX_INPUT: u64 = 2 << 30;

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

fn guid(seed: &str) -> String {
    // A stable GUID-shaped identifier from a name (FNV-1a, twice).
    let h = |s: &str, k: u64| {
        s.bytes().fold(0xcbf29ce484222325u64 ^ k, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
    };
    let a = h(seed, 1);
    let b = h(seed, 2);
    format!(
        "{{{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        (b >> 48) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A hotfix-style installer package: one component per folder, every file in one embedded
/// MSZIP cabinet, PE versions in File.Version.
pub fn build_msi(dir: &Path, product_name: &str, version: &str) -> Result<Vec<u8>> {
    let entries = walk(dir)?;
    if entries.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "no files to package").with_path(dir));
    }
    let mut directories = vec![("TARGETDIR".to_string(), None, "SourceDir".to_string())];
    let mut dir_keys: std::collections::BTreeMap<Vec<String>, String> = std::collections::BTreeMap::new();
    dir_keys.insert(Vec::new(), "TARGETDIR".into());
    let mut components = Vec::new();
    let mut files = Vec::new();
    for (i, (comps, path, when)) in entries.iter().enumerate() {
        let folder = comps[..comps.len() - 1].to_vec();
        for depth in 1..=folder.len() {
            let prefix = folder[..depth].to_vec();
            if !dir_keys.contains_key(&prefix) {
                let key = format!("D{}", dir_keys.len());
                let parent = dir_keys[&prefix[..depth - 1].to_vec()].clone();
                directories.push((key.clone(), Some(parent), prefix[depth - 1].clone()));
                dir_keys.insert(prefix, key);
            }
        }
        let dkey = dir_keys[&folder].clone();
        let ckey = format!("C_{dkey}");
        if !components.iter().any(|(c, _, _): &(String, String, String)| c == &ckey) {
            components.push((ckey.clone(), guid(&format!("{product_name}/{}", folder.join("/"))), dkey.clone()));
        }
        let data = std::fs::read(path).map_err(|e| Error::io(&e, "reading").with_path(path))?;
        let ver = crate::pe::pe_info(&data).ok().and_then(|p| p.version).and_then(|v| v.file_version);
        files.push(PackageFile {
            key: format!("F{}", i + 1),
            component: ckey,
            file_name: comps[comps.len() - 1].clone(),
            data,
            datetime: *when,
            attributes: 0,
            language: ver.as_ref().map(|_| "0".to_string()),
            version: ver,
            sequence: i as i32 + 1,
        });
    }
    let cab = write_cab(
        &[files.iter().map(|f| CabInput { name: f.key.clone(), data: f.data.clone(), datetime: f.datetime }).collect()],
        CabCompression::MsZip,
    )?;
    let code = guid(&format!("{product_name} {version} product"));
    let spec = PackageSpec {
        summary: SummarySpec {
            title: "Installation Database".into(),
            subject: product_name.into(),
            author: "hotfixkit build".into(),
            comments: format!("{product_name} {version}"),
            arch: "Intel".into(),
            language: 1033,
            package_code: guid(&format!("{product_name} {version} package")),
            word_count: 2,
            page_count: 200,
            creating_application: "hotfixkit build msi".into(),
            created: 1_262_304_000,
        },
        properties: vec![
            ("Manufacturer".into(), "hotfixkit build".into()),
            ("ProductCode".into(), code),
            ("ProductLanguage".into(), "1033".into()),
            ("ProductName".into(), product_name.into()),
            ("ProductVersion".into(), version.into()),
            ("UpgradeCode".into(), guid(&format!("{product_name} upgrade"))),
        ],
        directories,
        components,
        media: vec![(1, files.len() as i32, "#payload.cab".into())],
        files,
        streams: vec![("payload.cab".into(), cab)],
    };
    write_database(&spec.database())
}
