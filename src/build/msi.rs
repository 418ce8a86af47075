//! `build msi`: an installer package that installs every file of a folder.
//!
//! One component per file, the file its key path, with a ComponentId derived from the
//! upgrade code and the file's installed path (a rebuild, or the next version of the
//! product, gives every file the same component code, so versions can be patched);
//! versioned files get File.Version and Language from their version resource, the others
//! a MsiFileHash row; the standard sequence tables and the required properties. The
//! files are streamed into embedded MSZIP cabinets as they are read (one file's bytes
//! at a time in memory for a PE file, a 64 KiB buffer for any other), so memory does not
//! grow with the payload. A package description (YAML) fixes the product's name,
//! version, codes and where each input folder installs.

use super::cab_stream::{dos_datetime_unix, split, CabEntry, CabWriter};
use super::ids::{derived_guid, key, normalise_guid, short_hash};
use super::package_writer::{PackageWriter, MSI_CLSID};
use super::patch_spec::Progress;
use super::upgraded::hash_row;
use crate::error::{Error, ErrorKind, Result};
use crate::msi::summary::SummaryValue;
use crate::msi::{TableData, Val};
use crate::output::{Target, WriteOptions};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest folder packaged.
pub const MAX_INPUT: u64 = 2 << 30;

/// The product a package installs.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInfo {
    /// ProductName.
    pub name: String,
    /// ProductVersion (`major.minor.build[.revision]`).
    pub version: String,
    /// Manufacturer.
    #[serde(default = "default_manufacturer")]
    pub manufacturer: String,
    /// ProductLanguage (a Windows language id).
    #[serde(default = "default_language")]
    pub language: u16,
    /// UpgradeCode; default derived from the manufacturer and the name.
    #[serde(default)]
    pub upgrade_code: Option<String>,
    /// ProductCode; default derived from the upgrade code, so that every version of the
    /// product shares it (minor upgrades and patches; a major upgrade names its own).
    #[serde(default)]
    pub product_code: Option<String>,
    /// Package code (Revision Number); default derived from the tables and the bytes.
    #[serde(default)]
    pub package_code: Option<String>,
    /// `x86` (the default) or `x64`.
    #[serde(default = "default_platform")]
    pub platform: String,
}

fn default_manufacturer() -> String {
    "hotfixkit".into()
}
fn default_language() -> u16 {
    1033
}
fn default_platform() -> String {
    "x86".into()
}

/// A package description: the product, where the folder installs, more properties.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageDescription {
    /// The product.
    pub product: ProductInfo,
    /// Where the folder's root installs: a standard folder property and folder names
    /// below it (`ProgramFilesFolder/Contoso/App`); default `ProgramFilesFolder/<name>`
    /// (`ProgramFiles64Folder` for x64).
    #[serde(default)]
    pub install_dir: Option<String>,
    /// Subfolders of the input that install elsewhere: input path -> location in the
    /// same form as `install_dir` (`client/i386: SystemFolder/CCM`).
    #[serde(default)]
    pub folders: BTreeMap<String, String>,
    /// More Property rows.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl PackageDescription {
    /// A description with defaults for everything but the name and version.
    pub fn new(name: &str, version: &str) -> PackageDescription {
        PackageDescription {
            product: ProductInfo {
                name: name.into(),
                version: version.into(),
                manufacturer: default_manufacturer(),
                language: default_language(),
                upgrade_code: None,
                product_code: None,
                package_code: None,
                platform: default_platform(),
            },
            install_dir: None,
            folders: BTreeMap::new(),
            properties: BTreeMap::new(),
        }
    }

    /// Read a description (YAML).
    pub fn parse(text: &str) -> Result<PackageDescription> {
        let d: PackageDescription =
            yaml_serde::from_str(text).map_err(|e| Error::format(format!("package description: {e}")))?;
        d.check()?;
        Ok(d)
    }

    /// Read a description file (YAML).
    pub fn load(path: &Path) -> Result<PackageDescription> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&e, "reading").with_path(path))?;
        Self::parse(&text).map_err(|e| e.with_path(path))
    }

    fn check(&self) -> Result<()> {
        let p = &self.product;
        let v: Vec<&str> = p.version.split('.').collect();
        let fits = |i: usize, max: u32| v.get(i).is_none_or(|x| x.parse::<u32>().is_ok_and(|n| n <= max));
        if !(2..=4).contains(&v.len()) || !fits(0, 255) || !fits(1, 255) || !fits(2, 65535) || !fits(3, 65535) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("version {:?} is not major.minor.build[.revision] (255.255.65535)", p.version),
            ));
        }
        if p.name.trim().is_empty() {
            return Err(Error::new(ErrorKind::Usage, "the product needs a name"));
        }
        if !matches!(p.platform.as_str(), "x86" | "x64") {
            return Err(Error::new(ErrorKind::Usage, format!("platform {:?}: x86 or x64", p.platform)));
        }
        for (what, g) in [("upgrade", &p.upgrade_code), ("product", &p.product_code), ("package", &p.package_code)] {
            if let Some(g) = g {
                normalise_guid(g)
                    .ok_or_else(|| Error::new(ErrorKind::Usage, format!("{what} code {g:?} is not a GUID")))?;
            }
        }
        Ok(())
    }
}

