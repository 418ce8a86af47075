//! Hostile inputs generated from ../shared/SECURITY-CASES.md (fixtures/hostile, made by
//! `cargo xtask fixtures`): each gives its expected error naming the entry, or extracts,
//! with nothing created or changed outside the target, no partial file under a final
//! name, and bounded time and memory.

use crate::util::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn files_under(dir: &Path) -> Vec<String> {
    listing(dir).into_iter().map(|e| e.0).collect()
}

#[test]
fn every_security_case_fixture_is_contained() {
    let list = std::fs::read_to_string(fixture("hostile/cases.tsv")).unwrap();
    let time_tool = std::path::Path::new("/usr/bin/time").exists();
    let mut n = 0;
    let (mut slowest, mut largest) = ((Duration::ZERO, String::new()), (0u64, String::new()));
    for line in list.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, case, expect) = (f[0], f[1], f[2]);
        let t = tempdir();
        let sentinel = t.path().join("sentinel.txt");
        std::fs::write(&sentinel, b"sentinel").unwrap();
        let target = t.path().join("target");
        let input = fixture(&format!("hostile/{file}"));
        // PE cases are read with `info`; everything else is extracted.
        let verb = if file.ends_with(".dll") { "info" } else { "extract" };
        let start = Instant::now();
        let o = if time_tool {
            let rss = t.path().join("rss");
            let o = std::process::Command::new("/usr/bin/time")
                .arg("-f")
                .arg("%M")
                .arg("-o")
                .arg(&rss)
                .arg(bin())
                .arg(verb)
                .arg(&input)
                .args(if verb == "extract" { vec!["--targetdir".as_ref(), target.as_os_str()] } else { vec![] })
                .output()
                .unwrap();
            let kb: u64 = std::fs::read_to_string(&rss).unwrap_or_default().trim().parse().unwrap_or(0);
            assert!(kb < 256 * 1024, "{file}: peak RSS {kb} KB");
            if kb > largest.0 {
                largest = (kb, file.to_string());
            }
            std::fs::remove_file(&rss).unwrap();
            o
        } else {
            let mut a: Vec<&std::ffi::OsStr> = vec![verb.as_ref(), input.as_os_str()];
            if verb == "extract" {
                a.push("--targetdir".as_ref());
                a.push(target.as_os_str());
            }
            run_os(&a)
        };
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{file} (case {case}) took {took:?}");
        if took > slowest.0 {
            slowest = (took, file.to_string());
        }
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{file}: {err}");
        if file == "pe-embedded-nul-d.dll" {
            assert!(stdout(&o).contains("CompanyName: Good\\0Evil"), "{}", stdout(&o));
        }
        if expect == "ok" {
            assert_eq!(o.status.code(), Some(0), "{file} (case {case}): {err}");
        } else {
            assert_eq!(o.status.code(), Some(2), "{file} (case {case}) should fail: {err}");
            assert!(err.contains(expect), "{file} (case {case}): expected {expect:?} in {err}");
        }
        // Contained: the temporary folder holds only the sentinel and the target.
        let mut top: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert!(top.iter().all(|n| n == "sentinel.txt" || n == "target"), "{file}: wrote outside the target: {top:?}");
        assert_eq!(std::fs::read(&sentinel).unwrap(), b"sentinel");
        if target.exists() {
            let written = files_under(&target);
            assert!(
                written.iter().all(|p| !p.contains(".hotfixkit-") && !p.ends_with(".part")),
                "{file}: partial file left: {written:?}"
            );
            if file.starts_with("name-") && expect != "ok" {
                // The harmless entry beside the hostile one still extracts, alone.
                assert_eq!(written, ["good.txt"], "{file}");
            }
            if file.starts_with("collide-") {
                assert_eq!(written.len(), 1, "{file}: {written:?}");
                assert_eq!(
                    std::fs::read(target.join(&written[0])).unwrap(),
                    b"one",
                    "{file}: the first entry must stand"
                );
            }
            if file == "midway-29.cab" {
                // Complete files or none: one.txt (before the corrupt block) is whole.
                for p in &written {
                    let len = std::fs::metadata(target.join(p)).unwrap().len();
                    assert!(p == "one.txt" && len == 40_000, "{file}: {p} ({len} bytes)");
                }
            }
        }
        n += 1;
    }
    assert!(n >= 60, "only {n} cases");
    eprintln!(
        "hostile cases: {n}; slowest {:?} ({}), largest peak RSS {} KB ({})",
        slowest.0, slowest.1, largest.0, largest.1
    );
}
