//! Authenticode signature verification, in pure Rust.
//!
//! [`verify_file`] and [`verify_bytes`] find the signature of a PE image, an MSI/MSP/MST
//! package, a cabinet or a security catalog, recompute the digest the signature covers,
//! check the signer's signed attributes and signature value (RSA PKCS#1 v1.5, ECDSA
//! P-256/P-384; SHA-1/SHA-2; MD5 reported and never trusted), verify a legacy
//! countersignature or RFC 3161 timestamp, and build the certificate chain to a trust
//! anchor at the timestamp's time (or now). Every nested signature is reported too.
//!
//! A signature that cannot be read is a verdict ([`Verdict::Malformed`]), not an error:
//! errors are kept for files that cannot be read at all.

pub(crate) mod cab;
pub(crate) mod catalog;
pub(crate) mod chain;
pub(crate) mod crypto;
pub(crate) mod der;
pub(crate) mod msi;
pub(crate) mod oid;
pub(crate) mod pe;
pub(crate) mod pkcs7;
pub(crate) mod report;
pub(crate) mod timestamp;
pub(crate) mod verify;
pub(crate) mod x509;

pub use chain::{TrustOptions, TrustStore, MICROSOFT_ROOTS, SYSTEM_BUNDLES};
pub use crypto::HashAlg;
pub use report::{
    Carrier, CatalogMember, CertInfo, SignatureEntry, SignatureReport, TimestampInfo, TimestampKind, Verdict,
};

use crate::error::{Error, IoResultExt, Result};
use std::path::Path;

/// The largest signature blob read (PE certificate table entry, MSI stream, CAB area).
pub const MAX_SIGNATURE_BYTES: u64 = 64 << 20;

/// Random access to the bytes of a file or a buffer.
pub trait Source {
    /// Length in bytes.
    fn len(&self) -> u64;
    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fill `buf` from offset `at`.
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> Result<()>;
}

/// A byte buffer as a [`Source`].
pub struct Bytes<'a>(pub &'a [u8]);

impl Source for Bytes<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> Result<()> {
        let start = usize::try_from(at).map_err(|_| Error::format("offset out of range"))?;
        let end = start.checked_add(buf.len()).filter(|&e| e <= self.0.len());
        match end {
            Some(end) => {
                buf.copy_from_slice(&self.0[start..end]);
                Ok(())
            }
            None => Err(Error::format(format!("reading {} bytes at {at} runs past the end", buf.len()))),
        }
    }
}

/// A file read with positioned reads.
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

impl FileSource {
    /// Open `path`.
    pub fn open(path: &Path) -> Result<FileSource> {
        let file = crate::random_access::open_file(path)?;
        let len = file.metadata().io_ctx("reading the size").map_err(|e| e.with_path(path))?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, at).io_ctx("reading")
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::FileExt;
            let mut done = 0usize;
            while done < buf.len() {
                let n = self.file.seek_read(&mut buf[done..], at + done as u64).io_ctx("reading")?;
                if n == 0 {
                    return Err(Error::format("unexpected end of file"));
                }
                done += n;
            }
            Ok(())
        }
    }
}

/// Hash byte ranges of `src` with every algorithm in `algs` (one read of each byte).
pub fn hash_ranges(src: &dyn Source, ranges: &[(u64, u64)], algs: &[HashAlg]) -> Result<Vec<(HashAlg, Vec<u8>)>> {
    let mut h = crypto::MultiHasher::new(algs);
    let mut buf = vec![0u8; 1 << 20];
    for &(start, end) in ranges {
        let mut at = start;
        while at < end {
            let n = (end - at).min(buf.len() as u64) as usize;
            src.read_exact_at(&mut buf[..n], at)?;
            h.update(&buf[..n]);
            at += n as u64;
        }
    }
    Ok(h.finish())
}

/// Verify the signatures of the file at `path`.
pub fn verify_file(path: &Path, opts: &TrustOptions) -> Result<SignatureReport> {
    let store = TrustStore::new(opts)?;
    verify_file_with(path, &store)
}

/// Verify the signatures of `data` (the whole file).
pub fn verify_bytes(data: &[u8], opts: &TrustOptions) -> Result<SignatureReport> {
    let store = TrustStore::new(opts)?;
    verify_bytes_with(data, &store)
}

