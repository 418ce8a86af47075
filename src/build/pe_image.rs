//! Small PE images with a version resource, written with `object::write::pe` (headers and
//! sections) and padded to an exact size: the stand-ins for hotfix binaries in fixtures.

use crate::error::{Error, Result};
use object::pe;
use object::write::pe::{NtHeaders, Writer};

/// What to put in the image.
#[derive(Debug, Clone)]
pub struct PeSpec {
    /// COFF machine: 0x14c (x86), 0x8664 (x64), 0x200 (IA-64).
    pub machine: u16,
    /// File and product version.
    pub version: (u16, u16, u16, u16),
    /// StringFileInfo strings (FileVersion, ProductVersion, OriginalFilename, ...).
    pub strings: Vec<(String, String)>,
    /// Exact file size; the image is padded with an overlay to reach it.
    pub size: usize,
    /// Seed for the overlay bytes.
    pub seed: String,
    /// Image characteristics: DLL when true.
    pub dll: bool,
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain(std::iter::once(0)).flat_map(|u| u.to_le_bytes()).collect()
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// One VS_VERSIONINFO-style block: wLength, wValueLength, wType, key, value, children.
fn vblock(key: &str, value: &[u8], text: bool, children: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0u8; 6];
    b.extend_from_slice(&utf16z(key));
    pad4(&mut b);
    b.extend_from_slice(value);
    for c in children {
        pad4(&mut b);
        b.extend_from_slice(c);
    }
    let len = b.len() as u16;
    let vlen = if text { (value.len() / 2) as u16 } else { value.len() as u16 };
    b[0..2].copy_from_slice(&len.to_le_bytes());
    b[2..4].copy_from_slice(&vlen.to_le_bytes());
    b[4..6].copy_from_slice(&u16::from(text).to_le_bytes());
    b
}

/// The VS_VERSIONINFO resource bytes.
pub fn version_resource(version: (u16, u16, u16, u16), strings: &[(String, String)]) -> Vec<u8> {
    let ms = (u32::from(version.0) << 16) | u32::from(version.1);
    let ls = (u32::from(version.2) << 16) | u32::from(version.3);
    let mut fixed = Vec::new();
    for w in [0xFEEF04BDu32, 0x0001_0000, ms, ls, ms, ls, 0x3F, 0, 0x0004_0004, 1, 0, 0, 0] {
        fixed.extend_from_slice(&w.to_le_bytes());
    }
    let strs: Vec<Vec<u8>> = strings.iter().map(|(k, v)| vblock(k, &utf16z(v), true, &[])).collect();
    let table = vblock("040904B0", &[], true, &strs);
    let sfi = vblock("StringFileInfo", &[], true, &[table]);
    let var = vblock("Translation", &[0x09, 0x04, 0xB0, 0x04], false, &[]);
    let vfi = vblock("VarFileInfo", &[], true, &[var]);
    vblock("VS_VERSION_INFO", &fixed, false, &[sfi, vfi])
}

/// A resource section holding one RT_VERSION resource (id 1, language 1033), laid out for
/// a section at virtual address `rva`.
fn rsrc_section(rva: u32, data: &[u8]) -> Vec<u8> {
    let dir = |entries: u16, out: &mut Vec<u8>| {
        out.extend_from_slice(&[0u8; 12]);
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&entries.to_le_bytes());
    };
    let mut s = Vec::new();
    // root: type 16 -> dir at 0x18
    dir(1, &mut s);
    s.extend_from_slice(&16u32.to_le_bytes());
    s.extend_from_slice(&(0x8000_0000u32 | 0x18).to_le_bytes());
    // name level: id 1 -> dir at 0x30
    dir(1, &mut s);
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&(0x8000_0000u32 | 0x30).to_le_bytes());
    // language level: 1033 -> data entry at 0x48
    dir(1, &mut s);
    s.extend_from_slice(&1033u32.to_le_bytes());
    s.extend_from_slice(&0x48u32.to_le_bytes());
    // data entry -> data at 0x58
    s.extend_from_slice(&(rva + 0x58).to_le_bytes());
    s.extend_from_slice(&(data.len() as u32).to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    debug_assert_eq!(s.len(), 0x58);
    s.extend_from_slice(data);
    s
}

/// Write the image.
pub fn write_pe(spec: &PeSpec) -> Result<Vec<u8>> {
    let is_64 = spec.machine != pe::IMAGE_FILE_MACHINE_I386.0;
    let ver = version_resource(spec.version, &spec.strings);
    let mut buf = Vec::new();
    {
        let mut w = Writer::new(is_64, 0x1000, 0x200, &mut buf);
        w.reserve_dos_header_and_stub();
        w.reserve_nt_headers(16);
        w.reserve_section_headers(2);
        let text = w.reserve_text_section(16);
        let rsrc_len = (0x58 + ver.len()) as u32;
        let rsrc = w.reserve_rsrc_section(rsrc_len);
        let rsrc_bytes = rsrc_section(rsrc.virtual_address, &ver);
        w.write_dos_header_and_stub().map_err(|e| Error::format(format!("PE writer: {e}")))?;
        let image_base = if is_64 { 0x1_8000_0000 } else { 0x1000_0000 };
        let mut characteristics = pe::IMAGE_FILE_EXECUTABLE_IMAGE;
        if spec.dll {
            characteristics |= pe::IMAGE_FILE_DLL;
        }
        if !is_64 {
            characteristics |= pe::IMAGE_FILE_32BIT_MACHINE;
        } else {
            characteristics |= pe::IMAGE_FILE_LARGE_ADDRESS_AWARE;
        }
        w.write_nt_headers(NtHeaders {
            machine: pe::Machine(spec.machine),
            time_date_stamp: 0x4B5D3A00,
            characteristics,
            major_linker_version: 8,
            minor_linker_version: 0,
            address_of_entry_point: text.virtual_address,
            image_base,
            major_operating_system_version: 5,
            minor_operating_system_version: 0,
            major_image_version: spec.version.0,
            minor_image_version: spec.version.1,
            major_subsystem_version: 5,
            minor_subsystem_version: 0,
            subsystem: pe::IMAGE_SUBSYSTEM_WINDOWS_GUI,
            dll_characteristics: pe::DllFlags(0),
            size_of_stack_reserve: 0x10_0000,
            size_of_stack_commit: 0x1000,
            size_of_heap_reserve: 0x10_0000,
            size_of_heap_commit: 0x1000,
        });
        w.write_section_headers();
        let mut code = vec![0xC3u8];
        code.resize(16, 0xCC);
        w.write_section(text.file_offset, &code);
        w.write_section(rsrc.file_offset, &rsrc_bytes);
    }
    if buf.len() > spec.size {
        return Err(Error::format(format!("PE image needs {} bytes, more than the {} asked", buf.len(), spec.size)));
    }
    // Overlay: compressible, deterministic.
    let mut line = 0u64;
    while buf.len() < spec.size {
        let l = format!("{} overlay {line:06}\n", spec.seed);
        buf.extend_from_slice(l.as_bytes());
        line += 1;
    }
    buf.truncate(spec.size);
    Ok(buf)
}
