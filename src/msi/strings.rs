//! The database string pool (`_StringPool` + `_StringData`), read by us: transforms carry
//! their own pools, and the `msi` crate must not be handed a pool that lies about sizes.

use crate::error::{Error, Result};

/// Sum of the string lengths a `_StringPool` stream declares (long strings included).
pub fn declared_data_len(pool: &[u8]) -> u64 {
    let entries: Vec<(u16, u16)> = pool
        .chunks_exact(4)
        .skip(1)
        .map(|c| (u16::from_le_bytes([c[0], c[1]]), u16::from_le_bytes([c[2], c[3]])))
        .collect();
    let mut total = 0u64;
    let mut i = 0;
    while i < entries.len() {
        let (len, refs) = entries[i];
        if len == 0 && refs != 0 && i + 1 < entries.len() {
            let (lo, hi) = entries[i + 1];
            total += (u64::from(hi) << 16) | u64::from(lo);
            i += 2;
        } else {
            total += u64::from(len);
            i += 1;
        }
    }
    total
}

/// A decoded string pool: id -> string (id 0 is NULL).
#[derive(Debug, Clone, Default)]
pub struct StringPool {
    /// Strings by id; index 0 unused.
    pub strings: Vec<Option<String>>,
    /// Code page.
    pub codepage: u32,
    /// String references are 3 bytes wide.
    pub long_refs: bool,
}

/// The encoding of a Windows code page (the neutral code page 0 reads as 1252).
pub fn encoding_for(codepage: u32) -> &'static encoding_rs::Encoding {
    use encoding_rs::*;
    match codepage {
        65001 => UTF_8,
        932 => SHIFT_JIS,
        936 => GBK,
        949 => EUC_KR,
        950 => BIG5,
        874 => WINDOWS_874,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        866 => IBM866,
        _ => WINDOWS_1252,
    }
}

/// Whether `codepage` is one a string pool may declare: the `msi` crate's list (the
/// Windows, Mac, ISO 8859 and UTF-8 code pages, and 0 for neutral) and the two more
/// [`encoding_for`] knows (874 Thai, 866 Cyrillic DOS).
pub fn known_codepage(codepage: u32) -> bool {
    i32::try_from(codepage).ok().and_then(msi::CodePage::from_id).is_some() || matches!(codepage, 874 | 866)
}

/// Decode bytes stored in `codepage`.
pub fn decode(bytes: &[u8], codepage: u32) -> String {
    if bytes.is_ascii() {
        // Plain ASCII is the same in every code page.
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if let Some(cp) = i32::try_from(codepage).ok().and_then(msi::CodePage::from_id) {
        return cp.decode(bytes);
    }
    encoding_for(codepage).decode_without_bom_handling(bytes).0.into_owned()
}

impl StringPool {
    /// Parse the two streams.
    pub fn parse(pool: &[u8], data: &[u8]) -> Result<StringPool> {
        if pool.len() < 4 {
            return Ok(StringPool { strings: vec![None], codepage: 0, long_refs: false });
        }
        let w0 = u32::from(u16::from_le_bytes([pool[0], pool[1]]));
        let w1 = u32::from(u16::from_le_bytes([pool[2], pool[3]]));
        let codepage = w0 | ((w1 & 0x7FFF) << 16);
        let long_refs = w1 & 0x8000 != 0;
        if declared_data_len(pool) > data.len() as u64 {
            return Err(Error::format("string pool declares more string bytes than _StringData holds"));
        }
        let entries: Vec<(u16, u16)> = pool
            .chunks_exact(4)
            .skip(1)
            .map(|c| (u16::from_le_bytes([c[0], c[1]]), u16::from_le_bytes([c[2], c[3]])))
            .collect();
        let mut strings = vec![None];
        let mut off = 0usize;
        let mut i = 0;
        while i < entries.len() {
            let (len, refs) = entries[i];
            let (n, step) = if len == 0 && refs != 0 && i + 1 < entries.len() {
                let (lo, hi) = entries[i + 1];
                (((usize::from(hi)) << 16) | usize::from(lo), 2)
            } else {
                (usize::from(len), 1)
            };
            let end = off + n;
            let bytes = data.get(off..end).ok_or_else(|| Error::format("string data shorter than the pool says"))?;
            strings.push(if n == 0 && refs == 0 { None } else { Some(decode(bytes, codepage)) });
            off = end;
            i += step;
        }
        Ok(StringPool { strings, codepage, long_refs })
    }

    /// String `id` (`None` for 0 or an unused id).
    pub fn get(&self, id: u32) -> Option<&str> {
        self.strings.get(id as usize).and_then(|s| s.as_deref())
    }

    /// Width of a string reference in bytes.
    pub fn ref_width(&self) -> usize {
        if self.long_refs {
            3
        } else {
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn long_strings_and_sizes() {
        // header (codepage 1252), "ab" (len 2, 1 ref), long string of 70000 bytes.
        let mut pool = vec![0xE4, 0x04, 0, 0];
        pool.extend_from_slice(&[2, 0, 1, 0]);
        pool.extend_from_slice(&[0, 0, 1, 0]);
        pool.extend_from_slice(&(70000u32 & 0xFFFF).to_le_bytes()[..2]);
        pool.extend_from_slice(&((70000u32 >> 16) as u16).to_le_bytes());
        assert_eq!(declared_data_len(&pool), 70002);
        let mut data = b"ab".to_vec();
        data.extend(std::iter::repeat_n(b'x', 70000));
        let p = StringPool::parse(&pool, &data).unwrap();
        assert_eq!(p.get(1), Some("ab"));
        assert_eq!(p.get(2).map(str::len), Some(70000));
        assert_eq!(p.codepage, 1252);
        assert!(StringPool::parse(&pool, b"ab").is_err());
    }
}
