//! The target directory: every path resolved under it one component at a time without
//! following links, data written to a temporary file in the destination folder, hashed
//! while written, timestamped, then renamed into place.

use super::dir_handle::{Dir, Kind};
use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, IoResultExt, Result};
use sha2::{Digest, Sha256};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// At most this many directory handles stay open; deeper or further directories are
/// resolved again from the nearest open ancestor.
const MAX_OPEN_DIRS: usize = 256;

/// How files are written.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Replace files that existed before this run (two entries of one run mapping to one
    /// path are always an error).
    pub overwrite: bool,
    /// Flush each file to stable storage before it gets its final name (skipped on
    /// memory-backed file systems, where it makes nothing durable).
    pub fsync: bool,
    /// Writes fail once this has passed.
    pub deadline: crate::deadline::Deadline,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { overwrite: false, fsync: true, deadline: crate::deadline::Deadline::NONE }
    }
}

/// A directory of the target this run has resolved.
struct DirState {
    /// This run created it (empty), so none of its names can exist already.
    created: bool,
    /// Its open handle, while fewer than [`MAX_OPEN_DIRS`] are kept.
    handle: Option<Arc<Dir>>,
}

/// The relative paths claimed in one run. A path is kept once, as first claimed, under a
/// keyed hash of its lower-cased form (a string per path instead of two); paths whose
/// hashes meet without being equal go to a short list of their own.
struct Claims {
    hasher: std::hash::RandomState,
    by_hash: HashMap<u64, Box<str>>,
    overflow: Vec<(String, Box<str>)>,
}

impl Claims {
    fn new() -> Claims {
        Claims { hasher: std::hash::RandomState::new(), by_hash: HashMap::new(), overflow: Vec::new() }
    }

    /// Claim `rel`; on a collision, the path that holds the name.
    fn claim(&mut self, rel: &str) -> std::result::Result<(), String> {
        use std::hash::BuildHasher;
        let key = rel.to_lowercase();
        let h = self.hasher.hash_one(&key);
        match self.by_hash.get(&h) {
            None => {
                self.by_hash.insert(h, rel.into());
                Ok(())
            }
            Some(prev) if prev.to_lowercase() == key => Err(prev.to_string()),
            Some(_) => {
                if let Some((_, prev)) = self.overflow.iter().find(|(k, _)| *k == key) {
                    return Err(prev.to_string());
                }
                self.overflow.push((key, rel.into()));
                Ok(())
            }
        }
    }
}

/// A target directory that files are written under, never outside.
pub struct Target {
    /// Paths claimed this run, compared case-insensitively.
    claimed: Mutex<Claims>,
    overwrite: bool,
    fsync: bool,
    deadline: crate::deadline::Deadline,
    counter: AtomicU64,
    /// Directories (relative components joined by `/`) resolved this run.
    dirs: Mutex<HashMap<String, DirState>>,
    open_handles: AtomicU64,
    pid: u32,
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Path relative to the target, `/`-separated.
    pub path: String,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

fn link_error(path: &Path) -> Error {
    Error::new(ErrorKind::UnsafePath, format!("{} is a symbolic link; not followed", path.display()))
}

impl Target {
    /// Use `root` (created if missing). The root itself may be a link (the caller chose
    /// it); nothing under it is followed.
    pub fn new(root: &Path, opts: WriteOptions) -> Result<Target> {
        fs::create_dir_all(root).io_ctx("creating target directory").at_path(root)?;
        if !fs::metadata(root).io_ctx("reading target directory").at_path(root)?.is_dir() {
            return Err(Error::new(ErrorKind::UnsafePath, "target is not a directory").with_path(root));
        }
        let handle = Dir::open_root(root).io_ctx("opening target directory").at_path(root)?;
        let fresh = fs::read_dir(root).map(|mut d| d.next().is_none()).unwrap_or(false);
        // fsync on a memory-backed target only costs a system call per file.
        let durable = handle.durable();
        let mut dirs = HashMap::new();
        dirs.insert(String::new(), DirState { created: fresh, handle: Some(Arc::new(handle)) });
        Ok(Target {
            claimed: Mutex::new(Claims::new()),
            overwrite: opts.overwrite,
            fsync: opts.fsync && durable,
            deadline: opts.deadline,
            counter: AtomicU64::new(0),
            dirs: Mutex::new(dirs),
            open_handles: AtomicU64::new(1),
            pid: std::process::id(),
        })
    }

