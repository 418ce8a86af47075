//! On-disk cabinet structures: CFHEADER, CFFOLDER and CFFILE, parsed with every length checked.

use crate::error::{Error, IoResultExt, Result};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// CFHEADER flag: a previous cabinet exists.
pub const FLAG_PREV_CABINET: u16 = 0x0001;
/// CFHEADER flag: a next cabinet exists.
pub const FLAG_NEXT_CABINET: u16 = 0x0002;
/// CFHEADER flag: reserve fields are present.
pub const FLAG_RESERVE_PRESENT: u16 = 0x0004;

/// CFFILE.iFolder: the file continues from the previous cabinet.
pub const IFOLD_CONTINUED_FROM_PREV: u16 = 0xFFFD;
/// CFFILE.iFolder: the file continues into the next cabinet.
pub const IFOLD_CONTINUED_TO_NEXT: u16 = 0xFFFE;
/// CFFILE.iFolder: the file continues from the previous and into the next cabinet.
pub const IFOLD_CONTINUED_PREV_AND_NEXT: u16 = 0xFFFF;

/// CFFILE attribute: the name is UTF-8.
pub const ATTR_NAME_IS_UTF: u16 = 0x80;

/// A folder's compression method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Compression {
    /// Stored.
    None,
    /// MSZIP (deflate blocks with a shared 32 KiB history).
    MsZip,
    /// Quantum with the given window bits (10..=21).
    Quantum {
        /// Compression level (informational).
        level: u8,
        /// log2 of the window size.
        window_bits: u8,
    },
    /// LZX with the given window bits (15..=21).
    Lzx {
        /// log2 of the window size.
        window_bits: u8,
    },
    /// A method this reader does not know.
    Unknown {
        /// The raw typeCompress value.
        raw: u16,
    },
}

impl Compression {
    /// Decode CFFOLDER.typeCompress.
    pub fn from_raw(raw: u16) -> Compression {
        match raw & 0x000F {
            0 => Compression::None,
            1 => Compression::MsZip,
            2 => Compression::Quantum { level: ((raw >> 4) & 0xF) as u8, window_bits: ((raw >> 8) & 0x1F) as u8 },
            3 => Compression::Lzx { window_bits: ((raw >> 8) & 0x1F) as u8 },
            _ => Compression::Unknown { raw },
        }
    }
    /// Short name as cabextract/7-Zip print it (`MSZIP`, `LZX:21`).
    pub fn label(&self) -> String {
        match self {
            Compression::None => "None".into(),
            Compression::MsZip => "MSZIP".into(),
            Compression::Quantum { window_bits, .. } => format!("Quantum:{window_bits}"),
            Compression::Lzx { window_bits } => format!("LZX:{window_bits}"),
            Compression::Unknown { raw } => format!("unknown(0x{raw:04x})"),
        }
    }
}

/// One CFFOLDER.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CabFolder {
    /// Offset of the first CFDATA block within the cabinet.
    pub data_offset: u32,
    /// Number of CFDATA blocks in this cabinet for this folder.
    pub num_blocks: u16,
    /// Compression method.
    pub compression: Compression,
}

/// One CFFILE.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CabFile {
    /// The stored name (backslashes kept), decoded as UTF-8 or Latin-1 per its attribute.
    pub name: String,
    /// Uncompressed size.
    pub size: u32,
    /// Offset within the uncompressed folder.
    pub offset: u32,
    /// Folder index or one of the `IFOLD_*` continuation markers.
    pub folder: u16,
    /// MS-DOS date.
    pub date: u16,
    /// MS-DOS time.
    pub time: u16,
    /// Attributes.
    pub attribs: u16,
    /// Set when the stored name could not be decoded (the entry is then not extracted).
    pub name_error: Option<Box<str>>,
}

