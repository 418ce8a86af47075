//! `build msp --delta`: patches whose changed files travel as PA19 deltas, checked with
//! our extractor (the patched image equals the new package's), msitools, and Wine's
//! msiexec (`/p` after an install and `PATCH=` on a fresh one leave the new package's
//! files); the Windows-made header vector; the repaired `ccmexec-delta.msp` fixture.

use crate::util::*;
use hotfixkit::build::{build_msp, DeltaMode, PatchRequest, PatchedFile, Upgraded};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(|a| a.into()).collect()
}

fn p(x: &Path) -> OsString {
    x.as_os_str().to_os_string()
}

/// Run the binary, which must succeed; its standard output.
fn ok(args: &[OsString]) -> String {
    let a: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let o = run_os(&a);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// The files of `msi`'s administrative image (with `patches`), the package copy left out.
fn image(msi: &Path, patches: &[&Path], out: &Path) -> BTreeMap<String, (u64, String)> {
    let mut a = vec!["extract".into(), p(msi), "-o".into(), p(out), "-q".into()];
    for x in patches {
        a.push("--patch".into());
        a.push(p(x));
    }
    ok(&a);
    files_of(out).into_iter().filter(|(k, _)| !k.ends_with(".msi")).collect()
}

/// A stand-in for a rebuilt binary: the project's PE writer gives the headers and the
/// version resource, followed by `body` (pseudo-random bytes compress as badly as code).
fn binary(machine: u16, version: (u16, u16, u16, u16), name: &str, body: &[u8]) -> Vec<u8> {
    let v = format!("{}.{}.{}.{}", version.0, version.1, version.2, version.3);
    let pe = hotfixkit::testing::write_pe(&hotfixkit::testing::PeSpec {
        machine,
        version,
        strings: vec![("FileVersion".into(), v.clone()), ("ProductVersion".into(), v)],
        size: 8192,
        seed: name.into(),
        dll: name.ends_with(".dll"),
    })
    .unwrap();
    let marker = format!("{name} overlay 000000");
    let start = pe.windows(marker.len()).position(|w| w == marker.as_bytes()).unwrap();
    let mut out = pe[..start].to_vec();
    out.extend_from_slice(body);
    out
}

fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// `body` with `n` bytes changed and a run of 300 bytes inserted at two fifths: what a
/// small fix does to a binary.
fn edited(body: &[u8], seed: u64, n: usize) -> Vec<u8> {
    let mut b = body.to_vec();
    let r = noise(seed, n * 2);
    for i in 0..n {
        let at = (usize::from(r[2 * i]) << 8 | usize::from(r[2 * i + 1])) * 7 % b.len();
        b[at] ^= 0x5A;
    }
    let at = b.len() * 2 / 5;
    b.splice(at..at, noise(seed + 1, 300));
    b
}

/// Folders of a product's two versions: a 32-bit and a 64-bit PE that change, a text
/// file that changes (too small for a delta to pay), an unversioned data file with a
/// few bytes changed, a file that stays, an empty file, and a file the new version adds.
fn pe_pair(t: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (a, b) = (t.join("v1"), t.join("v2"));
    let put = |dir: &Path, rel: &str, data: &[u8]| {
        let f = dir.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, data).unwrap();
    };
    let (b32, b64, data) = (noise(1, 180_000), noise(2, 260_000), noise(3, 50_000));
    put(&a, "bin/app32.exe", &binary(0x14c, (2, 0, 0, 0), "app32.exe", &b32));
    put(&b, "bin/app32.exe", &binary(0x14c, (2, 0, 1, 0), "app32.exe", &edited(&b32, 10, 40)));
    put(&a, "bin/x64/engine64.dll", &binary(0x8664, (2, 0, 0, 0), "engine64.dll", &b64));
    put(&b, "bin/x64/engine64.dll", &binary(0x8664, (2, 0, 1, 0), "engine64.dll", &edited(&b64, 20, 60)));
    put(&a, "data/table.bin", &data);
    put(&b, "data/table.bin", &edited(&data, 30, 5));
    for d in [&a, &b] {
        put(d, "data/same.dat", &noise(4, 20_000));
        put(d, "data/empty.dat", b"");
    }
    put(&a, "readme.txt", b"Delta Demo 2.0.0\r\n");
    put(&b, "readme.txt", b"Delta Demo 2.0.1: fixes\r\n");
    put(&b, "data/added.txt", b"new in 2.0.1\r\n");
    let (ma, mb) = (t.join("demo-2.0.0.msi"), t.join("demo-2.0.1.msi"));
    for (dir, msi, v) in [(&a, &ma, "2.0.0"), (&b, &mb, "2.0.1")] {
        ok(&[
            os(&["build", "msi"]),
            vec![p(dir), "-o".into(), p(msi)],
            os(&["--product-name", "Delta Demo", "--manufacturer", "Contoso", "--version", v]),
        ]
        .concat());
    }
    (a, b, ma, mb)
}

