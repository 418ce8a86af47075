//! `verify`, `manifest import-kb` and `manifest lock` on trees built to match the
//! KB977203 manifests, and on tampered copies.

use crate::util::*;
use hotfixkit::manifest::{Manifest, Platform};
use hotfixkit::testing::{write_pe, PeSpec};
use std::path::Path;

fn manifest_path(sp: u32) -> std::path::PathBuf {
    root().join(format!("manifests/kb977203-sp{sp}.yaml"))
}

fn machine(p: Platform) -> u16 {
    match p {
        Platform::X86 => 0x14c,
        Platform::X64 => 0x8664,
        Platform::Ia64 => 0x200,
        Platform::None => 0,
    }
}

fn folder(p: Platform) -> &'static str {
    match p {
        Platform::X86 => "x86",
        Platform::X64 => "x64",
        Platform::Ia64 => "ia64",
        Platform::None => "",
    }
}

/// A tree whose files match every row of `m`: PE files of the documented machine,
/// version and size; other files of the documented size; times inside the documented minute.
pub fn build_tree(m: &Manifest, dir: &Path) {
    for f in &m.files {
        let sub = dir.join(folder(f.platform));
        std::fs::create_dir_all(&sub).unwrap();
        let p = sub.join(&f.name);
        let data = match (&f.version, f.platform) {
            (Some(v), pl) if pl != Platform::None => {
                let n: Vec<u16> = v.split('.').map(|x| x.parse().unwrap()).collect();
                write_pe(&PeSpec {
                    machine: machine(pl),
                    version: (n[0], n[1], n[2], n[3]),
                    strings: vec![("FileVersion".into(), v.clone()), ("OriginalFilename".into(), f.name.clone())],
                    size: f.size as usize,
                    seed: f.name.clone(),
                    dll: f.name.to_lowercase().ends_with(".dll"),
                })
                .unwrap()
            }
            _ => vec![b'x'; f.size as usize],
        };
        std::fs::write(&p, data).unwrap();
        let t = Manifest::row_time(f).unwrap() + 30;
        filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(t, 0)).unwrap();
    }
}

fn verify(path: &Path, sp: u32, extra: &[&str]) -> std::process::Output {
    let mp = manifest_path(sp);
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["verify".as_ref(), path.as_os_str(), "--manifest".as_ref(), mp.as_os_str()];
    args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    run_os(&args)
}

