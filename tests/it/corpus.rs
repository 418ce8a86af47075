//! The shared corpus of real packages: lessmsi's expected listings, cabextract's md5
//! listings, hostile cabinets, a truncated package. Skipped (with a note) when ../shared
//! is absent, as in a user's fresh clone.

use crate::util::*;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn md5hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn lessmsi_dir(shared: &Path) -> PathBuf {
    shared.join("corpus/lessmsi/src/Lessmsi.Tests/TestFiles")
}

/// Parse an expected CSV: (path, size, last write time as written).
fn expected_csv(p: &Path) -> Vec<(String, u64, String)> {
    let text = std::fs::read_to_string(p).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        if line.is_empty() {
            continue;
        }
        // Paths have no commas in these files; the fields after them are plain.
        let f: Vec<&str> = line.rsplitn(5, ',').collect();
        let (path, size, write) = (f[4], f[3], f[1]);
        out.push((path.to_string(), size.parse().unwrap(), write[..19].to_string()));
    }
    out
}

fn iso(secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// One lessmsi case: the multiset of (key, size, mtime) must match exactly, where key is
/// the lower-cased path under SourceDir, or the lower-cased file name for names-only cases.
fn lessmsi_case(msi: &str, expected: &str, names_only: bool) {
    let shared = shared();
    let dir = lessmsi_dir(&shared);
    let t = tempdir();
    let out = t.path().join("o");
    let o = run_os(&[
        "extract".as_ref(),
        dir.join("MsiInput").join(msi).as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{msi}: {}", stderr(&o));
    let norm = |p: &str| -> String {
        let p = p.replace('\\', "/");
        let p = p.trim_start_matches('/');
        let p = p.strip_prefix("SourceDir/").unwrap_or(p);
        let p = match p.rfind(".duplicate") {
            Some(i) if p[i + 10..].chars().all(|c| c.is_ascii_digit()) => &p[..i],
            _ => p,
        };
        let p = if names_only { p.rsplit('/').next().unwrap_or(p) } else { p };
        p.to_lowercase()
    };
    let mut want: BTreeMap<(String, u64, String), usize> = BTreeMap::new();
    for (p, s, w) in expected_csv(&dir.join("ExpectedOutput").join(expected)) {
        *want.entry((norm(&p), s, w)).or_default() += 1;
    }
    let mut got: BTreeMap<(String, u64, String), usize> = BTreeMap::new();
    for (p, s, m, _) in listing(&out) {
        if !p.contains('/') && p.to_lowercase().ends_with(".msi") {
            continue; // the administrative copy of the package
        }
        *got.entry((norm(&p), s, iso(m))).or_default() += 1;
    }
    assert_eq!(got, want, "{msi}: path/size/mtime multisets differ");
}

fn lessmsi_nunit() {
    lessmsi_case("NUnit-2.5.2.9222.msi", "NUnit-2.5.2.9222.msi.expected.csv", false);
}

fn lessmsi_path_with_spaces() {
    lessmsi_case("Path With Spaces/spaces example.msi", "Path With Spaces/spaces example.msi.expected.csv", false);
}

fn lessmsi_putty() {
    lessmsi_case("putty-0.68-installer.msi", "putty-0.68-installer.msi.expected.csv", false);
}

fn lessmsi_external_cab() {
    lessmsi_case("msi_with_external_cab.msi", "msi_with_external_cab.msi.expected.csv", false);
}

fn lessmsi_ivi_names() {
    lessmsi_case(
        "IviNetSharedComponents32_Fx20_1.3.0.msi",
        "IviNetSharedComponents32_Fx20_1.3.0.msi.expected.csv",
        true,
    );
}

fn lessmsi_vcredist_names_ten_lzx_merge_module_cabs_and_external_cab() {
    lessmsi_case("vcredist.msi", "vcredist.msi.expected.csv", true);
}

fn truncated_vbruntime_gives_nine_files_and_names_olepro32() {
    let shared = shared();
    let t = tempdir();
    let out = t.path().join("o");
    let msi = lessmsi_dir(&shared).join("MsiInput/VBRuntime.msi");
    let o = run_os(&["extract".as_ref(), msi.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    let errors: Vec<&str> = e.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{e}");
    assert!(errors[0].contains("OLEPRO32.DLL") && errors[0].contains("truncated"), "{e}");
    let l = listing(&out);
    let files: Vec<&str> = l.iter().map(|x| x.0.as_str()).filter(|p| !p.ends_with(".msi")).collect();
    assert_eq!(files.len(), 9, "{files:?}");
    // MSVBVM60.DLL spans Disk1.CAB and Disk2.CAB; its size and hash are those of the
    // intact file (its PE checksum verifies with pefile).
    let vm = l.iter().find(|x| x.0 == "MSVBVM60.DLL").unwrap();
    assert_eq!(vm.1, 1_388_544);
    assert_eq!(vm.3, "5d5a5c66ee708ae768937ded1f577499095d8ba286e834155dcec39c41c8fe2d");
}

/// Cabinets whose names our Windows-name policy refuses (traversal, `?`, `"`, control
/// characters, trailing dots): every file we do write must still match cabextract.
const REFUSED_NAMES: [&str; 3] = ["dirwalk-vulns.cab", "encoding-koi8.cab", "utf8-stresstest.cab"];

fn every_cabinet_cabextract_tests_clean_extracts_byte_identically() {
    let shared = shared();
    let listings = shared.join("corpus/_derived/cabextract-test");
    let mut checked = 0;
    for entry in std::fs::read_dir(&listings).unwrap() {
        let p = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let first = text.lines().next().unwrap_or("");
        let Some(rest) = first.strip_prefix("# cabextract -t ") else { continue };
        let Some((rel, tail)) = rest.split_once("  (exit ") else { continue };
        if !tail.starts_with("0)") {
            continue;
        }
        let mut want: BTreeMap<String, String> = BTreeMap::new();
        for l in text.lines().skip(2) {
            if let Some(x) = l.strip_prefix("  ") {
                if let Some((name, md5)) = x.rsplit_once("  OK") {
                    want.insert(name.to_string(), md5.trim().to_string());
                }
            }
        }
        let cab = shared.join("corpus").join(rel);
        let t = tempdir();
        let out = t.path().join("o");
        let o = run_os(&["extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), out.as_os_str()]);
        let got: BTreeMap<String, String> = listing(&out)
            .into_iter()
            .map(|(p, _, _, _)| (p.clone(), md5hex(&std::fs::read(out.join(&p)).unwrap())))
            .collect();
        let got_md5: Vec<&String> = got.values().collect();
        let refused = REFUSED_NAMES.iter().any(|r| rel.ends_with(r));
        if refused {
            assert_eq!(o.status.code(), Some(2), "{rel}");
            assert!(stderr(&o).contains("unsafe") || stderr(&o).contains("UTF-8"), "{rel}: {}", stderr(&o));
            for md5 in got.values() {
                assert!(want.values().any(|w| w == md5), "{rel}: wrote a file cabextract does not have");
            }
        } else {
            assert!(o.status.success(), "{rel}: {}", stderr(&o));
            for (name, md5) in &want {
                if name.contains('\u{fffd}') {
                    // The listing's name was mangled when it was made; match by content.
                    assert!(got_md5.contains(&md5), "{rel}: no file with md5 {md5}");
                } else {
                    assert_eq!(got.get(name), Some(md5), "{rel}: {name}");
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} listings checked");
}

fn collect(dir: &Path, pred: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, pred, out);
        } else if pred(&p.file_name().unwrap().to_string_lossy().to_lowercase()) {
            out.push(p);
        }
    }
}

fn hostile_and_broken_cabinets_error_or_extract_partially_never_panic_or_hang() {
    let shared = shared();
    let mut cabs = Vec::new();
    collect(
        &shared.join("corpus"),
        &|n: &str| {
            n.ends_with(".cab")
                && (n.starts_with("bad_")
                    || n.starts_with("partial_")
                    || n.starts_with("cve")
                    || n.contains("vuln")
                    || n.contains("oob")
                    || n.contains("traversal")
                    || n.contains("malformed")
                    || n.contains("invalid"))
        },
        &mut cabs,
    );
    collect(&shared.join("corpus/libmspack/cabextract/test/bugs"), &|n: &str| n.ends_with(".cab"), &mut cabs);
    assert!(cabs.len() > 30, "{}", cabs.len());
    for cab in cabs {
        let t = tempdir();
        let start = Instant::now();
        let o = run_os(&["extract".as_ref(), cab.as_os_str(), "--targetdir".as_ref(), t.path().join("o").as_os_str()]);
        let code = o.status.code();
        assert!(matches!(code, Some(0) | Some(2)), "{}: exit {code:?}: {}", cab.display(), stderr(&o));
        assert!(start.elapsed() < Duration::from_secs(10), "{} took {:?}", cab.display(), start.elapsed());
        assert!(!stderr(&o).contains("panicked"), "{}", cab.display());
    }
}

fn info_and_tables_on_every_corpus_package_exit_cleanly() {
    let shared = shared();
    let mut pkgs = Vec::new();
    collect(
        &shared.join("corpus"),
        &|n: &str| [".msi", ".msp", ".mst", ".msm"].iter().any(|x| n.ends_with(x)),
        &mut pkgs,
    );
    assert!(pkgs.len() > 50, "{}", pkgs.len());
    for p in pkgs {
        for args in [vec!["info", "--json"], vec!["tables", "--format", "json"]] {
            let mut a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
            a.insert(1, p.as_os_str());
            let o = run_os(&a);
            let code = o.status.code();
            assert!(matches!(code, Some(0) | Some(2)), "{} {args:?}: exit {code:?}", p.display());
            if code == Some(2) {
                let e = stderr(&o);
                assert_eq!(e.lines().count(), 1, "{}: {e}", p.display());
                assert!(e.contains(&*p.file_name().unwrap().to_string_lossy()), "error does not name the file: {e}");
            } else if args[0] == "info" {
                let _: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
            }
        }
    }
}

fn putty_idt_reimports_with_msibuild() {
    let shared = shared();
    let pkg = lessmsi_dir(&shared).join("MsiInput/putty-0.68-installer.msi");
    let t = tempdir();
    let dir = t.path().join("idt");
    let o = run_os(&[
        "tables".as_ref(),
        pkg.as_os_str(),
        "--format".as_ref(),
        "idt".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut idts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "idt"))
        .collect();
    idts.sort();
    assert!(idts.len() > 20);
    let new = t.path().join("new.msi");
    let mut cmd = std::process::Command::new("msibuild");
    cmd.arg(&new).current_dir(&dir);
    for i in &idts {
        cmd.arg("-i").arg(i.file_name().unwrap());
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "msibuild: {}", String::from_utf8_lossy(&o.stderr));
    for table in ["File", "Directory", "Component", "Media", "Binary"] {
        let a = run_os(&["tables".as_ref(), pkg.as_os_str(), table.as_ref(), "--format".as_ref(), "csv".as_ref()]);
        let b = run_os(&["tables".as_ref(), new.as_os_str(), table.as_ref(), "--format".as_ref(), "csv".as_ref()]);
        let mut la: Vec<String> = stdout(&a).lines().map(String::from).collect();
        let mut lb: Vec<String> = stdout(&b).lines().map(String::from).collect();
        la.sort();
        lb.sort();
        assert_eq!(la, lb, "table {table}");
    }
}

crate::cases![
    lessmsi_nunit needs [Need::Corpus],
    lessmsi_path_with_spaces needs [Need::Corpus],
    lessmsi_putty needs [Need::Corpus],
    lessmsi_external_cab needs [Need::Corpus],
    lessmsi_ivi_names needs [Need::Corpus],
    lessmsi_vcredist_names_ten_lzx_merge_module_cabs_and_external_cab needs [Need::Corpus],
    truncated_vbruntime_gives_nine_files_and_names_olepro32 needs [Need::Corpus],
    every_cabinet_cabextract_tests_clean_extracts_byte_identically needs [Need::Corpus],
    hostile_and_broken_cabinets_error_or_extract_partially_never_panic_or_hang needs [Need::Corpus],
    info_and_tables_on_every_corpus_package_exit_cleanly needs [Need::Corpus],
    putty_idt_reimports_with_msibuild needs [Need::Corpus, Need::Tool("msibuild")],
];
