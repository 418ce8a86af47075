//! `hotfixkit manifest import-kb` and `manifest lock`.

use super::args::{DataFormat, ManifestCommand};
use super::{json_out, out, pick_format, usage, Ctx};
use hotfixkit::WrittenFiles;
use std::path::Path;

pub fn run(ctx: &Ctx, m: ManifestCommand) -> anyhow::Result<i32> {
    match m {
        ManifestCommand::ImportKb { file, format, output, kb, split, out: o } => {
            let format = pick_format(ctx, format, DataFormat::Json, DataFormat::Yaml)?;
            import_kb(ctx, &file, format, output.as_deref(), kb, split, o.force)
        }
        ManifestCommand::Lock { path, output, product, kb, trust, out: o } => {
            lock(ctx, &path, &output, &product, kb, &trust, o.force)
        }
    }
}

fn kb_from_name(p: &Path) -> Option<u32> {
    let n = p.file_name()?.to_string_lossy().to_lowercase();
    let i = n.find("kb")?;
    let digits: String = n[i + 2..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
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
    let format = match format {
        DataFormat::Yaml => hotfixkit::manifest::DataFormat::Yaml,
        DataFormat::Json => hotfixkit::manifest::DataFormat::Json,
    };
    let input = || -> anyhow::Result<std::io::BufReader<std::fs::File>> {
        Ok(std::io::BufReader::with_capacity(1 << 16, hotfixkit::open_file(file)?))
    };
    let write = ctx.write(force);
    if let Some(o) = output {
        hotfixkit::refuse_inputs(o, &[file])?;
    }
    match (split, output) {
        (true, Some(dir)) => {
            let files = hotfixkit::manifest::import_kb_split(input()?, kb, format, dir, &write)
                .map_err(|e| e.with_path(file))?;
            report(ctx, files, dir)
        }
        (_, Some(p)) => {
            let w = hotfixkit::write_file_with(p, &write, &mut |sink| {
                hotfixkit::manifest::import_kb_to(input().map_err(to_lib)?, kb, format, sink).map(|_| ())
            })
            .map_err(|e| e.with_path(file))?;
            report(ctx, vec![w], p)
        }
        (_, None) => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            hotfixkit::manifest::import_kb_to(input()?, kb, format, &mut |b| {
                use std::io::Write;
                lock.write_all(b).map_err(|e| hotfixkit::Error::io(&e, "writing standard output"))
            })
            .map_err(|e| e.with_path(file))?;
            use std::io::Write;
            lock.flush()?;
            Ok(0)
        }
    }
}

fn to_lib(e: anyhow::Error) -> hotfixkit::Error {
    match e.downcast::<hotfixkit::Error>() {
        Ok(l) => l,
        Err(e) => hotfixkit::Error::new(hotfixkit::ErrorKind::Io, format!("{e:#}")),
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

fn lock(
    ctx: &Ctx,
    path: &Path,
    output: &Path,
    product: &str,
    kb: u32,
    trust: &super::args::Trust,
    force: bool,
) -> anyhow::Result<i32> {
    // Signatures are checked so that the lock pins each trusted file's publisher.
    let opts = hotfixkit::manifest::ObserveOptions { signatures: Some(super::signature::store(trust)?) };
    let o = hotfixkit::manifest::observe_with(path, &opts)?;
    if let Some(e) = o.errors.into_iter().next() {
        return Err(e.with_path(path).into());
    }
    let mut m = hotfixkit::manifest::lock(&o.files, product, kb);
    m.signer = o.package_signature.filter(|s| s.verdict.is_trusted()).and_then(|s| s.signer);
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
