//! File manifests: what a hotfix article documents about each file (YAML, strict), the
//! importer for pasted "file information" tables, lock files, and the verify engine.

mod kb;
mod report;
mod verify;

pub use kb::{import_kb, import_kb_stream, KbEvent};

pub use report::{render_junit, render_summary, render_text};
pub use verify::{
    check_signatures, lock, observe, observe_plan, observe_plan_with, observe_with, verify, verify_observation,
    verify_path, verify_path_with_manifest_file, Check, FileSignature, Observation, ObserveOptions, Observed,
    RowResult, RowStatus, SignedFile, Summary, VerifyOptions, VerifyReport,
};

use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The platform a manifest row names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// 32-bit x86.
    X86,
    /// x64.
    X64,
    /// Itanium.
    Ia64,
    /// Not a PE file ("Not applicable").
    None,
}

impl Platform {
    /// As written in manifests.
    pub fn as_str(&self) -> &'static str {
        match self {
            Platform::X86 => "x86",
            Platform::X64 => "x64",
            Platform::Ia64 => "ia64",
            Platform::None => "none",
        }
    }
    /// The platform of a PE machine, if it is one manifests name.
    pub fn of_machine(m: crate::pe::Machine) -> Option<Platform> {
        match m {
            crate::pe::Machine::X86 => Some(Platform::X86),
            crate::pe::Machine::X64 => Some(Platform::X64),
            crate::pe::Machine::Ia64 => Some(Platform::Ia64),
            _ => None,
        }
    }
}

/// One documented file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// File name (matched case-insensitively).
    pub name: String,
    /// Platform; a PE file's machine must match it.
    pub platform: Platform,
    /// File version `a.b.c.d`, or null when the file has none ("Not applicable").
    #[serde(default)]
    pub version: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Date, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Time, `HH:MM` or `HH:MM:SS` (UTC).
    pub time: String,
    /// SHA-256, lower-case hex, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where the file must be, relative to the verified tree (folder, `/`-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The publisher whose trusted Authenticode signature the file must carry (the
    /// signer certificate's organisation, or its common name), compared ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// A manifest: one product, one KB article, one service pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Product name.
    pub product: String,
    /// Knowledge Base article number.
    pub kb: u32,
    /// Service pack (`SP1`), or null.
    #[serde(default)]
    pub service_pack: Option<String>,
    /// The publisher whose trusted signature a package verified in place must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Files.
    pub files: Vec<FileEntry>,
}

/// One scalar of the block-style subset [`parse_plain`] reads.
enum Scalar<'a> {
    Null,
    Int(u64),
    Str(&'a str),
}

/// A scalar whose reading leaves no doubt: a double-quoted string without escapes,
/// `null`, a decimal integer, or a plain word that no YAML schema reads as anything
/// but a string. Anything else (`None`) sends the caller to the full YAML parser.
fn plain_scalar(s: &str) -> Option<Scalar<'_>> {
    if let Some(inner) = s.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        return (!inner.contains(['"', '\\'])).then_some(Scalar::Str(inner));
    }
    if s == "null" {
        return Some(Scalar::Null);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() && s.len() <= 19 && (s == "0" || !s.starts_with('0')) {
        return s.parse().ok().map(Scalar::Int);
    }
    let word = s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let special = ["true", "false", "yes", "no", "on", "off", "y", "n", "null"];
    (word && !special.iter().any(|w| w.eq_ignore_ascii_case(s))).then_some(Scalar::Str(s))
}