impl CabFile {
    /// The entry's modification time as seconds since the Unix epoch, reading the DOS
    /// date and time as naive UTC (what cabextract does with TZ=UTC). `None` if invalid.
    pub fn unix_mtime(&self) -> Option<i64> {
        dos_to_unix(self.date, self.time)
    }
    /// The DOS timestamp as `YYYY-MM-DD hh:mm:ss`.
    pub fn datetime_string(&self) -> String {
        let (y, mo, d, h, mi, s) = dos_fields(self.date, self.time);
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

fn dos_fields(date: u16, time: u16) -> (i64, i64, i64, i64, i64, i64) {
    let y = 1980 + i64::from(date >> 9);
    let mo = i64::from((date >> 5) & 0xF);
    let d = i64::from(date & 0x1F);
    let h = i64::from(time >> 11);
    let mi = i64::from((time >> 5) & 0x3F);
    let s = i64::from(time & 0x1F) * 2;
    (y, mo, d, h, mi, s)
}

/// DOS date/time (naive, taken as UTC) to Unix seconds; `None` when the fields name no
/// real moment.
pub fn dos_to_unix(date: u16, time: u16) -> Option<i64> {
    let (y, mo, d, h, mi, s) = dos_fields(date, time);
    crate::dates::civil_to_unix(y, mo, d, h, mi, s)
}

/// Where an Authenticode signature sits in a cabinet (see `crate::sign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CabSignatureArea {
    /// File offset of the PKCS#7 signature.
    pub offset: u32,
    /// Its length.
    pub len: u32,
}

/// Read the signature area from a cabinet's first 60 bytes: RESERVE_PRESENT set, a
/// 20-byte header reserve, and a non-empty signature inside the file (`file_len`).
pub fn signature_area(head: &[u8; 60], file_len: u64) -> Option<CabSignatureArea> {
    if &head[0..4] != b"MSCF" || le16(head, 30) & FLAG_RESERVE_PRESENT == 0 || le16(head, 36) != 20 {
        return None;
    }
    let offset = le32(head, 44);
    let len = le32(head, 48);
    let end = u64::from(offset) + u64::from(len);
    (offset >= 60 && len > 0 && end <= file_len).then_some(CabSignatureArea { offset, len })
}

/// A parsed cabinet directory (everything but the data blocks).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CabHeader {
    /// cbCabinet: the cabinet's declared size.
    pub size: u32,
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// CFHEADER flags.
    pub flags: u16,
    /// Set identifier shared by a cabinet set.
    pub set_id: u16,
    /// Index of this cabinet in its set.
    pub index: u16,
    /// Per-cabinet reserve bytes (e.g. a signature area), length only.
    pub header_reserve: u16,
    /// Per-folder reserve size.
    pub folder_reserve: u8,
    /// Per-data-block reserve size.
    pub data_reserve: u8,
    /// Previous cabinet (file name, disk name).
    pub prev: Option<(String, String)>,
    /// Next cabinet (file name, disk name).
    pub next: Option<(String, String)>,
    /// Folders.
    pub folders: Vec<CabFolder>,
    /// Files.
    pub files: Vec<CabFile>,
    /// Oddities noticed while parsing (reported as warnings).
    pub notes: Vec<String>,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Read a NUL-terminated string of at most 256 bytes (the CAB limit).
fn read_cstr<R: BufRead>(r: &mut R, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(32);
    loop {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).io_ctx(format_args!("reading {what}"))?;
        if b[0] == 0 {
            return Ok(out);
        }
        out.push(b[0]);
        if out.len() > 256 {
            return Err(Error::format(format!("{what} is longer than 256 bytes")));
        }
    }
}

/// Decode a stored name: UTF-8 when the attribute says so (invalid UTF-8 is an error),
/// otherwise each byte as its Latin-1 character.
pub fn decode_name(raw: &[u8], utf8: bool) -> Result<String> {
    if utf8 {
        String::from_utf8(raw.to_vec()).map_err(|_| {
            Error::format(format!(
                "file name {:?} is flagged UTF-8 but is not valid UTF-8",
                String::from_utf8_lossy(raw)
            ))
        })
    } else {
        Ok(raw.iter().map(|&b| char::from(b)).collect())
    }
}