/// What `build msi` made.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct MsiReport {
    /// The package written.
    pub output: String,
    /// Its size.
    pub size: u64,
    /// ProductCode.
    pub product_code: String,
    /// UpgradeCode.
    pub upgrade_code: String,
    /// Package code.
    pub package_code: String,
    /// ProductVersion.
    pub version: String,
    /// Files packaged.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Embedded cabinets.
    pub cabinets: Vec<String>,
}

/// Standard folder properties a location may start with.
const STANDARD_FOLDERS: &[&str] = &[
    "TARGETDIR",
    "ProgramFilesFolder",
    "ProgramFiles64Folder",
    "CommonFilesFolder",
    "CommonFiles64Folder",
    "SystemFolder",
    "System64Folder",
    "WindowsFolder",
    "WindowsVolume",
    "CommonAppDataFolder",
    "AppDataFolder",
    "LocalAppDataFolder",
    "ProgramMenuFolder",
    "StartMenuFolder",
    "DesktopFolder",
    "FontsFolder",
];

/// Whether `n` may be used as a short (8.3) name as it is.
fn is_short(n: &str) -> bool {
    let bad = |c: char| !c.is_ascii() || c.is_ascii_control() || "\\?|><:/*\"+,;=[] .".contains(c);
    let (base, ext) = match n.rsplit_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (n, None),
    };
    !base.is_empty()
        && base.len() <= 8
        && !base.chars().any(bad)
        && ext.is_none_or(|e| !e.is_empty() && e.len() <= 3 && !e.chars().any(bad))
}

/// `short|long` for a name that is not a valid short name (the short one eight
/// characters of a hash and the first three of the extension, as WiX makes them; never
/// the `NAME~1` shape, which extraction refuses as a possible alias), unique within
/// `used` (a folder's short names).
fn with_short(long: &str, used: &mut HashSet<String>) -> String {
    if is_short(long) && used.insert(long.to_ascii_lowercase()) {
        return long.to_string();
    }
    let ext: String = long
        .rsplit_once('.')
        .map(|(_, e)| e.chars().filter(|c| c.is_ascii_alphanumeric()).take(3).collect::<String>().to_ascii_lowercase())
        .unwrap_or_default();
    for n in 0.. {
        let h = short_hash(&format!("{n}:{long}")).to_ascii_lowercase();
        let s = if ext.is_empty() { h } else { format!("{h}.{ext}") };
        if used.insert(s.clone()) {
            return format!("{s}|{long}");
        }
    }
    long.to_string()
}

/// A file found in the folder.
pub(crate) struct Found {
    /// Path components under the folder.
    pub rel: Vec<String>,
    pub path: PathBuf,
    pub size: u64,
    /// Modification time (Unix seconds; 1980-01-01 when unknown).
    pub mtime: i64,
}

/// Every file under `dir`, sorted by name, links not followed, names checked, at most
/// [`MAX_INPUT`] bytes in all.
pub(crate) fn walk(dir: &Path) -> Result<Vec<Found>> {
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
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or(315_532_800);
        out.push(Found { rel: comps, path: e.path().to_path_buf(), size: meta.len(), mtime });
    }
    Ok(out)
}

/// The Directory rows of a package under construction.
struct Dirs {
    rows: Vec<Vec<Val>>,
    /// Location (lower-cased, `/`-joined from the standard folder) -> key.
    keys: BTreeMap<String, String>,
    /// Short names used per parent key.
    used: BTreeMap<String, HashSet<String>>,
}

impl Dirs {
    fn new() -> Dirs {
        let mut d = Dirs { rows: Vec::new(), keys: BTreeMap::new(), used: BTreeMap::new() };
        d.rows.push(vec![Val::str("TARGETDIR"), Val::Null, Val::str("SourceDir")]);
        d.keys.insert("targetdir".into(), "TARGETDIR".into());
        d
    }

