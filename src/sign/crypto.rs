//! Digest and signature primitives: the hash algorithms Authenticode names, RSA
//! PKCS#1 v1.5 and ECDSA (P-256, P-384) verification, all from RustCrypto crates that
//! share one `digest` version.

use super::der::{self, bad, tag, DResult, Reader, Tlv};
use super::oid;
use sha2::Digest;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    /// MD5: reported, never trusted.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// From a digest algorithm OID (or a signature algorithm OID that names one).
    pub fn from_oid(o: &str) -> Option<HashAlg> {
        Some(match o {
            oid::MD5 | oid::MD5_RSA => HashAlg::Md5,
            oid::SHA1 | oid::SHA1_RSA | oid::SHA1_RSA_OIW | oid::ECDSA_SHA1 => HashAlg::Sha1,
            oid::SHA224 | oid::SHA224_RSA => HashAlg::Sha224,
            oid::SHA256 | oid::SHA256_RSA | oid::ECDSA_SHA256 => HashAlg::Sha256,
            oid::SHA384 | oid::SHA384_RSA | oid::ECDSA_SHA384 => HashAlg::Sha384,
            oid::SHA512 | oid::SHA512_RSA | oid::ECDSA_SHA512 => HashAlg::Sha512,
            _ => return None,
        })
    }
    /// The digest algorithm's own OID.
    pub fn oid(self) -> &'static str {
        match self {
            HashAlg::Md5 => oid::MD5,
            HashAlg::Sha1 => oid::SHA1,
            HashAlg::Sha224 => oid::SHA224,
            HashAlg::Sha256 => oid::SHA256,
            HashAlg::Sha384 => oid::SHA384,
            HashAlg::Sha512 => oid::SHA512,
        }
    }
    /// Digest length in bytes.
    pub fn size(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha224 => 28,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
    /// Lower-case name (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Md5 => "md5",
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha224 => "sha224",
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }
    /// A fresh incremental hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            HashAlg::Md5 => Hasher::Md5(md5::Md5::new()),
            HashAlg::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashAlg::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            HashAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlg::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlg::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
    /// Digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// An incremental hasher of any [`HashAlg`].
#[derive(Clone)]
pub enum Hasher {
    /// MD5.
    Md5(md5::Md5),
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-224.
    Sha224(sha2::Sha224),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Feed bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }
    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha224(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// Several hashers fed the same bytes (one per digest algorithm a file's signatures use),
/// so a file is read and hashed in one pass however many signatures it carries.
pub struct MultiHasher(pub Vec<(HashAlg, Hasher)>);

impl MultiHasher {
    /// Hashers for each distinct algorithm.
    pub fn new(algs: &[HashAlg]) -> Self {
        let mut v: Vec<(HashAlg, Hasher)> = Vec::new();
        for &a in algs {
            if !v.iter().any(|(b, _)| *b == a) {
                v.push((a, a.hasher()));
            }
        }
        MultiHasher(v)
    }
    /// Feed bytes to every hasher.
    pub fn update(&mut self, data: &[u8]) {
        for (_, h) in &mut self.0 {
            h.update(data);
        }
    }
    /// Digest per algorithm.
    pub fn finish(self) -> Vec<(HashAlg, Vec<u8>)> {
        self.0.into_iter().map(|(a, h)| (a, h.finish())).collect()
    }
}

/// A public key from a certificate.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// RSA modulus and exponent (big-endian, no sign byte).
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An EC point on P-256 (SEC1 encoding).
    P256(Vec<u8>),
    /// An EC point on P-384 (SEC1 encoding).
    P384(Vec<u8>),
    /// Anything else (algorithm OID, curve OID if any).
    Other(String),
}

impl PublicKey {
    /// Parse a SubjectPublicKeyInfo.
    pub fn from_spki(spki: &Tlv<'_>) -> DResult<PublicKey> {
        let mut r = spki.reader();
        let alg = r.need(tag::SEQUENCE, "key algorithm")?;
        let mut ar = alg.reader();
        let alg_oid = ar.need(tag::OID, "key algorithm")?.oid()?;
        let params = if ar.is_empty() { None } else { Some(ar.next_tlv()?) };
        let bits = r.need(tag::BIT_STRING, "public key")?.bit_string_bytes()?;
        match alg_oid.as_str() {
            oid::RSA => {
                let k = der::parse_whole(bits, false)?.need(tag::SEQUENCE, "RSA key")?;
                let mut kr = k.reader();
                let n = kr.need(tag::INTEGER, "RSA modulus")?;
                let e = kr.need(tag::INTEGER, "RSA exponent")?;
                Ok(PublicKey::Rsa { n: der::strip_sign(n.value).to_vec(), e: der::strip_sign(e.value).to_vec() })
            }
            oid::EC_PUBLIC_KEY => {
                let curve = match params {
                    Some(p) if p.tag == tag::OID => p.oid()?,
                    _ => return bad("EC key without a named curve"),
                };
                match curve.as_str() {
                    oid::P256 => Ok(PublicKey::P256(bits.to_vec())),
                    oid::P384 => Ok(PublicKey::P384(bits.to_vec())),
                    other => Ok(PublicKey::Other(format!("ec {other}"))),
                }
            }
            other => Ok(PublicKey::Other(other.to_string())),
        }
    }

