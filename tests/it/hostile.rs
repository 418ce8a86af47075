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

/// `target/link -> ../outside` and `target/plain.c -> ../outside/sentinel.txt`.
fn plant_links(target: &Path) {
    std::os::unix::fs::symlink("../outside", target.join("link")).unwrap();
    std::os::unix::fs::symlink("../outside/sentinel.txt", target.join("plain.c")).unwrap();
}

/// What the cases that must extract wrote, exactly.
fn check_written(file: &str, target: &Path, written: &[String]) {
    let read = |p: &str| std::fs::read(target.join(p)).unwrap();
    match file {
        "link-dir-25.cab" => assert_eq!(written, ["good.txt"], "{file}"),
        "link-file-26.cab" => {
            // The link at the final name was replaced by the file, not written through.
            let m = std::fs::symlink_metadata(target.join("plain.c")).unwrap();
            assert!(m.file_type().is_file(), "{file}");
            assert_eq!(read("plain.c"), b"replaced\n");
        }
        "lookalike-19-0.cab" => assert_eq!(written, ["a\u{2215}..\u{2215}x"], "{file}"),
        "lookalike-19-1.cab" => assert_eq!(written, ["a\u{FF0F}..\u{FF0F}x"], "{file}"),
        "lookalike-19-2.cab" => assert_eq!(written, ["\u{202E}txt.exe"], "{file}"),
        "stream-name-23-2.msi" => {
            assert_eq!(written, ["%05Summary", "%05SummaryInformation", "c.cab"], "{file}");
            assert_eq!(read("%05Summary"), b"stream");
        }
        "race-27.cab" => assert_eq!(written.len(), 1000, "{file}"),
        "empty-folder-37.cab" => {
            assert_eq!(written, ["empty.txt", "full.txt"], "{file}");
            assert_eq!((read("empty.txt").len(), read("full.txt")), (0, b"full".to_vec()));
        }
        "hidden-files-38.cab" => assert_eq!(read("a.txt"), b"aaaa"),
        "reverse-order-41.cab" => {
            assert_eq!(written.len(), 1000, "{file}");
            assert_eq!(read("r0999"), vec![(999 % 251) as u8; 32768]);
        }
        "sfx-43-0.exe" | "sfx-43-1.exe" => assert_eq!(read("sfx.txt"), b"found\n"),
        "lzx-odd-45.cab" => assert_eq!(read("odd.txt"), b"hello"),
        "lzx-overrun-45.cab" => assert_eq!(read("a.txt"), vec![b'o'; 200]),
        "pool-conversion-51.msi" => assert!(written.contains(&"App/\u{81}.txt".to_string()), "{written:?}"),
        _ => {}
    }
}

/// The cases of fixtures/hostile/cases.tsv, one test each.
pub fn security_cases() -> Vec<Case> {
    let list = std::fs::read_to_string(fixture("hostile/cases.tsv")).unwrap();
    let lines: Vec<String> =
        list.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(str::to_string).collect();
    assert!(lines.len() >= 60, "only {} cases", lines.len());
    lines
        .into_iter()
        .map(|line| {
            let file = line.split('\t').next().unwrap_or("").to_string();
            Case {
                name: format!("hostile::case::{file}"),
                needs: Vec::new(),
                run: Box::new(move || security_case(&line)),
            }
        })
        .collect()
}

/// One hostile input: its expected error or output, contained, in bounded time and
/// memory.
fn security_case(line: &str) {
    let time_tool = std::path::Path::new("/usr/bin/time").exists();
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, case, expect) = (f[0], f[1], f[2]);
        let t = tempdir_in_memory();
        // Outside the target: a folder with a sentinel, reachable through two links
        // planted in the target (a folder link and a file link).
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let sentinel = outside.join("sentinel.txt");
        std::fs::write(&sentinel, b"sentinel").unwrap();
        let target = t.path().join("target");
        std::fs::create_dir(&target).unwrap();
        plant_links(&target);
        let input = fixture(&format!("hostile/{file}"));
        // PE cases are read with `info`, stream-name cases written with `streams`;
        // everything else is extracted (into the non-empty target, hence --force).
        let args: Vec<&std::ffi::OsStr> = if file.ends_with(".dll") {
            vec!["info".as_ref(), input.as_os_str()]
        } else if file.starts_with("stream-name-") {
            vec!["streams".as_ref(), input.as_os_str(), "--out".as_ref(), target.as_os_str(), "--force".as_ref()]
        } else {
            vec!["extract".as_ref(), input.as_os_str(), "--targetdir".as_ref(), target.as_os_str(), "--force".as_ref()]
        };
        let start = Instant::now();
        let o = if time_tool {
            let rss = t.path().join("rss");
            let o = std::process::Command::new("/usr/bin/time")
                .arg("-f")
                .arg("%M")
                .arg("-o")
                .arg(&rss)
                .arg(bin())
                .args(&args)
                .output()
                .unwrap();
            let kb: u64 = std::fs::read_to_string(&rss).unwrap_or_default().trim().parse().unwrap_or(0);
            assert!(kb < 256 * 1024, "{file}: peak RSS {kb} KB");
            std::fs::remove_file(&rss).unwrap();
            o
        } else {
            run_os(&args)
        };
        let took = start.elapsed();
        // Debug builds run several times slower; the bound is for pathological (quadratic or
        // unbounded) work, not for speed.
        let bound = Duration::from_secs(if cfg!(debug_assertions) { 6 } else { 2 });
        assert!(took < bound, "{file} (case {case}) took {took:?}");
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
        // Contained: the temporary folder holds only the outside folder and the target,
        // the outside folder only its unchanged sentinel, and the planted links are intact
        // (a file entry may replace the file link itself, never what it points at).
        let mut top: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, ["outside", "target"], "{file}: wrote outside the target");
        assert_eq!(files_under(&outside), ["sentinel.txt"], "{file}: changed the outside folder");
        assert_eq!(std::fs::read(&sentinel).unwrap(), b"sentinel", "{file}");
        assert_eq!(std::fs::read_link(target.join("link")).unwrap(), Path::new("../outside"), "{file}");
        if file != "link-file-26.cab" {
            assert!(std::fs::symlink_metadata(target.join("plain.c")).unwrap().file_type().is_symlink(), "{file}");
        }
        {
            let written: Vec<String> =
                files_under(&target).into_iter().filter(|p| p != "link" && p != "plain.c").collect();
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
            check_written(file, &target, &written);
            if file == "midway-29.cab" {
                // Complete files or none: one.txt (before the corrupt block) is whole.
                for p in &written {
                    let len = std::fs::metadata(target.join(p)).unwrap().len();
                    assert!(p == "one.txt" && len == 40_000, "{file}: {p} ({len} bytes)");
                }
            }
        }
    }
}

