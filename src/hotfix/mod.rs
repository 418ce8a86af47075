//! Hotfix workflows: finding one tool inside packages (CCMCertFix.exe), and staging a
//! hotfix for distribution points from a data-driven layout.

pub mod ccmcertfix;
pub mod find;
pub mod stage;