    /// A short description (`rsa-2048`, `ecdsa-p256`).
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Rsa { n, .. } => {
                let bits = n.len() * 8 - n.first().map(|b| b.leading_zeros() as usize).unwrap_or(0);
                format!("rsa-{bits}")
            }
            PublicKey::P256(_) => "ecdsa-p256".into(),
            PublicKey::P384(_) => "ecdsa-p384".into(),
            PublicKey::Other(o) => format!("unsupported ({o})"),
        }
    }
}

/// Why a signature check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// The algorithm or key type is not supported (or not consistent with the key).
    Unsupported(String),
    /// The signature is well formed and does not verify.
    Mismatch,
}

/// Verify `sig` over the digest `hashed` (computed with `hash`) with `key`. `sig_alg` is
/// the signature algorithm OID as given (rsaEncryption, sha256WithRSAEncryption, ecdsa…).
pub fn verify_prehashed(
    key: &PublicKey,
    sig_alg: &str,
    hash: HashAlg,
    hashed: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    let is_ecdsa = sig_alg.starts_with("1.2.840.10045.4.") || sig_alg == oid::EC_PUBLIC_KEY;
    let is_rsa = matches!(
        sig_alg,
        oid::RSA
            | oid::MD5_RSA
            | oid::SHA1_RSA
            | oid::SHA1_RSA_OIW
            | oid::SHA224_RSA
            | oid::SHA256_RSA
            | oid::SHA384_RSA
            | oid::SHA512_RSA
    );
    match key {
        PublicKey::Rsa { n, e } if is_rsa => verify_rsa(n, e, hash, hashed, sig),
        PublicKey::P256(point) if is_ecdsa => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SigError::Unsupported("invalid P-256 point".into()))?;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| SigError::Mismatch)?;
            vk.verify_prehash(hashed, &s).map_err(|_| SigError::Mismatch)
        }
        PublicKey::P384(point) if is_ecdsa => {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SigError::Unsupported("invalid P-384 point".into()))?;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| SigError::Mismatch)?;
            vk.verify_prehash(hashed, &s).map_err(|_| SigError::Mismatch)
        }
        PublicKey::Other(o) => Err(SigError::Unsupported(format!("key algorithm {o}"))),
        _ => Err(SigError::Unsupported(format!("signature algorithm {sig_alg} with a {} key", key.describe()))),
    }
}

/// The DER DigestInfo prefix (everything before the digest bytes) for `hash`.
pub fn digest_info_prefix(hash: HashAlg, with_null: bool) -> Vec<u8> {
    let mut alg = der::encode(tag::OID, &der::encode_oid(hash.oid()));
    if with_null {
        alg.extend_from_slice(&[tag::NULL, 0]);
    }
    let alg = der::encode(tag::SEQUENCE, &alg);
    let mut inner = alg;
    inner.push(tag::OCTET_STRING);
    der::encode_len(hash.size(), &mut inner);
    let total = inner.len() + hash.size();
    let mut out = vec![tag::SEQUENCE];
    der::encode_len(total, &mut out);
    out.extend_from_slice(&inner);
    out
}

fn verify_rsa(n: &[u8], e: &[u8], hash: HashAlg, hashed: &[u8], sig: &[u8]) -> Result<(), SigError> {
    use rsa::BoxedUint;
    if n.is_empty() || n.len() > 2048 || e.is_empty() || e.len() > 8 {
        return Err(SigError::Unsupported("RSA key size out of range".into()));
    }
    let nbits = (n.len() * 8) as u32;
    let nn = BoxedUint::from_be_slice(n, nbits).map_err(|_| SigError::Unsupported("bad RSA modulus".into()))?;
    let ee = BoxedUint::from_be_slice(e, 64).map_err(|_| SigError::Unsupported("bad RSA exponent".into()))?;
    let key = rsa::PublicKey::new_with_size_limits(nn, ee, 512..=16384)
        .map_err(|err| SigError::Unsupported(format!("RSA key rejected: {err}")))?;
    if hashed.len() != hash.size() {
        return Err(SigError::Mismatch);
    }
    // The DigestInfo with NULL parameters (RFC 8017), without them (allowed by RFC 4055
    // for SHA-2), and the bare digest: legacy timestamp countersignatures (Symantec's TSA
    // among them) sign the 20-byte SHA-1 value with no DigestInfo around it.
    let prefixes = [digest_info_prefix(hash, true), digest_info_prefix(hash, false), Vec::new()];
    for prefix in prefixes {
        let scheme = rsa::Pkcs1v15Sign { hash_len: Some(hash.size()), prefix: prefix.into() };
        if key.verify(scheme, hashed, sig).is_ok() {
            return Ok(());
        }
    }
    Err(SigError::Mismatch)
}

/// An AlgorithmIdentifier's OID.
pub fn alg_oid(t: &Tlv<'_>) -> DResult<String> {
    let mut r = Reader::new(t.value);
    if t.tag != tag::SEQUENCE {
        return bad("expected an algorithm identifier");
    }
    r.need(tag::OID, "algorithm")?.oid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_prefixes_match_rfc8017() {
        // RFC 8017 section 9.2 note 1 lists these encodings.
        let hex = |v: Vec<u8>| v.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(digest_info_prefix(HashAlg::Sha1, true)), "3021300906052b0e03021a05000414");
        assert_eq!(hex(digest_info_prefix(HashAlg::Sha256, true)), "3031300d060960864801650304020105000420");
        assert_eq!(hex(digest_info_prefix(HashAlg::Md5, true)), "3020300c06082a864886f70d020505000410");
    }

    #[test]
    fn known_digests() {
        let hex = |v: Vec<u8>| v.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(HashAlg::Sha1.digest(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(HashAlg::Md5.digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    }
}
