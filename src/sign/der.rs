//! A bounded DER reader for the structures Authenticode uses.
//!
//! Only what signatures need: single-byte tags, definite lengths of at most four length
//! bytes, and values that must lie inside their parent. Nothing is allocated from a length
//! field, and nesting is bounded by the fixed shape of the parsers that call it (the one
//! recursive structure, a nested signature, carries its own depth limit).

use std::fmt;

/// Why a structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Result of a DER read.
pub type DResult<T> = std::result::Result<T, Malformed>;

/// A malformed-structure error.
pub fn bad<T>(msg: impl Into<String>) -> DResult<T> {
    Err(Malformed(msg.into()))
}

/// Universal tags used here.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;
}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// The whole encoding (identifier, length and contents).
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the contents (for a constructed element).
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.value)
    }
    /// Expect `t` as the tag.
    pub fn need(self, t: u8, what: &str) -> DResult<Tlv<'a>> {
        if self.tag == t {
            Ok(self)
        } else {
            bad(format!("{what}: expected tag 0x{t:02x}, found 0x{:02x}", self.tag))
        }
    }
    /// The contents of an OBJECT IDENTIFIER as dotted text.
    pub fn oid(&self) -> DResult<String> {
        if self.tag != tag::OID {
            return bad(format!("expected an object identifier, found tag 0x{:02x}", self.tag));
        }
        oid_to_string(self.value)
    }
    /// The contents of a non-negative INTEGER that fits in a u64.
    pub fn small_uint(&self) -> DResult<u64> {
        if self.tag != tag::INTEGER || self.value.is_empty() {
            return bad("expected an integer");
        }
        let v = strip_sign(self.value);
        if self.value[0] & 0x80 != 0 || v.len() > 8 {
            return bad("integer out of range");
        }
        Ok(v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }
    /// A BIT STRING's bytes (the unused-bits count must be 0 for keys and signatures).
    pub fn bit_string_bytes(&self) -> DResult<&'a [u8]> {
        if self.tag != tag::BIT_STRING || self.value.is_empty() {
            return bad("expected a bit string");
        }
        Ok(&self.value[1..])
    }
    /// A BOOLEAN's value.
    pub fn boolean(&self) -> DResult<bool> {
        if self.tag != tag::BOOLEAN || self.value.len() != 1 {
            return bad("expected a boolean");
        }
        Ok(self.value[0] != 0)
    }
}

/// Leading zero bytes of an unsigned integer's encoding removed.
pub fn strip_sign(v: &[u8]) -> &[u8] {
    let mut v = v;
    while v.len() > 1 && v[0] == 0 {
        v = &v[1..];
    }
    v
}

/// A cursor over consecutive elements.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    /// Whether every element has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
    /// The next element's tag, without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }
    /// Read the next element.
    pub fn next_tlv(&mut self) -> DResult<Tlv<'a>> {
        let (tlv, len) = parse_one(&self.data[self.pos.min(self.data.len())..])?;
        self.pos += len;
        Ok(tlv)
    }
    /// Read the next element, which must have tag `t`.
    pub fn need(&mut self, t: u8, what: &str) -> DResult<Tlv<'a>> {
        self.next_tlv()?.need(t, what)
    }
    /// Read the next element if its tag is `t`.
    pub fn optional(&mut self, t: u8) -> DResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(t) {
            Ok(Some(self.next_tlv()?))
        } else {
            Ok(None)
        }
    }
    /// Every remaining element, at most `max` of them.
    pub fn all(&mut self, max: usize, what: &str) -> DResult<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        while !self.is_empty() {
            if out.len() >= max {
                return bad(format!("more than {max} {what}"));
            }
            out.push(self.next_tlv()?);
        }
        Ok(out)
    }
}

/// Parse one element at the start of `data`; returns it and its encoded length.
pub fn parse_one(data: &[u8]) -> DResult<(Tlv<'_>, usize)> {
    if data.len() < 2 {
        return bad("truncated element");
    }
    let t = data[0];
    if t & 0x1f == 0x1f {
        return bad("multi-byte tags are not used in signatures");
    }
    let first = data[1];
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 {
            return bad("indefinite length (BER) is not DER");
        }
        if n > 4 {
            return bad("length field too long");
        }
        if data.len() < 2 + n {
            return bad("truncated length");
        }
        let len = data[2..2 + n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, 2 + n)
    };
    let end = hdr.checked_add(len).ok_or_else(|| Malformed("length overflow".into()))?;
    if end > data.len() {
        return bad(format!("element of {len} bytes runs past its container"));
    }
    Ok((Tlv { tag: t, value: &data[hdr..end], raw: &data[..end] }, end))
}

