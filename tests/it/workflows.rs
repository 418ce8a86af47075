//! What admins and CI meet (issue #13): verification that survives a copy, one CLI
//! grammar, `--json` everywhere (checked against docs/schemas), `-q`, the msiexec form.

use crate::util::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn sp2() -> PathBuf {
    fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi")
}

fn kb_manifest() -> PathBuf {
    root().join("manifests/kb977203-sp2.yaml")
}

fn extract_to(pkg: &Path, out: &Path) {
    let o = run_os(&["extract".as_ref(), pkg.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn verify(path: &Path, manifest: &Path, extra: &[&str]) -> std::process::Output {
    let mut a: Vec<&OsStr> = vec!["verify".as_ref(), path.as_os_str(), "--manifest".as_ref(), manifest.as_os_str()];
    a.extend(extra.iter().map(OsStr::new));
    run_os(&a)
}

/// Copy a tree with new modification times (what `cp -r`, a checkout or a download does).
fn copy_tree_fresh_times(from: &Path, to: &Path) {
    for (rel, _, _, _) in listing(from) {
        let dst = to.join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), &dst).unwrap();
        filetime::set_file_mtime(&dst, filetime::FileTime::from_unix_time(1_700_000_000, 0)).unwrap();
    }
}

/// Byte-identical copies verify: against the KB manifest, against a lock of an earlier
/// extraction, and `--strict` on a fresh extraction; `--check-times` names the time.
fn copies_verify_and_times_are_notes_unless_asked() {
    let t = tempdir();
    let img = t.path().join("img");
    extract_to(&sp2(), &img);
    let copy = t.path().join("copy");
    copy_tree_fresh_times(&img, &copy);
    let o = verify(&copy, &kb_manifest(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("note: time differs"), "{}", stdout(&o));
    let o = verify(&copy, &kb_manifest(), &["--check-times"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("time: expected 2010-01-25"), "{}", stdout(&o));
    // --strict on a fresh extraction: the package copy is not an extra file.
    let o = verify(&img, &kb_manifest(), &["--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A lock of one extraction verifies a later one, and its copy.
    let lock = t.path().join("img.lock.yaml");
    let o = run_os(&["manifest".as_ref(), "lock".as_ref(), img.as_os_str(), "-o".as_ref(), lock.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = t.path().join("again");
    extract_to(&sp2(), &again);
    for tree in [&again, &copy] {
        let o = verify(tree, &lock, &["--strict"]);
        assert_eq!(o.status.code(), Some(0), "{}: {}", tree.display(), stdout(&o));
    }
    // tar without times.
    if has_tool("tar") {
        let tarball = t.path().join("img.tar");
        let ok = std::process::Command::new("tar")
            .arg("-cf")
            .arg(&tarball)
            .arg("-C")
            .arg(&img)
            .arg(".")
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let untarred = t.path().join("untarred");
        std::fs::create_dir(&untarred).unwrap();
        let ok = std::process::Command::new("tar")
            .arg("-xmf")
            .arg(&tarball)
            .arg("-C")
            .arg(&untarred)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let o = verify(&untarred, &kb_manifest(), &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
}

/// The staging zip keeps each file's time: unzipped, it verifies against the staged
/// manifest inside it, even with --check-times.
fn staging_zip_round_trip_verifies() {
    let t = tempdir();
    let out = t.path().join("dp");
    let zip = t.path().join("dp.zip");
    let layout = root().join("manifests/layouts/configmgr2007.yaml");
    let o = run_os(&[
        "stage".as_ref(),
        sp2().as_os_str(),
        "--layout".as_ref(),
        layout.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--zip".as_ref(),
        zip.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let unz = t.path().join("unzipped");
    let mut a = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    a.extract(&unz).unwrap();
    // The zip crate sets the extended timestamp's time (or the DOS time) on each file.
    for i in 0..a.len() {
        let f = a.by_index(i).unwrap();
        let mtime = f.last_modified().unwrap();
        let p = unz.join(f.name().unwrap().to_string());
        let secs = utc(
            i64::from(mtime.year()),
            i64::from(mtime.month()),
            i64::from(mtime.day()),
            i64::from(mtime.hour()),
            i64::from(mtime.minute()),
            i64::from(mtime.second()),
        );
        filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(secs, 0)).unwrap();
    }
    let staged = unz.join("kb977203-sp2.staged.yaml");
    let o = verify(&unz, &staged, &["--check-times"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // The extended timestamp field is there (0x5455), so unzip tools restore the second.
    let bytes = std::fs::read(&zip).unwrap();
    assert!(bytes.windows(2).any(|w| w == [0x55, 0x54]), "no extended timestamp field");
    // Staging again into the same folder needs --force; the zip may not be an input.
    let o = run_os(&[
        "stage".as_ref(),
        sp2().as_os_str(),
        "--layout".as_ref(),
        layout.as_os_str(),
        "-o".as_ref(),
        t.path().join("dp2").as_os_str(),
        "--zip".as_ref(),
        layout.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
}

/// One grammar: `-o` everywhere, `--force` to replace any output, `--json` and
/// `--format` agree or are refused, one package per command, lists repeat.
fn one_grammar() {
    let t = tempdir();
    let out = t.path().join("o");
    // Two packages: a usage error, not a joined path.
    let o = run_os(&["extract".as_ref(), sp2().as_os_str(), sp2().as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unexpected argument"), "{}", stderr(&o));
    // --files does not swallow the package.
    let o = run_os(&[
        "extract".as_ref(),
        "--files".as_ref(),
        "Ccmcertfix.exe,Smpmgr.dll".as_ref(),
        sp2().as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(listing(&out).len(), 2);
    // Every writing command refuses an existing output without --force.
    let cab = t.path().join("x.cab");
    let src = fixture("admin/tree");
    for round in 0..2 {
        let o = run_os(&["build".as_ref(), "cab".as_ref(), src.as_os_str(), "-o".as_ref(), cab.as_os_str()]);
        if round == 0 {
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        } else {
            assert_eq!(o.status.code(), Some(2));
            assert!(stderr(&o).contains("already exists (use --force to replace)"), "{}", stderr(&o));
        }
    }
    let o = run_os(&[
        "build".as_ref(),
        "cab".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        cab.as_os_str(),
        "--force".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lock = t.path().join("l.yaml");
    for (i, want) in [(0, 0), (1, 2)] {
        let _ = i;
        let o = run_os(&["manifest".as_ref(), "lock".as_ref(), out.as_os_str(), "-o".as_ref(), lock.as_os_str()]);
        assert_eq!(o.status.code(), Some(want), "{}", stderr(&o));
    }
    // --json conflicts with another --format.
    let o = run_os(&[
        "--json".as_ref(),
        "verify".as_ref(),
        out.as_os_str(),
        "--manifest".as_ref(),
        kb_manifest().as_os_str(),
        "--format".as_ref(),
        "junit".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
    assert!(v["text"].as_str().unwrap().contains("--json and --format junit"), "{v}");
}

/// `-q` leaves errors and the one-line verdict; `verify --failures-only`.
fn quiet_means_the_verdict_only() {
    let t = tempdir();
    let img = t.path().join("img");
    let o = run_os(&["-q".as_ref(), "extract".as_ref(), sp2().as_os_str(), "-o".as_ref(), img.as_os_str()]);
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("extracted 13 of 13 files"), "{}", stdout(&o));
    let o =
        run_os(&["-q".as_ref(), "verify".as_ref(), img.as_os_str(), "--manifest".as_ref(), kb_manifest().as_os_str()]);
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    let fix = t.path().join("fix");
    let o = run_os(&["-q".as_ref(), "ccmcertfix".as_ref(), sp2().as_os_str(), "-o".as_ref(), fix.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    let layout = root().join("manifests/layouts/configmgr2007.yaml");
    let o = run_os(&[
        "-q".as_ref(),
        "stage".as_ref(),
        img.as_os_str(),
        "--layout".as_ref(),
        layout.as_os_str(),
        "-o".as_ref(),
        t.path().join("dp").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    // Failures only: one changed file, one line for it plus the header and the summary.
    std::fs::write(img.join("KB977203/bin/i386/Smpmgr.dll"), b"changed").unwrap();
    let o = verify(&img, &kb_manifest(), &["--failures-only"]);
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert_eq!(s.lines().filter(|l| l.starts_with("MISMATCH")).count(), 1, "{s}");
    assert!(!s.lines().any(|l| l.starts_with("ok ")), "{s}");
    assert!(s.lines().last().unwrap().contains("1 mismatched"), "{s}");
}

/// The msiexec form: a log, harmless properties, SHORTFILENAMES, a Windows TARGETDIR
/// refused, and a global flag after its arguments.
fn msiexec_form_takes_what_scripts_carry() {
    let t = tempdir();
    let img = t.path().join("img");
    let log = t.path().join("install.log");
    let target = format!("TARGETDIR={}", img.display());
    let o = run_os(&[
        "msiexec".as_ref(),
        "/a".as_ref(),
        sp2().as_os_str(),
        "/qn".as_ref(),
        "/l*v".as_ref(),
        log.as_os_str(),
        "REBOOT=ReallySuppress".as_ref(),
        target.as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["summary"]["written"], 13);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("extracted 13 of 13 files") && text.contains("file: KB977203/bin/i386/Ccmcertfix.exe"),
        "{text}"
    );
    assert!(text.contains("REBOOT=ReallySuppress: accepted"), "{text}");
    let o = run(&["msiexec", "/a", "x.msi", "TARGETDIR=C:\\kb977203"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("names a Windows path"), "{}", stderr(&o));
    let o = run(&["msiexec", "/a", "x.msi", "/x", "TARGETDIR=/tmp/y"]);
    assert!(stderr(&o).contains("switch /x is not supported"), "{}", stderr(&o));
    // SHORTFILENAMES: the image's folders and files take their short names, and the
    // package copy says so (Word Count bit 0).
    let short = t.path().join("short");
    let target = format!("TARGETDIR={}", short.display());
    let o = run_os(&[
        "msiexec".as_ref(),
        "/a".as_ref(),
        fixture("admin/tree/tree.msi").as_os_str(),
        "SHORTFILENAMES=1".as_ref(),
        target.as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<String> = listing(&short).into_iter().map(|e| e.0).collect();
    assert!(names.contains(&"PFiles/HOTFIX/SRCBIN/TOOL.EXE".to_string()), "{names:?}");
    let p = msi::open(short.join("tree.msi")).unwrap();
    assert_eq!(p.summary_info().word_count().map(|w| w & 1), Some(1));
}

/// Every command's `--json` output, and an error's, validates against its schema in
/// docs/schemas.
fn json_everywhere_matches_its_schema() {
    let t = tempdir();
    let d = t.path();
    let img = d.join("img");
    let check = |schema: &str, args: &[&OsStr], code: i32| {
        let mut a: Vec<&OsStr> = vec!["--json".as_ref()];
        a.extend_from_slice(args);
        let o = run_os(&a);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let v: serde_json::Value =
            serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&o)));
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join("docs/schemas").join(schema)).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&s).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{args:?} against {schema}: {errors:?}");
    };
    let p = |x: &Path| x.as_os_str().to_owned();
    let sp2 = p(&sp2());
    let m = p(&kb_manifest());
    check("info.schema.json", &["info".as_ref(), &sp2], 0);
    check("tables.schema.json", &["tables".as_ref(), &sp2, "File".as_ref()], 0);
    check("extract.schema.json", &["extract".as_ref(), &sp2, "-o".as_ref(), img.as_os_str(), "--dry-run".as_ref()], 0);
    check("extract.schema.json", &["extract".as_ref(), &sp2, "-o".as_ref(), img.as_os_str()], 0);
    check(
        "verify.schema.json",
        &["verify".as_ref(), img.as_os_str(), "--manifest".as_ref(), &m, "--signatures".as_ref()],
        0,
    );
    let lock = d.join("l.json");
    check(
        "written.schema.json",
        &["manifest".as_ref(), "lock".as_ref(), img.as_os_str(), "-o".as_ref(), lock.as_os_str()],
        0,
    );
    check("streams.schema.json", &["streams".as_ref(), &sp2], 0);
    check("streams-written.schema.json", &["streams".as_ref(), &sp2, "-o".as_ref(), d.join("s").as_os_str()], 0);
    check("ccmcertfix.schema.json", &["ccmcertfix".as_ref(), &sp2, "-o".as_ref(), d.join("c").as_os_str()], 0);
    let layout = root().join("manifests/layouts/configmgr2007.yaml");
    check(
        "stage.schema.json",
        &["stage".as_ref(), &sp2, "--layout".as_ref(), layout.as_os_str(), "-o".as_ref(), d.join("dp").as_os_str()],
        0,
    );
    let cab = d.join("b.cab");
    check(
        "written.schema.json",
        &["build".as_ref(), "cab".as_ref(), fixture("admin/tree").as_os_str(), "-o".as_ref(), cab.as_os_str()],
        0,
    );
    check("signature.schema.json", &["signature".as_ref(), &sp2], 1);
    let sp1 = fixture("kb977203/sp1/SCCM2007-SP1-KB977203-ENU.msi");
    check("diff.schema.json", &["diff".as_ref(), sp1.as_os_str(), &sp2], 1);
    let built = d.join("built.msi");
    check(
        "build-msi.schema.json",
        &["build".as_ref(), "msi".as_ref(), fixture("admin/tree").as_os_str(), "-o".as_ref(), built.as_os_str()],
        0,
    );
    let mst = d.join("t.mst");
    check(
        "build-mst.schema.json",
        &["build".as_ref(), "mst".as_ref(), sp1.as_os_str(), &sp2, "-o".as_ref(), mst.as_os_str()],
        0,
    );
    let old = fixture("kb977203/sp1/SCCM2007-SP1-KB977203-ENU.msi");
    let patch = d.join("p.pa19");
    check(
        "delta-create.schema.json",
        &[
            "delta".as_ref(),
            "create".as_ref(),
            "--old".as_ref(),
            old.as_os_str(),
            "--new".as_ref(),
            &sp2,
            "-o".as_ref(),
            patch.as_os_str(),
        ],
        0,
    );
    check("delta-info.schema.json", &["delta".as_ref(), "info".as_ref(), patch.as_os_str()], 0);
    check(
        "written.schema.json",
        &[
            "delta".as_ref(),
            "apply".as_ref(),
            "--old".as_ref(),
            old.as_os_str(),
            "--patch".as_ref(),
            patch.as_os_str(),
            "-o".as_ref(),
            d.join("n.msi").as_os_str(),
        ],
        0,
    );
    let kb = d.join("kb977203.txt");
    std::fs::write(&kb, "P SP1 file information\nFile name\nFile version\nFile size\nDate\nTime\nPlatform\nA.dll\n4.0.1.2\n12\n01-Dec-2008\n01:40\nx86\n").unwrap();
    check("import-kb.schema.json", &["manifest".as_ref(), "import-kb".as_ref(), kb.as_os_str()], 0);
    check(
        "written.schema.json",
        &[
            "manifest".as_ref(),
            "import-kb".as_ref(),
            kb.as_os_str(),
            "--split".as_ref(),
            "-o".as_ref(),
            d.join("split").as_os_str(),
        ],
        0,
    );
    // One failing case of each kind: the error object.
    let missing = d.join("missing.msi");
    for args in [
        vec!["info".as_ref(), missing.as_os_str()],
        vec!["extract".as_ref(), missing.as_os_str(), "-o".as_ref(), img.as_os_str()],
        vec!["verify".as_ref(), missing.as_os_str(), "--manifest".as_ref(), &m],
        vec!["tables".as_ref(), &sp2, "Nope".as_ref()],
        vec!["build".as_ref(), "cab".as_ref(), missing.as_os_str(), "-o".as_ref(), cab.as_os_str()],
        vec!["delta".as_ref(), "info".as_ref(), missing.as_os_str()],
        vec!["signature".as_ref(), missing.as_os_str()],
        vec!["streams".as_ref(), missing.as_os_str()],
        vec!["manifest".as_ref(), "lock".as_ref(), missing.as_os_str(), "-o".as_ref(), lock.as_os_str()],
        vec!["msiexec".as_ref(), "/a".as_ref(), missing.as_os_str()],
        vec!["extract".as_ref()],
    ] {
        check("error.schema.json", &args, 2);
    }
}

crate::cases![
    copies_verify_and_times_are_notes_unless_asked,
    staging_zip_round_trip_verifies,
    one_grammar,
    quiet_means_the_verdict_only,
    msiexec_form_takes_what_scripts_carry,
    json_everywhere_matches_its_schema,
];
