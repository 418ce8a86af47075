//! Project tasks: `cargo xtask fixtures [--check]`, `man`, `completions`.

mod fixtures;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("help");
    match cmd {
        "fixtures" => {
            let check = args.iter().any(|a| a == "--check");
            fixtures::run(&root().join("fixtures"), check)
        }
        "man" => {
            let out = root().join("target/man");
            std::fs::create_dir_all(&out)?;
            let cmd = <hotfixkit::cli::Cli as clap::CommandFactory>::command();
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
                let mut cmd = <hotfixkit::cli::Cli as clap::CommandFactory>::command();
                clap_complete::generate_to(shell, &mut cmd, "hotfixkit", &out)?;
            }
            println!("completions in {}", out.display());
            Ok(())
        }
        _ => bail!("usage: cargo xtask fixtures [--check] | man | completions"),
    }
}
