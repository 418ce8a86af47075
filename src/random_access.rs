//! Inputs read by position: a file, bytes in memory, or any `Read + Seek`. Packages are
//! read through this so that several threads can read one input at once (each cabinet
//! folder of a package decodes on its own thread) and so that an input need not be a
//! file on disk.

use crate::error::{Error, ErrorKind, IoResultExt, Result, ResultExt};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Bytes that can be read at any offset, from several threads.
pub trait RandomAccess: Send + Sync {
    /// Read into `buf` at `offset`; returns how many bytes were read (0 at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The total length.
    fn len(&self) -> io::Result<u64>;
    /// Whether there are no bytes at all.
    fn is_empty(&self) -> io::Result<bool> {
        self.len().map(|n| n == 0)
    }
}

impl RandomAccess for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        #[cfg(unix)]
        return std::os::unix::fs::FileExt::read_at(self, buf, offset);
        #[cfg(windows)]
        return std::os::windows::fs::FileExt::seek_read(self, buf, offset);
        #[cfg(not(any(unix, windows)))]
        {
            let _ = (buf, offset);
            Err(io::Error::new(io::ErrorKind::Unsupported, "positioned reads are not available here"))
        }
    }
    fn len(&self) -> io::Result<u64> {
        self.metadata().map(|m| m.len())
    }
}

/// Bytes in memory.
impl RandomAccess for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(Vec::len(self) as u64)
    }
}

/// Any `Read + Seek`, shared behind a lock (one read at a time).
pub struct SeekReader<R> {
    inner: Mutex<R>,
}

impl<R: Read + Seek + Send> SeekReader<R> {
    /// Wrap `reader`.
    pub fn new(reader: R) -> SeekReader<R> {
        SeekReader { inner: Mutex::new(reader) }
    }
}

impl<R: Read + Seek + Send> RandomAccess for SeekReader<R> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut r = self.inner.lock().map_err(|_| io::Error::other("reader lock poisoned"))?;
        r.seek(SeekFrom::Start(offset))?;
        r.read(buf)
    }
    fn len(&self) -> io::Result<u64> {
        let mut r = self.inner.lock().map_err(|_| io::Error::other("reader lock poisoned"))?;
        r.seek(SeekFrom::End(0))
    }
}

/// Read `buf.len()` bytes at `off`, however many calls that takes; returns how many were
/// read before the end.
pub fn read_full_at(src: &dyn RandomAccess, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read_at(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Open `path` for reading as an input. Only regular files are inputs: a FIFO, socket or
/// device is refused at once (opening one for reading could wait for ever), and so is a
/// folder.
pub fn open_file(path: &Path) -> Result<std::fs::File> {
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking, so that opening a FIFO returns at once; regular files ignore it.
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
            .io_ctx("opening")
            .at_path(path)?
    };
    #[cfg(not(unix))]
    let file = std::fs::File::open(path).io_ctx("opening").at_path(path)?;
    let meta = file.metadata().io_ctx("reading").at_path(path)?;
    if meta.is_dir() {
        return Err(Error::new(ErrorKind::Usage, "is a folder, not a file").with_path(path));
    }
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::Usage, "is not a regular file (a FIFO, socket or device)").with_path(path));
    }
    #[cfg(unix)]
    {
        // Back to blocking reads for the regular file it is.
        let _ = rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty());
    }
    Ok(file)
}

/// A shared input.
pub type Shared = Arc<dyn RandomAccess>;

/// A `Read + Seek` view of a shared input (its own position).
#[derive(Clone)]
pub struct Cursor {
    src: Shared,
    base: u64,
    pos: u64,
    len: u64,
}

impl Cursor {
    /// Read `src` from `base` to its end.
    pub fn new(src: Shared, base: u64) -> io::Result<Cursor> {
        let len = src.len()?.saturating_sub(base);
        Ok(Cursor { src, base, pos: 0, len })
    }
}

impl Read for Cursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - self.pos) as usize);
        let n = self.src.read_at(&mut buf[..want], self.base + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => i128::from(p),
            SeekFrom::End(d) => i128::from(self.len) + i128::from(d),
            SeekFrom::Current(d) => i128::from(self.pos) + i128::from(d),
        };
        if new < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"));
        }
        self.pos = u64::try_from(new).unwrap_or(u64::MAX);
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_files_and_readers_read_the_same() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, &data).unwrap();
        let sources: Vec<Shared> = vec![
            Arc::new(data.clone()),
            Arc::new(File::open(&p).unwrap()),
            Arc::new(SeekReader::new(std::io::Cursor::new(data.clone()))),
        ];
        for s in sources {
            assert_eq!(s.len().unwrap(), 10_000);
            let mut buf = [0u8; 100];
            assert_eq!(read_full_at(&*s, &mut buf, 9_950).unwrap(), 50);
            assert_eq!(&buf[..50], &data[9_950..]);
            let mut c = Cursor::new(s, 100).unwrap();
            let mut all = Vec::new();
            c.read_to_end(&mut all).unwrap();
            assert_eq!(all, &data[100..]);
        }
    }
}
