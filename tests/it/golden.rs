//! Whole outputs compared with reviewed snapshots (`tests/it/snapshots/`, insta):
//! `info`, `extract --dry-run --json`, and verify's text, JSON and JUnit reports.
//! Temporary paths are replaced by `[TMP]`, the checkout by `[ROOT]`. After a deliberate
//! change, `cargo insta review` (or INSTA_UPDATE=always) updates them.

use crate::util::{fixture, root, run_os, stdout, tempdir};
use std::ffi::OsStr;
use std::path::Path;

fn clean(s: &str, tmp: Option<&Path>) -> String {
    let mut s = s.to_string();
    if let Some(t) = tmp {
        s = s.replace(&t.display().to_string(), "[TMP]");
    }
    s.replace(&root().display().to_string(), "[ROOT]")
}

fn snap(name: &str, text: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/it/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn info_outputs() {
    for (name, f) in [
        ("info_hotfix_msi", "kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi"),
        ("info_client_patch", "kb977203/client/ccmexec-delta.msp"),
        ("info_two_folder_cab", "cab/two-folders.cab"),
    ] {
        let p = fixture(f);
        let o = run_os(&["info".as_ref(), p.as_os_str()]);
        assert!(o.status.success(), "{name}");
        snap(&format!("{name}_text"), clean(&stdout(&o), None));
        let o = run_os(&["--json".as_ref(), "info".as_ref(), p.as_os_str()]);
        assert!(o.status.success(), "{name}");
        snap(&format!("{name}_json"), clean(&stdout(&o), None));
    }
}

fn dry_run_plans() {
    for (name, f) in [
        ("plan_hotfix_msi", "kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi"),
        ("plan_spanned", "admin/spanned/spanned.msi"),
    ] {
        let p = fixture(f);
        let o = run_os(&[
            "--json".as_ref(),
            "extract".as_ref(),
            p.as_os_str(),
            "--targetdir".as_ref(),
            "unused".as_ref(),
            "--dry-run".as_ref(),
        ]);
        assert!(o.status.success(), "{name}");
        snap(name, clean(&stdout(&o), None));
    }
}

fn verify_reports() {
    let t = tempdir();
    let img = t.path().join("img");
    let pkg = fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi");
    let o = run_os(&["extract".as_ref(), pkg.as_os_str(), "--targetdir".as_ref(), img.as_os_str()]);
    assert!(o.status.success());
    // One file a byte shorter, one removed.
    let exe = img.join("KB977203/bin/i386/Ccmcertfix.exe");
    let mut data = std::fs::read(&exe).unwrap();
    data.pop();
    std::fs::write(&exe, data).unwrap();
    let t2010 = filetime::FileTime::from_unix_time(1_264_400_880, 0);
    filetime::set_file_mtime(&exe, t2010).unwrap();
    std::fs::remove_file(img.join("KB977203/bin/x64/Mcsisapip.dll")).unwrap();
    let manifest = root().join("manifests/kb977203-sp2.yaml");
    let base: Vec<&OsStr> = vec!["verify".as_ref(), img.as_os_str(), "--manifest".as_ref(), manifest.as_os_str()];
    for (name, extra) in [
        ("verify_text", vec![]),
        ("verify_json", vec!["--format", "json"]),
        ("verify_junit", vec!["--format", "junit"]),
    ] {
        let mut args = base.clone();
        args.extend(extra.iter().map(OsStr::new));
        let o = run_os(&args);
        assert_eq!(o.status.code(), Some(1), "{name}");
        snap(name, clean(&stdout(&o), Some(t.path())));
    }
}

crate::cases![info_outputs, dry_run_plans, verify_reports];
