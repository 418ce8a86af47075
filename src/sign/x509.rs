//! X.509 certificates: the fields chain building needs, read leniently enough for the
//! 1990s roots still found in old signatures.

use super::crypto::{self, HashAlg, PublicKey, SigError};
use super::der::{self, bad, tag, DResult, Malformed, Reader, Tlv};
use super::oid;

/// A parsed certificate, owning its encoding.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The whole DER encoding.
    pub der: Vec<u8>,
    /// Byte range of the to-be-signed part inside `der`.
    tbs: (usize, usize),
    /// Version (1, 2 or 3).
    pub version: u8,
    /// Serial number contents (as encoded).
    pub serial: Vec<u8>,
    /// Issuer name (DER).
    pub issuer: Vec<u8>,
    /// Subject name (DER).
    pub subject: Vec<u8>,
    /// The subject's and the issuer's attributes normalised for comparison (see
    /// [`names_equal`]), computed once: chain building compares every candidate.
    subject_norm: Option<Vec<(String, String)>>,
    issuer_norm: Option<Vec<(String, String)>>,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// The public key.
    pub key: PublicKey,
    /// The SubjectPublicKeyInfo encoding (for comparing keys).
    pub spki: Vec<u8>,
    /// Outer signature algorithm OID.
    pub sig_alg: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// basicConstraints: (cA, pathLenConstraint), when present.
    pub basic_constraints: Option<(bool, Option<u64>)>,
    /// keyUsage bits (bit 0 = digitalSignature is the lowest bit here), when present.
    pub key_usage: Option<u16>,
    /// extendedKeyUsage OIDs, when present.
    pub ext_key_usage: Option<Vec<String>>,
    /// subjectKeyIdentifier, when present.
    pub subject_key_id: Option<Vec<u8>>,
    /// A critical extension this reader does not know (the certificate is then unusable).
    pub unknown_critical: Option<String>,
}

/// keyUsage digitalSignature.
pub const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
/// keyUsage keyCertSign.
pub const KU_KEY_CERT_SIGN: u16 = 1 << 5;

impl Certificate {
    /// Parse one certificate (DER; trailing bytes refused).
    pub fn parse(data: &[u8]) -> DResult<Certificate> {
        let outer = der::parse_whole(data, false)?.need(tag::SEQUENCE, "certificate")?;
        Self::from_tlv(&outer)
    }

    /// Parse a certificate element.
    pub fn from_tlv(outer: &Tlv<'_>) -> DResult<Certificate> {
        let base = outer.raw.as_ptr() as usize;
        let mut r = outer.reader();
        let tbs = r.need(tag::SEQUENCE, "tbsCertificate")?;
        let sig_alg = crypto::alg_oid(&r.need(tag::SEQUENCE, "signature algorithm")?)?;
        let signature = r.need(tag::BIT_STRING, "signature")?.bit_string_bytes()?.to_vec();
        let tbs_start = tbs.raw.as_ptr() as usize - base;
        let mut t = tbs.reader();
        let mut version = 1u8;
        if let Some(v) = t.optional(0xa0)? {
            let n = v.reader().need(tag::INTEGER, "version")?.small_uint()?;
            version = match n {
                0..=2 => n as u8 + 1,
                _ => return bad(format!("certificate version {n}")),
            };
        }
        let serial = t.need(tag::INTEGER, "serial number")?.value.to_vec();
        t.need(tag::SEQUENCE, "tbs signature algorithm")?;
        let issuer = t.need(tag::SEQUENCE, "issuer")?.raw.to_vec();
        let validity = t.need(tag::SEQUENCE, "validity")?;
        let mut vr = validity.reader();
        let not_before = der::time(&vr.next_tlv()?)?;
        let not_after = der::time(&vr.next_tlv()?)?;
        let subject = t.need(tag::SEQUENCE, "subject")?.raw.to_vec();
        let spki = t.need(tag::SEQUENCE, "subject public key info")?;
        let key = PublicKey::from_spki(&spki)?;
        let (subject_norm, issuer_norm) = (normalised_name(&subject), normalised_name(&issuer));
        let mut cert = Certificate {
            subject_norm,
            issuer_norm,
            der: outer.raw.to_vec(),
            tbs: (tbs_start, tbs_start + tbs.raw.len()),
            version,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            key,
            spki: spki.raw.to_vec(),
            sig_alg,
            signature,
            basic_constraints: None,
            key_usage: None,
            ext_key_usage: None,
            subject_key_id: None,
            unknown_critical: None,
        };
        while let Some(tlv) = (!t.is_empty()).then(|| t.next_tlv()).transpose()? {
            if tlv.tag == 0xa3 {
                let exts = tlv.reader().need(tag::SEQUENCE, "extensions")?;
                let mut er = exts.reader();
                for ext in er.all(256, "extensions")? {
                    cert.extension(&ext.need(tag::SEQUENCE, "extension")?)?;
                }
            }
        }
        Ok(cert)
    }

