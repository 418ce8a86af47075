//! `stage`: lay out a verified hotfix the way distribution points serve it, from a layout
//! file (data, not code), with SHA256SUMS, a deterministic zip, the task-sequence PATCH=
//! line and a package definition file for the CCMCertFix program.

use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::manifest::{Manifest, Platform};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One layout rule.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// File-name pattern (`*`, `?`), case-insensitive.
    #[serde(default)]
    pub name: Option<String>,
    /// PE platform.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Destination folder (`/`-separated; `{kb}` is replaced).
    pub to: String,
}

/// The program a package definition file describes.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Program name.
    pub name: String,
    /// The file it runs.
    pub file: String,
    /// Command line.
    pub command_line: String,
}

/// A staging layout.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Name.
    pub name: String,
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
    /// The client patch folder relative to the client package root.
    pub patch_dir: String,
    /// The program for the package definition file.
    #[serde(default)]
    pub program: Option<Program>,
}

impl Layout {
    /// Read a layout file.
    pub fn load(path: &Path) -> Result<Layout> {
        let meta = std::fs::metadata(path).io_ctx("reading layout").at_path(path)?;
        if meta.len() > crate::manifest::MAX_MANIFEST {
            return Err(Error::new(ErrorKind::Limit, "layout larger than 16 MiB").with_path(path));
        }
        let text = std::fs::read_to_string(path).io_ctx("reading layout").at_path(path)?;
        crate::manifest::check_yaml_bounds(&text).at_path(path)?;
        let l: Layout = yaml_serde::from_str(&text)
            .map_err(|e| Error::format(format!("not a valid layout: {e}")).with_path(path))?;
        for r in &l.rules {
            crate::output::names::split_relative(&r.to.replace("{kb}", "0")).at_path(path)?;
        }
        Ok(l)
    }
}

/// Case-insensitive glob with `*` and `?`.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Staging options.
#[derive(Debug, Clone, Default)]
pub struct StageOptions {
    /// Write this zip too.
    pub zip: Option<PathBuf>,
    /// Package ID for the PATCH= line (site code + 5 hex digits).
    pub package_id: Option<String>,
    /// Drive letter of the task-sequence cache (default C).
    pub drive: Option<char>,
    /// UNC path of the client package instead of the local cache.
    pub unc: Option<String>,
    /// Stage even when verification has findings.
    pub no_verify: bool,
    /// The manifest (default: the KB977203 manifest whose CCMCertFix version matches).
    pub manifest: Option<PathBuf>,
    /// Only plan.
    pub dry_run: bool,
    /// How files are written (`overwrite`: into a non-empty output folder).
    pub write: crate::output::WriteOptions,
    /// Files no output may replace besides the input and the manifest (the layout file,
    /// say).
    pub protect: Vec<PathBuf>,
}

/// One staged file.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StagedFile {
    /// Source path in the extracted tree.
    pub from: String,
    /// Destination relative to the output.
    pub to: String,
    /// Size.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
    /// Platform.
    pub platform: String,
}

/// The staging plan and result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StagePlan {
    /// Product / KB / SP of the manifest used.
    pub manifest: String,
    /// Files.
    pub files: Vec<StagedFile>,
    /// Files left out (not in the manifest).
    pub skipped: Vec<String>,
    /// The PATCH= line.
    pub patch_line: String,
    /// Extra outputs (SHA256SUMS, task-sequence.txt, package definition, staged manifest).
    pub outputs: Vec<String>,
    /// Verification findings (when staged with --no-verify).
    pub findings: Vec<String>,
}

/// Validate a ConfigMgr package ID: a three-character site code and five hex digits.
pub fn check_package_id(id: &str) -> Result<()> {
    let ok = id.len() == 8
        && id[..3].chars().all(|c| c.is_ascii_alphanumeric())
        && id[3..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Usage,
            format!("package ID {id:?} is not a site code followed by 5 hex digits (e.g. ABC00012)"),
        ))
    }
}

