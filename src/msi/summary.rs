//! The summary information stream (an OLE property set), read by us so that raw Template
//! and Revision strings survive and Word Count can be patched in place.

use crate::error::{Error, Result};

/// One property value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PropValue {
    /// VT_I2 / VT_I4.
    Int(i32),
    /// VT_LPSTR.
    Str(String),
    /// VT_FILETIME as an ISO-8601 UTC string.
    Time(String),
    /// Anything else, as its type number.
    Other(u32),
}

/// A parsed summary information stream.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// (property id, name, value) in stream order.
    pub properties: Vec<(u32, String, PropValue)>,
    /// Offset of the Word Count value (PID 15) within the stream, when it is a VT_I4.
    #[serde(skip)]
    pub word_count_offset: Option<usize>,
}

/// Name of summary property `pid` in Windows Installer terms.
pub fn prop_name(pid: u32) -> &'static str {
    match pid {
        1 => "Codepage",
        2 => "Title",
        3 => "Subject",
        4 => "Author",
        5 => "Keywords",
        6 => "Comments",
        7 => "Template",
        8 => "Last Saved By",
        9 => "Revision Number",
        11 => "Last Printed",
        12 => "Create Time/Date",
        13 => "Last Save Time/Date",
        14 => "Page Count",
        15 => "Word Count",
        16 => "Character Count",
        18 => "Creating Application",
        19 => "Security",
        _ => "Unknown",
    }
}

fn u16at(b: &[u8], at: usize) -> Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| Error::format(format!("summary information truncated at byte {at}")))
}
fn u32at(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| Error::format(format!("summary information truncated at byte {at}")))
}

/// FILETIME (100 ns since 1601) to `YYYY-MM-DDThh:mm:ssZ`.
pub fn filetime_string(ft: u64) -> String {
    crate::dates::unix_to_iso(crate::dates::filetime_to_unix(ft))
}

impl Summary {
    /// Parse the stream bytes. Strings are decoded with the stream's code page when it
    /// is UTF-8 or 1252-compatible; other bytes map one to one (Latin-1).
    pub fn parse(b: &[u8]) -> Result<Summary> {
        if u16at(b, 0)? != 0xFFFE {
            return Err(Error::format("summary information has no property-set byte order mark"));
        }
        let nsec = u32at(b, 24)?;
        if nsec == 0 {
            return Ok(Summary::default());
        }
        let sec = u32at(b, 44)? as usize;
        let nprops = u32at(b, sec + 4)? as usize;
        if nprops > 1024 {
            return Err(Error::format(format!("summary information claims {nprops} properties")));
        }
        let mut props = Vec::with_capacity(nprops);
        let mut codepage = 1252i32;
        let mut wc_off = None;
        for i in 0..nprops {
            let pid = u32at(b, sec + 8 + i * 8)?;
            let off = sec
                .checked_add(u32at(b, sec + 12 + i * 8)? as usize)
                .ok_or_else(|| Error::format("summary property offset overflows"))?;
            let vt = u32at(b, off)? & 0xFFFF;
            let v = match vt {
                // The code page (PID 1) is an unsigned 16-bit number stored as VT_I2:
                // 65001 (UTF-8) would read as -535.
                2 if pid == 1 => PropValue::Int(i32::from(u16at(b, off + 4)?)),
                2 => PropValue::Int(i32::from(u16at(b, off + 4)? as i16)),
                3 => {
                    if pid == 15 {
                        wc_off = Some(off + 4);
                    }
                    PropValue::Int(u32at(b, off + 4)? as i32)
                }
                30 => {
                    let n = u32at(b, off + 4)? as usize;
                    let raw = b
                        .get(off + 8..off + 8 + n)
                        .ok_or_else(|| Error::format(format!("summary property {pid} string runs past the end")))?;
                    let raw = raw.split(|&c| c == 0).next().unwrap_or(&[]);
                    let s = super::strings::decode(raw, codepage as u32);
                    PropValue::Str(s)
                }
                64 => {
                    let lo = u32at(b, off + 4)? as u64;
                    let hi = u32at(b, off + 8)? as u64;
                    PropValue::Time(filetime_string((hi << 32) | lo))
                }
                other => PropValue::Other(other),
            };
            if pid == 1 {
                if let PropValue::Int(c) = v {
                    codepage = c & 0xFFFF;
                }
            }
            props.push((pid, prop_name(pid).to_string(), v));
        }
        Ok(Summary { properties: props, word_count_offset: wc_off })
    }

    /// The value of property `pid`.
    pub fn get(&self, pid: u32) -> Option<&PropValue> {
        self.properties.iter().find(|p| p.0 == pid).map(|p| &p.2)
    }

