//! `cargo xtask bench --builders`: time and peak RSS of `build msp` on the benchmark's
//! big package (big.msi from ../shared/bench/make_inputs.sh) against a copy with 1% of
//! its files changed (big2.msi: every 100th file of big.wxs, half of them one line
//! longer, half with one byte flipped; ProductVersion 2.0.1.0; made with wixl as
//! big.msi is), and of `build msi` on big.msi's payload folder.

use crate::bench::{build_release, measure, median, shared_dir, work_dir};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Copy a tree as hard links (the files `changed` will replace get their own copies).
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            link_tree(&e.path(), &t)?;
        } else {
            std::fs::hard_link(e.path(), &t)?;
        }
    }
    Ok(())
}

/// big2.wxs and payload2/: 1% of big.wxs's files changed.
fn make_changed_copy(inputs: &Path) -> Result<(usize, usize)> {
    let wxs = std::fs::read_to_string(inputs.join("big.wxs")).context("reading big.wxs")?;
    let _ = std::fs::remove_dir_all(inputs.join("payload2"));
    link_tree(&inputs.join("payload"), &inputs.join("payload2"))?;
    let sources: Vec<&str> = wxs.split("Source=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
    let mut changed = 0;
    for (i, src) in sources.iter().enumerate().filter(|(i, _)| i % 100 == 0) {
        let Some(rest) = src.strip_prefix("payload/") else { continue };
        let p = inputs.join("payload2").join(rest);
        let mut d = std::fs::read(&p)?;
        std::fs::remove_file(&p)?;
        if (i / 100) % 2 == 0 {
            d.extend_from_slice(format!("hotfix {}\r\n", i / 100).as_bytes());
        } else if !d.is_empty() {
            let m = d.len() / 2;
            d[m] ^= 0xFF;
        }
        std::fs::write(&p, d)?;
        let f = std::fs::File::options().write(true).open(&p)?;
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_262_304_000))?;
        changed += 1;
    }
    let w2 = wxs.replace("Source=\"payload/", "Source=\"payload2/").replacen(
        "Version=\"2.0.0.0\"",
        "Version=\"2.0.1.0\"",
        1,
    );
    std::fs::write(inputs.join("big2.wxs"), w2)?;
    Ok((sources.len(), changed))
}

pub fn run(root: &Path, rounds: usize) -> Result<()> {
    let inputs = root.join("target/bench/inputs");
    if !inputs.join("big.msi").is_file() || !inputs.join("big.wxs").is_file() {
        let gen = shared_dir(root).join("bench/make_inputs.sh");
        println!("generating big.msi in {} (make_inputs.sh)", inputs.display());
        let st = Command::new("bash")
            .arg(&gen)
            .arg("20240601")
            .arg(&inputs)
            .env("PKGS", "big")
            .env("NO_STANDALONE", "1")
            .status()
            .context("running make_inputs.sh")?;
        if !st.success() {
            bail!("make_inputs.sh failed");
        }
    }
    let (files, changed) = make_changed_copy(&inputs)?;
    println!("big2.msi: {changed} of {files} files changed; wixl");
    let st = Command::new("wixl").args(["-o", "big2.msi", "big2.wxs"]).current_dir(&inputs).status()?;
    if !st.success() {
        bail!("wixl big2.msi failed");
    }
    let bin = build_release(root)?;
    let work = work_dir(root)?;
    let mut msp = Vec::new();
    let mut msi = Vec::new();
    for round in 0..=rounds {
        let out = work.join("build-msp");
        let mut c = Command::new(&bin);
        c.args(["--no-fsync", "-q", "build", "msp", "--target"])
            .arg(inputs.join("big.msi"))
            .arg("--upgraded")
            .arg(inputs.join("big2.msi"))
            .arg("-o")
            .arg(out.join("big.msp"));
        let s = measure(c, &out, false)?;
        if !s.ok {
            bail!("build msp failed");
        }
        let out2 = work.join("build-msi");
        let mut c = Command::new(&bin);
        c.args(["--no-fsync", "-q", "build", "msi"])
            .arg(inputs.join("payload/big"))
            .arg("-o")
            .arg(out2.join("big.msi"));
        let s2 = measure(c, &out2, false)?;
        if !s2.ok {
            bail!("build msi failed");
        }
        if round > 0 {
            msp.push(s);
            msi.push(s2);
        }
    }
    // The patch must bring big.msi to big2.msi: no file differs.
    let st = Command::new(&bin)
        .args(["-q", "diff"])
        .arg(inputs.join("big2.msi"))
        .arg(inputs.join("big.msi"))
        .arg("--patch")
        .arg(work.join("build-msp/big.msp"))
        .args(["--only", "files"])
        .status()?;
    if !st.success() {
        bail!("big.msi with the patch does not have big2.msi's files");
    }
    let size = std::fs::metadata(work.join("build-msp/big.msp"))?.len();
    let row = |name: &str, v: &[crate::bench::Sample]| {
        format!(
            "| {name} | {:.2} | {:.2} | {:.1} |\n",
            median(v.iter().map(|s| s.wall).collect()),
            median(v.iter().map(|s| s.cpu).collect()),
            median(v.iter().map(|s| s.rss_mb).collect())
        )
    };
    let md = format!(
        "# hotfixkit builders\n\n{rounds} rounds after one warm-up; output on {}. big.msi: ../shared/bench/make_inputs.sh seed 20240601 ({files} files); big2.msi: {changed} of them changed (xtask/src/bench_build.rs). The patch: {size} bytes; big.msi with it has big2.msi's files (`diff --only files`).\n\n| command | wall s | cpu s | peak RSS MB |\n|---|---|---|---|\n{}{}",
        work.display(),
        row("build msp --target big.msi --upgraded big2.msi", &msp),
        row("build msi payload/big (394 MB, 20,066 files)", &msi)
    );
    let out = root.join("target/bench/bench-build.md");
    std::fs::create_dir_all(out.parent().unwrap_or(root))?;
    std::fs::write(&out, &md)?;
    print!("{md}");
    println!("wrote {}", out.display());
    Ok(())
}