/// [`verify_file`] with a prepared trust store (reuse it across files).
pub fn verify_file_with(path: &Path, store: &TrustStore) -> Result<SignatureReport> {
    let src = FileSource::open(path)?;
    let mut head = [0u8; 8];
    let n = src.len().min(8) as usize;
    src.read_exact_at(&mut head[..n], 0).map_err(|e| e.with_path(path))?;
    if n == 8 && head == CFB_MAGIC {
        let (comp, _) = match crate::msi::open_compound(path) {
            Ok(x) => x,
            Err(e) => return Ok(malformed(Carrier::Msi, &format!("not a readable compound file: {}", e.message()))),
        };
        return Ok(verify_compound(&comp, store));
    }
    verify_source(&src, store).map_err(|e| e.with_path(path))
}

/// [`verify_bytes`] with a prepared trust store.
pub fn verify_bytes_with(data: &[u8], store: &TrustStore) -> Result<SignatureReport> {
    if data.len() >= 8 && data[..8] == CFB_MAGIC {
        let src: crate::random_access::Shared = std::sync::Arc::new(data.to_vec());
        let (comp, _) = match crate::msi::open_compound_from(Path::new("bytes"), src) {
            Ok(x) => x,
            Err(e) => return Ok(malformed(Carrier::Msi, &format!("not a readable compound file: {}", e.message()))),
        };
        return Ok(verify_compound(&comp, store));
    }
    verify_source(&Bytes(data), store)
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn malformed(carrier: Carrier, why: &str) -> SignatureReport {
    SignatureReport {
        carrier,
        verdict: Verdict::Malformed,
        signatures: Vec::new(),
        catalog_members: Vec::new(),
        notes: vec![why.to_string()],
    }
}

fn verify_source(src: &dyn Source, store: &TrustStore) -> Result<SignatureReport> {
    let len = src.len();
    let mut head = vec![0u8; len.min(4 << 20) as usize];
    src.read_exact_at(&mut head, 0)?;
    if head.starts_with(b"MZ") {
        return verify_pe(src, &head, store);
    }
    if head.starts_with(b"MSCF") {
        return verify_cab(src, store);
    }
    if head.first() == Some(&der::tag::SEQUENCE) && len <= MAX_SIGNATURE_BYTES {
        let mut all = vec![0u8; len as usize];
        src.read_exact_at(&mut all, 0)?;
        if catalog::sniff(&all) {
            return Ok(verify_catalog(&all, store));
        }
    }
    Ok(SignatureReport::unsigned(Carrier::Other, "not a PE image, installer package, cabinet or catalog"))
}

fn verify_pe(src: &dyn Source, head: &[u8], store: &TrustStore) -> Result<SignatureReport> {
    let len = src.len();
    let l = match pe::layout(head, len) {
        Ok(l) => l,
        Err(e) => return Ok(malformed(Carrier::Pe, e.message())),
    };
    let (blob, notes) = match pe::signature_blob(src, &l) {
        Ok(Some(x)) => x,
        Ok(None) => return Ok(SignatureReport::unsigned(Carrier::Pe, "no attribute certificate table")),
        Err(e) => return Ok(malformed(Carrier::Pe, e.message())),
    };
    let ranges = pe::digest_ranges(&l, len);
    let mut digests = |algs: &[HashAlg]| hash_ranges(src, &ranges, algs).map_err(|e| e.message().to_string());
    Ok(verify::evaluate(Carrier::Pe, &blob, &mut digests, store, notes))
}

fn verify_cab(src: &dyn Source, store: &TrustStore) -> Result<SignatureReport> {
    let Some(area) = cab::find(src)? else {
        return Ok(SignatureReport::unsigned(Carrier::Cab, "no signature area in the cabinet header"));
    };
    if u64::from(area.len) > MAX_SIGNATURE_BYTES {
        return Ok(malformed(Carrier::Cab, "the signature area is implausibly large"));
    }
    let mut blob = vec![0u8; area.len as usize];
    src.read_exact_at(&mut blob, u64::from(area.offset))?;
    let ranges = cab::digest_ranges(&area);
    let mut digests = |algs: &[HashAlg]| hash_ranges(src, &ranges, algs).map_err(|e| e.message().to_string());
    Ok(verify::evaluate(Carrier::Cab, &blob, &mut digests, store, Vec::new()))
}

fn verify_compound(comp: &crate::msi::compound::Compound, store: &TrustStore) -> SignatureReport {
    let mut stream = match comp.open_stream(msi::DIGITAL_SIGNATURE) {
        Ok(s) => s,
        Err(_) => return SignatureReport::unsigned(Carrier::Msi, "no \\x05DigitalSignature stream"),
    };
    if stream.len() > MAX_SIGNATURE_BYTES {
        return malformed(Carrier::Msi, "the DigitalSignature stream is implausibly large");
    }
    let mut blob = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut stream, &mut blob) {
        return malformed(Carrier::Msi, &format!("reading the DigitalSignature stream: {e}"));
    }
    let mut notes = Vec::new();
    if msi::has_ex(&comp.raw_entries()) {
        notes.push("MsiDigitalSignatureEx present: the digest includes the metadata pre-hash".into());
    }
    let mut digests = |algs: &[HashAlg]| msi::digest(comp, algs).map_err(|e| e.to_string());
    verify::evaluate(Carrier::Msi, &blob, &mut digests, store, notes)
}

