//! `cargo xtask bench [--quick] [--rounds N] [--place disk|tmpfs]`: hotfixkit and the
//! installed peers, run alternately (round-robin) on the same inputs made by
//! ../shared/bench/make_inputs.sh and on small real packages of ../shared/corpus, with the
//! output on the project's disk and on tmpfs; median wall time, CPU, peak RSS, MB/s and
//! hotfixkit/peer ratios, written as markdown to target/bench/bench.md.
//!
//! On the disk every run writes to a folder of its own and `sync` runs (untimed) before
//! each, so no tool pays for the writeback another left behind; outputs are removed only
//! after the last input, because ext4 scans the inodes of files deleted moments before
//! when it creates new ones (`recently_deleted`), which would charge the next tool for
//! the previous tool's clean-up.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Tool {
    name: &'static str,
    kinds: &'static [&'static str],
    cmd: fn(&Path, &Path, &Path) -> Command,
}

fn hotfixkit_cmd(bin: &Path, input: &Path, out: &Path) -> Command {
    let mut c = Command::new(bin);
    c.arg("extract").arg(input).arg("--targetdir").arg(out).arg("--quiet");
    c
}

fn tools() -> Vec<Tool> {
    vec![
        Tool { name: "hotfixkit", kinds: &["msi", "cab"], cmd: hotfixkit_cmd },
        Tool {
            name: "msiextract",
            kinds: &["msi"],
            cmd: |_, i, o| {
                let mut c = Command::new("msiextract");
                c.arg("-C").arg(o).arg(i);
                c
            },
        },
        Tool {
            name: "7zz",
            kinds: &["msi", "cab"],
            cmd: |_, i, o| {
                let mut c = Command::new("7zz");
                c.args(["x", "-y", "-bso0", "-bsp0"]).arg(format!("-o{}", o.display())).arg(i);
                c
            },
        },
        Tool {
            name: "cabextract",
            kinds: &["cab"],
            cmd: |_, i, o| {
                let mut c = Command::new("cabextract");
                c.arg("-q").arg("-d").arg(o).arg(i);
                c
            },
        },
        Tool {
            name: "gcab",
            kinds: &["cab"],
            cmd: |_, i, o| {
                let mut c = Command::new("gcab");
                c.arg("-x").arg("-C").arg(o).arg(i);
                c
            },
        },
    ]
}

fn installed(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().map(|o| o.status.success()).unwrap_or(false)
}

pub(crate) struct Sample {
    pub wall: f64,
    pub cpu: f64,
    pub rss_mb: f64,
    pub ok: bool,
}

/// One run under /usr/bin/time: wall, user+sys, peak RSS. On a disk, `sync` first
/// (untimed).
pub(crate) fn measure(cmd: Command, out: &Path, disk: bool) -> Result<Sample> {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    if disk {
        Command::new("sync").status()?;
    }
    let prog = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let timef = out.with_extension("time");
    let start = std::time::Instant::now();
    let st = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%U %S %M")
        .arg("-o")
        .arg(&timef)
        .arg(prog)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    let wall = start.elapsed().as_secs_f64();
    let t = std::fs::read_to_string(&timef).unwrap_or_default();
    let f: Vec<f64> = t.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let (cpu, rss) = if f.len() >= 3 { (f[0] + f[1], f[2] / 1024.0) } else { (0.0, 0.0) };
    Ok(Sample { wall, cpu, rss_mb: rss, ok: st.success() || st.code() == Some(2) })
}

fn tree_bytes(dir: &Path) -> (u64, u64) {
    let mut b = 0;
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if let Ok(m) = e.metadata() {
                    if m.is_dir() {
                        stack.push(e.path());
                    } else {
                        b += m.len();
                        n += 1;
                    }
                }
            }
        }
    }
    (b, n)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

pub(crate) fn shared_dir(root: &Path) -> PathBuf {
    std::env::var_os("HOTFIXKIT_SHARED").map(PathBuf::from).unwrap_or_else(|| root.join("../shared"))
}

/// Runs the shared generator with `random.Random.randbytes` drawing at most 16 MiB per
/// call: at BIG_SCALE=5 one file is 320 MB, and a single call for it overflows a C int.
/// The bytes are deterministic from the seed (not those an unchunked call would give).
const CHUNKED_GEN: &str = r#"import random, runpy, sys
_orig = random.Random.randbytes
def chunked(self, n):
    if n <= (1 << 24):
        return _orig(self, n)
    return b''.join(_orig(self, min(1 << 24, n - i)) for i in range(0, n, 1 << 24))
random.Random.randbytes = chunked
gen = sys.argv[1]
sys.argv = [gen] + sys.argv[2:]
runpy.run_path(gen, run_name='__main__')
"#;

