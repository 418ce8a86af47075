//! The command line's arguments (clap derive). This file stands on its own (clap and std
//! only) so that `cargo xtask man` and `cargo xtask completions` build the man page and
//! completions from the same types.
//!
//! One grammar for every command: the output is `-o/--output` (`--targetdir` stays as an
//! alias where msiexec users expect it); `--force` is needed to replace any output that
//! exists; `--json` is `--format json`; lists are repeated options or comma lists; one
//! input per command.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[path = "args_build.rs"]
mod args_build;
pub use args_build::*;
#[path = "args_delta.rs"]
mod args_delta;
pub use args_delta::*;

/// Read MSI, MSP, MST, MSM and CAB files; build msiexec-style administrative images anywhere.
#[derive(Parser, Debug)]
#[command(name = "hotfixkit", version, about, long_about = None)]
pub struct Cli {
    /// Only errors and the one-line verdict.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Machine-readable JSON on standard output (errors too); the same as `--format json`.
    #[arg(long, global = true)]
    pub json: bool,
    /// Do not make written files durable before they get their final names (faster on
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned columns.
    Text,
    /// A list of tables, each with its columns and rows.
    Json,
    /// CSV with a header row.
    Csv,
    /// IDT text archive (msidb/msibuild).
    Idt,
}

/// Verify report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A readable table, the summary line last.
    Text,
    /// The report as JSON.
    Json,
    /// JUnit XML, one testcase per manifest row.
    Junit,
}

/// Manifest formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// Which signatures are trusted.
#[derive(Args, Debug, Clone, Default)]
pub struct Trust {
    /// Trust this certificate (PEM or DER) as a root too; repeatable. The system's CA
    /// bundle and the Microsoft code-signing roots (manifests/trust) are always trusted.
    #[arg(long = "trust", value_name = "PEM")]
    pub trust: Vec<PathBuf>,
}

/// Where a command writes, and whether it may replace what is there.
#[derive(Args, Debug, Clone)]
pub struct Output {
    /// Replace an output that exists (a non-empty folder, an existing file).
    #[arg(long)]
    pub force: bool,
}