impl CabHeader {
    /// Parse the cabinet directory from `r`, which is positioned anywhere; the cabinet
    /// starts at offset 0 of `r`.
    pub fn read<R: Read + Seek>(r: &mut R) -> Result<CabHeader> {
        r.seek(SeekFrom::Start(0)).io_ctx("seeking to the cabinet header")?;
        let mut r = BufReader::with_capacity(8192, &mut *r);
        let mut h = [0u8; 36];
        r.read_exact(&mut h).io_ctx("reading CFHEADER")?;
        if &h[0..4] != b"MSCF" {
            return Err(Error::format("not a cabinet (no MSCF signature)"));
        }
        let size = le32(&h, 8);
        let coff_files = le32(&h, 16);
        let version = (h[25], h[24]);
        let num_folders = le16(&h, 26);
        let num_files = le16(&h, 28);
        let flags = le16(&h, 30);
        let set_id = le16(&h, 32);
        let index = le16(&h, 34);
        if version.0 != 1 {
            return Err(Error::new(
                crate::error::ErrorKind::Unsupported,
                format!("cabinet format version {}.{} (only 1.x is known)", version.0, version.1),
            ));
        }
        let (mut header_reserve, mut folder_reserve, mut data_reserve) = (0u16, 0u8, 0u8);
        if flags & FLAG_RESERVE_PRESENT != 0 {
            let mut rb = [0u8; 4];
            r.read_exact(&mut rb).io_ctx("reading CFHEADER reserve sizes")?;
            header_reserve = le16(&rb, 0);
            folder_reserve = rb[2];
            data_reserve = rb[3];
            if header_reserve > 60000 {
                return Err(Error::format(format!(
                    "CFHEADER reserve of {header_reserve} bytes exceeds the 60,000 allowed"
                )));
            }
            std::io::copy(&mut (&mut r).take(u64::from(header_reserve)), &mut std::io::sink())
                .io_ctx("skipping CFHEADER reserve")?;
        }
        let mut prev = None;
        let mut next = None;
        if flags & FLAG_PREV_CABINET != 0 {
            let a = read_cstr(&mut r, "previous cabinet name")?;
            let b = read_cstr(&mut r, "previous disk name")?;
            prev = Some((decode_name(&a, false)?, decode_name(&b, false)?));
        }
        if flags & FLAG_NEXT_CABINET != 0 {
            let a = read_cstr(&mut r, "next cabinet name")?;
            let b = read_cstr(&mut r, "next disk name")?;
            next = Some((decode_name(&a, false)?, decode_name(&b, false)?));
        }
        let mut folders = Vec::with_capacity(usize::from(num_folders).min(1024));
        for i in 0..num_folders {
            let mut f = [0u8; 8];
            r.read_exact(&mut f).io_ctx(format_args!("reading CFFOLDER {i}"))?;
            std::io::copy(&mut (&mut r).take(u64::from(folder_reserve)), &mut std::io::sink())
                .io_ctx("skipping CFFOLDER reserve")?;
            folders.push(CabFolder {
                data_offset: le32(&f, 0),
                num_blocks: le16(&f, 4),
                compression: Compression::from_raw(le16(&f, 6)),
            });
        }
        // CFFILE entries are read where the folders end, as cabextract does; a coffFiles
        // that points elsewhere is reported, not followed.
        let here = r.stream_position().io_ctx("locating the CFFILE entries")?;
        let mut notes = Vec::new();
        if here != u64::from(coff_files) {
            notes.push(format!("coffFiles says {coff_files} but the folders end at {here}; reading files at {here}"));
        }
        let mut files = Vec::with_capacity(usize::from(num_files).min(4096));
        for i in 0..num_files {
            match read_file_entry(&mut r).map_err(|e| e.context(format!("reading CFFILE {i}")))? {
                Some((f, _)) => files.push(f),
                None => return Err(Error::format(format!("CFFILE {i} has an empty name"))),
            }
        }
        // More than 65,535 files: cFiles is 16 bits, and gcab writes the count modulo
        // 65,536 with every entry still in place. When well-formed entries fill the gap to
        // the first data block exactly, and their number is a multiple of 65,536, they are
        // read too.
        let data_start = folders.iter().map(|f| u64::from(f.data_offset)).min().unwrap_or(0);
        let at = r.stream_position().io_ctx("locating the end of the CFFILE entries")?;
        if data_start > at && data_start - at >= 65_536 * 18 && data_start <= u64::from(size) {
            let mut extra = Vec::new();
            let mut pos = at;
            // At most four wraps (262,144 more entries), so a header area cannot hold
            // memory without bound.
            while pos < data_start && extra.len() < 4 * 65_536 {
                let Some((f, used)) = read_file_entry(&mut r).ok().flatten() else { break };
                extra.push(f);
                pos += used;
            }
            if pos == data_start && !extra.is_empty() && extra.len() % 65_536 == 0 {
                notes.push(format!(
                    "cFiles says {num_files} but {} entries fill the space before the data (the count wrapped past 65,535)",
                    files.len() + extra.len()
                ));
                files.extend(extra);
            }
        }
        files.shrink_to_fit();
        Ok(CabHeader {
            size,
            version,
            flags,
            set_id,
            index,
            header_reserve,
            folder_reserve,
            data_reserve,
            prev,
            next,
            folders,
            files,
            notes,
        })
    }
}

