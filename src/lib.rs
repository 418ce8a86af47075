//! hotfixkit reads Windows Installer packages (MSI, MSP, MST, MSM) and cabinets (CAB) on
//! any operating system, builds the administrative image that `msiexec /a` builds,
//! applies patches and transforms, verifies payloads against their documented manifests,
//! and stages hotfixes for distribution points.
//!
//! The library never prints, never exits and keeps no process-wide state: time limits,
//! durability and resource limits are options of each call. Errors name the file and,
//! as [`Location`]s, the place in it.
//!
//! # The main steps
//!
//! ```no_run
//! # fn main() -> hotfixkit::Result<()> {
//! // What is this file?
//! let input = hotfixkit::open("hotfix.msi")?;
//! println!("{:?}", input.kind());
//!
//! // Plan an extraction (nothing is written), look at it, read one file into memory.
//! let plan = hotfixkit::plan(&hotfixkit::ExtractRequest::new("hotfix.msi"))?;
//! let first = hotfixkit::read_entry(&plan, 0)?;
//!
//! // Write the administrative image.
//! let outcome = hotfixkit::execute(&plan, "image".as_ref(), &Default::default())?;
//!
//! // Verify it against a manifest.
//! let manifest = hotfixkit::manifest::Manifest::load("manifests/kb977203-sp2.yaml".as_ref())?;
//! let report = hotfixkit::manifest::verify_path("image".as_ref(), &manifest, &Default::default())?;
//! # let _ = (first, outcome, report);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod build;
pub mod cab;
mod contain;
mod dates;
mod deadline;
pub mod delta;
pub mod diff;
mod error;
mod extract;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
mod heap;
pub mod hotfix;
pub mod info;
pub mod manifest;
pub mod msi;
pub mod msp;
mod output;
mod package;
pub mod pe;
mod random_access;
pub mod sign;
pub mod tables;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;

pub use contain::panic_is_contained;
pub use deadline::Deadline;
pub use error::{Error, ErrorKind, ErrorReport, Location, Result, Warning, WarningKind};
pub use extract::{
    execute, plan, read_entry, write_streams, ExecuteOptions, ExtractReport, ExtractRequest, Limits, Outcome, Plan,
    PlanEntry, ReportEntry, ReportSummary, Source, StreamsOutcome, StreamsReport, WrittenEntry, WrittenFiles,
};
pub use output::{refuse_inputs, write_file, write_file_with, WriteOptions, Written};
pub use package::{open, open_bytes, open_cabinet, open_reader, sniff, Cabinet, Executable, Input, InputKind};
pub use random_access::{open_file, RandomAccess, SeekReader};
