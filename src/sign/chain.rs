//! Trust anchors and chain building: from a signer certificate through the certificates a
//! signature carries to an anchor, checking each issuer's signature, validity at the
//! relevant time, basicConstraints and keyUsage for CAs, and the leaf's purpose.

use super::crypto::{HashAlg, SigError};
use super::oid;
use super::x509::{self, Certificate, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN};
use crate::error::{Error, ErrorKind, Result};
use std::path::PathBuf;

/// Where trust anchors come from.
#[derive(Debug, Clone)]
pub struct TrustOptions {
    /// Read the operating system's CA bundle (the first of [`SYSTEM_BUNDLES`] present).
    pub system_store: bool,
    /// Use the Microsoft code-signing roots shipped in `manifests/trust/`.
    pub microsoft_roots: bool,
    /// Extra anchors: PEM (any number of certificates) or DER blobs.
    pub extra: Vec<Vec<u8>>,
    /// Extra anchor files (PEM or DER), read when the store is built.
    pub extra_files: Vec<PathBuf>,
    /// Check validity at this Unix time instead of now (signatures without a timestamp).
    pub at: Option<i64>,
}

impl Default for TrustOptions {
    fn default() -> Self {
        TrustOptions { system_store: true, microsoft_roots: true, extra: Vec::new(), extra_files: Vec::new(), at: None }
    }
}

impl TrustOptions {
    /// Only the given anchors (no system store, no Microsoft roots).
    pub fn only(anchors: Vec<Vec<u8>>) -> TrustOptions {
        TrustOptions { system_store: false, microsoft_roots: false, extra: anchors, extra_files: Vec::new(), at: None }
    }
}

/// CA bundles tried for the system store, in order.
pub const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The Microsoft roots shipped with the crate (see `manifests/trust/README.md`).
pub const MICROSOFT_ROOTS: &[(&str, &str)] = &[
    ("microsoft-root-authority-1997.pem", include_str!("../../manifests/trust/microsoft-root-authority-1997.pem")),
    ("microsoft-root-ca-2001.pem", include_str!("../../manifests/trust/microsoft-root-ca-2001.pem")),
    ("microsoft-root-ca-2010.pem", include_str!("../../manifests/trust/microsoft-root-ca-2010.pem")),
    ("microsoft-root-ca-2011.pem", include_str!("../../manifests/trust/microsoft-root-ca-2011.pem")),
    (
        "microsoft-time-stamp-root-ca-2014.pem",
        include_str!("../../manifests/trust/microsoft-time-stamp-root-ca-2014.pem"),
    ),
    (
        "microsoft-identity-verification-root-ca-2020.pem",
        include_str!("../../manifests/trust/microsoft-identity-verification-root-ca-2020.pem"),
    ),
    (
        "microsoft-ecc-product-root-ca-2018.pem",
        include_str!("../../manifests/trust/microsoft-ecc-product-root-ca-2018.pem"),
    ),
    ("microsoft-ecc-ts-root-ca-2018.pem", include_str!("../../manifests/trust/microsoft-ecc-ts-root-ca-2018.pem")),
];

/// A set of trust anchors, built once and reused for many files.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
    /// Verification time override.
    pub at: Option<i64>,
    /// Where the anchors came from (for reports).
    pub sources: Vec<String>,
}

impl TrustStore {
    /// Build the store `opts` describes.
    pub fn new(opts: &TrustOptions) -> Result<TrustStore> {
        let mut s = TrustStore { anchors: Vec::new(), at: opts.at, sources: Vec::new() };
        if opts.system_store {
            if let Some(p) = SYSTEM_BUNDLES.iter().find(|p| std::path::Path::new(p).is_file()) {
                if let Ok(data) = std::fs::read(p) {
                    let n = s.add(&data);
                    s.sources.push(format!("{p} ({n} certificates)"));
                }
            }
        }
        if opts.microsoft_roots {
            for (name, pem) in MICROSOFT_ROOTS {
                s.add(pem.as_bytes());
                s.sources.push(format!("manifests/trust/{name}"));
            }
        }
        for blob in &opts.extra {
            if s.add(blob) == 0 {
                return Err(Error::new(ErrorKind::Format, "a trust anchor given holds no readable certificate"));
            }
        }
        for f in &opts.extra_files {
            let data = std::fs::read(f).map_err(|e| Error::io(&e, "reading trust anchors").with_path(f))?;
            let n = s.add(&data);
            if n == 0 {
                return Err(Error::new(ErrorKind::Format, "no readable certificate in the trust file").with_path(f));
            }
            s.sources.push(format!("{} ({n} certificates)", f.display()));
        }
        Ok(s)
    }

