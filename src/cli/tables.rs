//! `hotfixkit tables PKG [TABLE…]`: the database (as transforms and patches leave it)
//! as text, JSON, CSV or IDT.

use super::args::TableFormat;
use super::{json_out, out, Ctx};
use anyhow::bail;
use hotfixkit::tables::{self, Format};
use std::path::{Path, PathBuf};

fn format_of(f: TableFormat) -> Format {
    match f {
        TableFormat::Text => Format::Text,
        TableFormat::Json => Format::Json,
        TableFormat::Csv => Format::Csv,
        TableFormat::Idt => Format::Idt,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    ctx: &Ctx,
    package: &Path,
    names: &[String],
    format: TableFormat,
    output: Option<&Path>,
    transforms: &[PathBuf],
    patches: &[PathBuf],
    force_apply: bool,
) -> anyhow::Result<i32> {
    let db = tables::open_view(package, transforms, patches, force_apply)?;
    let sel = tables::select(&db, names)?;
    let format = if ctx.json { Format::Json } else { format_of(format) };
    if let Some(dir) = output {
        tables::write_tables(&db, &sel, format, dir, &ctx.write(true))?;
        return Ok(0);
    }
    match format {
        Format::Json => {
            if sel.len() == 1 {
                json_out(&tables::to_json(sel[0]))?;
            } else {
                json_out(&sel.iter().map(|t| tables::to_json(t)).collect::<Vec<_>>())?;
            }
        }
        Format::Csv => {
            let parts: Vec<String> = sel.iter().map(|t| tables::to_csv(t)).collect();
            out(&parts.join("\r\n"));
        }
        Format::Text => {
            let parts: Vec<String> = sel.iter().map(|t| tables::to_text(t)).collect();
            out(&parts.join("\n"));
        }
        Format::Idt => {
            if sel.len() != 1 {
                bail!("--format idt writes one file per table: give -o DIR, or name one table");
            }
            out(&tables::to_idt(&db, sel[0])?.text);
        }
    }
    Ok(0)
}
