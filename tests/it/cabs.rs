//! Cabinet extraction on fixtures written by the `cab` crate.

use crate::util::*;

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

fn stored_cabinet_json_report_has_hashes() {
    let t = tempdir();
    let out = t.path().join("o");
    let cab = fixture("cab/stored.cab");
    let o = run_os(&["--json".as_ref(), "extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let files = v["entries"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for f in files {
        assert_eq!(f["written"], true);
        let p = out.join(f["path"].as_str().unwrap());
        assert_eq!(f["sha256"].as_str().unwrap(), sha256(&std::fs::read(p).unwrap()));
    }
    assert_eq!(v["summary"]["written"], 2);
    assert!(v["admin_package"].is_null());
}

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

fn output_limits_are_checked_at_their_edge_before_writing() {
    let t = tempdir();
    let cab = fixture("cab/two-folders.cab");
    // 9,000 + 120 + 100,000 bytes, 3 files.
    let total = 109_120u64;
    let ok = |extra: &[&str], out: &str| {
        let o = t.path().join(out);
        let mut a: Vec<&std::ffi::OsStr> =
            vec!["extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), o.as_os_str()];
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        (run_os(&a), o)
    };
    let at = total.to_string();
    let below = (total - 1).to_string();
    let (o, _) = ok(&["--max-output-bytes", &at, "--max-entries", "3", "--max-entry-bytes", "100000"], "a");
    assert!(o.status.success(), "{}", stderr(&o));
    let (o, dir) = ok(&["--max-output-bytes", &below], "b");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("output would exceed 109119 bytes"), "{}", stderr(&o));
    assert!(!dir.exists(), "nothing may be written when a limit is exceeded");
    let (o, _) = ok(&["--max-entries", "2"], "c");
    assert!(stderr(&o).contains("3 files exceed the limit of 2"), "{}", stderr(&o));
    let (o, _) = ok(&["--max-entry-bytes", "99999"], "d");
    assert!(
        stderr(&o).contains("bin\\tool.dat declares 100000 bytes, over the per-file limit of 99999"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
fn a_planted_symlink_in_the_target_is_never_followed() {
    let t = tempdir();
    let outside = t.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("sentinel"), b"keep").unwrap();
    let target = t.path().join("target");
    std::fs::create_dir_all(&target).unwrap();
    // target/docs -> ../outside: the cabinet has docs\readme.txt and docs\notes.txt.
    std::os::unix::fs::symlink("../outside", target.join("docs")).unwrap();
    let o = run_os(&[
        "extract".as_ref(),
        fixture("cab/two-folders.cab").as_os_str(),
        "--targetdir".as_ref(),
        target.as_os_str(),
        "--force".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a symbolic link; not followed"), "{}", stderr(&o));
    let names: Vec<String> =
        std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["sentinel"]);
    assert_eq!(std::fs::read(outside.join("sentinel")).unwrap(), b"keep");
    // The file outside the link still extracts.
    assert!(target.join("bin/tool.dat").is_file());
}

fn many_small_files_around_a_large_one_match_their_sources() {
    // 400 files (390 under 3 KB, ten of 70-100 KB) in seven folders and one of 8 MB: the
    // large folder goes through the decode-while-writing pipeline, and every file's bytes
    // and listed hash are checked against its source.
    let dir = tempdir();
    let src = dir.path().join("src");
    let mut want = std::collections::BTreeMap::new();
    for i in 0..400usize {
        let sub = src.join(format!("d{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap();
        let len = if i % 40 == 0 { 70_000 + i * 75 } else { (i * 37) % 3000 };
        let data: Vec<u8> = (0..len).map(|k| ((k * 31 + i * 7) % 251) as u8).collect();
        std::fs::write(sub.join(format!("f{i:03}.bin")), &data).unwrap();
        want.insert(format!("d{}/f{i:03}.bin", i % 7), sha256(&data));
    }
    let big: Vec<u8> = (0..8_000_000usize).map(|k| (k % 253) as u8).collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    want.insert("big.bin".to_string(), sha256(&big));
    let cab = dir.path().join("many.cab");
    let o = run_os(&["build".as_ref(), "cab".as_ref(), src.as_os_str(), "-o".as_ref(), cab.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = dir.path().join("out");
    let o = run_os(&["--json".as_ref(), "extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let listed: std::collections::BTreeMap<String, String> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["sha256"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(listed, want);
    for (path, hash) in &want {
        assert_eq!(&sha256(&std::fs::read(out.join(path)).unwrap()), hash, "{path}");
    }
    // Nothing but the files: no temporary names left behind.
    let count = walkdir::WalkDir::new(&out).into_iter().flatten().filter(|e| e.file_type().is_file()).count();
    assert_eq!(count, want.len());
}

/// A cabinet of 65,538 one-byte files whose 16-bit count says 2 (as gcab writes it):
/// `info` notes the wrap, and `extract` writes every file.
fn a_cabinet_whose_file_count_wrapped_is_read_whole() {
    let n = 65_538usize;
    let names: Vec<String> = (0..n).map(|i| format!("f{i:06}")).collect();
    let files_len: usize = names.iter().map(|s| 16 + s.len() + 1).sum();
    let data_off = 36 + 8 + files_len;
    let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let blocks: Vec<&[u8]> = data.chunks(32768).collect();
    let total = data_off + blocks.iter().map(|b| 8 + b.len()).sum::<usize>();
    let mut cab = b"MSCF".to_vec();
    for v in [0u32, total as u32, 0, 44, 0] {
        cab.extend_from_slice(&v.to_le_bytes());
    }
    cab.extend_from_slice(&[3, 1, 1, 0]);
    cab.extend_from_slice(&((n % 65_536) as u16).to_le_bytes());
    cab.extend_from_slice(&[0; 6]);
    cab.extend_from_slice(&(data_off as u32).to_le_bytes());
    cab.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
    cab.extend_from_slice(&0u16.to_le_bytes());
    for (i, name) in names.iter().enumerate() {
        cab.extend_from_slice(&1u32.to_le_bytes());
        cab.extend_from_slice(&(i as u32).to_le_bytes());
        cab.extend_from_slice(&[0; 8]);
        cab.extend_from_slice(name.as_bytes());
        cab.push(0);
    }
    for b in blocks {
        cab.extend_from_slice(&0u32.to_le_bytes());
        cab.extend_from_slice(&(b.len() as u16).to_le_bytes());
        cab.extend_from_slice(&(b.len() as u16).to_le_bytes());
        cab.extend_from_slice(b);
    }
    // In memory: 65,538 files flushed one by one to a disk would take most of a minute.
    let dir = tempdir_in_memory();
    let p = dir.path().join("wrapped.cab");
    std::fs::write(&p, &cab).unwrap();
    let o = run_os(&["--json".as_ref(), "info".as_ref(), p.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["cab"]["file_count"], 65_538);
    let note = v["cab"]["notes"][0].as_str().unwrap_or_default();
    assert!(note.contains("cFiles says 2 but 65538 entries"), "{note}");
    let out = dir.path().join("out");
    let o = run_os(&["extract".as_ref(), p.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("the count wrapped past 65,535"), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().next(),
        Some(format!("extracted 65538 of 65538 files (65538 bytes) to {}", out.display()).as_str())
    );
    assert_eq!(std::fs::read(out.join("f065537")).unwrap(), [(65_537 % 251) as u8]);
}

crate::cases![
    two_folder_mszip_cabinet_matches_the_cab_crate,
    stored_cabinet_json_report_has_hashes,
    corrupt_block_is_an_error_naming_the_file_and_leaves_no_partial_file,
    truncated_cabinet_is_a_clear_error,
    output_limits_are_checked_at_their_edge_before_writing,
    a_planted_symlink_in_the_target_is_never_followed,
    many_small_files_around_a_large_one_match_their_sources,
    a_cabinet_whose_file_count_wrapped_is_read_whole,
];
