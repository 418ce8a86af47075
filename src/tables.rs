//! Table dumps: text, JSON, CSV and IDT (the text archive format `msidb`/`msibuild` use).

use crate::error::{Error, ErrorKind, IoResultExt, Result};
use crate::msi::cfbio::{self, encode_name};
use crate::msi::{ColKind, Database, TableData, Val};
use std::io::{Read, Write};
use std::path::Path;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text.
    Text,
    /// `{"table", "columns", "rows": [{col: value}]}`.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// IDT text archive.
    Idt,
}

/// A table as JSON.
pub fn to_json(t: &TableData) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for (c, v) in t.columns.iter().zip(r) {
                let jv = match v {
                    Val::Null => serde_json::Value::Null,
                    Val::Int(i) => serde_json::Value::from(*i),
                    Val::Str(s) => serde_json::Value::from(s.to_string()),
                    Val::Binary => serde_json::Value::from("[binary]"),
                };
                m.insert(c.name.clone(), jv);
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::json!({
        "table": t.name,
        "columns": t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "rows": rows,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A table as CSV.
pub fn to_csv(t: &TableData) -> String {
    let mut out = String::new();
    out.push_str(&t.columns.iter().map(|c| csv_field(&c.name)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in &t.rows {
        out.push_str(&r.iter().map(|v| csv_field(&v.text())).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A table as aligned text.
pub fn to_text(t: &TableData) -> String {
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.name.chars().count()).collect();
    let cells: Vec<Vec<String>> =
        t.rows.iter().map(|r| r.iter().map(|v| v.text().replace(['\r', '\n', '\t'], " ")).collect()).collect();
    for r in &cells {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count()).min(60);
        }
    }
    let line = |vals: Vec<&str>| -> String {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{:w$}", v, w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = format!("{} ({} rows)\n", t.name, t.rows.len());
    out.push_str(&line(t.columns.iter().map(|c| c.name.as_str()).collect()));
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

fn idt_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' => '\u{10}',
            '\r' => '\u{11}',
            '\n' => '\u{19}',
            c => c,
        })
        .collect()
}

/// Write table `t` as `<dir>/<Table>.idt`, its streams as `<dir>/<Table>/<key>.ibd`.
pub fn write_idt(db: &Database, t: &TableData, dir: &Path) -> Result<()> {
    let mut text = String::new();
    text.push_str(&t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("\t"));
    text.push_str("\r\n");
    text.push_str(&t.columns.iter().map(|c| c.idt_type()).collect::<Vec<_>>().join("\t"));
    text.push_str("\r\n");
    let keys: Vec<&str> = t.columns.iter().filter(|c| c.key).map(|c| c.name.as_str()).collect();
    let non_ascii = t.rows.iter().flatten().any(|v| v.as_str().is_some_and(|s| !s.is_ascii()));
    if non_ascii {
        text.push_str("65001\t");
    }
    text.push_str(&t.name);
    for k in &keys {
        text.push('\t');
        text.push_str(k);
    }
    text.push_str("\r\n");
    let has_binary = t.columns.iter().any(|c| c.kind == ColKind::Binary);
    let comp = if has_binary { Some(cfbio::open_cfb(&db.path)?.0) } else { None };
    for r in &t.rows {
        let mut cells = Vec::with_capacity(r.len());
        for (c, v) in t.columns.iter().zip(r) {
            if c.kind == ColKind::Binary {
                let key = t.key_of(r);
                let stream_name = format!("{}.{}", t.name, key);
                let file_name = format!("{key}.ibd");
                let mut data = Vec::new();
                if let Some(comp) = comp.as_ref() {
                    let enc = format!("/{}", encode_name(&stream_name, false));
                    match comp.open_stream(&enc) {
                        Ok(mut s) => {
                            s.read_to_end(&mut data).io_ctx(format_args!("reading stream {stream_name}"))?;
                        }
                        Err(_) if *v == Val::Null => {
                            cells.push(String::new());
                            continue;
                        }
                        Err(_) => {}
                    }
                }
                crate::extract::path::check_component(&file_name)?;
                let sub = dir.join(&t.name);
                std::fs::create_dir_all(&sub).io_ctx(format_args!("creating {}", sub.display()))?;
                std::fs::write(sub.join(&file_name), &data).io_ctx(format_args!("writing {file_name}"))?;
                cells.push(file_name);
            } else {
                cells.push(idt_escape(&v.text()));
            }
        }
        text.push_str(&cells.join("\t"));
        text.push_str("\r\n");
    }
    crate::extract::path::check_component(&t.name)?;
    let p = dir.join(format!("{}.idt", t.name));
    let mut f = std::fs::File::create(&p).io_ctx(format_args!("creating {}", p.display()))?;
    f.write_all(text.as_bytes()).io_ctx(format_args!("writing {}", p.display()))?;
    Ok(())
}

/// Pick the tables named (all when none), failing on an unknown name.
pub fn select<'a>(db: &'a Database, names: &[String]) -> Result<Vec<&'a TableData>> {
    if names.is_empty() {
        return Ok(db.tables.values().filter(|t| !t.name.starts_with('_') || t.name == "_Validation").collect());
    }
    names
        .iter()
        .map(|n| {
            db.table(n)
                .ok_or_else(|| Error::new(ErrorKind::Missing, format!("no table named {n:?}")).with_path(&db.path))
        })
        .collect()
}
