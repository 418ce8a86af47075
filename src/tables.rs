//! Table dumps: text, JSON, CSV and IDT (the text archive format `msidb`/`msibuild` use).

use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, IoResultExt, Result, Warning, WarningKind};
use crate::msi::{encode_name, ColKind, Database, TableData, Val};
use std::io::Read;
use std::path::{Path, PathBuf};

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

/// A table as JSON: its name, its columns in order, and its rows as objects keyed by
/// column name (integers as numbers, strings as strings, NULL as null, binary cells as
/// `"[binary]"`).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TableJson {
    /// The table's name.
    pub table: String,
    /// Column names in order.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A table as JSON (see [`TableJson`]).
pub fn table_json(t: &TableData) -> TableJson {
    let rows = t
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
            m
        })
        .collect();
    TableJson { table: t.name.clone(), columns: t.columns.iter().map(|c| c.name.clone()).collect(), rows }
}

/// A table as a JSON value (see [`TableJson`]).
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

/// A table in IDT form: the text, and the files its binary cells become
/// (`<Table>/<key>.ibd`, relative to the folder the `.idt` file is in).
#[derive(Debug, Clone)]
pub struct Idt {
    /// The `.idt` text.
    pub text: String,
    /// Binary cells: (`Table/key.ibd`, bytes).
    pub streams: Vec<(String, Vec<u8>)>,
}

/// Table `t` of `db` in IDT form (binary cells read from the package).
pub fn to_idt(db: &Database, t: &TableData) -> Result<Idt> {
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
    let mut streams = Vec::new();
    for r in &t.rows {
        let mut cells = Vec::with_capacity(r.len());
        for (c, v) in t.columns.iter().zip(r) {
            if c.kind == ColKind::Binary {
                let key = t.key_of(r);
                let stream_name = format!("{}.{}", t.name, key);
                let file_name = format!("{key}.ibd");
                let mut data = Vec::new();
                let enc = format!("/{}", encode_name(&stream_name, false));
                match db.compound.open_stream(&enc) {
                    Ok(s) => {
                        s.take(256 << 20)
                            .read_to_end(&mut data)
                            .io_ctx(format_args!("reading stream {stream_name}"))
                            .at_path(&db.path)?;
                    }
                    Err(_) if *v == Val::Null => {
                        cells.push(String::new());
                        continue;
                    }
                    Err(_) => {}
                }
                crate::output::names::check_component(&file_name)?;
                streams.push((format!("{}/{file_name}", t.name), data));
                cells.push(file_name);
            } else {
                cells.push(idt_escape(&v.text()));
            }
        }
        text.push_str(&cells.join("\t"));
        text.push_str("\r\n");
    }
    Ok(Idt { text, streams })
}

/// The database as transforms (.mst, in order) and then patches (.msp, in order) leave
/// it: the package's own tables replaced by the view. Validation belongs to installing,
/// not to viewing: when a transform's or patch's validation would refuse this package,
/// the view is shown anyway, with a warning saying why (as Orca and
/// `MsiDatabaseApplyTransform` show it).
pub fn open_view(package: &Path, transforms: &[PathBuf], patches: &[PathBuf]) -> Result<(Database, Vec<Warning>)> {
    let mut db = Database::open(package)?;
    if let Some(e) = &db.table_error {
        return Err(Error::format(format!("tables could not be read: {e}")).with_path(package));
    }
    let mut warnings = Vec::new();
    if !transforms.is_empty() || !patches.is_empty() {
        let patched = match crate::extract::apply_all(&db, transforms, patches, false) {
            Ok((p, _)) => p,
            Err(e) if e.kind() == ErrorKind::Validation => {
                warnings.push(Warning::new(
                    WarningKind::Validation,
                    format!("{e}; the view shows the changes anyway (installing would refuse them)"),
                ));
                crate::extract::apply_all(&db, transforms, patches, true)?.0
            }
            Err(e) => return Err(e),
        };
        db.tables = patched.tables;
    }
    Ok((db, warnings))
}

/// Write `tables` of `db` into the folder `dir`, one file per table (`<Table>.txt`,
/// `.json`, `.csv`, or `.idt` with its binary cells under `<Table>/`); returns the paths
/// written, relative to `dir`.
pub fn write_tables(
    db: &Database,
    tables: &[&TableData],
    format: Format,
    dir: &Path,
    opts: &crate::output::WriteOptions,
) -> Result<Vec<crate::output::Written>> {
    let target = crate::output::Target::new(dir, *opts)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for t in tables {
        crate::output::names::check_component(&t.name)?;
        match format {
            Format::Idt => {
                let idt = to_idt(db, t)?;
                files.push((format!("{}.idt", t.name), idt.text.into_bytes()));
                files.extend(idt.streams);
            }
            Format::Json => {
                let text =
                    serde_json::to_string_pretty(&table_json(t)).map_err(|e| Error::format(e.to_string()))? + "\n";
                files.push((format!("{}.json", t.name), text.into_bytes()));
            }
            Format::Csv => files.push((format!("{}.csv", t.name), to_csv(t).into_bytes())),
            Format::Text => files.push((format!("{}.txt", t.name), to_text(t).into_bytes())),
        }
    }
    let mut written = Vec::new();
    for (rel, data) in files {
        let comps: Vec<&str> = rel.split('/').collect();
        target.claim(&comps)?;
        let mut f = target.create(&comps, None)?;
        f.write(&data)?;
        written.push(f.finish()?);
    }
    if let Some(e) = target.commit().into_iter().next() {
        return Err(e.with_path(dir));
    }
    Ok(written)
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