/// `cargo xtask bench --big-scale F`: the big package at scale F (BIG_SCALE=5 is the
/// 2 GB case of issue #8: 100,066 files), made with the shared generator (through
/// [`CHUNKED_GEN`]) and wixl, extracted by hotfixkit and 7zz round-robin. msiextract
/// is left out at this size (about a minute a run).
pub fn run_scaled(root: &Path, scale: &str, rounds: usize, only: Option<&str>) -> Result<()> {
    let f: f64 = scale.parse().context("--big-scale takes a number")?;
    let inputs = root.join(format!("target/bench/inputs-scale{scale}"));
    let msi = inputs.join("big.msi");
    if !msi.is_file() {
        let gen = shared_dir(root).join("bench/scripts/gen.py");
        if !gen.is_file() {
            bail!("{} is missing: the benchmark inputs come from ../shared/bench", gen.display());
        }
        let _ = std::fs::remove_dir_all(&inputs);
        std::fs::create_dir_all(&inputs)?;
        let wrapper = inputs.join("gen_chunked.py");
        std::fs::write(&wrapper, CHUNKED_GEN)?;
        println!("generating big.msi at BIG_SCALE={f} in {}", inputs.display());
        let ok = Command::new("/usr/bin/python3")
            .arg(&wrapper)
            .arg(&gen)
            .args(["20240601", "."])
            .args(["--big-scale", scale, "--only", "big"])
            .current_dir(&inputs)
            .status()?
            .success()
            && Command::new("find")
                .args(["payload", "-exec", "touch", "-h", "-d", "@1262304000", "{}", "+"])
                .current_dir(&inputs)
                .status()?
                .success()
            && Command::new("wixl").args(["-o", "big.msi", "big.wxs"]).current_dir(&inputs).status()?.success();
        if !ok {
            bail!("generating the scaled package failed");
        }
        // The payload is in the package; 2 GB of it need not stay on disk.
        let _ = std::fs::remove_dir_all(inputs.join("payload"));
    }
    let bin = build_release(root)?;
    let tools: Vec<Tool> =
        tools().into_iter().filter(|t| t.name == "hotfixkit" || (t.name == "7zz" && installed(t.name))).collect();
    let mut md = String::new();
    for place in places(root, only)? {
        md.push_str(&format!("\n## Output on {} ({})\n\n", place.label, place.dir.display()));
        md.push_str(&measure_inputs(&bin, &[(msi.clone(), "msi")], &place, &tools, rounds)?);
    }
    let out = root.join(format!("target/bench/bench-scale{scale}.md"));
    let head = format!(
        "# hotfixkit benchmark, BIG_SCALE={scale}\n\n{rounds} rounds after one warm-up, round-robin.\nInput: ../shared/bench/scripts/gen.py seed 20240601 --big-scale {scale} (randbytes chunked), wixl.\n",
    );
    std::fs::write(&out, head + &md)?;
    println!("wrote {}", out.display());
    Ok(())
}

pub(crate) fn build_release(root: &Path) -> Result<PathBuf> {
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "hotfixkit"])
        .current_dir(root)
        .status()?;
    if !st.success() {
        bail!("cargo build --release failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    Ok(target.join("release/hotfixkit"))
}

pub(crate) fn work_dir(root: &Path) -> Result<PathBuf> {
    let work = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm/hotfixkit-bench")
    } else {
        root.join("target/bench/work")
    };
    std::fs::create_dir_all(&work)?;
    Ok(work)
}

/// Where outputs go: tmpfs (what the extractor costs) and the project's disk (what an
/// admin waits for, durability included).
pub struct Place {
    label: &'static str,
    dir: PathBuf,
    disk: bool,
}