/// The KB977203 client pair: the client fixture, and the client as the SP2 hotfix's
/// client patch and the CcmExec.exe delta fixture leave it (the administrative image's
/// package, so a package of its own): both PE32 files change.
fn kb_client_pair(t: &Path) -> (PathBuf, PathBuf) {
    let sp2 = t.join("sp2");
    image(&fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi"), &[], &sp2);
    let client_msp = sp2.join("KB977203/Client/i386/Sccm2007ac-sp2-kb977203-x86.msp");
    let old = fixture("kb977203/client/client.msi");
    let new_dir = t.join("client-new");
    image(&old, &[&client_msp, &fixture("kb977203/client/ccmexec-delta.msp")], &new_dir);
    (old, new_dir.join("client.msi"))
}

/// The file name in a File key of `build msi` (`name.HASH8`); other keys stay whole.
fn name(key: &str) -> &str {
    match key.rsplit_once('.') {
        Some((n, h)) if h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()) => n,
        _ => key,
    }
}

/// The files a patch report lists, by [`name`].
fn files_by_key(r: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    r["targets"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (name(f["key"].as_str().unwrap()).to_string(), f.clone()))
        .collect()
}

/// `build msp --json` with `extra` options; the report.
fn build(target: &Path, upgraded: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = ok(&[
        os(&["--json", "build", "msp", "--target"]),
        vec![p(target), "--upgraded".into(), p(upgraded), "-o".into(), p(out)],
        os(extra),
    ]
    .concat());
    serde_json::from_str(&o).unwrap()
}

/// Every table of `msi` with `patch` applied, as JSON rows (one string each), by name.
fn view(msi: &Path, patch: &Path) -> BTreeMap<String, Vec<serde_json::Value>> {
    let o = ok(&[os(&["tables"]), vec![p(msi), "--patch".into(), p(patch)], os(&["--format", "json"])].concat());
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap().to_string(), t["rows"].as_array().unwrap().clone()))
        .collect()
}

/// The streams of storage `storage` of a compound file, by decoded name.
fn storage_streams(file: &Path, storage: &str) -> BTreeMap<String, Vec<u8>> {
    let mut c = cfb::open(file).unwrap();
    let names: Vec<(String, PathBuf)> = c
        .walk_storage(format!("/{storage}"))
        .unwrap()
        .filter(|e| e.is_stream())
        .map(|e| (hotfixkit::msi::decode_name(e.name()).0, e.path().to_path_buf()))
        .collect();
    names
        .into_iter()
        .map(|(n, path)| {
            let mut d = Vec::new();
            std::io::Read::read_to_end(&mut c.open_stream(&path).unwrap(), &mut d).unwrap();
            (n, d)
        })
        .collect()
}