/// `manifest` subcommands.
#[derive(Subcommand, Debug)]
pub enum ManifestCommand {
    /// Parse a pasted KB "file information" table (English or localized) into manifests.
    ImportKb {
        /// The pasted table, one cell per line.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        format: Option<DataFormat>,
        /// Write here instead of standard output (a folder with --split).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// KB article number (default: the digits after "kb" in the file name).
        #[arg(long)]
        kb: Option<u32>,
        /// One manifest per service pack (kb<N>-sp<n>.yaml) in the --output folder.
        #[arg(long, requires = "output")]
        split: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Record what identifies a tree's or package's content (name, folder, platform,
    /// version, size, sha256; times too, compared only with --check-times).
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
        #[command(flatten)]
        trust: Trust,
        #[command(flatten)]
        out: Output,
    },
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a file is: kind, summary information, tables, streams, storages, cabinets.
    Info {
        /// MSI, MSP, MST, MSM, CAB or any file.
        file: PathBuf,
    },
    /// Dump database tables (as transforms and patches leave them).
    Tables {
        /// The package.
        package: PathBuf,
        /// Tables to dump (all when none).
        tables: Vec<String>,
        /// Output format.
        #[arg(long, value_enum)]
        format: Option<TableFormat>,
        /// Write one file per table into this folder.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Apply this transform (.mst) first; repeatable, applied in order.
        #[arg(long = "transform")]
        transforms: Vec<PathBuf>,
        /// Apply this patch (.msp); repeatable, applied in order after the transforms.
        #[arg(long = "patch")]
        patches: Vec<PathBuf>,
        /// Apply transforms and patches whose validation fails without a warning.
        #[arg(long)]
        force_apply: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Extract: an MSI gives its administrative image, a merge module its files, a patch
    /// the files it carries, a CAB (any part of a set) its files.
    Extract {
        /// The package or cabinet.
        package: PathBuf,
        /// Where to write.
        #[arg(short = 'o', long = "output", visible_aliases = ["targetdir", "target"], value_name = "DIR")]
        output: PathBuf,
        /// Only these files (File key, file name or path; case-insensitive); repeatable
        /// or a comma list.
        #[arg(long, value_delimiter = ',')]
        files: Vec<String>,
        /// Print the plan, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Patch the image with this .msp (as `msiexec /a PKG /p PATCH`); repeatable.
        #[arg(long = "patch")]
        patches: Vec<PathBuf>,
        /// Apply this transform (.mst) to the package first; repeatable.
        #[arg(long = "transform")]
        transforms: Vec<PathBuf>,
        /// Apply transforms and patches even when their validation fails.
        #[arg(long)]
        force_apply: bool,
        /// Short file and folder names (msiexec's SHORTFILENAMES).
        #[arg(long)]
        short_names: bool,
        /// Check the Authenticode signature of the package and of every executable,
        /// package and cabinet written (exit 1 when one fails).
        #[arg(long)]
        verify_signatures: bool,
        #[command(flatten)]
        trust: Trust,
        /// Refuse to write more than this many bytes in all (default 64 GiB).
        #[arg(long)]
        max_output_bytes: Option<u64>,
        /// Refuse to write more than this many files (default 1,000,000).
        #[arg(long)]
        max_entries: Option<usize>,
        /// Refuse any single file larger than this (default 8 GiB).
        #[arg(long)]
        max_entry_bytes: Option<u64>,
        #[command(flatten)]
        out: Output,
    },
    /// Verify files against a manifest: a tree, a package (streamed in place) or a file.
    Verify {
        /// Extracted tree, MSI/CAB/MSP, or a single file.
        path: PathBuf,
        /// The manifest (YAML or JSON).
        #[arg(long)]
        manifest: PathBuf,
        /// Report format.
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
        /// Write the report to this file instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Files not named by the manifest are findings too.
        #[arg(long)]
        strict: bool,
        /// Compare the manifest's dates and times too (copies and downloads reset them).
        #[arg(long)]
        check_times: bool,
        /// Only rows with findings in the text report.
        #[arg(long)]
        failures_only: bool,
        /// Check the Authenticode signature of every executable, package and cabinet
        /// (and of the package itself); one that is present but not trusted is a finding.
        #[arg(long)]
        signatures: bool,
        #[command(flatten)]
        trust: Trust,
        #[command(flatten)]
        out: Output,
    },
    /// List a package's root streams (Binary and Icon data, embedded cabinets, the
    /// summary information), or write them out under escaped names with --output.
    Streams {
        /// MSI, MSP or MST.
        package: PathBuf,
        /// Write each stream into this folder (names escaped: `%05SummaryInformation`).
        #[arg(short = 'o', long = "output", visible_alias = "out", value_name = "DIR")]
        output: Option<PathBuf>,
        #[command(flatten)]
        out: Output,
    },
    /// Find CCMCertFix.exe in a KB977203 hotfix (package, image, cabinet, nested), write
    /// it, verify it, and say how to run it.
    Ccmcertfix {
        /// Hotfix MSI, admin image folder, cabinet.
        input: PathBuf,
        /// Where to write CCMCertFix.exe.
        #[arg(short = 'o', long = "output", visible_aliases = ["targetdir", "target"], value_name = "DIR")]
        output: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Stage a hotfix the way distribution points serve it (verified first).
    Stage {
        /// Hotfix package or its extracted tree.
        path: PathBuf,
        /// Layout file (e.g. manifests/layouts/configmgr2007.yaml).
        #[arg(long)]
        layout: PathBuf,
        /// Output folder.
        #[arg(short = 'o', long = "output", visible_alias = "out", value_name = "DIR")]
        output: PathBuf,
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
        #[command(flatten)]
        out: Output,
    },
    /// Check a file's Authenticode signatures (PE, MSI, MSP, CAB, catalog): signer,
    /// chain, digest, timestamp and a verdict per signature, nested ones included.
    Signature {
        /// The signed file.
        file: PathBuf,
        #[command(flatten)]
        trust: Trust,
    },
    /// Binary delta patches (PA19).
    #[command(subcommand)]
    Delta(DeltaCommand),
    /// Build a cabinet or an installer package from a folder, a transform between two
    /// packages, or a patch.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Compare two packages (or a package with a patch or transform applied): summary
    /// information, tables row by row, streams and files.
    Diff(DiffArgs),
    /// Manifest tools: import a KB file table, lock a payload.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Run with an msiexec command line: `msiexec /a PKG [/p PATCH.msp] [/qb|/qn|/passive]
    /// [/l*v LOG] [PROPERTY=VALUE…] TARGETDIR=DIR`.
    #[command(disable_help_flag = true)]
    Msiexec {
        /// msiexec arguments, as admins write them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}
