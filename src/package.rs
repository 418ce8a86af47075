//! Opening an input: what kind of file it is (cabinet, installer package, patch,
//! transform, merge module, executable) and its parsed form.

use crate::cab::{CabSet, CabSource, DirResolver, FileSource, MemSource, NoResolver};
use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, IoResultExt, Result, Warning, WarningKind};
use crate::msi::{Database, PackageKind};
use crate::msp::{Patch, Transform};
use crate::random_access::{read_full_at, RandomAccess, SeekReader, Shared};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum InputKind {
    /// A cabinet (`MSCF`).
    Cab,
    /// An installer database.
    Msi,
    /// A merge module.
    Msm,
    /// A patch.
    Msp,
    /// A transform.
    Mst,
    /// A compound file that is none of the above.
    Cfb,
    /// A Portable Executable (EXE, DLL, SYS).
    Pe,
    /// Anything else.
    Other,
}

pub use crate::random_access::open_file;

const CFB_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The kind of an input by its first bytes (and, for a compound file, its root CLSID
/// and tables: reading those opens the file).
pub fn sniff(path: &Path) -> Result<InputKind> {
    let f = open_file(path)?;
    sniff_source(path, &f)
}

pub(crate) fn sniff_source(label: &Path, src: &dyn RandomAccess) -> Result<InputKind> {
    let mut b = [0u8; 8];
    let n = read_full_at(src, &mut b, 0).io_ctx("reading").at_path(label)?;
    Ok(if n >= 4 && &b[..4] == b"MSCF" {
        InputKind::Cab
    } else if n == 8 && b == CFB_SIGNATURE {
        InputKind::Cfb
    } else if n >= 2 && &b[..2] == b"MZ" {
        InputKind::Pe
    } else {
        InputKind::Other
    })
}

/// A cabinet input: the cabinet (or the one found inside a self-extractor) and the rest
/// of its set.
pub struct Cabinet {
    /// The file (or the name given for bytes).
    pub path: PathBuf,
    /// The set, from its first cabinet.
    pub set: CabSet,
    /// What opening it noticed.
    pub warnings: Vec<Warning>,
}

/// An executable's facts.
pub struct Executable {
    /// The file.
    pub path: PathBuf,
    /// Machine and version resource, or why they could not be read.
    pub info: Result<crate::pe::PeInfo>,
}

/// An opened input.
#[non_exhaustive]
pub enum Input {
    /// A cabinet with its set.
    Cab(Cabinet),
    /// An installer database.
    Msi(Database),
    /// A merge module.
    Msm(Database),
    /// A patch.
    Msp(Patch),
    /// A transform.
    Mst(Transform),
    /// A compound file of another kind (its database view, as far as it reads).
    Cfb(Database),
    /// An executable.
    Pe(Executable),
    /// Anything else.
    Other(PathBuf),
}

impl Input {
    /// What the input is.
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Cab(_) => InputKind::Cab,
            Input::Msi(_) => InputKind::Msi,
            Input::Msm(_) => InputKind::Msm,
            Input::Msp(_) => InputKind::Msp,
            Input::Mst(_) => InputKind::Mst,
            Input::Cfb(_) => InputKind::Cfb,
            Input::Pe(_) => InputKind::Pe,
            Input::Other(_) => InputKind::Other,
        }
    }

    /// The database, for an installer package, merge module or patch.
    pub fn database(&self) -> Option<&Database> {
        match self {
            Input::Msi(d) | Input::Msm(d) | Input::Cfb(d) => Some(d),
            Input::Msp(p) => Some(&p.db),
            _ => None,
        }
    }
}

/// Open and parse the file at `path`.
///
/// ```no_run
/// # fn main() -> hotfixkit::Result<()> {
/// match hotfixkit::open("product.msi")? {
///     hotfixkit::Input::Msi(db) => println!("{} tables", db.tables.len()),
///     other => println!("{:?}", other.kind()),
/// }
/// # Ok(())
/// # }
/// ```
pub fn open(path: impl AsRef<Path>) -> Result<Input> {
    let path = path.as_ref();
    let f = open_file(path)?;
    let dir = path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }).map(Path::to_path_buf);
    open_source(path, dir, Arc::new(f))
}

