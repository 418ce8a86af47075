//! Windows Installer databases (MSI/MSP/MST): compound-file access, summary information,
//! tables (through the `msi` crate, contained), directory resolution.

pub mod cfbio;
pub mod compound;
mod db;
pub mod directory;
pub mod streams;
pub mod strings;
pub mod summary;
pub mod tableread;
pub mod write;

pub use db::*;
