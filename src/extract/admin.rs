//! The administrative copy of the package: every storage and stream of the original,
//! minus the embedded cabinets that were unpacked, with the summary Word Count marking
//! an uncompressed administrative image with long file names.

use crate::error::ResultExt;
use crate::error::{IoResultExt, Result};
use crate::msi::summary::Summary;
use crate::msi::{decode_name, Compound};
use crate::output::spill::Spill;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Word Count bit: short file names in the source.
pub const WC_SHORT_NAMES: i32 = 1;
/// Word Count bit: compressed source.
pub const WC_COMPRESSED: i32 = 2;
/// Word Count bit: administrative image.
pub const WC_ADMIN: i32 = 4;

/// The Word Count an administrative image of a package with `wc` carries: uncompressed,
/// an administrative image, long names unless the image has short ones.
pub fn admin_word_count(wc: i32, short_names: bool) -> i32 {
    let short = if short_names { WC_SHORT_NAMES } else { 0 };
    (wc & !(WC_SHORT_NAMES | WC_COMPRESSED)) | WC_ADMIN | short
}

/// What a patched image changes in the package copy.
#[derive(Default)]
pub(crate) struct AdminChanges {
    /// Tables to write instead of the package's own (every table, re-encoded).
    pub tables: Option<std::collections::BTreeMap<String, crate::msi::TableData>>,
    /// Code page for re-encoded strings.
    pub codepage: u32,
    /// Root streams to add or replace (decoded name, bytes): binary cells from transforms.
    pub streams: Vec<(String, Vec<u8>)>,
    /// Summary properties to set besides Word Count.
    pub summary: Vec<(u32, crate::msi::summary::NewValue)>,
}

/// What the administrative copy of a package is made from.
pub(crate) struct AdminSource {
    /// The open package.
    pub compound: Arc<Compound>,
    /// Its name in messages.
    pub label: PathBuf,
    /// What a patched image changes.
    pub changes: AdminChanges,
    /// The image has short file names.
    pub short_names: bool,
}

impl AdminSource {
    /// The copy of an unpatched package.
    pub fn plain(compound: Arc<Compound>, label: &Path, short_names: bool) -> AdminSource {
        AdminSource { compound, label: label.to_path_buf(), changes: AdminChanges::default(), short_names }
    }
}

/// Write the administrative copy of a package into `file` (a new, empty file), leaving
/// out the root streams named in `drop_streams` (decoded names).
pub(crate) fn write_admin_package(src: &AdminSource, drop_streams: &[String], file: &mut File) -> Result<()> {
    let changes = &src.changes;
    let result = (|| -> Result<()> {
        let short_names = src.short_names;
        let src = &*src.compound;
        // Built in memory (up to 2 MiB, then straight to the file): the compound-file
        // writer's many small writes become one for the usual package, while the copy of
        // a package with 100,000 File rows (6 MB) does not add its size to the peak.
        let mut dst = cfb::CompoundFile::create_with_version(src.version(), Spill::new(&mut *file, 2 << 20))
            .io_ctx("creating compound file")?;
        let root_clsid = src.root_clsid();
        dst.set_storage_clsid("/", root_clsid).io_ctx("setting CLSID")?;
        for e in src.walk() {
            let (p, is_storage, clsid) = (std::path::PathBuf::from(&e.path), e.storage, e.clsid);
            if is_storage {
                dst.create_storage(&p).io_ctx(format_args!("creating storage {}", p.display()))?;
                dst.set_storage_clsid(&p, clsid).io_ctx("setting storage CLSID")?;
                continue;
            }
            let at_root = p.parent().is_some_and(|pp| pp == Path::new("/"));
            let raw_name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let (decoded, is_table) = decode_name(&raw_name);
            if at_root && !is_table && drop_streams.iter().any(|d| d == &decoded) {
                continue;
            }
            if at_root && is_table && changes.tables.is_some() {
                continue; // re-encoded below
            }
            if at_root && !is_table && changes.streams.iter().any(|(n, _)| n == &decoded) {
                continue; // replaced below
            }
            let mut w = dst.create_stream(&p).io_ctx(format_args!("creating stream {decoded:?}"))?;
            let mut r = src.open_stream(&e.path).io_ctx(format_args!("opening stream {decoded:?}"))?;
            if at_root && raw_name == "\u{5}SummaryInformation" {
                let mut data = Vec::new();
                (&mut r).take(1 << 20).read_to_end(&mut data).io_ctx(format_args!("reading stream {decoded:?}"))?;
                let s = Summary::parse(&data)?;
                if let (Some(off), Some(wc)) = (s.word_count_offset, s.word_count()) {
                    data[off..off + 4].copy_from_slice(&admin_word_count(wc, short_names).to_le_bytes());
                }
                if !changes.summary.is_empty() {
                    data = crate::msi::summary::rewrite(&data, &changes.summary)?;
                }
                w.write_all(&data).io_ctx(format_args!("writing stream {decoded:?}"))?;
            } else {
                std::io::copy(&mut r, &mut w).io_ctx(format_args!("copying stream {decoded:?}"))?;
            }
        }
        let mut extra: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(t) = &changes.tables {
            extra.extend(crate::msi::table_write::encode_tables(t, changes.codepage)?);
        }
        for (name, data) in &changes.streams {
            extra.push((crate::msi::encode_name(name, false), data.clone()));
        }
        for (raw, data) in extra {
            let p = format!("/{raw}");
            let mut w = dst.create_stream(&p).io_ctx(format_args!("creating stream {}", decode_name(&raw).0))?;
            w.write_all(&data).io_ctx("writing stream")?;
        }
        dst.flush().io_ctx("flushing compound file")?;
        dst.into_inner().finish().io_ctx("writing compound file")?;
        Ok(())
    })();
    result.at_path(&src.label)
}
