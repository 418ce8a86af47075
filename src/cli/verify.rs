//! `hotfixkit verify PATH --manifest M`: a tree, a package or a file against a manifest.

use super::args::ReportFormat;
use super::{out, write_file, Ctx};
use hotfixkit::manifest;
use std::path::Path;

pub fn run(
    ctx: &Ctx,
    path: &Path,
    manifest_path: &Path,
    format: ReportFormat,
    output: Option<&Path>,
    strict: bool,
) -> anyhow::Result<i32> {
    let opts = manifest::VerifyOptions { strict };
    let report = manifest::verify_path_with_manifest_file(path, manifest_path, &opts)?;
    let format = if ctx.json { ReportFormat::Json } else { format };
    let text = match format {
        ReportFormat::Text => manifest::render_text(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Junit => manifest::render_junit(&report),
    };
    match output {
        Some(p) => write_file(p, text.as_bytes(), ctx.write(true))?,
        None => out(&text),
    }
    Ok(if report.has_findings() || !report.errors.is_empty() { 1 } else { 0 })
}
