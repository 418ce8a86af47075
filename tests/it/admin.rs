//! The administrative image, rule by rule, on fixtures written by third-party writers
//! (the `msi` and `cab` crates; our own writer only for the spanned set, which cabextract
//! checks where installed).

use crate::util::*;
use hotfixkit::msi::Database;
use std::path::Path;

fn extract_ok(pkg: &Path, out: &Path) -> String {
    let o = run_os(&["extract".as_ref(), pkg.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "extract failed: {}", stderr(&o));
    stderr(&o)
}

/// (path, size, mtime) of every file, plus the admin copy of the package.
fn assert_tree(out: &Path, expected: &[(&str, u64, i64)], admin: &str) {
    let l = listing(out);
    let got: Vec<(String, u64, i64)> = l.iter().filter(|e| e.0 != admin).map(|e| (e.0.clone(), e.1, e.2)).collect();
    let mut want: Vec<(String, u64, i64)> = expected.iter().map(|(p, s, t)| (p.to_string(), *s, *t)).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(l.iter().any(|e| e.0 == admin), "administrative copy {admin} missing");
}

fn directory_rules_long_names_dot_roots_missing_parent_cycle() {
    let t = tempdir();
    let out = t.path().join("img");
    let pkg = fixture("admin/tree/tree.msi");
    let err = extract_ok(&pkg, &out);
    assert_tree(
        &out,
        &[
            // SUBDIR is "bin|Binaries:SRCBIN|Source Binaries": the source half, long name.
            ("PFiles/Hotfix App/Source Binaries/Tool.exe", 70_000, utc(2010, 1, 25, 6, 27, 58)),
            ("PFiles/Hotfix App/Read Me.txt", 5000, utc(2008, 12, 1, 1, 40, 0)),
            ("PFiles/Hotfix App/empty.txt", 0, utc(2009, 1, 2, 3, 4, 6)),
            // DOTDIR is ".": same as its parent.
            ("PFiles/Hotfix App/In Dot Dir.txt", 300, utc(2010, 1, 25, 6, 28, 0)),
            // SELFROOT is its own parent: a root, mapped to the target.
            ("self.txt", 40, utc(2001, 2, 3, 4, 5, 6)),
            // ORPHAN's parent is missing: it hangs from the target.
            ("Orphan/orphan.txt", 41, utc(2002, 3, 4, 5, 6, 8)),
            // CYCA <-> CYCB: cut at CYCA (first in key order), so CYCB is "CycB".
            ("CycB/cycle.txt", 42, utc(2003, 4, 5, 6, 7, 10)),
            ("root.txt", 43, utc(2004, 5, 6, 7, 8, 12)),
        ],
        "tree.msi",
    );
    assert!(err.contains("\"CYCA\" is part of a cycle"), "{err}");
    assert!(err.contains("\"NOSUCHDIR\" is missing"), "{err}");
    // Bytes equal what the cab crate reads from the msi crate's view of the stream.
    let cab = cab_crate_files(&msi_crate_stream(&pkg, "tree.cab"));
    let pairs = [
        ("f_tool", "PFiles/Hotfix App/Source Binaries/Tool.exe"),
        ("f_readme", "PFiles/Hotfix App/Read Me.txt"),
        ("f_empty", "PFiles/Hotfix App/empty.txt"),
        ("f_dot", "PFiles/Hotfix App/In Dot Dir.txt"),
        ("f_self", "self.txt"),
        ("f_orphan", "Orphan/orphan.txt"),
        ("f_cyc", "CycB/cycle.txt"),
        ("f_root", "root.txt"),
    ];
    for (key, path) in pairs {
        assert_eq!(std::fs::read(out.join(path)).unwrap(), cab[key], "{path}");
    }
}

fn admin_copy_is_marked_uncompressed_admin_image_without_cabinet_streams() {
    let t = tempdir();
    let out = t.path().join("img");
    let pkg = fixture("admin/tree/tree.msi");
    extract_ok(&pkg, &out);
    let orig = Database::open(&pkg).unwrap();
    let copy = Database::open(&out.join("tree.msi")).unwrap();
    assert_eq!(orig.summary.word_count(), Some(2));
    assert_eq!(copy.summary.word_count(), Some(4), "admin image, long names, uncompressed");
    assert!(orig.stream("tree.cab").is_some());
    assert!(copy.stream("tree.cab").is_none(), "unpacked cabinet stream carried over");
    assert_eq!(orig.tables.keys().collect::<Vec<_>>(), copy.tables.keys().collect::<Vec<_>>());
    for (name, t) in &orig.tables {
        assert_eq!(t.rows, copy.tables[name].rows, "table {name} changed");
    }
    // The msi crate (third-party) opens the copy too.
    let p = msi::open(out.join("tree.msi")).unwrap();
    assert_eq!(p.summary_info().word_count(), Some(4));
    {
        let o = std::process::Command::new("msiinfo").arg("suminfo").arg(out.join("tree.msi")).output().unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Source: 4"),
            "msiinfo: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

fn external_cabinet_beside_package_found_case_insensitively() {
    let t = tempdir();
    let out = t.path().join("img");
    let pkg = fixture("admin/external/external.msi");
    extract_ok(&pkg, &out);
    assert_tree(
        &out,
        &[
            ("Data Files/alpha.dat", 1234, utc(2010, 1, 25, 6, 27, 0)),
            ("Data Files/beta.dat", 4321, utc(2010, 1, 25, 6, 29, 30)),
        ],
        "external.msi",
    );
    let cab = cab_crate_files(&std::fs::read(fixture("admin/external/Data1.cab")).unwrap());
    assert_eq!(std::fs::read(out.join("Data Files/alpha.dat")).unwrap(), cab["ext_a"]);
    assert_eq!(std::fs::read(out.join("Data Files/beta.dat")).unwrap(), cab["ext_b"]);
}

fn external_cabinet_is_never_looked_up_outside_the_package_folder() {
    // Media names "DATA1.CAB"; copy the package alone into a folder whose parent holds
    // a Data1.cab: it must not be used.
    let t = tempdir();
    let inner = t.path().join("pkg");
    std::fs::create_dir(&inner).unwrap();
    std::fs::copy(fixture("admin/external/external.msi"), inner.join("external.msi")).unwrap();
    std::fs::copy(fixture("admin/external/Data1.cab"), t.path().join("Data1.cab")).unwrap();
    let out = t.path().join("img");
    let o =
        run_os(&["extract".as_ref(), inner.join("external.msi").as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("cabinet \"DATA1.CAB\" not found"), "{e}");
    assert!(e.contains("File ext_a: cabinet \"DATA1.CAB\" is not available"), "{e}");
}

fn cabinet_set_spanning_three_media_rows() {
    let t = tempdir();
    let out = t.path().join("img");
    extract_ok(&fixture("admin/spanned/spanned.msi"), &out);
    assert_tree(
        &out,
        &[
            ("Spanned/small.txt", 3000, utc(2010, 1, 25, 6, 27, 0)),
            ("Spanned/big.bin", 20_000, utc(2010, 1, 25, 6, 28, 0)),
        ],
        "spanned.msi",
    );
    // big.bin runs from span1 through span2 into span3, across a split data block;
    // cabextract 1.9 gives md5 f902b881... for it, this sha256 for the same bytes.
    let l = listing(&out);
    let big = l.iter().find(|e| e.0 == "Spanned/big.bin").unwrap();
    assert_eq!(big.3, "9ddf8c3c342a6f759bbb60d573aa0d109a9ed5f6163965c68cfa5e942929d631");
}

fn spanned_set_fixture_is_valid_for_cabextract() {
    let o =
        std::process::Command::new("cabextract").arg("-t").arg(fixture("admin/spanned/span1.cab")).output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && s.contains("span_big  OK") && s.contains("f902b88199b26abd2be90a6c058df372"), "{s}");
}

fn uncompressed_source_tree_short_names_and_compressed_file_attribute() {
    let t = tempdir();
    let out = t.path().join("img");
    let pkg = fixture("admin/loose/loose.msi");
    extract_ok(&pkg, &out);
    let l = listing(&out);
    let names: Vec<&str> = l.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "Program Files/Loose App/Read Me First.txt",
            "Program Files/Loose App/packed data.dat",
            "Program Files/Loose App/settings.ini",
            "loose.msi"
        ]
    );
    // Loose files come from the short-name source tree (Word Count 1) byte for byte.
    assert_eq!(
        std::fs::read(out.join("Program Files/Loose App/Read Me First.txt")).unwrap(),
        std::fs::read(fixture("admin/loose/PFILES/LOOSEAPP/README.TXT")).unwrap()
    );
    // The file flagged msidbFileAttributesCompressed comes from the cabinet, with its time.
    let cab = cab_crate_files(&msi_crate_stream(&pkg, "packed.cab"));
    assert_eq!(std::fs::read(out.join("Program Files/Loose App/packed data.dat")).unwrap(), cab["loose_packed"]);
    let packed = l.iter().find(|e| e.0.ends_with("packed data.dat")).unwrap();
    assert_eq!(packed.2, utc(2009, 12, 10, 3, 40, 0));
}

fn missing_loose_source_file_is_an_error_naming_it() {
    let t = tempdir();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("PFILES/LOOSEAPP")).unwrap();
    std::fs::copy(fixture("admin/loose/loose.msi"), src.join("loose.msi")).unwrap();
    std::fs::copy(fixture("admin/loose/PFILES/LOOSEAPP/README.TXT"), src.join("PFILES/LOOSEAPP/readme.txt")).unwrap();
    let out = t.path().join("img");
    let o = run_os(&["extract".as_ref(), src.join("loose.msi").as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(
            "File loose_cfg is uncompressed but its source \"PFILES/LOOSEAPP/SETTINGS.INI\" is not beside the package"
        ),
        "{e}"
    );
    // The other files are still written; the lower-case readme.txt is found case-insensitively.
    assert!(out.join("Program Files/Loose App/Read Me First.txt").is_file());
    assert!(out.join("Program Files/Loose App/packed data.dat").is_file());
}

fn dry_run_json_prints_the_plan_and_writes_nothing() {
    let t = tempdir();
    let out = t.path().join("img");
    let o = run_os(&[
        "--json".as_ref(),
        "extract".as_ref(),
        fixture("admin/tree/tree.msi").as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
        "--dry-run".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.exists());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["kind"], "MSI");
    assert_eq!(v["admin_package"], "tree.msi");
    assert_eq!(v["dropped_streams"][0], "tree.cab");
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e.len(), 8);
    let tool = e.iter().find(|x| x["key"] == "f_tool").unwrap();
    assert_eq!(tool["path"], "PFiles/Hotfix App/Source Binaries/Tool.exe");
    assert_eq!(tool["source"]["type"], "cabinet");
    assert_eq!(tool["source"]["cabinet"], "tree.cab");
    assert_eq!(tool["source"]["compression"], "MSZIP");
    assert_eq!(tool["mtime"], "2010-01-25T06:27:58Z");
}

