//! Project tasks: `cargo xtask fixtures [--check]`, `man`, `completions`.

/// The command line's argument types, the same file the binary compiles.
#[allow(dead_code)]
#[path = "../../src/cli/args.rs"]
mod args;
mod bench;
mod bench_build;
mod bench_delta;
mod fixtures;
mod hostile;
mod kb977203;
mod wine;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The manifest schema and one JSON Schema per command's `--json` output.
fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    use schemars::schema_for;
    vec![
        ("manifests/manifest.schema.json", schema_for!(hotfixkit::manifest::Manifest)),
        ("docs/schemas/info.schema.json", schema_for!(hotfixkit::info::Info)),
        ("docs/schemas/tables.schema.json", schema_for!(Vec<hotfixkit::tables::TableJson>)),
        ("docs/schemas/extract.schema.json", schema_for!(hotfixkit::ExtractReport)),
        ("docs/schemas/verify.schema.json", schema_for!(hotfixkit::manifest::VerifyReport)),
        ("docs/schemas/import-kb.schema.json", schema_for!(hotfixkit::manifest::ManifestSet)),
        ("docs/schemas/written.schema.json", schema_for!(hotfixkit::WrittenFiles)),
        ("docs/schemas/streams.schema.json", schema_for!(hotfixkit::msi::StreamList)),
        ("docs/schemas/streams-written.schema.json", schema_for!(hotfixkit::StreamsReport)),
        ("docs/schemas/ccmcertfix.schema.json", schema_for!(hotfixkit::hotfix::CertFixReport)),
        ("docs/schemas/stage.schema.json", schema_for!(hotfixkit::hotfix::StagePlan)),
        ("docs/schemas/delta-info.schema.json", schema_for!(hotfixkit::delta::Header)),
        ("docs/schemas/delta-create.schema.json", schema_for!(hotfixkit::delta::CreateInfo)),
        ("docs/schemas/build-msp.schema.json", schema_for!(hotfixkit::build::PatchReport)),
        ("docs/schemas/build-msi.schema.json", schema_for!(hotfixkit::build::MsiReport)),
        ("docs/schemas/build-mst.schema.json", schema_for!(hotfixkit::build::TransformReport)),
        ("docs/schemas/diff.schema.json", schema_for!(hotfixkit::diff::DiffReport)),
        ("docs/schemas/signature.schema.json", schema_for!(hotfixkit::sign::SignatureReport)),
        ("docs/schemas/error.schema.json", schema_for!(hotfixkit::ErrorReport)),
    ]
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("help");
    match cmd {
        "fixtures" => {
            let check = args.iter().any(|a| a == "--check");
            fixtures::run(&root(), &root().join("fixtures"), check)
        }
        "man" => {
            let out = root().join("target/man");
            std::fs::create_dir_all(&out)?;
            let cmd = <args::Cli as clap::CommandFactory>::command();
            clap_mangen::generate_to(cmd, &out).context("writing man pages")?;
            println!("man pages in {}", out.display());
            Ok(())
        }
        "completions" => {
            let out = root().join("target/completions");
            std::fs::create_dir_all(&out)?;
            for shell in [
                clap_complete::Shell::Bash,
                clap_complete::Shell::Zsh,
                clap_complete::Shell::Fish,
                clap_complete::Shell::PowerShell,
            ] {
                let mut cmd = <args::Cli as clap::CommandFactory>::command();
                clap_complete::generate_to(shell, &mut cmd, "hotfixkit", &out)?;
            }
            println!("completions in {}", out.display());
            Ok(())
        }
        "bench" => {
            let quick = args.iter().any(|a| a == "--quick");
            let rounds = args
                .iter()
                .position(|a| a == "--rounds")
                .and_then(|i| args.get(i + 1))
                .and_then(|r| r.parse().ok())
                .unwrap_or(if quick { 3 } else { 5 });
            let scale = args.iter().position(|a| a == "--big-scale").and_then(|i| args.get(i + 1)).map(String::as_str);
            if args.iter().any(|a| a == "--builders") {
                return bench_build::run(&root(), rounds);
            }
            let place = args.iter().position(|a| a == "--place").and_then(|i| args.get(i + 1)).map(String::as_str);
            if place.is_some_and(|p| p != "disk" && p != "tmpfs") {
                bail!("--place takes disk or tmpfs");
            }
            match scale {
                Some(s) => bench::run_scaled(&root(), s, rounds, place),
                None => bench::run(&root(), quick, rounds, place),
            }
        }
        "wine-oracle" => wine::run(&root()),
        "bench-delta" => bench_delta::run(&root(), &args[1..]),
        "schema" => {
            let check = args.iter().any(|a| a == "--check");
            let mut stale = Vec::new();
            for (rel, schema) in schemas() {
                let p = root().join(rel);
                let text = serde_json::to_string_pretty(&schema)? + "\n";
                if check {
                    if std::fs::read_to_string(&p).unwrap_or_default() != text {
                        stale.push(p.display().to_string());
                    }
                } else {
                    if let Some(d) = p.parent() {
                        std::fs::create_dir_all(d)?;
                    }
                    std::fs::write(&p, text)?;
                    println!("wrote {}", p.display());
                }
            }
            if !stale.is_empty() {
                bail!("out of date (run `cargo xtask schema`): {}", stale.join(", "));
            }
            if check {
                println!("schemas up to date");
            }
            Ok(())
        }
        "pe-crosscheck" => {
            let dir = args.get(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/lib/x86_64-linux-gnu/wine"));
            pe_crosscheck(&dir)
        }
        _ => {
            bail!("usage: cargo xtask fixtures [--check] | schema [--check] | man | completions | pe-crosscheck [DIR] | bench [--quick] [--rounds N] [--big-scale F] [--place disk|tmpfs] [--builders] | bench-delta [one-percent|kb977203|wheels]... | wine-oracle")
        }
    }
}

