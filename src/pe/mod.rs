//! Portable Executable facts a hotfix manifest talks about: the COFF machine, the fixed
//! file and product versions, and the StringFileInfo strings.
//!
//! Headers, sections and the resource tree are read with the `object` crate (zero-copy,
//! bounds-checked, nothing sized from header fields); VS_VERSIONINFO, which `object` does
//! not parse, is parsed here with every length checked and a depth limit.

mod version;

pub use version::{parse_version_info, VersionInfo};

use crate::error::{Error, Result};
use object::read::pe::{ImageNtHeaders, PeFile32, PeFile64, ResourceDirectory};
use object::{pe, LittleEndian as LE};

/// COFF machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Machine {
    /// 0x14c.
    X86,
    /// 0x8664.
    X64,
    /// 0x200 (Itanium).
    Ia64,
    /// 0x1c0 / 0x1c4 (ARM, ARMv7 Thumb-2).
    Arm,
    /// 0xaa64.
    Arm64,
    /// Anything else (raw value).
    Other(u16),
}

impl Machine {
    /// From the COFF header value.
    pub fn from_raw(m: u16) -> Machine {
        match m {
            0x14c => Machine::X86,
            0x8664 => Machine::X64,
            0x200 => Machine::Ia64,
            0x1c0 | 0x1c2 | 0x1c4 => Machine::Arm,
            0xaa64 => Machine::Arm64,
            other => Machine::Other(other),
        }
    }
    /// The platform name manifests use (`x86`, `x64`, `ia64`, `arm`, `arm64`).
    pub fn platform(&self) -> String {
        match self {
            Machine::X86 => "x86".into(),
            Machine::X64 => "x64".into(),
            Machine::Ia64 => "ia64".into(),
            Machine::Arm => "arm".into(),
            Machine::Arm64 => "arm64".into(),
            Machine::Other(m) => format!("0x{m:04x}"),
        }
    }
}

/// What `pe_info` finds.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PeInfo {
    /// COFF machine.
    pub machine: Machine,
    /// Version resource, when there is one.
    pub version: Option<VersionInfo>,
    /// Number of RT_VERSION entries seen (the first in (name id, language id) order is used).
    pub version_resources: usize,
}

const RT_VERSION: u16 = 16;
/// PE files larger than this are not read into memory for version checks.
pub const MAX_PE_SIZE: u64 = 512 << 20;
/// At most this many resource entries are looked at on one level.
const MAX_ENTRIES: usize = 4096;

/// Is `data` a PE image (MZ header pointing at a PE signature)?
pub fn is_pe(data: &[u8]) -> bool {
    if data.len() < 0x40 || &data[..2] != b"MZ" {
        return false;
    }
    let off = u32::from_le_bytes([data[0x3c], data[0x3d], data[0x3e], data[0x3f]]) as usize;
    data.get(off..off.saturating_add(4)) == Some(b"PE\0\0")
}

/// Read machine and version information from a PE image in memory.
pub fn pe_info(data: &[u8]) -> Result<PeInfo> {
    if !is_pe(data) {
        return Err(Error::format("not a PE image (no MZ/PE signature)"));
    }
    let kind = object::FileKind::parse(data).map_err(|e| Error::format(format!("PE header: {e}")))?;
    match kind {
        object::FileKind::Pe32 => info_of::<pe::ImageNtHeaders32>(data),
        object::FileKind::Pe64 => info_of::<pe::ImageNtHeaders64>(data),
        _ => Err(Error::format("not a PE32 or PE32+ image")),
    }
}

fn info_of<'a, Pe: ImageNtHeaders>(data: &'a [u8]) -> Result<PeInfo>
where
    object::read::pe::PeFile<'a, Pe, &'a [u8]>: Sized,
{
    let file =
        object::read::pe::PeFile::<Pe, &[u8]>::parse(data).map_err(|e| Error::format(format!("PE headers: {e}")))?;
    let machine = Machine::from_raw(file.nt_headers().file_header().machine.get(LE).0);
    let mut found: Vec<(u32, u32, &[u8])> = Vec::new();
    let sections = file.section_table();
    if let Ok(Some(dir)) = file.data_directories().resource_directory(data, &sections) {
        collect_versions(dir, &sections, data, &mut found);
    }
    found.sort_by_key(|(n, l, _)| (*n, *l));
    let count = found.len();
    let version = found.first().map(|(_, _, bytes)| parse_version_info(bytes)).transpose()?;
    Ok(PeInfo { machine, version: version.flatten(), version_resources: count })
}

fn collect_versions<'a>(
    dir: ResourceDirectory<'a>,
    sections: &object::read::pe::SectionTable<'a>,
    data: &'a [u8],
    out: &mut Vec<(u32, u32, &'a [u8])>,
) {
    let Ok(root) = dir.root() else { return };
    for ty in root.entries.iter().take(MAX_ENTRIES) {
        if ty.name_or_id().id() != Some(RT_VERSION) {
            continue;
        }
        let Ok(object::read::pe::ResourceDirectoryEntryData::Table(names)) = ty.data(dir) else { continue };
        for (ni, name) in names.entries.iter().take(MAX_ENTRIES).enumerate() {
            // Named entries sort after numbered ones, in table order.
            let nkey = name.name_or_id().id().map(u32::from).unwrap_or(0x1_0000 + ni as u32);
            let Ok(object::read::pe::ResourceDirectoryEntryData::Table(langs)) = name.data(dir) else { continue };
            for (li, lang) in langs.entries.iter().take(MAX_ENTRIES).enumerate() {
                let lkey = lang.name_or_id().id().map(u32::from).unwrap_or(0x1_0000 + li as u32);
                let Ok(object::read::pe::ResourceDirectoryEntryData::Data(entry)) = lang.data(dir) else { continue };
                let rva = entry.offset_to_data.get(LE);
                let size = entry.size.get(LE) as usize;
                if let Some(bytes) = sections.pe_data_at(data, rva) {
                    if let Some(b) = bytes.get(..size) {
                        out.push((nkey, lkey, b));
                    }
                }
            }
        }
    }
}

#[allow(dead_code)]
fn _assert_types(_: PeFile32<'_>, _: PeFile64<'_>) {}