/// The manifests `manifest lock` writes, read without a general YAML parser (a lock of
/// 20,000 files reads several times faster this way: `cargo bench --bench manifest`): top-level
/// `key: scalar` lines, then `files:` with items of `key: scalar` lines (`  - ` opens an
/// item, four spaces continue it), every scalar as [`plain_scalar`] allows. Anything
/// outside that subset (comments, blank lines, other indentation, flow style, escapes,
/// anchors, unknown or repeated keys, a missing field) gives `None`, and the caller uses
/// the YAML parser, with its messages. A unit test compares the two readings.
pub(crate) fn parse_plain(text: &str) -> Option<Manifest> {
    fn opt(v: Scalar<'_>) -> Option<Option<String>> {
        match v {
            Scalar::Null => Some(None),
            Scalar::Str(s) => Some(Some(s.to_string())),
            Scalar::Int(_) => None,
        }
    }
    fn text_of(v: Scalar<'_>) -> Option<String> {
        match v {
            Scalar::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }
    #[derive(Default)]
    struct Item {
        name: Option<String>,
        platform: Option<Platform>,
        version: Option<Option<String>>,
        size: Option<u64>,
        date: Option<String>,
        time: Option<String>,
        sha256: Option<Option<String>>,
        destination: Option<Option<String>>,
        signer: Option<Option<String>>,
    }
    fn finish(i: Item) -> Option<FileEntry> {
        Some(FileEntry {
            name: i.name?,
            platform: i.platform?,
            version: i.version.unwrap_or(None),
            size: i.size?,
            date: i.date?,
            time: i.time?,
            sha256: i.sha256.unwrap_or(None),
            destination: i.destination.unwrap_or(None),
            signer: i.signer.unwrap_or(None),
        })
    }
    fn set<T>(slot: &mut Option<T>, v: Option<T>) -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(v?);
        Some(())
    }
    fn field(item: &mut Item, line: &str) -> Option<()> {
        let (k, v) = line.split_once(": ")?;
        let v = plain_scalar(v)?;
        match k {
            "name" => set(&mut item.name, text_of(v)),
            "platform" => set(
                &mut item.platform,
                match v {
                    Scalar::Str("x86") => Some(Platform::X86),
                    Scalar::Str("x64") => Some(Platform::X64),
                    Scalar::Str("ia64") => Some(Platform::Ia64),
                    Scalar::Str("none") => Some(Platform::None),
                    _ => None,
                },
            ),
            "version" => set(&mut item.version, opt(v)),
            "size" => set(&mut item.size, if let Scalar::Int(n) = v { Some(n) } else { None }),
            "date" => set(&mut item.date, text_of(v)),
            "time" => set(&mut item.time, text_of(v)),
            "sha256" => set(&mut item.sha256, opt(v)),
            "destination" => set(&mut item.destination, opt(v)),
            "signer" => set(&mut item.signer, opt(v)),
            _ => None,
        }
    }
    let (mut product, mut kb, mut sp, mut signer) = (None, None, None, None);
    let mut files: Option<Vec<FileEntry>> = None;
    let mut item: Option<Item> = None;
    for line in text.lines() {
        if let Some(list) = files.as_mut() {
            if let Some(rest) = line.strip_prefix("  - ") {
                if let Some(done) = item.take() {
                    list.push(finish(done)?);
                }
                let mut it = Item::default();
                field(&mut it, rest)?;
                item = Some(it);
            } else {
                field(item.as_mut()?, line.strip_prefix("    ")?)?;
            }
            continue;
        }
        if line == "files:" {
            files = Some(Vec::new());
            continue;
        }
        let (k, v) = line.split_once(": ")?;
        let v = plain_scalar(v)?;
        match k {
            "product" => set(&mut product, text_of(v))?,
            "kb" => set(&mut kb, if let Scalar::Int(n) = v { u32::try_from(n).ok() } else { None })?,
            "service_pack" => set(&mut sp, opt(v))?,
            "signer" => set(&mut signer, opt(v))?,
            _ => return None,
        }
    }
    let mut files = files?;
    // `files:` with no item (null in YAML) is left to the YAML parser.
    files.push(finish(item?)?);
    Some(Manifest {
        product: product?,
        kb: kb?,
        service_pack: sp.unwrap_or(None),
        signer: signer.unwrap_or(None),
        files,
    })
}

/// Several manifests (what a KB table with one section per service pack gives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestSet {
    /// The manifests, in table order.
    pub manifests: Vec<Manifest>,
}

/// Deepest nesting a manifest or layout may have (block indentation and flow brackets
/// together); real ones nest three levels.
pub const MAX_YAML_DEPTH: usize = 64;
/// Most aliases (`*name`) in one YAML document: each can stand for a whole subtree.
pub const MAX_YAML_ALIASES: usize = 256;

/// Refuse YAML that nests deeper than [`MAX_YAML_DEPTH`] or uses more than
/// [`MAX_YAML_ALIASES`] aliases, in one linear pass and before any parser sees it: a
/// parser that recurses per level spends seconds (and stack) on a document nested
/// 100,000 deep.
pub fn check_yaml_bounds(text: &str) -> Result<()> {
    let mut aliases = 0usize;
    for (n, line) in text.lines().enumerate() {
        let body = line.trim_start_matches(' ');
        if body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        // Block nesting: the indentation, and the "- " and "? " markers that open nested
        // collections on one line.
        let mut depth = indent / 2 + 1;
        let mut rest = body;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            depth += 1;
            rest = r.trim_start_matches(' ');
        }
        let (mut flow, mut quote) = (0usize, None::<char>);
        for c in rest.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                (None, '*') => aliases += 1,
                _ => {}
            }
            if depth + flow > MAX_YAML_DEPTH {
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("line {}: nested more than {MAX_YAML_DEPTH} levels deep", n + 1),
                ));
            }
        }
        if depth > MAX_YAML_DEPTH {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("line {}: nested more than {MAX_YAML_DEPTH} levels deep", n + 1),
            ));
        }
        if aliases > MAX_YAML_ALIASES {
            return Err(Error::new(ErrorKind::Limit, format!("line {}: more than {MAX_YAML_ALIASES} aliases", n + 1)));
        }
    }
    Ok(())
}