/// Compare our PE reader with python3-pefile on every .dll/.exe under `dir`.
fn pe_crosscheck(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?.flatten() {
            let p = e.path();
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let n = p.to_string_lossy().to_lowercase();
                if n.ends_with(".dll") || n.ends_with(".exe") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    let script = root().join("xtask/scripts/pefile_versions.py");
    let mut child = std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running python3 with pefile (apt-get install python3-pefile)")?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().context("stdin")?;
        for f in &files {
            stdin.write_all(f.to_string_lossy().as_bytes())?;
            stdin.write_all(b"\0")?;
        }
    }
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut agree, mut differ, mut pe_files) = (0usize, 0usize, 0usize);
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 3 || f[1] == "error" {
            continue;
        }
        pe_files += 1;
        let data = std::fs::read(f[0])?;
        let ours = match hotfixkit::pe::pe_info(&data) {
            Ok(i) => {
                let m = match i.machine {
                    hotfixkit::pe::Machine::X86 => 0x14c,
                    hotfixkit::pe::Machine::X64 => 0x8664,
                    hotfixkit::pe::Machine::Ia64 => 0x200,
                    hotfixkit::pe::Machine::Arm64 => 0xaa64,
                    hotfixkit::pe::Machine::Arm => 0x1c4,
                    hotfixkit::pe::Machine::Other(m) => m,
                };
                let v = i.version.and_then(|v| v.file_version).unwrap_or_else(|| "-".into());
                (format!("0x{m:04x}"), v)
            }
            Err(e) => ("error".into(), e.to_string()),
        };
        if ours.0 == f[1] && ours.1 == f[2] {
            agree += 1;
        } else {
            differ += 1;
            println!("DIFFER {}: pefile {} {} ours {} {}", f[0], f[1], f[2], ours.0, ours.1);
        }
    }
    println!("pe-crosscheck: {pe_files} PE files under {}: {agree} agree, {differ} differ", dir.display());
    if differ > 0 {
        bail!("{differ} files differ");
    }
    Ok(())
}