    /// Reserve a relative path for this run; a second claim of the same path (compared
    /// case-insensitively, as Windows would) is an error.
    pub fn claim<S: Borrow<str>>(&self, components: &[S]) -> Result<()> {
        let rel = components.join("/");
        let mut m = self.claimed.lock().map_err(|_| Error::format("internal lock poisoned"))?;
        if let Err(prev) = m.claim(&rel) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("{rel:?} collides with {prev:?} already written by this extraction"),
            ));
        }
        Ok(())
    }

    fn lock_dirs(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, DirState>>> {
        self.dirs.lock().map_err(|_| Error::format("internal lock poisoned"))
    }

    /// Open (creating what is missing) the directory `components` under the root, one
    /// component at a time relative to the parent's handle, refusing links.
    pub fn make_dirs<S: Borrow<str>>(&self, components: &[S]) -> Result<Arc<Dir>> {
        self.open_dirs(components).map(|(dir, _)| dir)
    }

    /// [`Target::make_dirs`], and whether the directory was created empty by this run
    /// (or is the target that was empty when the run began): a file claimed in it cannot
    /// already exist.
    fn open_dirs<S: Borrow<str>>(&self, components: &[S]) -> Result<(Arc<Dir>, bool)> {
        // The nearest resolved ancestor with an open handle.
        let (mut dir, mut depth, mut fresh) = {
            let d = self.lock_dirs()?;
            let mut found = None;
            for n in (0..=components.len()).rev() {
                if let Some(s) = d.get(&components[..n].join("/")) {
                    if let Some(h) = &s.handle {
                        found = Some((h.clone(), n, s.created));
                        break;
                    }
                }
            }
            found.ok_or_else(|| Error::format("internal: target root handle missing"))?
        };
        while depth < components.len() {
            let c: &str = components[depth].borrow();
            super::names::check_component(c)?;
            let (child, created) = match dir.child_dir(c) {
                Ok(x) => x,
                Err(e) => {
                    let p = dir.path().join(c);
                    return Err(match dir.kind(c) {
                        Ok(Some(Kind::Link)) => link_error(&p),
                        Ok(Some(Kind::Other)) => {
                            Error::new(ErrorKind::Exists, format!("{} exists and is not a directory", p.display()))
                        }
                        _ => Error::io(&e, format_args!("opening {}", p.display())),
                    });
                }
            };
            depth += 1;
            let child = Arc::new(child);
            let mut d = self.lock_dirs()?;
            // Counted under the same lock that stores the handles, so the bound is exact.
            let keep = self.open_handles.load(Ordering::Relaxed) < MAX_OPEN_DIRS as u64;
            let st = d.entry(components[..depth].join("/")).or_insert(DirState { created, handle: None });
            st.created |= created;
            fresh = st.created;
            if st.handle.is_none() && keep {
                st.handle = Some(child.clone());
                self.open_handles.fetch_add(1, Ordering::Relaxed);
            }
            dir = child;
        }
        Ok((dir, fresh))
    }

    /// Start writing the file at relative `components`.
    pub fn create<S: Borrow<str>>(&self, components: &[S], mtime: Option<i64>) -> Result<AtomicFile> {
        let (name, dirs) =
            components.split_last().ok_or_else(|| Error::new(ErrorKind::UnsafePath, "empty output path"))?;
        let name: &str = name.borrow();
        super::names::check_component(name)?;
        self.create_in(dirs, name, mtime)
    }

    /// Start writing the file `name`, a name the user chose, directly in the target: it
    /// need only be one component of this system's paths (not a Windows name).
    pub fn create_named(&self, name: &str, mtime: Option<i64>) -> Result<AtomicFile> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
            return Err(Error::new(ErrorKind::UnsafePath, format!("{name:?} is not a file name")));
        }
        self.create_in::<&str>(&[], name, mtime)
    }

    fn create_in<S: Borrow<str>>(&self, dirs: &[S], name: &str, mtime: Option<i64>) -> Result<AtomicFile> {
        let (dir, fresh) = self.open_dirs(dirs)?;
        let final_path = dir.path().join(name);
        if !fresh {
            match dir.kind(name).io_ctx(format_args!("reading {}", final_path.display()))? {
                Some(Kind::Dir) => {
                    return Err(Error::new(ErrorKind::Exists, format!("{} is a directory", final_path.display())))
                }
                Some(_) if !self.overwrite => {
                    return Err(Error::new(ErrorKind::Exists, format!("{} already exists", final_path.display())))
                }
                _ => {}
            }
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = format!(".hotfixkit-{}-{n}.part", self.pid);
        let file = dir.create_new(&tmp).io_ctx(format_args!("creating {}", dir.path().join(&tmp).display()))?;
        Ok(AtomicFile {
            file: Some(std::io::BufWriter::with_capacity(1 << 16, file)),
            dir,
            tmp,
            name: name.to_string(),
            final_path,
            rel: if dirs.is_empty() { name.to_string() } else { format!("{}/{name}", dirs.join("/")) },
            hasher: Sha256::new(),
            size: 0,
            mtime,
            fsync: self.fsync,
            deadline: self.deadline,
            unhashed: false,
        })
    }
}

