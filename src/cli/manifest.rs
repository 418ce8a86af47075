//! `hotfixkit manifest import-kb` and `manifest lock`.

use super::args::{DataFormat, ManifestCommand};
use super::{out, write_file, Ctx};
use anyhow::{anyhow, bail, Context};
use std::path::Path;

pub fn run(ctx: &Ctx, m: ManifestCommand) -> anyhow::Result<i32> {
    match m {
        ManifestCommand::ImportKb { file, format, output, kb, split } => {
            import_kb(ctx, &file, format, output.as_deref(), kb, split.as_deref())
        }
        ManifestCommand::Lock { path, output, product, kb } => lock(ctx, &path, &output, &product, kb),
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
    split: Option<&Path>,
) -> anyhow::Result<i32> {
    let kb = kb
        .or_else(|| kb_from_name(file))
        .ok_or_else(|| anyhow!("{}: no KB number in the file name; give --kb", file.display()))?;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let set = hotfixkit::manifest::import_kb(&text, kb).map_err(|e| e.with_path(file))?;
    let format = if ctx.json { DataFormat::Json } else { format };
    if let Some(dir) = split {
        for m in &set.manifests {
            let sp = m.service_pack.as_deref().unwrap_or("all").to_lowercase();
            let ext = match format {
                DataFormat::Yaml => "yaml",
                DataFormat::Json => "json",
            };
            let p = dir.join(format!("kb{kb}-{sp}.{ext}"));
            write_file(&p, render(m, || m.to_yaml(), format)?.as_bytes(), ctx.write(true))?;
        }
        return Ok(0);
    }
    let text = render(&set, || set.to_yaml(), format)?;
    match output {
        Some(p) => write_file(p, text.as_bytes(), ctx.write(true))?,
        None => out(&text),
    }
    Ok(0)
}

fn lock(ctx: &Ctx, path: &Path, output: &Path, product: &str, kb: u32) -> anyhow::Result<i32> {
    let (observed, errors) = hotfixkit::manifest::observe(path)?;
    if let Some(e) = errors.first() {
        bail!("{}: {e}", path.display());
    }
    let m = hotfixkit::manifest::lock(&observed, product, kb);
    // `.json` gives JSON; anything else YAML.
    let text = if output.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        serde_json::to_string_pretty(&m)? + "\n"
    } else {
        m.to_yaml()
    };
    write_file(output, text.as_bytes(), ctx.write(true))?;
    Ok(0)
}