    /// Add anchors from PEM or DER; returns how many were read.
    pub fn add(&mut self, data: &[u8]) -> usize {
        let (certs, _) = x509::certs_from_pem_or_der(data);
        let n = certs.len();
        for c in certs {
            if !self.anchors.iter().any(|a| a.der == c.der) {
                self.anchors.push(c);
            }
        }
        n
    }

    /// The anchors.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    fn is_anchor(&self, c: &Certificate) -> bool {
        self.anchors.iter().any(|a| a.der == c.der || (a.spki == c.spki && a.subject == c.subject))
    }
}

/// What a certificate is being checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Code signing (EKU 1.3.6.1.5.5.7.3.3).
    CodeSigning,
    /// Timestamping (EKU 1.3.6.1.5.5.7.3.8).
    TimeStamping,
}

/// The outcome of chain building.
#[derive(Debug, Clone)]
pub enum ChainOutcome {
    /// A path to an anchor, every certificate valid at the time asked.
    Trusted(Vec<Certificate>),
    /// A path to an anchor exists, but a certificate is outside its validity at that time.
    Expired(Vec<Certificate>, String),
    /// No anchor ends any path; the longest path found.
    Untrusted(Vec<Certificate>, String),
    /// The leaf (or every path) breaks a rule.
    Invalid(Vec<Certificate>, String),
    /// An MD5-signed certificate would be needed.
    Weak(Vec<Certificate>, String),
}

impl ChainOutcome {
    /// The certificates of the path, leaf first.
    pub fn path(&self) -> &[Certificate] {
        match self {
            ChainOutcome::Trusted(p)
            | ChainOutcome::Expired(p, _)
            | ChainOutcome::Untrusted(p, _)
            | ChainOutcome::Invalid(p, _)
            | ChainOutcome::Weak(p, _) => p,
        }
    }
}

const MAX_PATH: usize = 8;

/// Check the leaf's own rules: key usage and purpose.
fn leaf_problem(leaf: &Certificate, purpose: Purpose) -> Option<String> {
    if let Some(c) = &leaf.unknown_critical {
        return Some(format!("signer certificate has an unknown critical extension {c}"));
    }
    if let Some(ku) = leaf.key_usage {
        if ku & KU_DIGITAL_SIGNATURE == 0 {
            return Some("signer certificate's keyUsage lacks digitalSignature".into());
        }
    }
    let want = match purpose {
        Purpose::CodeSigning => oid::EKU_CODE_SIGNING,
        Purpose::TimeStamping => oid::EKU_TIME_STAMPING,
    };
    if let Some(ekus) = &leaf.ext_key_usage {
        if !ekus.iter().any(|e| e == want || e == oid::ANY_EKU) {
            return Some(format!("signer certificate's extendedKeyUsage lacks {want}"));
        }
    }
    None
}

/// Whether `c` may act as a CA below position `depth` (number of CA certificates under it).
fn ca_problem(c: &Certificate, below: usize) -> Option<String> {
    if let Some(x) = &c.unknown_critical {
        return Some(format!("{} has an unknown critical extension {x}", c.subject_text()));
    }
    match c.basic_constraints {
        Some((true, Some(n))) if (below as u64) > n => {
            return Some(format!("{} path length constraint {n} exceeded", c.subject_text()))
        }
        Some((true, _)) => {}
        Some((false, _)) => return Some(format!("{} is not a CA (basicConstraints)", c.subject_text())),
        None if c.version < 3 => {}
        None => return Some(format!("{} has no basicConstraints and may not issue certificates", c.subject_text())),
    }
    if let Some(ku) = c.key_usage {
        if ku & KU_KEY_CERT_SIGN == 0 {
            return Some(format!("{} keyUsage lacks keyCertSign", c.subject_text()));
        }
    }
    None
}

fn valid_at(c: &Certificate, t: i64) -> bool {
    c.not_before <= t && t <= c.not_after
}

