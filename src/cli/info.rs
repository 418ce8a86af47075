//! `hotfixkit info FILE`: what a file is and what it holds.

use super::{json_out, out, Ctx};
use hotfixkit::info::{describe, CabInfo};
use hotfixkit::msi::PropValue;
use std::path::Path;

pub fn run(ctx: &Ctx, file: &Path) -> anyhow::Result<i32> {
    let info = describe(file)?;
    if ctx.json {
        json_out(&info)?;
        return Ok(0);
    }
    let mut s = format!("{}: {:?}, {} bytes\n", info.file, info.kind, info.size);
    if let Some(c) = &info.cab {
        s.push_str(&render_cab(c, ""));
    }
    if let Some(pe) = &info.pe {
        s.push_str(&format!("machine: {}\n", pe.machine.platform()));
        if let Some(v) = &pe.version {
            s.push_str(&format!("file version: {}\n", v.file_version.as_deref().unwrap_or("-")));
            s.push_str(&format!("product version: {}\n", v.product_version.as_deref().unwrap_or("-")));
            for (k, val) in &v.strings {
                s.push_str(&format!("  {k}: {val}\n"));
            }
        }
    }
    if let Some(p) = &info.package {
        s.push_str(&format!("package type: {:?} (CLSID {})\n", p.kind, p.clsid));
        if let Some(t) = &p.truncated {
            s.push_str(&format!("TRUNCATED: {} of {} bytes present\n", t.actual, t.expected));
        }
        s.push_str("summary information:\n");
        for prop in &p.summary {
            let v = match &prop.value {
                PropValue::Int(i) => i.to_string(),
                PropValue::Str(x) => x.clone(),
                PropValue::Time(x) => x.clone(),
                PropValue::Other(t) => format!("(type {t})"),
            };
            s.push_str(&format!("  {:<22} {}\n", prop.name, v));
        }
        if let Some(e) = &p.table_error {
            s.push_str(&format!("tables: could not be read: {e}\n"));
        }
        s.push_str(&format!("tables ({}):\n", p.tables.len()));
        for t in &p.tables {
            s.push_str(&format!("  {:<32} {:>7} rows\n", t.name, t.rows));
        }
        s.push_str(&format!("streams ({}):\n", p.streams.len()));
        for st in &p.streams {
            s.push_str(&format!("  {:<32} {:>10} bytes\n", st.name, st.size));
        }
        if !p.storages.is_empty() {
            s.push_str(&format!("storages ({}):\n", p.storages.len()));
            for st in &p.storages {
                s.push_str(&format!("  {st}\n"));
            }
        }
        if !p.media.is_empty() {
            s.push_str("media:\n");
            for m in &p.media {
                s.push_str(&format!(
                    "  disk {} last sequence {} cabinet {:?}\n",
                    m.disk_id, m.last_sequence, m.cabinet
                ));
                if let Some(c) = &m.cab {
                    s.push_str(&render_cab(c, "    "));
                }
                if let Some(e) = &m.error {
                    s.push_str(&format!("    error: {e}\n"));
                }
            }
        }
        for c in &p.cabinet_streams {
            s.push_str(&format!("cabinet stream {}:\n", c.name));
            s.push_str(&render_cab(c, "    "));
        }
    }
    out(&s);
    Ok(0)
}

fn render_cab(c: &CabInfo, ind: &str) -> String {
    let comp: Vec<String> = c.folders.iter().map(|f| f.compression.clone()).collect();
    let mut s = format!(
        "{ind}cabinet: {} folders ({}), {} files, set {} index {}\n",
        c.folders.len(),
        comp.join(", "),
        c.file_count,
        c.set_id,
        c.index
    );
    if let Some(p) = &c.prev {
        s.push_str(&format!("{ind}previous cabinet: {p}\n"));
    }
    if let Some(n) = &c.next {
        s.push_str(&format!("{ind}next cabinet: {n}\n"));
    }
    for n in &c.notes {
        s.push_str(&format!("{ind}note: {n}\n"));
    }
    s
}