/// The file system type of `p` as `stat -f` names it (`tmpfs`, `ext2/ext3`, ...).
fn fs_type(p: &Path) -> String {
    Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(p)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn places(root: &Path, only: Option<&str>) -> Result<Vec<Place>> {
    let mut v = Vec::new();
    if only.is_none_or(|o| o == "tmpfs") && Path::new("/dev/shm").is_dir() {
        v.push(Place { label: "tmpfs", dir: PathBuf::from("/dev/shm/hotfixkit-bench"), disk: false });
    }
    if only.is_none_or(|o| o == "disk") {
        let dir = root.join("target/bench/work");
        std::fs::create_dir_all(&dir)?;
        let t = fs_type(&dir);
        if t == "tmpfs" || t == "ramfs" {
            bail!("{} is on {t}: the disk row needs a real disk", dir.display());
        }
        v.push(Place { label: "disk", dir, disk: true });
    }
    for p in &v {
        let _ = std::fs::remove_dir_all(&p.dir);
        std::fs::create_dir_all(&p.dir)?;
    }
    Ok(v)
}

/// Small real packages of ../shared/corpus: the per-run costs (process start, opening
/// the compound file, threads, per-file system calls) weigh most there.
const SMALL: &[&str] = &[
    "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/putty-0.68-installer.msi",
    "lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput/IviNetSharedComponents32_Fx20_1.3.0.msi",
];

pub fn run(root: &Path, quick: bool, rounds: usize, only: Option<&str>) -> Result<()> {
    let shared = shared_dir(root);
    let inputs = root.join(if quick { "target/bench/inputs-quick" } else { "target/bench/inputs" });
    if !inputs.join("big.msi").is_file() {
        let gen = shared.join("bench/make_inputs.sh");
        if !gen.is_file() {
            bail!("{} is missing: the benchmark inputs come from ../shared/bench", gen.display());
        }
        println!("generating inputs in {} (make_inputs.sh)", inputs.display());
        let st = Command::new("bash")
            .arg(&gen)
            .arg("20240601")
            .arg(&inputs)
            .env("BIG_SCALE", if quick { "0.1" } else { "1.0" })
            .env("PKGS", "kb,big")
            .status()
            .context("running make_inputs.sh")?;
        if !st.success() {
            bail!("make_inputs.sh failed");
        }
    }
    let bin = build_release(root)?;
    let mut list: Vec<(PathBuf, &str)> = Vec::new();
    let mut small = Vec::new();
    for s in SMALL {
        let p = shared.join("corpus").join(s);
        if p.is_file() {
            list.push((p.clone(), "msi"));
            small.push(p);
        } else {
            println!("skipping {} (not present)", p.display());
        }
    }
    for (name, kind) in [("kb.msi", "msi"), ("big.msi", "msi"), ("kb-mszip.cab", "cab"), ("big-mszip.cab", "cab")] {
        list.push((inputs.join(name), kind));
    }
    let tools: Vec<Tool> = tools().into_iter().filter(|t| t.name == "hotfixkit" || installed(t.name)).collect();
    let mut md = String::new();
    for place in places(root, only)? {
        md.push_str(&format!("\n## Output on {} ({}, {})\n\n", place.label, place.dir.display(), fs_type(&place.dir)));
        md.push_str(&measure_inputs(&bin, &list, &place, &tools, rounds)?);
    }
    md.push_str("\n## verify with and without --signatures (big.msi's image on tmpfs)\n\n");
    md.push_str(&measure_verify(&bin, &inputs.join("big.msi"), rounds.max(3) * 2)?);
    md.push_str("\n## Reading a small package (no output)\n\n");
    md.push_str(&measure_readers(&bin, &small, rounds.max(10) * 3)?);
    let out = root.join("target/bench/bench.md");
    std::fs::create_dir_all(out.parent().unwrap_or(root))?;
    let head = format!(
        "# hotfixkit benchmark\n\n{} rounds after one warm-up, tools run round-robin on each input.\nInputs: ../shared/bench/make_inputs.sh seed 20240601{}; small real packages from ../shared/corpus.\nMachine: {} cores; `sync` before each run on the disk; peers never sync, hotfixkit makes its output durable (syncfs) on the disk.\n",
        rounds,
        if quick { ", BIG_SCALE=0.1" } else { "" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    std::fs::write(&out, head + &md)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// `verify --signatures` against `verify` alone on big.msi's administrative image (on
/// tmpfs, so the disk does not hide the parsing): alternating runs.
fn measure_verify(bin: &Path, msi: &Path, runs: usize) -> Result<String> {
    let work = PathBuf::from("/dev/shm/hotfixkit-bench-verify");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let (img, lock) = (work.join("img"), work.join("lock.json"));
    let ok = Command::new(bin).args(["-q", "extract"]).arg(msi).arg("--targetdir").arg(&img).status()?.success()
        && Command::new(bin).args(["-q", "manifest", "lock"]).arg(&img).arg("-o").arg(&lock).status()?.success();
    if !ok {
        bail!("extracting or locking {} failed", msi.display());
    }
    let time = |sig: bool| -> Result<f64> {
        let mut c = Command::new(bin);
        c.args(["-q", "verify"]).arg(&img).arg("--manifest").arg(&lock);
        if sig {
            c.arg("--signatures");
        }
        let t = std::time::Instant::now();
        let st = c.stdout(std::process::Stdio::null()).status()?;
        if !st.success() {
            bail!("verify{} failed on {}", if sig { " --signatures" } else { "" }, img.display());
        }
        Ok(t.elapsed().as_secs_f64())
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..=runs {
        let (x, y) = (time(false)?, time(true)?);
        if round > 0 {
            a.push(x);
            b.push(y);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    let (ma, mb) = (median(a), median(b));
    let line = format!(
        "| verify | verify --signatures | ratio |\n|---|---|---|\n| {ma:.3} s | {mb:.3} s | {:.2} |\n",
        mb / ma.max(1e-9)
    );
    print!("{line}");
    Ok(line)
}

/// `info` and `tables` against msiinfo on the small packages: many runs each, alternating.
fn measure_readers(bin: &Path, list: &[PathBuf], runs: usize) -> Result<String> {
    let mut md = String::from(
        "| input | command | hotfixkit median ms | msiinfo median ms | hotfixkit/msiinfo |\n|---|---|---|---|---|\n",
    );
    if !installed("msiinfo") {
        md.push_str("| - | - | - | msiinfo not installed | - |\n");
        return Ok(md);
    }
    let time = |c: &mut Command| -> Result<f64> {
        let t = std::time::Instant::now();
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status()?;
        Ok(t.elapsed().as_secs_f64() * 1000.0)
    };
    for input in list {
        let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let pairs: [(&str, Vec<&str>, Vec<&str>); 2] = [
            ("info / msiinfo suminfo", vec!["info"], vec!["suminfo"]),
            ("tables File / msiinfo export File", vec!["tables", "--format", "idt"], vec!["export"]),
        ];
        for (label, ours, theirs) in pairs {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for round in 0..=runs {
                let mut c = Command::new(bin);
                c.args(&ours).arg(input);
                if ours[0] == "tables" {
                    c.arg("File");
                }
                let x = time(&mut c)?;
                let mut c = Command::new("msiinfo");
                c.args(&theirs).arg(input);
                if theirs[0] == "export" {
                    c.arg("File");
                }
                let y = time(&mut c)?;
                if round > 0 {
                    a.push(x);
                    b.push(y);
                }
            }
            let (ma, mb) = (median(a), median(b));
            let line = format!("| {name} | {label} | {ma:.1} | {mb:.1} | {:.2} |\n", ma / mb.max(1e-9));
            print!("{line}");
            md.push_str(&line);
        }
    }
    Ok(md)
}

/// Every tool on every input of `list`, round-robin after a warm-up; the markdown rows.
fn measure_inputs(
    bin: &Path,
    list: &[(PathBuf, &str)],
    place: &Place,
    tools: &[Tool],
    rounds: usize,
) -> Result<String> {
    let mut md = String::from("| input | tool | median wall s | CPU s | peak RSS MB | MB/s | files | hotfixkit/peer |\n|---|---|---|---|---|---|---|---|\n");
    let work = &place.dir;
    for (ip, kind) in list {
        if !ip.is_file() {
            continue;
        }
        let input = ip.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let these: Vec<&Tool> = tools.iter().filter(|t| t.kinds.contains(kind)).collect();
        let mut samples: Vec<Vec<Sample>> = these.iter().map(|_| Vec::new()).collect();
        let mut outputs = vec![(0u64, 0u64); these.len()];
        // Warm-up, then round-robin so every tool sees the same machine state.
        for round in 0..=rounds {
            for (ti, t) in these.iter().enumerate() {
                let out = work.join(format!("{}-{input}-{round}", t.name));
                let s = measure((t.cmd)(bin, ip, &out), &out, place.disk)?;
                if round == 0 {
                    outputs[ti] = tree_bytes(&out);
                } else {
                    samples[ti].push(s);
                }
                if !place.disk {
                    let _ = std::fs::remove_dir_all(&out);
                }
            }
        }
        let med: Vec<f64> = samples.iter().map(|s| median(s.iter().map(|x| x.wall).collect())).collect();
        let hk = med[0];
        for (ti, t) in these.iter().enumerate() {
            let s = &samples[ti];
            let cpu = median(s.iter().map(|x| x.cpu).collect());
            let rss = s.iter().map(|x| x.rss_mb).fold(0.0, f64::max);
            let ok = s.iter().all(|x| x.ok);
            let mbps = outputs[ti].0 as f64 / 1e6 / med[ti].max(1e-9);
            let ratio = if ti == 0 { "-".to_string() } else { format!("{:.3}", hk / med[ti].max(1e-9)) };
            let line = format!(
                "| {input} | {}{} | {:.3} | {:.3} | {:.1} | {:.0} | {} | {} |\n",
                t.name,
                if ok { "" } else { " (exit!=0)" },
                med[ti],
                cpu,
                rss,
                mbps,
                outputs[ti].1,
                ratio
            );
            print!("{line}");
            md.push_str(&line);
        }
    }
    let _ = std::fs::remove_dir_all(work);
    Ok(md)
}