struct Search<'a> {
    pool: &'a [Certificate],
    store: &'a TrustStore,
    time: Option<i64>,
    best_untrusted: Vec<Certificate>,
    problem: Option<String>,
    weak: Option<String>,
    steps: usize,
}

impl Search<'_> {
    /// Depth-first search for a path from `path`'s last certificate to an anchor.
    fn extend(&mut self, path: &mut Vec<Certificate>) -> bool {
        self.steps += 1;
        if self.steps > 256 {
            return false;
        }
        let Some(cur) = path.last().cloned() else { return false };
        if let Some(t) = self.time {
            if !valid_at(&cur, t) {
                return false;
            }
        }
        if self.store.is_anchor(&cur) {
            return true;
        }
        if path.len() > self.best_untrusted.len() {
            self.best_untrusted = path.clone();
        }
        if path.len() >= MAX_PATH {
            return false;
        }
        // Anchors first, then the certificates carried.
        let candidates: Vec<(Certificate, bool)> = self
            .store
            .anchors
            .iter()
            .map(|c| (c, true))
            .chain(self.pool.iter().map(|c| (c, false)))
            .filter(|(c, _)| c.issued(&cur))
            .map(|(c, a)| (c.clone(), a))
            .collect();
        for (issuer, is_anchor) in candidates {
            if path.iter().any(|p| p.der == issuer.der) {
                continue;
            }
            match issuer.verifies(&cur) {
                Ok(HashAlg::Md5) => {
                    self.weak = Some(format!("{} is signed with MD5", cur.subject_text()));
                    continue;
                }
                Ok(_) => {}
                Err(SigError::Mismatch) => {
                    self.problem.get_or_insert(format!("{}'s signature does not verify", cur.subject_text()));
                    continue;
                }
                Err(SigError::Unsupported(m)) => {
                    self.problem.get_or_insert(format!("{}: {m}", cur.subject_text()));
                    continue;
                }
            }
            if !is_anchor && !self.store.is_anchor(&issuer) {
                if let Some(p) = ca_problem(&issuer, path.len() - 1) {
                    self.problem.get_or_insert(p);
                    continue;
                }
            }
            path.push(issuer);
            if self.extend(path) {
                return true;
            }
            path.pop();
        }
        false
    }
}

/// Build and check a chain for `leaf` at `time` through `pool`.
pub fn build(
    leaf: &Certificate,
    pool: &[Certificate],
    store: &TrustStore,
    time: i64,
    purpose: Purpose,
) -> ChainOutcome {
    if let Some(p) = leaf_problem(leaf, purpose) {
        return ChainOutcome::Invalid(vec![leaf.clone()], p);
    }
    let mut s =
        Search { pool, store, time: Some(time), best_untrusted: Vec::new(), problem: None, weak: None, steps: 0 };
    let mut path = vec![leaf.clone()];
    if s.extend(&mut path) {
        return ChainOutcome::Trusted(path);
    }
    // Again without the time rule, to tell an expired chain from an untrusted one.
    let mut s2 = Search { time: None, best_untrusted: Vec::new(), problem: None, weak: None, steps: 0, ..s };
    let mut path = vec![leaf.clone()];
    if s2.extend(&mut path) {
        let when = super::der::format_time(time);
        let bad: Vec<String> = path
            .iter()
            .filter(|c| !valid_at(c, time))
            .map(|c| {
                format!(
                    "{} (valid {} to {})",
                    c.subject_attr(oid::AT_CN).unwrap_or_else(|| c.subject_text()),
                    super::der::format_time(c.not_before),
                    super::der::format_time(c.not_after)
                )
            })
            .collect();
        return ChainOutcome::Expired(path, format!("not valid at {when}: {}", bad.join("; ")));
    }
    if let Some(w) = s2.weak {
        return ChainOutcome::Weak(s2.best_untrusted, w);
    }
    let best = if s2.best_untrusted.is_empty() { vec![leaf.clone()] } else { s2.best_untrusted };
    if let Some(p) = s2.problem {
        return ChainOutcome::Invalid(best, p);
    }
    let top = best.last().map(|c| c.issuer_text()).unwrap_or_default();
    let last = best.last();
    let why = match last {
        Some(c) if c.self_issued() => format!("the chain ends at {}, which is not a trust anchor", c.subject_text()),
        _ => format!("no certificate of the issuer {top} is carried or trusted"),
    };
    ChainOutcome::Untrusted(best, why)
}
