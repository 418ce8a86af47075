//! PA19 delta patches: the Windows-made vectors in ../shared/msp/vectors.

use crate::util::*;

fn apply(v: &std::path::Path, patch: &str, old: Option<&str>, out: &std::path::Path) -> std::process::Output {
    let p = v.join(patch);
    let mut a: Vec<std::ffi::OsString> =
        vec!["delta".into(), "apply".into(), "--patch".into(), p.into(), "-o".into(), out.into()];
    if let Some(o) = old {
        a.push("--old".into());
        a.push(v.join(o).into());
    }
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
    run_os(&refs)
}

fn every_vector_gives_its_expected_output_or_refusal() {
    let s = shared();
    let v = s.join("msp/vectors");
    let t = tempdir();
    let cases: [(&str, Option<&str>, Option<&str>); 7] = [
        (
            "pa19_two_files_ranges/patch.bin",
            Some("pa19_two_files_ranges/old0.bin"),
            Some("pa19_two_files_ranges/new.bin"),
        ),
        (
            "pa19_two_files_ranges/patch.bin",
            Some("pa19_two_files_ranges/old1.bin"),
            Some("pa19_two_files_ranges/new_from_old1.derived.bin"),
        ),
        (
            "pa19_blocktype2_no_timestamp/patch.bin",
            Some("pa19_blocktype2_no_timestamp/old.bin"),
            Some("pa19_blocktype2_no_timestamp/new.derived.bin"),
        ),
        ("pa19_null_input_uncompressed/patch.bin", None, Some("pa19_null_input_uncompressed/new.derived.bin")),
        ("pa19_unnecessary/patch.bin", Some("pa19_unnecessary/old.bin"), Some("pa19_unnecessary/new.bin")),
        (
            "pa19_pe32_normalizations/patch.bin",
            Some("pa19_pe32_normalizations/old.bin"),
            Some("pa19_pe32_normalizations/new.bin"),
        ),
        // 32-bit PE: normalisation, the 107-entry RVA map (relocations, imports, exports,
        // relative jumps, resources), E8 translation, 29 chunks.
        (
            "pa19_pe32_patch_transforms/patch.bin",
            Some("pa19_pe32_patch_transforms/old.bin"),
            Some("pa19_pe32_patch_transforms/new.bin"),
        ),
    ];
    for (i, (patch, old, new)) in cases.iter().enumerate() {
        let out = t.path().join(format!("new{i}"));
        let o = apply(&v, patch, *old, &out);
        assert!(o.status.success(), "{patch}: {}", stderr(&o));
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(v.join(new.unwrap())).unwrap(), "{patch} with {old:?}");
    }
    // Refusals: the wrong old file, a header-only patch, a corrupted patch.
    let out = t.path().join("x");
    let o = apply(&v, "pa19_two_files_ranges/patch.bin", Some("pa19_blocktype2_no_timestamp/old.bin"), &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wrong old file"), "{}", stderr(&o));
    let o = apply(&v, "pa19_two_files_ranges/patch_header_only.bin", Some("pa19_two_files_ranges/old0.bin"), &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds only its header"), "{}", stderr(&o));
    let o = apply(&v, "pa19_null_input_uncompressed/patch.bin", Some("pa19_unnecessary/old.bin"), &out);
    assert_eq!(o.status.code(), Some(2), "a non-empty old file for a patch made without one");
    let mut bad = std::fs::read(v.join("pa19_blocktype2_no_timestamp/patch.bin")).unwrap();
    bad[200] ^= 0x10;
    let bp = t.path().join("bad.bin");
    std::fs::write(&bp, &bad).unwrap();
    let o = run_os(&[
        "delta".as_ref(),
        "apply".as_ref(),
        "--patch".as_ref(),
        bp.as_os_str(),
        "--old".as_ref(),
        v.join("pa19_blocktype2_no_timestamp/old.bin").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("corrupt"), "{}", stderr(&o));
    assert!(!out.exists(), "no output on failure");
}

fn delta_info_lists_old_files_and_ranges() {
    let s = shared();
    let p = s.join("msp/vectors/pa19_two_files_ranges/patch.bin");
    let o = run_os(&["--json".as_ref(), "delta".as_ref(), "info".as_ref(), p.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["options"], 0x00C4_0002);
    assert_eq!(v["new_size"], 1023);
    assert_eq!(v["crc_ok"], true);
    let olds = v["old_files"].as_array().unwrap();
    assert_eq!(olds.len(), 2);
    assert_eq!(olds[0]["size"], 1022);
    assert_eq!(olds[1]["size"], 1024);
    assert_eq!(olds[0]["ignore"].as_array().unwrap().len(), 20);
    assert_eq!(olds[0]["retain"].as_array().unwrap().len(), 20);
}

fn a_patch_with_a_binary_delta_patches_the_admin_image() {
    let t = tempdir();
    let out = t.path().join("img");
    let base = fixture("kb977203/client/client.msi");
    let msp = fixture("kb977203/client/ccmexec-delta.msp");
    let o = extract_patched(&base, &msp, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let exe = out.join("System32/CCM/CcmExec.exe");
    assert_eq!(std::fs::metadata(&exe).unwrap().len(), 9500);
    let o = run_os(&["--json".as_ref(), "info".as_ref(), exe.as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["pe"]["version"]["file_version"], "4.0.6487.2111");
    // The untouched file keeps its bytes.
    assert_eq!(std::fs::metadata(out.join("System32/CCM/CcmGenCert.dll")).unwrap().len(), 12000);
    // The dry run says which entry is a delta.
    let o = run_os(&[
        "extract".as_ref(),
        base.as_os_str(),
        "--patch".as_ref(),
        msp.as_os_str(),
        "--targetdir".as_ref(),
        t.path().join("x").as_os_str(),
        "--dry-run".as_ref(),
    ]);
    assert!(stdout(&o).contains("DELTA PCW_DELTA:ccmexec.exe applied to the base file"), "{}", stdout(&o));
}

fn a_delta_alone_is_listed_and_never_written_as_if_it_were_the_file() {
    let t = tempdir();
    let out = t.path().join("o");
    let msp = fixture("kb977203/client/ccmexec-delta.msp");
    let o = run_os(&[
        "--json".as_ref(),
        "extract".as_ref(),
        msp.as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
        "--dry-run".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["entries"][0]["key"], "ccmexec.exe");
    assert_eq!(v["entries"][0]["delta"], true);
    let o = run_os(&["extract".as_ref(), msp.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("File ccmexec.exe is a binary delta (PA19)"), "{}", stderr(&o));
    assert!(listing(&out).is_empty());
}

fn regression_timestamp_delta_overflow_is_not_a_panic() {
    // Found by the pa19 fuzz target: a huge signed delta from the file time overflowed.
    let p = root().join("fuzz/regressions/pa19/svli-time-overflow");
    let data = std::fs::read(&p).unwrap();
    hotfixkit::fuzzing::pa19(&data);
    let t = tempdir();
    let f = t.path().join("p.bin");
    std::fs::write(&f, &data[1..]).unwrap();
    let o = run_os(&["delta".as_ref(), "info".as_ref(), f.as_os_str()]);
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{}", stderr(&o));
}

fn regression_negating_the_largest_signed_integer_is_not_a_panic() {
    // Found by the pa19 fuzz target: a 9-byte SVLI reached bit 63 and negating it overflowed.
    let data = std::fs::read(root().join("fuzz/regressions/pa19/svli-negate-overflow")).unwrap();
    hotfixkit::fuzzing::pa19(&data);
}

fn regression_an_odd_uncompressed_block_at_the_stream_end_is_not_a_panic() {
    // Found by the pa19 fuzz target: the pad byte after an odd-length uncompressed block
    // lay past the end of the stream.
    let data = std::fs::read(root().join("fuzz/regressions/pa19/uncompressed-odd-tail")).unwrap();
    hotfixkit::fuzzing::pa19(&data);
}

crate::cases![
    every_vector_gives_its_expected_output_or_refusal needs [Need::Corpus],
    delta_info_lists_old_files_and_ranges needs [Need::Corpus],
    a_patch_with_a_binary_delta_patches_the_admin_image,
    a_delta_alone_is_listed_and_never_written_as_if_it_were_the_file,
    regression_timestamp_delta_overflow_is_not_a_panic,
    regression_negating_the_largest_signed_integer_is_not_a_panic,
    regression_an_odd_uncompressed_block_at_the_stream_end_is_not_a_panic,
];