/// One CFFILE entry and the bytes it took (`None` when its name is empty).
fn read_file_entry(r: &mut impl BufRead) -> Result<Option<(CabFile, u64)>> {
    let mut f = [0u8; 16];
    r.read_exact(&mut f).io_ctx("reading a CFFILE entry")?;
    let attribs = le16(&f, 14);
    let raw = read_cstr(r, "file name")?;
    if raw.is_empty() {
        return Ok(None);
    }
    let (name, name_error) = match decode_name(&raw, attribs & ATTR_NAME_IS_UTF != 0) {
        Ok(n) => (n, None),
        Err(e) => (String::from_utf8_lossy(&raw).into_owned(), Some(e.message().into())),
    };
    let used = 16 + raw.len() as u64 + 1;
    Ok(Some((
        CabFile {
            name,
            name_error,
            size: le32(&f, 0),
            offset: le32(&f, 4),
            folder: le16(&f, 8),
            date: le16(&f, 10),
            time: le16(&f, 12),
            attribs,
        },
        used,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored cabinet of `n` one-byte files whose cFiles field holds `n` modulo 65,536,
    /// as gcab writes it; `short` leaves the last entry out of the bytes before the data.
    fn wrapped(n: usize, short: bool) -> Vec<u8> {
        let names: Vec<String> = (0..n).map(|i| format!("f{i:06}")).collect();
        let listed = if short { n - 1 } else { n };
        let files_len: usize = names[..listed].iter().map(|s| 16 + s.len() + 1).sum();
        let data_off = 36 + 8 + files_len;
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        let blocks: Vec<&[u8]> = data.chunks(32768).collect();
        let total = data_off + blocks.iter().map(|b| 8 + b.len()).sum::<usize>();
        let mut out = b"MSCF".to_vec();
        for v in [0u32, total as u32, 0, 44, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[3, 1]);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&((n % 65_536) as u16).to_le_bytes());
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&(data_off as u32).to_le_bytes());
        out.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        for (i, name) in names[..listed].iter().enumerate() {
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&(i as u32).to_le_bytes());
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(name.as_bytes());
            out.push(0);
        }
        for b in blocks {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(b.len() as u16).to_le_bytes());
            out.extend_from_slice(&(b.len() as u16).to_le_bytes());
            out.extend_from_slice(b);
        }
        out
    }

    #[test]
    fn a_file_count_wrapped_past_65535_is_read_whole() {
        let cab = wrapped(65_538, false);
        let h = CabHeader::read(&mut std::io::Cursor::new(&cab)).unwrap();
        assert_eq!(h.files.len(), 65_538);
        assert_eq!(h.files[65_537].name, "f065537");
        assert_eq!(h.files[65_537].offset, 65_537);
        assert!(h.notes.iter().any(|n| n.contains("wrapped")), "{:?}", h.notes);
        // One entry short of the data: the extra entries are not a whole wrap, and only
        // the count cFiles gives is read.
        let cab = wrapped(65_538, true);
        let h = CabHeader::read(&mut std::io::Cursor::new(&cab)).unwrap();
        assert_eq!(h.files.len(), 2);
        assert!(h.notes.is_empty(), "{:?}", h.notes);
    }
}