/// Parse exactly one element filling `data` (trailing bytes allowed when `lenient`).
pub fn parse_whole(data: &[u8], lenient: bool) -> DResult<Tlv<'_>> {
    let (tlv, len) = parse_one(data)?;
    if !lenient && len != data.len() {
        return bad("trailing bytes after the structure");
    }
    Ok(tlv)
}

/// An OBJECT IDENTIFIER's contents as dotted text.
pub fn oid_to_string(v: &[u8]) -> DResult<String> {
    if v.is_empty() || v.len() > 64 {
        return bad("bad object identifier length");
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    let mut started = false;
    for &b in v {
        if !started && b == 0x80 {
            return bad("non-minimal object identifier arc");
        }
        started = true;
        if cur > (u64::MAX >> 7) {
            return bad("object identifier arc too large");
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(cur);
            cur = 0;
            started = false;
        }
    }
    if started {
        return bad("truncated object identifier");
    }
    let first = arcs[0];
    let (a, b) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    let mut s = format!("{a}.{b}");
    for x in &arcs[1..] {
        s.push('.');
        s.push_str(&x.to_string());
    }
    Ok(s)
}

/// A UTCTime or GeneralizedTime as Unix seconds.
pub fn time(t: &Tlv<'_>) -> DResult<i64> {
    let s = std::str::from_utf8(t.value).map_err(|_| Malformed("time is not text".into()))?;
    let s = s.strip_suffix('Z').ok_or_else(|| Malformed(format!("time {s:?} is not in UTC")))?;
    let (year, rest) = match t.tag {
        tag::UTC_TIME => {
            let y: i64 = num(s.get(..2))?;
            (if y >= 50 { 1900 + y } else { 2000 + y }, s.get(2..).unwrap_or(""))
        }
        tag::GENERALIZED_TIME => (num(s.get(..4))?, s.get(4..).unwrap_or("")),
        other => return bad(format!("expected a time, found tag 0x{other:02x}")),
    };
    // Fractional seconds (GeneralizedTime in timestamps) are dropped.
    let rest = rest.split('.').next().unwrap_or("");
    if rest.len() != 10 && rest.len() != 8 {
        return bad(format!("time {s:?} has an unexpected length"));
    }
    let mo: i64 = num(rest.get(0..2))?;
    let d: i64 = num(rest.get(2..4))?;
    let h: i64 = num(rest.get(4..6))?;
    let mi: i64 = num(rest.get(6..8))?;
    let sec: i64 = if rest.len() == 10 { num(rest.get(8..10))? } else { 0 };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return bad(format!("time {s:?} out of range"));
    }
    // A leap second (60) counts as the last second of its minute.
    match crate::dates::civil_to_unix(year, mo, d, h, mi, sec.min(59)) {
        Some(t) => Ok(t),
        None => bad(format!("time {s:?} names no real day")),
    }
}

fn num(s: Option<&str>) -> DResult<i64> {
    match s {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| Malformed("bad number in time".into()))
        }
        _ => bad("bad digits in time"),
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    // Civil from days (proleptic Gregorian).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Encode a length (for building prefixes and re-tagged structures).
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encode one element.
pub fn encode(t: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![t];
    encode_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

/// Encode a dotted OID's contents.
pub fn encode_oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut out = Vec::new();
    if arcs.len() < 2 {
        return out;
    }
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        out.extend_from_slice(&tmp);
    };
    push(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trip() {
        for o in ["1.2.840.113549.1.7.2", "1.3.6.1.4.1.311.2.1.4", "2.16.840.1.101.3.4.2.1", "2.5.29.37.0"] {
            assert_eq!(oid_to_string(&encode_oid(o)).unwrap(), o);
        }
    }

    #[test]
    fn times() {
        let t = Tlv { tag: tag::UTC_TIME, value: b"170218171458Z", raw: b"" };
        assert_eq!(format_time(time(&t).unwrap()), "2017-02-18T17:14:58Z");
        let g = Tlv { tag: tag::GENERALIZED_TIME, value: b"20220224235735.123Z", raw: b"" };
        assert_eq!(format_time(time(&g).unwrap()), "2022-02-24T23:57:35Z");
        let old = Tlv { tag: tag::UTC_TIME, value: b"970110070000Z", raw: b"" };
        assert_eq!(format_time(time(&old).unwrap()), "1997-01-10T07:00:00Z");
    }

    #[test]
    fn hostile_lengths() {
        assert!(parse_one(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse_one(&[0x30, 0x80, 0, 0]).is_err());
        assert!(parse_one(&[0x30]).is_err());
        assert!(parse_one(&[0x1f, 0x01, 0x00]).is_err());
        assert!(oid_to_string(&[0x2a, 0x86]).is_err());
        let (t, n) = parse_one(&[0x04, 0x02, 1, 2, 9]).unwrap();
        assert_eq!((t.value, n), (&[1u8, 2][..], 4));
    }
}
