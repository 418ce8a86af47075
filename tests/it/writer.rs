//! The one safe writer (issue #16): links at output names are replaced, never written
//! through; a killed or interrupted run leaves only complete files under final names
//! and its temporaries go; a read-only or full target stops with one line; an output
//! that is an input is refused; hostile YAML, a huge KB table and a FIFO are bounded.

use crate::util::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn big_cab() -> PathBuf {
    fixture("hostile/reverse-order-41.cab")
}

fn temporaries(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .map(|e| e.0)
        .filter(|p| p.rsplit('/').next().unwrap_or("").starts_with(".hotfixkit-"))
        .collect()
}

/// Unmounts a file system the test mounted.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A link planted at the output name of every single-file writer is replaced by the
/// output, and what it pointed at is untouched.
fn links_at_output_names_are_replaced_not_followed() {
    let t = tempdir();
    let d = t.path();
    let outside = d.join("outside.txt");
    std::fs::write(&outside, b"outside").unwrap();
    let sp2 = fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi");
    let img = d.join("img");
    let o = run_os(&["extract".as_ref(), sp2.as_os_str(), "-o".as_ref(), img.as_os_str()]);
    assert!(o.status.success());
    let kb = d.join("kb1.txt");
    std::fs::write(&kb, "P SP1 file information\nFile name\nFile size\nDate\nTime\nA.dll\n12\n01-Dec-2008\n01:40\n")
        .unwrap();
    let cases: Vec<(&str, Vec<&OsStr>)> = vec![
        ("build.cab", vec!["build".as_ref(), "cab".as_ref(), fixture("admin/tree").into_os_string().leak()]),
        ("lock.yaml", vec!["manifest".as_ref(), "lock".as_ref(), img.as_os_str()]),
        ("import.yaml", vec!["manifest".as_ref(), "import-kb".as_ref(), kb.as_os_str()]),
        (
            "report.xml",
            vec![
                "verify".as_ref(),
                img.as_os_str(),
                "--manifest".as_ref(),
                root().join("manifests/kb977203-sp2.yaml").into_os_string().leak(),
                "--format".as_ref(),
                "junit".as_ref(),
            ],
        ),
    ];
    for (name, args) in cases {
        let out = d.join(name);
        std::os::unix::fs::symlink(&outside, &out).unwrap();
        let mut a = args.clone();
        a.extend(["-o".as_ref(), out.as_os_str()]);
        // Without --force the link is an existing output.
        let o = run_os(&a);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("already exists"), "{name}: {}", stderr(&o));
        a.push("--force".as_ref());
        let o = run_os(&a);
        assert!(o.status.code() == Some(0) || o.status.code() == Some(1), "{name}: {}", stderr(&o));
        let m = std::fs::symlink_metadata(&out).unwrap();
        assert!(m.file_type().is_file(), "{name}: the link was written through or left");
        assert_eq!(std::fs::read(&outside).unwrap(), b"outside", "{name}: the link's target changed");
    }
    assert!(temporaries(d).is_empty(), "{:?}", temporaries(d));
}

