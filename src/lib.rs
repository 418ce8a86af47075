//! hotfixkit: read MSI, MSP, MST and CAB files and produce what `msiexec /a` produces,
//! on any operating system.
//!
//! The library never prints and never exits; the `hotfixkit` binary is a thin layer over
//! it. Readers return [`Error`]s that name the file and the place in it.
#![deny(missing_docs)]

pub mod build;
pub mod cab;
pub mod cli;
pub mod deadline;
pub mod delta;
pub mod error;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod hotfix;
pub mod info;
pub mod manifest;
pub mod mem;
pub mod msi;
pub mod msp;
mod panic_guard;
pub mod pe;
pub mod sign;
pub mod tables;

pub use error::{Error, ErrorKind, Result};

/// What a file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FileKind {
    /// A cabinet.
    Cab,
    /// A compound file (MSI, MSP, MST or other; the CLSID says which).
    Cfb,
    /// A Portable Executable.
    Pe,
    /// Anything else.
    Other,
}

/// Sniff a file's kind from its first bytes.
pub fn sniff(path: &std::path::Path) -> Result<FileKind> {
    use error::IoResultExt;
    use std::io::Read;
    let mut f = std::fs::File::open(path).io_ctx("opening").map_err(|e| e.with_path(path))?;
    let mut b = [0u8; 8];
    let n = f.read(&mut b).io_ctx("reading").map_err(|e| e.with_path(path))?;
    Ok(if n >= 4 && &b[..4] == b"MSCF" {
        FileKind::Cab
    } else if n == 8 && b == [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] {
        FileKind::Cfb
    } else if n >= 2 && &b[..2] == b"MZ" {
        FileKind::Pe
    } else {
        FileKind::Other
    })
}