    /// The key of location `loc` (a standard folder and names), creating rows; the
    /// location `install` gets the key INSTALLDIR.
    fn key(&mut self, loc: &[String], install: &[String]) -> String {
        let mut parent = String::new();
        for depth in 1..=loc.len() {
            let path = loc[..depth].join("/").to_lowercase();
            if let Some(k) = self.keys.get(&path) {
                parent = k.clone();
                continue;
            }
            let name = &loc[depth - 1];
            let k = if depth == 1 {
                let default = if name == "ProgramFilesFolder" { "PFiles".to_string() } else { name.clone() };
                self.rows.push(vec![Val::str(name.as_str()), Val::str("TARGETDIR"), Val::str(default)]);
                name.clone()
            } else {
                let k = if loc[..depth] == install[..] { "INSTALLDIR".to_string() } else { key("D_", name, &path) };
                let short = with_short(name, self.used.entry(parent.clone()).or_default());
                self.rows.push(vec![Val::str(k.as_str()), Val::str(parent.as_str()), Val::str(short)]);
                k
            };
            self.keys.insert(path, k.clone());
            parent = k;
        }
        parent
    }
}

fn location(spec: &str) -> Result<Vec<String>> {
    let parts: Vec<String> = spec.split(['/', '\\']).filter(|s| !s.is_empty()).map(str::to_string).collect();
    match parts.first() {
        Some(f) if STANDARD_FOLDERS.contains(&f.as_str()) => {}
        _ => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("location {spec:?} must start with a standard folder ({})", STANDARD_FOLDERS.join(", ")),
            ))
        }
    }
    for p in &parts[1..] {
        crate::output::names::check_component(p)?;
    }
    Ok(parts)
}

fn table(name: &str, rows: Vec<Vec<Val>>) -> TableData {
    TableData { name: name.into(), columns: crate::msi::schema::columns(name).unwrap_or_default(), rows }
}

/// What streaming a file told about it.
struct Seen {
    md5: [u8; 16],
    version: Option<(String, Option<String>)>,
}

