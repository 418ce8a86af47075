//! What `build msp` is asked for and what it reports.

use crate::delta::Effort;
use crate::error::Warning;
use std::path::PathBuf;

/// Which changed files travel as binary deltas (PA19) against the target's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeltaMode {
    /// Every carried file travels whole (the default).
    #[default]
    Off,
    /// Every changed file the target has at the same place travels as a delta.
    Always,
    /// Each such file travels as whichever is smaller in the patch: its delta (with the
    /// header the Patch row carries) or the whole file, both as the cabinet compresses them.
    Auto,
}

/// How the deltas are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaOptions {
    /// Encoder effort.
    pub effort: Effort,
    /// PE normalisation and rift tables for 32-bit images: a delta that also applies to a
    /// copy that setup tools rebased or bound, and is often smaller. Windows' applier
    /// reads such deltas, Wine's mspatcha (8.x, 9.x) does not, so the default is off: the
    /// encoder's Wine-compatible mode (see ARCHITECTURE.md for what it costs).
    pub pe_normalise: bool,
}

impl Default for DeltaOptions {
    fn default() -> Self {
        DeltaOptions { effort: Effort::Normal, pe_normalise: false }
    }
}

/// Where the upgraded version of the targets comes from.
#[derive(Debug, Clone)]
pub enum Upgraded {
    /// Upgraded installer packages: one for every target, or one per target (in the
    /// order of the targets).
    Packages(Vec<PathBuf>),
    /// A folder of new versions of files the targets have: each file matches the File
    /// row whose administrative-image path (as `extract` lays the target out) is its
    /// path in the folder, or else the one File row whose long name is its name. The
    /// upgraded database is the target's with those File rows updated (size, version
    /// and language from the file's version resource, MsiFileHash for unversioned files).
    Files(PathBuf),
}

/// The patch's own description (the MsiPatchMetadata table and summary information).
#[derive(Debug, Clone, Default)]
pub struct PatchMetadata {
    /// DisplayName (also the summary Subject); default "`ProductName` `ProductVersion` hotfix".
    pub display_name: Option<String>,
    /// Description (also the summary Comments); default the display name.
    pub description: Option<String>,
    /// Classification: Hotfix (the default), Security Rollup, Critical Update, Update,
    /// Service Pack, Update Rollup.
    pub classification: Option<String>,
    /// ManufacturerName (also the summary Author); default the first target's
    /// Manufacturer property.
    pub manufacturer: Option<String>,
    /// AllowRemoval: whether the patch may be uninstalled on its own.
    pub allow_removal: bool,
    /// MoreInfoURL.
    pub more_info_url: Option<String>,
    /// TargetProductName; default the first target's ProductName.
    pub target_product_name: Option<String>,
    /// More rows: (company or `None` for a standard property, property, value).
    pub extra: Vec<(Option<String>, String, String)>,
}

/// Everything `build msp` needs.
#[derive(Debug, Clone)]
pub struct PatchRequest {
    /// The packages the patch applies to (each gets a transform pair and a cabinet).
    pub targets: Vec<PathBuf>,
    /// Their upgraded version.
    pub upgraded: Upgraded,
    /// The patch code; default a GUID derived from the targets', the upgraded packages'
    /// and the changed files' identities (the same inputs give the same patch).
    pub patch_code: Option<String>,
    /// Codes of patches this one makes obsolete (after the patch code in Revision Number).
    pub obsoletes: Vec<String>,
    /// MsiPatchMetadata.
    pub metadata: PatchMetadata,
    /// MsiPatchSequence PatchFamily; default the first target's ProductName made an
    /// identifier.
    pub family: Option<String>,
    /// MsiPatchSequence Sequence (a version); default the upgraded ProductVersion.
    pub sequence: Option<String>,
    /// MsiPatchSequence Attributes 1 (msidbPatchSequenceSupersedeEarlier): the patch
    /// supersedes earlier patches of its family.
    pub supersede: bool,
    /// Transform validation flags (high word of Character Count); default product
    /// code, upgrade code, and target version equal to three parts (0x0922).
    pub validation: Option<u16>,
    /// Error conditions the transforms suppress (low word); default the five row and
    /// table conditions (0x1F).
    pub suppress: Option<u16>,
    /// Base name of the transform pairs (`NAME` and `#NAME`, `NAME.1`… with several
    /// targets); default `T1ToU1`, `T2ToU2`…
    pub transform_name: Option<String>,
    /// Names of the patch cabinet streams, one per target in their order; default
    /// `<transform>.cab`.
    pub cabinets: Vec<String>,
    /// The first File.Sequence the patch uses; default one more than any sequence every
    /// target uses (File, Media, Patch).
    pub sequence_start: Option<i32>,
    /// The Media DiskId of the first target's patch media (the next targets take the
    /// next ones); default one more than any DiskId of the targets.
    pub disk_id: Option<i32>,
    /// A short name for the patch: `NAME.PatchCode` and `NAME.AllowRemoval` properties
    /// are added to each target, as WiX does for its ClientPatchId.
    pub client_patch_id: Option<String>,
    /// With [`Upgraded::Files`]: the ProductVersion of the upgraded database (default:
    /// unchanged, a small update).
    pub product_version: Option<String>,
    /// Creation time (Unix seconds) for the summary and CreationTimeUTC; default none
    /// (no time is written, so the same inputs give the same bytes).
    pub created: Option<i64>,
    /// Which changed files travel as binary deltas; default none ([`DeltaMode::Off`]).
    pub deltas: DeltaMode,
    /// How deltas are encoded.
    pub delta_options: DeltaOptions,
}

