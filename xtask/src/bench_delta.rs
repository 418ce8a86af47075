//! `cargo xtask bench-delta`: PA19 delta sizes and encode times against xdelta3 -9,
//! zstd -19 --patch-from and MSZIP of the whole new file, on
//! (a) a 10 MiB pseudo-random file with 1% of its bytes changed at random positions
//!     (seeded, so the same every run),
//! (b) the KB977203 fixtures' SP1 → SP2 PE files (extracted with the hotfixkit binary),
//! (c) two releases of real DLLs from PyPI wheels (pywin32 306 → 308, win32 and
//!     win_amd64), downloaded with pip into `target/bench-delta/wheels` (not committed).
//!
//! Each PA19 patch is applied again with `hotfixkit::delta::apply` and compared
//! with the new file. [`measure`] is the reusable part: one old/new pair in, one row out.

use anyhow::{bail, Context, Result};
use hotfixkit::delta::{create, CreateOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A named old/new pair.
pub type Pair = (String, Vec<u8>, Vec<u8>);

/// One measured pair.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// What the pair is.
    pub name: String,
    /// Old file bytes.
    pub old_size: u64,
    /// New file bytes.
    pub new_size: u64,
    /// PA19 patch bytes (default options).
    pub pa19: u64,
    /// PA19 encode time in milliseconds.
    pub pa19_ms: u128,
    /// PA19 patch bytes with the Wine-compatible options.
    pub pa19_wine: u64,
    /// xdelta3 -9 -e -s bytes (None when xdelta3 is absent).
    pub xdelta3: Option<u64>,
    /// xdelta3 time in milliseconds.
    pub xdelta3_ms: Option<u128>,
    /// zstd -19 --patch-from bytes.
    pub zstd: Option<u64>,
    /// zstd time in milliseconds.
    pub zstd_ms: Option<u128>,
    /// A one-file MSZIP cabinet of the new file (32 KiB deflate blocks), bytes.
    pub mszip: u64,
    /// What the encoder chose (rift, E8, normalisation), per old file.
    pub chosen: String,
}

fn tool(cmd: &mut Command, out: &Path) -> Option<(u64, u128)> {
    let t = Instant::now();
    let st = cmd.output().ok()?;
    let ms = t.elapsed().as_millis();
    if !st.status.success() {
        return None;
    }
    Some((std::fs::metadata(out).ok()?.len(), ms))
}

