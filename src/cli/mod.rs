//! Command-line interface: argument parsing (clap derive), rendering and exit codes
//! (0 ok, 1 findings, 2 error). The only module that prints; nothing here decides
//! package semantics.

use crate::extract::{self, write::Target, ExecOptions};
use crate::msi::Database;
use crate::{tables, FileKind};
use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Read MSI, MSP, MST and CAB files; build msiexec-style administrative images anywhere.
#[derive(Parser, Debug)]
#[command(name = "hotfixkit", version, about, long_about = None)]
pub struct Cli {
    /// No progress bar and no informational messages.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Machine-readable JSON on standard output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Do not flush each written file to disk before renaming it into place (faster on
    /// slow disks; a machine crash can then leave an empty file under its final name).
    #[arg(long, global = true)]
    pub no_fsync: bool,
    /// Stop with an error once the run has taken this many seconds (default 3600).
    #[arg(long, global = true, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Table dump formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TableFormat {
    /// Aligned columns.
    Text,
    /// One JSON object per table.
    Json,
    /// CSV with a header row.
    Csv,
    /// IDT text archive (msidb/msibuild).
    Idt,
}

/// Verify report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// A readable table.
    Text,
    /// The report as JSON.
    Json,
    /// JUnit XML, one testcase per manifest row.
    Junit,
}

/// Manifest formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DataFormat {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// `manifest` subcommands.
#[derive(Subcommand, Debug)]
pub enum ManifestCommand {
    /// Parse a pasted KB "file information" table (English or localized) into manifests.
    ImportKb {
        /// The pasted table, one cell per line.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "yaml")]
        format: DataFormat,
        /// Write here instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// KB article number (default: the digits after "kb" in the file name).
        #[arg(long)]
        kb: Option<u32>,
        /// Write one manifest per service pack into this directory (kb<N>-sp<n>.yaml).
        #[arg(long)]
        split: Option<PathBuf>,
    },
    /// Record what a tree or package holds (name, platform, version, size, time, sha256).
    Lock {
        /// Tree, package or file.
        path: PathBuf,
        /// The lock file to write (YAML; JSON when the name ends in `.json`).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Product name recorded in the lock.
        #[arg(long, default_value = "locked payload")]
        product: String,
        /// KB number recorded in the lock.
        #[arg(long, default_value_t = 0)]
        kb: u32,
    },
}

/// Cabinet compression for `build cab`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CabMethod {
    /// Stored.
    None,
    /// MSZIP.
    Mszip,
}

