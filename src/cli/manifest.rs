//! `hotfixkit manifest import-kb` and `manifest lock`.

use super::args::{DataFormat, ManifestCommand};
use super::{json_out, out, pick_format, usage, Ctx};
use anyhow::Context;
use hotfixkit::WrittenFiles;
use std::path::Path;

pub fn run(ctx: &Ctx, m: ManifestCommand) -> anyhow::Result<i32> {
    match m {
        ManifestCommand::ImportKb { file, format, output, kb, split, out: o } => {
            let format = pick_format(ctx, format, DataFormat::Json, DataFormat::Yaml)?;
            import_kb(ctx, &file, format, output.as_deref(), kb, split, o.force)
        }
        ManifestCommand::Lock { path, output, product, kb, out: o } => lock(ctx, &path, &output, &product, kb, o.force),
    }
}

fn kb_from_name(p: &Path) -> Option<u32> {
    let n = p.file_name()?.to_string_lossy().to_lowercase();
    let i = n.find("kb")?;
    let digits: String = n[i + 2..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn render<T: serde::Serialize>(v: &T, yaml: impl FnOnce() -> String, format: DataFormat) -> anyhow::Result<String> {
    Ok(match format {
        DataFormat::Yaml => yaml(),
        DataFormat::Json => serde_json::to_string_pretty(v)? + "\n",
    })
}

fn import_kb(
    ctx: &Ctx,
    file: &Path,
    format: DataFormat,
    output: Option<&Path>,
    kb: Option<u32>,
    split: bool,
    force: bool,
) -> anyhow::Result<i32> {
    let kb = kb
        .or_else(|| kb_from_name(file))
        .ok_or_else(|| usage(format!("{}: no KB number in the file name; give --kb", file.display())))?;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let set = hotfixkit::manifest::import_kb(&text, kb).map_err(|e| e.with_path(file))?;
    let write = ctx.write(force);
    if let Some(o) = output {
        hotfixkit::refuse_inputs(o, &[file])?;
    }
    match (split, output) {
        (true, Some(dir)) => {
            let mut files = Vec::new();
            for m in &set.manifests {
                let sp = m.service_pack.as_deref().unwrap_or("all").to_lowercase();
                let ext = match format {
                    DataFormat::Yaml => "yaml",
                    DataFormat::Json => "json",
                };
                let p = dir.join(format!("kb{kb}-{sp}.{ext}"));
                files.push(hotfixkit::write_file(&p, render(m, || m.to_yaml(), format)?.as_bytes(), &write)?);
            }
            report(ctx, files, dir)
        }
        (_, Some(p)) => {
            let w = hotfixkit::write_file(p, render(&set, || set.to_yaml(), format)?.as_bytes(), &write)?;
            report(ctx, vec![w], p)
        }
        (_, None) => {
            out(&render(&set, || set.to_yaml(), format)?);
            Ok(0)
        }
    }
}

fn report(ctx: &Ctx, files: Vec<hotfixkit::Written>, at: &Path) -> anyhow::Result<i32> {
    if ctx.json {
        json_out(&WrittenFiles { files })?;
    } else if !ctx.quiet {
        out(&format!("wrote {} file{} to {}\n", files.len(), if files.len() == 1 { "" } else { "s" }, at.display()));
    }
    Ok(0)
}

fn lock(ctx: &Ctx, path: &Path, output: &Path, product: &str, kb: u32, force: bool) -> anyhow::Result<i32> {
    let (observed, errors) = hotfixkit::manifest::observe(path)?;
    if let Some(e) = errors.into_iter().next() {
        return Err(e.with_path(path).into());
    }
    let m = hotfixkit::manifest::lock(&observed, product, kb);
    hotfixkit::refuse_inputs(output, &[path])?;
    // `.json` gives JSON; anything else YAML.
    let text = if output.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        serde_json::to_string_pretty(&m)? + "\n"
    } else {
        m.to_yaml()
    };
    let w = hotfixkit::write_file(output, text.as_bytes(), &ctx.write(force))?;
    report(ctx, vec![w], output)
}
