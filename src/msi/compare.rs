//! Two sets of tables compared row by row: tables added and dropped, columns added at the
//! end of a table, and per table the rows added, removed and changed, matched by primary
//! key and compared cell by cell. What `diff` reports and what the transform writers
//! encode.

use super::table::{ColInfo, ColKind, TableData, Val};
use crate::error::Result;
use std::collections::{BTreeMap, HashMap};

/// What happened to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TableStatus {
    /// Only the new side has it.
    Added,
    /// Only the old side has it.
    Removed,
    /// Both have it; rows or columns differ.
    Changed,
    /// Both have it, but the new columns are not the old ones with columns added at the
    /// end (a transform drops the table and adds it again).
    Replaced,
}

/// One changed row: the row on both sides and the columns whose values differ.
#[derive(Debug, Clone)]
pub struct RowChange {
    /// The old row, padded with NULL to the new table's width.
    pub old: Vec<Val>,
    /// The new row.
    pub new: Vec<Val>,
    /// Indexes of the columns that differ (in the new layout).
    pub columns: Vec<usize>,
}

/// The differences in one table.
#[derive(Debug, Clone)]
pub struct TableChange {
    /// Table name.
    pub name: String,
    /// What happened to it.
    pub status: TableStatus,
    /// The columns the rows below are laid out in (the new table's; the old one's for a
    /// removed table).
    pub columns: Vec<ColInfo>,
    /// The old table's columns (empty for an added table).
    pub old_columns: Vec<ColInfo>,
    /// Columns the new layout adds at the end of the old one.
    pub added_columns: Vec<ColInfo>,
    /// Rows only the new side has (every row of an added or replaced table).
    pub added: Vec<Vec<Val>>,
    /// Rows only the old side has (every row of a removed table).
    pub removed: Vec<Vec<Val>>,
    /// Rows both sides have with different values.
    pub changed: Vec<RowChange>,
}

impl TableChange {
    /// The primary key of `row` in this table's layout.
    pub fn key(&self, row: &[Val]) -> Vec<Val> {
        self.columns.iter().zip(row).filter(|(c, _)| c.key).map(|(_, v)| v.clone()).collect()
    }

    /// The name of the stream holding binary cells of `row` (`Table.key1.key2`).
    pub fn stream_name(&self, row: &[Val]) -> String {
        stream_name(&self.name, &self.columns, row)
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.status == TableStatus::Changed
            && self.added_columns.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
    }
}

/// The stream that holds the binary cells of a row: `Table.key1.key2…`.
pub fn stream_name(table: &str, columns: &[ColInfo], row: &[Val]) -> String {
    let mut s = table.to_string();
    for (c, v) in columns.iter().zip(row) {
        if c.key {
            s.push('.');
            s.push_str(&v.text());
        }
    }
    s
}

/// Whether `new` is `old` with columns added at the end (names, types and keys equal
/// where both have a column; nullability and localisation may differ).
fn extends(old: &[ColInfo], new: &[ColInfo]) -> bool {
    new.len() >= old.len() && old.iter().zip(new).all(|(a, b)| a.name == b.name && a.kind == b.kind && a.key == b.key)
}

fn key_of(cols: &[ColInfo], row: &[Val]) -> Vec<Val> {
    cols.iter().zip(row).filter(|(c, _)| c.key).map(|(_, v)| v.clone()).collect()
}

/// Compare two sets of tables. `same_binary(stream)` says whether the binary cell stream
/// `Table.key…` holds the same bytes on both sides (it is asked only where both rows
/// have a binary value in the same column). Tables are returned in name order, and only
/// those that differ.
pub fn compare(
    old: &BTreeMap<String, TableData>,
    new: &BTreeMap<String, TableData>,
    same_binary: &mut dyn FnMut(&str) -> Result<bool>,
) -> Result<Vec<TableChange>> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        if name.starts_with("_") && name != "_Validation" {
            continue;
        }
        match (old.get(name), new.get(name)) {
            (None, Some(n)) => out.push(TableChange {
                name: name.clone(),
                status: TableStatus::Added,
                columns: n.columns.clone(),
                old_columns: Vec::new(),
                added_columns: Vec::new(),
                added: n.rows.clone(),
                removed: Vec::new(),
                changed: Vec::new(),
            }),
            (Some(o), None) => out.push(TableChange {
                name: name.clone(),
                status: TableStatus::Removed,
                columns: o.columns.clone(),
                old_columns: o.columns.clone(),
                added_columns: Vec::new(),
                added: Vec::new(),
                removed: o.rows.clone(),
                changed: Vec::new(),
            }),
            (Some(o), Some(n)) if !extends(&o.columns, &n.columns) => out.push(TableChange {
                name: name.clone(),
                status: TableStatus::Replaced,
                columns: n.columns.clone(),
                old_columns: o.columns.clone(),
                added_columns: Vec::new(),
                added: n.rows.clone(),
                removed: o.rows.clone(),
                changed: Vec::new(),
            }),
            (Some(o), Some(n)) => {
                let c = compare_rows(name, o, n, same_binary)?;
                if !c.is_empty() {
                    out.push(c);
                }
            }
            (None, None) => {}
        }
    }
    Ok(out)
}