/// The patch's checks that need no Windows: every Patch row's header stream is in the
/// `#` transform and is the header-only form of the delta its cabinet holds for the file;
/// a delta-patched File row keeps the target's Sequence and attributes.
fn check_patch_rows(target: &Path, msp: &Path, transform: &str, cabinet: &str) {
    let v = view(target, msp);
    let patch_rows = v.get("Patch").cloned().unwrap_or_default();
    assert!(!patch_rows.is_empty());
    let hx = storage_streams(msp, &format!("#{transform}"));
    let root = storage_streams(msp, "");
    let cab = cab_crate_files(&root[cabinet]);
    let target_files = {
        let o = ok(&[os(&["tables"]), vec![p(target)], os(&["File", "--format", "json"])].concat());
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        v[0]["rows"].as_array().unwrap().clone()
    };
    for r in &patch_rows {
        let key = r["File_"].as_str().unwrap();
        let delta = &cab[key];
        assert_eq!(r["PatchSize"].as_i64().unwrap() as usize, delta.len(), "{key}");
        let header = match r["StreamRef_"].as_str() {
            Some(sr) => {
                assert!(r["Header"].is_null(), "{r}");
                hx[&format!("MsiPatchHeaders.{sr}")].clone()
            }
            None => hx[&format!("Patch.{key}.{}", r["Sequence"])].clone(),
        };
        assert_eq!(header, hotfixkit::delta::header_only(delta).unwrap(), "{key}");
        let was = target_files.iter().find(|f| f["File"] == key).unwrap();
        let now = v["File"].iter().find(|f| f["File"] == key).unwrap();
        assert_eq!(was["Sequence"], now["Sequence"], "{key}");
        assert_eq!(was["Attributes"], now["Attributes"], "{key}");
    }
    let seq = &v["InstallExecuteSequence"];
    assert!(seq.iter().any(|r| r["Action"] == "PatchFiles" && r["Sequence"] == 4090), "{seq:?}");
}

fn header_only_is_the_windows_made_header() {
    let d = shared().join("msp/vectors/pa19_two_files_ranges");
    let patch = std::fs::read(d.join("patch.bin")).unwrap();
    let want = std::fs::read(d.join("patch_header_only.bin")).unwrap();
    assert_eq!(hotfixkit::delta::header_only(&patch).unwrap(), want);
    let h = hotfixkit::delta::parse(&want).unwrap();
    assert!(h.crc_ok && !h.complete);
    assert!(hotfixkit::delta::header_only(&want).is_err(), "a header has no header of its own");
}