/// Measure one pair: PA19 (verified by applying it), xdelta3, zstd, MSZIP.
pub fn measure(name: &str, old: &[u8], new: &[u8]) -> Result<Row> {
    let t = Instant::now();
    let (patch, info) = create(&[old], new, &CreateOptions::default()).with_context(|| format!("{name}: create"))?;
    let pa19_ms = t.elapsed().as_millis();
    let back = hotfixkit::delta::apply(&patch, Some(old)).with_context(|| format!("{name}: apply"))?;
    let expect_same = !info.new_changed_by_normalisation;
    if expect_same && back != new {
        bail!("{name}: the patch does not reproduce the new file");
    }
    let (wine, _) = create(&[old], new, &CreateOptions { wine_compatible: true, ..Default::default() })?;
    if hotfixkit::delta::apply(&wine, Some(old))? != new {
        bail!("{name}: the Wine-compatible patch does not reproduce the new file");
    }
    let dir = std::env::temp_dir().join(format!("hotfixkit-bench-delta-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (o, n) = (dir.join("old"), dir.join("new"));
    std::fs::write(&o, old)?;
    std::fs::write(&n, new)?;
    let xd = dir.join("x.xd3");
    let x = tool(Command::new("xdelta3").args(["-9", "-e", "-f", "-s"]).arg(&o).arg(&n).arg(&xd), &xd);
    let zs = dir.join("z.zst");
    let z = tool(
        Command::new("zstd")
            .args(["-19", "-q", "-f", "--long=27"])
            .arg(format!("--patch-from={}", o.display()))
            .arg(&n)
            .arg("-o")
            .arg(&zs),
        &zs,
    );
    let _ = std::fs::remove_dir_all(&dir);
    let cab = hotfixkit::testing::write_cab(
        &[vec![hotfixkit::testing::CabInput {
            name: "new".into(),
            data: new.to_vec(),
            datetime: (2024, 1, 1, 0, 0, 0),
        }]],
        hotfixkit::testing::CabCompression::MsZip,
    )?;
    let chosen = info
        .old_files
        .iter()
        .map(|f| {
            format!(
                "rift {}({}) e8 {} norm {}{}",
                f.rift,
                f.rift_entries,
                if f.e8 { "on" } else { "off" },
                if info.pe_normalisation { info.normalisation_steps.join("+") } else { "off".into() },
                if info.large_window { " large" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Row {
        name: name.into(),
        old_size: old.len() as u64,
        new_size: new.len() as u64,
        pa19: patch.len() as u64,
        pa19_ms,
        pa19_wine: wine.len() as u64,
        xdelta3: x.map(|v| v.0),
        xdelta3_ms: x.map(|v| v.1),
        zstd: z.map(|v| v.0),
        zstd_ms: z.map(|v| v.1),
        mszip: cab.len() as u64,
        chosen,
    })
}

/// The 1%-changed 10 MiB pair (deterministic).
pub fn one_percent_pair() -> (Vec<u8>, Vec<u8>) {
    let mut s: u64 = 0x1234_5678_9ABC_DEF1;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let n = 10 << 20;
    let old: Vec<u8> = (0..n).map(|_| next() as u8).collect();
    let mut new = old.clone();
    for _ in 0..n / 100 {
        let p = (next() % n as u64) as usize;
        new[p] = new[p].wrapping_add(1 + (next() % 255) as u8);
    }
    (old, new)
}

fn hotfixkit_bin(root: &Path) -> Result<PathBuf> {
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "hotfixkit"])
        .current_dir(root)
        .status()?;
    if !st.success() {
        bail!("building hotfixkit failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    Ok(target.join("release/hotfixkit"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The KB977203 SP1 → SP2 PE pairs (same relative path in both administrative images).
pub fn kb977203_pairs(root: &Path) -> Result<Vec<Pair>> {
    let bin = hotfixkit_bin(root)?;
    let work = std::env::temp_dir().join(format!("hotfixkit-bench-kb-{}", std::process::id()));
    for sp in [1, 2] {
        let st = Command::new(&bin)
            .args(["extract", "-q"])
            .arg(root.join(format!("fixtures/kb977203/sp{sp}/SCCM2007-SP{sp}-KB977203-ENU.msi")))
            .arg("--targetdir")
            .arg(work.join(format!("sp{sp}")))
            .status()?;
        if !st.success() {
            bail!("extracting SP{sp} failed");
        }
    }
    let mut pairs = Vec::new();
    for p in files_under(&work.join("sp1")) {
        let rel = p.strip_prefix(work.join("sp1"))?.to_path_buf();
        let q = work.join("sp2").join(&rel);
        let name = rel.to_string_lossy().to_lowercase();
        if !(name.ends_with(".dll") || name.ends_with(".exe")) || !q.is_file() {
            continue;
        }
        pairs.push((rel.to_string_lossy().into_owned(), std::fs::read(&p)?, std::fs::read(&q)?));
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(pairs)
}

/// pywin32 306 → 308 DLL pairs (win32 and win_amd64, CPython 3.11), downloaded once.
pub fn wheel_pairs(root: &Path) -> Result<Vec<Pair>> {
    let cache = root.join("target/bench-delta/wheels");
    let mut pairs = Vec::new();
    for plat in ["win32", "win_amd64"] {
        let mut dirs = Vec::new();
        for ver in ["306", "308"] {
            let d = cache.join(format!("pywin32-{ver}-{plat}"));
            if !d.join("pywin32_system32").is_dir() {
                std::fs::create_dir_all(&d)?;
                let st = Command::new("python3")
                    .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--platform", plat])
                    .args(["--python-version", "3.11", &format!("pywin32=={ver}"), "-d"])
                    .arg(&d)
                    .status()
                    .context("running pip")?;
                if !st.success() {
                    bail!("pip download pywin32=={ver} ({plat}) failed");
                }
                let whl = files_under(&d).into_iter().find(|p| p.extension().is_some_and(|e| e == "whl"));
                let whl = whl.context("no wheel downloaded")?;
                let st = Command::new("unzip").args(["-q", "-o"]).arg(&whl).arg("-d").arg(&d).status()?;
                if !st.success() {
                    bail!("unzip failed");
                }
            }
            dirs.push(d);
        }
        for f in ["pywin32_system32/pythoncom311.dll", "pywin32_system32/pywintypes311.dll", "win32/win32api.pyd"] {
            let (a, b) = (dirs[0].join(f), dirs[1].join(f));
            if a.is_file() && b.is_file() {
                pairs.push((format!("pywin32 306→308 {plat} {f}"), std::fs::read(a)?, std::fs::read(b)?));
            }
        }
    }
    Ok(pairs)
}

fn opt(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

/// Run every case, print a table and write `target/bench-delta.json`.
pub fn run(root: &Path, which: &[String]) -> Result<()> {
    let all = which.is_empty();
    let want = |k: &str| all || which.iter().any(|w| w == k);
    let mut rows = Vec::new();
    if want("one-percent") {
        let (o, n) = one_percent_pair();
        rows.push(measure("10 MiB random, 1% of bytes changed", &o, &n)?);
    }
    if want("kb977203") {
        for (name, o, n) in kb977203_pairs(root)? {
            rows.push(measure(&format!("KB977203 SP1→SP2 {name}"), &o, &n)?);
        }
    }
    if want("wheels") {
        for (name, o, n) in wheel_pairs(root)? {
            rows.push(measure(&name, &o, &n)?);
        }
    }
    println!(
        "| pair | old | new | PA19 | PA19 ms | PA19 (Wine mode) | xdelta3 -9 | xdelta3 ms | zstd -19 | zstd ms | MSZIP cab | chosen |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.old_size,
            r.new_size,
            r.pa19,
            r.pa19_ms,
            r.pa19_wine,
            opt(r.xdelta3),
            r.xdelta3_ms.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
            opt(r.zstd),
            r.zstd_ms.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
            r.mszip,
            r.chosen
        );
    }
    let out = root.join("target/bench-delta.json");
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&rows)? + "\n")?;
    println!("wrote {}", out.display());
    Ok(())
}
