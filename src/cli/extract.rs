//! `hotfixkit extract PKG -o DIR`: the administrative image (or a cabinet's, merge
//! module's or patch's files).

use super::args::Command;
use super::{collapse, json_out, out, usage, Ctx};
use hotfixkit::{ExecuteOptions, ExtractReport, ExtractRequest, Limits, Plan, Source};
use std::io::IsTerminal;
use std::path::Path;

pub fn run(ctx: &Ctx, c: Command) -> anyhow::Result<i32> {
    let Command::Extract {
        package,
        output,
        files,
        dry_run,
        patches,
        transforms,
        force_apply,
        short_names,
        verify_signatures,
        trust,
        max_output_bytes,
        max_entries,
        max_entry_bytes,
        out,
    } = c
    else {
        return Err(usage("internal: not an extract command"));
    };
    let d = Limits::default();
    let req = ExtractRequest {
        input: package,
        data: None,
        transforms,
        patches,
        force_apply,
        files: files.into_iter().filter(|f| !f.is_empty()).collect(),
        limits: Limits {
            max_output: max_output_bytes.unwrap_or(d.max_output),
            max_entries: max_entries.unwrap_or(d.max_entries),
            max_entry: max_entry_bytes.unwrap_or(d.max_entry),
        },
        short_names,
    };
    let signatures = if verify_signatures { Some(super::signature::store(&trust)?) } else { None };
    let r = extract_checked(ctx, &req, &output, dry_run, out.force, signatures)?;
    Ok(r.code)
}

/// What `extract` did, for the msiexec form's log.
pub struct Extracted {
    pub code: i32,
    pub verdict: String,
    pub report: Option<ExtractReport>,
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

/// Plan, then (unless a dry run) write, and render.
pub fn extract(
    ctx: &Ctx,
    req: &ExtractRequest,
    target: &Path,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<Extracted> {
    extract_checked(ctx, req, target, dry_run, force, None)
}

/// [`extract`], then the signatures of the package and of what was written, when `store`
/// is given.
fn extract_checked(
    ctx: &Ctx,
    req: &ExtractRequest,
    target: &Path,
    dry_run: bool,
    force: bool,
    store: Option<std::sync::Arc<hotfixkit::sign::TrustStore>>,
) -> anyhow::Result<Extracted> {
    let plan = hotfixkit::plan(req)?;
    if dry_run {
        if ctx.json {
            json_out(&ExtractReport::new(&plan, target, None))?;
        } else {
            if !ctx.quiet {
                for w in &plan.warnings {
                    eprintln!("hotfixkit: warning: {w}");
                }
            }
            out(&render_plan(&plan));
        }
        let verdict = format!("would extract {} files to {}", plan.entries().len(), target.display());
        return Ok(Extracted { code: 0, verdict, report: None });
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
    let outcome = hotfixkit::execute(&plan, target, &opts)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut report = if ctx.json {
        ExtractReport::new(&plan, target, Some(&outcome))
    } else {
        ExtractReport::brief(&plan, target, Some(&outcome))
    };
    if let Some(store) = &store {
        let pkg = match hotfixkit::sign::verify_file_with(&req.input, store) {
            Ok(r) => hotfixkit::manifest::SignedFile {
                path: req.input.display().to_string(),
                signature: hotfixkit::manifest::FileSignature::of(&r),
            },
            Err(e) => return Err(e.into()),
        };
        report.signatures.push(pkg);
        report.signatures.extend(hotfixkit::manifest::check_signatures(target, store)?);
    }
    let bad_signatures = report.signatures.iter().filter(|s| s.signature.is_failure()).count();
    let code = if !outcome.errors.is_empty() {
        2
    } else if bad_signatures > 0 {
        1
    } else {
        0
    };
    let mut verdict = format!(
        "extracted {} of {} files ({} bytes) to {}",
        outcome.files,
        outcome.planned,
        outcome.bytes,
        target.display()
    );
    if store.is_some() {
        verdict.push_str(&format!("; {} signatures checked, {bad_signatures} failed", report.signatures.len()));
    }
    if ctx.json {
        json_out(&report)?;
    } else {
        if !ctx.quiet {
            for w in &plan.warnings {
                eprintln!("hotfixkit: warning: {w}");
            }
        }
        for e in collapse(&outcome.errors) {
            eprintln!("hotfixkit: error: {e}");
        }
        for f in report.signatures.iter().filter(|s| s.signature.is_failure() || !ctx.quiet) {
            let sig = &f.signature;
            eprintln!(
                "hotfixkit: signature: {} {}: {}{}",
                sig.verdict.label(),
                f.path,
                sig.signer.as_deref().unwrap_or("-"),
                if sig.verdict.is_trusted() { String::new() } else { format!(" ({})", sig.reason) }
            );
        }
        let mut s = format!("{verdict}\n");
        if let (Some(a), false) = (&outcome.admin_package, ctx.quiet) {
            s.push_str(&format!("administrative package: {a}\n"));
        }
        if let (None, Some(_), false) = (&outcome.admin_package, &plan.admin_package, outcome.errors.is_empty()) {
            s.push_str("administrative package not written: the image is incomplete\n");
        }
        out(&s);
    }
    Ok(Extracted { code, verdict, report: Some(report) })
}
