//! `hotfixkit extract` and the msiexec form (`hotfixkit msiexec /a PKG … TARGETDIR=DIR`).

use super::args::{Cli, Command};
use super::{json_out, out, Ctx};
use anyhow::{anyhow, bail};
use hotfixkit::{ExecuteOptions, ExtractRequest, Limits, Plan, Source};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn run(ctx: &Ctx, c: Command) -> anyhow::Result<i32> {
    let Command::Extract {
        package,
        targetdir,
        files,
        dry_run,
        force,
        patches,
        transforms,
        force_apply,
        max_output_bytes,
        max_entries,
        max_entry_bytes,
    } = c
    else {
        bail!("internal: not an extract command");
    };
    let d = Limits::default();
    let req = ExtractRequest {
        input: PathBuf::from(package.join(" ")),
        data: None,
        transforms,
        patches,
        force_apply,
        files,
        limits: Limits {
            max_output: max_output_bytes.unwrap_or(d.max_output),
            max_entries: max_entries.unwrap_or(d.max_entries),
            max_entry: max_entry_bytes.unwrap_or(d.max_entry),
        },
    };
    extract(ctx, &req, &targetdir, dry_run, force)
}

fn render_plan(plan: &Plan) -> String {
    let mut s = String::new();
    for e in plan.entries() {
        let src = match &e.source {
            Source::Cabinet { cabinet, entry, .. } => format!("{cabinet}:{entry}"),
            Source::Loose { path } => path.display().to_string(),
            Source::Unavailable { reason } => format!("UNAVAILABLE: {reason}"),
            Source::Delta { patch, .. } => match patch.as_ref() {
                Source::Cabinet { cabinet, entry, .. } => format!("DELTA {cabinet}:{entry} applied to the base file"),
                _ => "DELTA".to_string(),
            },
        };
        s.push_str(&format!("{}\t{}\t{}\n", e.path, e.size, src));
    }
    if let Some(a) = &plan.admin_package {
        s.push_str(&format!("{a}\t(administrative copy of the package)\n"));
    }
    s
}

fn extract(ctx: &Ctx, req: &ExtractRequest, targetdir: &Path, dry_run: bool, force: bool) -> anyhow::Result<i32> {
    let plan = hotfixkit::plan(req)?;
    if dry_run {
        if ctx.json {
            json_out(&plan)?;
        } else {
            out(&render_plan(&plan));
        }
        return Ok(0);
    }
    let total: u64 = plan.entries().iter().map(|e| e.size).sum();
    let show = !ctx.quiet && !ctx.json && std::io::stderr().is_terminal();
    let bar = show.then(|| {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        {
            b.set_style(style);
        }
        b
    });
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let opts = ExecuteOptions { write: ctx.write(force), progress: Some(&progress), count_only: !ctx.json };
    let outcome = hotfixkit::execute(&plan, targetdir, &opts)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let errors = collapse_time_limit(&outcome.errors);
    if ctx.json {
        json_out(&serde_json::json!({
            "package": plan.package,
            "target": targetdir.display().to_string(),
            "files": outcome.written,
            "admin_package": outcome.admin_package,
            "warnings": plan.warnings,
            "errors": errors,
        }))?;
    } else {
        if !ctx.quiet {
            for w in &plan.warnings {
                eprintln!("hotfixkit: warning: {w}");
            }
            let mut s =
                format!("extracted {} files ({} bytes) to {}\n", outcome.files, outcome.bytes, targetdir.display());
            if let Some(a) = &outcome.admin_package {
                s.push_str(&format!("administrative package: {a}\n"));
            }
            out(&s);
        }
        for e in &errors {
            eprintln!("hotfixkit: error: {e}");
        }
    }
    Ok(if errors.is_empty() { 0 } else { 2 })
}

/// The errors as lines. Once the time budget is spent every remaining entry fails the
/// same way: the first is reported with how many more were not written, not one line
/// each.
fn collapse_time_limit(errors: &[hotfixkit::Error]) -> Vec<String> {
    let is_limit = |e: &hotfixkit::Error| e.kind() == hotfixkit::ErrorKind::TimeLimit;
    let n = errors.iter().filter(|e| is_limit(e)).count();
    let mut out: Vec<String> = Vec::new();
    let mut first = true;
    for e in errors {
        if !is_limit(e) || n < 2 {
            out.push(e.to_string());
        } else if first {
            first = false;
            out.push(format!("{e} (--time-limit; {} more entries not written for the same reason)", n - 1));
        }
    }
    out
}

/// Parse an msiexec command line into (package, targetdir, patches).
pub fn parse_msiexec(args: &[String]) -> anyhow::Result<(PathBuf, PathBuf, Vec<PathBuf>)> {
    let mut package = None;
    let mut patches = Vec::new();
    let mut targetdir = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let lower = a.to_lowercase();
        if let Some(sw) = lower.strip_prefix('/').or_else(|| lower.strip_prefix('-')) {
            match sw {
                "a" => {
                    let p = args.get(i + 1).ok_or_else(|| anyhow!("msiexec: /a needs a package"))?;
                    package = Some(PathBuf::from(p));
                    i += 1;
                }
                "qb" | "qn" | "q" | "qr" | "qf" | "passive" | "qb-" | "qb+" | "qb!" | "qn+" | "qb!-" | "quiet" | "norestart" => {}
                "p" => {
                    let p = args.get(i + 1).ok_or_else(|| anyhow!("msiexec: /p needs a patch"))?;
                    patches.extend(p.split(';').filter(|s| !s.is_empty()).map(PathBuf::from));
                    i += 1;
                }
                other => bail!("msiexec: switch /{other} is not supported here (only /a and /p with /qb, /qn, /passive, /quiet, /norestart)"),
            }
        } else if let Some((k, v)) = a.split_once('=') {
            let v = v.trim_matches('"');
            if k.eq_ignore_ascii_case("TARGETDIR") {
                targetdir = Some(PathBuf::from(v));
            } else {
                bail!("msiexec: property {k} is not supported here (only TARGETDIR)");
            }
        } else {
            bail!("msiexec: unexpected argument {a:?}");
        }
        i += 1;
    }
    let package = package.ok_or_else(|| anyhow!("msiexec: only /a PACKAGE is supported; give /a"))?;
    let targetdir = targetdir.ok_or_else(|| anyhow!("msiexec: TARGETDIR=DIR is required with /a"))?;
    Ok((package, targetdir, patches))
}

pub fn msiexec(ctx: &Ctx, args: &[String]) -> anyhow::Result<i32> {
    // msiexec's own help switches, and the usual ones, print this command's help.
    if args.iter().any(|a| matches!(a.to_lowercase().as_str(), "/?" | "-?" | "/h" | "/help" | "-h" | "--help")) {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        if let Some(sub) = cmd.find_subcommand_mut("msiexec") {
            out(&sub.render_long_help().to_string());
        }
        return Ok(0);
    }
    let (package, targetdir, patches) = parse_msiexec(args)?;
    let req = ExtractRequest { input: package, patches, ..Default::default() };
    extract(ctx, &req, &targetdir, false, false)
}