fn compare_rows(
    name: &str,
    o: &TableData,
    n: &TableData,
    same_binary: &mut dyn FnMut(&str) -> Result<bool>,
) -> Result<TableChange> {
    let width = n.columns.len();
    let mut new_index: HashMap<Vec<Val>, usize> = HashMap::with_capacity(n.rows.len());
    for (i, r) in n.rows.iter().enumerate() {
        new_index.entry(key_of(&n.columns, r)).or_insert(i);
    }
    let mut matched = vec![false; n.rows.len()];
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    let mut seen_old: std::collections::HashSet<Vec<Val>> = std::collections::HashSet::with_capacity(o.rows.len());
    for r in &o.rows {
        let k = key_of(&o.columns, r);
        if !seen_old.insert(k.clone()) {
            continue; // a duplicate key: the first row stands, as for lookups
        }
        let Some(&j) = new_index.get(&k) else {
            removed.push(r.clone());
            continue;
        };
        matched[j] = true;
        let nr = &n.rows[j];
        let mut padded = r.clone();
        padded.resize(width, Val::Null);
        let mut cols = Vec::new();
        for (ci, col) in n.columns.iter().enumerate() {
            let (a, b) = (&padded[ci], nr.get(ci).unwrap_or(&Val::Null));
            let differs = if col.kind == ColKind::Binary && *a == Val::Binary && *b == Val::Binary {
                !same_binary(&stream_name(name, &n.columns, nr))?
            } else {
                a != b
            };
            if differs {
                cols.push(ci);
            }
        }
        if !cols.is_empty() {
            changed.push(RowChange { old: padded, new: nr.clone(), columns: cols });
        }
    }
    let mut added = Vec::new();
    let mut seen_new: std::collections::HashSet<Vec<Val>> = std::collections::HashSet::new();
    for (j, r) in n.rows.iter().enumerate() {
        if !matched[j] && seen_new.insert(key_of(&n.columns, r)) && !seen_old.contains(&key_of(&n.columns, r)) {
            added.push(r.clone());
        }
    }
    Ok(TableChange {
        name: name.to_string(),
        status: TableStatus::Changed,
        columns: n.columns.clone(),
        old_columns: o.columns.clone(),
        added_columns: n.columns[o.columns.len()..].to_vec(),
        added,
        removed,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msi::schema::columns;

    fn table(name: &str, rows: &[&[&str]]) -> TableData {
        let cols = columns(name).unwrap();
        let rows = rows
            .iter()
            .map(|r| {
                cols.iter()
                    .zip(r.iter())
                    .map(|(c, v)| match (c.kind, *v) {
                        (_, "") => Val::Null,
                        (ColKind::Int16 | ColKind::Int32, v) => Val::Int(v.parse().unwrap()),
                        (ColKind::Binary, _) => Val::Binary,
                        (_, v) => Val::str(v),
                    })
                    .collect()
            })
            .collect();
        TableData { name: name.into(), columns: cols, rows }
    }

    #[test]
    fn rows_are_matched_by_key_and_compared_cell_by_cell() {
        let mut old = BTreeMap::new();
        let mut new = BTreeMap::new();
        old.insert("Property".into(), table("Property", &[&["A", "1"], &["B", "2"], &["C", "3"]]));
        new.insert("Property".into(), table("Property", &[&["B", "2"], &["C", "4"], &["D", "5"]]));
        old.insert("Binary".into(), table("Binary", &[&["x", "b"], &["y", "b"]]));
        new.insert("Binary".into(), table("Binary", &[&["x", "b"], &["y", "b"]]));
        new.insert("Media".into(), table("Media", &[&["1", "5", "", "#a.cab", "", ""]]));
        let mut asked = Vec::new();
        let d = compare(&old, &new, &mut |s| {
            asked.push(s.to_string());
            Ok(s != "Binary.y")
        })
        .unwrap();
        assert_eq!(asked, ["Binary.x", "Binary.y"]);
        let names: Vec<(&str, TableStatus)> = d.iter().map(|t| (t.name.as_str(), t.status)).collect();
        assert_eq!(
            names,
            [("Binary", TableStatus::Changed), ("Media", TableStatus::Added), ("Property", TableStatus::Changed)]
        );
        let p = &d[2];
        assert_eq!(p.removed.len(), 1);
        assert_eq!(p.removed[0][0], Val::str("A"));
        assert_eq!(p.added[0][0], Val::str("D"));
        assert_eq!(p.changed.len(), 1);
        assert_eq!(p.changed[0].columns, [1]);
        assert_eq!(d[0].changed[0].new[0], Val::str("y"));
    }
}