fn selected_files_only() {
    let t = tempdir();
    let out = t.path().join("img");
    let o = run_os(&[
        "extract".as_ref(),
        fixture("admin/tree/tree.msi").as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
        "--files".as_ref(),
        "TOOL.exe".as_ref(),
        "--files".as_ref(),
        "f_root".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = listing(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["PFiles/Hotfix App/Source Binaries/Tool.exe", "root.txt"]);
    let o = run_os(&[
        "extract".as_ref(),
        fixture("admin/tree/tree.msi").as_os_str(),
        "--targetdir".as_ref(),
        t.path().join("x").as_os_str(),
        "--files".as_ref(),
        "nope.dll".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no file named \"nope.dll\""), "{}", stderr(&o));
}

fn nonempty_target_refused_without_force() {
    let t = tempdir();
    let out = t.path().join("img");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"x").unwrap();
    let o = run_os(&[
        "extract".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("target directory is not empty (use --force"), "{}", stderr(&o));
    assert!(!out.join("Data Files").exists());
    let o = run_os(&[
        "extract".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
        "--force".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("Data Files/alpha.dat").is_file());
    assert!(out.join("keep.txt").is_file());
}

fn msiexec_command_line_gives_the_same_image() {
    let t = tempdir();
    let a = t.path().join("a");
    let b = t.path().join("b");
    let pkg = fixture("admin/tree/tree.msi");
    extract_ok(&pkg, &a);
    let target = format!("targetdir={}", b.display());
    let o = run_os(&["msiexec".as_ref(), "/A".as_ref(), pkg.as_os_str(), "/qb".as_ref(), target.as_ref()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let la = listing(&a);
    let lb = listing(&b);
    assert_eq!(
        la.iter().map(|e| (&e.0, e.1, e.2, &e.3)).collect::<Vec<_>>(),
        lb.iter().map(|e| (&e.0, e.1, e.2, &e.3)).collect::<Vec<_>>()
    );
}

/// A file of the package named like the package itself keeps the name; the
/// administrative copy is the one refused (the copy is written beside the files, so
/// this order must hold whichever finishes first).
fn a_file_named_like_the_package_wins_over_the_admin_copy() {
    let t = tempdir();
    let src = t.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("same.msi"), b"payload\n").unwrap();
    std::fs::write(src.join("a.txt"), b"a\n").unwrap();
    let pkg = t.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let msi = pkg.join("same.msi");
    let o = run_os(&[
        "build".as_ref(),
        "msi".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        msi.as_os_str(),
        "--install-dir".as_ref(),
        "TARGETDIR".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = t.path().join("out");
    let o = run_os(&["extract".as_ref(), msi.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("administrative package copy: \"same.msi\" collides with \"same.msi\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(out.join("same.msi")).unwrap(), b"payload\n");
    assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"a\n");
}

crate::cases![
    directory_rules_long_names_dot_roots_missing_parent_cycle,
    admin_copy_is_marked_uncompressed_admin_image_without_cabinet_streams needs [Need::Tool("msiinfo")],
    external_cabinet_beside_package_found_case_insensitively,
    external_cabinet_is_never_looked_up_outside_the_package_folder,
    cabinet_set_spanning_three_media_rows,
    spanned_set_fixture_is_valid_for_cabextract needs [Need::Tool("cabextract")],
    uncompressed_source_tree_short_names_and_compressed_file_attribute,
    missing_loose_source_file_is_an_error_naming_it,
    dry_run_json_prints_the_plan_and_writes_nothing,
    selected_files_only,
    nonempty_target_refused_without_force,
    msiexec_command_line_gives_the_same_image,
    a_file_named_like_the_package_wins_over_the_admin_copy,
];