    fn extension(&mut self, ext: &Tlv<'_>) -> DResult<()> {
        let mut r = ext.reader();
        let id = r.need(tag::OID, "extension id")?.oid()?;
        let critical = match r.optional(tag::BOOLEAN)? {
            Some(b) => b.boolean()?,
            None => false,
        };
        let value = r.need(tag::OCTET_STRING, "extension value")?.value;
        let inner = der::parse_whole(value, false)?;
        match id.as_str() {
            oid::EXT_BASIC_CONSTRAINTS => {
                let mut br = inner.need(tag::SEQUENCE, "basicConstraints")?.reader();
                let ca = match br.optional(tag::BOOLEAN)? {
                    Some(b) => b.boolean()?,
                    None => false,
                };
                let path = match br.optional(tag::INTEGER)? {
                    Some(i) => Some(i.small_uint()?),
                    None => None,
                };
                self.basic_constraints = Some((ca, path));
            }
            oid::EXT_KEY_USAGE => {
                let bits = inner.need(tag::BIT_STRING, "keyUsage")?.value;
                let mut ku = 0u16;
                // Bit 0 is the high bit of the first content byte after the unused-bits count.
                for i in 0..16usize {
                    let byte = bits.get(1 + i / 8).copied().unwrap_or(0);
                    if byte & (0x80 >> (i % 8)) != 0 {
                        ku |= 1 << i;
                    }
                }
                self.key_usage = Some(ku);
            }
            oid::EXT_EXT_KEY_USAGE => {
                let mut er = inner.need(tag::SEQUENCE, "extKeyUsage")?.reader();
                let mut v = Vec::new();
                for o in er.all(64, "key purposes")? {
                    v.push(o.oid()?);
                }
                self.ext_key_usage = Some(v);
            }
            oid::EXT_SUBJECT_KEY_ID => {
                self.subject_key_id = Some(inner.need(tag::OCTET_STRING, "subjectKeyIdentifier")?.value.to_vec());
            }
            // Policies, name constraints and the like are not evaluated; an unknown critical
            // extension makes the certificate unusable for chain building.
            "2.5.29.32" | "2.5.29.35" | "2.5.29.17" | "2.5.29.31" | "1.3.6.1.5.5.7.1.1" => {}
            other if critical => {
                self.unknown_critical = Some(other.to_string());
            }
            _ => {}
        }
        Ok(())
    }

    /// The to-be-signed bytes.
    pub fn tbs(&self) -> &[u8] {
        &self.der[self.tbs.0..self.tbs.1]
    }

    /// The subject as text (`CN=..., O=...`, in encoding order).
    pub fn subject_text(&self) -> String {
        name_text(&self.subject)
    }

    /// The issuer as text.
    pub fn issuer_text(&self) -> String {
        name_text(&self.issuer)
    }

    /// One attribute of the subject (first occurrence).
    pub fn subject_attr(&self, attr_oid: &str) -> Option<String> {
        name_attrs(&self.subject).ok()?.into_iter().find(|(o, _)| o == attr_oid).map(|(_, v)| v)
    }

    /// Serial number as upper-case hex.
    pub fn serial_hex(&self) -> String {
        der::strip_sign(&self.serial).iter().map(|b| format!("{b:02X}")).collect()
    }

