//! PKCS#7 / CMS SignedData as Authenticode uses it: the content (SpcIndirectDataContent,
//! a CTL or an RFC 3161 TSTInfo), the certificates carried, and the signer infos with
//! their signed and unsigned attributes.

use super::crypto::{self, HashAlg};
use super::der::{self, bad, tag, DResult, Tlv};
use super::oid;
use super::x509::{self, Certificate};

/// The most certificates one signature may carry.
pub const MAX_CERTS: usize = 128;
/// The most signer infos in one SignedData.
pub const MAX_SIGNERS: usize = 8;
/// The most attributes in one attribute set.
pub const MAX_ATTRS: usize = 64;

/// How a signer names its certificate.
#[derive(Debug, Clone)]
pub enum SignerId {
    /// Issuer name (DER) and serial number contents.
    IssuerSerial(Vec<u8>, Vec<u8>),
    /// Subject key identifier.
    KeyId(Vec<u8>),
}

/// One attribute: type and the encodings of its values.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Attribute type OID.
    pub oid: String,
    /// Each value's whole encoding.
    pub values: Vec<Vec<u8>>,
}

/// A SignerInfo.
#[derive(Debug, Clone)]
pub struct SignerInfo {
    /// Which certificate signed.
    pub sid: SignerId,
    /// Digest algorithm OID.
    pub digest_oid: String,
    /// The signed attributes re-tagged as a SET (what the signature covers), when present.
    pub signed_attrs_der: Option<Vec<u8>>,
    /// The signed attributes.
    pub signed_attrs: Vec<Attribute>,
    /// Signature algorithm OID.
    pub sig_alg: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// The unsigned attributes.
    pub unsigned_attrs: Vec<Attribute>,
}

impl SignerInfo {
    /// Parse a SignerInfo element.
    pub fn from_tlv(t: &Tlv<'_>) -> DResult<SignerInfo> {
        let mut r = t.need(tag::SEQUENCE, "signer info")?.reader();
        r.need(tag::INTEGER, "signer info version")?;
        let sid_t = r.next_tlv()?;
        let sid = match sid_t.tag {
            tag::SEQUENCE => {
                let mut sr = sid_t.reader();
                let issuer = sr.need(tag::SEQUENCE, "signer issuer")?.raw.to_vec();
                let serial = sr.need(tag::INTEGER, "signer serial")?.value.to_vec();
                SignerId::IssuerSerial(issuer, serial)
            }
            0x80 => SignerId::KeyId(sid_t.value.to_vec()),
            other => return bad(format!("signer identifier with tag 0x{other:02x}")),
        };
        let digest_oid = crypto::alg_oid(&r.need(tag::SEQUENCE, "signer digest algorithm")?)?;
        let mut signed_attrs_der = None;
        let mut signed_attrs = Vec::new();
        if let Some(sa) = r.optional(0xa0)? {
            // The signature covers the attributes as an explicit SET OF.
            signed_attrs_der = Some(der::encode(tag::SET, sa.value));
            signed_attrs = attributes(&sa)?;
        }
        let sig_alg = crypto::alg_oid(&r.need(tag::SEQUENCE, "signature algorithm")?)?;
        let signature = r.need(tag::OCTET_STRING, "signature value")?.value.to_vec();
        let unsigned_attrs = match r.optional(0xa1)? {
            Some(ua) => attributes(&ua)?,
            None => Vec::new(),
        };
        Ok(SignerInfo { sid, digest_oid, signed_attrs_der, signed_attrs, sig_alg, signature, unsigned_attrs })
    }

    /// The first value of signed attribute `o`.
    pub fn signed_attr(&self, o: &str) -> Option<&[u8]> {
        self.signed_attrs.iter().find(|a| a.oid == o).and_then(|a| a.values.first()).map(|v| v.as_slice())
    }

    /// Every value of unsigned attribute `o`.
    pub fn unsigned_values(&self, o: &str) -> Vec<&[u8]> {
        self.unsigned_attrs.iter().filter(|a| a.oid == o).flat_map(|a| a.values.iter().map(|v| v.as_slice())).collect()
    }

    /// The signer's certificate among `certs`.
    pub fn find_cert<'c>(&self, certs: &'c [Certificate]) -> Option<&'c Certificate> {
        certs.iter().find(|c| match &self.sid {
            SignerId::IssuerSerial(issuer, serial) => {
                der::strip_sign(&c.serial) == der::strip_sign(serial) && x509::names_equal(&c.issuer, issuer)
            }
            SignerId::KeyId(k) => c.subject_key_id.as_deref() == Some(k.as_slice()),
        })
    }

    /// The signed messageDigest attribute's value.
    pub fn message_digest(&self) -> DResult<Option<Vec<u8>>> {
        match self.signed_attr(oid::MESSAGE_DIGEST) {
            Some(v) => Ok(Some(der::parse_whole(v, false)?.need(tag::OCTET_STRING, "messageDigest")?.value.to_vec())),
            None => Ok(None),
        }
    }

    /// The signed signingTime attribute, when present and readable.
    pub fn signing_time(&self) -> Option<i64> {
        let v = self.signed_attr(oid::SIGNING_TIME)?;
        der::time(&der::parse_whole(v, false).ok()?).ok()
    }

    /// The digest algorithm.
    pub fn hash(&self) -> Option<HashAlg> {
        HashAlg::from_oid(&self.digest_oid)
    }
}

