//! Security catalogs (.cat): a SignedData whose content is a certificate trust list (CTL)
//! naming member files by hash. The signature is checked like any other (its
//! messageDigest covers the CTL); the members are listed so a file can be looked up.

use super::crypto::HashAlg;
use super::der::{self, bad, tag, DResult, Tlv};
use super::oid;
use super::pkcs7::{IndirectData, SignedData};
use super::report::{hex, CatalogMember};
use super::x509;

/// The most members read from one catalog.
pub const MAX_MEMBERS: usize = 200_000;

/// The members of the CTL in `sd`.
pub fn members(sd: &SignedData) -> DResult<Vec<CatalogMember>> {
    if sd.content_type != oid::CTL {
        return bad(format!("content type {} is not a certificate trust list", sd.content_type));
    }
    // PKCS#7 catalogs hold the CTL SEQUENCE itself (content = its inner bytes); a CMS
    // encoder wraps it in an OCTET STRING (content = the whole CTL).
    let inner: Vec<u8> = if sd.content_tlv.first() == Some(&tag::OCTET_STRING) {
        der::parse_whole(&sd.content, false)?.need(tag::SEQUENCE, "CTL")?.value.to_vec()
    } else {
        sd.content.clone()
    };
    let mut r = der::Reader::new(&inner);
    r.need(tag::SEQUENCE, "CTL subject usage")?;
    let mut subjects: Option<Tlv<'_>> = None;
    let mut seen_alg = false;
    while !r.is_empty() {
        let t = r.next_tlv()?;
        if t.tag == tag::SEQUENCE {
            if !seen_alg {
                seen_alg = true;
            } else if subjects.is_none() {
                subjects = Some(t);
            }
        }
    }
    let Some(list) = subjects else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    let mut lr = list.reader();
    for s in lr.all(MAX_MEMBERS, "catalog members")? {
        out.push(member(&s.need(tag::SEQUENCE, "catalog member")?)?);
    }
    Ok(out)
}

fn member(s: &Tlv<'_>) -> DResult<CatalogMember> {
    let mut r = s.reader();
    let id = r.need(tag::OCTET_STRING, "member tag")?.value;
    let mut m =
        CatalogMember { tag: tag_text(id), digest: String::new(), digest_algorithm: None, data_type: None, file: None };
    if let Some(attrs) = r.optional(tag::SET)? {
        let mut ar = attrs.reader();
        for a in ar.all(64, "member attributes")? {
            let mut x = a.need(tag::SEQUENCE, "member attribute")?.reader();
            let o = x.need(tag::OID, "member attribute type")?.oid()?;
            let mut vals = x.need(tag::SET, "member attribute values")?.reader();
            let Some(v) = (!vals.is_empty()).then(|| vals.next_tlv()).transpose()? else { continue };
            match o.as_str() {
                oid::SPC_INDIRECT_DATA => {
                    let d = IndirectData::parse(v.need(tag::SEQUENCE, "member SpcIndirectDataContent")?.value)?;
                    m.digest = hex(&d.digest);
                    m.digest_algorithm = HashAlg::from_oid(&d.hash_oid);
                    m.data_type = Some(d.data_type);
                }
                oid::CAT_NAMEVALUE => {
                    let mut nv = v.need(tag::SEQUENCE, "name-value")?.reader();
                    let name = x509::string_value(&nv.next_tlv()?);
                    nv.need(tag::INTEGER, "name-value flags")?;
                    let val = nv.need(tag::OCTET_STRING, "name-value value")?.value;
                    if name.eq_ignore_ascii_case("File") {
                        let units: Vec<u16> = val.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
                        m.file = Some(String::from_utf16_lossy(&units).trim_end_matches('\0').to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if m.digest.is_empty() {
        // Without an indirect-data attribute the tag is the hash (as bytes or hex text).
        m.digest = if m.tag.len().is_multiple_of(2) && m.tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            m.tag.to_lowercase()
        } else {
            hex(id)
        };
    }
    Ok(m)
}

/// A member tag: UTF-16LE text when it reads as such, else hex.
fn tag_text(id: &[u8]) -> String {
    if id.len() >= 2 && id.len().is_multiple_of(2) {
        let units: Vec<u16> = id.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let s = String::from_utf16_lossy(&units).trim_end_matches('\0').to_string();
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()) {
            return s;
        }
    }
    hex(id)
}

/// Whether `data` looks like a catalog: a SignedData whose content is a CTL.
pub fn sniff(data: &[u8]) -> bool {
    data.first() == Some(&tag::SEQUENCE) && SignedData::parse(data, true).is_ok_and(|sd| sd.content_type == oid::CTL)
}