impl PatchRequest {
    /// A request with every option at its default.
    pub fn new(targets: Vec<PathBuf>, upgraded: Upgraded) -> PatchRequest {
        PatchRequest {
            targets,
            upgraded,
            patch_code: None,
            obsoletes: Vec::new(),
            metadata: PatchMetadata::default(),
            family: None,
            sequence: None,
            supersede: false,
            validation: None,
            suppress: None,
            transform_name: None,
            cabinets: Vec::new(),
            sequence_start: None,
            disk_id: None,
            client_patch_id: None,
            product_version: None,
            created: None,
            deltas: DeltaMode::Off,
            delta_options: DeltaOptions::default(),
        }
    }
}

/// A file the patch carries.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PatchedFile {
    /// File key (also its name in the patch cabinet).
    pub key: String,
    /// `changed` (the target has the file with other bytes) or `added`.
    pub status: &'static str,
    /// How it travels: `whole` (the new file in the patch cabinet) or `delta` (a PA19
    /// delta against the target's copy, applied by the PatchFiles action).
    pub payload: &'static str,
    /// New size.
    pub size: u64,
    /// Bytes of its cabinet entry (the file, or the delta), before compression.
    pub stored: u64,
    /// Size of the delta made for it (whether or not it was used); absent when none was
    /// made.
    pub delta_size: Option<u64>,
    /// Why a file with a copy in the target travels whole although deltas were asked for.
    pub note: Option<String>,
    /// New version (versioned files).
    pub version: Option<String>,
    /// Its File.Sequence in the patch.
    pub sequence: i32,
    /// SHA-256 of the new bytes.
    pub sha256: String,
}

/// What the patch does to one target.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TargetReport {
    /// The target package.
    pub target: String,
    /// Where its upgraded version came from.
    pub upgraded: String,
    /// ProductCode.
    pub product_code: String,
    /// ProductVersion before and after.
    pub from_version: String,
    /// ProductVersion after.
    pub to_version: String,
    /// The transform pair (`X`; its partner is `#X`).
    pub transform: String,
    /// The patch cabinet stream.
    pub cabinet: String,
    /// The patch media's DiskId.
    pub disk_id: i32,
    /// The sequence range of the cabinet's files (`last` < `first` when it is empty).
    pub first_sequence: i32,
    /// Last sequence (the Media row's LastSequence).
    pub last_sequence: i32,
    /// Tables the first transform changes, with the number of rows it inserts, updates
    /// and deletes in each.
    pub tables: Vec<(String, usize, usize, usize)>,
    /// Files carried.
    pub files: Vec<PatchedFile>,
}

/// What `build msp` made.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PatchReport {
    /// The patch written.
    pub output: String,
    /// Its size in bytes.
    pub size: u64,
    /// The patch code.
    pub patch_code: String,
    /// Patches it makes obsolete.
    pub obsoletes: Vec<String>,
    /// One entry per target.
    pub targets: Vec<TargetReport>,
    /// What did not stop the build (rows a patch should not change, files removed).
    pub warnings: Vec<Warning>,
}

/// Progress of a long build: the phase and the bytes done of the bytes it will take.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// `hashing`, `compressing` or `writing`.
    pub phase: &'a str,
    /// Bytes done in this phase.
    pub done: u64,
    /// Bytes this phase will take (0 when not known).
    pub total: u64,
}