    /// A string property.
    pub fn get_str(&self, pid: u32) -> Option<&str> {
        match self.get(pid) {
            Some(PropValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Word Count (source type flags for packages).
    pub fn word_count(&self) -> Option<i32> {
        match self.get(15) {
            Some(PropValue::Int(v)) => Some(*v),
            _ => None,
        }
    }
}

/// A value to write into a summary information stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SummaryValue {
    /// VT_I2.
    I2(i16),
    /// VT_I4.
    I4(i32),
    /// VT_LPSTR, stored in the code page property 1 names (1252 without one).
    Str(String),
    /// VT_FILETIME (100 ns since 1601).
    Time(u64),
}

/// Unix seconds as a FILETIME.
pub fn unix_to_filetime(secs: i64) -> u64 {
    ((secs + 11_644_473_600).max(0) as u64) * 10_000_000
}

/// A summary information stream (one section, FMTID_SummaryInformation) holding
/// `props` in the order given.
pub fn write_summary(props: &[(u32, SummaryValue)]) -> Vec<u8> {
    let codepage = props
        .iter()
        .find_map(|(pid, v)| match (pid, v) {
            (1, SummaryValue::I2(c)) => Some(*c as u16 as u32),
            _ => None,
        })
        .unwrap_or(1252);
    let enc = super::strings::encoding_for(codepage);
    let mut body = Vec::new();
    let mut offsets = Vec::new();
    let header_len = 8 + 8 * props.len();
    for (pid, v) in props {
        offsets.push((*pid, (header_len + body.len()) as u32));
        match v {
            SummaryValue::I2(x) => {
                body.extend_from_slice(&2u32.to_le_bytes());
                body.extend_from_slice(&x.to_le_bytes());
                body.extend_from_slice(&[0, 0]);
            }
            SummaryValue::I4(x) => {
                body.extend_from_slice(&3u32.to_le_bytes());
                body.extend_from_slice(&x.to_le_bytes());
            }
            SummaryValue::Str(s) => {
                let bytes = enc.encode(s).0;
                body.extend_from_slice(&30u32.to_le_bytes());
                body.extend_from_slice(&(bytes.len() as u32 + 1).to_le_bytes());
                body.extend_from_slice(&bytes);
                body.push(0);
                while body.len() % 4 != 0 {
                    body.push(0);
                }
            }
            SummaryValue::Time(t) => {
                body.extend_from_slice(&64u32.to_le_bytes());
                body.extend_from_slice(&t.to_le_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(48 + header_len + body.len());
    out.extend_from_slice(&0xFFFEu16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0x0002_0105u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&1u32.to_le_bytes());
    // FMTID_SummaryInformation F29F85E0-4FF9-1068-AB91-08002B27B3D9
    out.extend_from_slice(&[
        0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9,
    ]);
    out.extend_from_slice(&48u32.to_le_bytes());
    out.extend_from_slice(&((header_len + body.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(props.len() as u32).to_le_bytes());
    for (pid, off) in offsets {
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// A new value for a summary property.
#[derive(Debug, Clone)]
pub enum NewValue {
    /// VT_LPSTR in the stream's code page.
    Str(String),
    /// VT_I4.
    I4(i32),
}

/// Rebuild a summary stream with some properties replaced or added (first section only;
/// every other property keeps its bytes).
pub fn rewrite(b: &[u8], changes: &[(u32, NewValue)]) -> crate::error::Result<Vec<u8>> {
    if u16at(b, 0)? != 0xFFFE || u32at(b, 24)? == 0 {
        return Err(Error::format("summary information is not a property set"));
    }
    let sec = u32at(b, 44)? as usize;
    let sec_size = u32at(b, sec)? as usize;
    let n = u32at(b, sec + 4)? as usize;
    if n > 1024 || sec.checked_add(sec_size).is_none_or(|e| e > b.len()) {
        return Err(Error::format("summary information section out of bounds"));
    }
    let mut props: Vec<(u32, usize)> = (0..n)
        .map(|i| Ok((u32at(b, sec + 8 + i * 8)?, u32at(b, sec + 12 + i * 8)? as usize)))
        .collect::<crate::error::Result<_>>()?;
    let mut by_off: Vec<usize> = props.iter().map(|p| p.1).collect();
    by_off.sort_unstable();
    let codepage = props.iter().find(|p| p.0 == 1).and_then(|p| u16at(b, sec + p.1 + 4).ok()).unwrap_or(1252) as u32;
    let mut values: Vec<(u32, Vec<u8>)> = Vec::new();
    for (pid, off) in props.drain(..) {
        let next = by_off.iter().find(|&&o| o > off).copied().unwrap_or(sec_size);
        let raw = b.get(sec + off..sec + next).ok_or_else(|| Error::format("summary property out of bounds"))?;
        values.push((pid, raw.to_vec()));
    }
    for (pid, v) in changes {
        let mut raw = Vec::new();
        match v {
            NewValue::Str(s) => {
                let mut bytes = super::strings::encoding_for(codepage).encode(s).0.into_owned();
                bytes.push(0);
                raw.extend_from_slice(&30u32.to_le_bytes());
                raw.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                raw.extend_from_slice(&bytes);
            }
            NewValue::I4(i) => {
                raw.extend_from_slice(&3u32.to_le_bytes());
                raw.extend_from_slice(&i.to_le_bytes());
            }
        }
        while raw.len() % 4 != 0 {
            raw.push(0);
        }
        match values.iter_mut().find(|x| x.0 == *pid) {
            Some(x) => x.1 = raw,
            None => values.push((*pid, raw)),
        }
    }
    let count = values.len();
    let mut section = Vec::new();
    let header_len = 8 + 8 * count;
    let mut offsets = Vec::new();
    let mut body = Vec::new();
    for (pid, raw) in &values {
        offsets.push((*pid, (header_len + body.len()) as u32));
        body.extend_from_slice(raw);
    }
    section.extend_from_slice(&((header_len + body.len()) as u32).to_le_bytes());
    section.extend_from_slice(&(count as u32).to_le_bytes());
    for (pid, off) in offsets {
        section.extend_from_slice(&pid.to_le_bytes());
        section.extend_from_slice(&off.to_le_bytes());
    }
    section.extend_from_slice(&body);
    let mut out = b[..sec].to_vec();
    out.extend_from_slice(&section);
    Ok(out)
}
