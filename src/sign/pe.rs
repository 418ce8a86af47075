//! PE images: the attribute certificate table and the Authenticode image digest.
//!
//! The digest covers the whole file in order except three ranges: the optional header's
//! CheckSum field (4 bytes), the Certificate Table data-directory entry (8 bytes), and
//! the attribute certificate table itself (the bytes the directory entry points at).
//! Microsoft's "Windows Authenticode Portable Executable Signature Format" describes the
//! same bytes as headers, then sections sorted by file offset, then the remaining data;
//! for an image whose sections are laid out contiguously (every linker's output) the two
//! readings are the same bytes. osslsigncode hashes the flat form.

use super::Source;
use crate::error::{Error, Result};
use object::read::pe::ImageNtHeaders;

/// Where the fields the digest skips are.
#[derive(Debug, Clone, Copy)]
pub struct PeLayout {
    /// Offset of the CheckSum field.
    pub checksum: u64,
    /// Offset of the Certificate Table directory entry (None when the directory is absent).
    pub cert_dir: Option<u64>,
    /// The attribute certificate table (file offset, size), when present and non-empty.
    pub table: Option<(u64, u64)>,
}

/// Find the layout from the first bytes of the file (`head`: at least the headers).
pub fn layout(head: &[u8], file_len: u64) -> Result<PeLayout> {
    let dos = object::pe::ImageDosHeader::parse(head).map_err(|e| Error::format(format!("PE: {e}")))?;
    let nt = u64::from(dos.nt_headers_offset());
    let magic = object::read::pe::optional_header_magic(head).map_err(|e| Error::format(format!("PE: {e}")))?;
    let pe32plus = magic == object::pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC;
    let mut off = nt;
    let dirs = if pe32plus {
        object::pe::ImageNtHeaders64::parse(head, &mut off).map(|(_, d)| d)
    } else {
        object::pe::ImageNtHeaders32::parse(head, &mut off).map(|(_, d)| d)
    }
    .map_err(|e| Error::format(format!("PE: {e}")))?;
    let opt = nt + 4 + 20;
    let checksum = opt + 64;
    let dir_base = opt + if pe32plus { 112 } else { 96 };
    let (cert_dir, table) = if dirs.len() > object::pe::IMAGE_DIRECTORY_ENTRY_SECURITY {
        let at = dir_base + 8 * object::pe::IMAGE_DIRECTORY_ENTRY_SECURITY as u64;
        let d = dirs.get(object::pe::IMAGE_DIRECTORY_ENTRY_SECURITY);
        let (addr, size) = d
            .map(|d| {
                (u64::from(d.virtual_address.get(object::LittleEndian)), u64::from(d.size.get(object::LittleEndian)))
            })
            .unwrap_or((0, 0));
        let table = if addr != 0 && size != 0 {
            if addr.checked_add(size).is_none_or(|end| end > file_len) {
                return Err(Error::format(format!(
                    "PE: the certificate table ({size} bytes at {addr}) runs past the end of the file"
                )));
            }
            Some((addr, size))
        } else {
            None
        };
        (Some(at), table)
    } else {
        (None, None)
    };
    Ok(PeLayout { checksum, cert_dir, table })
}

/// The byte ranges the digest covers, in order.
pub fn digest_ranges(l: &PeLayout, file_len: u64) -> Vec<(u64, u64)> {
    let mut skips: Vec<(u64, u64)> = vec![(l.checksum, 4)];
    if let Some(d) = l.cert_dir {
        skips.push((d, 8));
    }
    if let Some(t) = l.table {
        skips.push(t);
    }
    skips.sort();
    let mut out = Vec::new();
    let mut at = 0u64;
    for (s, n) in skips {
        if s > at {
            out.push((at, s.min(file_len)));
        }
        at = at.max(s + n);
    }
    if at < file_len {
        out.push((at, file_len));
    }
    out
}

/// The first PKCS#7 SignedData entry of the attribute certificate table, and notes.
pub fn signature_blob(src: &dyn Source, l: &PeLayout) -> Result<Option<(Vec<u8>, Vec<String>)>> {
    let Some((addr, size)) = l.table else { return Ok(None) };
    if size > 64 << 20 {
        return Err(Error::format(format!("PE: a certificate table of {size} bytes is implausibly large")));
    }
    let mut table = vec![0u8; size as usize];
    src.read_exact_at(&mut table, addr)?;
    let mut notes = Vec::new();
    let mut pos = 0usize;
    let mut first = None;
    let mut count = 0;
    while pos + 8 <= table.len() && count < 64 {
        count += 1;
        let len = u32::from_le_bytes([table[pos], table[pos + 1], table[pos + 2], table[pos + 3]]) as usize;
        let rev = u16::from_le_bytes([table[pos + 4], table[pos + 5]]);
        let typ = u16::from_le_bytes([table[pos + 6], table[pos + 7]]);
        if len < 8 || pos + len > table.len() {
            notes.push(format!("WIN_CERTIFICATE at {pos} has length {len}, outside the table"));
            break;
        }
        if typ == 2 && first.is_none() {
            if rev != 0x0200 {
                notes.push(format!("WIN_CERTIFICATE revision 0x{rev:04x}"));
            }
            first = Some(table[pos + 8..pos + len].to_vec());
        } else {
            notes.push(format!("further WIN_CERTIFICATE entry of type {typ} ignored"));
        }
        pos += len.div_ceil(8) * 8;
    }
    Ok(first.map(|b| (b, notes)))
}