    /// SHA-256 of the encoding, lower-case hex.
    pub fn sha256_hex(&self) -> String {
        HashAlg::Sha256.digest(&self.der).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether the subject names the same entity as `issuer_name` (DER equality, or the
    /// same attributes once string types and case are normalised).
    pub fn subject_matches(&self, issuer_name: &[u8]) -> bool {
        names_equal(&self.subject, issuer_name)
    }

    /// Whether the subject names `child`'s issuer: [`Certificate::subject_matches`] with
    /// both names normalised once, at parsing.
    pub fn issued(&self, child: &Certificate) -> bool {
        self.subject == child.issuer || matches!((&self.subject_norm, &child.issuer_norm), (Some(a), Some(b)) if a == b)
    }

    /// Whether `self`'s key verifies `child`'s signature. Returns the hash used.
    pub fn verifies(&self, child: &Certificate) -> Result<HashAlg, SigError> {
        let hash = HashAlg::from_oid(&child.sig_alg)
            .ok_or_else(|| SigError::Unsupported(format!("certificate signature algorithm {}", child.sig_alg)))?;
        let digest = hash.digest(child.tbs());
        crypto::verify_prehashed(&self.key, &child.sig_alg, hash, &digest, &child.signature)?;
        Ok(hash)
    }

    /// Self-issued (subject equals issuer).
    pub fn self_issued(&self) -> bool {
        names_equal(&self.subject, &self.issuer)
    }
}

/// Compare two names.
pub fn names_equal(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (normalised_name(a), normalised_name(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A name's attributes with each value's white space collapsed and its case folded: two
/// names are the same entity when these are equal. `None` when the name cannot be read.
fn normalised_name(name: &[u8]) -> Option<Vec<(String, String)>> {
    let norm = |v: &str| v.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    name_attrs(name).ok().map(|v| v.into_iter().map(|(o, v)| (o, norm(&v))).collect())
}

/// A Name's attributes in encoding order: (OID, value text).
pub fn name_attrs(name: &[u8]) -> DResult<Vec<(String, String)>> {
    let seq = der::parse_whole(name, false)?.need(tag::SEQUENCE, "name")?;
    let mut out = Vec::new();
    let mut r = seq.reader();
    for rdn in r.all(64, "name components")? {
        let mut sr = rdn.need(tag::SET, "relative distinguished name")?.reader();
        for atv in sr.all(16, "attributes in one name component")? {
            let mut ar = atv.need(tag::SEQUENCE, "attribute")?.reader();
            let o = ar.need(tag::OID, "attribute type")?.oid()?;
            let v = ar.next_tlv()?;
            out.push((o, string_value(&v)));
        }
    }
    Ok(out)
}

/// A directory string's text (lossy for odd encodings).
pub fn string_value(v: &Tlv<'_>) -> String {
    match v.tag {
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = v.value.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE.
        0x1c => v
            .value
            .chunks_exact(4)
            .filter_map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        // TeletexString: treat as Latin-1.
        0x14 => v.value.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(v.value).into_owned(),
    }
}

fn short_name(o: &str) -> &str {
    match o {
        oid::AT_CN => "CN",
        oid::AT_C => "C",
        oid::AT_L => "L",
        oid::AT_ST => "ST",
        oid::AT_O => "O",
        oid::AT_OU => "OU",
        oid::AT_EMAIL => "emailAddress",
        oid::AT_DC => "DC",
        other => other,
    }
}

/// A name as `C=US, O=..., CN=...` (encoding order).
pub fn name_text(name: &[u8]) -> String {
    match name_attrs(name) {
        Ok(a) => a.iter().map(|(o, v)| format!("{}={}", short_name(o), v)).collect::<Vec<_>>().join(", "),
        Err(Malformed(m)) => format!("(unreadable name: {m})"),
    }
}

/// Certificates from PEM text or DER bytes (one DER certificate, or any number of PEM
/// blocks). Unparseable blocks are skipped and counted.
pub fn certs_from_pem_or_der(data: &[u8]) -> (Vec<Certificate>, usize) {
    let mut out = Vec::new();
    let mut bad_count = 0;
    if data.first() == Some(&0x30) {
        match Certificate::parse(data) {
            Ok(c) => out.push(c),
            Err(_) => bad_count += 1,
        }
        return (out, bad_count);
    }
    let text = String::from_utf8_lossy(data);
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let after = &rest[start + 27..];
        let Some(end) = after.find("-----END CERTIFICATE-----") else { break };
        match base64_decode(&after[..end]).map(|d| Certificate::parse(&d)) {
            Some(Ok(c)) => out.push(c),
            _ => bad_count += 1,
        }
        rest = &after[end + 25..];
    }
    (out, bad_count)
}

/// Decode base64 (standard alphabet, whitespace ignored).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Read every certificate from a `[0] IMPLICIT SET OF Certificate` element's contents;
/// other choices (attribute certificates) are skipped.
pub fn certs_from_set(r: &mut Reader<'_>, max: usize) -> DResult<Vec<Certificate>> {
    let mut out = Vec::new();
    for c in r.all(max, "certificates")? {
        if c.tag == tag::SEQUENCE {
            out.push(Certificate::from_tlv(&c)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8h").unwrap(), b"hello!");
    }

    /// A Name of one CN attribute with `value` under string tag `tag`.
    fn cn(tag: u8, value: &[u8]) -> Vec<u8> {
        let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
        let mut atv = oid.to_vec();
        atv.push(tag);
        atv.push(value.len() as u8);
        atv.extend_from_slice(value);
        let wrap = |t: u8, b: Vec<u8>| [vec![t, b.len() as u8], b].concat();
        wrap(0x30, wrap(0x31, wrap(0x30, atv)))
    }

    #[test]
    fn names_match_across_string_types_case_and_spaces() {
        let printable = cn(0x13, b"Microsoft Code  Signing PCA");
        let utf8 = cn(0x0c, b"microsoft code signing pca");
        let bmp: Vec<u8> = "MICROSOFT CODE SIGNING PCA".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert!(names_equal(&printable, &utf8));
        assert!(names_equal(&printable, &cn(0x1e, &bmp)));
        assert!(!names_equal(&printable, &cn(0x13, b"Microsoft Code Signing PCA 2")));
        assert!(!names_equal(&printable, b"\x30\x01"));
        assert_eq!(normalised_name(&printable), normalised_name(&utf8));
    }
}