/// The PATCH= property for a task sequence.
pub fn patch_line(layout: &Layout, kb: u32, msp: &str, opts: &StageOptions) -> Result<String> {
    let rel = layout.patch_dir.replace("{kb}", &kb.to_string()).replace('/', "\\");
    let path = if let Some(unc) = &opts.unc {
        if !unc.starts_with("\\\\") || unc.len() < 5 || unc.contains(['"', '\n']) {
            return Err(Error::new(ErrorKind::Usage, format!("UNC path {unc:?} must start with \\\\server\\share")));
        }
        format!("{}\\{rel}\\{msp}", unc.trim_end_matches('\\'))
    } else {
        let drive = opts.drive.unwrap_or('C').to_ascii_uppercase();
        if !drive.is_ascii_alphabetic() {
            return Err(Error::new(ErrorKind::Usage, format!("drive {drive:?} is not a letter")));
        }
        let id = match &opts.package_id {
            Some(id) => {
                check_package_id(id)?;
                id.to_uppercase()
            }
            None => "<PackageID>".to_string(),
        };
        format!("{drive}:\\_SMSTaskSequence\\OSD\\{id}\\{rel}\\{msp}")
    };
    Ok(format!("PATCH=\"{path}\""))
}

fn package_definition(program: &Program, kb: u32, version: &str) -> String {
    [
        "[PDF]".to_string(),
        "Version=2.0".into(),
        String::new(),
        "[Package Definition]".into(),
        format!("Name=KB{kb} {}", program.name),
        format!("Version={version}"),
        "Publisher=Microsoft Corporation".into(),
        "Language=ENU".into(),
        format!("Comment=Repairs ConfigMgr 2007 client certificates (KB{kb}); run on every client"),
        format!("Programs={}", program.name),
        String::new(),
        format!("[{}]", program.name),
        format!("Name={}", program.name),
        format!("CommandLine={}", program.command_line),
        "StartIn=".into(),
        "Run=Hidden".into(),
        "CanRunWhen=AnyUserStatus".into(),
        "UserInputRequired=False".into(),
        "AdminRightsRequired=True".into(),
        "UseInstallAccount=True".into(),
        "DriveLetterConnection=False".into(),
        "EstimatedDiskSpace=1MB".into(),
        "EstimatedRunTime=5".into(),
        "Comment=Runs hidden with administrative rights, whether or not a user is logged on".into(),
        String::new(),
    ]
    .join("\r\n")
}

