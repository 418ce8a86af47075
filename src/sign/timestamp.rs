//! Timestamps: the legacy Authenticode countersignature (a SignerInfo over the primary
//! signer's signature value) and RFC 3161 tokens (a SignedData over a TSTInfo whose
//! message imprint is the digest of that signature value).

use super::chain::{self, ChainOutcome, Purpose, TrustStore};
use super::crypto::{self, HashAlg};
use super::der::{self, tag, DResult, Malformed};
use super::oid;
use super::pkcs7::{SignedData, SignerInfo};
use super::report::{CertInfo, TimestampInfo, TimestampKind};
use super::x509::Certificate;

/// Check a SignerInfo's signed attributes against `content_digest` and its signature with
/// its certificate from `certs`. Returns the certificate.
pub fn check_signer<'c>(
    si: &SignerInfo,
    certs: &'c [Certificate],
    content: &[u8],
) -> Result<&'c Certificate, (bool, String)> {
    let hash = si.hash().ok_or_else(|| (true, format!("unsupported digest algorithm {}", si.digest_oid)))?;
    let cert = si.find_cert(certs).ok_or_else(|| (true, "the signer's certificate is not carried".to_string()))?;
    let to_sign_digest = match &si.signed_attrs_der {
        Some(attrs) => {
            let md = si.message_digest().map_err(|e| (true, e.0))?;
            match md {
                Some(md) if md == hash.digest(content) => {}
                Some(_) => return Err((false, "the messageDigest attribute does not match the signed content".into())),
                None => return Err((true, "signed attributes without a messageDigest".into())),
            }
            hash.digest(attrs)
        }
        None => hash.digest(content),
    };
    match crypto::verify_prehashed(&cert.key, &si.sig_alg, hash, &to_sign_digest, &si.signature) {
        Ok(()) => Ok(cert),
        Err(crypto::SigError::Mismatch) => Err((false, "the signature value does not verify".into())),
        Err(crypto::SigError::Unsupported(m)) => Err((true, m)),
    }
}

fn chain_infos(path: &[Certificate], anchored: bool) -> Vec<CertInfo> {
    let n = path.len();
    path.iter().enumerate().map(|(i, c)| CertInfo::of(c, anchored && i + 1 == n)).collect()
}

/// Verify the timestamps on `signer` (whose certificates are `certs`). Returns the first
/// verified one, or the last that failed.
pub fn verify(signer: &SignerInfo, certs: &[Certificate], store: &TrustStore) -> Option<TimestampInfo> {
    let mut last: Option<TimestampInfo> = None;
    for v in signer.unsigned_values(oid::MS_RFC3161_TIMESTAMP) {
        let info = rfc3161(v, signer, certs, store);
        if info.verified {
            return Some(info);
        }
        last = Some(info);
    }
    for v in signer.unsigned_values(oid::COUNTER_SIGNATURE) {
        let info = countersignature(v, signer, certs, store);
        if info.verified {
            return Some(info);
        }
        last = Some(info);
    }
    last
}

fn failed(kind: TimestampKind, time: Option<i64>, reason: String, chain: Vec<CertInfo>) -> TimestampInfo {
    TimestampInfo {
        kind,
        time: time.map(der::format_time),
        unix_time: time,
        verified: false,
        reason: Some(reason),
        chain,
        digest_algorithm: None,
    }
}

fn finish(
    kind: TimestampKind,
    time: i64,
    hash: Option<HashAlg>,
    cert: &Certificate,
    pool: &[Certificate],
    store: &TrustStore,
) -> TimestampInfo {
    let outcome = chain::build(cert, pool, store, time, Purpose::TimeStamping);
    let (verified, reason, chain) = match &outcome {
        ChainOutcome::Trusted(p) => (true, None, chain_infos(p, true)),
        ChainOutcome::Expired(p, why)
        | ChainOutcome::Untrusted(p, why)
        | ChainOutcome::Invalid(p, why)
        | ChainOutcome::Weak(p, why) => (false, Some(format!("timestamp chain: {why}")), chain_infos(p, false)),
    };
    let hash_ok = hash != Some(HashAlg::Md5);
    TimestampInfo {
        kind,
        time: Some(der::format_time(time)),
        unix_time: Some(time),
        verified: verified && hash_ok,
        reason: if hash_ok { reason } else { Some("the timestamp uses MD5".into()) },
        chain,
        digest_algorithm: hash,
    }
}

