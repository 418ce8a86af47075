//! A file written through memory: writers that seek and write a few bytes at a time
//! (the compound-file writer updates its allocation table four bytes at a time) build
//! the file in a buffer, which goes to the file in one write; past `limit` bytes the
//! buffer spills to the file and writes go straight there.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

/// Memory first, the file past the limit. Call [`Spill::finish`]; dropping it without
/// finishing leaves the file incomplete.
pub struct Spill<'a> {
    mem: Option<Cursor<Vec<u8>>>,
    file: &'a mut File,
    limit: u64,
}

impl<'a> Spill<'a> {
    /// Buffer up to `limit` bytes of `file` (a new, empty file) in memory.
    pub fn new(file: &'a mut File, limit: u64) -> Spill<'a> {
        Spill { mem: Some(Cursor::new(Vec::new())), file, limit }
    }

    /// Move what is buffered to the file; later operations go to the file.
    fn spill(&mut self) -> io::Result<()> {
        if let Some(c) = self.mem.take() {
            let pos = c.position();
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(c.get_ref())?;
            self.file.seek(SeekFrom::Start(pos))?;
        }
        Ok(())
    }

    /// Write out what is still buffered.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(c) = self.mem.take() {
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(c.get_ref())?;
        }
        self.file.flush()
    }
}

impl Write for Spill<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(c) = &mut self.mem {
            if c.position().saturating_add(buf.len() as u64) <= self.limit {
                return c.write(buf);
            }
            self.spill()?;
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.mem {
            Some(_) => Ok(()),
            None => self.file.flush(),
        }
    }
}

impl Read for Spill<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.mem {
            Some(c) => c.read(buf),
            None => self.file.read(buf),
        }
    }
}

impl Seek for Spill<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.mem {
            Some(c) => c.seek(pos),
            None => self.file.seek(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(limit: u64) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&p).unwrap();
        let mut s = Spill::new(&mut f, limit);
        s.write_all(b"0123456789").unwrap();
        s.seek(SeekFrom::Start(2)).unwrap();
        s.write_all(b"ab").unwrap();
        s.seek(SeekFrom::End(0)).unwrap();
        s.write_all(b"XYZ").unwrap();
        s.seek(SeekFrom::Start(1)).unwrap();
        let mut two = [0u8; 2];
        s.read_exact(&mut two).unwrap();
        assert_eq!(&two, b"1a");
        s.finish().unwrap();
        drop(f);
        std::fs::read(&p).unwrap()
    }

    #[test]
    fn memory_and_spilled_files_hold_the_same_bytes() {
        for limit in [0, 5, 11, 12, 1 << 20] {
            assert_eq!(roundtrip(limit), b"01ab456789XYZ", "limit {limit}");
        }
    }
}
