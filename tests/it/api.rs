//! The library as another Rust program uses it: only the public API, no binary.

use crate::util::{fixture, root, sha256, tempdir_in_memory};
use hotfixkit::manifest::{verify_path, Manifest, RowStatus, VerifyOptions};
use hotfixkit::{ExecuteOptions, ExtractRequest, Input, InputKind, Source};

fn sp2() -> std::path::PathBuf {
    fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi")
}

/// Open a package and list what it holds: its kind, tables and files.
fn open_a_package_and_list_its_files() {
    let input = hotfixkit::open(sp2()).unwrap();
    assert_eq!(input.kind(), InputKind::Msi);
    let Input::Msi(db) = &input else { panic!("not an MSI") };
    let files = db.table("File").expect("File table");
    assert_eq!(files.rows.len(), 13);
    let plan = hotfixkit::plan(&ExtractRequest::new(sp2())).unwrap();
    let paths: Vec<&str> = plan.entries().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths.len(), 13);
    assert!(paths.contains(&"KB977203/bin/i386/Ccmcertfix.exe"), "{paths:?}");
    assert!(plan.entries().iter().all(|e| matches!(e.source, Source::Cabinet { .. })));
    assert_eq!(plan.admin_package.as_deref(), Some("SCCM2007-SP2-KB977203-ENU.msi"));
    // The same package from bytes in memory plans the same files.
    let bytes = std::fs::read(sp2()).unwrap();
    let from_bytes = hotfixkit::plan(&ExtractRequest::from_bytes("in-memory.msi", bytes.clone())).unwrap();
    let again: Vec<&str> = from_bytes.entries().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(again, paths);
    assert_eq!(hotfixkit::open_bytes("in-memory.msi", bytes).unwrap().kind(), InputKind::Msi);
}

/// Read one entry into memory, without writing anything.
fn read_one_entry_into_memory() {
    let plan = hotfixkit::plan(&ExtractRequest::new(sp2()).files(["ccmcertfix.exe"])).unwrap();
    assert_eq!(plan.entries().len(), 1);
    assert_eq!(plan.admin_package, None, "a partial extraction has no administrative copy");
    let data = hotfixkit::read_entry(&plan, 0).unwrap();
    assert_eq!(data.len(), 17768);
    let info = hotfixkit::pe::pe_info(&data).unwrap();
    assert_eq!(info.version.and_then(|v| v.file_version).as_deref(), Some("4.0.6487.2111"));
    assert!(hotfixkit::read_entry(&plan, 1).is_err());
}

/// Plan and execute an extraction, then verify the tree against the KB manifest.
fn plan_execute_and_verify() {
    let t = tempdir_in_memory();
    let out = t.path().join("image");
    let plan = hotfixkit::plan(&ExtractRequest::new(sp2())).unwrap();
    let outcome = hotfixkit::execute(&plan, &out, &ExecuteOptions::default()).unwrap();
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!((outcome.files, outcome.planned), (13, 13));
    assert_eq!(outcome.written.len(), 13);
    let exe = outcome.written.iter().find(|w| w.written.path.ends_with("Ccmcertfix.exe")).unwrap();
    assert_eq!(exe.written.sha256, sha256(&std::fs::read(out.join(&exe.written.path)).unwrap()));
    assert!(out.join("SCCM2007-SP2-KB977203-ENU.msi").is_file(), "administrative copy");
    // A second run into the same, now non-empty, target is refused unless allowed.
    let e = hotfixkit::execute(&plan, &out, &ExecuteOptions::default()).unwrap_err();
    assert_eq!(e.kind(), hotfixkit::ErrorKind::Exists);
    let manifest = Manifest::load(&root().join("manifests/kb977203-sp2.yaml")).unwrap();
    let report = verify_path(&out, &manifest, &VerifyOptions::default()).unwrap();
    assert!(report.rows.iter().all(|r| r.status == RowStatus::Ok), "{:#?}", report.rows);
    assert_eq!(report.summary.ok, 13);
}

/// Regression: the text report of an extraction cloned every plan entry (22 MB of the
/// 88 MB peak on 100,066 files) though only JSON prints them; the brief report has the
/// counts and no entries.
fn reports_full_and_brief() {
    let t = tempdir_in_memory();
    let out = t.path().join("image");
    let plan = hotfixkit::plan(&ExtractRequest::new(sp2())).unwrap();
    let opts = ExecuteOptions { count_only: true, ..ExecuteOptions::default() };
    let outcome = hotfixkit::execute(&plan, &out, &opts).unwrap();
    let full = hotfixkit::ExtractReport::new(&plan, &out, Some(&outcome));
    let brief = hotfixkit::ExtractReport::brief(&plan, &out, Some(&outcome));
    assert_eq!(full.entries.len(), 13);
    assert!(brief.entries.is_empty());
    assert_eq!((brief.summary.planned, brief.summary.written), (13, 13));
    assert_eq!(brief.summary.bytes, full.summary.bytes);
    assert_eq!(brief.admin_package, full.admin_package);
}

/// Errors say what kind of failure it was and where.
fn errors_are_typed_and_name_the_file() {
    let e = hotfixkit::plan(&ExtractRequest::new(fixture("cab/stored.cab")).patch("x.msp")).unwrap_err();
    assert_eq!(e.kind(), hotfixkit::ErrorKind::Usage);
    assert!(e.path().is_some_and(|p| p.ends_with("stored.cab")), "{e}");
    let e = hotfixkit::open(fixture("nonexistent.msi")).err().expect("an error");
    assert_eq!(e.kind(), hotfixkit::ErrorKind::Io);
}

crate::cases![
    open_a_package_and_list_its_files,
    read_one_entry_into_memory,
    plan_execute_and_verify,
    reports_full_and_brief,
    errors_are_typed_and_name_the_file,
];
