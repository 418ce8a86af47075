//! Command-line conventions: msiexec command lines, exit codes, info and tables output.

use crate::util::*;

fn msiexec_other_switches_are_clear_errors() {
    for (args, want) in [
        (vec!["msiexec", "/i", "x.msi"], "switch /i is not supported"),
        (vec!["msiexec", "/a", "x.msi"], "TARGETDIR=DIR is required"),
        (vec!["msiexec", "/qb", "TARGETDIR=x"], "give /a"),
        (vec!["msiexec", "/a", "x.msi", "FOO=1", "TARGETDIR=x"], "property FOO is not supported"),
        (vec!["msiexec", "/a"], "/a needs a package"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

fn msiexec_help_switches_print_help() {
    for h in ["/?", "--help", "-h", "/H"] {
        let o = run(&["msiexec", h]);
        assert_eq!(o.status.code(), Some(0), "{h}: {}", stderr(&o));
        assert!(stdout(&o).contains("msiexec /a PKG"), "{h}: {}", stdout(&o));
    }
}

fn msiexec_switches_and_properties_are_case_insensitive() {
    let t = tempdir();
    let pkg = fixture("admin/external/external.msi");
    let target = format!("TargetDir=\"{}\"", t.path().join("o").display());
    let o = run_os(&["msiexec".as_ref(), "-a".as_ref(), pkg.as_os_str(), "/QN".as_ref(), target.as_ref()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("o/Data Files/alpha.dat").is_file());
}

fn missing_file_and_wrong_kind_exit_2_with_one_line() {
    let o = run(&["info", "/nonexistent/x.msi"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/x.msi"));
    let t = tempdir();
    let f = t.path().join("plain.txt");
    std::fs::write(&f, b"hello").unwrap();
    let o = run_os(&["extract".as_ref(), f.as_os_str(), "--targetdir".as_ref(), t.path().join("o").as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a cabinet or Windows Installer package"), "{}", stderr(&o));
    let o = run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

fn info_json_describes_package_media_and_cabinets() {
    let o = run_os(&["info".as_ref(), fixture("admin/tree/tree.msi").as_os_str(), "--json".as_ref()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let p = &v["package"];
    assert_eq!(p["kind"], "MSI");
    assert_eq!(p["clsid"], "000c1084-0000-0000-c000-000000000046");
    let sum = p["summary"].as_array().unwrap();
    let get = |name: &str| sum.iter().find(|x| x["name"] == name).map(|x| x["value"].clone()).unwrap();
    assert_eq!(get("Template"), "Intel;1033");
    assert_eq!(get("Revision Number"), "{6E1B2A3C-0001-4000-8000-000000000001}");
    assert_eq!(get("Word Count"), 2);
    let tables = p["tables"].as_array().unwrap();
    let file = tables.iter().find(|t| t["name"] == "File").unwrap();
    assert_eq!(file["rows"], 8);
    assert_eq!(p["media"][0]["cabinet"], "#tree.cab");
    assert_eq!(p["media"][0]["cab"]["file_count"], 8);
    assert_eq!(p["media"][0]["cab"]["folders"][0]["compression"], "MSZIP");
    assert_eq!(p["streams"][0]["name"], "tree.cab");
}

fn info_on_a_cabinet() {
    let o = run_os(&["info".as_ref(), fixture("cab/two-folders.cab").as_os_str()]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("cabinet: 2 folders (MSZIP, MSZIP), 3 files"), "{s}");
}

fn tables_json_shape() {
    let o = run_os(&[
        "tables".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "Media".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Always a list, even of one table.
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "table": "Media",
            "columns": ["DiskId", "LastSequence", "DiskPrompt", "Cabinet", "VolumeLabel", "Source"],
            "rows": [{"DiskId": 1, "LastSequence": 2, "DiskPrompt": null, "Cabinet": "DATA1.CAB", "VolumeLabel": null, "Source": null}]
        }])
    );
    // --json is --format json; --json with another format is a usage error.
    let j = run_os(&[
        "--json".as_ref(),
        "tables".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "Media".as_ref(),
    ]);
    assert_eq!(stdout(&j), stdout(&o));
    let bad = run_os(&[
        "--json".as_ref(),
        "tables".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--json and --format csv"), "{}", stderr(&bad));
    let o = run_os(&["tables".as_ref(), fixture("admin/external/external.msi").as_os_str(), "Nope".as_ref()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no table named \"Nope\""));
}

fn tables_csv_and_idt() {
    let o = run_os(&[
        "tables".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "File".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "File,Component_,FileName,FileSize,Version,Language,Attributes,Sequence\r\next_a,C_A,ALPHA.DAT|alpha.dat,1234,,,0,1\r\next_b,C_A,BETA.DAT|beta.dat,4321,,,0,2\r\n"
    );
    let o = run_os(&[
        "tables".as_ref(),
        fixture("admin/external/external.msi").as_os_str(),
        "Media".as_ref(),
        "--format".as_ref(),
        "idt".as_ref(),
    ]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "DiskId\tLastSequence\tDiskPrompt\tCabinet\tVolumeLabel\tSource\r\ni2\ti4\tL64\tS255\tS32\tS72\r\nMedia\tDiskId\r\n1\t2\t\tDATA1.CAB\t\t\r\n");
}

fn idt_round_trips_through_msibuild() {
    let t = tempdir();
    let dir = t.path().join("idt");
    let pkg = fixture("admin/tree/tree.msi");
    let o = run_os(&[
        "tables".as_ref(),
        pkg.as_os_str(),
        "--format".as_ref(),
        "idt".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let new = t.path().join("new.msi");
    let mut cmd = std::process::Command::new("msibuild");
    cmd.arg(&new);
    for name in ["Directory", "Component", "File", "Media", "Property", "Feature", "FeatureComponents"] {
        cmd.arg("-i").arg(dir.join(format!("{name}.idt")));
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "msibuild: {}", String::from_utf8_lossy(&o.stderr));
    for name in ["Directory", "File", "Media"] {
        let a = run_os(&["tables".as_ref(), pkg.as_os_str(), name.as_ref(), "--format".as_ref(), "json".as_ref()]);
        let b = run_os(&["tables".as_ref(), new.as_os_str(), name.as_ref(), "--format".as_ref(), "json".as_ref()]);
        assert!(b.status.success(), "{}", stderr(&b));
        let mut va: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
        let mut vb: serde_json::Value = serde_json::from_str(&stdout(&b)).unwrap();
        // Row order may differ after a rebuild; compare as sorted sets.
        for v in [&mut va, &mut vb] {
            let rows = v[0]["rows"].as_array_mut().unwrap();
            rows.sort_by_key(|r| r.to_string());
        }
        assert_eq!(va, vb, "table {name}");
    }
}

fn regression_string_pool_larger_than_its_data_is_refused_before_allocation() {
    // Found by the msi_open fuzz target: the msi crate sized a 4 GiB buffer from the pool.
    let p = root().join("fuzz/regressions/msi_open/oom-string-pool-4gib.msi");
    let o = run_os(&["info".as_ref(), p.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("oom-string-pool-4gib.msi") && e.contains("string pool declares"), "{e}");
}

/// `streams`: the listing (text and JSON), writing with --json, and clear errors.
fn streams_lists_writes_and_refuses_bad_input() {
    let msi = fixture("admin/tree/tree.msi");
    let o = run_os(&["streams".as_ref(), msi.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "         416  %05SummaryInformation\n       20702  tree.cab\n");
    let o = run_os(&["--json".as_ref(), "streams".as_ref(), msi.as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let v = &v["streams"];
    assert_eq!(v[0]["name"], "\u{5}SummaryInformation");
    assert_eq!(v[0]["file_name"], "%05SummaryInformation");
    assert_eq!(v[1]["name"], "tree.cab");
    assert_eq!(v[1]["size"], 20702);
    let t = tempdir();
    let out = t.path().join("s");
    let o = run_os(&["--json".as_ref(), "streams".as_ref(), msi.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["files"][1]["path"], "tree.cab");
    assert_eq!(v["files"][1]["sha256"], sha256(&std::fs::read(out.join("tree.cab")).unwrap()));
    assert_eq!(std::fs::metadata(out.join("%05SummaryInformation")).unwrap().len(), 416);
    // Again into the same folder: refused without --force, one line.
    let o = run_os(&["streams".as_ref(), msi.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("target directory is not empty (use --force"), "{}", stderr(&o));
    for (input, want) in [
        (fixture("hostile/checksum-42.cab"), "not a valid compound file"),
        (t.path().join("missing.msi"), "No such file"),
    ] {
        let o = run_os(&["streams".as_ref(), input.as_os_str()]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want) && err.contains(&*input.to_string_lossy()), "{err}");
    }
}

/// `--no-fsync` writes the same files as the default run.
fn no_fsync_writes_the_same_tree() {
    let msi = fixture("admin/tree/tree.msi");
    let t = tempdir();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let o = run_os(&["extract".as_ref(), msi.as_os_str(), "--targetdir".as_ref(), a.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o =
        run_os(&["--no-fsync".as_ref(), "extract".as_ref(), msi.as_os_str(), "--targetdir".as_ref(), b.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let strip = |v: Vec<(String, u64, i64, String)>| -> Vec<(String, u64, String)> {
        v.into_iter().filter(|e| !e.0.ends_with(".msi")).map(|e| (e.0, e.1, e.3)).collect()
    };
    assert_eq!(strip(listing(&a)), strip(listing(&b)));
    assert!(listing(&b).len() >= 8);
}

crate::cases![
    msiexec_other_switches_are_clear_errors,
    msiexec_help_switches_print_help,
    msiexec_switches_and_properties_are_case_insensitive,
    missing_file_and_wrong_kind_exit_2_with_one_line,
    info_json_describes_package_media_and_cabinets,
    info_on_a_cabinet,
    tables_json_shape,
    tables_csv_and_idt,
    idt_round_trips_through_msibuild needs [Need::Tool("msibuild")],
    regression_string_pool_larger_than_its_data_is_refused_before_allocation,
    streams_lists_writes_and_refuses_bad_input,
    no_fsync_writes_the_same_tree,
];