fn verify_catalog(data: &[u8], store: &TrustStore) -> SignatureReport {
    let mut none = |_: &[HashAlg]| Ok(Vec::new());
    let mut report = verify::evaluate(Carrier::Catalog, data, &mut none, store, Vec::new());
    match pkcs7::SignedData::parse(data, true).map_err(|e| e.0).and_then(|sd| catalog::members(&sd).map_err(|e| e.0)) {
        Ok(m) => report.catalog_members = m,
        Err(e) => report.notes.push(format!("catalog members unreadable: {e}")),
    }
    report
}

/// The digest a catalog would list for the file at `path`: the Authenticode digest of a
/// PE image, package or cabinet, or the plain digest of any other file.
pub fn member_digest(path: &Path, alg: HashAlg) -> Result<Vec<u8>> {
    let src = FileSource::open(path)?;
    let len = src.len();
    let mut head = vec![0u8; len.min(4 << 20) as usize];
    src.read_exact_at(&mut head, 0).map_err(|e| e.with_path(path))?;
    let ranges = if head.starts_with(b"MZ") {
        let l = pe::layout(&head, len).map_err(|e| e.with_path(path))?;
        pe::digest_ranges(&l, len)
    } else if head.len() >= 8 && head[..8] == CFB_MAGIC {
        let (comp, _) = crate::msi::open_compound(path)?;
        let d = msi::digest(&comp, &[alg]).io_ctx("hashing the package").map_err(|e| e.with_path(path))?;
        return d.into_iter().next().map(|(_, v)| v).ok_or_else(|| Error::format("no digest"));
    } else {
        match cab::find(&src)? {
            Some(area) => cab::digest_ranges(&area),
            None => vec![(0, len)],
        }
    };
    let d = hash_ranges(&src, &ranges, &[alg]).map_err(|e| e.with_path(path))?;
    d.into_iter().next().map(|(_, v)| v).ok_or_else(|| Error::format("no digest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
        let mut v: Vec<_> =
            std::fs::read_dir(dir).unwrap().flatten().map(|e| std::fs::read(e.path()).unwrap()).collect();
        v.sort();
        v
    }

    /// Truncations and single-byte changes of the seed signatures and files:
    /// no panic, and a signature that no longer reads is a verdict, not an error.
    #[test]
    fn hostile_variants_never_panic() {
        let store = TrustStore::default();
        for s in seeds("sign_pkcs7") {
            for cut in (0..s.len()).step_by(s.len() / 40 + 1) {
                crate::fuzzing::sign_pkcs7(&s[..cut]);
            }
            for i in (0..s.len()).step_by(s.len() / 60 + 1) {
                let mut m = s.clone();
                m[i] ^= 0x80;
                crate::fuzzing::sign_pkcs7(&m);
            }
        }
        for s in seeds("sign_verify") {
            let base = verify_bytes_with(&s, &store).unwrap();
            assert_eq!(base.verdict, Verdict::UntrustedRoot, "{base:?}");
            for i in (0..s.len()).step_by(s.len() / 40 + 1) {
                let mut m = s.clone();
                m[i] ^= 0x55;
                assert!(verify_bytes_with(&m, &store).is_ok());
            }
            for cut in (0..s.len()).step_by(s.len() / 20 + 1) {
                assert!(verify_bytes_with(&s[..cut], &store).is_ok());
            }
        }
    }

    #[test]
    fn truncated_signature_is_malformed() {
        let store = TrustStore::default();
        let cab = seeds("sign_verify").remove(0);
        let area = cab::find(&Bytes(&cab)).unwrap().unwrap();
        let mut m = cab.clone();
        // Shorten the signature's outer length so the structure no longer reads.
        m[area.offset as usize + 1] = 0x81;
        let r = verify_bytes_with(&m, &store).unwrap();
        assert_eq!(r.verdict, Verdict::Malformed, "{r:?}");
    }
}
