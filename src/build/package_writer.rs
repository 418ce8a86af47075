//! Databases, patches and transforms written into a compound file we create (the `cfb`
//! crate, version 3 with 512-byte sectors as Windows Installer writes them): tables
//! through our own table encoder, the summary stream, storages, and streams written as
//! they come (a cabinet of any size passes through in pieces). The sink is any
//! `Read + Write + Seek` (a file of the safe writer, or memory).

use crate::error::{IoResultExt, Result};
use crate::msi::summary::{write_summary, SummaryValue};
use crate::msi::{encode_name, TableData};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};

/// The root CLSID of an installer database.
pub const MSI_CLSID: &str = "000c1084-0000-0000-c000-000000000046";

/// A compound file being written.
pub struct PackageWriter<F: Read + Write + Seek> {
    comp: cfb::CompoundFile<F>,
}

impl<F: Read + Write + Seek> PackageWriter<F> {
    /// A new compound file in `f` with root CLSID `clsid`.
    pub fn new(f: F, clsid: &str) -> Result<Self> {
        let mut comp = cfb::CompoundFile::create_with_version(cfb::Version::V3, f).io_ctx("creating compound file")?;
        comp.set_storage_clsid("/", super::transform::clsid(clsid)).io_ctx("setting the root CLSID")?;
        Ok(PackageWriter { comp })
    }

    /// Every table of `tables`, with `_Tables`, `_Columns` and a fresh string pool in
    /// `codepage`, at the root.
    pub fn tables(&mut self, tables: &BTreeMap<String, TableData>, codepage: u32) -> Result<()> {
        for (name, data) in crate::msi::encode_tables(tables, codepage)? {
            self.raw_stream("", &name, &data)?;
        }
        Ok(())
    }

    /// The summary information stream at the root.
    pub fn summary(&mut self, props: &[(u32, SummaryValue)]) -> Result<()> {
        self.raw_stream("", "\u{5}SummaryInformation", &write_summary(props))
    }

    /// A writer for the root stream `name` (decoded name): it seeks too, so a cabinet can
    /// be written into it directly.
    pub fn stream_writer(&mut self, name: &str) -> Result<cfb::Stream<F>> {
        let stored = encode_name(name, false);
        self.comp.create_stream(format!("/{stored}")).io_ctx(format_args!("creating stream {name}"))
    }

    /// A stream by its stored name inside `storage` ("" for the root).
    pub fn raw_stream(&mut self, storage: &str, stored: &str, data: &[u8]) -> Result<()> {
        let path = if storage.is_empty() { format!("/{stored}") } else { format!("/{storage}/{stored}") };
        let mut w = self.comp.create_stream(&path).io_ctx(format_args!("creating stream {path}"))?;
        w.write_all(data).io_ctx(format_args!("writing stream {path}"))?;
        Ok(())
    }

    /// A sub-storage `name` with CLSID `clsid` holding `streams` (stored names).
    pub fn storage(&mut self, name: &str, clsid: &str, streams: &[(String, Vec<u8>)]) -> Result<()> {
        let p = format!("/{name}");
        self.comp.create_storage(&p).io_ctx(format_args!("creating storage {name}"))?;
        self.comp.set_storage_clsid(&p, super::transform::clsid(clsid)).io_ctx("setting a CLSID")?;
        self.comp.set_modified_time(&p, std::time::UNIX_EPOCH).io_ctx("setting a time")?;
        self.comp.set_created_time(&p, std::time::UNIX_EPOCH).io_ctx("setting a time")?;
        for (s, data) in streams {
            self.raw_stream(name, s, data)?;
        }
        Ok(())
    }

    /// Flush everything and clear the root entry's times (so that the same input gives
    /// the same bytes); returns the sink.
    pub fn finish(mut self) -> Result<F> {
        self.comp.flush().io_ctx("flushing compound file")?;
        let mut f = self.comp.into_inner();
        clear_root_times(&mut f)?;
        Ok(f)
    }
}

/// Clear the creation and modification times of the root directory entry of the compound
/// file in `f`.
pub fn clear_root_times<F: Read + Write + Seek>(f: &mut F) -> Result<()> {
    let mut hdr = [0u8; 512];
    f.seek(SeekFrom::Start(0)).io_ctx("reading compound file header")?;
    f.read_exact(&mut hdr).io_ctx("reading compound file header")?;
    let shift = u16::from_le_bytes([hdr[30], hdr[31]]);
    if shift != 9 && shift != 12 {
        return Ok(());
    }
    let sector = 1u64 << shift;
    let first_dir = u64::from(u32::from_le_bytes([hdr[48], hdr[49], hdr[50], hdr[51]]));
    f.seek(SeekFrom::Start((first_dir + 1) * sector + 100)).io_ctx("seeking to the root entry")?;
    f.write_all(&[0u8; 16]).io_ctx("clearing the root entry's times")?;
    f.seek(SeekFrom::End(0)).io_ctx("seeking")?;
    f.flush().io_ctx("flushing")?;
    Ok(())
}
