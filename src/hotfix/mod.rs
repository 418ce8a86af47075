//! Hotfix workflows: finding one tool inside packages (CCMCertFix.exe), and staging a
//! hotfix for distribution points from a data-driven layout.

mod ccmcertfix;
mod find;
mod stage;

pub use ccmcertfix::{builtin_manifests, extract_ccmcertfix, instructions, CertFixReport};
pub use find::{find_file, Found, MAX_DEPTH};
pub use stage::{
    check_package_id, glob, patch_line, stage, write_zip_entries, Layout, Program, Rule, StageOptions, StagePlan,
    StagedFile, ZipData, ZipEntry,
};
