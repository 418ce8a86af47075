//! The arguments of `delta` (clap and std only, like `args.rs`, which includes this
//! file).

use super::Output;
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

/// How hard the delta encoder searches.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeltaEffort {
    /// Fastest.
    Fast,
    /// The default.
    Normal,
    /// A second parse priced by each block's final codes (about 0.5% smaller).
    Best,
}

/// E8 (x86 call) translation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeltaE8 {
    /// Tried both ways on executables, the smaller kept.
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// `delta` subcommands.
#[derive(Subcommand, Debug)]
pub enum DeltaCommand {
    /// Make a PA19 patch that turns each old file into the new one.
    Create {
        /// An old file; repeatable (the patch applies to each). None: a patch made
        /// without an old file.
        #[arg(long)]
        old: Vec<PathBuf>,
        /// The new file.
        #[arg(long)]
        new: PathBuf,
        /// The patch to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Encoder effort.
        #[arg(long, value_enum, default_value = "normal")]
        effort: DeltaEffort,
        /// E8 translation.
        #[arg(long, value_enum, default_value = "auto")]
        e8: DeltaE8,
        /// No rift (RVA map) tables.
        #[arg(long)]
        no_rift: bool,
        /// No PE normalisation.
        #[arg(long)]
        no_pe_normalise: bool,
        /// Only what Wine's applier (mspatcha) reads: no rebase fields, no rift tables.
        #[arg(long)]
        wine_compatible: bool,
        #[command(flatten)]
        out: Output,
    },
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
        #[command(flatten)]
        out: Output,
    },
}
