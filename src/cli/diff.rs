//! `hotfixkit diff OLD NEW`: what differs between two packages, or what a patch or
//! transform does to one. Exit code 0 when nothing differs, 1 when something does.

use super::args::{DiffArgs, DiffPart};
use super::{json_out, out, Ctx};
use hotfixkit::diff::{diff, DiffReport, DiffRequest};
use hotfixkit::msi::compare::TableStatus;
use hotfixkit::msi::{PropValue, Val};

fn prop(v: &Option<PropValue>) -> String {
    match v {
        None => "(none)".into(),
        Some(PropValue::Int(i)) => i.to_string(),
        Some(PropValue::Str(s)) | Some(PropValue::Time(s)) => s.clone(),
        Some(PropValue::Other(t)) => format!("(type {t})"),
    }
}

fn val(v: &Val) -> String {
    match v {
        Val::Null => "NULL".into(),
        Val::Int(i) => i.to_string(),
        other => format!("{:?}", other.text()),
    }
}

fn row(r: &std::collections::BTreeMap<String, Val>) -> String {
    r.iter().filter(|(_, v)| **v != Val::Null).map(|(k, v)| format!("{k}={}", val(v))).collect::<Vec<_>>().join(" ")
}

fn render(r: &DiffReport) -> String {
    let mut s = format!("--- {}\n+++ {}\n", r.old, r.new);
    if !r.summary.is_empty() {
        s.push_str("summary information:\n");
        for c in &r.summary {
            s.push_str(&format!("  {:<22} {} -> {}\n", c.name, prop(&c.old), prop(&c.new)));
        }
    }
    for t in &r.tables {
        let status = match t.status {
            TableStatus::Added => "added",
            TableStatus::Removed => "removed",
            TableStatus::Changed => "changed",
            TableStatus::Replaced => "replaced (other columns)",
        };
        s.push_str(&format!("table {} ({status}):\n", t.table));
        for c in &t.added_columns {
            s.push_str(&format!("  + column {c}\n"));
        }
        for x in &t.removed {
            s.push_str(&format!("  - {}\n", row(x)));
        }
        for x in &t.added {
            s.push_str(&format!("  + {}\n", row(x)));
        }
        for x in &t.changed {
            s.push_str(&format!("  ~ {}\n", x.key.replace('\t', "/")));
            for c in &x.cells {
                match &c.binary {
                    Some((a, b)) => s.push_str(&format!(
                        "      {}: [binary] {} -> {}\n",
                        c.column,
                        a.as_deref().map(|h| &h[..12]).unwrap_or("none"),
                        b.as_deref().map(|h| &h[..12]).unwrap_or("none")
                    )),
                    None => s.push_str(&format!("      {}: {} -> {}\n", c.column, val(&c.old), val(&c.new))),
                }
            }
        }
    }
    if !r.streams.is_empty() {
        s.push_str("streams:\n");
        for x in &r.streams {
            s.push_str(&format!(
                "  {:<8} {} ({} -> {} bytes)\n",
                x.status,
                x.name,
                x.old_size.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                x.new_size.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
            ));
        }
    }
    if !r.files.is_empty() {
        s.push_str("files:\n");
        for f in &r.files {
            let path = f.new.as_ref().or(f.old.as_ref()).map(|x| x.path.as_str()).unwrap_or("");
            let detail = match (&f.old, &f.new) {
                (Some(a), Some(b)) => f
                    .fields
                    .iter()
                    .map(|k| match *k {
                        "size" => format!("size {:?} -> {:?}", a.size, b.size),
                        "version" => format!("version {:?} -> {:?}", a.version, b.version),
                        "language" => format!("language {:?} -> {:?}", a.language, b.language),
                        "path" => format!("path {} -> {}", a.path, b.path),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            s.push_str(format!("  {:<8} {} {} {}", f.status, f.key, path, detail).trim_end());
            s.push('\n');
        }
    }
    s
}

pub fn run(ctx: &Ctx, a: &DiffArgs) -> anyhow::Result<i32> {
    let mut req = DiffRequest::new(&a.old, &a.new);
    req.patches = a.patches.clone();
    req.transforms = a.transforms.clone();
    if !a.only.is_empty() {
        req.summary = a.only.contains(&DiffPart::Summary);
        req.tables = a.only.contains(&DiffPart::Tables);
        req.streams = a.only.contains(&DiffPart::Streams);
        req.files = a.only.contains(&DiffPart::Files);
    }
    let r = diff(&req)?;
    let code = if r.same { 0 } else { 1 };
    if ctx.json {
        json_out(&r)?;
        return Ok(code);
    }
    if !ctx.quiet {
        for w in &r.warnings {
            eprintln!("hotfixkit: warning: {w}");
        }
        out(&render(&r));
    }
    let n = r.summary.len() + r.tables.len() + r.streams.len() + r.files.len();
    out(&if r.same {
        "no differences\n".to_string()
    } else {
        format!(
            "{n} differences: {} summary properties, {} tables, {} streams, {} files\n",
            r.summary.len(),
            r.tables.len(),
            r.streams.len(),
            r.files.len()
        )
    });
    Ok(code)
}