/// Most bytes of YAML read from one manifest file.
pub const MAX_MANIFEST: u64 = 16 << 20;

impl Manifest {
    /// Read a manifest (YAML or JSON).
    pub fn load(path: &Path) -> Result<Manifest> {
        let meta = std::fs::metadata(path).io_ctx("reading manifest").at_path(path)?;
        if meta.len() > MAX_MANIFEST {
            return Err(Error::new(ErrorKind::Limit, "manifest larger than 16 MiB").with_path(path));
        }
        let text = std::fs::read_to_string(path).io_ctx("reading manifest").at_path(path)?;
        let bad = |e: String| Error::format(format!("not a valid manifest: {e}")).with_path(path);
        let m: Manifest = if text.trim_start().starts_with('{') {
            // JSON is YAML too, but a JSON reader reads it far faster.
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
        } else {
            match parse_plain(&text) {
                Some(m) => m,
                None => {
                    check_yaml_bounds(&text).at_path(path)?;
                    yaml_serde::from_str(&text).map_err(|e| bad(e.to_string()))?
                }
            }
        };
        m.validate().at_path(path)?;
        Ok(m)
    }

    /// Check field formats beyond what the types say.
    pub fn validate(&self) -> Result<()> {
        for (i, f) in self.files.iter().enumerate() {
            let at = |m: String| Error::format(format!("files[{i}] ({}): {m}", f.name));
            parse_date(&f.date).ok_or_else(|| at(format!("date {:?} is not YYYY-MM-DD", f.date)))?;
            parse_time(&f.time).ok_or_else(|| at(format!("time {:?} is not HH:MM[:SS]", f.time)))?;
            if let Some(v) = &f.version {
                if v.split('.').count() != 4 || v.split('.').any(|p| p.parse::<u16>().is_err()) {
                    return Err(at(format!("version {v:?} is not a.b.c.d")));
                }
            }
            if let Some(h) = &f.sha256 {
                if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
                    return Err(at("sha256 must be 64 lower-case hex digits".into()));
                }
            }
        }
        Ok(())
    }

    /// Unix seconds of a row's documented date and time (UTC).
    pub fn row_time(f: &FileEntry) -> Option<i64> {
        let (y, m, d) = parse_date(&f.date)?;
        let (h, mi, s) = parse_time(&f.time)?;
        crate::dates::civil_to_unix(y, m, d, h, mi, s)
    }
}

/// `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<(i64, i64, i64)> {
    let p: Vec<&str> = s.split('-').collect();
    if p.len() != 3 || p[0].len() != 4 || p[1].len() != 2 || p[2].len() != 2 {
        return None;
    }
    let (y, m, d) = (p[0].parse().ok()?, p[1].parse().ok()?, p[2].parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// `HH:MM` or `HH:MM:SS`.
pub fn parse_time(s: &str) -> Option<(i64, i64, i64)> {
    let p: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&p.len()) || p.iter().any(|x| x.len() != 2) {
        return None;
    }
    let h: i64 = p[0].parse().ok()?;
    let m: i64 = p[1].parse().ok()?;
    let sec: i64 = if p.len() == 3 { p[2].parse().ok()? } else { 0 };
    (h < 24 && m < 60 && sec < 60).then_some((h, m, sec))
}

/// Quote a YAML scalar (double quotes, JSON escapes are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn manifest_head_yaml(product: &str, kb: u32, sp: Option<&str>, indent: &str, first_prefix: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("{first_prefix}product: {}\n", q(product)));
    s.push_str(&format!("{indent}kb: {kb}\n"));
    match sp {
        Some(sp) => s.push_str(&format!("{indent}service_pack: {}\n", q(sp))),
        None => s.push_str(&format!("{indent}service_pack: null\n")),
    }
    s.push_str(&format!("{indent}files:\n"));
    s
}

