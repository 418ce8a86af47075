//! `cargo xtask bench [--quick] [--rounds N]`: hotfixkit and the installed peers, run
//! alternately (round-robin) on the same inputs made by ../shared/bench/make_inputs.sh;
//! median wall time, CPU, peak RSS, MB/s and hotfixkit/peer ratios, written as markdown
//! to target/bench/bench.md.

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

/// One run under /usr/bin/time: wall, user+sys, peak RSS.
pub(crate) fn measure(cmd: Command, out: &Path) -> Result<Sample> {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
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
pub fn run_scaled(root: &Path, scale: &str, rounds: usize) -> Result<()> {
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
    let work = work_dir(root)?;
    let tools: Vec<Tool> =
        tools().into_iter().filter(|t| t.name == "hotfixkit" || (t.name == "7zz" && installed(t.name))).collect();
    let md = measure_inputs(&bin, &inputs, &work, &[("big.msi", "msi")], &tools, rounds)?;
    let out = root.join(format!("target/bench/bench-scale{scale}.md"));
    let head = format!(
        "# hotfixkit benchmark, BIG_SCALE={scale}\n\n{rounds} rounds after one warm-up, round-robin; output on {}.\nInput: ../shared/bench/scripts/gen.py seed 20240601 --big-scale {scale} (randbytes chunked), wixl.\n\n",
        work.display()
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

pub fn run(root: &Path, quick: bool, rounds: usize) -> Result<()> {
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
    let work = work_dir(root)?;
    let list = [("kb.msi", "msi"), ("big.msi", "msi"), ("kb-mszip.cab", "cab"), ("big-mszip.cab", "cab")];
    let tools: Vec<Tool> = tools().into_iter().filter(|t| t.name == "hotfixkit" || installed(t.name)).collect();
    let md = measure_inputs(&bin, &inputs, &work, &list, &tools, rounds)?;
    let out = root.join("target/bench/bench.md");
    std::fs::create_dir_all(out.parent().unwrap_or(root))?;
    let head = format!(
        "# hotfixkit benchmark\n\n{} rounds after one warm-up, tools run round-robin on each input; output on {}.\nInputs: ../shared/bench/make_inputs.sh seed 20240601{}.\n\n",
        rounds,
        work.display(),
        if quick { ", BIG_SCALE=0.1" } else { "" }
    );
    std::fs::write(&out, head + &md)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Every tool on every input of `list`, round-robin after a warm-up; the markdown rows.
fn measure_inputs(
    bin: &Path,
    inputs: &Path,
    work: &Path,
    list: &[(&str, &str)],
    tools: &[Tool],
    rounds: usize,
) -> Result<String> {
    let mut md = String::from("| input | tool | median wall s | CPU s | peak RSS MB | MB/s | files | hotfixkit/peer |\n|---|---|---|---|---|---|---|---|\n");
    for &(input, kind) in list {
        let ip = inputs.join(input);
        if !ip.is_file() {
            continue;
        }
        let these: Vec<&Tool> = tools.iter().filter(|t| t.kinds.contains(&kind)).collect();
        let mut samples: Vec<Vec<Sample>> = these.iter().map(|_| Vec::new()).collect();
        let mut outputs = vec![(0u64, 0u64); these.len()];
        // Warm-up, then round-robin so every tool sees the same machine state.
        for round in 0..=rounds {
            for (ti, t) in these.iter().enumerate() {
                let out = work.join(format!("{}-{}", t.name, input));
                let s = measure((t.cmd)(bin, &ip, &out), &out)?;
                if round == 0 {
                    outputs[ti] = tree_bytes(&out);
                } else {
                    samples[ti].push(s);
                }
                let _ = std::fs::remove_dir_all(&out);
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