fn delta_patches_rebuild_the_new_files_with_our_extractor() {
    let t = tempdir();
    let (_, _, old, new) = pe_pair(t.path());
    let want = image(&new, &[], &t.path().join("want"));
    // Library, every changed file as a delta.
    let mut req = PatchRequest::new(vec![old.clone()], Upgraded::Packages(vec![new.clone()]));
    req.deltas = DeltaMode::Always;
    let always = t.path().join("always.msp");
    let r = build_msp(&req, &always, &Default::default(), None).unwrap();
    let files: BTreeMap<&str, &PatchedFile> = r.targets[0].files.iter().map(|f| (name(&f.key), f)).collect();
    for k in ["app32.exe", "engine64.dll", "table.bin", "readme.txt"] {
        assert_eq!(files[k].payload, "delta", "{k}: {:?}", files[k]);
        assert_eq!(files[k].stored, files[k].delta_size.unwrap());
    }
    assert_eq!(files["added.txt"].payload, "whole");
    assert!(!files.contains_key("same.dat") && !files.contains_key("empty.dat"));
    assert_eq!(image(&old, &[&always], &t.path().join("img-always")), want);
    check_patch_rows(&old, &always, "T1ToU1", "T1ToU1.cab");
    // The command line: auto sends the text file whole (its delta costs more) and keeps
    // the binaries' deltas; the image is the same.
    let auto = t.path().join("auto.msp");
    let r = build(&old, &new, &auto, &["--delta", "auto"]);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/schemas/build-msp.schema.json")).unwrap())
            .unwrap();
    let errors: Vec<String> =
        jsonschema::validator_for(&schema).unwrap().iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let f = files_by_key(&r);
    for k in ["app32.exe", "engine64.dll", "table.bin"] {
        assert_eq!(f[k]["payload"], "delta", "{k}: {}", f[k]);
    }
    assert_eq!(f["readme.txt"]["payload"], "whole", "{}", f["readme.txt"]);
    assert!(f["readme.txt"]["note"].as_str().unwrap().contains("not smaller than the file"), "{}", f["readme.txt"]);
    assert!(f["readme.txt"]["delta_size"].as_u64().unwrap() > 0);
    assert_eq!(image(&old, &[&auto], &t.path().join("img-auto")), want);
    // Without --delta: whole files, no Patch table.
    let whole = t.path().join("whole.msp");
    let r = build(&old, &new, &whole, &[]);
    assert!(files_by_key(&r).values().all(|f| f["payload"] == "whole" && f["delta_size"].is_null()));
    assert!(!view(&old, &whole).contains_key("Patch"));
    assert_eq!(image(&old, &[&whole], &t.path().join("img-whole")), want);
    let size = |f: &Path| std::fs::metadata(f).unwrap().len();
    eprintln!(
        "PE pair: whole files {} bytes, --delta {} bytes, --delta auto {} bytes",
        size(&whole),
        size(&always),
        size(&auto)
    );
    assert!(size(&auto) < size(&whole) / 4, "{} against {}", size(&auto), size(&whole));
    assert!(size(&auto) <= size(&always));
    // The PE-normalising encoder mode (Windows only) gives the same files here.
    let pe = t.path().join("pe.msp");
    build(&old, &new, &pe, &["--delta", "--delta-pe-normalise", "--delta-effort", "fast"]);
    assert_eq!(image(&old, &[&pe], &t.path().join("img-pe")), want);
    // The text output names each file's payload.
    let o = ok(&[
        os(&["build", "msp", "--target"]),
        vec![p(&old), "--upgraded".into(), p(&new), "-o".into(), p(&t.path().join("text.msp"))],
        os(&["--delta=auto"]),
    ]
    .concat());
    assert!(o.contains("app32.exe.") && o.contains(", delta of "), "{o}");
    assert!(o.contains("readme.txt.") && o.contains("; whole: its delta"), "{o}");
    // --delta-effort means nothing without --delta.
    let o = run_os(&[
        "build".as_ref(),
        "msp".as_ref(),
        "--target".as_ref(),
        old.as_os_str(),
        "--upgraded".as_ref(),
        new.as_os_str(),
        "-o".as_ref(),
        t.path().join("x.msp").as_os_str(),
        "--delta-effort".as_ref(),
        "best".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

fn kb977203_client_pair_with_deltas() {
    let t = tempdir();
    let (old, new) = kb_client_pair(t.path());
    let want = image(&new, &[], &t.path().join("want"));
    assert_eq!(want.len(), 2);
    let (whole, delta) = (t.path().join("whole.msp"), t.path().join("delta.msp"));
    build(&old, &new, &whole, &[]);
    let r = build(&old, &new, &delta, &["--delta"]);
    let f = files_by_key(&r);
    assert_eq!(f.len(), 2);
    assert!(f.values().all(|f| f["payload"] == "delta"), "{f:?}");
    assert_eq!(image(&old, &[&delta], &t.path().join("img")), want);
    check_patch_rows(&old, &delta, "T1ToU1", "T1ToU1.cab");
    let auto = t.path().join("auto.msp");
    build(&old, &new, &auto, &["--delta", "auto"]);
    assert_eq!(image(&old, &[&auto], &t.path().join("img-auto")), want);
    let size = |f: &Path| std::fs::metadata(f).unwrap().len();
    eprintln!(
        "KB977203 client pair: whole files {} bytes, --delta {} bytes, --delta auto {} bytes",
        size(&whole),
        size(&delta),
        size(&auto)
    );
}

fn msitools_read_delta_patches() {
    let t = tempdir();
    let (_, _, old, new) = pe_pair(t.path());
    let msp = t.path().join("fix.msp");
    build(&old, &new, &msp, &["--delta"]);
    let tool = |args: &[&OsStr]| {
        let o = std::process::Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let s = tool(&["msiinfo".as_ref(), "suminfo".as_ref(), msp.as_os_str()]);
    assert!(s.contains("Revision number"), "{s}");
    let tables = tool(&["msiinfo".as_ref(), "tables".as_ref(), msp.as_os_str()]);
    assert!(tables.contains("MsiPatchMetadata") && tables.contains("MsiPatchSequence"), "{tables}");
    let streams = tool(&["msiinfo".as_ref(), "streams".as_ref(), msp.as_os_str()]);
    assert!(streams.contains("T1ToU1.cab"), "{streams}");
    let d = t.path().join("dump");
    std::fs::create_dir_all(&d).unwrap();
    tool(&["msidump".as_ref(), "-t".as_ref(), "-s".as_ref(), "-d".as_ref(), d.as_os_str(), msp.as_os_str()]);
    assert!(d.join("MsiPatchMetadata.idt").is_file());
    // The repaired fixture too.
    let f = fixture("kb977203/client/ccmexec-delta.msp");
    tool(&["msiinfo".as_ref(), "streams".as_ref(), f.as_os_str()]);
}

/// A package of the fixture writers with one file whose key is too long for a
/// `Patch.<key>.<sequence>` stream (61 characters, as merge modules' keys can be).
fn long_key_pair(t: &Path) -> (PathBuf, PathBuf, String) {
    use hotfixkit::testing::*;
    let key = "engine.dll.5F1B3A2C_9D4E_4F60_8A1B_2C3D4E5F6A7B_merge_module".to_string();
    let spec = |version: &str, body: &[u8], code: &str| -> PackageSpec {
        let v: Vec<u16> = version.split('.').map(|x| x.parse().unwrap()).collect();
        let data = binary(0x14c, (v[0], v[1], v[2], v[3]), "engine.dll", body);
        let cab = write_cab(
            &[vec![CabInput { name: key.clone(), data: data.clone(), datetime: (2010, 1, 1, 0, 0, 0) }]],
            CabCompression::MsZip,
        )
        .unwrap();
        PackageSpec {
            summary: SummarySpec {
                title: "Installation Database".into(),
                subject: "Long Keys".into(),
                author: "Contoso".into(),
                comments: "test package".into(),
                arch: "Intel".into(),
                language: 1033,
                package_code: code.into(),
                word_count: 2,
                page_count: 200,
                creating_application: "hotfixkit tests".into(),
                created: 1_264_400_000,
            },
            properties: vec![
                ("Manufacturer".into(), "Contoso".into()),
                ("ProductCode".into(), "{5D8E0A3C-1B2F-4C5D-9E8F-0A1B2C3D4E5F}".into()),
                ("ProductLanguage".into(), "1033".into()),
                ("ProductName".into(), "Long Keys".into()),
                ("ProductVersion".into(), "1.0.0".into()),
                ("UpgradeCode".into(), "{6E9F1B4D-2C3A-4D5E-8F9A-1B2C3D4E5F60}".into()),
            ],
            directories: vec![
                ("TARGETDIR".into(), None, "SourceDir".into()),
                ("ProgramFilesFolder".into(), Some("TARGETDIR".into()), ".".into()),
                ("APPDIR".into(), Some("ProgramFilesFolder".into()), "LongKeys".into()),
            ],
            components: vec![("C_Engine".into(), "{7F0A2C5E-3D4B-4E6F-9A0B-2C3D4E5F6071}".into(), "APPDIR".into())],
            files: vec![PackageFile {
                key: key.clone(),
                component: "C_Engine".into(),
                file_name: "engine.dll".into(),
                data,
                datetime: (2010, 1, 1, 0, 0, 0),
                attributes: 0,
                version: Some(version.into()),
                language: Some("1033".into()),
                sequence: 1,
            }],
            media: vec![(1, 1, "#a.cab".into())],
            streams: vec![("a.cab".into(), cab)],
        }
    };
    let body = noise(7, 40_000);
    std::fs::create_dir_all(t).unwrap();
    let old = t.join("long-1.msi");
    let new = t.join("long-2.msi");
    let db = |s: PackageSpec| write_database(&s.database()).unwrap();
    std::fs::write(&old, db(spec("1.0.0.0", &body, "{8A1B3D6F-4E5C-4F70-8B1C-3D4E5F607182}"))).unwrap();
    std::fs::write(&new, db(spec("1.0.1.0", &edited(&body, 5, 10), "{9B2C4E70-5F6D-4081-9C2D-4E5F60718293}"))).unwrap();
    (old, new, key)
}

fn long_file_keys_put_the_header_in_msi_patch_headers() {
    let t = tempdir();
    let (old, new, key) = long_key_pair(t.path());
    let want = image(&new, &[], &t.path().join("want"));
    let msp = t.path().join("long.msp");
    let r = build(&old, &new, &msp, &["--delta"]);
    assert_eq!(files_by_key(&r)[&key]["payload"], "delta");
    let w = r["warnings"].as_array().unwrap();
    assert!(w.iter().any(|w| w["message"].as_str().unwrap_or("").contains("MsiPatchHeaders")), "{w:?}");
    let v = view(&old, &msp);
    assert_eq!(v["MsiPatchHeaders"].len(), 1);
    assert!(v["Patch"][0]["StreamRef_"].is_string(), "{:?}", v["Patch"]);
    check_patch_rows(&old, &msp, "T1ToU1", "T1ToU1.cab");
    assert_eq!(image(&old, &[&msp], &t.path().join("img")), want);
}

fn regression_fixture_patch_row_has_its_header_stream() {
    // The first ccmexec-delta.msp inserted its Patch row with a NULL Header and no
    // stream; Wine's transform reader drops such a row, so PatchFiles found nothing to do
    // and CcmExec.exe stayed the old one under msiexec /p.
    let f = fixture("kb977203/client/ccmexec-delta.msp");
    let hx = storage_streams(&f, "#DELTA");
    let root = storage_streams(&f, "");
    let cab = cab_crate_files(&root["PCW_DELTA"]);
    assert_eq!(hx["Patch.ccmexec.exe.10001"], hotfixkit::delta::header_only(&cab["ccmexec.exe"]).unwrap());
    let v = view(&fixture("kb977203/client/client.msi"), &f);
    assert_eq!(v["Patch"][0]["Header"], "[binary]", "{:?}", v["Patch"]);
}

/// Wine's msiexec as the judge: each delta patch, applied with /p after installing the
/// old package and with PATCH= on a fresh install, leaves the files that installing the
/// new package leaves; the repaired fixture patches CcmExec.exe; and the one form Wine
/// does not apply (a header in MsiPatchHeaders), shown on the smallest case.
fn wine_installs_delta_patches() {
    let t = tempdir();
    let started = std::time::Instant::now();
    let wine = Wine::new();
    let c = wine.drive_c();
    let mut runs = 0;
    let mut msiexec = |args: &[&str]| {
        runs += 1;
        wine.msiexec(args)
    };
    let (kb_old, kb_new) = kb_client_pair(&t.path().join("kb"));
    let kb_msp = t.path().join("kb.msp");
    build(&kb_old, &kb_new, &kb_msp, &["--delta"]);
    let (_, _, pe_old, pe_new) = pe_pair(&t.path().join("pe"));
    let pe_msp = t.path().join("pe.msp");
    build(&pe_old, &pe_new, &pe_msp, &["--delta", "auto"]);
    let cases = [
        ("KB977203 client", &kb_old, &kb_new, &kb_msp, c.join("windows/syswow64/CCM")),
        ("PE32/PE32+ pair", &pe_old, &pe_new, &pe_msp, c.join("Program Files (x86)/Delta Demo")),
    ];
    for (name, old, new, msp, dir) in cases {
        assert_eq!(msiexec(&["/i", &Wine::path(new)]), 0, "{name}");
        let want = files_of(&dir);
        assert!(!want.is_empty(), "{name}");
        assert_eq!(msiexec(&["/x", &Wine::path(new)]), 0, "{name}");
        assert!(files_of(&dir).is_empty(), "{name}");
        assert_eq!(msiexec(&["/i", &Wine::path(old)]), 0, "{name}");
        assert_ne!(files_of(&dir), want, "{name}");
        assert_eq!(msiexec(&["/p", &Wine::path(msp)]), 0, "{name}");
        assert_eq!(files_of(&dir), want, "{name}: after msiexec /p");
        assert_eq!(msiexec(&["/x", &Wine::path(old)]), 0, "{name}");
        assert_eq!(msiexec(&["/i", &Wine::path(old), &format!("PATCH={}", Wine::path(msp))]), 0, "{name}");
        assert_eq!(files_of(&dir), want, "{name}: after msiexec /i PATCH=");
        assert_eq!(msiexec(&["/x", &Wine::path(old)]), 0, "{name}");
    }
    // The repaired fixture: CcmExec.exe becomes what our extractor makes of it.
    let client = fixture("kb977203/client/client.msi");
    let fix = fixture("kb977203/client/ccmexec-delta.msp");
    let want = image(&client, &[&fix], &t.path().join("fixture-img"));
    let exe = c.join("windows/syswow64/CCM/CcmExec.exe");
    assert_eq!(msiexec(&["/i", &Wine::path(&client)]), 0);
    assert_eq!(msiexec(&["/p", &Wine::path(&fix)]), 0);
    assert_eq!(sha256(&std::fs::read(&exe).unwrap()), want["System32/CCM/CcmExec.exe"].1, "ccmexec-delta.msp under /p");
    assert_eq!(msiexec(&["/x", &Wine::path(&client)]), 0);
    // What Wine cannot do: a Patch row whose header is in MsiPatchHeaders (a File key too
    // long for a `Patch.<key>.<sequence>` stream) has a NULL Header, as Microsoft
    // documents it; Wine's transform reader wants a stream for every binary cell of an
    // inserted row, drops the row, and PatchFiles leaves the file as it was. Windows
    // Installer 2.0 and later read such rows; the builder warns when it writes one.
    let (old, new, _) = long_key_pair(&t.path().join("long"));
    let msp = t.path().join("long.msp");
    build(&old, &new, &msp, &["--delta"]);
    let dll = c.join("Program Files (x86)/LongKeys/engine.dll");
    assert_eq!(msiexec(&["/i", &Wine::path(&old)]), 0);
    let before = std::fs::read(&dll).unwrap();
    assert_eq!(msiexec(&["/p", &Wine::path(&msp)]), 0);
    assert_eq!(
        std::fs::read(&dll).unwrap(),
        before,
        "Wine now applies a delta whose header is in MsiPatchHeaders: say so in ARCHITECTURE.md and assert the new file here"
    );
    assert_eq!(msiexec(&["/x", &Wine::path(&old)]), 0);
    eprintln!("wine: {:.1} s for the prefix and {runs} msiexec runs", started.elapsed().as_secs_f64());
}

crate::cases![
    header_only_is_the_windows_made_header needs [Need::Corpus],
    delta_patches_rebuild_the_new_files_with_our_extractor,
    kb977203_client_pair_with_deltas,
    msitools_read_delta_patches needs [Need::Tool("msiinfo"), Need::Tool("msidump")],
    long_file_keys_put_the_header_in_msi_patch_headers,
    regression_fixture_patch_row_has_its_header_stream,
    wine_installs_delta_patches needs [Need::Tool("wine"), Need::Tool("wineserver")],
];