fn attributes(set: &Tlv<'_>) -> DResult<Vec<Attribute>> {
    let mut out = Vec::new();
    let mut r = set.reader();
    for a in r.all(MAX_ATTRS, "attributes")? {
        let mut ar = a.need(tag::SEQUENCE, "attribute")?.reader();
        let o = ar.need(tag::OID, "attribute type")?.oid()?;
        let mut vr = ar.need(tag::SET, "attribute values")?.reader();
        let values = vr.all(MAX_ATTRS, "attribute values")?.iter().map(|v| v.raw.to_vec()).collect();
        out.push(Attribute { oid: o, values });
    }
    Ok(out)
}

/// A SignedData.
#[derive(Debug, Clone)]
pub struct SignedData {
    /// The content type OID.
    pub content_type: String,
    /// The content's contents octets (what messageDigest covers): for a SEQUENCE the bytes
    /// inside it, for an OCTET STRING its octets.
    pub content: Vec<u8>,
    /// The content element itself (whole encoding), when present.
    pub content_tlv: Vec<u8>,
    /// Certificates carried.
    pub certs: Vec<Certificate>,
    /// Signer infos.
    pub signers: Vec<SignerInfo>,
}

impl SignedData {
    /// Parse a ContentInfo holding SignedData. Trailing bytes (padding of a PE
    /// certificate entry, a cabinet reserve) are allowed when `lenient`.
    pub fn parse(data: &[u8], lenient: bool) -> DResult<SignedData> {
        let ci = der::parse_whole(data, lenient)?.need(tag::SEQUENCE, "content info")?;
        let mut r = ci.reader();
        let ct = r.need(tag::OID, "content type")?.oid()?;
        if ct != oid::SIGNED_DATA {
            return bad(format!("content type {ct} is not signed data"));
        }
        let explicit = r.need(0xa0, "signed data wrapper")?;
        let sd = der::parse_whole(explicit.value, false)?.need(tag::SEQUENCE, "signed data")?;
        let mut s = sd.reader();
        s.need(tag::INTEGER, "signed data version")?;
        s.need(tag::SET, "digest algorithms")?;
        let eci = s.need(tag::SEQUENCE, "encapsulated content")?;
        let mut er = eci.reader();
        let content_type = er.need(tag::OID, "encapsulated content type")?.oid()?;
        let (content, content_tlv) = match er.optional(0xa0)? {
            Some(w) => {
                let inner = der::parse_whole(w.value, false)?;
                (inner.value.to_vec(), inner.raw.to_vec())
            }
            None => (Vec::new(), Vec::new()),
        };
        let mut certs = Vec::new();
        let mut signers = Vec::new();
        while !s.is_empty() {
            let t = s.next_tlv()?;
            match t.tag {
                0xa0 => certs = x509::certs_from_set(&mut t.reader(), MAX_CERTS)?,
                0xa1 => {} // CRLs are not used.
                tag::SET => {
                    let mut sr = t.reader();
                    for si in sr.all(MAX_SIGNERS, "signer infos")? {
                        signers.push(SignerInfo::from_tlv(&si)?);
                    }
                }
                other => return bad(format!("unexpected element 0x{other:02x} in signed data")),
            }
        }
        if signers.is_empty() {
            return bad("no signer info");
        }
        Ok(SignedData { content_type, content, content_tlv, certs, signers })
    }
}

/// The parts of SpcIndirectDataContent a verifier needs.
#[derive(Debug, Clone)]
pub struct IndirectData {
    /// The data type OID (PE image data, CAB data, SIP info…).
    pub data_type: String,
    /// The digest algorithm.
    pub hash_oid: String,
    /// The digest of the file.
    pub digest: Vec<u8>,
}

impl IndirectData {
    /// Parse from the SignedData content (the bytes inside the SEQUENCE).
    pub fn parse(content: &[u8]) -> DResult<IndirectData> {
        let mut r = der::Reader::new(content);
        let data = r.need(tag::SEQUENCE, "SpcAttributeTypeAndOptionalValue")?;
        let data_type = data.reader().need(tag::OID, "data type")?.oid()?;
        let di = r.need(tag::SEQUENCE, "DigestInfo")?;
        let mut dr = di.reader();
        let hash_oid = crypto::alg_oid(&dr.need(tag::SEQUENCE, "digest algorithm")?)?;
        let digest = dr.need(tag::OCTET_STRING, "digest")?.value.to_vec();
        Ok(IndirectData { data_type, hash_oid, digest })
    }
}