fn countersignature(value: &[u8], signer: &SignerInfo, certs: &[Certificate], store: &TrustStore) -> TimestampInfo {
    let kind = TimestampKind::Authenticode;
    let cs = match der::parse_whole(value, false).and_then(|t| SignerInfo::from_tlv(&t)) {
        Ok(cs) => cs,
        Err(Malformed(m)) => return failed(kind, None, format!("unreadable countersignature: {m}"), Vec::new()),
    };
    let time = cs.signing_time();
    let cert = match check_signer(&cs, certs, &signer.signature) {
        Ok(c) => c,
        Err((_, why)) => return failed(kind, time, format!("countersignature: {why}"), Vec::new()),
    };
    let Some(time) = time else {
        return failed(kind, None, "countersignature without a signing time".into(), Vec::new());
    };
    finish(kind, time, cs.hash(), cert, certs, store)
}

/// TSTInfo fields used: the message imprint and the time.
fn tst_info(content: &[u8]) -> DResult<(String, Vec<u8>, i64)> {
    let mut r = der::Reader::new(content);
    r.need(tag::INTEGER, "TSTInfo version")?;
    r.need(tag::OID, "TSTInfo policy")?;
    let mi = r.need(tag::SEQUENCE, "message imprint")?;
    let mut mr = mi.reader();
    let alg = crypto::alg_oid(&mr.need(tag::SEQUENCE, "imprint algorithm")?)?;
    let digest = mr.need(tag::OCTET_STRING, "imprint")?.value.to_vec();
    r.need(tag::INTEGER, "TSTInfo serial")?;
    let t = der::time(&r.need(tag::GENERALIZED_TIME, "genTime")?)?;
    Ok((alg, digest, t))
}

fn rfc3161(value: &[u8], signer: &SignerInfo, certs: &[Certificate], store: &TrustStore) -> TimestampInfo {
    let kind = TimestampKind::Rfc3161;
    let sd = match SignedData::parse(value, false) {
        Ok(sd) => sd,
        Err(Malformed(m)) => return failed(kind, None, format!("unreadable RFC 3161 token: {m}"), Vec::new()),
    };
    if sd.content_type != oid::TST_INFO {
        return failed(kind, None, format!("token content type {} is not TSTInfo", sd.content_type), Vec::new());
    }
    // The TSTInfo is inside an OCTET STRING; `content` holds its octets.
    let (alg, imprint, time) = match tst_info_from(&sd) {
        Ok(x) => x,
        Err(Malformed(m)) => return failed(kind, None, format!("unreadable TSTInfo: {m}"), Vec::new()),
    };
    let Some(ih) = HashAlg::from_oid(&alg) else {
        return failed(kind, Some(time), format!("unsupported imprint algorithm {alg}"), Vec::new());
    };
    if ih.digest(&signer.signature) != imprint {
        return failed(kind, Some(time), "the message imprint does not match the signature".into(), Vec::new());
    }
    let mut pool = sd.certs.clone();
    pool.extend(certs.iter().cloned());
    let Some(tsi) = sd.signers.first() else {
        return failed(kind, Some(time), "token without a signer".into(), Vec::new());
    };
    let cert = match check_signer(tsi, &pool, &sd.content) {
        Ok(c) => c.clone(),
        Err((_, why)) => return failed(kind, Some(time), format!("token: {why}"), Vec::new()),
    };
    finish(kind, time, tsi.hash(), &cert, &pool, store)
}

fn tst_info_from(sd: &SignedData) -> DResult<(String, Vec<u8>, i64)> {
    // eContent is an OCTET STRING holding the DER TSTInfo.
    let inner = der::parse_whole(&sd.content, false)?.need(tag::SEQUENCE, "TSTInfo")?;
    tst_info(inner.value)
}
