//! The arguments of `build` and `diff` (clap and std only, like `args.rs`, which
//! includes this file).

use super::{DeltaEffort, Output};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Cabinet compression for `build cab`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CabMethod {
    /// Stored.
    None,
    /// MSZIP.
    Mszip,
}

/// Which changed files `build msp --delta` sends as binary deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeltaWhen {
    /// Every changed file the target has at the same place.
    Always,
    /// Each such file as the smaller of its delta and itself (as the cabinet stores them).
    Auto,
}

/// A transform validation condition (Character Count high word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Validation {
    /// No condition.
    None,
    /// ProductLanguage must be one of the base's languages.
    Language,
    /// ProductCode must be the base's.
    Product,
    /// Platform (Windows Installer does not check it).
    Platform,
    /// Compare the major version.
    MajorVersion,
    /// Compare major.minor.
    MinorVersion,
    /// Compare major.minor.update.
    UpdateVersion,
    /// Installed version < base version.
    VersionLess,
    /// Installed version <= base version.
    VersionLessOrEqual,
    /// Installed version = base version.
    VersionEqual,
    /// Installed version >= base version.
    VersionGreaterOrEqual,
    /// Installed version > base version.
    VersionGreater,
    /// UpgradeCode must be the base's.
    UpgradeCode,
}

/// A transform error condition to suppress (Character Count low word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suppress {
    /// Suppress none.
    None,
    /// Adding a row that exists (the row is overwritten).
    AddExistingRow,
    /// Deleting a row that does not exist.
    DeleteMissingRow,
    /// Adding a table that exists.
    AddExistingTable,
    /// Deleting a table that does not exist.
    DeleteMissingTable,
    /// Updating a row that does not exist (the row is inserted).
    UpdateMissingRow,
    /// A code page mismatch.
    Codepage,
    /// Every condition above.
    All,
}

/// Transform flags shared by `build mst` and `build msp`.
#[derive(Args, Debug, Clone)]
pub struct TransformFlags {
    /// Validation conditions (comma list or repeated); default for mst: product,upgrade-code;
    /// for msp: product,update-version,version-equal,upgrade-code.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub validation: Vec<Validation>,
    /// Error conditions to suppress (comma list or repeated); default for mst: none; for
    /// msp: the five row and table conditions.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub suppress_errors: Vec<Suppress>,
}

