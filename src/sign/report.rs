//! What verification finds: one entry per signature (nested ones included), each with a
//! verdict and the reason for it. Every type here serialises (JSON for `--json`).

use super::crypto::HashAlg;
use super::x509::Certificate;
use serde::Serialize;

/// The outcome for one signature, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Digest, signature and chain check out now, without a timestamp.
    Valid,
    /// As `valid`, and a verified timestamp supplied the time the chain was checked at.
    ValidTimestamped,
    /// Everything checks out except that no trust anchor ends the chain.
    UntrustedRoot,
    /// A certificate path exists but breaks a rule (a CA without basicConstraints, a key
    /// usage or code-signing purpose missing, an issuer signature that fails).
    InvalidChain,
    /// The chain was valid only in the past and no verified timestamp says the signature
    /// was made then.
    ExpiredNoTimestamp,
    /// MD5 (or another broken algorithm) is used for the file digest or the signature: it is
    /// reported, never trusted.
    WeakAlgorithm,
    /// The signed digest does not match the file (the file changed after signing).
    BadDigest,
    /// The signature value does not verify with the signer's key, or the signed attributes
    /// do not match the signed content.
    BadSignature,
    /// No signature is present.
    Unsigned,
    /// A signature is present but cannot be read (or uses an unsupported algorithm).
    Malformed,
}

impl Verdict {
    /// Whether the signature is trusted (`valid` or `valid-timestamped`).
    pub fn is_trusted(self) -> bool {
        matches!(self, Verdict::Valid | Verdict::ValidTimestamped)
    }
    /// The kebab-case label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::ValidTimestamped => "valid-timestamped",
            Verdict::UntrustedRoot => "untrusted-root",
            Verdict::InvalidChain => "invalid-chain",
            Verdict::ExpiredNoTimestamp => "expired-no-timestamp",
            Verdict::WeakAlgorithm => "weak-algorithm",
            Verdict::BadDigest => "bad-digest",
            Verdict::BadSignature => "bad-signature",
            Verdict::Unsigned => "unsigned",
            Verdict::Malformed => "malformed",
        }
    }
}

/// The kind of file the signature was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Carrier {
    /// A Portable Executable (attribute certificate table).
    Pe,
    /// A compound file: MSI, MSP or MST (`\x05DigitalSignature` stream).
    Msi,
    /// A cabinet (signature in the header reserve area).
    Cab,
    /// A security catalog (the file is the signature).
    Catalog,
    /// Not a kind that carries Authenticode signatures.
    Other,
}

/// A certificate, as reported.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CertInfo {
    /// Subject name, encoding order (`C=US, O=..., CN=...`).
    pub subject: String,
    /// Issuer name.
    pub issuer: String,
    /// Subject common name.
    pub common_name: Option<String>,
    /// Subject organisation.
    pub organization: Option<String>,
    /// Serial number (hex).
    pub serial: String,
    /// Validity start (RFC 3339, UTC).
    pub not_before: String,
    /// Validity end (RFC 3339, UTC).
    pub not_after: String,
    /// Key type and size (`rsa-2048`, `ecdsa-p256`).
    pub key: String,
    /// SHA-256 of the certificate (hex).
    pub sha256: String,
    /// Whether this certificate is a trust anchor that ended the chain.
    pub trust_anchor: bool,
}

impl CertInfo {
    /// Describe `c`.
    pub fn of(c: &Certificate, anchor: bool) -> CertInfo {
        CertInfo {
            subject: c.subject_text(),
            issuer: c.issuer_text(),
            common_name: c.subject_attr(super::oid::AT_CN),
            organization: c.subject_attr(super::oid::AT_O),
            serial: c.serial_hex(),
            not_before: super::der::format_time(c.not_before),
            not_after: super::der::format_time(c.not_after),
            key: c.key.describe(),
            sha256: c.sha256_hex(),
            trust_anchor: anchor,
        }
    }
}

/// How a timestamp was attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TimestampKind {
    /// Legacy Authenticode countersignature (unsigned attribute 1.2.840.113549.1.9.6).
    Authenticode,
    /// RFC 3161 token (unsigned attribute 1.3.6.1.4.1.311.3.3.1).
    Rfc3161,
}

/// A timestamp on a signature.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TimestampInfo {
    /// Legacy countersignature or RFC 3161 token.
    pub kind: TimestampKind,
    /// The time it asserts (RFC 3339, UTC), when readable.
    pub time: Option<String>,
    /// The same as Unix seconds.
    pub unix_time: Option<i64>,
    /// Whether it verified (imprint, signature, and a trusted chain valid at that time).
    pub verified: bool,
    /// Why it did not verify.
    pub reason: Option<String>,
    /// The timestamping authority's certificate and its chain, leaf first.
    pub chain: Vec<CertInfo>,
    /// Digest algorithm of the timestamp.
    pub digest_algorithm: Option<HashAlg>,
}

/// One signature.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SignatureEntry {
    /// 0 for the primary signature; nested ones follow in the order found.
    pub index: usize,
    /// The entry this one is nested in (`None` for the primary).
    pub nested_in: Option<usize>,
    /// The outcome.
    pub verdict: Verdict,
    /// Why (one line; for `valid` a summary).
    pub reason: String,
    /// The file digest algorithm the signature states.
    pub digest_algorithm: Option<HashAlg>,
    /// The digest the signature states (hex).
    pub signed_digest: Option<String>,
    /// The digest computed from the file (hex).
    pub computed_digest: Option<String>,
    /// The signer's certificate.
    pub signer: Option<CertInfo>,
    /// The chain from the signer up (signer first, anchor last when trusted).
    pub chain: Vec<CertInfo>,
    /// The timestamp, when one is attached.
    pub timestamp: Option<TimestampInfo>,
    /// The signer's own (unauthenticated) signingTime attribute.
    pub signing_time: Option<String>,
    /// The time the chain was checked at (RFC 3339).
    pub checked_at: String,
}

/// A catalog member: a file hash the catalog vouches for.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CatalogMember {
    /// The member tag (usually the hash as hex text).
    pub tag: String,
    /// The member's digest (hex).
    pub digest: String,
    /// Its algorithm.
    pub digest_algorithm: Option<HashAlg>,
    /// The SIP data type OID (PE image data, SIP info…).
    pub data_type: Option<String>,
    /// The file name, when the catalog records one.
    pub file: Option<String>,
}

/// Everything found about one file's signatures.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SignatureReport {
    /// The kind of carrier.
    pub carrier: Carrier,
    /// The primary signature's verdict (`unsigned` when there is none).
    pub verdict: Verdict,
    /// Every signature, primary first.
    pub signatures: Vec<SignatureEntry>,
    /// A catalog's members (empty for other carriers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalog_members: Vec<CatalogMember>,
    /// Notes on the carrier (a DigitalSignatureEx stream, padding, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl SignatureReport {
    /// A report for a file with no signature.
    pub fn unsigned(carrier: Carrier, why: &str) -> SignatureReport {
        SignatureReport {
            carrier,
            verdict: Verdict::Unsigned,
            signatures: Vec::new(),
            catalog_members: Vec::new(),
            notes: vec![why.to_string()],
        }
    }

    /// Whether a catalog lists `digest` (any algorithm).
    pub fn catalog_contains(&self, digest: &[u8]) -> bool {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.catalog_members.iter().any(|m| m.digest == hex)
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
