//! KB977203 end to end on the fixture hotfix packages: extract, verify, ccmcertfix,
//! stage, the client patch, and the package builder.

use crate::util::*;
use std::path::{Path, PathBuf};

fn hotfix(sp: u32) -> PathBuf {
    fixture(&format!("kb977203/sp{sp}/SCCM2007-SP{sp}-KB977203-ENU.msi"))
}

fn manifest(sp: u32) -> PathBuf {
    root().join(format!("manifests/kb977203-sp{sp}.yaml"))
}

fn layout() -> PathBuf {
    root().join("manifests/layouts/configmgr2007.yaml")
}

fn extract(pkg: &Path, out: &Path) {
    let o = run_os(&["extract".as_ref(), pkg.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn each_fixture_extracts_and_verifies_against_its_own_manifest_only() {
    for sp in [1, 2] {
        let t = tempdir();
        let img = t.path().join("img");
        extract(&hotfix(sp), &img);
        let o = run_os(&["verify".as_ref(), img.as_os_str(), "--manifest".as_ref(), manifest(sp).as_os_str()]);
        assert!(o.status.success(), "SP{sp}: {}", stdout(&o));
        assert!(stdout(&o).contains("13 rows, 13 ok"), "{}", stdout(&o));
        let other = 3 - sp;
        let o = run_os(&["verify".as_ref(), img.as_os_str(), "--manifest".as_ref(), manifest(other).as_os_str()]);
        assert_eq!(o.status.code(), Some(1), "SP{sp} tree against SP{other}");
        // Verified in place, streaming the package: same result.
        let o = run_os(&[
            "verify".as_ref(),
            hotfix(sp).as_os_str(),
            "--manifest".as_ref(),
            manifest(sp).as_os_str(),
            "--strict".as_ref(),
        ]);
        assert!(o.status.success(), "in place SP{sp}: {}", stdout(&o));
    }
}

fn fixtures_are_readable_by_msitools_and_7zip() {
    for (tool, args) in [("msiinfo", vec!["tables"]), ("7zz", vec!["l"])] {
        for f in [hotfix(1), hotfix(2), fixture("kb977203/client/client.msi")] {
            let o = std::process::Command::new(tool).args(&args).arg(&f).output().unwrap();
            assert!(o.status.success(), "{tool} {}: {}", f.display(), String::from_utf8_lossy(&o.stderr));
        }
    }
}

fn ccmcertfix_from_package_image_and_nested_cabinet() {
    for sp in [1u32, 2] {
        let want = if sp == 1 { "4.0.6221.1193" } else { "4.0.6487.2111" };
        let t = tempdir();
        let out = t.path().join("cf");
        let o = run_os(&[
            "--json".as_ref(),
            "ccmcertfix".as_ref(),
            hotfix(sp).as_os_str(),
            "--targetdir".as_ref(),
            out.as_os_str(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["size"], 17_768);
        assert_eq!(v["version"], want);
        assert_eq!(v["machine"], "x86");
        assert_eq!(v["service_pack"], format!("SP{sp}"));
        assert_eq!(v["verified"], true);
        assert!(v["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().contains("CCMCertFix.exe CCMCertFix.log")));
        assert_eq!(std::fs::metadata(out.join("Ccmcertfix.exe")).unwrap().len(), 17_768);
    }
    // From an admin image folder, and from a cabinet nested in a folder.
    let t = tempdir();
    let img = t.path().join("img");
    extract(&hotfix(2), &img);
    let o = run_os(&["ccmcertfix".as_ref(), img.as_os_str(), "--targetdir".as_ref(), t.path().join("a").as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("verified against KB977203 SP2"), "{}", stdout(&o));
    let nest = t.path().join("nest");
    std::fs::create_dir_all(&nest).unwrap();
    let cabdir = t.path().join("cabsrc");
    std::fs::create_dir_all(&cabdir).unwrap();
    std::fs::copy(img.join("KB977203/bin/i386/Ccmcertfix.exe"), cabdir.join("CCMCERTFIX.EXE")).unwrap();
    // The cabinet keeps the file's time, which verification checks: keep the documented one.
    filetime::set_file_mtime(
        cabdir.join("CCMCERTFIX.EXE"),
        filetime::FileTime::from_unix_time(utc(2010, 1, 25, 6, 27, 0), 0),
    )
    .unwrap();
    let o = run_os(&[
        "build".as_ref(),
        "cab".as_ref(),
        cabdir.as_os_str(),
        "-o".as_ref(),
        nest.join("tools.cab").as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_os(&["ccmcertfix".as_ref(), nest.as_os_str(), "--targetdir".as_ref(), t.path().join("b").as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("tools.cab > CCMCERTFIX.EXE"), "{}", stdout(&o));
}

fn ccmcertfix_unknown_version_warns_and_missing_tool_is_an_error() {
    let t = tempdir();
    let src = t.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let pe = hotfixkit::testing::write_pe(&hotfixkit::testing::PeSpec {
        machine: 0x14c,
        version: (4, 0, 9999, 1),
        strings: vec![],
        size: 17_768,
        seed: "x".into(),
        dll: false,
    })
    .unwrap();
    std::fs::write(src.join("CCMCertFix.exe"), pe).unwrap();
    let o = run_os(&["ccmcertfix".as_ref(), src.as_os_str(), "--targetdir".as_ref(), t.path().join("o").as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("warning: version 4.0.9999.1 matches no KB977203 manifest"), "{}", stdout(&o));
    let empty = t.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o =
        run_os(&["ccmcertfix".as_ref(), empty.as_os_str(), "--targetdir".as_ref(), t.path().join("o2").as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no CCMCertFix.exe here"), "{}", stderr(&o));
}

fn stage(input: &Path, out: &Path, zip: &Path, extra: &[&str]) -> std::process::Output {
    let lay = layout();
    let mut a: Vec<&std::ffi::OsStr> = vec![
        "stage".as_ref(),
        input.as_os_str(),
        "--layout".as_ref(),
        lay.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--zip".as_ref(),
        zip.as_os_str(),
    ];
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    run_os(&a)
}

fn stage_sp2_layout_sums_zip_patch_line_and_package_definition() {
    let t = tempdir();
    let img = t.path().join("img");
    extract(&hotfix(2), &img);
    let out = t.path().join("dp");
    let zip = t.path().join("dp.zip");
    let o = stage(&img, &out, &zip, &["--package-id", "ABC00012"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Each Ccmgencert.dll under its platform's folder, with that PE machine.
    for (dir, machine) in [("bin/i386", "x86"), ("bin/x64", "x64"), ("bin/ia64", "ia64")] {
        let p = out.join(dir).join("Ccmgencert.dll");
        let info = run_os(&["--json".as_ref(), "info".as_ref(), p.as_os_str()]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&info)).unwrap();
        assert_eq!(v["pe"]["machine"], machine, "{dir}");
    }
    assert!(out.join("Client/i386/hotfix/KB977203/Sccm2007ac-sp2-kb977203-x86.msp").is_file());
    assert!(out.join("Logs/KB977203/Ccmcertfix.exe").is_file());
    let ts = std::fs::read_to_string(out.join("task-sequence.txt")).unwrap();
    assert!(ts.contains("\r\nPATCH=\"C:\\_SMSTaskSequence\\OSD\\ABC00012\\i386\\hotfix\\KB977203\\Sccm2007ac-sp2-kb977203-x86.msp\"\r\n"), "{ts}");
    let pdf = std::fs::read_to_string(out.join("Logs/KB977203/CCMCertFix.sms")).unwrap();
    for line in [
        "CommandLine=CCMCertFix.exe CCMCertFix.log",
        "Run=Hidden",
        "CanRunWhen=AnyUserStatus",
        "AdminRightsRequired=True",
    ] {
        assert!(pdf.contains(line), "{line}: {pdf}");
    }
    // The staged tree verifies against the layout-aware manifest written beside it.
    let o = run_os(&[
        "verify".as_ref(),
        out.as_os_str(),
        "--manifest".as_ref(),
        out.join("kb977203-sp2.staged.yaml").as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stdout(&o));
    // Third-party checks: sha256sum -c, unzip -t, pefile.
    {
        let o = std::process::Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    {
        let o = std::process::Command::new("unzip").arg("-t").arg(&zip).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    // Z-a: read back with the zip crate: every name enclosed, safe as a Windows path, no
    // links or duplicates (also ignoring case), contents equal to the staged files.
    {
        let mut a = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
        let mut folded = std::collections::BTreeSet::new();
        for i in 0..a.len() {
            let mut e = a.by_index(i).unwrap();
            let name = e.name().unwrap().to_string();
            assert!(e.enclosed_name().is_some(), "{name}");
            assert!(!name.contains(['\\', ':']), "{name}");
            assert!(hotfixkit::testing::split_relative(&name).is_ok(), "{name}");
            assert!(e.is_file(), "{name}");
            assert_eq!(e.unix_mode().map(|m| m & 0o170000), Some(0o100000), "{name}: not a regular file");
            assert!(folded.insert(name.to_lowercase()), "{name}: duplicate");
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            assert_eq!(data, std::fs::read(out.join(&name)).unwrap(), "{name}");
        }
        assert!(folded.len() >= 10, "{folded:?}");
    }
    let pefile = std::process::Command::new("/usr/bin/python3").arg("-c").arg("import pefile").output();
    if pefile.map(|o| o.status.success()).unwrap_or(false) {
        let script =
            "import sys,pefile\nfor p in sys.argv[1:]: print(hex(pefile.PE(p, fast_load=True).FILE_HEADER.Machine))";
        let o = std::process::Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(out.join("bin/i386/Ccmgencert.dll"))
            .arg(out.join("bin/x64/Ccmgencert.dll"))
            .arg(out.join("bin/ia64/Ccmgencert.dll"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "0x14c\n0x8664\n0x200\n");
    }
    // A second run, from the package this time, gives a byte-identical zip.
    let out2 = t.path().join("dp2");
    let zip2 = t.path().join("dp2.zip");
    let o = stage(&hotfix(2), &out2, &zip2, &["--package-id", "ABC00012"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&zip).unwrap(), std::fs::read(&zip2).unwrap(), "zip not reproducible");
}

fn stage_patch_line_variants_and_refusals() {
    let t = tempdir();
    let img = t.path().join("img");
    extract(&hotfix(1), &img);
    let run = |extra: &[&str]| {
        let lay = layout();
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "--json".as_ref(),
            "stage".as_ref(),
            img.as_os_str(),
            "--layout".as_ref(),
            lay.as_os_str(),
            "--out".as_ref(),
            "unused".as_ref(),
            "--dry-run".as_ref(),
        ];
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        run_os(&a)
    };
    let line = |o: std::process::Output| -> String {
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["patch_line"].as_str().unwrap().to_string()
    };
    assert_eq!(
        line(run(&["--package-id", "XYZ0A0B1", "--drive", "d"])),
        "PATCH=\"D:\\_SMSTaskSequence\\OSD\\XYZ0A0B1\\i386\\hotfix\\KB977203\\Sccm2007ac-sp1-kb977203-x86.msp\""
    );
    assert_eq!(
        line(run(&["--unc", "\\\\dp01\\SMSPKGD$\\ABC00012"])),
        "PATCH=\"\\\\dp01\\SMSPKGD$\\ABC00012\\i386\\hotfix\\KB977203\\Sccm2007ac-sp1-kb977203-x86.msp\""
    );
    let o = run(&["--package-id", "ABC0012"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a site code followed by 5 hex digits"));
    // A tampered tree is refused unless --no-verify.
    let p = img.join("KB977203/bin/i386/Smpmgr.dll");
    let mut d = std::fs::read(&p).unwrap();
    d.push(0);
    std::fs::write(&p, d).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Smpmgr.dll (x86): Mismatch size expected 85864 found 85865"), "{}", stderr(&o));
    let o = run(&["--no-verify"]);
    assert_eq!(o.status.code(), Some(1));
}

fn client_patch_of_each_service_pack_applies_to_the_client_fixture() {
    for sp in [1u32, 2] {
        let want = if sp == 1 { "4.0.6221.1193" } else { "4.0.6487.2111" };
        let t = tempdir();
        let img = t.path().join("img");
        extract(&hotfix(sp), &img);
        let msp = img.join(format!("KB977203/Client/i386/Sccm2007ac-sp{sp}-kb977203-x86.msp"));
        let o = run_os(&["--json".as_ref(), "info".as_ref(), msp.as_os_str()]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["patch"]["transforms"], serde_json::json!(["KB977203", "#KB977203"]));
        assert_eq!(v["patch"]["classification"], "Hotfix");
        let out = t.path().join("client");
        let o = extract_patched(&fixture("kb977203/client/client.msi"), &msp, &out);
        assert!(o.status.success(), "{}", stderr(&o));
        let dll = out.join("System32/CCM/CcmGenCert.dll");
        let o = run_os(&["--json".as_ref(), "info".as_ref(), dll.as_os_str()]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["pe"]["version"]["file_version"], want);
        let t2 = run_os(&[
            "tables".as_ref(),
            out.join("client.msi").as_os_str(),
            "File".as_ref(),
            "--format".as_ref(),
            "csv".as_ref(),
        ]);
        assert!(stdout(&t2).contains(&format!(",{want},")), "{}", stdout(&t2));
    }
}

fn build_msi_round_trips_a_folder() {
    let t = tempdir();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("bin/x64")).unwrap();
    std::fs::write(src.join("readme.txt"), b"hello").unwrap();
    let pe = hotfixkit::testing::write_pe(&hotfixkit::testing::PeSpec {
        machine: 0x8664,
        version: (1, 2, 3, 4),
        strings: vec![],
        size: 4096,
        seed: "b".into(),
        dll: true,
    })
    .unwrap();
    std::fs::write(src.join("bin/x64/tool.dll"), &pe).unwrap();
    let msi = t.path().join("out.msi");
    let o = run_os(&[
        "build".as_ref(),
        "msi".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        msi.as_os_str(),
        "--product-name".as_ref(),
        "Tool".as_ref(),
        "--version".as_ref(),
        "1.2.3".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let img = t.path().join("img");
    extract(&msi, &img);
    assert_eq!(std::fs::read(img.join("PFiles/Tool/readme.txt")).unwrap(), b"hello");
    assert_eq!(std::fs::read(img.join("PFiles/Tool/bin/x64/tool.dll")).unwrap(), pe);
    let f = run_os(&["tables".as_ref(), msi.as_os_str(), "File".as_ref(), "--format".as_ref(), "csv".as_ref()]);
    assert!(stdout(&f).contains(",tool.dll,4096,1.2.3.4,1033,"), "{}", stdout(&f));
    {
        let o = std::process::Command::new("msiinfo").arg("tables").arg(&msi).output().unwrap();
        assert!(o.status.success());
    }
}

crate::cases![
    each_fixture_extracts_and_verifies_against_its_own_manifest_only,
    fixtures_are_readable_by_msitools_and_7zip needs [Need::Tool("msiinfo"), Need::Tool("7zz")],
    ccmcertfix_from_package_image_and_nested_cabinet,
    ccmcertfix_unknown_version_warns_and_missing_tool_is_an_error,
    stage_sp2_layout_sums_zip_patch_line_and_package_definition needs [Need::Tool("sha256sum"), Need::Tool("unzip")],
    stage_patch_line_variants_and_refusals,
    client_patch_of_each_service_pack_applies_to_the_client_fixture,
    build_msi_round_trips_a_folder needs [Need::Tool("msiinfo")],
];
