//! `hotfixkit verify PATH --manifest M`: a tree, a package or a file against a manifest.

use super::args::{Command, ReportFormat};
use super::{out, pick_format, usage, write_file, Ctx};
use hotfixkit::manifest;

pub fn run(ctx: &Ctx, c: Command) -> anyhow::Result<i32> {
    let Command::Verify {
        path,
        manifest: manifest_path,
        format,
        output,
        strict,
        check_times,
        failures_only,
        signatures,
        trust,
        out: o,
    } = c
    else {
        return Err(usage("internal: not a verify command"));
    };
    let format = pick_format(ctx, format, ReportFormat::Json, ReportFormat::Text)?;
    let signatures = if signatures || !trust.trust.is_empty() { Some(super::signature::store(&trust)?) } else { None };
    let opts = manifest::VerifyOptions { strict, check_times, signatures };
    let report = manifest::verify_path_with_manifest_file(&path, &manifest_path, &opts)?;
    let text = match format {
        ReportFormat::Text if ctx.quiet => manifest::render_summary(&report),
        ReportFormat::Text => manifest::render_text(&report, failures_only),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Junit => manifest::render_junit(&report),
    };
    match output {
        Some(p) => {
            hotfixkit::refuse_inputs(&p, &[&path, &manifest_path])?;
            write_file(&p, text.as_bytes(), ctx.write(o.force))?;
            if format != ReportFormat::Json {
                out(&manifest::render_summary(&report));
            }
        }
        None => out(&text),
    }
    Ok(if report.has_findings() || !report.errors.is_empty() { 1 } else { 0 })
}