fn file_yaml(f: &FileEntry, indent: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("{indent}  - name: {}\n", q(&f.name)));
    s.push_str(&format!("{indent}    platform: {}\n", f.platform.as_str()));
    match &f.version {
        Some(v) => s.push_str(&format!("{indent}    version: {}\n", q(v))),
        None => s.push_str(&format!("{indent}    version: null\n")),
    }
    s.push_str(&format!("{indent}    size: {}\n", f.size));
    s.push_str(&format!("{indent}    date: {}\n", q(&f.date)));
    s.push_str(&format!("{indent}    time: {}\n", q(&f.time)));
    if let Some(h) = &f.sha256 {
        s.push_str(&format!("{indent}    sha256: {}\n", q(h)));
    }
    if let Some(d) = &f.destination {
        s.push_str(&format!("{indent}    destination: {}\n", q(d)));
    }
    if let Some(d) = &f.signer {
        s.push_str(&format!("{indent}    signer: {}\n", q(d)));
    }
    s
}

fn manifest_yaml(m: &Manifest, indent: &str, first_prefix: &str) -> String {
    let mut s = manifest_head_yaml(&m.product, m.kb, m.service_pack.as_deref(), indent, first_prefix);
    if let Some(signer) = &m.signer {
        // Before `files:`, so that the list stays the document's last key.
        let at = s.rfind(&format!("{indent}files:")).unwrap_or(s.len());
        s.insert_str(at, &format!("{indent}signer: {}\n", q(signer)));
    }
    for f in &m.files {
        s.push_str(&file_yaml(f, indent));
    }
    s
}

/// How manifests are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// YAML, every string quoted.
    Yaml,
    /// JSON.
    Json,
}