/// A file being written: it appears under its final name only when complete.
pub struct AtomicFile {
    file: Option<std::io::BufWriter<File>>,
    dir: Arc<Dir>,
    tmp: String,
    name: String,
    final_path: PathBuf,
    rel: String,
    hasher: Sha256,
    size: u64,
    mtime: Option<i64>,
    fsync: bool,
    deadline: crate::deadline::Deadline,
    unhashed: bool,
}

impl AtomicFile {
    fn tmp_path(&self) -> PathBuf {
        self.dir.path().join(&self.tmp)
    }

    /// Append bytes.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.deadline.check()?;
        let f = self.file.as_mut().ok_or_else(|| Error::format("write after finish"))?;
        if let Err(e) = f.write_all(data) {
            return Err(Error::io(&e, format_args!("writing {}", self.tmp_path().display())));
        }
        self.hasher.update(data);
        self.size += data.len() as u64;
        Ok(())
    }

    /// The file itself, for writers that need to seek (a compound file): what was
    /// written through [`AtomicFile::write`] is flushed first, and bytes written through
    /// the handle are not hashed (the [`Written`] hash is then empty).
    pub fn file_mut(&mut self) -> Result<&mut File> {
        let tmp = self.tmp_path();
        let w = self.file.as_mut().ok_or_else(|| Error::format("write after finish"))?;
        w.flush().io_ctx(format_args!("writing {}", tmp.display()))?;
        self.unhashed = true;
        Ok(w.get_mut())
    }

    /// Flush, set the timestamp (through the handle), sync, and rename into place.
    pub fn finish(&mut self) -> Result<Written> {
        let w = self.file.take().ok_or_else(|| Error::format("finish called twice"))?;
        let result = (|| {
            let f = w
                .into_inner()
                .map_err(|e| Error::io(e.error(), format_args!("writing {}", self.tmp_path().display())))?;
            if let Some(t) = self.mtime {
                let ft = filetime::FileTime::from_unix_time(t, 0);
                filetime::set_file_handle_times(&f, Some(ft), Some(ft))
                    .io_ctx(format_args!("setting time of {}", self.tmp_path().display()))?;
            }
            if self.unhashed {
                self.size = f.metadata().io_ctx(format_args!("reading {}", self.tmp_path().display()))?.len();
            }
            if self.fsync {
                f.sync_all().io_ctx(format_args!("syncing {}", self.tmp_path().display()))?;
            }
            drop(f);
            self.dir.rename(&self.tmp, &self.name).io_ctx(format_args!("renaming into {}", self.final_path.display()))
        })();
        if let Err(e) = result {
            let _ = self.dir.remove(&self.tmp);
            return Err(e);
        }
        let digest = std::mem::take(&mut self.hasher).finalize();
        let sha256 = if self.unhashed { String::new() } else { hex(&digest) };
        Ok(Written { path: self.rel.clone(), size: self.size, sha256 })
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = self.dir.remove(&self.tmp);
        }
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod claim_tests {
    use super::Claims;
    use std::hash::BuildHasher;

    #[test]
    fn claims_compare_without_case_and_survive_hash_meetings() {
        let mut c = Claims::new();
        assert!(c.claim("Dir/File.txt").is_ok());
        assert_eq!(c.claim("dir/FILE.TXT"), Err("Dir/File.txt".to_string()));
        assert!(c.claim("Dir/Other.txt").is_ok());
        // Another path already under the hash of "a/b.txt": the new path is its own claim,
        // kept apart, and still collides with itself in any case.
        let mut c = Claims::new();
        let h = c.hasher.hash_one("a/b.txt");
        c.by_hash.insert(h, "Elsewhere/y".into());
        assert!(c.claim("A/b.txt").is_ok());
        assert_eq!(c.claim("a/B.TXT"), Err("A/b.txt".to_string()));
        assert_eq!(c.overflow.len(), 1);
    }
}