/// Case 27: while extractions write 1000 `d/*` entries, another thread keeps swapping
/// `target/d` between a real folder and a link to the outside folder. Every name is
/// resolved from an open handle without following links, so nothing lands outside,
/// whichever way each swap falls; a run may fail on an entry (the link is refused).
fn race_swapping_a_folder_for_a_link_never_escapes() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let t = tempdir_in_memory();
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("sentinel.txt"), b"sentinel").unwrap();
    let target = t.path().join("target");
    std::fs::create_dir_all(target.join("d")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps, target) = (stop.clone(), swaps.clone(), target.clone());
        std::thread::spawn(move || {
            let (d, real) = (target.join("d"), target.join("d.real"));
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::rename(&d, &real);
                let _ = std::os::unix::fs::symlink("../outside", &d);
                std::thread::yield_now();
                let _ = std::fs::remove_file(&d);
                let _ = std::fs::rename(&real, &d);
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let input = fixture("hostile/race-27.cab");
    let mut runs = 0;
    let mut failed_runs = 0;
    while runs < 3 || swaps.load(Ordering::Relaxed) < 10_000 {
        let o = run_os(&[
            "extract".as_ref(),
            input.as_os_str(),
            "--targetdir".as_ref(),
            target.as_os_str(),
            "--force".as_ref(),
            "--quiet".as_ref(),
        ]);
        assert!(matches!(o.status.code(), Some(0 | 2)), "{}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
        if o.status.code() == Some(2) {
            failed_runs += 1;
        }
        let mut names: Vec<String> = std::fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["sentinel.txt"], "run {runs}: wrote through the link");
        runs += 1;
        assert!(runs < 500, "swapper too slow");
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert_eq!(std::fs::read(outside.join("sentinel.txt")).unwrap(), b"sentinel");
    eprintln!("race: {runs} runs ({failed_runs} refused a link), {} swaps", swaps.load(Ordering::Relaxed));
}

/// Case 28: the target given by the user may itself be a link; it is trusted.
fn a_target_that_is_a_link_is_used() {
    let t = tempdir();
    let real = t.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let alias = t.path().join("alias");
    std::os::unix::fs::symlink(&real, &alias).unwrap();
    let o = run_os(&[
        "extract".as_ref(),
        fixture("hostile/link-file-26.cab").as_os_str(),
        "--targetdir".as_ref(),
        alias.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(real.join("plain.c")).unwrap(), b"replaced\n");
}

/// The time budget at its edge: a run over budget stops with one error line, leaves only
/// complete files and no temporary ones; the same run within budget extracts everything.
fn time_limit_stops_a_run_cleanly() {
    let input = fixture("hostile/reverse-order-41.cab");
    let t = tempdir_in_memory();
    let out = t.path().join("out");
    let o = run_os(&[
        "--time-limit".as_ref(),
        "0.02".as_ref(),
        "extract".as_ref(),
        input.as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("time limit of 0.020 s exceeded (--time-limit"), "{err}");
    let written = listing(&out);
    assert!(written.len() < 1000, "the budget did not stop the run");
    for (p, size, _, _) in &written {
        assert!(!p.contains(".hotfixkit-"), "temporary file left: {p}");
        assert_eq!(*size, 32768, "{p} incomplete");
    }
    let out2 = t.path().join("out2");
    let o = run_os(&[
        "--time-limit".as_ref(),
        "60".as_ref(),
        "extract".as_ref(),
        input.as_os_str(),
        "--targetdir".as_ref(),
        out2.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(listing(&out2).len(), 1000);
    let o = run(&["--time-limit", "0", "info", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--time-limit must be a positive number"), "{}", stderr(&o));
}

crate::cases![
    race_swapping_a_folder_for_a_link_never_escapes,
    a_target_that_is_a_link_is_used,
    time_limit_stops_a_run_cleanly,
];