/// Import a KB table from `input` into `out` as a manifest set (`{"manifests": [...]}` in
/// the chosen format), row by row: memory does not grow with the table. Returns the
/// number of rows.
pub fn import_kb_to(
    input: impl std::io::BufRead,
    kb: u32,
    format: DataFormat,
    out: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<usize> {
    let mut rows = 0usize;
    let mut sections = 0usize;
    let mut first_row = true;
    if format == DataFormat::Yaml {
        out(b"manifests:\n")?;
    } else {
        out(b"{\n  \"manifests\": [")?;
    }
    import_kb_stream(input, kb, &mut |ev| match ev {
        KbEvent::Section { product, service_pack } => {
            let text = match format {
                DataFormat::Yaml => manifest_head_yaml(&product, kb, service_pack.as_deref(), "    ", "  - "),
                DataFormat::Json => format!(
                    "{}\n    {{\n      \"product\": {},\n      \"kb\": {kb},\n      \"service_pack\": {},\n      \"files\": [",
                    if sections == 0 { "" } else { "\n      ]\n    }," },
                    q(&product),
                    service_pack.as_deref().map(q).unwrap_or_else(|| "null".into())
                ),
            };
            sections += 1;
            first_row = true;
            out(text.as_bytes())
        }
        KbEvent::Row(f) => {
            rows += 1;
            let text = match format {
                DataFormat::Yaml => file_yaml(&f, "    "),
                DataFormat::Json => {
                    let j = serde_json::to_string(&f).map_err(|e| Error::format(e.to_string()))?;
                    format!("{}\n        {j}", if first_row { "" } else { "," })
                }
            };
            first_row = false;
            out(text.as_bytes())
        }
    })?;
    if format == DataFormat::Json {
        out(b"\n      ]\n    }\n  ]\n}\n")?;
    }
    Ok(rows)
}

/// Import a KB table from `input` into one manifest file per section (service pack) in
/// `dir`, named `kb<N>-<sp>.yaml` (or `.json`), streamed through the safe writer.
pub fn import_kb_split(
    input: impl std::io::BufRead,
    kb: u32,
    format: DataFormat,
    dir: &Path,
    opts: &crate::output::WriteOptions,
) -> Result<Vec<crate::output::Written>> {
    let target = crate::output::Target::new(dir, *opts)?;
    let ext = if format == DataFormat::Yaml { "yaml" } else { "json" };
    let mut done = Vec::new();
    let mut current: Option<(crate::output::AtomicFile, bool)> = None;
    let close = |c: Option<(crate::output::AtomicFile, bool)>, done: &mut Vec<crate::output::Written>| -> Result<()> {
        if let Some((mut f, _)) = c {
            if format == DataFormat::Json {
                f.write(b"\n  ]\n}\n")?;
            }
            done.push(f.finish()?);
        }
        Ok(())
    };
    import_kb_stream(input, kb, &mut |ev| match ev {
        KbEvent::Section { product, service_pack } => {
            close(current.take(), &mut done)?;
            let sp = service_pack.as_deref().unwrap_or("all").to_lowercase();
            let name = format!("kb{kb}-{sp}.{ext}");
            target.claim(&[name.as_str()])?;
            let mut f = target.create(&[name.as_str()], None)?;
            let head = match format {
                DataFormat::Yaml => manifest_head_yaml(&product, kb, service_pack.as_deref(), "", ""),
                DataFormat::Json => format!(
                    "{{\n  \"product\": {},\n  \"kb\": {kb},\n  \"service_pack\": {},\n  \"files\": [",
                    q(&product),
                    service_pack.as_deref().map(q).unwrap_or_else(|| "null".into())
                ),
            };
            f.write(head.as_bytes())?;
            current = Some((f, true));
            Ok(())
        }
        KbEvent::Row(row) => {
            let Some((f, first)) = current.as_mut() else { return Ok(()) };
            let text = match format {
                DataFormat::Yaml => file_yaml(&row, ""),
                DataFormat::Json => {
                    let j = serde_json::to_string(&row).map_err(|e| Error::format(e.to_string()))?;
                    format!("{}\n    {j}", if *first { "" } else { "," })
                }
            };
            *first = false;
            f.write(text.as_bytes())
        }
    })?;
    close(current.take(), &mut done)?;
    if let Some(e) = target.commit().into_iter().next() {
        return Err(e.with_path(dir));
    }
    Ok(done)
}

impl Manifest {
    /// YAML with every string quoted (dates, times and versions stay strings in any YAML
    /// reader, including YAML 1.1 ones that read `01:40` as a number).
    pub fn to_yaml(&self) -> String {
        manifest_yaml(self, "", "")
    }
}

impl ManifestSet {
    /// YAML, as [`Manifest::to_yaml`].
    pub fn to_yaml(&self) -> String {
        let mut s = String::from("manifests:\n");
        for m in &self.manifests {
            s.push_str(&manifest_yaml(m, "    ", "  - "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, size: usize, dest: &str) -> String {
        format!(
            "  - name: \"{name}\"\n    platform: none\n    version: null\n    size: {size}\n    date: \"2010-01-01\"\n    time: \"00:00:00\"\n    sha256: \"{size:064x}\"\n    destination: {dest}\n"
        )
    }

    #[test]
    fn a_large_lock_reads_the_same_as_yaml() {
        let mut text = String::from("product: \"p\"\nkb: 1\nservice_pack: null\nfiles:\n");
        for i in 0..12_000 {
            text.push_str(&item(&format!("f{i}.txt"), i, "\"a/b\""));
        }
        let whole: Manifest = yaml_serde::from_str(&text).unwrap();
        assert_eq!(parse_plain(&text).expect("read as the plain subset"), whole);
        // An alias is outside the subset: the YAML parser reads it.
        let aliased = text.replacen("destination: \"a/b\"", "destination: &d \"a/b\"", 1) + &item("z", 1, "*d");
        assert!(parse_plain(&aliased).is_none());
    }

    #[test]
    fn the_plain_subset_reads_what_yaml_reads_and_leaves_the_rest() {
        let head = "product: \"KB977203\"\nkb: 977203\nservice_pack: \"SP1\"\nfiles:\n";
        let items = "  - name: \"a.dll\"\n    platform: x86\n    version: \"4.0.6221.1193\"\n    size: 10\n    date: \"2009-12-01\"\n    time: \"10:00\"\n  - name: \"b.txt\"\n    platform: none\n    version: null\n    size: 0\n    date: \"2009-12-01\"\n    time: \"10:00:00\"\n    sha256: null\n    destination: \"x/y\"\n";
        let text = format!("{head}{items}");
        let yaml: Manifest = yaml_serde::from_str(&text).unwrap();
        assert_eq!(parse_plain(&text).expect("plain"), yaml);
        // Outside the subset: the YAML parser decides.
        for odd in [
            text.replace("size: 10", "size: 010"),
            text.replace("platform: x86", "platform: X86"),
            text.replace("\"a.dll\"", "\"a\\tb\""),
            text.replace("\"a.dll\"", "a.dll # comment"),
            text.replace("version: null", "version: ~"),
            format!("# lock\n{text}"),
            format!("{text}extra: 1\n"),
            text.replace("    time: \"10:00\"\n", ""),
            text.replace("    size: 10\n", "    size: 10\n    size: 11\n"),
            text.replace("platform: none", "platform: yes"),
            format!("{head}  []\n"),
        ] {
            assert!(parse_plain(&odd).is_none(), "{odd}");
        }
        // `files:` with nothing after it is left to the YAML parser.
        assert!(parse_plain(head).is_none());
    }
}
