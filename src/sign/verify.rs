//! One signature's verdict: content digest, signed attributes, signature value, timestamp
//! and chain, in that order; and the walk over nested signatures.

use super::chain::{self, ChainOutcome, Purpose, TrustStore};
use super::crypto::HashAlg;
use super::der;
use super::oid;
use super::pkcs7::{IndirectData, SignedData};
use super::report::{hex, Carrier, CertInfo, SignatureEntry, SignatureReport, Verdict};
use super::timestamp;

/// The most signatures (primary and nested) examined in one file.
pub const MAX_SIGNATURES: usize = 16;
/// The deepest nesting of nested signatures followed.
pub const MAX_NESTING: usize = 4;

/// Computes a carrier's digest for each algorithm asked, in one pass.
pub type DigestFn<'a> = dyn FnMut(&[HashAlg]) -> Result<Vec<(HashAlg, Vec<u8>)>, String> + 'a;

/// A signature found, before evaluation.
struct Found {
    parsed: Result<SignedData, String>,
    nested_in: Option<usize>,
}

fn collect(blob: &[u8], lenient: bool) -> Vec<Found> {
    let mut out = Vec::new();
    let mut queue: Vec<(Vec<u8>, Option<usize>, usize, bool)> = vec![(blob.to_vec(), None, 0, lenient)];
    while let Some((b, parent, depth, len_ok)) = queue.pop() {
        if out.len() >= MAX_SIGNATURES {
            break;
        }
        let parsed = SignedData::parse(&b, len_ok).map_err(|e| e.0);
        let idx = out.len();
        if let Ok(sd) = &parsed {
            if depth < MAX_NESTING {
                if let Some(si) = sd.signers.first() {
                    // Reverse so the first nested signature is evaluated first.
                    for v in si.unsigned_values(oid::SPC_NESTED_SIGNATURE).into_iter().rev() {
                        queue.push((v.to_vec(), Some(idx), depth + 1, false));
                    }
                }
            }
        }
        out.push(Found { parsed, nested_in: parent });
    }
    out
}

/// Evaluate every signature in `blob` (the primary ContentInfo, trailing padding allowed)
/// against the carrier's digests.
pub fn evaluate(
    carrier: Carrier,
    blob: &[u8],
    digests: &mut DigestFn<'_>,
    store: &TrustStore,
    mut notes: Vec<String>,
) -> SignatureReport {
    let found = collect(blob, true);
    // Which file digests are needed.
    let mut algs: Vec<HashAlg> = Vec::new();
    let mut idc: Vec<Option<Result<IndirectData, String>>> = Vec::new();
    for f in &found {
        let i = match &f.parsed {
            Ok(sd) if sd.content_type == oid::SPC_INDIRECT_DATA => Some(
                IndirectData::parse(&sd.content).map_err(|e| format!("unreadable SpcIndirectDataContent: {}", e.0)),
            ),
            _ => None,
        };
        if let Some(Ok(d)) = &i {
            if let Some(a) = HashAlg::from_oid(&d.hash_oid) {
                if !algs.contains(&a) {
                    algs.push(a);
                }
            }
        }
        idc.push(i);
    }
    let computed = if algs.is_empty() || carrier == Carrier::Catalog { Ok(Vec::new()) } else { digests(&algs) };
    let now = store.at.unwrap_or_else(now_unix);
    let mut entries = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let e = one(carrier, i, f, idc[i].as_ref(), &computed, store, now);
        entries.push(e);
    }
    if let Err(e) = &computed {
        notes.push(format!("the file digest could not be computed: {e}"));
    }
    let verdict = entries.first().map(|e| e.verdict).unwrap_or(Verdict::Unsigned);
    SignatureReport { carrier, verdict, signatures: entries, catalog_members: Vec::new(), notes }
}

/// The current time as Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn entry(index: usize, nested_in: Option<usize>, verdict: Verdict, reason: String, now: i64) -> SignatureEntry {
    SignatureEntry {
        index,
        nested_in,
        verdict,
        reason,
        digest_algorithm: None,
        signed_digest: None,
        computed_digest: None,
        signer: None,
        chain: Vec::new(),
        timestamp: None,
        signing_time: None,
        checked_at: der::format_time(now),
    }
}