/// kill -9 at several moments: every file under a final name is complete; a rerun with
/// --force removes the dead run's temporaries and writes everything.
fn kill_at_any_moment_leaves_only_complete_files() {
    for delay_ms in [5u64, 20, 60, 150] {
        let t = tempdir();
        let out = t.path().join("out");
        let mut child = std::process::Command::new(bin())
            .args(["extract".as_ref(), big_cab().as_os_str(), "-o".as_ref(), out.as_os_str()])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let seen = if out.exists() { listing(&out) } else { Vec::new() };
        for (p, size, _, _) in seen {
            let name = p.rsplit('/').next().unwrap_or("");
            if name.starts_with(".hotfixkit-") {
                continue; // a temporary of the dead run
            }
            assert_eq!(size, 32768, "{delay_ms} ms: {p} is incomplete");
        }
        let o =
            run_os(&["extract".as_ref(), big_cab().as_os_str(), "-o".as_ref(), out.as_os_str(), "--force".as_ref()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(temporaries(&out).is_empty(), "{delay_ms} ms: {:?}", temporaries(&out));
        assert_eq!(listing(&out).len(), 1000);
    }
}

/// Ctrl-C: the run stops, its temporaries go, exit 130.
fn interrupt_cleans_up_and_exits_130() {
    let t = tempdir();
    let out = t.path().join("out");
    let child = std::process::Command::new(bin())
        .args(["extract".as_ref(), big_cab().as_os_str(), "-o".as_ref(), out.as_os_str()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::INT).unwrap();
    let o = child.wait_with_output().unwrap();
    if o.status.code() == Some(0) {
        return; // finished before the signal arrived: nothing to clean
    }
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
    for (p, size, _, _) in listing(&out) {
        assert_eq!(size, 32768, "{p} is incomplete");
    }
}

/// A read-only target: one line naming the folder and the cause, the count, and no
/// administrative copy (the image is incomplete).
fn a_read_only_target_stops_with_one_line() {
    let t = tempdir();
    let out = t.path().join("ro");
    std::fs::create_dir(&out).unwrap();
    // Root writes into a folder without write permission: for root the target is a
    // read-only mount instead.
    let root_user = rustix::process::geteuid().is_root();
    let _guard = if root_user {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&out)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "mounting a read-only tmpfs failed");
        Some(Unmount(out.clone()))
    } else {
        std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
        None
    };
    let o = run_os(&[
        "extract".as_ref(),
        fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        (err.contains("Permission denied") || err.contains("Read-only file system"))
            && err.contains("more files for the same reason"),
        "{err}"
    );
    assert!(stdout(&o).contains("extracted 0 of 13 files"), "{}", stdout(&o));
}

/// A full file system: every writing command gives one error line and leaves no
/// partial file (a 2 MiB tmpfs; needs root to mount it).
fn a_full_target_gives_one_line_and_no_partial_file() {
    let t = tempdir();
    let mnt = t.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mounting a tmpfs failed");
    let _guard = Unmount(mnt.clone());
    let sp2 = fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi");
    let big = t.path().join("big.bin");
    // Incompressible, so that a delta of it does not fit either.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..3 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&big, &noise).unwrap();
    let srcdir = t.path().join("src");
    std::fs::create_dir(&srcdir).unwrap();
    std::fs::write(srcdir.join("big.bin"), vec![9u8; 3 << 20]).unwrap();
    let cases: Vec<Vec<&OsStr>> = vec![
        vec!["extract".as_ref(), sp2.as_os_str(), "-o".as_ref(), mnt.join("img").into_os_string().leak()],
        vec!["streams".as_ref(), sp2.as_os_str(), "-o".as_ref(), mnt.join("s").into_os_string().leak()],
        vec![
            "build".as_ref(),
            "cab".as_ref(),
            srcdir.as_os_str(),
            "--compression".as_ref(),
            "none".as_ref(),
            "-o".as_ref(),
            mnt.join("x.cab").into_os_string().leak(),
        ],
        vec![
            "delta".as_ref(),
            "create".as_ref(),
            "--new".as_ref(),
            big.as_os_str(),
            "-o".as_ref(),
            mnt.join("p.pa19").into_os_string().leak(),
        ],
    ];
    for args in cases {
        // Leave 64 KiB free, so that every output runs out of space.
        let filler = mnt.join("filler");
        let _ = std::fs::remove_file(&filler);
        let free = rustix::fs::statvfs(&mnt).map(|s| s.f_bavail * s.f_frsize).unwrap();
        std::fs::write(&filler, vec![0u8; (free.saturating_sub(64 << 10)) as usize]).unwrap();
        let o = run_os(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
        assert!(temporaries(&mnt).is_empty(), "{args:?}: {:?}", temporaries(&mnt));
        for (p, size, _, _) in listing(&mnt) {
            assert!(p == "filler" || size > 0, "{args:?}: {p} is empty under its final name");
        }
        // Whatever has a final name is whole (the image's files are checked by size).
        let _ = std::fs::remove_dir_all(mnt.join("img"));
        let _ = std::fs::remove_dir_all(mnt.join("s"));
    }
}

/// An output that is one of the command's inputs is refused, the input untouched.
fn an_output_that_is_an_input_is_refused() {
    let t = tempdir();
    let old = t.path().join("old.bin");
    std::fs::write(&old, b"old bytes").unwrap();
    let new = t.path().join("new.bin");
    std::fs::write(&new, b"new bytes!").unwrap();
    let patch = t.path().join("p.pa19");
    let o = run_os(&[
        "delta".as_ref(),
        "create".as_ref(),
        "--old".as_ref(),
        old.as_os_str(),
        "--new".as_ref(),
        new.as_os_str(),
        "-o".as_ref(),
        patch.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_os(&[
        "delta".as_ref(),
        "apply".as_ref(),
        "--old".as_ref(),
        old.as_os_str(),
        "--patch".as_ref(),
        patch.as_os_str(),
        "-o".as_ref(),
        old.as_os_str(),
        "--force".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&old).unwrap(), b"old bytes");
    let m = root().join("manifests/kb977203-sp2.yaml");
    let copy = t.path().join("m.yaml");
    std::fs::copy(&m, &copy).unwrap();
    let o = run_os(&[
        "verify".as_ref(),
        t.path().as_os_str(),
        "--manifest".as_ref(),
        copy.as_os_str(),
        "-o".as_ref(),
        copy.as_os_str(),
        "--force".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&m).unwrap());
}

/// Hostile YAML nested 100,000 deep is refused in well under a second.
fn deep_yaml_is_refused_at_once() {
    let t = tempdir();
    for (name, text) in [
        ("flow.yaml", format!("product: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000))),
        ("block.yaml", format!("product: x\nfiles:\n{}1\n", "- ".repeat(100_000))),
    ] {
        let p = t.path().join(name);
        std::fs::write(&p, text).unwrap();
        let start = Instant::now();
        let o = run_os(&["verify".as_ref(), t.path().as_os_str(), "--manifest".as_ref(), p.as_os_str()]);
        assert!(start.elapsed() < Duration::from_secs(1), "{name}: {:?}", start.elapsed());
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("nested more than 64 levels"), "{name}: {}", stderr(&o));
    }
}

/// A 1,000,000-row KB table imports with memory that does not grow with it.
fn a_million_row_kb_table_imports_in_bounded_memory() {
    let t = tempdir();
    let table = t.path().join("kb1.txt");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&table).unwrap());
        writeln!(w, "Big SP1 file information\nFile name\nFile version\nFile size\nDate\nTime\nPlatform").unwrap();
        for i in 0..1_000_000u32 {
            writeln!(w, "f{i}.dll\n4.0.{}.{}\n{}\n01-Dec-2008\n01:40\nx86", i % 9000, i % 60000, i * 7 % 1000000)
                .unwrap();
        }
    }
    let out = t.path().join("kb.yaml");
    let rss = t.path().join("rss");
    let o = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(bin())
        .args(["manifest".as_ref(), "import-kb".as_ref(), table.as_os_str(), "-o".as_ref(), out.as_os_str()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kb: u64 = std::fs::read_to_string(&rss).unwrap().trim().parse().unwrap();
    assert!(kb < 256 * 1024, "peak RSS {kb} KB");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("      - name: ").count(), 1_000_000);
}

/// A FIFO named as the package is refused at once, by every reader.
fn a_fifo_as_the_package_is_refused_at_once() {
    let t = tempdir();
    let p = t.path().join("pipe.msi");
    rustix::fs::mknodat(rustix::fs::CWD, &p, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
        .unwrap();
    let m = root().join("manifests/kb977203-sp2.yaml");
    for args in [
        vec!["info".as_ref(), p.as_os_str()],
        vec!["extract".as_ref(), p.as_os_str(), "-o".as_ref(), t.path().join("o").into_os_string().leak()],
        vec!["verify".as_ref(), p.as_os_str(), "--manifest".as_ref(), m.as_os_str()],
        vec!["signature".as_ref(), p.as_os_str()],
    ] {
        let start = Instant::now();
        let o = run_os(&args);
        assert!(start.elapsed() < Duration::from_secs(2), "{args:?}");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("not a regular file"), "{args:?}: {}", stderr(&o));
    }
}

crate::cases![
    links_at_output_names_are_replaced_not_followed,
    kill_at_any_moment_leaves_only_complete_files,
    interrupt_cleans_up_and_exits_130,
    a_read_only_target_stops_with_one_line,
    a_full_target_gives_one_line_and_no_partial_file needs [Need::Root],
    an_output_that_is_an_input_is_refused,
    deep_yaml_is_refused_at_once,
    a_million_row_kb_table_imports_in_bounded_memory,
    a_fifo_as_the_package_is_refused_at_once,
];
