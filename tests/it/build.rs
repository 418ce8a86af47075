//! Builders: `build msp`, `build mst`, `build msi` and `diff`, checked against WiX's own
//! patches, our readers, msitools, and (where it is installed) Wine's msiexec.

use crate::util::*;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn wix(f: &str) -> PathBuf {
    shared().join("corpus/wix3/test/data/BurnTestPayloads/PerMachineMsisMsps").join(f)
}

fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(|a| a.into()).collect()
}

/// Run the binary, which must succeed; its standard output.
fn ok(args: &[std::ffi::OsString]) -> String {
    let a: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let o = run_os(&a);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn p(x: &Path) -> std::ffi::OsString {
    x.as_os_str().to_os_string()
}

/// Every table of `msi` (with `patch` applied) as a set of rows (JSON text), by name.
fn view(msi: &Path, patch: Option<&Path>) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut a = vec!["tables".into(), p(msi), "--format".into(), "json".into()];
    if let Some(x) = patch {
        a.push("--patch".into());
        a.push(p(x));
    }
    let v: serde_json::Value = serde_json::from_str(&ok(&a)).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let rows = t["rows"].as_array().unwrap().iter().map(|r| r.to_string()).collect();
            (t["table"].as_str().unwrap().to_string(), rows)
        })
        .collect()
}

/// The files of `msi`'s administrative image (with `patch`), the package copy left out.
fn image(msi: &Path, patch: Option<&Path>, out: &Path) -> BTreeMap<String, (u64, String)> {
    let mut a = vec!["extract".into(), p(msi), "-o".into(), p(out), "-q".into()];
    if let Some(x) = patch {
        a.push("--patch".into());
        a.push(p(x));
    }
    ok(&a);
    files_of(out).into_iter().filter(|(k, _)| !k.ends_with(".msi")).collect()
}