/// `delta` subcommands.
#[derive(Subcommand, Debug)]
pub enum DeltaCommand {
    /// Show a PA19 patch's header: options, sizes, CRCs, old files and their ranges.
    Info {
        /// The patch.
        patch: PathBuf,
    },
    /// Rebuild the new file from the old one.
    Apply {
        /// The old file (omit for a patch made without one).
        #[arg(long)]
        old: Option<PathBuf>,
        /// The patch.
        #[arg(long)]
        patch: PathBuf,
        /// The new file to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

/// `build` subcommands.
#[derive(Subcommand, Debug)]
pub enum BuildCommand {
    /// A cabinet of every file under DIR.
    Cab {
        /// Folder.
        dir: PathBuf,
        /// Output cabinet.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Compression.
        #[arg(long, value_enum, default_value = "mszip")]
        compression: CabMethod,
    },
    /// A hotfix-style MSI: one component per folder, one embedded cabinet.
    Msi {
        /// Folder.
        dir: PathBuf,
        /// Output package.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// ProductName.
        #[arg(long, default_value = "Hotfix")]
        product_name: String,
        /// ProductVersion.
        #[arg(long, default_value = "1.0.0")]
        version: String,
    },
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a file is: kind, summary information, tables, streams, storages, cabinets.
    Info {
        /// MSI, MSP, MST, CAB or any file.
        file: PathBuf,
    },
    /// Dump database tables.
    Tables {
        /// The package.
        package: PathBuf,
        /// Tables to dump (all when none).
        tables: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TableFormat,
        /// Write one file per table into this directory.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Apply this transform (.mst) first; repeatable, applied in order.
        #[arg(long = "transform")]
        transforms: Vec<PathBuf>,
        /// Apply this patch (.msp); repeatable, applied in order after the transforms.
        #[arg(long = "patch")]
        patches: Vec<PathBuf>,
        /// Apply transforms and patches even when their validation fails.
        #[arg(long)]
        force_apply: bool,
    },
    /// Extract: an MSI gives its administrative image, a CAB (or the first of a set) its files.
    Extract {
        /// MSI or CAB. An unquoted path with spaces is rejoined (as msiexec reads its
        /// command line): the words are joined with single spaces.
        #[arg(required = true, num_args = 1..)]
        package: Vec<String>,
        /// Where to write.
        #[arg(long = "targetdir", visible_alias = "target")]
        targetdir: PathBuf,
        /// Only these files (File key, file name or path; case-insensitive).
        #[arg(long, num_args = 1..)]
        files: Vec<String>,
        /// Print the plan, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write into a non-empty directory, replacing files.
        #[arg(long)]
        force: bool,
        /// Patch the image with this .msp (as `msiexec /a PKG /p PATCH`); repeatable.
        #[arg(long = "patch")]
        patches: Vec<PathBuf>,
        /// Apply this transform (.mst) to the package first; repeatable.
        #[arg(long = "transform")]
        transforms: Vec<PathBuf>,
        /// Apply transforms and patches even when their validation fails.
        #[arg(long)]
        force_apply: bool,
        /// Refuse to write more than this many bytes in all (default 64 GiB).
        #[arg(long)]
        max_output_bytes: Option<u64>,
        /// Refuse to write more than this many files (default 1,000,000).
        #[arg(long)]
        max_entries: Option<usize>,
        /// Refuse any single file larger than this (default 8 GiB).
        #[arg(long)]
        max_entry_bytes: Option<u64>,
    },
    /// Verify files against a manifest: a tree, a package (streamed in place) or a file.
    Verify {
        /// Extracted tree, MSI/CAB/MSP, or a single file.
        path: PathBuf,
        /// The manifest (YAML).
        #[arg(long)]
        manifest: PathBuf,
        /// Report format.
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// Write the report to this file instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Files not named by the manifest are findings too.
        #[arg(long)]
        strict: bool,
    },
    /// List a package's root streams (Binary and Icon data, embedded cabinets, the
    /// summary information), or write them out under escaped names with --out.
    Streams {
        /// MSI, MSP or MST.
        package: PathBuf,
        /// Write each stream into this directory (names escaped: `%05SummaryInformation`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write into a non-empty directory, replacing files.
        #[arg(long)]
        force: bool,
    },
    /// Find CCMCertFix.exe in a KB977203 hotfix (package, image, cabinet, nested), write
    /// it, verify it, and say how to run it.
    Ccmcertfix {
        /// Hotfix MSI, admin image folder, cabinet.
        input: PathBuf,
        /// Where to write CCMCertFix.exe.
        #[arg(long = "targetdir", visible_alias = "target")]
        targetdir: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Stage a hotfix the way distribution points serve it (verified first).
    Stage {
        /// Hotfix package or its extracted tree.
        path: PathBuf,
        /// Layout file (e.g. manifests/layouts/configmgr2007.yaml).
        #[arg(long)]
        layout: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Also write a deterministic zip.
        #[arg(long)]
        zip: Option<PathBuf>,
        /// ConfigMgr package ID for the PATCH= line (site code + 5 hex digits).
        #[arg(long)]
        package_id: Option<String>,
        /// Drive letter of the task-sequence cache (default C).
        #[arg(long)]
        drive: Option<char>,
        /// UNC path of the client package instead of the local cache.
        #[arg(long)]
        unc: Option<String>,
        /// Manifest to verify against (default: the KB977203 one the CCMCertFix version names).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Stage even when verification has findings.
        #[arg(long)]
        no_verify: bool,
        /// Print the plan, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write into a non-empty output folder.
        #[arg(long)]
        force: bool,
    },
    /// Binary delta patches (PA19).
    #[command(subcommand)]
    Delta(DeltaCommand),
    /// Build a cabinet or a hotfix-style MSI from a folder.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Manifest tools: import a KB file table, lock a payload.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Run with an msiexec command line: `msiexec /a PKG [/p PATCH.msp] [/qb|/qn|/passive] TARGETDIR=DIR`.
    #[command(disable_help_flag = true)]
    Msiexec {
        /// msiexec arguments, as admins write them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

/// Write to stdout; a closed pipe ends the program quietly.
fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

fn json_out<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    out(&s);
    Ok(())
}

/// Entry point: returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    crate::extract::write::set_default_fsync(!cli.no_fsync);
    match cli.time_limit {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            eprintln!("hotfixkit: error: --time-limit must be a positive number of seconds, not {t}");
            return 2;
        }
        t => {
            let budget = t.map(|t| std::time::Duration::from_secs_f64(t.min(1e9))).unwrap_or(crate::deadline::DEFAULT);
            if crate::deadline::start(budget) {
                std::thread::spawn(move || {
                    std::thread::sleep(budget + std::time::Duration::from_secs(10));
                    eprintln!("hotfixkit: error: time limit of {} exceeded; stopped", crate::deadline::show(budget));
                    std::process::exit(2);
                });
            }
        }
    }
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hotfixkit: error: {e:#}");
            2
        }
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    match &cli.command {
        Command::Info { file } => cmd_info(cli, file),
        Command::Tables { package, tables, format, output, transforms, patches, force_apply } => {
            cmd_tables(cli, package, tables, *format, output.as_deref(), transforms, patches, *force_apply)
        }
        Command::Extract {
            package,
            targetdir,
            files,
            dry_run,
            force,
            patches,
            transforms,
            force_apply,
            max_output_bytes,
            max_entries,
            max_entry_bytes,
        } => {
            let package = PathBuf::from(package.join(" "));
            let d = extract::Limits::default();
            let limits = extract::Limits {
                max_output: max_output_bytes.unwrap_or(d.max_output),
                max_entries: max_entries.unwrap_or(d.max_entries),
                max_entry: max_entry_bytes.unwrap_or(d.max_entry),
            };
            let opts = ExtractOpts {
                files,
                dry_run: *dry_run,
                force: *force,
                patches,
                transforms,
                force_apply: *force_apply,
                limits,
            };
            cmd_extract(cli, &package, targetdir, &opts)
        }
        Command::Msiexec { args } => cmd_msiexec(cli, args),
        Command::Verify { path, manifest, format, output, strict } => {
            cmd_verify(cli, path, manifest, *format, output.as_deref(), *strict)
        }
        Command::Manifest(ManifestCommand::ImportKb { file, format, output, kb, split }) => {
            cmd_import_kb(cli, file, *format, output.as_deref(), *kb, split.as_deref())
        }
        Command::Manifest(ManifestCommand::Lock { path, output, product, kb }) => cmd_lock(path, output, product, *kb),
        Command::Streams { package, out, force } => cmd_streams(cli, package, out.as_deref(), *force),
        Command::Ccmcertfix { input, targetdir, force } => cmd_ccmcertfix(cli, input, targetdir, *force),
        Command::Stage { path, layout, out, zip, package_id, drive, unc, manifest, no_verify, dry_run, force } => {
            let opts = crate::hotfix::stage::StageOptions {
                zip: zip.clone(),
                package_id: package_id.clone(),
                drive: *drive,
                unc: unc.clone(),
                no_verify: *no_verify,
                manifest: manifest.clone(),
                dry_run: *dry_run,
                force: *force,
            };
            cmd_stage(cli, path, layout, out, &opts)
        }
        Command::Delta(DeltaCommand::Info { patch }) => {
            let data = std::fs::read(patch).with_context(|| format!("reading {}", patch.display()))?;
            let h = crate::delta::pa19::parse(&data).map_err(|e| e.with_path(patch))?;
            if cli.json {
                json_out(&h)?;
            } else {
                let mut s = format!(
                    "{}: PA19, options 0x{:08x}, extra 0x{:08x}, new file {} bytes, CRC-32 0x{:08x}{}{}\n",
                    patch.display(),
                    h.options,
                    h.extra_flags,
                    h.new_size,
                    h.new_crc32,
                    if h.crc_ok { "" } else { ", PATCH CRC FAILS" },
                    if h.complete { "" } else { ", header only" }
                );
                for (i, f) in h.old_files.iter().enumerate() {
                    s.push_str(&format!(
                        "  old file {i}: {} bytes, CRC-32 0x{:08x}, {} ignore and {} retain ranges, {} RVA map entries, {} bytes of LZX data\n",
                        f.size,
                        f.crc32,
                        f.ignore.len(),
                        f.retain.len(),
                        f.rva_map,
                        f.stream_size
                    ));
                }
                out(&s);
            }
            Ok(0)
        }
        Command::Delta(DeltaCommand::Apply { old, patch, output }) => {
            let p = std::fs::read(patch).with_context(|| format!("reading {}", patch.display()))?;
            let o = match old {
                Some(o) => Some(std::fs::read(o).with_context(|| format!("reading {}", o.display()))?),
                None => None,
            };
            let new = crate::delta::pa19::apply(&p, o.as_deref()).map_err(|e| e.with_path(patch))?;
            write_atomic(output, &new)?;
            Ok(0)
        }
        Command::Build(BuildCommand::Cab { dir, output, compression }) => {
            let c = match compression {
                CabMethod::None => crate::build::CabCompression::None,
                CabMethod::Mszip => crate::build::CabCompression::MsZip,
            };
            write_atomic(output, &crate::build::build_cab(dir, c)?)?;
            Ok(0)
        }
        Command::Build(BuildCommand::Msi { dir, output, product_name, version }) => {
            write_atomic(output, &crate::build::build_msi(dir, product_name, version)?)?;
            Ok(0)
        }
    }
}

fn cmd_info(cli: &Cli, file: &Path) -> anyhow::Result<i32> {
    let info = crate::info::describe(file)?;
    if cli.json {
        json_out(&info)?;
        return Ok(0);
    }
    let mut s = format!("{}: {:?}, {} bytes\n", info.file, info.kind, info.size);
    if let Some(c) = &info.cab {
        s.push_str(&render_cab(c, ""));
    }
    if let Some(pe) = &info.pe {
        s.push_str(&format!("machine: {}\n", pe.machine.platform()));
        if let Some(v) = &pe.version {
            s.push_str(&format!("file version: {}\n", v.file_version.as_deref().unwrap_or("-")));
            s.push_str(&format!("product version: {}\n", v.product_version.as_deref().unwrap_or("-")));
            for (k, val) in &v.strings {
                s.push_str(&format!("  {k}: {val}\n"));
            }
        }
    }
    if let Some(p) = &info.package {
        s.push_str(&format!("package type: {:?} (CLSID {})\n", p.kind, p.clsid));
        if let Some(t) = &p.truncated {
            s.push_str(&format!("TRUNCATED: {} of {} bytes present\n", t.actual, t.expected));
        }
        s.push_str("summary information:\n");
        for prop in &p.summary {
            let v = match &prop.value {
                crate::msi::summary::PropValue::Int(i) => i.to_string(),
                crate::msi::summary::PropValue::Str(x) => x.clone(),
                crate::msi::summary::PropValue::Time(x) => x.clone(),
                crate::msi::summary::PropValue::Other(t) => format!("(type {t})"),
            };
            s.push_str(&format!("  {:<22} {}\n", prop.name, v));
        }
        if let Some(e) = &p.table_error {
            s.push_str(&format!("tables: could not be read: {e}\n"));
        }
        s.push_str(&format!("tables ({}):\n", p.tables.len()));
        for t in &p.tables {
            s.push_str(&format!("  {:<32} {:>7} rows\n", t.name, t.rows));
        }
        s.push_str(&format!("streams ({}):\n", p.streams.len()));
        for st in &p.streams {
            s.push_str(&format!("  {:<32} {:>10} bytes\n", st.name, st.size));
        }
        if !p.storages.is_empty() {
            s.push_str(&format!("storages ({}):\n", p.storages.len()));
            for st in &p.storages {
                s.push_str(&format!("  {st}\n"));
            }
        }
        if !p.media.is_empty() {
            s.push_str("media:\n");
            for m in &p.media {
                s.push_str(&format!(
                    "  disk {} last sequence {} cabinet {:?}\n",
                    m.disk_id, m.last_sequence, m.cabinet
                ));
                if let Some(c) = &m.cab {
                    s.push_str(&render_cab(c, "    "));
                }
                if let Some(e) = &m.error {
                    s.push_str(&format!("    error: {e}\n"));
                }
            }
        }
        for c in &p.cabinet_streams {
            s.push_str(&format!("cabinet stream {}:\n", c.name));
            s.push_str(&render_cab(c, "    "));
        }
    }
    out(&s);
    Ok(0)
}

fn render_cab(c: &crate::info::CabInfo, ind: &str) -> String {
    let comp: Vec<String> = c.folders.iter().map(|f| f.compression.clone()).collect();
    let mut s = format!(
        "{ind}cabinet: {} folders ({}), {} files, set {} index {}\n",
        c.folders.len(),
        comp.join(", "),
        c.file_count,
        c.set_id,
        c.index
    );
    if let Some(p) = &c.prev {
        s.push_str(&format!("{ind}previous cabinet: {p}\n"));
    }
    if let Some(n) = &c.next {
        s.push_str(&format!("{ind}next cabinet: {n}\n"));
    }
    for n in &c.notes {
        s.push_str(&format!("{ind}note: {n}\n"));
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn cmd_tables(
    cli: &Cli,
    package: &Path,
    names: &[String],
    format: TableFormat,
    output: Option<&Path>,
    transforms: &[PathBuf],
    patches: &[PathBuf],
    force_apply: bool,
) -> anyhow::Result<i32> {
    let mut db = Database::open(package)?;
    if let Some(e) = &db.table_error {
        bail!("{}: tables could not be read: {e}", package.display());
    }
    if !transforms.is_empty() || !patches.is_empty() {
        let (patched, _) = extract::apply_all(&db, transforms, patches, force_apply)?;
        db.tables = patched.tables;
    }
    let sel = tables::select(&db, names)?;
    let format = if cli.json { TableFormat::Json } else { format };
    if let Some(dir) = output {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for t in &sel {
            crate::extract::path::check_component(&t.name)?;
            match format {
                TableFormat::Idt => tables::write_idt(&db, t, dir)?,
                TableFormat::Json => std::fs::write(
                    dir.join(format!("{}.json", t.name)),
                    serde_json::to_string_pretty(&tables::to_json(t))? + "\n",
                )?,
                TableFormat::Csv => std::fs::write(dir.join(format!("{}.csv", t.name)), tables::to_csv(t))?,
                TableFormat::Text => std::fs::write(dir.join(format!("{}.txt", t.name)), tables::to_text(t))?,
            }
        }
        return Ok(0);
    }
    match format {
        TableFormat::Json => {
            if sel.len() == 1 {
                json_out(&tables::to_json(sel[0]))?;
            } else {
                json_out(&sel.iter().map(|t| tables::to_json(t)).collect::<Vec<_>>())?;
            }
        }
        TableFormat::Csv => {
            let parts: Vec<String> = sel.iter().map(|t| tables::to_csv(t)).collect();
            out(&parts.join("\r\n"));
        }
        TableFormat::Text => {
            let parts: Vec<String> = sel.iter().map(|t| tables::to_text(t)).collect();
            out(&parts.join("\n"));
        }
        TableFormat::Idt => {
            if sel.len() != 1 {
                bail!("--format idt writes one file per table: give -o DIR, or name one table");
            }
            let tmp = tempdir_in_target()?;
            tables::write_idt(&db, sel[0], &tmp)?;
            let p = tmp.join(format!("{}.idt", sel[0].name));
            let text = std::fs::read_to_string(&p)?;
            let _ = std::fs::remove_dir_all(&tmp);
            out(&text);
        }
    }
    Ok(0)
}

fn tempdir_in_target() -> anyhow::Result<PathBuf> {
    let p = std::env::temp_dir().join(format!("hotfixkit-idt-{}", std::process::id()));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}

fn dir_is_nonempty(p: &Path) -> bool {
    std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false)
}

/// Options of `extract`.
pub struct ExtractOpts<'a> {
    files: &'a [String],
    dry_run: bool,
    force: bool,
    patches: &'a [PathBuf],
    transforms: &'a [PathBuf],
    force_apply: bool,
    limits: extract::Limits,
}

fn cmd_extract(cli: &Cli, package: &Path, targetdir: &Path, o: &ExtractOpts<'_>) -> anyhow::Result<i32> {
    let (files, dry_run, force) = (o.files, o.dry_run, o.force);
    let kind = crate::sniff(package)?;
    let mut patched_view = None;
    let mut job = match kind {
        FileKind::Cab => {
            if !o.patches.is_empty() || !o.transforms.is_empty() {
                bail!("{}: --patch and --transform apply to an installer package, not a cabinet", package.display());
            }
            extract::plan_cab(package)?
        }
        FileKind::Cfb => {
            let mut db = if o.patches.is_empty() && o.transforms.is_empty() {
                Database::open_tables(package, extract::PLAIN_MSI_TABLES)?
            } else {
                Database::open(package)?
            };
            match db.kind {
                crate::msi::PackageKind::Msi if o.patches.is_empty() && o.transforms.is_empty() => {
                    extract::plan_msi_consume(&mut db)?
                }
                crate::msi::PackageKind::Msi => {
                    let pj = extract::plan_patched(&db, o.transforms, o.patches, o.force_apply)?;
                    let job = pj.job;
                    patched_view = Some((db, pj.patched));
                    job
                }
                crate::msi::PackageKind::Msp if o.patches.is_empty() => extract::plan_patch_alone(package)?,
                k => {
                    let what = match k {
                        crate::msi::PackageKind::Mst => "a transform (.mst)",
                        crate::msi::PackageKind::Msp => "a patch (.msp) given with --patch",
                        _ => "a compound file but not an installer package (unknown CLSID)",
                    };
                    bail!(
                        "{}: {what}, which holds no files of its own; extract an MSI (with --patch) or a CAB",
                        package.display()
                    )
                }
            }
        }
        _ => bail!("{}: not a cabinet or Windows Installer package", package.display()),
    };
    extract::filter_entries(&mut job.plan, files)?;
    extract::check_limits(&job.plan, &o.limits).map_err(|e| e.with_path(package))?;
    if !files.is_empty() {
        job.plan.admin_package = None;
    }
    if dry_run {
        if cli.json {
            json_out(&job.plan)?;
        } else {
            let mut s = String::new();
            for e in &job.plan.entries {
                let src = match &e.source {
                    extract::Source::Cabinet { cabinet, entry, .. } => format!("{cabinet}:{entry}"),
                    extract::Source::Loose { path } => path.display().to_string(),
                    extract::Source::Unavailable { reason } => format!("UNAVAILABLE: {reason}"),
                    extract::Source::Delta { patch, .. } => match patch.as_ref() {
                        extract::Source::Cabinet { cabinet, entry, .. } => {
                            format!("DELTA {cabinet}:{entry} applied to the base file")
                        }
                        _ => "DELTA".to_string(),
                    },
                };
                s.push_str(&format!("{}\t{}\t{}\n", e.path, e.size, src));
            }
            if let Some(a) = &job.plan.admin_package {
                s.push_str(&format!("{a}\t(administrative copy of the package)\n"));
            }
            out(&s);
        }
        return Ok(0);
    }
    if dir_is_nonempty(targetdir) && !force {
        bail!("{}: target directory is not empty (use --force to write into it)", targetdir.display());
    }
    let target = Target::new(targetdir, force)?;
    // The package's tables and the planner's scratch state are gone by now.
    crate::mem::return_free_memory();
    let total: u64 = job.plan.entries.iter().map(|e| e.size).sum();
    let show = !cli.quiet && !cli.json && std::io::stderr().is_terminal();
    let bar = if show {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        {
            b.set_style(style);
        }
        Some(b)
    } else {
        None
    };
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let opts = ExecOptions { progress: Some(&progress), summary_only: !cli.json };
    // Every file claims its path first; the administrative package's name is claimed
    // after them (a file of that name keeps it), and the copy is then written while the
    // files are: it needs only the package and the plan.
    let claimed = extract::claim_all(&job, &target);
    let admin = job.plan.admin_package.as_ref().map(|name| (name, target.claim(std::slice::from_ref(name))));
    let (job_ref, patched_ref) = (&job, &patched_view);
    let write_admin = move || -> Option<crate::error::Result<String>> {
        let (name, claim) = admin?;
        if let Err(e) = claim {
            return Some(Err(e));
        }
        let job = job_ref;
        let dest = targetdir.join(name);
        Some(
            match patched_ref {
                Some((db, patched)) => extract::admin_changes(db, patched).and_then(|changes| {
                    extract::write_admin_package_with(package, &dest, &job.plan.dropped_streams, force, &changes)
                }),
                None => extract::write_admin_package(package, &dest, &job.plan.dropped_streams, force),
            }
            .map(|_| dest.display().to_string()),
        )
    };
    let (outcome, admin_result) = std::thread::scope(|scope| {
        let copy = scope.spawn(write_admin);
        let outcome = extract::execute_claimed(&job, &target, claimed, &opts);
        let admin_result = copy
            .join()
            .unwrap_or_else(|_| Some(Err(crate::error::Error::format("administrative package copy failed (thread)"))));
        (outcome, admin_result)
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut errors: Vec<String> = collapse_time_limit(&outcome.errors);
    let mut admin_written = None;
    match admin_result {
        Some(Ok(dest)) => admin_written = Some(dest),
        Some(Err(e)) => errors.push(format!("administrative package copy: {e}")),
        None => {}
    }
    let bytes = outcome.bytes;
    if cli.json {
        json_out(&serde_json::json!({
            "package": job.plan.package,
            "target": targetdir.display().to_string(),
            "files": outcome.written,
            "admin_package": admin_written,
            "warnings": job.plan.warnings,
            "errors": errors,
        }))?;
    } else {
        if !cli.quiet {
            for w in &job.plan.warnings {
                eprintln!("hotfixkit: warning: {w}");
            }
            let mut s = format!("extracted {} files ({} bytes) to {}\n", outcome.files, bytes, targetdir.display());
            if let Some(a) = &admin_written {
                s.push_str(&format!("administrative package: {a}\n"));
            }
            out(&s);
        }
        for e in &errors {
            eprintln!("hotfixkit: error: {e}");
        }
    }
    Ok(if errors.is_empty() { 0 } else { 2 })
}

/// Parse an msiexec command line into (package, targetdir, quiet).
pub fn parse_msiexec(args: &[String]) -> anyhow::Result<(PathBuf, PathBuf, Vec<PathBuf>)> {
    let mut package = None;
    let mut patches = Vec::new();
    let mut targetdir = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let lower = a.to_lowercase();
        if let Some(sw) = lower.strip_prefix('/').or_else(|| lower.strip_prefix('-')) {
            match sw {
                "a" => {
                    let p = args.get(i + 1).ok_or_else(|| anyhow!("msiexec: /a needs a package"))?;
                    package = Some(PathBuf::from(p));
                    i += 1;
                }
                "qb" | "qn" | "q" | "qr" | "qf" | "passive" | "qb-" | "qb+" | "qb!" | "qn+" | "qb!-" | "quiet" | "norestart" => {}
                "p" => {
                    let p = args.get(i + 1).ok_or_else(|| anyhow!("msiexec: /p needs a patch"))?;
                    patches.extend(p.split(';').filter(|s| !s.is_empty()).map(PathBuf::from));
                    i += 1;
                }
                other => bail!("msiexec: switch /{other} is not supported here (only /a and /p with /qb, /qn, /passive, /quiet, /norestart)"),
            }
        } else if let Some((k, v)) = a.split_once('=') {
            let v = v.trim_matches('"');
            if k.eq_ignore_ascii_case("TARGETDIR") {
                targetdir = Some(PathBuf::from(v));
            } else {
                bail!("msiexec: property {k} is not supported here (only TARGETDIR)");
            }
        } else {
            bail!("msiexec: unexpected argument {a:?}");
        }
        i += 1;
    }
    let package = package.ok_or_else(|| anyhow!("msiexec: only /a PACKAGE is supported; give /a"))?;
    let targetdir = targetdir.ok_or_else(|| anyhow!("msiexec: TARGETDIR=DIR is required with /a"))?;
    Ok((package, targetdir, patches))
}

fn cmd_msiexec(cli: &Cli, args: &[String]) -> anyhow::Result<i32> {
    // msiexec's own help switches, and the usual ones, print this command's help.
    if args.iter().any(|a| matches!(a.to_lowercase().as_str(), "/?" | "-?" | "/h" | "/help" | "-h" | "--help")) {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        if let Some(sub) = cmd.find_subcommand_mut("msiexec") {
            out(&sub.render_long_help().to_string());
        }
        return Ok(0);
    }
    let (package, targetdir, patches) = parse_msiexec(args)?;
    let opts = ExtractOpts {
        files: &[],
        dry_run: false,
        force: false,
        patches: &patches,
        transforms: &[],
        force_apply: false,
        limits: extract::Limits::default(),
    };
    cmd_extract(cli, &package, &targetdir, &opts)
}

fn write_or_print(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(p) => write_atomic(p, text.as_bytes()),
        None => {
            out(text);
            Ok(())
        }
    }
}

/// Write a small output file via a temporary name and rename.
fn write_atomic(p: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".hotfixkit-{}.part", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, p).with_context(|| format!("renaming into {}", p.display()))?;
    Ok(())
}

fn cmd_verify(
    cli: &Cli,
    path: &Path,
    manifest: &Path,
    format: ReportFormat,
    output: Option<&Path>,
    strict: bool,
) -> anyhow::Result<i32> {
    // The manifest is parsed while the tree is hashed: neither needs the other.
    let (m, observed) = rayon::join(|| crate::manifest::Manifest::load(manifest), || crate::manifest::observe(path));
    let m = m?;
    let (observed, errors) = observed?;
    let report = crate::manifest::verify(&m, &observed, &path.display().to_string(), strict, &errors);
    let format = if cli.json { ReportFormat::Json } else { format };
    let text = match format {
        ReportFormat::Text => crate::manifest::render_text(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Junit => crate::manifest::render_junit(&report),
    };
    write_or_print(output, &text)?;
    Ok(if report.has_findings() || !report.errors.is_empty() { 1 } else { 0 })
}

fn kb_from_name(p: &Path) -> Option<u32> {
    let n = p.file_name()?.to_string_lossy().to_lowercase();
    let i = n.find("kb")?;
    let digits: String = n[i + 2..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn render_data<T: serde::Serialize>(
    v: &T,
    yaml: impl FnOnce() -> String,
    format: DataFormat,
) -> anyhow::Result<String> {
    Ok(match format {
        DataFormat::Yaml => yaml(),
        DataFormat::Json => serde_json::to_string_pretty(v)? + "\n",
    })
}

fn cmd_import_kb(
    cli: &Cli,
    file: &Path,
    format: DataFormat,
    output: Option<&Path>,
    kb: Option<u32>,
    split: Option<&Path>,
) -> anyhow::Result<i32> {
    let kb = kb
        .or_else(|| kb_from_name(file))
        .ok_or_else(|| anyhow!("{}: no KB number in the file name; give --kb", file.display()))?;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let set = crate::manifest::import_kb(&text, kb).map_err(|e| e.with_path(file))?;
    let format = if cli.json { DataFormat::Json } else { format };
    if let Some(dir) = split {
        for m in &set.manifests {
            let sp = m.service_pack.as_deref().unwrap_or("all").to_lowercase();
            let ext = match format {
                DataFormat::Yaml => "yaml",
                DataFormat::Json => "json",
            };
            let p = dir.join(format!("kb{kb}-{sp}.{ext}"));
            write_atomic(&p, render_data(m, || m.to_yaml(), format)?.as_bytes())?;
        }
        return Ok(0);
    }
    write_or_print(output, &render_data(&set, || set.to_yaml(), format)?)?;
    Ok(0)
}

fn cmd_lock(path: &Path, output: &Path, product: &str, kb: u32) -> anyhow::Result<i32> {
    let (observed, errors) = crate::manifest::observe(path)?;
    if let Some(e) = errors.first() {
        bail!("{}: {e}", path.display());
    }
    let m = crate::manifest::lock(&observed, product, kb);
    // `.json` gives JSON; anything else YAML (both read back at the same speed: the YAML
    // manifest lock writes stays in the subset the manifest reader reads directly).
    let text = if output.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        serde_json::to_string_pretty(&m)? + "\n"
    } else {
        m.to_yaml()
    };
    write_atomic(output, text.as_bytes())?;
    Ok(0)
}

/// The errors as lines. Once the time budget is spent every remaining entry fails the
/// same way: the first is reported with how many more were not written, not one line
/// each.
fn collapse_time_limit(errors: &[crate::error::Error]) -> Vec<String> {
    let is_limit = |e: &crate::error::Error| e.kind() == crate::error::ErrorKind::TimeLimit;
    let n = errors.iter().filter(|e| is_limit(e)).count();
    let mut out: Vec<String> = Vec::new();
    let mut first = true;
    for e in errors {
        if !is_limit(e) || n < 2 {
            out.push(e.to_string());
        } else if first {
            first = false;
            out.push(format!("{e} ({} more entries not written for the same reason)", n - 1));
        }
    }
    out
}

fn cmd_streams(cli: &Cli, package: &Path, dir: Option<&Path>, force: bool) -> anyhow::Result<i32> {
    let Some(dir) = dir else {
        let list = crate::msi::streams::list(package)?;
        if cli.json {
            json_out(&list)?;
        } else {
            let mut s = String::new();
            for e in &list {
                s.push_str(&format!("{:>12}  {}\n", e.size, e.file_name));
            }
            out(&s);
        }
        return Ok(0);
    };
    if dir_is_nonempty(dir) && !force {
        bail!("{}: target directory is not empty (use --force to write into it)", dir.display());
    }
    let target = Target::new(dir, force)?;
    let results = crate::msi::streams::write_all(package, &target)?;
    let mut code = 0;
    let mut written = Vec::new();
    for (e, r) in results {
        match r {
            Ok(w) => {
                written.push(serde_json::json!({"name": e.name, "path": w.path, "size": w.size, "sha256": w.sha256}))
            }
            Err(err) => {
                eprintln!("hotfixkit: error: {}: {err}", package.display());
                code = 2;
            }
        }
    }
    if cli.json {
        json_out(&written)?;
    } else if !cli.quiet {
        out(&format!("wrote {} streams to {}\n", written.len(), dir.display()));
    }
    Ok(code)
}

fn cmd_ccmcertfix(cli: &Cli, input: &Path, targetdir: &Path, force: bool) -> anyhow::Result<i32> {
    let r = crate::hotfix::ccmcertfix::extract_ccmcertfix(input, targetdir, force)?;
    if cli.json {
        json_out(&r)?;
    } else {
        let mut s = format!(
            "found {}\nwrote {} ({} bytes, version {}, {})\n",
            r.found_in,
            r.written,
            r.size,
            r.version.as_deref().unwrap_or("none"),
            r.machine.as_deref().unwrap_or("not a PE file")
        );
        match (&r.service_pack, r.verified) {
            (Some(sp), true) => s.push_str(&format!("verified against KB977203 {sp}\n")),
            (Some(sp), false) => s.push_str(&format!("DOES NOT MATCH KB977203 {sp}\n")),
            (None, _) => {}
        }
        for f in &r.findings {
            s.push_str(&format!("  {f}\n"));
        }
        s.push_str("how to run it:\n");
        for i in &r.instructions {
            s.push_str(&format!("  - {i}\n"));
        }
        out(&s);
    }
    Ok(if r.verified { 0 } else { 1 })
}

fn cmd_stage(
    cli: &Cli,
    path: &Path,
    layout: &Path,
    outdir: &Path,
    opts: &crate::hotfix::stage::StageOptions,
) -> anyhow::Result<i32> {
    let layout = crate::hotfix::stage::Layout::load(layout)?;
    let plan = crate::hotfix::stage::stage(path, &layout, outdir, opts)?;
    if cli.json {
        json_out(&plan)?;
    } else {
        let mut s =
            format!("{}: {} files{}\n", plan.manifest, plan.files.len(), if opts.dry_run { " (dry run)" } else { "" });
        for f in &plan.files {
            s.push_str(&format!("  {:<48} <- {}\n", f.to, f.from));
        }
        for o in &plan.outputs {
            s.push_str(&format!("  {o}\n"));
        }
        s.push_str(&format!("{}\n", plan.patch_line));
        for f in &plan.findings {
            s.push_str(&format!("finding (staged with --no-verify): {f}\n"));
        }
        out(&s);
    }
    Ok(if plan.findings.is_empty() { 0 } else { 1 })
}
