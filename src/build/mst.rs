//! `build mst`: the transform that turns one package's database into another's (what
//! `msitran -g` and WiX's torch make): every table added, dropped or replaced, columns
//! added, rows inserted, updated and deleted, binary cells with their bytes; the summary
//! records both product codes and versions and the upgrade code, and the validation and
//! error-suppression flags.

use super::patch_target::{property, read_binary};
use super::transform::{transform_streams, write_mst, Record, TableRecords};
use crate::error::{Error, ErrorKind, Result};
use crate::msi::compare::compare;
use crate::msi::summary::SummaryValue;
use crate::msi::{Database, PackageKind, PropValue};
use crate::output::WriteOptions;
use std::path::Path;

/// Default validation of a stand-alone transform: the product code and the upgrade code
/// of the base (0x0802).
pub const MST_DEFAULT_VALIDATION: u16 = 0x0802;

/// What a transform made by [`build_mst`] records and changes.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TransformReport {
    /// The transform written.
    pub output: String,
    /// Its size in bytes.
    pub size: u64,
    /// Revision Number: `{old product}old version;{new product}new version;{upgrade code}`.
    pub revision: String,
    /// Validation flags.
    pub validation: u16,
    /// Suppressed error conditions.
    pub suppressed: u16,
    /// Tables changed, with rows inserted, updated and deleted (tables added or dropped
    /// are listed too).
    pub tables: Vec<TableCount>,
}

/// Rows a transform changes in one table.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TableCount {
    /// Table name.
    pub table: String,
    /// `added`, `removed`, `changed` or `replaced`.
    pub status: crate::msi::compare::TableStatus,
    /// Rows inserted.
    pub inserted: usize,
    /// Rows updated.
    pub updated: usize,
    /// Rows deleted.
    pub deleted: usize,
}

fn open(path: &Path) -> Result<Database> {
    let db = Database::open(path)?;
    if !matches!(db.kind, PackageKind::Msi | PackageKind::Msm) {
        return Err(
            Error::new(ErrorKind::Usage, format!("not an installer database (it is {:?})", db.kind)).with_path(path)
        );
    }
    Ok(db)
}

/// The transform from `old`'s database to `new`'s, written to `output` through the safe
/// writer. `validation` and `suppress` default to [`MST_DEFAULT_VALIDATION`] and none.
pub fn build_mst(
    old: &Path,
    new: &Path,
    validation: Option<u16>,
    suppress: Option<u16>,
    output: &Path,
    opts: &WriteOptions,
) -> Result<TransformReport> {
    crate::output::refuse_inputs(output, &[old, new])?;
    let (a, b) = (open(old)?, open(new)?);
    let mut same = |name: &str| -> Result<bool> { Ok(read_binary(&a, name)? == read_binary(&b, name)?) };
    let changes = compare(&a.tables, &b.tables, &mut same)?;
    let recs: Vec<TableRecords> = changes.iter().map(TableRecords::from_change).collect();
    let codepage = match b.summary.get(1) {
        Some(PropValue::Int(c)) if *c & 0xFFFF != 0 => (*c as u32) & 0xFFFF,
        _ => 1252,
    };
    let pages = |d: &Database| match d.summary.get(14) {
        Some(PropValue::Int(p)) => *p,
        _ => 200,
    };
    let validation = validation.unwrap_or(MST_DEFAULT_VALIDATION);
    let suppressed = suppress.unwrap_or(0);
    let p = |d: &Database, n: &str| property(&d.tables, n).unwrap_or_default();
    let revision = format!(
        "{}{};{}{};{}",
        p(&a, "ProductCode"),
        p(&a, "ProductVersion"),
        p(&b, "ProductCode"),
        p(&b, "ProductVersion"),
        p(&a, "UpgradeCode")
    );
    let summary = vec![
        (1, SummaryValue::I2(codepage as u16 as i16)),
        (2, SummaryValue::Str("Transform".into())),
        (3, SummaryValue::Str(b.summary.get_str(3).unwrap_or("").to_string())),
        (4, SummaryValue::Str(b.summary.get_str(4).unwrap_or("").to_string())),
        (7, SummaryValue::Str(a.summary.get_str(7).unwrap_or("Intel;1033").to_string())),
        (8, SummaryValue::Str(b.summary.get_str(7).unwrap_or("Intel;1033").to_string())),
        (9, SummaryValue::Str(revision.clone())),
        (14, SummaryValue::I4(pages(&a).max(pages(&b)))),
        (16, SummaryValue::I4(((u32::from(validation) << 16) | u32::from(suppressed)) as i32)),
        (18, SummaryValue::Str("hotfixkit".into())),
        (19, SummaryValue::I4(4)),
    ];
    let mut binary = |name: &str| -> Result<Vec<u8>> {
        read_binary(&b, name)?.ok_or_else(|| {
            Error::new(ErrorKind::Missing, format!("binary cell stream {name} is missing")).with_path(new)
        })
    };
    let streams = transform_streams(&summary, codepage, &recs, &mut binary)?;
    let bytes = write_mst(&streams)?;
    let w = crate::output::write_file(output, &bytes, opts)?;
    let tables = changes
        .iter()
        .zip(&recs)
        .map(|(c, r)| {
            let (mut inserted, mut updated, mut deleted) = (0, 0, 0);
            for x in &r.records {
                match x {
                    Record::Insert(_) => inserted += 1,
                    Record::Update(..) => updated += 1,
                    Record::Delete(_) => deleted += 1,
                }
            }
            TableCount { table: c.name.clone(), status: c.status, inserted, updated, deleted }
        })
        .collect();
    Ok(TransformReport { output: output.display().to_string(), size: w.size, revision, validation, suppressed, tables })
}
