//! The only code that writes extracted files: every path resolved under the target one
//! component at a time without following links, data written to a temporary file in
//! the destination folder, hashed while written, timestamped, then renamed into place.

use crate::error::{Error, ErrorKind, IoResultExt, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A target directory that files are written under, never outside.
pub struct Target {
    root: PathBuf,
    /// lower-cased relative path -> the path as first claimed
    claimed: Mutex<HashMap<String, String>>,
    overwrite: bool,
    counter: AtomicU64,
    /// Directories (relative components joined by `/`) verified or created this run, and
    /// whether this run created them empty (then nothing else can be in them).
    dirs: Mutex<HashMap<String, bool>>,
    /// The target was empty when this run began.
    fresh: bool,
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

impl Target {
    /// Use `root` (created if missing). `overwrite` allows replacing files that existed
    /// before this run; two entries of one run mapping to one path are always an error.
    pub fn new(root: &Path, overwrite: bool) -> Result<Target> {
        fs::create_dir_all(root).io_ctx("creating target directory").map_err(|e| e.with_path(root))?;
        let meta = fs::symlink_metadata(root).io_ctx("reading target directory").map_err(|e| e.with_path(root))?;
        if !meta.is_dir() {
            return Err(Error::new(ErrorKind::UnsafePath, "target is not a directory").with_path(root));
        }
        let fresh = fs::read_dir(root).map(|mut d| d.next().is_none()).unwrap_or(false);
        let mut dirs = HashMap::new();
        dirs.insert(String::new(), fresh);
        Ok(Target {
            root: root.to_path_buf(),
            claimed: Mutex::new(HashMap::new()),
            overwrite,
            counter: AtomicU64::new(0),
            dirs: Mutex::new(dirs),
            fresh,
            pid: std::process::id(),
        })
    }

    /// The target directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reserve a relative path for this run; a second claim of the same path (compared
    /// case-insensitively, as Windows would) is an error.
    pub fn claim(&self, components: &[String]) -> Result<()> {
        let rel = components.join("/");
        let key = rel.to_lowercase();
        let mut m = self.claimed.lock().map_err(|_| Error::format("internal lock poisoned"))?;
        if let Some(prev) = m.get(&key) {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("{rel:?} collides with {prev:?} already written by this extraction"),
            ));
        }
        m.insert(key, rel);
        Ok(())
    }

    /// Create the directories of `components` (all of them) under the root, refusing links.
    pub fn make_dirs(&self, components: &[String]) -> Result<PathBuf> {
        let key = components.join("/");
        if self.dirs.lock().map(|d| d.contains_key(&key)).unwrap_or(false) {
            let mut p = self.root.clone();
            p.extend(components);
            return Ok(p);
        }
        let mut p = self.root.clone();
        let mut rel = String::new();
        for c in components {
            super::path::check_component(c)?;
            p.push(c);
            if !rel.is_empty() {
                rel.push('/');
            }
            rel.push_str(c);
            if self.dirs.lock().map(|d| d.contains_key(&rel)).unwrap_or(false) {
                continue;
            }
            let mut created = false;
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::new(
                        ErrorKind::UnsafePath,
                        format!("{} is a symbolic link; not followed", p.display()),
                    ))
                }
                Ok(_) => {
                    return Err(Error::new(ErrorKind::Exists, format!("{} exists and is not a directory", p.display())))
                }
                Err(_) => match fs::create_dir(&p) {
                    Ok(()) => created = true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
                    Err(e) => return Err(Error::io(&e, format_args!("creating {}", p.display()))),
                },
            }
            if let Ok(mut d) = self.dirs.lock() {
                d.insert(rel.clone(), created);
            }
        }
        Ok(p)
    }

    /// Whether `dir` (relative) was created empty by this run (or is the target that was
    /// empty when the run began): a file claimed in it cannot already exist.
    fn fresh_dir(&self, rel: &str) -> bool {
        self.dirs.lock().ok().and_then(|d| d.get(rel).copied()).unwrap_or(false)
            && (rel.is_empty() == self.fresh || !rel.is_empty())
    }

    /// Start writing the file at relative `components`, with the expected size.
    pub fn create(&self, components: &[String], mtime: Option<i64>) -> Result<AtomicFile> {
        let (name, dirs) =
            components.split_last().ok_or_else(|| Error::new(ErrorKind::UnsafePath, "empty output path"))?;
        super::path::check_component(name)?;
        let dir = self.make_dirs(dirs)?;
        let final_path = dir.join(name);
        let known_absent = self.fresh_dir(&dirs.join("/"));
        match if known_absent {
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        } else {
            fs::symlink_metadata(&final_path)
        } {
            Ok(m) if m.is_dir() => {
                return Err(Error::new(ErrorKind::Exists, format!("{} is a directory", final_path.display())))
            }
            Ok(_) if !self.overwrite => {
                return Err(Error::new(
                    ErrorKind::Exists,
                    format!("{} already exists (use --force to replace)", final_path.display()),
                ))
            }
            _ => {}
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".hotfixkit-{}-{n}.part", self.pid));
        let mut oo = fs::OpenOptions::new();
        oo.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Never through a link, even one planted between the checks and the open.
            oo.custom_flags(libc_o_nofollow());
        }
        let file = oo.open(&tmp).io_ctx(format_args!("creating {}", tmp.display()))?;
        Ok(AtomicFile {
            file: Some(std::io::BufWriter::with_capacity(1 << 16, file)),
            tmp,
            final_path,
            rel: components.join("/"),
            hasher: Sha256::new(),
            size: 0,
            mtime,
        })
    }
}

/// A file being written: it appears under its final name only when complete.
pub struct AtomicFile {
    file: Option<std::io::BufWriter<File>>,
    tmp: PathBuf,
    final_path: PathBuf,
    rel: String,
    hasher: Sha256,
    size: u64,
    mtime: Option<i64>,
}

impl AtomicFile {
    /// Append bytes.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let f = self.file.as_mut().ok_or_else(|| Error::format("write after finish"))?;
        f.write_all(data).io_ctx(format_args!("writing {}", self.tmp.display()))?;
        self.hasher.update(data);
        self.size += data.len() as u64;
        Ok(())
    }

    /// Flush, set the timestamp and rename into place.
    pub fn finish(&mut self) -> Result<Written> {
        let w = self.file.take().ok_or_else(|| Error::format("finish called twice"))?;
        let f = w.into_inner().map_err(|e| Error::io(e.error(), format_args!("writing {}", self.tmp.display())))?;
        if let Some(t) = self.mtime {
            let ft = filetime::FileTime::from_unix_time(t, 0);
            filetime::set_file_handle_times(&f, Some(ft), Some(ft))
                .io_ctx(format_args!("setting time of {}", self.tmp.display()))?;
        }
        drop(f);
        fs::rename(&self.tmp, &self.final_path).io_ctx(format_args!("renaming into {}", self.final_path.display()))?;
        let digest = std::mem::take(&mut self.hasher).finalize();
        Ok(Written { path: self.rel.clone(), size: self.size, sha256: hex(&digest) })
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
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

#[cfg(unix)]
fn libc_o_nofollow() -> i32 {
    // O_NOFOLLOW: 0o400000 on Linux (x86, arm), 0x100 on the BSDs and macOS.
    if cfg!(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    )) {
        0x0100
    } else {
        0o400000
    }
}