/// The tables a patch changes in `msi`: (table, rows before, rows after) for each table
/// whose rows differ.
fn changed_tables(
    base: &BTreeMap<String, std::collections::BTreeSet<String>>,
    patched: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<String> {
    patched.iter().filter(|(k, v)| base.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect()
}

fn wix_single_and_multi_target_patches_match_wixs_own() {
    let t = tempdir();
    // PatchAv101: WiX's patch for product A (its cabinet is empty: WiX's patch carries
    // only the ProductVersion change; ours carries the changed product.wxs as well).
    let ours = t.path().join("a.msp");
    ok(&[
        os(&["build", "msp", "--target"]),
        vec![p(&wix("prodAv100.msi")), "--upgraded".into(), p(&wix("prodAv101.msi")), "-o".into(), p(&ours)],
        os(&[
            "--patch-code",
            "{7A59E0BE-5179-4D9C-A7F0-B9F0955315A0}",
            "--display-name",
            "Prod A patch v 1.0.1.0",
            "--description",
            "Prod A patch v 1.0.1.0",
            "--client-patch-id",
            "PatchAv101",
            "--allow-removal",
            "--cabinet",
            "A.cab",
            "--sequence-start",
            "2",
        ]),
    ]
    .concat());
    let base = view(&wix("prodAv100.msi"), None);
    let theirs = view(&wix("prodAv100.msi"), Some(&wix("PatchAv101.msp")));
    let mine = view(&wix("prodAv100.msi"), Some(&ours));
    let wix_changes = changed_tables(&base, &theirs);
    assert_eq!(wix_changes, ["Media", "PatchPackage", "Property"]);
    for table in &wix_changes {
        assert_eq!(mine[table], theirs[table], "table {table}");
    }
    // Ours also carries the new file: File and MsiFileHash change as prodAv101 says.
    assert_eq!(changed_tables(&base, &mine), ["File", "Media", "MsiFileHash", "PatchPackage", "Property"]);
    let a101 = view(&wix("prodAv101.msi"), None);
    assert_eq!(mine["MsiFileHash"], a101["MsiFileHash"]);
    // The patched administrative image has prodAv101's bytes.
    let img = image(&wix("prodAv100.msi"), Some(&ours), &t.path().join("img"));
    let want = image(&wix("prodAv101.msi"), None, &t.path().join("want"));
    assert_eq!(img, want);
    assert_ne!(image(&wix("prodAv100.msi"), None, &t.path().join("rtm")), want);

    // PatchABv101: one patch for products A and B, a transform pair and a cabinet each.
    let ab = t.path().join("ab.msp");
    ok(&[
        os(&["build", "msp", "--target"]),
        vec![p(&wix("prodAv100.msi")), "--upgraded".into(), p(&wix("prodAv101.msi"))],
        vec!["--target".into(), p(&wix("prodBv100.msi")), "--upgraded".into(), p(&wix("prodBv101.msi"))],
        vec!["-o".into(), p(&ab)],
        os(&[
            "--patch-code",
            "{B94D3D25-9FC6-468D-A804-97AFB27746C1}",
            "--display-name",
            "Prods A and B patch v 1.0.1.1",
            "--description",
            "Prods A and B patch v 1.0.1.1",
            "--client-patch-id",
            "PatchABv1011",
            "--allow-removal",
            "--cabinet",
            "A.cab",
            "--cabinet",
            "B.cab",
            "--sequence-start",
            "3",
        ]),
    ]
    .concat());
    for prod in ["A", "B"] {
        let msi = wix(&format!("prod{prod}v100.msi"));
        let base = view(&msi, None);
        let theirs = view(&msi, Some(&wix("PatchABv101.msp")));
        let mine = view(&msi, Some(&ab));
        let wix_changes = changed_tables(&base, &theirs);
        assert_eq!(wix_changes, ["File", "Media", "MsiFileHash", "PatchPackage", "Property"], "{prod}");
        for table in &wix_changes {
            if table == "Property" {
                // WiX left PatchABv101's ProductVersion change out (its patch family
                // filter); prodX v1.0.1 says 1.0.1.0, and so does ours. Nothing else differs.
                let only_theirs: Vec<&String> = theirs[table].difference(&mine[table]).collect();
                let only_mine: Vec<&String> = mine[table].difference(&theirs[table]).collect();
                assert_eq!(only_theirs, [r#"{"Property":"ProductVersion","Value":"1.0.0.0"}"#], "{prod}");
                assert_eq!(only_mine, [r#"{"Property":"ProductVersion","Value":"1.0.1.0"}"#], "{prod}");
            } else {
                assert_eq!(mine[table], theirs[table], "{prod}: table {table}");
            }
        }
        let img = image(&msi, Some(&ab), &t.path().join(format!("ab{prod}")));
        let want = image(&wix(&format!("prod{prod}v101.msi")), None, &t.path().join(format!("want{prod}")));
        assert_eq!(img, want, "{prod}");
    }
}

fn multi_target_patch_applies_to_each_target_with_its_own_pair() {
    let t = tempdir();
    let ab = t.path().join("ab.msp");
    let out = ok(&[
        os(&["--json", "build", "msp", "--target"]),
        vec![p(&wix("prodAv100.msi")), "--target".into(), p(&wix("prodBv100.msi"))],
        vec!["--upgraded".into(), p(&wix("prodAv101.msi")), "--upgraded".into(), p(&wix("prodBv101.msi"))],
        vec!["-o".into(), p(&ab)],
    ]
    .concat());
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["targets"].as_array().unwrap().len(), 2);
    assert_eq!(r["targets"][0]["transform"], "T1ToU1");
    assert_eq!(r["targets"][1]["transform"], "T2ToU2");
    assert_eq!((r["targets"][0]["disk_id"].as_i64(), r["targets"][1]["disk_id"].as_i64()), (Some(2), Some(3)));
    assert_eq!(r["targets"][1]["first_sequence"], 3);
    let info: serde_json::Value = serde_json::from_str(&ok(&[os(&["--json", "info"]), vec![p(&ab)]].concat())).unwrap();
    assert_eq!(info["patch"]["transforms"], serde_json::json!(["T1ToU1", "#T1ToU1", "T2ToU2", "#T2ToU2"]));
    assert_eq!(info["patch"]["targets"].as_array().unwrap().len(), 2);
    assert_eq!(info["patch"]["classification"], "Hotfix");
    for (prod, cab) in [("A", "#T1ToU1.cab"), ("B", "#T2ToU2.cab")] {
        let msi = wix(&format!("prod{prod}v100.msi"));
        let a: Vec<&OsStr> =
            vec!["tables".as_ref(), msi.as_os_str(), "Media".as_ref(), "--patch".as_ref(), ab.as_os_str()];
        let o = run_os(&a);
        assert!(o.status.success());
        assert!(stdout(&o).contains(cab), "{prod}: {}", stdout(&o));
        // The other product's pair does not apply (its product code check fails).
        let other = if prod == "A" { "T2ToU2" } else { "T1ToU1" };
        assert!(!stderr(&o).contains(&format!("transform {other} ")), "{}", stderr(&o));
        let img = image(&msi, Some(&ab), &t.path().join(prod));
        assert_eq!(img, image(&wix(&format!("prod{prod}v101.msi")), None, &t.path().join(format!("w{prod}"))));
    }
    // The patch alone lists its files by key.
    let o = ok(&[os(&["--json", "extract"]), vec![p(&ab), "-o".into(), p(&t.path().join("alone"))]].concat());
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 2);
}

/// A folder for `build msi`: nested folders, long names, an empty file, versioned PEs.
fn payload(dir: &Path, version: (u16, u16, u16, u16), readme: &str) {
    let put = |rel: &str, data: &[u8]| {
        let f = dir.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, data).unwrap();
    };
    let pe = |name: &str, dll: bool| {
        hotfixkit::testing::write_pe(&hotfixkit::testing::PeSpec {
            machine: 0x14c,
            version,
            strings: vec![("FileVersion".into(), format!("{}.{}.{}.{}", version.0, version.1, version.2, version.3))],
            size: 6000 + usize::from(version.3),
            seed: name.into(),
            dll,
        })
        .unwrap()
    };
    put("readme.txt", readme.as_bytes());
    put("bin/tool.exe", &pe("tool", false));
    put("bin/Data Files/A rather long file name for the builder.dat", &vec![7u8; 40_000]);
    put("bin/Data Files/empty.dat", b"");
    put("system/helper.dll", &pe("helper", true));
}

fn description(name: &str) -> PathBuf {
    root().join("manifests/packages").join(name)
}

fn build_msi(dir: &Path, desc: &str, out: &Path) -> serde_json::Value {
    let o = ok(&[
        os(&["--json", "build", "msi"]),
        vec![p(dir), "-o".into(), p(out), "--description".into(), p(&description(desc))],
    ]
    .concat());
    serde_json::from_str(&o).unwrap()
}

fn rtm_and_hotfix(t: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (a, b) = (t.join("rtm"), t.join("hotfix"));
    payload(&a, (1, 0, 0, 0), "release notes\r\n");
    payload(&b, (1, 0, 1, 7), "release notes, hotfix 1\r\n");
    std::fs::write(b.join("bin/Data Files/new in the hotfix.txt"), b"added\r\n").unwrap();
    let (ma, mb) = (t.join("tool-1.0.0.msi"), t.join("tool-1.0.1.msi"));
    build_msi(&a, "contoso-tool-rtm.yaml", &ma);
    build_msi(&b, "contoso-tool-hotfix.yaml", &mb);
    (a, b, ma, mb)
}

fn build_msi_from_descriptions_then_a_patch_between_the_versions() {
    let t = tempdir();
    let (_, _, rtm, hotfix) = rtm_and_hotfix(t.path());
    // The same tree and description give the same package.
    let again = t.path().join("again.msi");
    build_msi(&t.path().join("rtm"), "contoso-tool-rtm.yaml", &again);
    assert_eq!(sha256(&std::fs::read(&again).unwrap()), sha256(&std::fs::read(&rtm).unwrap()));
    // Both versions give each file the same component code.
    let comps = |m: &Path| view(m, None)["Component"].clone();
    let (ca, cb) = (comps(&rtm), comps(&hotfix));
    assert_eq!(ca.len(), 5);
    assert_eq!(ca.difference(&cb).count(), 0, "{ca:?}\n{cb:?}");
    let files = view(&rtm, None)["File"].clone();
    assert!(
        files.iter().any(|r| r.contains(r#""FileName":"tool.exe""#) && r.contains(r#""Version":"1.0.0.0""#)),
        "{files:?}"
    );
    let hash = view(&rtm, None)["MsiFileHash"].clone();
    assert_eq!(hash.len(), 3, "unversioned files only: {hash:?}");
    let props = view(&rtm, None)["Property"].clone();
    for k in ["ProductCode", "ProductVersion", "ProductName", "Manufacturer", "ProductLanguage", "UpgradeCode"] {
        assert!(props.iter().any(|r| r.contains(&format!(r#""Property":"{k}""#))), "{k}");
    }
    for seq in [
        "InstallExecuteSequence",
        "InstallUISequence",
        "AdminExecuteSequence",
        "AdminUISequence",
        "AdvtExecuteSequence",
    ] {
        assert!(!view(&rtm, None)[seq].is_empty(), "{seq}");
    }
    // The patch from RTM to the hotfix gives the hotfix's image.
    let msp = t.path().join("fix.msp");
    let r: serde_json::Value = serde_json::from_str(&ok(&[
        os(&["--json", "build", "msp", "--target"]),
        vec![p(&rtm), "--upgraded".into(), p(&hotfix), "-o".into(), p(&msp), "--allow-removal".into()],
    ]
    .concat()))
    .unwrap();
    let carried: Vec<(&str, &str)> = r["targets"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(carried.len(), 4, "{carried:?}");
    assert_eq!(carried.iter().filter(|c| c.1 == "added").count(), 1);
    let img = image(&rtm, Some(&msp), &t.path().join("img"));
    let want = image(&hotfix, None, &t.path().join("want"));
    assert_eq!(img, want);
    // diff shows what the patch does; against the hotfix only the patch's own rows remain.
    let o = run_os(&[
        "diff".as_ref(),
        hotfix.as_os_str(),
        rtm.as_os_str(),
        "--patch".as_ref(),
        msp.as_os_str(),
        "--only".as_ref(),
        "tables".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("table PatchPackage (added)") && text.contains("table Media (changed)"), "{text}");
    assert!(!text.contains("table Component") && !text.contains("table Directory"), "{text}");
}

fn build_msp_from_a_folder_of_new_files() {
    let t = tempdir();
    let (_, _, rtm, _) = rtm_and_hotfix(t.path());
    let new = t.path().join("new");
    std::fs::create_dir_all(new.join("bin")).unwrap();
    let pe = hotfixkit::testing::write_pe(&hotfixkit::testing::PeSpec {
        machine: 0x14c,
        version: (1, 0, 0, 5),
        strings: vec![],
        size: 7000,
        seed: "tool".into(),
        dll: false,
    })
    .unwrap();
    // By path in the image, and by unique name.
    std::fs::write(new.join("bin/tool.exe"), &pe).unwrap();
    std::fs::write(new.join("readme.txt"), b"patched readme\r\n").unwrap();
    let msp = t.path().join("files.msp");
    let r: serde_json::Value = serde_json::from_str(&ok(&[
        os(&["--json", "build", "msp", "--target"]),
        vec![p(&rtm), "--files".into(), p(&new), "-o".into(), p(&msp)],
    ]
    .concat()))
    .unwrap();
    let files = r["targets"][0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.iter().any(|f| f["version"] == "1.0.0.5" && f["size"] == 7000));
    let v = view(&rtm, Some(&msp));
    assert!(v["File"].iter().any(|r| r.contains(r#""FileName":"tool.exe""#) && r.contains(r#""Version":"1.0.0.5""#)));
    let img = image(&rtm, Some(&msp), &t.path().join("img"));
    assert_eq!(img["PFiles/Contoso/Tool/bin/tool.exe"].1, sha256(&pe));
    assert_eq!(img["PFiles/Contoso/Tool/readme.txt"].1, sha256(b"patched readme\r\n"));
    // MsiFileHash of the unversioned readme: the MD5 of the new bytes.
    use md5::Digest;
    let d = md5::Md5::digest(b"patched readme\r\n");
    let part = |i: usize| i32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    assert!(
        v["MsiFileHash"].iter().any(|r| r.contains(&format!(r#""HashPart1":{}"#, part(0)))
            && r.contains(&format!(r#""HashPart4":{}"#, part(12)))),
        "{:?}",
        v["MsiFileHash"]
    );
    // A file that matches no row is an error naming it.
    std::fs::write(new.join("stray.bin"), b"x").unwrap();
    let o = run_os(&[
        "build".as_ref(),
        "msp".as_ref(),
        "--target".as_ref(),
        rtm.as_os_str(),
        "--files".as_ref(),
        new.as_os_str(),
        "-o".as_ref(),
        t.path().join("x.msp").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stray.bin matches no File row"), "{}", stderr(&o));
}

fn build_msp_refuses_what_a_patch_cannot_carry() {
    let t = tempdir();
    let run = |target: &Path, upgraded: &Path| {
        let o = run_os(&[
            "build".as_ref(),
            "msp".as_ref(),
            "--target".as_ref(),
            target.as_os_str(),
            "--upgraded".as_ref(),
            upgraded.as_os_str(),
            "-o".as_ref(),
            t.path().join("x.msp").as_os_str(),
            "--force".as_ref(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        stderr(&o)
    };
    let e = run(&wix("prodAv100.msi"), &wix("prodAv100.msi"));
    assert!(e.contains("makes no change to this target: nothing to patch"), "{e}");
    let e = run(&wix("prodAv100.msi"), &wix("prodBv101.msi"));
    assert!(e.contains("ProductCode {398B8855-E3B8-4559-9C2B-3ED457C5A889} is not the target's {6EA3AE83-A14F-4B8B-8A86-BB977A9E7833}: that is a major upgrade"), "{e}");
    // A file (and so its component) removed.
    let (a, _, rtm, _) = rtm_and_hotfix(t.path());
    std::fs::remove_file(a.join("readme.txt")).unwrap();
    let less = t.path().join("less.msi");
    build_msi(&a, "contoso-tool-hotfix.yaml", &less);
    let e = run(&rtm, &less);
    assert!(
        e.contains("component C_readme.txt.") && e.contains("is removed; a patch cannot remove a component"),
        "{e}"
    );
    // A component's code and a key path changed (packages made with the fixture writer).
    use hotfixkit::testing::*;
    let spec = |comp_id: &str, first: &str| {
        let f = |key: &str, n: i32| PackageFile {
            key: key.into(),
            component: "C".into(),
            file_name: format!("{key}.txt"),
            data: key.as_bytes().to_vec(),
            datetime: (2010, 1, 1, 0, 0, 0),
            attributes: 0,
            version: None,
            language: None,
            sequence: n,
        };
        let files = if first == "a" { vec![f("a", 1), f("b", 2)] } else { vec![f("b", 1), f("a", 2)] };
        let cab = write_cab(
            &[files
                .iter()
                .map(|x| CabInput { name: x.key.clone(), data: x.data.clone(), datetime: x.datetime })
                .collect()],
            CabCompression::MsZip,
        )
        .unwrap();
        let s = PackageSpec {
            summary: SummarySpec {
                title: "Installation Database".into(),
                subject: "Rules".into(),
                author: "tests".into(),
                comments: String::new(),
                arch: "Intel".into(),
                language: 1033,
                package_code: format!("{{11111111-2222-3333-4444-5555555555{first}{}}}", comp_id.len() % 10),
                word_count: 2,
                page_count: 200,
                creating_application: "tests".into(),
                created: 1_262_304_000,
            },
            properties: vec![
                ("ProductCode".into(), "{AAAAAAAA-0000-4000-8000-000000000001}".into()),
                ("ProductVersion".into(), "1.0.0".into()),
                ("UpgradeCode".into(), "{AAAAAAAA-0000-4000-8000-000000000002}".into()),
            ],
            directories: vec![("TARGETDIR".into(), None, "SourceDir".into())],
            components: vec![("C".into(), comp_id.into(), "TARGETDIR".into())],
            files,
            media: vec![(1, 2, "#c.cab".into())],
            streams: vec![("c.cab".into(), cab)],
        };
        write_database(&s.database()).unwrap()
    };
    let base = t.path().join("base.msi");
    std::fs::write(&base, spec("{AAAAAAAA-0000-4000-8000-0000000000C1}", "a")).unwrap();
    let recoded = t.path().join("recoded.msi");
    std::fs::write(&recoded, spec("{AAAAAAAA-0000-4000-8000-0000000000C2}", "a")).unwrap();
    let e = run(&base, &recoded);
    assert!(e.contains("component C changes its ComponentId from {AAAAAAAA-0000-4000-8000-0000000000C1} to {AAAAAAAA-0000-4000-8000-0000000000C2}"), "{e}");
    let rekeyed = t.path().join("rekeyed.msi");
    std::fs::write(&rekeyed, spec("{AAAAAAAA-0000-4000-8000-0000000000C1}", "b")).unwrap();
    let e = run(&base, &rekeyed);
    assert!(e.contains("component C changes its key path from \"a\" to \"b\""), "{e}");
}

/// Build the transform from `old` to `new` into `mst` and check that `old` with it has
/// `new`'s tables, all of them.
fn build_mst_and_check_round_trip(
    old: &std::path::Path,
    new: &std::path::Path,
    mst: &std::path::Path,
    opts: &hotfixkit::WriteOptions,
) {
    hotfixkit::build::build_mst(old, new, None, Some(0x3F), mst, opts).unwrap();
    let mut req = hotfixkit::diff::DiffRequest::new(new, old);
    req.transforms.push(mst.to_path_buf());
    req.summary = false;
    req.streams = false;
    req.files = false;
    let r = hotfixkit::diff::diff(&req).unwrap();
    assert!(
        r.same,
        "{} -> {}: {:?}",
        old.display(),
        new.display(),
        r.tables.iter().map(|t| &t.table).collect::<Vec<_>>()
    );
}

/// Every ordered pair of packages: `build mst OLD NEW`, then OLD with the transform has
/// NEW's tables (binary cells included), and `diff` reports the same table changes for
/// NEW as for OLD with the transform.
fn build_mst_and_diff_round_trip_on_every_pair() {
    let t = tempdir();
    let (_, _, rtm, hotfix) = rtm_and_hotfix(t.path());
    let mut pkgs: Vec<PathBuf> =
        ["prodAv100.msi", "prodAv101.msi", "prodBv100.msi", "prodBv101.msi"].iter().map(|f| wix(f)).collect();
    pkgs.push(shared().join("corpus/psmsi/test/PowerShell.Test/Data/Example.msi"));
    pkgs.push(shared().join("corpus/wix3/test/data/BurnTestPayloads/MSIsandMSPs/RtmProduct/product.msi"));
    for f in [
        "kb977203/client/client.msi",
        "kb977203/sp1/SCCM2007-SP1-KB977203-ENU.msi",
        "kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi",
        "admin/tree/tree.msi",
        "admin/loose/loose.msi",
        "admin/spanned/spanned.msi",
        "admin/external/external.msi",
    ] {
        pkgs.push(fixture(f));
    }
    pkgs.push(rtm);
    pkgs.push(hotfix);
    let opts = hotfixkit::WriteOptions { overwrite: true, fsync: false, ..Default::default() };
    let mut n = 0;
    for (i, old) in pkgs.iter().enumerate() {
        for (j, new) in pkgs.iter().enumerate() {
            if i == j {
                continue;
            }
            let mst = t.path().join(format!("{i}-{j}.mst"));
            build_mst_and_check_round_trip(old, new, &mst, &opts);
            let mut a = hotfixkit::diff::DiffRequest::new(old, new);
            a.files = false;
            a.streams = false;
            a.summary = false;
            let mut b = hotfixkit::diff::DiffRequest::new(old, &mst);
            b.files = false;
            b.streams = false;
            b.summary = false;
            let (ra, rb) = (hotfixkit::diff::diff(&a).unwrap(), hotfixkit::diff::diff(&b).unwrap());
            assert_eq!(
                serde_json::to_value(&ra.tables).unwrap(),
                serde_json::to_value(&rb.tables).unwrap(),
                "{i}->{j}"
            );
            n += 1;
        }
    }
    assert_eq!(n, pkgs.len() * (pkgs.len() - 1));
    // More of the corpus's packages (merge-module tables, binary cells, icons, many
    // files), each with the next one both ways.
    let l = shared().join("corpus/lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput");
    let more = [
        l.join("vcredist.msi"),
        l.join("NUnit-2.5.2.9222.msi"),
        l.join("putty-0.68-installer.msi"),
        l.join("IviNetSharedComponents32_Fx20_1.3.0.msi"),
        l.join("msi_with_external_cab.msi"),
        shared().join("corpus/pymsi/docs/_static/example.msi"),
        shared().join("corpus/psmsi/test/PowerShell.Test/Data/NoWeight.msi"),
    ];
    for (i, old) in more.iter().enumerate() {
        let new = &more[(i + 1) % more.len()];
        for (a, b) in [(old, new), (new, old)] {
            let mst = t.path().join(format!("more-{i}.mst"));
            build_mst_and_check_round_trip(a, b, &mst, &opts);
        }
    }
}

fn msitools_read_our_patches_and_transforms() {
    let t = tempdir();
    let (_, _, rtm, hotfix) = rtm_and_hotfix(t.path());
    let msp = t.path().join("fix.msp");
    ok(&[os(&["build", "msp", "--target"]), vec![p(&rtm), "--upgraded".into(), p(&hotfix), "-o".into(), p(&msp)]]
        .concat());
    let mst = t.path().join("fix.mst");
    ok(&[os(&["build", "mst"]), vec![p(&rtm), p(&hotfix), "-o".into(), p(&mst)]].concat());
    let tool = |args: &[&OsStr]| {
        let o = std::process::Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for f in [&msp, &wix("../MSIsandMSPs/GDR1/gdr1.msp"), &fixture("kb977203/client/ccmexec-delta.msp")] {
        let s = tool(&["msiinfo".as_ref(), "suminfo".as_ref(), f.as_os_str()]);
        assert!(s.contains("Revision number"), "{s}");
        let tables = tool(&["msiinfo".as_ref(), "tables".as_ref(), f.as_os_str()]);
        assert!(
            tables.contains("MsiPatchMetadata") && tables.contains("MsiPatchSequence"),
            "{}: {tables}",
            f.display()
        );
        tool(&["msiinfo".as_ref(), "streams".as_ref(), f.as_os_str()]);
        let d = t.path().join(format!("dump-{}", f.file_name().unwrap().to_string_lossy()));
        std::fs::create_dir_all(&d).unwrap();
        tool(&["msidump".as_ref(), "-t".as_ref(), "-s".as_ref(), "-d".as_ref(), d.as_os_str(), f.as_os_str()]);
        assert!(d.join("MsiPatchMetadata.idt").is_file());
    }
    let s = tool(&["msiinfo".as_ref(), "suminfo".as_ref(), mst.as_os_str()]);
    assert!(s.contains("Revision number (UUID): {0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9}1.0.0;{0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9}1.0.1;{6B7C1D2E-3F40-4A51-8B62-7C83D94EA5F6}"), "{s}");
    assert!(s.contains("Restrict: 134348800 (8020000)"), "{s}");
    let d = t.path().join("mst-streams");
    std::fs::create_dir_all(&d).unwrap();
    tool(&["msidump".as_ref(), "-s".as_ref(), "-d".as_ref(), d.as_os_str(), mst.as_os_str()]);
    // The built package reads back with msitools too.
    tool(&["msiinfo".as_ref(), "export".as_ref(), rtm.as_os_str(), "File".as_ref()]);
}

fn diff_text_json_and_exit_codes() {
    let t = tempdir();
    let msp = t.path().join("a.msp");
    ok(&[
        os(&["build", "msp", "--target"]),
        vec![p(&wix("prodAv100.msi")), "--upgraded".into(), p(&wix("prodAv101.msi")), "-o".into(), p(&msp)],
    ]
    .concat());
    let a = wix("prodAv100.msi");
    let o = run_os(&["diff".as_ref(), a.as_os_str(), a.as_os_str()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).ends_with("no differences\n"), "{}", stdout(&o));
    let o = run_os(&["diff".as_ref(), a.as_os_str(), a.as_os_str(), "--patch".as_ref(), msp.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("table PatchPackage (added)"), "{text}");
    assert!(text.contains("  ~ ProductVersion\n      Value: \"1.0.0.0\" -> \"1.0.1.0\""), "{text}");
    assert!(text.contains("changed  F_Source Program Files/ProdA/product.wxs bytes"), "{text}");
    // NEW may be the patch itself, and the JSON says the same.
    let o = run_os(&["--json".as_ref(), "diff".as_ref(), a.as_os_str(), msp.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["same"], false);
    let tables: Vec<&str> = v["tables"].as_array().unwrap().iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert_eq!(tables, ["File", "Media", "MsiFileHash", "PatchPackage", "Property"]);
    let f = &v["files"][0];
    assert_eq!(f["key"], "F_Source");
    assert_eq!(f["fields"], serde_json::json!(["bytes"]));
    assert_ne!(f["old"]["sha256"], f["new"]["sha256"]);
    // Two packages: summary, streams and files too.
    let o = run_os(&["--json".as_ref(), "diff".as_ref(), a.as_os_str(), wix("prodBv101.msi").as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["summary"].as_array().unwrap().iter().any(|s| s["name"] == "Revision Number"));
    assert_eq!(v["streams"][0]["name"], "product.cab");
    let comp = v["tables"].as_array().unwrap().iter().find(|t| t["table"] == "Component").unwrap();
    assert_eq!(comp["changed"][0]["cells"][0]["column"], "ComponentId");
}

/// Wine's msiexec as the judge: our built package installs exactly its folder; our
/// patch, applied with /p after the install or with PATCH= on a fresh install, leaves
/// the hotfix's files; the WiX pair's patch leaves prodAv101's file; a transform of ours
/// installs the other product's layout through TRANSFORMS=.
fn wine_installs_built_packages_patches_and_transforms() {
    let t = tempdir();
    let (_, hot_dir, rtm, hotfix) = rtm_and_hotfix(t.path());
    let msp = t.path().join("fix.msp");
    ok(&[os(&["build", "msp", "--target"]), vec![p(&rtm), "--upgraded".into(), p(&hotfix), "-o".into(), p(&msp)]]
        .concat());
    let started = std::time::Instant::now();
    let wine = Wine::new();
    let c = wine.drive_c();
    let tool = c.join("Program Files (x86)/Contoso/Tool");
    let sys = c.join("windows/syswow64/Contoso");
    let installed = |wine: &Wine| {
        let _ = wine;
        let mut m = files_of(&tool);
        for (k, v) in files_of(&sys) {
            m.insert(format!("system/{k}"), v);
        }
        m
    };
    let want = files_of(&hot_dir);
    // The hotfix package itself installs exactly its folder.
    assert_eq!(wine.msiexec(&["/i", &Wine::path(&hotfix)]), 0);
    assert_eq!(installed(&wine), want);
    assert_eq!(wine.msiexec(&["/x", &Wine::path(&hotfix)]), 0);
    assert!(files_of(&tool).is_empty());
    // Its administrative image installs the same files (the copied package, marked as
    // an uncompressed image, is read with the image's folder tree as its source).
    let img = t.path().join("admin");
    ok(&[os(&["extract", "-q"]), vec![p(&hotfix), "-o".into(), p(&img)]].concat());
    let admin_copy = img.join("tool-1.0.1.msi");
    assert_eq!(wine.msiexec(&["/i", &Wine::path(&admin_copy)]), 0);
    assert_eq!(installed(&wine), want, "installed from the administrative image");
    assert_eq!(wine.msiexec(&["/x", &Wine::path(&admin_copy)]), 0);
    // RTM, then /p.
    assert_eq!(wine.msiexec(&["/i", &Wine::path(&rtm)]), 0);
    assert_ne!(installed(&wine), want);
    assert_eq!(wine.msiexec(&["/p", &Wine::path(&msp)]), 0);
    assert_eq!(installed(&wine), want, "after msiexec /p");
    assert_eq!(wine.msiexec(&["/x", &Wine::path(&rtm)]), 0);
    // A fresh install with PATCH=.
    assert_eq!(wine.msiexec(&["/i", &Wine::path(&rtm), &format!("PATCH={}", Wine::path(&msp))]), 0);
    assert_eq!(installed(&wine), want, "after msiexec /i PATCH=");
    assert_eq!(wine.msiexec(&["/x", &Wine::path(&rtm)]), 0);
    // The WiX pair.
    let a = t.path().join("a.msp");
    ok(&[
        os(&["build", "msp", "--target"]),
        vec![p(&wix("prodAv100.msi")), "--upgraded".into(), p(&wix("prodAv101.msi")), "-o".into(), p(&a)],
    ]
    .concat());
    let prod_a = c.join("Program Files (x86)/ProdA/product.wxs");
    assert_eq!(wine.msiexec(&["/i", &Wine::path(&wix("prodAv100.msi"))]), 0);
    assert_eq!(wine.msiexec(&["/p", &Wine::path(&a)]), 0);
    let want_a = image(&wix("prodAv101.msi"), None, &t.path().join("a101"));
    assert_eq!(sha256(&std::fs::read(&prod_a).unwrap()), want_a["Program Files/ProdA/product.wxs"].1);
    assert_eq!(wine.msiexec(&["/x", &Wine::path(&wix("prodAv100.msi"))]), 0);
    // A transform of ours: prodAv100 installed through TRANSFORMS= has prodBv100's layout.
    let mst = t.path().join("AtoB.mst");
    ok(&[os(&["build", "mst"]), vec![p(&wix("prodAv100.msi")), p(&wix("prodBv100.msi")), "-o".into(), p(&mst)]]
        .concat());
    assert_eq!(
        wine.msiexec(&["/i", &Wine::path(&wix("prodAv100.msi")), &format!("TRANSFORMS={}", Wine::path(&mst))]),
        0
    );
    let b_dir = c.join("Program Files (x86)/ProdB");
    assert_eq!(files_of(&b_dir).keys().collect::<Vec<_>>(), ["product.wxs"]);
    assert!(!c.join("Program Files (x86)/ProdA/product.wxs").exists());
    eprintln!("wine: {:.1} s for the prefix and 13 msiexec runs", started.elapsed().as_secs_f64());
}

crate::cases![
    wix_single_and_multi_target_patches_match_wixs_own needs [Need::Corpus],
    multi_target_patch_applies_to_each_target_with_its_own_pair needs [Need::Corpus],
    build_msi_from_descriptions_then_a_patch_between_the_versions,
    build_msp_from_a_folder_of_new_files,
    build_msp_refuses_what_a_patch_cannot_carry needs [Need::Corpus],
    build_mst_and_diff_round_trip_on_every_pair needs [Need::Corpus],
    msitools_read_our_patches_and_transforms needs [Need::Corpus, Need::Tool("msiinfo"), Need::Tool("msidump")],
    diff_text_json_and_exit_codes needs [Need::Corpus],
    wine_installs_built_packages_patches_and_transforms needs [Need::Corpus, Need::Tool("wine"), Need::Tool("wineserver")],
];