/// Stage `input` (a hotfix package of any kind `extract` reads, or its extracted tree)
/// into `out`. A package is read in place: its files are verified as they are decoded,
/// then written straight to their staged places.
pub fn stage(input: &Path, layout: &Layout, out: &Path, opts: &StageOptions) -> Result<StagePlan> {
    // 1. What there is to stage.
    let (observed, errors, mut package) = if input.is_dir() {
        let (o, e) = crate::manifest::observe(input)?;
        (o, e, None)
    } else {
        let plan = crate::extract::plan(&crate::extract::ExtractRequest::new(input))?;
        let (o, e) = crate::manifest::observe_plan(&plan);
        (o, e, Some(plan))
    };
    if let Some(e) = errors.into_iter().next() {
        return Err(e.with_path(input));
    }
    // 2. The manifest.
    let manifest = match &opts.manifest {
        Some(p) => Manifest::load(p)?,
        None => {
            let v = observed
                .iter()
                .find(|o| o.path.rsplit('/').next().is_some_and(|n| n.eq_ignore_ascii_case("ccmcertfix.exe")))
                .and_then(|o| o.version.clone());
            super::ccmcertfix::builtin_manifests()
                .into_iter()
                .find(|m| m.files.iter().any(|r| r.name.eq_ignore_ascii_case("ccmcertfix.exe") && r.version == v))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Missing,
                        "cannot tell the service pack (no known CCMCertFix.exe version); name the manifest",
                    )
                    .with_path(input)
                })?
        }
    };
    let report = crate::manifest::verify(&manifest, &observed, &input.display().to_string(), &Default::default(), &[]);
    let mut findings = Vec::new();
    for r in &report.rows {
        if r.status != crate::manifest::RowStatus::Ok {
            let what: Vec<String> = r
                .checks
                .iter()
                .filter(|c| c.is_mismatch())
                .map(|c| format!("{} expected {} found {}", c.field, c.expected, c.actual))
                .collect();
            findings.push(format!("{} ({}): {:?} {}", r.name, r.platform.as_str(), r.status, what.join("; ")));
        }
    }
    if !findings.is_empty() && !opts.no_verify {
        return Err(Error::new(
            ErrorKind::Findings,
            format!(
                "verification against KB{} {} failed ({})",
                manifest.kb,
                manifest.service_pack.as_deref().unwrap_or(""),
                findings.join("; ")
            ),
        )
        .with_path(input));
    }
    // 3. Place every file the manifest names.
    let kb = manifest.kb.to_string();
    let mut files = Vec::new();
    let mut staged_rows = Vec::new();
    let mut skipped = Vec::new();
    let mut msp_name = None;
    for o in &observed {
        let name = o.path.rsplit('/').next().unwrap_or(&o.path).to_string();
        let row = report.rows.iter().position(|r| r.path.as_deref() == Some(o.path.as_str()));
        let Some(ri) = row else {
            skipped.push(o.path.clone());
            continue;
        };
        let platform = o.platform.unwrap_or(Platform::None);
        let rule = layout
            .rules
            .iter()
            .find(|r| r.name.as_ref().is_none_or(|p| glob(p, &name)) && r.platform.is_none_or(|p| p == platform))
            .ok_or_else(|| Error::new(ErrorKind::Missing, format!("no layout rule places {name}")))?;
        let dir = rule.to.replace("{kb}", &kb);
        let to = format!("{}/{name}", dir.trim_end_matches('/'));
        crate::output::names::split_relative(&to)?;
        if files.iter().any(|f: &StagedFile| f.to.eq_ignore_ascii_case(&to)) {
            return Err(Error::new(ErrorKind::Exists, format!("two files would be staged as {to}")));
        }
        if name.to_lowercase().ends_with(".msp") {
            msp_name = Some(name.clone());
        }
        let mut row = manifest.files[ri].clone();
        row.destination = Some(dir.clone());
        staged_rows.push(row);
        files.push(StagedFile {
            from: o.path.clone(),
            to,
            size: o.size,
            sha256: o.sha256.clone(),
            platform: platform.as_str().into(),
        });
    }
    files.sort_by(|a, b| a.to.cmp(&b.to));
    let patch = patch_line(layout, manifest.kb, msp_name.as_deref().unwrap_or("<patch>.msp"), opts)?;
    let sp = manifest.service_pack.clone().unwrap_or_default().to_lowercase();
    let staged_manifest_name = format!("kb{kb}-{sp}.staged.yaml");
    let mut outputs = vec!["SHA256SUMS".to_string(), "task-sequence.txt".into(), staged_manifest_name.clone()];
    let pdf = layout.program.as_ref().and_then(|p| {
        files.iter().find(|f| glob(&p.file, f.to.rsplit('/').next().unwrap_or(""))).map(|f| (p, f.to.clone()))
    });
    if let Some((p, to)) = &pdf {
        let dir = to.rsplit_once('/').map(|x| x.0).unwrap_or("");
        outputs.push(format!("{dir}/{}.sms", p.name));
    }
    let plan = StagePlan {
        manifest: format!("{} KB{} {}", manifest.product, manifest.kb, manifest.service_pack.as_deref().unwrap_or("")),
        files,
        skipped,
        patch_line: patch.clone(),
        outputs,
        findings,
    };
    if opts.dry_run {
        return Ok(plan);
    }
    // 4. Write. No output may replace one of the inputs.
    if let Some(z) = &opts.zip {
        let mut inputs: Vec<&Path> = vec![input];
        inputs.extend(opts.manifest.as_deref());
        inputs.extend(opts.protect.iter().map(PathBuf::as_path));
        crate::output::refuse_inputs(z, &inputs)?;
    }
    if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(false) && !opts.write.overwrite
    {
        return Err(Error::new(ErrorKind::Exists, "output folder is not empty").with_path(out));
    }
    let target = crate::output::Target::new(out, opts.write)?;
    let mut outputs_written: Vec<(String, Vec<u8>)> = Vec::new();
    match package.as_mut() {
        Some(p) => {
            // The package's entries, renamed to their staged places.
            let to: std::collections::HashMap<&str, &str> =
                plan.files.iter().map(|f| (f.from.as_str(), f.to.as_str())).collect();
            p.entries.retain(|e| to.contains_key(e.path.as_str()));
            for e in &mut p.entries {
                e.path = to[e.path.as_str()].to_string();
            }
            let exec = crate::extract::ExecuteOptions { write: opts.write, progress: None, count_only: true };
            let outcome = crate::extract::execute_into(p, &target, &exec);
            if let Some(e) = outcome.errors.into_iter().next() {
                return Err(e.with_path(input));
            }
        }
        None => {
            for f in &plan.files {
                let src = input.join(&f.from);
                let mtime = observed.iter().find(|o| o.path == f.from).and_then(|o| o.mtime);
                let comps: Vec<String> = f.to.split('/').map(str::to_string).collect();
                let mut w = target.create(&comps, mtime)?;
                let mut r = crate::random_access::open_file(&src)?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = std::io::Read::read(&mut r, &mut buf).io_ctx(format_args!("reading {}", src.display()))?;
                    if n == 0 {
                        break;
                    }
                    w.write(&buf[..n])?;
                }
                w.finish()?;
            }
        }
    }
    let sums: String = plan.files.iter().map(|f| format!("{}  {}\n", f.sha256, f.to)).collect();
    outputs_written.push(("SHA256SUMS".into(), sums.into_bytes()));
    let version = staged_rows
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case("ccmcertfix.exe"))
        .and_then(|r| r.version.clone())
        .unwrap_or_default();
    let ts = format!(
        "; ConfigMgr task sequence: property for the \"Setup Windows and ConfigMgr\" step\r\n; (installation properties), KB{kb} {}\r\n{patch}\r\n",
        manifest.service_pack.as_deref().unwrap_or("")
    );
    outputs_written.push(("task-sequence.txt".into(), ts.into_bytes()));
    let staged = Manifest {
        signer: manifest.signer.clone(),
        product: manifest.product.clone(),
        kb: manifest.kb,
        service_pack: manifest.service_pack.clone(),
        files: staged_rows,
    };
    outputs_written.push((staged_manifest_name, staged.to_yaml().into_bytes()));
    if let Some((p, to)) = &pdf {
        let dir = to.rsplit_once('/').map(|x| x.0).unwrap_or("");
        outputs_written
            .push((format!("{dir}/{}.sms", p.name), package_definition(p, manifest.kb, &version).into_bytes()));
    }
    // The outputs made here carry a fixed time (1980-01-01), so that staging twice gives
    // the same bytes.
    let fixed_time = crate::cab::dos_to_unix(0x21, 0).unwrap_or(315_532_800);
    for (name, data) in &outputs_written {
        let comps: Vec<String> = name.split('/').map(str::to_string).collect();
        let mut w = target.create(&comps, Some(fixed_time))?;
        w.write(data)?;
        w.finish()?;
    }
    if let Some(e) = target.commit().into_iter().next() {
        return Err(e);
    }
    if let Some(z) = &opts.zip {
        let mtimes: std::collections::HashMap<&str, i64> =
            observed.iter().filter_map(|o| o.mtime.map(|m| (o.path.as_str(), m))).collect();
        write_zip(out, &plan, &mtimes, &outputs_written, fixed_time, z, &opts.write)?;
    }
    Ok(plan)
}