fn manifests_are_what_the_importer_makes_from_both_kb_tables() {
    let shared = shared();
    for lang in ["en", "he"] {
        let t = tempdir();
        let src = shared.join(format!("kb/kb977203-file-information.{lang}.txt"));
        let o = run_os(&[
            "manifest".as_ref(),
            "import-kb".as_ref(),
            src.as_os_str(),
            "--split".as_ref(),
            "-o".as_ref(),
            t.path().as_os_str(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        for sp in [1, 2] {
            let got = std::fs::read(t.path().join(format!("kb977203-sp{sp}.yaml"))).unwrap();
            assert_eq!(
                got,
                std::fs::read(manifest_path(sp)).unwrap(),
                "{lang} sp{sp} differs from the checked-in manifest"
            );
        }
    }
}

fn english_and_hebrew_tables_give_identical_json() {
    let shared = shared();
    let get = |lang: &str| {
        let src = shared.join(format!("kb/kb977203-file-information.{lang}.txt"));
        let o =
            run_os(&["manifest".as_ref(), "import-kb".as_ref(), src.as_os_str(), "--format".as_ref(), "json".as_ref()]);
        assert!(o.status.success(), "{}", stderr(&o));
        o.stdout
    };
    let en = get("en");
    assert_eq!(en, get("he"));
    let v: serde_json::Value = serde_json::from_slice(&en).unwrap();
    let ms = v["manifests"].as_array().unwrap();
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0]["service_pack"], "SP1");
    assert_eq!(ms[1]["service_pack"], "SP2");
    assert_eq!(ms.iter().map(|m| m["files"].as_array().unwrap().len()).sum::<usize>(), 26);
    let ia64 = ms[0]["files"].as_array().unwrap().iter().find(|f| f["platform"] == "ia64").unwrap();
    assert_eq!(ia64["name"], "Ccmgencert.dll");
    assert_eq!(ia64["size"], 649_576);
    assert_eq!(ia64["version"], "4.0.6221.1193");
    assert_eq!(ia64["date"], "2008-12-01");
    assert_eq!(ia64["time"], "01:40");
}

fn import_rejects_an_unknown_layout_naming_the_line() {
    let t = tempdir();
    let f = t.path().join("kb123.txt");
    std::fs::write(
        &f,
        "Product SP1 file information\nFile name\nFile size\nDate\nTime\nA.dll\n1,234\n01-Jan-2009\n25:99\n",
    )
    .unwrap();
    let o = run_os(&["manifest".as_ref(), "import-kb".as_ref(), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 9: time \"25:99\" not understood"), "{}", stderr(&o));
}

fn verify_passes_on_a_matching_tree() {
    let t = tempdir();
    let m = Manifest::load(&manifest_path(2)).unwrap();
    build_tree(&m, t.path());
    let o = verify(t.path(), 2, &[]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let s = stdout(&o);
    // The summary line comes last.
    let last = s.lines().last().unwrap_or_default();
    assert!(last.starts_with("KB977203 SP2 (System Center Configuration Manager 2007) against "), "{s}");
    assert!(last.ends_with(": 13 rows, 13 ok, 0 mismatched, 0 missing; 0 extra files"), "{s}");
    assert!(s.contains("ok        Ccmgencert.dll"), "{s}");
    // The SP1 manifest does not fit the SP2 tree.
    let o = verify(t.path(), 1, &[]);
    assert_eq!(o.status.code(), Some(1));
}

fn verify_names_each_tampered_file_in_text_json_and_junit() {
    let t = tempdir();
    let m = Manifest::load(&manifest_path(2)).unwrap();
    build_tree(&m, t.path());
    // One byte appended.
    let p = t.path().join("x86/Ccmsetup.exe");
    let mut d = std::fs::read(&p).unwrap();
    d.push(0);
    std::fs::write(&p, d).unwrap();
    // One version changed (same size).
    let p = t.path().join("x86/Smpmgr.dll");
    let spec = PeSpec {
        machine: 0x14c,
        version: (4, 0, 6487, 2110),
        strings: vec![],
        size: 86_376,
        seed: "x".into(),
        dll: true,
    };
    std::fs::write(&p, write_pe(&spec).unwrap()).unwrap();
    // The x64 Ccmgencert.dll replaced by its x86 twin.
    std::fs::copy(t.path().join("x86/Ccmgencert.dll"), t.path().join("x64/Ccmgencert.dll")).unwrap();
    for f in ["x86/Smpmgr.dll", "x64/Ccmgencert.dll"] {
        filetime::set_file_mtime(t.path().join(f), filetime::FileTime::from_unix_time(utc(2010, 1, 25, 6, 29, 10), 0))
            .unwrap();
    }

    let o = verify(t.path(), 2, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let s = stdout(&o);
    assert!(s.contains("13 rows, 10 ok, 3 mismatched, 0 missing"), "{s}");
    let line = |needle: &str| {
        s.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line for {needle}: {s}")).to_string()
    };
    assert!(line("x86/Ccmsetup.exe").contains("size: expected 611688, found 611689"), "{s}");
    assert!(line("x86/Smpmgr.dll").contains("version: expected 4.0.6487.2111, found 4.0.6487.2110"), "{s}");
    let l = line("x64/Ccmgencert.dll");
    assert!(
        l.starts_with("MISMATCH")
            && l.contains("platform: expected x64, found x86")
            && l.contains("size: expected 285032, found 130408"),
        "{l}"
    );

    let o = verify(t.path(), 2, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["summary"]["mismatch"], 3);
    let bad: Vec<String> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "ok")
        .map(|r| format!("{}:{}", r["path"].as_str().unwrap(), r["platform"].as_str().unwrap()))
        .collect();
    assert_eq!(bad, ["x86/Ccmsetup.exe:x86", "x86/Smpmgr.dll:x86", "x64/Ccmgencert.dll:x64"]);

    let out = t.path().join("report.xml");
    let o = verify(t.path(), 2, &["--format", "junit", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let xml = std::fs::read_to_string(&out).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 13);
    assert_eq!(xml.matches("<failure ").count(), 3);
    assert!(xml.contains("tests=\"13\" failures=\"3\""));
    assert!(xml.contains("name=\"Ccmgencert.dll (x64)\""));
    {
        let ok = std::process::Command::new("python3")
            .arg("-c")
            .arg("import sys,xml.dom.minidom as m; d=m.parse(sys.argv[1]); print(len(d.getElementsByTagName('failure')))")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "3", "{}", String::from_utf8_lossy(&ok.stderr));
    }
}

fn strict_mode_fails_on_extra_files() {
    let t = tempdir();
    let m = Manifest::load(&manifest_path(1)).unwrap();
    build_tree(&m, t.path());
    std::fs::write(t.path().join("readme.txt"), b"extra").unwrap();
    let o = verify(t.path(), 1, &[]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("extra     readme.txt"));
    let o = verify(t.path(), 1, &["--strict", "--format", "junit"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("name=\"no extra files\""));
}

fn missing_file_and_bad_manifest() {
    let t = tempdir();
    let m = Manifest::load(&manifest_path(1)).unwrap();
    build_tree(&m, t.path());
    std::fs::remove_file(t.path().join("Mp.msi")).unwrap();
    let o = verify(t.path(), 1, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).lines().any(|l| l.starts_with("MISSING") && l.contains("Mp.msi")), "{}", stdout(&o));
    let bad = t.path().join("bad.yaml");
    std::fs::write(&bad, "product: x\nkb: 1\nfiles: []\nsurprise: 1\n").unwrap();
    let o = run_os(&["verify".as_ref(), t.path().as_os_str(), "--manifest".as_ref(), bad.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown field `surprise`"), "{}", stderr(&o));
}

fn lock_then_verify_and_detect_a_change() {
    let t = tempdir();
    let tree = t.path().join("tree");
    let m = Manifest::load(&manifest_path(2)).unwrap();
    build_tree(&m, &tree);
    let lockf = t.path().join("payload.lock.yaml");
    let o = run_os(&["manifest".as_ref(), "lock".as_ref(), tree.as_os_str(), "-o".as_ref(), lockf.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lock = Manifest::load(&lockf).unwrap();
    assert_eq!(lock.files.len(), 13);
    let x64 =
        lock.files.iter().find(|f| f.destination.as_deref() == Some("x64") && f.name == "Ccmgencert.dll").unwrap();
    assert_eq!(x64.platform, Platform::X64);
    assert_eq!(x64.version.as_deref(), Some("4.0.6487.2111"));
    assert!(x64.sha256.is_some());
    let o =
        run_os(&["verify".as_ref(), tree.as_os_str(), "--manifest".as_ref(), lockf.as_os_str(), "--strict".as_ref()]);
    assert!(o.status.success(), "{}", stdout(&o));
    // The same lock as JSON (`.json`) holds the same manifest and verifies the same way.
    let lockj = t.path().join("payload.lock.json");
    let o = run_os(&["manifest".as_ref(), "lock".as_ref(), tree.as_os_str(), "-o".as_ref(), lockj.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&lockj).unwrap().starts_with("{\n  \"product\""));
    assert_eq!(Manifest::load(&lockj).unwrap(), lock);
    let o =
        run_os(&["verify".as_ref(), tree.as_os_str(), "--manifest".as_ref(), lockj.as_os_str(), "--strict".as_ref()]);
    assert!(o.status.success(), "{}", stdout(&o));
    // Same size, same time, one byte different: only the hash tells.
    let p = tree.join("Mcs.msi");
    let mut d = std::fs::read(&p).unwrap();
    d[100] ^= 1;
    std::fs::write(&p, d).unwrap();
    filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(utc(2010, 1, 25, 6, 28, 30), 0)).unwrap();
    let o = run_os(&["verify".as_ref(), tree.as_os_str(), "--manifest".as_ref(), lockf.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).lines().any(|l| l.contains("Mcs.msi") && l.contains("sha256: expected")), "{}", stdout(&o));
}

fn pe_fixtures_read_back_with_pefile() {
    let t = tempdir();
    let m = Manifest::load(&manifest_path(1)).unwrap();
    build_tree(&m, t.path());
    let script = "import sys,pefile\nfor p in sys.argv[1:]:\n  pe=pefile.PE(p)\n  f=pe.VS_FIXEDFILEINFO[0]\n  print(hex(pe.FILE_HEADER.Machine), '%d.%d.%d.%d'%(f.FileVersionMS>>16,f.FileVersionMS&0xffff,f.FileVersionLS>>16,f.FileVersionLS&0xffff))";
    let o = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(t.path().join("ia64/Ccmgencert.dll"))
        .arg(t.path().join("x64/Mcsisapip.dll"))
        .arg(t.path().join("x86/Ccmcertfix.exe"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "0x200 4.0.6221.1193\n0x8664 4.0.6221.1193\n0x14c 4.0.6221.1193\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

crate::cases![
    manifests_are_what_the_importer_makes_from_both_kb_tables needs [Need::Corpus],
    english_and_hebrew_tables_give_identical_json needs [Need::Corpus],
    import_rejects_an_unknown_layout_naming_the_line,
    verify_passes_on_a_matching_tree,
    verify_names_each_tampered_file_in_text_json_and_junit needs [Need::Tool("python3")],
    strict_mode_fails_on_extra_files,
    missing_file_and_bad_manifest,
    lock_then_verify_and_detect_a_change,
    pe_fixtures_read_back_with_pefile needs [Need::Python("pefile")],
];
