//! Extraction: build a plan (what goes where, from which source), then execute it.
//! `--dry-run --json` prints the plan; the executor is the only part that writes.

mod admin;
mod dirh;
mod exec;
mod patched;
pub mod path;
mod plan;
pub mod write;

pub use admin::{write_admin_package, write_admin_package_with, AdminChanges};
pub(crate) use exec::extract_cabinet_groups;
pub use exec::{claim_all, execute, execute_claimed, Claimed, ExecOptions, Outcome, WrittenEntry};
pub use patched::*;
pub use plan::*;