fn one(
    carrier: Carrier,
    index: usize,
    f: &Found,
    idc: Option<&Result<IndirectData, String>>,
    computed: &Result<Vec<(HashAlg, Vec<u8>)>, String>,
    store: &TrustStore,
    now: i64,
) -> SignatureEntry {
    let sd = match &f.parsed {
        Ok(sd) => sd,
        Err(m) => return entry(index, f.nested_in, Verdict::Malformed, format!("unreadable signature: {m}"), now),
    };
    let mut e = entry(index, f.nested_in, Verdict::Malformed, String::new(), now);
    let Some(si) = sd.signers.first() else {
        e.reason = "no signer".into();
        return e;
    };
    e.signing_time = si.signing_time().map(der::format_time);
    let mut weak: Option<String> = None;
    // 1. The file digest.
    if carrier == Carrier::Catalog {
        if sd.content_type != oid::CTL {
            e.reason = format!("catalog content type {} is not a certificate trust list", sd.content_type);
            return e;
        }
    } else {
        let d = match idc {
            Some(Ok(d)) => d,
            Some(Err(m)) => {
                e.reason = m.clone();
                return e;
            }
            None => {
                e.reason = format!("content type {} is not SpcIndirectDataContent", sd.content_type);
                return e;
            }
        };
        let Some(alg) = HashAlg::from_oid(&d.hash_oid) else {
            e.reason = format!("unsupported file digest algorithm {}", d.hash_oid);
            return e;
        };
        e.digest_algorithm = Some(alg);
        e.signed_digest = Some(hex(&d.digest));
        if alg == HashAlg::Md5 {
            weak = Some("the file digest is MD5".into());
        }
        match computed {
            Ok(v) => match v.iter().find(|(a, _)| *a == alg) {
                Some((_, got)) => {
                    e.computed_digest = Some(hex(got));
                    if *got != d.digest {
                        e.verdict = Verdict::BadDigest;
                        e.reason = format!("the file's {} digest does not match the signed digest", alg.name());
                        signer_info(&mut e, sd);
                        return e;
                    }
                }
                None => {
                    e.reason = "the file digest was not computed".into();
                    return e;
                }
            },
            Err(m) => {
                e.reason = format!("the file digest could not be computed: {m}");
                return e;
            }
        }
    }
    if sd.signers.len() > 1 {
        e.reason = format!("{} signer infos (Authenticode allows one)", sd.signers.len());
        return e;
    }
    // 2. Signed attributes and the signature value.
    let cert = match timestamp::check_signer(si, &sd.certs, &sd.content) {
        Ok(c) => c,
        Err((unreadable, why)) => {
            e.verdict = if unreadable { Verdict::Malformed } else { Verdict::BadSignature };
            e.reason = why;
            signer_info(&mut e, sd);
            return e;
        }
    };
    if e.digest_algorithm.is_none() {
        e.digest_algorithm = si.hash();
    }
    e.signer = Some(CertInfo::of(cert, false));
    if si.hash() == Some(HashAlg::Md5) || HashAlg::from_oid(&si.sig_alg) == Some(HashAlg::Md5) {
        weak = Some("the signer uses MD5".into());
    }
    // 3. Timestamp.
    let ts = timestamp::verify(si, &sd.certs, store);
    let lifetime = cert.ext_key_usage.as_ref().is_some_and(|v| v.iter().any(|o| o == oid::LIFETIME_SIGNING));
    let ts_time = ts.as_ref().filter(|t| t.verified && !lifetime).and_then(|t| t.unix_time);
    let at = ts_time.unwrap_or(now);
    e.checked_at = der::format_time(at);
    e.timestamp = ts;
    // 4. Chain.
    let outcome = chain::build(cert, &sd.certs, store, at, Purpose::CodeSigning);
    let anchored = matches!(outcome, ChainOutcome::Trusted(_));
    let n = outcome.path().len();
    e.chain = outcome.path().iter().enumerate().map(|(i, c)| CertInfo::of(c, anchored && i + 1 == n)).collect();
    if let Some(w) = weak {
        e.verdict = Verdict::WeakAlgorithm;
        e.reason = w;
        return e;
    }
    let ts_note = match &e.timestamp {
        Some(t) if !t.verified => format!(" (timestamp not verified: {})", t.reason.clone().unwrap_or_default()),
        _ => String::new(),
    };
    match outcome {
        ChainOutcome::Trusted(_) => {
            if ts_time.is_some() {
                e.verdict = Verdict::ValidTimestamped;
                e.reason = format!("valid; timestamped {}", e.checked_at);
            } else {
                e.verdict = Verdict::Valid;
                e.reason = format!("valid at {}{ts_note}", e.checked_at);
            }
        }
        ChainOutcome::Expired(_, why) => {
            e.verdict = Verdict::ExpiredNoTimestamp;
            e.reason = format!("{why}{ts_note}");
        }
        ChainOutcome::Untrusted(_, why) => {
            e.verdict = Verdict::UntrustedRoot;
            e.reason = format!("{why}{ts_note}");
        }
        ChainOutcome::Invalid(_, why) => {
            e.verdict = Verdict::InvalidChain;
            e.reason = format!("{why}{ts_note}");
        }
        ChainOutcome::Weak(_, why) => {
            e.verdict = Verdict::WeakAlgorithm;
            e.reason = why;
        }
    }
    e
}

fn signer_info(e: &mut SignatureEntry, sd: &SignedData) {
    if let Some(c) = sd.signers.first().and_then(|si| si.find_cert(&sd.certs)) {
        e.signer = Some(CertInfo::of(c, false));
    }
}