/// `build msp` options.
#[derive(Args, Debug)]
pub struct MspArgs {
    /// A package the patch applies to (repeat for a multi-target patch).
    #[arg(long = "target", required = true, value_name = "OLD.msi")]
    pub targets: Vec<PathBuf>,
    /// The upgraded package: once for every target, or once per target in their order.
    #[arg(long = "upgraded", value_name = "NEW.msi", required_unless_present = "files", conflicts_with = "files")]
    pub upgraded: Vec<PathBuf>,
    /// A folder of new versions of the targets' files (matched by image path, or by name).
    #[arg(long, value_name = "DIR")]
    pub files: Option<PathBuf>,
    /// The patch to write.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Patch code (default: derived from the inputs, so a rebuild gives the same code).
    #[arg(long, value_name = "GUID")]
    pub patch_code: Option<String>,
    /// A patch this one makes obsolete (repeatable).
    #[arg(long = "obsoletes", value_name = "GUID")]
    pub obsoletes: Vec<String>,
    /// DisplayName (and summary Subject).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Description (and summary Comments).
    #[arg(long)]
    pub description: Option<String>,
    /// Classification (Hotfix, Security Rollup, Critical Update, Update, Service Pack,
    /// Update Rollup).
    #[arg(long, default_value = "Hotfix")]
    pub classification: String,
    /// ManufacturerName (default the target's Manufacturer).
    #[arg(long)]
    pub manufacturer: Option<String>,
    /// Let the patch be uninstalled on its own (AllowRemoval 1).
    #[arg(long)]
    pub allow_removal: bool,
    /// MoreInfoURL.
    #[arg(long)]
    pub more_info_url: Option<String>,
    /// More MsiPatchMetadata rows: NAME=VALUE, or COMPANY:NAME=VALUE (repeatable).
    #[arg(long = "metadata", value_name = "[COMPANY:]NAME=VALUE")]
    pub metadata: Vec<String>,
    /// MsiPatchSequence PatchFamily (default: the product name as an identifier).
    #[arg(long)]
    pub family: Option<String>,
    /// MsiPatchSequence Sequence (default: the upgraded ProductVersion).
    #[arg(long)]
    pub sequence: Option<String>,
    /// Supersede earlier patches of the family.
    #[arg(long)]
    pub supersede: bool,
    /// Base name of the transforms (default T1ToU1, T2ToU2…).
    #[arg(long)]
    pub transform_name: Option<String>,
    /// Name of a target's patch cabinet stream (repeat once per target, in their order;
    /// default <transform>.cab).
    #[arg(long = "cabinet", value_name = "NAME")]
    pub cabinets: Vec<String>,
    /// First File.Sequence of the patch's files (default: after every target's).
    #[arg(long)]
    pub sequence_start: Option<i32>,
    /// DiskId of the first target's patch media (default: after every target's).
    #[arg(long)]
    pub disk_id: Option<i32>,
    /// Add NAME.PatchCode and NAME.AllowRemoval properties (WiX's ClientPatchId).
    #[arg(long, value_name = "NAME")]
    pub client_patch_id: Option<String>,
    /// With --files: the upgraded ProductVersion (default unchanged).
    #[arg(long)]
    pub product_version: Option<String>,
    /// Creation time recorded (Unix seconds, or `now`; default none, for reproducible output).
    #[arg(long, value_name = "SECONDS|now")]
    pub created: Option<String>,
    /// Send changed files as binary deltas (PA19) against the target's copy, applied by
    /// the PatchFiles action: `always` (what `--delta` alone means) or `auto` (each file
    /// as the smaller of its delta and itself). Default: whole files.
    #[arg(long, value_enum, value_name = "WHEN", num_args = 0..=1, default_missing_value = "always")]
    pub delta: Option<DeltaWhen>,
    /// Delta encoder effort.
    #[arg(long, value_enum, default_value = "normal", requires = "delta")]
    pub delta_effort: DeltaEffort,
    /// PE normalisation and rift tables for 32-bit images: deltas that also fit rebased or
    /// bound copies, read by Windows but not by Wine's mspatcha.
    #[arg(long, requires = "delta")]
    pub delta_pe_normalise: bool,
    #[command(flatten)]
    pub flags: TransformFlags,
    #[command(flatten)]
    pub out: Output,
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
        #[command(flatten)]
        out: Output,
    },
    /// An installer package that installs every file under DIR.
    Msi {
        /// Folder.
        dir: PathBuf,
        /// Output package.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// A package description (YAML: product, version, codes, folder mapping).
        #[arg(long, value_name = "FILE.yaml")]
        description: Option<PathBuf>,
        /// ProductName (overrides the description).
        #[arg(long)]
        product_name: Option<String>,
        /// ProductVersion (overrides the description).
        #[arg(long)]
        version: Option<String>,
        /// Manufacturer (overrides the description).
        #[arg(long)]
        manufacturer: Option<String>,
        /// Where the folder installs: a standard folder property and names below it
        /// (default ProgramFilesFolder/<product name>; overrides the description).
        #[arg(long, value_name = "LOCATION")]
        install_dir: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// A transform (.mst) that turns OLD's database into NEW's.
    Mst {
        /// The base package.
        old: PathBuf,
        /// The package the transform leads to.
        new: PathBuf,
        /// The transform to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        #[command(flatten)]
        flags: TransformFlags,
        #[command(flatten)]
        out: Output,
    },
    /// A patch (.msp) that brings each target to its upgraded version.
    Msp(Box<MspArgs>),
}

/// Parts of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffPart {
    /// Summary information.
    Summary,
    /// Tables, row by row.
    Tables,
    /// Root streams other than binary cells.
    Streams,
    /// Files, by File key.
    Files,
}

/// `diff` options.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The old package.
    pub old: PathBuf,
    /// The new package, or a transform or patch to apply to OLD.
    pub new: PathBuf,
    /// Apply this patch to NEW first (repeatable).
    #[arg(long = "patch")]
    pub patches: Vec<PathBuf>,
    /// Apply this transform to NEW first (repeatable).
    #[arg(long = "transform")]
    pub transforms: Vec<PathBuf>,
    /// Compare only these parts (comma list; default all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<DiffPart>,
}
