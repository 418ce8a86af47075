//! Authenticode verification (`hotfixkit::sign`): the signed files of the shared corpus
//! compared with osslsigncode, and signatures made here with throwaway keys (openssl CLI)
//! and osslsigncode on a PE image, an MSI and a cabinet.
//!
//! Tests that need the corpus, openssl or osslsigncode say so (`needs`): the harness
//! reports them ignored when it is missing, or fails them under
//! HOTFIXKIT_REQUIRE_CORPUS=1.

use crate::util::*;
use hotfixkit::sign::{self, SignatureReport, TrustOptions, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The osslsigncode these comparisons were recorded with.
const OSSLSIGNCODE_VERSION: &str = "osslsigncode 2.9";

/// Say which osslsigncode the comparison runs with, when it is not the one recorded.
fn note_osslsigncode_version() {
    let v = Command::new("osslsigncode").arg("--version").output().map(|o| stdout(&o)).unwrap_or_default();
    if !v.starts_with(OSSLSIGNCODE_VERSION) {
        eprintln!("note: comparing with {} (recorded with {OSSLSIGNCODE_VERSION})", v.lines().next().unwrap_or(""));
    }
}

fn sh(cmd: &mut Command) -> std::process::Output {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?} failed: {}{}", stdout(&o), stderr(&o));
    o
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn verify(path: &Path, opts: &TrustOptions) -> SignatureReport {
    sign::verify_file(path, opts).unwrap()
}

/// osslsigncode's overall answer: Some(true) for "Succeeded".
fn ossl_verify(path: &Path, ca: &Path, time: Option<i64>) -> bool {
    let mut c = Command::new("osslsigncode");
    c.arg("verify").arg("-in").arg(path).arg("-CAfile").arg(ca).arg("-TSA-CAfile").arg(ca).arg("-ignore-crl");
    if let Some(t) = time {
        c.arg("-time").arg(t.to_string());
    }
    let o = c.output().unwrap();
    let out = stdout(&o) + &stderr(&o);
    out.lines().any(|l| l.trim() == "Succeeded")
}

// ---------------------------------------------------------------------------------------
// The shared corpus.

struct Expect {
    rel: &'static str,
    verdict: Verdict,
    signer_cn: &'static str,
    signatures: usize,
}

const CORPUS: &[Expect] = &[
    Expect {
        rel: "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/WPF2_32.msp",
        verdict: Verdict::ValidTimestamped,
        signer_cn: "Microsoft Corporation",
        signatures: 1,
    },
    Expect {
        rel: "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/SQL2008_AS.msp",
        verdict: Verdict::ValidTimestamped,
        signer_cn: "Microsoft Corporation",
        signatures: 1,
    },
    Expect {
        rel: "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/vcredist.msi",
        verdict: Verdict::ValidTimestamped,
        signer_cn: "Microsoft Corporation",
        signatures: 1,
    },
    // Chains to AddTrust External CA Root (expired 2020, not in the system store).
    Expect {
        rel: "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/putty-0.68-installer.msi",
        verdict: Verdict::UntrustedRoot,
        signer_cn: "Simon Tatham",
        signatures: 2,
    },
    // The VeriSign G5 intermediate is not carried.
    Expect {
        rel: "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/IviNetSharedComponents32_Fx20_1.3.0.msi",
        verdict: Verdict::UntrustedRoot,
        signer_cn: "INTERCHANGEABLE VIRTUAL INSTRUMENTS FOUNDATION INC.",
        signatures: 1,
    },
    Expect {
        rel: "wix/src/wix/test/WixToolsetTest.Core.Native/TestData/test.cab",
        verdict: Verdict::ValidTimestamped,
        signer_cn: "FireGiant",
        signatures: 1,
    },
    // Self-signed test certificate.
    Expect {
        rel: "wix/src/wix/test/WixToolsetTest.CoreIntegration/TestData/.Data/signed_cab1.cab",
        verdict: Verdict::UntrustedRoot,
        signer_cn: "WiX Test Certificate",
        signatures: 1,
    },
    // The signature value does not verify with the carried certificate's key
    // (osslsigncode: RSA_padding_check_PKCS1_type_1 invalid padding).
    Expect { rel: "gcab/tests/test-signed.cab", verdict: Verdict::BadSignature, signer_cn: "LVFS CA", signatures: 1 },
    // Damaged by the upstream repository's `* text=auto` (see CORPUS.md).
    Expect {
        rel: "wix3/test/data/BurnTestPayloads/Products/Hello_Reg_conditionalPass/hello_world.msi",
        verdict: Verdict::BadDigest,
        signer_cn: "VS Bld Lab",
        signatures: 1,
    },
];

fn signature_corpus_agrees_with_osslsigncode() {
    let shared = shared();
    note_osslsigncode_version();
    let with_ossl = true;
    // The same anchors for both: the system bundle plus manifests/trust.
    let t = tempfile::tempdir().unwrap();
    let ca = t.path().join("anchors.pem");
    let mut bundle = Vec::new();
    for p in sign::SYSTEM_BUNDLES {
        if let Ok(b) = std::fs::read(p) {
            bundle = b;
            break;
        }
    }
    for (_, pem) in sign::MICROSOFT_ROOTS {
        bundle.extend_from_slice(pem.as_bytes());
    }
    std::fs::write(&ca, &bundle).unwrap();
    let opts = TrustOptions::default();
    let store = sign::TrustStore::new(&opts).unwrap();
    let mut table = vec![format!("| file | ours | signer | {OSSLSIGNCODE_VERSION} |"), "|---|---|---|---|".to_string()];
    let mut failures = Vec::new();
    for e in CORPUS {
        let path = shared.join("corpus").join(e.rel);
        assert!(path.is_file(), "{} is missing from the corpus", path.display());
        let r = sign::verify_file_with(&path, &store).unwrap();
        let cn = r.signatures.first().and_then(|s| s.signer.as_ref()).and_then(|c| c.common_name.clone());
        let ossl = if with_ossl { Some(ossl_verify(&path, &ca, None)) } else { None };
        table.push(format!(
            "| {} | {} | {} | {} |",
            e.rel.rsplit('/').next().unwrap(),
            r.verdict.label(),
            cn.clone().unwrap_or_default(),
            match ossl {
                Some(true) => "ok",
                Some(false) => "failed",
                None => "not run",
            }
        ));
        if r.verdict != e.verdict {
            failures.push(format!("{}: verdict {:?}, expected {:?} ({:?})", e.rel, r.verdict, e.verdict, r.signatures));
        }
        if cn.as_deref() != Some(e.signer_cn) {
            failures.push(format!("{}: signer {cn:?}, expected {}", e.rel, e.signer_cn));
        }
        if r.signatures.len() != e.signatures {
            failures.push(format!("{}: {} signatures, expected {}", e.rel, r.signatures.len(), e.signatures));
        }
        if let Some(ok) = ossl {
            if ok != r.verdict.is_trusted() {
                failures.push(format!("{}: osslsigncode says {ok}, we say {:?}", e.rel, r.verdict));
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn signature_corpus_timestamps_and_nesting() {
    let shared = shared();
    let c = shared.join("corpus");
    let wpf = c.join("lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/WPF2_32.msp");
    let putty = c.join("lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/putty-0.68-installer.msi");
    let cab = c.join("wix/src/wix/test/WixToolsetTest.Core.Native/TestData/test.cab");
    assert!(wpf.is_file() && putty.is_file() && cab.is_file(), "corpus files are missing");
    let opts = TrustOptions::default();
    // WPF2_32.msp: signer certificate expired in 2009; the legacy countersignature of
    // 2007-11-08 makes it valid.
    let r = verify(&wpf, &opts);
    let s = &r.signatures[0];
    let ts = s.timestamp.as_ref().unwrap();
    assert_eq!(ts.kind, sign::TimestampKind::Authenticode);
    assert_eq!(ts.time.as_deref(), Some("2007-11-08T01:26:54Z"));
    assert!(ts.verified, "{ts:?}");
    assert_eq!(s.digest_algorithm, Some(sign::HashAlg::Sha1));
    assert_eq!(s.signer.as_ref().unwrap().not_after, "2009-02-23T00:33:13Z");
    // The report serialises with kebab-case verdicts.
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["verdict"], "valid-timestamped");
    assert_eq!(j["carrier"], "msi");
    assert_eq!(j["signatures"][0]["timestamp"]["kind"], "authenticode");
    assert_eq!(j["signatures"][0]["digest_algorithm"], "sha1");
    // The wix cabinet carries an RFC 3161 token.
    let r = verify(&cab, &opts);
    let ts = r.signatures[0].timestamp.as_ref().unwrap();
    assert_eq!(ts.kind, sign::TimestampKind::Rfc3161);
    assert_eq!(ts.time.as_deref(), Some("2022-02-24T23:57:35Z"));
    assert_eq!(r.signatures[0].digest_algorithm, Some(sign::HashAlg::Sha256));
    // putty: SHA-1 primary and a SHA-256 nested signature, each with its own digest.
    let r = verify(&putty, &opts);
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[1].nested_in, Some(0));
    assert_eq!(r.signatures[0].digest_algorithm, Some(sign::HashAlg::Sha1));
    assert_eq!(r.signatures[1].digest_algorithm, Some(sign::HashAlg::Sha256));
    for s in &r.signatures {
        assert_eq!(s.signed_digest, s.computed_digest);
    }
    // The chain ends at the carried AddTrust root, which is not an anchor.
    let top = r.signatures[0].chain.last().unwrap();
    assert!(top.subject.contains("AddTrust External CA Root") && !top.trust_anchor, "{top:?}");
}

fn signature_unsigned_and_garbage() {
    let opts = TrustOptions::only(Vec::new());
    for f in ["admin/tree/tree.msi", "cab/stored.cab"] {
        let r = verify(&fixture(f), &opts);
        assert_eq!(r.verdict, Verdict::Unsigned, "{f}: {r:?}");
    }
    let pe = small_pe("u");
    assert_eq!(sign::verify_bytes(&pe, &opts).unwrap().verdict, Verdict::Unsigned);
    let r = sign::verify_bytes(b"hello", &opts).unwrap();
    assert_eq!((r.carrier, r.verdict), (sign::Carrier::Other, Verdict::Unsigned));
    // A PE whose certificate table holds garbage.
    let mut bad = pe.clone();
    let table = bad.len() as u32;
    let entry: Vec<u8> =
        [16u32.to_le_bytes().to_vec(), vec![0, 2, 2, 0], vec![0x30, 0x82, 0xff, 0xff, 1, 2, 3, 4]].concat();
    bad.extend_from_slice(&entry);
    set_cert_dir(&mut bad, table, entry.len() as u32);
    let r = sign::verify_bytes(&bad, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Malformed, "{r:?}");
}

fn small_pe(seed: &str) -> Vec<u8> {
    hotfixkit::testing::write_pe(&hotfixkit::testing::PeSpec {
        machine: 0x14c,
        version: (1, 2, 3, 4),
        strings: vec![("FileVersion".into(), "1.2.3.4".into())],
        size: 12_288,
        seed: seed.into(),
        dll: false,
    })
    .unwrap()
}

fn set_cert_dir(pe: &mut [u8], at: u32, len: u32) {
    let nt = u32::from_le_bytes(pe[60..64].try_into().unwrap()) as usize;
    let magic = u16::from_le_bytes([pe[nt + 24], pe[nt + 25]]);
    let dir = nt + 24 + if magic == 0x20b { 112 } else { 96 } + 4 * 8;
    pe[dir..dir + 4].copy_from_slice(&at.to_le_bytes());
    pe[dir + 4..dir + 8].copy_from_slice(&len.to_le_bytes());
}

// ---------------------------------------------------------------------------------------
// Signatures made here.

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A root, an RSA and an ECDSA (P-256) code-signing leaf valid for 30 days, and a
    /// timestamping authority.
    fn new() -> Pki {
        let pki = Pki { dir: tempfile::tempdir().unwrap() };
        let d = pki.dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            "[leaf]\nbasicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n\
             [tsa]\nbasicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
        )
        .unwrap();
        let o = |args: &[&str]| sh(Command::new("openssl").args(args).current_dir(d));
        o(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Hotfixkit Test Root",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        o(&["genrsa", "-out", "rsa.key", "2048"]);
        o(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key"]);
        o(&["genrsa", "-out", "tsa.key", "2048"]);
        for (key, name, ext, days) in [
            ("rsa", "/CN=Test RSA Signer/O=Hotfixkit Tests", "leaf", "30"),
            ("ec", "/CN=Test ECDSA Signer/O=Hotfixkit Tests", "leaf", "30"),
            ("tsa", "/CN=Test TSA", "tsa", "3650"),
        ] {
            o(&["req", "-new", "-key", &format!("{key}.key"), "-subj", name, "-out", &format!("{key}.csr")]);
            o(&[
                "x509",
                "-req",
                "-in",
                &format!("{key}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                days,
                "-extfile",
                "ext.cnf",
                "-extensions",
                ext,
                "-out",
                &format!("{key}.pem"),
            ]);
        }
        let chain = [std::fs::read(d.join("tsa.pem")).unwrap(), std::fs::read(d.join("ca.pem")).unwrap()].concat();
        std::fs::write(d.join("tsa-chain.pem"), chain).unwrap();
        // A self-made, self-signed code-signing certificate.
        o(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
            "-subj",
            "/CN=Self Made",
            "-days",
            "30",
            "-addext",
            "extendedKeyUsage=codeSigning",
        ]);
        pki
    }

    fn sign(&self, input: &Path, out: &Path, key: &str, hash: &str, timestamp: bool, extra: &[&str]) {
        let mut c = Command::new("osslsigncode");
        c.arg("sign")
            .arg("-certs")
            .arg(self.p(&format!("{key}.pem")))
            .arg("-key")
            .arg(self.p(&format!("{key}.key")))
            .args(["-h", hash]);
        if timestamp {
            c.arg("-TSA-certs").arg(self.p("tsa-chain.pem")).arg("-TSA-key").arg(self.p("tsa.key"));
            c.arg("-TSA-time").arg(now().to_string());
        }
        c.args(extra).arg("-in").arg(input).arg("-out").arg(out);
        sh(&mut c);
    }

    fn anchors(&self) -> TrustOptions {
        TrustOptions::only(vec![std::fs::read(self.p("ca.pem")).unwrap()])
    }
}

/// Flip one byte of `data` inside the first occurrence of `needle`.
fn flip_inside(data: &mut [u8], needle: &[u8]) -> bool {
    match data.windows(needle.len()).position(|w| w == needle) {
        Some(i) => {
            data[i + needle.len() / 2] ^= 0x01;
            true
        }
        None => false,
    }
}

/// The signature value of the primary signer, from the file's signature blob.
fn signature_value(report_path: &Path) -> Vec<u8> {
    let t = tempfile::tempdir().unwrap();
    let p7 = t.path().join("sig.p7");
    sh(Command::new("osslsigncode").arg("extract-signature").arg("-in").arg(report_path).arg("-out").arg(&p7));
    let blob = std::fs::read(&p7).unwrap();
    hotfixkit::testing::pkcs7_signature_value(&blob).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Pe,
    Msi,
    Cab,
}

fn input(kind: Kind, dir: &Path) -> PathBuf {
    match kind {
        Kind::Pe => {
            let p = dir.join("in.exe");
            std::fs::write(&p, small_pe("sig")).unwrap();
            p
        }
        Kind::Msi => fixture("admin/tree/tree.msi"),
        Kind::Cab => fixture("cab/two-folders.cab"),
    }
}

/// Flip a byte the digest covers, leaving the file readable.
fn tamper_content(kind: Kind, data: &mut [u8]) {
    match kind {
        Kind::Pe => {
            // The last overlay byte before the certificate table.
            let nt = u32::from_le_bytes(data[60..64].try_into().unwrap()) as usize;
            let dir = nt + 24 + 96 + 32;
            let table = u32::from_le_bytes(data[dir..dir + 4].try_into().unwrap()) as usize;
            data[table - 1] ^= 0x01;
        }
        Kind::Msi => assert!(flip_inside(data, b"ProductCode"), "no string pool text to flip"),
        Kind::Cab => {
            // A byte of the last data block, before the signature.
            let sigpos = u32::from_le_bytes(data[44..48].try_into().unwrap()) as usize;
            data[sigpos - 1] ^= 0x01;
        }
    }
}

fn signature_made_here_on_pe_msi_cab() {
    note_osslsigncode_version();
    let pki = Pki::new();
    let anchors = pki.anchors();
    let none = TrustOptions::only(Vec::new());
    // (carrier, key, hash, timestamp): every carrier, both key types, both hashes,
    // with and without a timestamp.
    let cases = [
        (Kind::Pe, "rsa", "sha256", true),
        (Kind::Pe, "ec", "sha1", false),
        (Kind::Msi, "rsa", "sha1", false),
        (Kind::Msi, "ec", "sha256", true),
        (Kind::Cab, "ec", "sha256", false),
        (Kind::Cab, "rsa", "sha1", true),
    ];
    let mut failures = Vec::new();
    for (kind, key, hash, ts) in cases {
        let label = format!("{kind:?}/{key}/{hash}/{}", if ts { "timestamped" } else { "no timestamp" });
        let dir = pki.dir.path().join(label.replace('/', "-").replace(' ', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        let src = input(kind, &dir);
        let ext = src.extension().unwrap().to_str().unwrap().to_string();
        let signed = dir.join(format!("signed.{ext}"));
        pki.sign(&src, &signed, key, hash, ts, &[]);
        let expect = if ts { Verdict::ValidTimestamped } else { Verdict::Valid };
        let r = verify(&signed, &anchors);
        let s = &r.signatures[0];
        if r.verdict != expect {
            failures.push(format!("{label}: {:?} ({})", r.verdict, s.reason));
        }
        if s.digest_algorithm.map(|a| a.name()) != Some(if hash == "sha1" { "sha1" } else { "sha256" }) {
            failures.push(format!("{label}: digest algorithm {:?}", s.digest_algorithm));
        }
        let want_key = if key == "ec" { "ecdsa-p256" } else { "rsa-2048" };
        if s.signer.as_ref().map(|c| c.key.as_str()) != Some(want_key) {
            failures.push(format!("{label}: signer key {:?}", s.signer));
        }
        if ts != s.timestamp.as_ref().is_some_and(|t| t.verified && t.kind == sign::TimestampKind::Rfc3161) {
            failures.push(format!("{label}: timestamp {:?}", s.timestamp));
        }
        if !ossl_verify(&signed, &pki.p("ca.pem"), None) {
            failures.push(format!("{label}: osslsigncode does not verify it"));
        }
        // The same bytes through verify_bytes.
        let bytes = std::fs::read(&signed).unwrap();
        let rb = sign::verify_bytes(&bytes, &anchors).unwrap();
        if rb.verdict != expect {
            failures.push(format!("{label}: verify_bytes {:?}", rb.verdict));
        }
        // No anchor: untrusted-root.
        let r = verify(&signed, &none);
        if r.verdict != Verdict::UntrustedRoot {
            failures.push(format!("{label}: without anchors {:?}", r.verdict));
        }
        // A byte of the signed content flipped: bad-digest.
        let mut t = bytes.clone();
        tamper_content(kind, &mut t);
        let tp = dir.join(format!("tampered.{ext}"));
        std::fs::write(&tp, &t).unwrap();
        let r = verify(&tp, &anchors);
        if r.verdict != Verdict::BadDigest {
            failures.push(format!("{label}: content flipped gives {:?} ({:?})", r.verdict, r.notes));
        }
        if ossl_verify(&tp, &pki.p("ca.pem"), None) {
            failures.push(format!("{label}: osslsigncode accepts the flipped content"));
        }
        // A byte of the signature value flipped: bad-signature.
        let sig = signature_value(&signed);
        let mut t = bytes.clone();
        let window = &sig[sig.len() / 2 - 8..sig.len() / 2 + 8];
        assert!(flip_inside(&mut t, window), "{label}: signature value not found in the file");
        std::fs::write(&tp, &t).unwrap();
        let r = verify(&tp, &anchors);
        if !matches!(r.verdict, Verdict::BadSignature | Verdict::Malformed) {
            failures.push(format!("{label}: signature flipped gives {:?}", r.verdict));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn signature_expiry_timestamp_and_nesting() {
    note_osslsigncode_version();
    let pki = Pki::new();
    let dir = pki.dir.path();
    let src = input(Kind::Pe, dir);
    let later = now() + 90 * 86400; // the leaves expire after 30 days
    let mut at = pki.anchors();
    at.at = Some(later);

    // Signed without a timestamp: valid now, expired-no-timestamp later.
    let plain = dir.join("plain.exe");
    pki.sign(&src, &plain, "rsa", "sha256", false, &[]);
    assert_eq!(verify(&plain, &at).verdict, Verdict::ExpiredNoTimestamp);
    assert!(!ossl_verify(&plain, &pki.p("ca.pem"), Some(later)));

    // With a timestamp made now: still valid later, at the timestamp's time.
    let stamped = dir.join("stamped.exe");
    pki.sign(&src, &stamped, "ec", "sha256", true, &[]);
    let r = verify(&stamped, &at);
    assert_eq!(r.verdict, Verdict::ValidTimestamped, "{r:?}");
    assert_eq!(r.signatures[0].checked_at, r.signatures[0].timestamp.as_ref().unwrap().time.clone().unwrap());
    assert!(ossl_verify(&stamped, &pki.p("ca.pem"), Some(later)));

    // A nested SHA-1 signature added to the SHA-256 one: two entries, both valid.
    let nested = dir.join("nested.exe");
    pki.sign(&stamped, &nested, "rsa", "sha1", false, &["-nest"]);
    let r = verify(&nested, &pki.anchors());
    assert_eq!(r.signatures.len(), 2, "{r:?}");
    assert_eq!(r.signatures[1].nested_in, Some(0));
    assert_eq!(r.signatures[0].verdict, Verdict::ValidTimestamped);
    assert_eq!(r.signatures[1].verdict, Verdict::Valid);
    assert_eq!(r.signatures[1].digest_algorithm, Some(sign::HashAlg::Sha1));

    // MD5: reported, never trusted.
    let md5 = dir.join("md5.exe");
    pki.sign(&src, &md5, "rsa", "md5", false, &[]);
    let r = verify(&md5, &pki.anchors());
    assert_eq!(r.verdict, Verdict::WeakAlgorithm, "{r:?}");
    assert_eq!(r.signatures[0].digest_algorithm, Some(sign::HashAlg::Md5));

    // A self-made certificate: untrusted unless trusted explicitly.
    let selfp = dir.join("self.exe");
    pki.sign(&src, &selfp, "self", "sha256", false, &[]);
    assert_eq!(verify(&selfp, &pki.anchors()).verdict, Verdict::UntrustedRoot);
    let mut explicit = pki.anchors();
    explicit.extra_files.push(pki.p("self.pem"));
    assert_eq!(verify(&selfp, &explicit).verdict, Verdict::Valid);
    assert!(ossl_verify(&selfp, &pki.p("self.pem"), None));
}

fn signature_msi_with_digital_signature_ex() {
    note_osslsigncode_version();
    let pki = Pki::new();
    let signed = pki.p("dse.msi");
    pki.sign(&fixture("admin/tree/tree.msi"), &signed, "rsa", "sha256", false, &["-add-msi-dse"]);
    let r = verify(&signed, &pki.anchors());
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert!(r.notes.iter().any(|n| n.contains("MsiDigitalSignatureEx")), "{:?}", r.notes);
    assert!(ossl_verify(&signed, &pki.p("ca.pem"), None));
}

// ---------------------------------------------------------------------------------------
// Catalogs.

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if body.len() < 0x80 {
        out.push(body.len() as u8);
    } else if body.len() < 0x100 {
        out.extend_from_slice(&[0x81, body.len() as u8]);
    } else {
        out.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
    }
    out.extend_from_slice(body);
    out
}

fn oid(dotted: &str) -> Vec<u8> {
    der(0x06, &hotfixkit::testing::encode_oid(dotted))
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain(std::iter::once(0)).flat_map(|u| u.to_le_bytes()).collect()
}

/// A certificate trust list naming `files` (name, SHA-256 Authenticode digest).
fn ctl(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut members = Vec::new();
    for (name, digest) in files {
        let hexd: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        let idc = der(
            0x30,
            &[
                der(0x30, &[oid("1.3.6.1.4.1.311.2.1.15"), der(0x30, &[])].concat()),
                der(
                    0x30,
                    &[der(0x30, &[oid("2.16.840.1.101.3.4.2.1"), vec![5, 0]].concat()), der(0x04, digest)].concat(),
                ),
            ]
            .concat(),
        );
        let bmp: Vec<u8> = "File".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let namevalue =
            der(0x30, &[der(0x1e, &bmp), der(0x02, &[0x10, 0x01, 0x00, 0x01]), der(0x04, &utf16z(name))].concat());
        let attrs = der(
            0x31,
            &[
                der(0x30, &[oid("1.3.6.1.4.1.311.2.1.4"), der(0x31, &idc)].concat()),
                der(0x30, &[oid("1.3.6.1.4.1.311.12.2.2"), der(0x31, &namevalue)].concat()),
            ]
            .concat(),
        );
        members.extend(der(0x30, &[der(0x04, &utf16z(&hexd)), attrs].concat()));
    }
    der(
        0x30,
        &[
            der(0x30, &oid("1.3.6.1.4.1.311.12.1.1")),
            der(0x04, &[0x11; 16]),
            der(0x17, b"260101000000Z"),
            der(0x30, &[oid("1.3.6.1.4.1.311.12.1.2"), vec![5, 0]].concat()),
            der(0x30, &members),
        ]
        .concat(),
    )
}

fn signature_catalog_members_and_signature() {
    note_osslsigncode_version();
    let pki = Pki::new();
    let d = pki.dir.path();
    let exe = d.join("member.exe");
    std::fs::write(&exe, small_pe("member")).unwrap();
    let digest = sign::member_digest(&exe, sign::HashAlg::Sha256).unwrap();
    std::fs::write(d.join("ctl.der"), ctl(&[("member.exe", digest.clone()), ("other.dll", vec![0xab; 32])])).unwrap();
    // A CMS SignedData over the CTL (openssl wraps the CTL in an OCTET STRING; makecat's
    // PKCS#7 form holds the SEQUENCE itself: both are read).
    sh(Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-nodetach", "-nosmimecap", "-md", "sha256", "-outform", "DER"])
        .args(["-econtent_type", "1.3.6.1.4.1.311.10.1", "-in", "ctl.der", "-out", "test.cat"])
        .args(["-signer", "rsa.pem", "-inkey", "rsa.key"])
        .current_dir(d));
    let cat = d.join("test.cat");
    let r = verify(&cat, &pki.anchors());
    assert_eq!(r.carrier, sign::Carrier::Catalog);
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(r.catalog_members.len(), 2, "{:?}", r.catalog_members);
    assert_eq!(r.catalog_members[0].file.as_deref(), Some("member.exe"));
    assert_eq!(r.catalog_members[0].digest_algorithm, Some(sign::HashAlg::Sha256));
    assert!(r.catalog_contains(&digest));
    assert!(!r.catalog_contains(&[0u8; 32]));
    // The member's digest is the Authenticode digest: signing the file does not change it.
    let signed = d.join("member-signed.exe");
    if has_tool("osslsigncode") {
        pki.sign(&exe, &signed, "rsa", "sha256", false, &[]);
        assert_eq!(sign::member_digest(&signed, sign::HashAlg::Sha256).unwrap(), digest);
    }
    // A changed CTL byte breaks the signature.
    let mut bytes = std::fs::read(&cat).unwrap();
    assert!(flip_inside(&mut bytes, &[0xab; 32]));
    let r = sign::verify_bytes(&bytes, &pki.anchors()).unwrap();
    assert_eq!(r.verdict, Verdict::BadSignature, "{r:?}");
}

/// Regression: the administrative copy `extract` writes is no longer covered by its
/// publisher's signature (Word Count changed, cabinets dropped); `extract
/// --verify-signatures` and `verify --signatures` checked it and reported `bad-digest`
/// for hotfixkit's own output.
fn signature_admin_copy_is_not_judged_by_the_package_signature() {
    let putty = shared().join("corpus/lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/putty-0.68-installer.msi");
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("img");
    let out = Command::new(bin())
        .arg("extract")
        .arg(&putty)
        .arg("--targetdir")
        .arg(&img)
        .arg("--verify-signatures")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(img.join("putty-0.68-installer.msi").is_file(), "{err}");
    assert!(!err.contains("bad-digest"), "{err}");
    assert!(err.contains("PFiles/PuTTY/putty.exe"), "the image's executables are checked: {err}");
    let lock = t.path().join("lock.json");
    let st = Command::new(bin()).args(["-q", "manifest", "lock"]).arg(&img).arg("-o").arg(&lock).status().unwrap();
    assert!(st.success());
    let out = Command::new(bin())
        .args(["--json", "verify"])
        .arg(&img)
        .arg("--manifest")
        .arg(&lock)
        .arg("--signatures")
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = j.to_string();
    assert!(!text.contains("bad-digest"), "{text}");
    assert!(text.contains("untrusted-root"), "the executables' signatures are still reported: {text}");
}

crate::cases![
    signature_admin_copy_is_not_judged_by_the_package_signature needs [Need::Corpus],
    signature_corpus_agrees_with_osslsigncode needs [Need::Corpus, Need::Tool("osslsigncode")],
    signature_corpus_timestamps_and_nesting needs [Need::Corpus],
    signature_unsigned_and_garbage,
    signature_made_here_on_pe_msi_cab needs [Need::Tool("openssl"), Need::Tool("osslsigncode")],
    signature_expiry_timestamp_and_nesting needs [Need::Tool("openssl"), Need::Tool("osslsigncode")],
    signature_msi_with_digital_signature_ex needs [Need::Tool("openssl"), Need::Tool("osslsigncode")],
    signature_catalog_members_and_signature needs [Need::Tool("openssl")],
];
