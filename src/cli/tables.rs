//! `hotfixkit tables PKG [TABLE…]`: the database (as transforms and patches leave it)
//! as text, JSON, CSV or IDT.

use super::args::{Command, TableFormat};
use super::{json_out, out, pick_format, usage, Ctx};
use hotfixkit::tables::{self, Format};

pub fn run(ctx: &Ctx, c: Command) -> anyhow::Result<i32> {
    let Command::Tables { package, tables: names, format, output, transforms, patches, force_apply, out: o } = c else {
        return Err(usage("internal: not a tables command"));
    };
    let format = match pick_format(ctx, format, TableFormat::Json, TableFormat::Text)? {
        TableFormat::Text => Format::Text,
        TableFormat::Json => Format::Json,
        TableFormat::Csv => Format::Csv,
        TableFormat::Idt => Format::Idt,
    };
    let (db, warnings) = tables::open_view(&package, &transforms, &patches)?;
    if !force_apply && !ctx.quiet {
        for w in &warnings {
            eprintln!("hotfixkit: warning: {w}");
        }
    }
    let sel = tables::select(&db, &names)?;
    if let Some(dir) = output {
        let files = tables::write_tables(&db, &sel, format, &dir, &ctx.write(o.force))?;
        if ctx.json {
            json_out(&hotfixkit::WrittenFiles { files })?;
        } else if !ctx.quiet {
            out(&format!("wrote {} files to {}\n", files.len(), dir.display()));
        }
        return Ok(0);
    }
    match format {
        // Always a list, one object per table.
        Format::Json => json_out(&sel.iter().map(|t| tables::table_json(t)).collect::<Vec<_>>())?,
        Format::Csv => out(&sel.iter().map(|t| tables::to_csv(t)).collect::<Vec<_>>().join("\r\n")),
        Format::Text => out(&sel.iter().map(|t| tables::to_text(t)).collect::<Vec<_>>().join("\n")),
        Format::Idt => {
            if sel.len() != 1 {
                return Err(usage("--format idt writes one file per table: give -o DIR, or name one table"));
            }
            out(&tables::to_idt(&db, sel[0])?.text);
        }
    }
    Ok(0)
}