/// Open an input held in memory; `name` names it in messages. Cabinets of a set and
/// external cabinets are not looked for (there is no folder to look in).
pub fn open_bytes(name: impl AsRef<Path>, bytes: Vec<u8>) -> Result<Input> {
    open_source(name.as_ref(), None, Arc::new(bytes))
}

/// Open any `Read + Seek` as an input; `name` names it in messages.
pub fn open_reader<R: std::io::Read + std::io::Seek + Send + 'static>(
    name: impl AsRef<Path>,
    reader: R,
) -> Result<Input> {
    open_source(name.as_ref(), None, Arc::new(SeekReader::new(reader)))
}

fn open_source(label: &Path, dir: Option<PathBuf>, src: Shared) -> Result<Input> {
    match sniff_source(label, &*src)? {
        InputKind::Cab => Ok(Input::Cab(open_cabinet_source(label, dir, src)?)),
        InputKind::Cfb => {
            let db = Database::from_source(label, dir, src, None)?;
            Ok(match db.kind {
                PackageKind::Msi => Input::Msi(db),
                PackageKind::Msm => Input::Msm(db),
                PackageKind::Msp => Input::Msp(Patch::from_database(db)?),
                PackageKind::Mst => Input::Mst(Transform::read_from(db.compound.clone(), label, "")?),
                PackageKind::Other => Input::Cfb(db),
            })
        }
        InputKind::Pe => {
            let len = src.len().io_ctx("reading").at_path(label)?;
            let info = if len <= crate::pe::MAX_PE_SIZE {
                let mut data = vec![0u8; len as usize];
                read_full_at(&*src, &mut data, 0).io_ctx("reading").at_path(label)?;
                crate::pe::pe_info(&data).at_path(label)
            } else {
                Err(Error::new(ErrorKind::Limit, "executable larger than 512 MiB; not read").with_path(label))
            };
            Ok(Input::Pe(Executable { path: label.to_path_buf(), info }))
        }
        _ => Ok(Input::Other(label.to_path_buf())),
    }
}

/// Open a cabinet file and the rest of its set beside it. A file that is not a cabinet at
/// byte 0 is searched for one inside (a self-extractor), with a warning.
pub fn open_cabinet(path: &Path) -> Result<Cabinet> {
    let f = open_file(path)?;
    let dir = path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }).map(Path::to_path_buf);
    open_cabinet_source(path, dir, Arc::new(f))
}

pub(crate) fn open_cabinet_source(label: &Path, dir: Option<PathBuf>, src: Shared) -> Result<Cabinet> {
    let make = |base: u64| -> Arc<dyn CabSource> {
        match &dir {
            Some(_) => Arc::new(FileSource::at_offset(label, base)),
            None => Arc::new(MemSource::shared(label.display().to_string(), src.clone(), base)),
        }
    };
    let open_chain = |first: Arc<dyn CabSource>| match &dir {
        Some(d) => CabSet::open_chain(first, &DirResolver::new(d)),
        None => CabSet::open_chain(first, &NoResolver),
    };
    let mut warnings = Vec::new();
    let set = match open_chain(make(0)) {
        Ok(s) => s,
        Err(e) if e.kind() != ErrorKind::Io => {
            // Not a cabinet at byte 0: look for one inside (as cabextract does).
            match crate::cab::search_cabinet_in(&src, 1 << 30).at_path(label)? {
                Some(off) => {
                    warnings.push(Warning::new(
                        WarningKind::EmbeddedCabinet,
                        format!(
                            "no valid cabinet at offset 0 ({}); using the cabinet found at offset {off}",
                            e.message()
                        ),
                    ));
                    open_chain(make(off)).at_path(label)?
                }
                None => return Err(e.with_path(label)),
            }
        }
        Err(e) => return Err(e.with_path(label)),
    };
    warnings.extend(set.warnings.iter().cloned());
    Ok(Cabinet { path: label.to_path_buf(), set, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pipe.msi");
        rustix::fs::mknodat(rustix::fs::CWD, &p, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
            .unwrap();
        let t = std::time::Instant::now();
        let e = open_file(&p).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(open_file(dir.path()).unwrap_err().to_string().contains("folder"));
    }
}
