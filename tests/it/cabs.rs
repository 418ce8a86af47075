//! Cabinet extraction on fixtures written by the `cab` crate.

use crate::util::*;

#[test]
fn two_folder_mszip_cabinet_matches_the_cab_crate() {
    let t = tempdir();
    let out = t.path().join("o");
    let cab = fixture("cab/two-folders.cab");
    let o = run_os(&["extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let l = listing(&out);
    let names: Vec<(&str, u64, i64)> = l.iter().map(|e| (e.0.as_str(), e.1, e.2)).collect();
    assert_eq!(
        names,
        [
            ("bin/tool.dat", 100_000, utc(2008, 12, 1, 1, 40, 0)),
            ("docs/notes.txt", 120, utc(2010, 1, 25, 6, 27, 2)),
            ("docs/readme.txt", 9000, utc(2010, 1, 25, 6, 27, 0)),
        ]
    );
    let files = cab_crate_files(&std::fs::read(&cab).unwrap());
    for (name, data) in files {
        assert_eq!(std::fs::read(out.join(name.replace('\\', "/"))).unwrap(), data, "{name}");
    }
}

#[test]
fn stored_cabinet_json_report_has_hashes() {
    let t = tempdir();
    let out = t.path().join("o");
    let cab = fixture("cab/stored.cab");
    let o = run_os(&["--json".as_ref(), "extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for f in files {
        let p = out.join(f["path"].as_str().unwrap());
        assert_eq!(f["sha256"].as_str().unwrap(), sha256(&std::fs::read(p).unwrap()));
    }
    assert!(v["admin_package"].is_null());
}

#[test]
fn corrupt_block_is_an_error_naming_the_file_and_leaves_no_partial_file() {
    let t = tempdir();
    let mut bytes = std::fs::read(fixture("cab/two-folders.cab")).unwrap();
    // Flip a byte deep inside the second folder's data (tool.dat): checksum mismatch.
    let n = bytes.len();
    bytes[n - 100] ^= 0x55;
    let cab = t.path().join("bad.cab");
    std::fs::write(&cab, &bytes).unwrap();
    let out = t.path().join("o");
    let o = run_os(&["extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bin\\tool.dat") || e.contains("bin/tool.dat"), "{e}");
    assert!(e.contains("checksum mismatch"), "{e}");
    assert!(!out.join("bin/tool.dat").exists(), "partial file under its final name");
    let left: Vec<String> = listing(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(left, ["docs/notes.txt", "docs/readme.txt"]);
}

#[test]
fn truncated_cabinet_is_a_clear_error() {
    let t = tempdir();
    let bytes = std::fs::read(fixture("cab/two-folders.cab")).unwrap();
    let cab = t.path().join("short.cab");
    std::fs::write(&cab, &bytes[..20]).unwrap();
    let o = run_os(&["extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), t.path().join("o").as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("short.cab") && e.contains("truncated"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}