/// Package every file under `dir` as `desc` describes into `output` (through the safe
/// writer). `progress` gets the bytes read of the bytes to read.
pub fn build_msi(
    dir: &Path,
    desc: &PackageDescription,
    output: &Path,
    opts: &WriteOptions,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<MsiReport> {
    use md5::Digest as _;
    desc.check()?;
    let p = &desc.product;
    let found = walk(dir)?;
    if found.is_empty() {
        return Err(Error::new(ErrorKind::Usage, "no files to package").with_path(dir));
    }
    let x64 = p.platform == "x64";
    let upgrade = match &p.upgrade_code {
        Some(g) => normalise_guid(g).unwrap_or_default(),
        None => derived_guid(&format!("upgrade|{}|{}", p.manufacturer, p.name)),
    };
    let product = match &p.product_code {
        Some(g) => normalise_guid(g).unwrap_or_default(),
        None => derived_guid(&format!("product|{upgrade}")),
    };
    let pf = if x64 { "ProgramFiles64Folder" } else { "ProgramFilesFolder" };
    let install = location(&desc.install_dir.clone().unwrap_or_else(|| format!("{pf}/{}", p.name)))?;
    let mut maps: Vec<(Vec<String>, Vec<String>)> = vec![(Vec::new(), install.clone())];
    for (src, to) in &desc.folders {
        let s: Vec<String> = src.split(['/', '\\']).filter(|x| !x.is_empty()).map(str::to_string).collect();
        maps.push((s, location(to)?));
    }
    maps.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
    // Rows.
    let mut dirs = Dirs::new();
    dirs.key(&install, &install);
    let mut files = Vec::new();
    let mut components = Vec::new();
    let mut used_names: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    let mut keys_seen: HashSet<String> = HashSet::new();
    for (i, f) in found.iter().enumerate() {
        let folder = &f.rel[..f.rel.len() - 1];
        let name = &f.rel[f.rel.len() - 1];
        let (src, to) = maps
            .iter()
            .find(|(s, _)| {
                folder.len() >= s.len() && folder[..s.len()].iter().zip(s).all(|(a, b)| a.eq_ignore_ascii_case(b))
            })
            .cloned()
            .unwrap_or_else(|| (Vec::new(), install.clone()));
        let mut loc = to.clone();
        loc.extend(folder[src.len()..].iter().cloned());
        let dkey = dirs.key(&loc, &install);
        let installed = format!("{}/{}", loc.join("/"), name).to_lowercase();
        let mut fkey = key("", name, &installed);
        if !fkey.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            fkey.insert(0, '_');
        }
        if !keys_seen.insert(fkey.to_lowercase()) {
            return Err(Error::new(ErrorKind::Usage, format!("{} installs where another file does", f.rel.join("/")))
                .with_path(dir));
        }
        let file_name = with_short(name, used_names.entry(dkey.clone()).or_default());
        let ckey = format!("C_{fkey}");
        let comp_id = derived_guid(&format!("component|{upgrade}|{installed}"));
        let attrs = if x64 { 256 } else { 0 };
        components.push(vec![
            Val::str(ckey.as_str()),
            Val::str(comp_id),
            Val::str(dkey.as_str()),
            Val::Int(attrs),
            Val::Null,
            Val::str(fkey.as_str()),
        ]);
        if f.size > i32::MAX as u64 {
            return Err(
                Error::new(ErrorKind::Limit, "file larger than 2 GiB (File.FileSize is 32-bit)").with_path(&f.path)
            );
        }
        files.push(vec![
            Val::str(fkey.as_str()),
            Val::str(ckey.as_str()),
            Val::str(file_name),
            Val::Int(f.size as i32),
            Val::Null,
            Val::Null,
            Val::Int(0),
            Val::Int(i as i32 + 1),
        ]);
    }
    // Cabinets: stream every file once, hashing it and reading PE versions on the way.
    let entries: Vec<CabEntry> = files
        .iter()
        .zip(&found)
        .map(|(r, f)| CabEntry { name: r[0].text(), size: f.size, date_time: dos_datetime_unix(f.mtime) })
        .collect();
    let groups = split(&entries);
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(ErrorKind::Usage, "not a file name (or not valid Unicode)").with_path(output))?;
    crate::output::refuse_inputs(output, &[dir])?;
    let out_dir = output.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = Target::new(out_dir, *opts)?;
    let mut file = target.create_named(name, None).map_err(|e| e.with_path(output))?;
    let handle = file.file_mut()?.try_clone().map_err(|e| Error::io(&e, "opening the output").with_path(output))?;
    let mut w = PackageWriter::new(handle, MSI_CLSID)?;
    let total: u64 = found.iter().map(|f| f.size).sum();
    let mut done = 0u64;
    let mut seen: Vec<Seen> = Vec::with_capacity(found.len());
    let mut media = Vec::new();
    let mut cabinets = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    for (gi, g) in groups.iter().enumerate() {
        let cab_name = if groups.len() == 1 { "payload.cab".to_string() } else { format!("payload{}.cab", gi + 1) };
        let mut cab = CabWriter::new(w.stream_writer(&cab_name)?, entries[g.clone()].to_vec(), 6)?;
        for f in &found[g.clone()] {
            let mut r = crate::random_access::open_file(&f.path)?;
            let mut h = md5::Md5::new();
            // A PE file is kept whole (its version resource may be anywhere in it).
            let mut head: Vec<u8> = Vec::new();
            let mut is_pe = false;
            let mut n_read = 0u64;
            loop {
                opts.deadline.check()?;
                let n = r.read(&mut buf).map_err(|e| Error::io(&e, "reading").with_path(&f.path))?;
                if n == 0 {
                    break;
                }
                let chunk = &buf[..n];
                if n_read == 0 {
                    is_pe = chunk.starts_with(b"MZ") && f.size <= crate::pe::MAX_PE_SIZE;
                }
                n_read += n as u64;
                if n_read > f.size {
                    break;
                }
                if is_pe {
                    head.extend_from_slice(chunk);
                }
                cab.write(chunk)?;
                h.update(chunk);
                done += n as u64;
                if let Some(pr) = progress {
                    pr(Progress { phase: "compressing", done, total });
                }
            }
            if n_read != f.size {
                return Err(Error::format(format!(
                    "changed size while it was packaged ({} then {n_read} bytes)",
                    f.size
                ))
                .with_path(&f.path));
            }
            let version = if is_pe { super::upgraded::pe_version(&head) } else { None };
            seen.push(Seen { md5: h.finalize().into(), version });
        }
        cab.finish()?;
        let last = g.end as i32;
        media.push(vec![
            Val::Int(gi as i32 + 1),
            Val::Int(last),
            Val::Null,
            Val::str(format!("#{cab_name}")),
            Val::Null,
            Val::Null,
        ]);
        cabinets.push(cab_name);
    }
    let mut hashes = Vec::new();
    for (row, s) in files.iter_mut().zip(&seen) {
        match &s.version {
            Some((v, lang)) => {
                row[4] = Val::str(v.as_str());
                row[5] = Val::str(lang.clone().unwrap_or_else(|| "0".into()));
            }
            None => hashes.push(hash_row(&row[0].text(), &s.md5)),
        }
    }
    let mut seed = format!("package|{product}|{}", p.version);
    for (row, s) in files.iter().zip(&seen) {
        seed.push_str(&format!("|{}:{}:{}", row[0].text(), row[3].text(), crate::output::hex(&s.md5)));
    }
    for (k, v) in &desc.properties {
        seed.push_str(&format!("|{k}={v}"));
    }
    let package = match &p.package_code {
        Some(g) => normalise_guid(g).unwrap_or_default(),
        None => derived_guid(&seed),
    };
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    props.insert("ALLUSERS".into(), "1".into());
    props.insert("Manufacturer".into(), p.manufacturer.clone());
    props.insert("ProductCode".into(), product.clone());
    props.insert("ProductLanguage".into(), p.language.to_string());
    props.insert("ProductName".into(), p.name.clone());
    props.insert("ProductVersion".into(), p.version.clone());
    props.insert("UpgradeCode".into(), upgrade.clone());
    for (k, v) in &desc.properties {
        props.insert(k.clone(), v.clone());
    }
    let install_key = dirs.keys.get(&install.join("/").to_lowercase()).cloned().unwrap_or_else(|| "TARGETDIR".into());
    let mut tables: BTreeMap<String, TableData> = BTreeMap::new();
    for (t, rows) in super::sequences::STANDARD {
        let r = rows.iter().map(|(a, n)| vec![Val::str(*a), Val::Null, Val::Int(*n)]).collect();
        tables.insert(t.to_string(), table(t, r));
    }
    let feature = vec![
        Val::str("Complete"),
        Val::Null,
        Val::str(p.name.as_str()),
        Val::Null,
        Val::Int(1),
        Val::Int(1),
        Val::str(install_key),
        Val::Int(0),
    ];
    let fc = components.iter().map(|c| vec![Val::str("Complete"), c[0].clone()]).collect();
    for (n, rows) in [
        ("Component", components),
        ("Directory", std::mem::take(&mut dirs.rows)),
        ("Feature", vec![feature]),
        ("FeatureComponents", fc),
        ("File", files),
        ("Media", media),
        ("MsiFileHash", hashes),
        ("Property", props.iter().map(|(k, v)| vec![Val::str(k.as_str()), Val::str(v.as_str())]).collect()),
    ] {
        tables.insert(n.to_string(), table(n, rows));
    }
    // Strings go in code page 1252 when they all fit, UTF-8 otherwise.
    let needs_utf8 = tables
        .values()
        .flat_map(|t| t.rows.iter().flatten())
        .any(|v| v.as_str().is_some_and(|s| encoding_rs::WINDOWS_1252.encode(s).2));
    let codepage: u32 = if needs_utf8 { 65001 } else { 1252 };
    w.tables(&tables, codepage)?;
    w.summary(&[
        (1, SummaryValue::I2(codepage as u16 as i16)),
        (2, SummaryValue::Str("Installation Database".into())),
        (3, SummaryValue::Str(p.name.clone())),
        (4, SummaryValue::Str(p.manufacturer.clone())),
        (5, SummaryValue::Str("Installer".into())),
        (6, SummaryValue::Str(format!("{} {}", p.name, p.version))),
        (7, SummaryValue::Str(format!("{};{}", if x64 { "x64" } else { "Intel" }, p.language))),
        (9, SummaryValue::Str(package.clone())),
        (14, SummaryValue::I4(200)),
        (15, SummaryValue::I4(2)),
        (18, SummaryValue::Str("hotfixkit".into())),
        (19, SummaryValue::I4(2)),
    ])?;
    drop(w.finish()?);
    let written = file.finish().map_err(|e| e.with_path(output))?;
    if let Some(e) = target.commit().into_iter().next() {
        return Err(e.with_path(output));
    }
    Ok(MsiReport {
        output: output.display().to_string(),
        size: written.size,
        product_code: product,
        upgrade_code: upgrade,
        package_code: package,
        version: p.version.clone(),
        files: found.len(),
        bytes: total,
        cabinets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_or_made_from_a_hash() {
        let mut used = HashSet::new();
        assert_eq!(with_short("README.TXT", &mut used), "README.TXT");
        let s = with_short("This is long.txt", &mut used);
        assert!(s.ends_with(".txt|This is long.txt") && s.len() == "12345678.txt|This is long.txt".len(), "{s}");
        assert!(!s.contains('~'));
        assert!(is_short("a_b-c.d") && !is_short("a b.txt") && !is_short("toolong12.txt") && !is_short("x.abcd"));
    }
}