/// A zip of the staged tree: entries sorted by path, each with its file's time.
fn write_zip(
    out: &Path,
    plan: &StagePlan,
    mtimes: &std::collections::HashMap<&str, i64>,
    extra: &[(String, Vec<u8>)],
    extra_time: i64,
    zip_path: &Path,
    opts: &crate::output::WriteOptions,
) -> Result<()> {
    let mut entries: Vec<ZipEntry> = plan
        .files
        .iter()
        .map(|f| ZipEntry {
            name: f.to.clone(),
            data: ZipData::File(out.join(&f.to)),
            mtime: mtimes.get(f.from.as_str()).copied(),
        })
        .collect();
    entries.extend(extra.iter().map(|(n, d)| ZipEntry {
        name: n.clone(),
        data: ZipData::Bytes(d.clone()),
        mtime: Some(extra_time),
    }));
    write_zip_entries(zip_path, entries, opts)
}

/// Where a zip member's bytes come from.
pub enum ZipData {
    /// A file, streamed (never read whole).
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

/// One member of a zip.
pub struct ZipEntry {
    /// Its name, `/`-separated.
    pub name: String,
    /// Its bytes.
    pub data: ZipData,
    /// Its modification time (Unix seconds, UTC); 1980-01-01 when unknown.
    pub mtime: Option<i64>,
}

/// The DOS date and time of a zip member (1980-01-01 when out of the DOS range) and its
/// extended-timestamp extra field (0x5455, the modification time in Unix seconds), so
/// that unzip tools restore the exact time.
fn zip_times(mtime: Option<i64>) -> (zip::DateTime, Option<[u8; 5]>) {
    let Some(t) = mtime else { return (zip::DateTime::default(), None) };
    let dos = time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            let year = u16::try_from(d.year()).ok()?;
            zip::DateTime::from_date_and_time(year, u8::from(d.month()), d.day(), d.hour(), d.minute(), d.second()).ok()
        })
        .unwrap_or_default();
    let ext = u32::try_from(t).ok().map(|secs| {
        let mut f = [1u8, 0, 0, 0, 0];
        f[1..].copy_from_slice(&secs.to_le_bytes());
        f
    });
    (dos, ext)
}

