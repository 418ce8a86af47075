//! The administrative copy of the package: every storage and stream of the original,
//! minus the embedded cabinets that were unpacked, with the summary Word Count marking
//! an uncompressed administrative image with long file names.

use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::msi::cfbio::{self, decode_name};
use crate::msi::summary::Summary;
use std::io::{Read, Write};
use std::path::Path;

/// Word Count bit: short file names in the source.
pub const WC_SHORT_NAMES: i32 = 1;
/// Word Count bit: compressed source.
pub const WC_COMPRESSED: i32 = 2;
/// Word Count bit: administrative image.
pub const WC_ADMIN: i32 = 4;

/// The Word Count an administrative image of a package with `wc` carries.
pub fn admin_word_count(wc: i32) -> i32 {
    (wc & !(WC_SHORT_NAMES | WC_COMPRESSED)) | WC_ADMIN
}

/// What a patched image changes in the package copy.
#[derive(Default)]
pub struct AdminChanges<'a> {
    /// Tables to write instead of the package's own (every table, re-encoded).
    pub tables: Option<&'a std::collections::BTreeMap<String, crate::msi::TableData>>,
    /// Code page for re-encoded strings.
    pub codepage: u32,
    /// Root streams to add or replace (decoded name, bytes): binary cells from transforms.
    pub streams: Vec<(String, Vec<u8>)>,
    /// Summary properties to set besides Word Count.
    pub summary: Vec<(u32, crate::msi::summary::NewValue)>,
}

/// Write the administrative copy of `package` to `dest` (via a temporary file and rename),
/// leaving out the root streams named in `drop_streams` (decoded names).
pub fn write_admin_package(package: &Path, dest: &Path, drop_streams: &[String], overwrite: bool) -> Result<()> {
    write_admin_package_with(package, dest, drop_streams, overwrite, &AdminChanges::default())
}

/// [`write_admin_package`] with the changes a patched image makes.
pub fn write_admin_package_with(
    package: &Path,
    dest: &Path,
    drop_streams: &[String],
    overwrite: bool,
    changes: &AdminChanges<'_>,
) -> Result<()> {
    if dest.exists() && !overwrite {
        return Err(Error::new(ErrorKind::Exists, "already exists (use --force to replace)").with_path(dest));
    }
    let (src, _) = cfbio::open_cfb(package)?;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".hotfixkit-{}-admin.part", std::process::id()));
    let result = (|| -> Result<()> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .io_ctx(format_args!("creating {}", tmp.display()))?;
        let mut dst = cfb::CompoundFile::create_with_version(src.version(), file).io_ctx("creating compound file")?;
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
            let mut data = Vec::new();
            src.open_stream(&e.path)
                .io_ctx(format_args!("opening stream {decoded:?}"))?
                .read_to_end(&mut data)
                .io_ctx(format_args!("reading stream {decoded:?}"))?;
            if at_root && raw_name == "\u{5}SummaryInformation" {
                let s = Summary::parse(&data)?;
                if let (Some(off), Some(wc)) = (s.word_count_offset, s.word_count()) {
                    data[off..off + 4].copy_from_slice(&admin_word_count(wc).to_le_bytes());
                }
                if !changes.summary.is_empty() {
                    data = crate::msi::summary::rewrite(&data, &changes.summary)?;
                }
            }
            let mut w = dst.create_stream(&p).io_ctx(format_args!("creating stream {decoded:?}"))?;
            w.write_all(&data).io_ctx(format_args!("writing stream {decoded:?}"))?;
        }
        let mut extra: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(t) = changes.tables {
            extra.extend(crate::msi::write::encode_tables(t, changes.codepage)?);
        }
        for (name, data) in &changes.streams {
            extra.push((crate::msi::cfbio::encode_name(name, false), data.clone()));
        }
        for (raw, data) in extra {
            let p = format!("/{raw}");
            let mut w = dst.create_stream(&p).io_ctx(format_args!("creating stream {}", decode_name(&raw).0))?;
            w.write_all(&data).io_ctx("writing stream")?;
        }
        dst.flush().io_ctx("flushing compound file")?;
        let f = dst.into_inner();
        f.sync_all().io_ctx("syncing administrative package")?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            std::fs::rename(&tmp, dest).io_ctx(format_args!("renaming into {}", dest.display()))?;
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.with_path(package))
        }
    }
}
