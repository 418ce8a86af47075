//! Directory handles for safe writing. On Unix every name is resolved relative to an
//! open directory descriptor with `O_NOFOLLOW`, so a link planted (or swapped in while
//! we run) under the target is never followed; elsewhere the same operations work on
//! paths after a no-follow metadata check.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// What sits at a name inside a directory (links are reported, not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Link,
    Other,
}

/// An open directory under the target.
pub struct Dir {
    path: PathBuf,
    #[cfg(unix)]
    fd: rustix::fd::OwnedFd,
}

#[cfg(unix)]
pub use imp::process_alive;
#[cfg(not(unix))]
pub use imp::process_alive;

#[cfg(unix)]
mod imp {
    use super::*;
    use rustix::fs::{AtFlags, Mode, OFlags, CWD};
    use rustix::io::Errno;

    fn io(e: Errno) -> io::Error {
        io::Error::from_raw_os_error(e.raw_os_error())
    }

    const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

    impl Dir {
        /// Open the target itself. The user named it, so links in *its* path are trusted.
        pub fn open_root(path: &Path) -> io::Result<Dir> {
            let fd = rustix::fs::openat(CWD, path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                .map_err(io)?;
            Ok(Dir { path: path.to_path_buf(), fd })
        }

        /// Open (or with `create`, make) the directory `name` inside this one.
        /// Returns the handle and whether this call created it.
        pub fn child_dir(&self, name: &str) -> io::Result<(Dir, bool)> {
            let path = self.path.join(name);
            match rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => return Ok((Dir { path, fd }, false)),
                Err(Errno::NOENT) => {}
                Err(e) => return Err(io(e)),
            }
            let created = match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
                Ok(()) => true,
                Err(Errno::EXIST) => false,
                Err(e) => return Err(io(e)),
            };
            let fd = rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()).map_err(io)?;
            Ok((Dir { path, fd }, created))
        }

        /// What is at `name`, without following a link; `None` when nothing is.
        pub fn kind(&self, name: &str) -> io::Result<Option<Kind>> {
            match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => {
                    let t = rustix::fs::FileType::from_raw_mode(st.st_mode);
                    Ok(Some(match t {
                        rustix::fs::FileType::Directory => Kind::Dir,
                        rustix::fs::FileType::Symlink => Kind::Link,
                        _ => Kind::Other,
                    }))
                }
                Err(Errno::NOENT) => Ok(None),
                Err(e) => Err(io(e)),
            }
        }

        /// Create a new regular file `name` (never through a link, never an existing one).
        pub fn create_new(&self, name: &str) -> io::Result<File> {
            let fd = rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .map_err(io)?;
            Ok(File::from(fd))
        }

        /// Rename `from` to `to`, both in this directory; a link at `to` is replaced, not followed.
        pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            rustix::fs::renameat(&self.fd, from, &self.fd, to).map_err(io)
        }

        /// Remove the file `name` in this directory.
        pub fn remove(&self, name: &str) -> io::Result<()> {
            rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).map_err(io)
        }

        /// Flush this directory's entries (the names renamed into it) to stable storage.
        pub fn sync(&self) -> io::Result<()> {
            rustix::fs::fsync(&self.fd).map_err(io)
        }

        /// Make everything written to this directory's file system durable: `syncfs` on
        /// Linux; elsewhere (this is only called where batching is chosen) a sync of the
        /// directory.
        pub fn sync_filesystem(&self) -> io::Result<()> {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            return rustix::fs::syncfs(&self.fd).map_err(io);
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            return self.sync();
        }

        /// Remove the regular files of this directory whose names `matches` (links and
        /// folders are left alone).
        pub fn remove_matching(&self, matches: impl Fn(&str) -> bool) {
            let Ok(dup) = rustix::io::dup(&self.fd) else { return };
            let Ok(mut dir) = rustix::fs::Dir::new(dup) else { return };
            let mut doomed = Vec::new();
            while let Some(Ok(e)) = dir.read() {
                if let Ok(name) = e.file_name().to_str() {
                    if matches(name) {
                        doomed.push(name.to_string());
                    }
                }
            }
            for name in doomed {
                if let Ok(Some(Kind::Other)) = self.kind(&name) {
                    let _ = self.remove(&name);
                }
            }
        }
    }

    /// Whether a process with this id is running (so its temporary files are not stale).
    pub fn process_alive(pid: u32) -> bool {
        let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
        match rustix::process::test_kill_process(pid) {
            Ok(()) => true,
            Err(e) => e == Errno::PERM,
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;
    use std::fs;

    impl Dir {
        /// Open the target itself.
        pub fn open_root(path: &Path) -> io::Result<Dir> {
            if !fs::metadata(path)?.is_dir() {
                return Err(io::Error::new(io::ErrorKind::Other, "not a directory"));
            }
            Ok(Dir { path: path.to_path_buf() })
        }

        /// Open (or make) the directory `name` inside this one, refusing links.
        pub fn child_dir(&self, name: &str) -> io::Result<(Dir, bool)> {
            let path = self.path.join(name);
            let created = match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Err(io::Error::new(io::ErrorKind::Other, "link")),
                Ok(m) if m.is_dir() => false,
                Ok(_) => return Err(io::Error::new(io::ErrorKind::Other, "not a directory")),
                Err(_) => match fs::create_dir(&path) {
                    Ok(()) => true,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                    Err(e) => return Err(e),
                },
            };
            Ok((Dir { path }, created))
        }

        /// What is at `name`, without following a link.
        pub fn kind(&self, name: &str) -> io::Result<Option<Kind>> {
            match fs::symlink_metadata(self.path.join(name)) {
                Ok(m) if m.file_type().is_symlink() => Ok(Some(Kind::Link)),
                Ok(m) if m.is_dir() => Ok(Some(Kind::Dir)),
                Ok(_) => Ok(Some(Kind::Other)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }

        /// Create a new file `name`.
        pub fn create_new(&self, name: &str) -> io::Result<File> {
            fs::OpenOptions::new().read(true).write(true).create_new(true).open(self.path.join(name))
        }

        /// Rename within this directory.
        pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            fs::rename(self.path.join(from), self.path.join(to))
        }

        /// Remove a file in this directory.
        pub fn remove(&self, name: &str) -> io::Result<()> {
            fs::remove_file(self.path.join(name))
        }

        /// Flush this directory's entries (not available here: nothing to do).
        pub fn sync(&self) -> io::Result<()> {
            Ok(())
        }

        /// Make everything written durable (each file is synced on its own here).
        pub fn sync_filesystem(&self) -> io::Result<()> {
            Ok(())
        }

        /// Remove the regular files of this directory whose names `matches`.
        pub fn remove_matching(&self, matches: impl Fn(&str) -> bool) {
            let Ok(rd) = fs::read_dir(&self.path) else { return };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if matches(&name) && e.file_type().is_ok_and(|t| t.is_file()) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }

    /// Whether a process with this id is running (not known here: assume it is, so
    /// nothing of another run is removed).
    pub fn process_alive(_pid: u32) -> bool {
        true
    }
}

impl Dir {
    /// Whether flushing files in this directory to stable storage means anything: not on
    /// memory-backed file systems (tmpfs, ramfs), where `fsync` only costs a system call.
    pub fn durable(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            const TMPFS_MAGIC: u64 = 0x0102_1994;
            const RAMFS_MAGIC: u64 = 0x8584_58f6;
            if let Ok(st) = rustix::fs::fstatfs(&self.fd) {
                #[allow(clippy::unnecessary_cast)]
                let t = st.f_type as u64;
                return t != TMPFS_MAGIC && t != RAMFS_MAGIC;
            }
        }
        true
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