/// A writer that keeps its first error aside and swallows everything after it.
struct Sticky<W> {
    inner: W,
    failed: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

impl<W> Sticky<W> {
    fn fail(&self, e: std::io::Error) {
        if let Ok(mut f) = self.failed.lock() {
            f.get_or_insert(e);
        }
    }
    fn ok(&self) -> bool {
        self.failed.lock().map(|f| f.is_none()).unwrap_or(false)
    }
}

impl<W: Write> Write for Sticky<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.ok() {
            if let Err(e) = self.inner.write_all(buf) {
                self.fail(e);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.ok() {
            if let Err(e) = self.inner.flush() {
                self.fail(e);
            }
        }
        Ok(())
    }
}

impl<W: std::io::Seek> std::io::Seek for Sticky<W> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        if !self.ok() {
            return Ok(0);
        }
        match self.inner.seek(pos) {
            Ok(p) => Ok(p),
            Err(e) => {
                self.fail(e);
                Ok(0)
            }
        }
    }
}

/// Write a reproducible zip at `zip_path` through the safe writer: members sorted by
/// name, each name checked as a relative Windows path, each with its own time (DOS time
/// and the extended timestamp), 0644, deflate. More than 65,535 members, or members of 4
/// GiB and more, are written as ZIP64; two names that are equal ignoring case are an
/// error.
pub fn write_zip_entries(
    zip_path: &Path,
    mut entries: Vec<ZipEntry>,
    opts: &crate::output::WriteOptions,
) -> Result<()> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen = std::collections::HashMap::new();
    for e in &entries {
        let name = &e.name;
        crate::output::names::split_relative(name).at_path(zip_path)?;
        if let Some(prev) = seen.insert(name.to_lowercase(), name.clone()) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("zip members {prev:?} and {name:?} differ only in case"),
            )
            .with_path(zip_path));
        }
    }
    let zip_name = zip_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(ErrorKind::Usage, "not a file name").with_path(zip_path))?;
    let dir = zip_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = crate::output::Target::new(dir, *opts)?;
    let mut out = target.create_named(zip_name, None).at_path(zip_path)?;
    let zerr = |e: zip::result::ZipError| Error::new(ErrorKind::Io, format!("writing the zip: {e}"));
    let file = out.file_mut()?;
    let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sink = Sticky { inner: std::io::BufWriter::with_capacity(1 << 16, file), failed: failed.clone() };
    let mut z = zip::ZipWriter::new(sink);
    let result = (|| -> Result<()> {
        for e in &entries {
            let (dos, ext) = zip_times(e.mtime);
            let len = match &e.data {
                ZipData::Bytes(b) => b.len() as u64,
                ZipData::File(p) => std::fs::metadata(p).io_ctx(format_args!("reading {}", p.display()))?.len(),
            };
            let mut o = zip::write::FullFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .last_modified_time(dos)
                .unix_permissions(0o644)
                .large_file(len >= u64::from(u32::MAX));
            if let Some(f) = ext {
                o.add_extra_field(0x5455, f, false).map_err(zerr)?;
            }
            z.start_file(e.name.as_str(), o).map_err(zerr)?;
            match &e.data {
                ZipData::Bytes(b) => z.write_all(b).io_ctx("writing the zip")?,
                ZipData::File(p) => {
                    let mut f = crate::random_access::open_file(p)?;
                    std::io::copy(&mut f, &mut z).io_ctx(format_args!("writing {} into the zip", e.name))?;
                }
            }
        }
        Ok(())
    })();
    let finished = result.and_then(|()| z.finish().map_err(zerr)).and_then(|mut w| {
        w.inner.flush().io_ctx("writing the zip")?;
        Ok(())
    });
    // A write error is kept aside (the zip writer never sees it, so it never reports a
    // failure of its own on stderr) and reported here.
    if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
        return Err(Error::io(&e, "writing the zip").with_path(zip_path));
    }
    finished.at_path(zip_path)?;
    out.finish().at_path(zip_path)?;
    match target.commit().into_iter().next() {
        Some(e) => Err(e.with_path(zip_path)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn globs_and_ids() {
        assert!(glob("*.msp", "SCCM2007AC-SP2-KB977203-x86.MSP"));
        assert!(glob("ccmsetup*", "Ccmsetup-sup.cab"));
        assert!(!glob("ccmcertfix.exe", "ccmcertfix.exe.bak"));
        assert!(check_package_id("ABC00012").is_ok());
        assert!(check_package_id("ABC0001G").is_err());
        assert!(check_package_id("AB00012").is_err());
    }

    /// Z-b: more than 65,535 members give a ZIP64 archive whose count reads back whole.
    #[test]
    fn zip_with_more_than_65535_members_reads_back_whole() {
        let t = tempfile::tempdir().unwrap();
        let z = t.path().join("many.zip");
        let entries: Vec<ZipEntry> = (0..70_000)
            .map(|i| ZipEntry {
                name: format!("d{}/f{i:05}.txt", i % 7),
                data: ZipData::Bytes(vec![b'x'; i % 3]),
                mtime: None,
            })
            .collect();
        write_zip_entries(&z, entries, &Default::default()).unwrap();
        let mut a = zip::ZipArchive::new(std::fs::File::open(&z).unwrap()).unwrap();
        assert_eq!(a.len(), 70_000);
        let last = a.by_name("d6/f69999.txt").unwrap();
        assert_eq!(last.size(), 0);
    }

    #[test]
    fn zip_refuses_unsafe_and_case_colliding_names() {
        let t = tempfile::tempdir().unwrap();
        let z = t.path().join("bad.zip");
        for names in [vec!["../x"], vec!["a/CON"], vec!["Readme.txt", "README.TXT"], vec!["C:/x"]] {
            let entries = names
                .iter()
                .map(|n| ZipEntry { name: n.to_string(), data: ZipData::Bytes(Vec::new()), mtime: None })
                .collect();
            assert!(write_zip_entries(&z, entries, &Default::default()).is_err(), "{names:?}");
            assert!(!z.exists());
        }
    }
}
