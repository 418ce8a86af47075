//! Decoding of a database's tables from its streams: `_Tables` lists the tables,
//! `_Columns` their columns, and each table's stream holds its rows column by column
//! (integers biased by 0x8000 / 0x80000000 with 0 for NULL, strings as pool
//! references of 2 or 3 bytes, binary cells as a 2-byte placeholder).
//!
//! Column types follow the `msi` crate's rules, except that an integer column must be 2
//! or 4 bytes wide (as Windows Installer has it). Table layout is checked here too: every
//! table stream must hold whole rows ([`row_count`]).
//!
//! The `msi` crate reads tables too, but refuses any table of more than 65,536 rows;
//! packages of more than 32,767 files use 32-bit sequence numbers and can hold more File
//! rows than that (the generated 2 GB benchmark package holds 100,066). This reader takes
//! up to [`MAX_ROWS`] rows per table.

use super::strings::StringPool;
use super::table::{ColInfo, ColKind, Val};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most rows read from one table.
pub const MAX_ROWS: usize = 1 << 20;
/// Most cells (rows times columns) decoded from one table: 16 bytes each in memory, so a
/// table stream of many narrow columns cannot make eight times its size.
pub const MAX_CELLS: usize = 1 << 23;

const STRING_BIT: u32 = 0x0800;
const VALID_BIT: u32 = 0x0100;
const NONBINARY_BIT: u32 = 0x0400;
const NULLABLE_BIT: u32 = 0x1000;
const LOCALIZABLE_BIT: u32 = 0x0200;
const KEY_BIT: u32 = 0x2000;

/// The kind of column a `_Columns` type word gives (`None`: an integer size other than
/// 2 or 4, which a database may not hold).
fn kind_of(bits: u32) -> Option<ColKind> {
    let size = bits & 0xFF;
    Some(if bits & !NULLABLE_BIT == STRING_BIT | VALID_BIT {
        ColKind::Binary
    } else if bits & STRING_BIT != 0 {
        ColKind::Str(size)
    } else {
        match size {
            4 if bits & NONBINARY_BIT == 0 => ColKind::Int32,
            4 => ColKind::Binary,
            // Windows Installer (and Wine) store an integer column declared with size 0,
            // 1 or 2 in two bytes (WiX 4's Firewall4.msi declares size 1).
            0..=2 => ColKind::Int16,
            _ => return None,
        }
    })
}

fn info(name: &str, bits: u32, kind: ColKind) -> ColInfo {
    ColInfo {
        name: name.to_string(),
        kind,
        nullable: bits & NULLABLE_BIT != 0,
        localizable: bits & LOCALIZABLE_BIT != 0,
        key: bits & KEY_BIT != 0,
    }
}

/// The column a `_Columns` type word describes.
pub fn column(name: &str, bits: u32) -> Result<ColInfo, String> {
    match kind_of(bits) {
        Some(kind) => Ok(info(name, bits, kind)),
        None => Err(format!("integer column {name} has size {} (must be at most 2, or 4)", bits & 0xFF)),
    }
}

/// [`column`], reading an integer of another size as 16-bit (what transforms get: they
/// are applied to a database whose own columns were already checked).
pub fn column_lenient(name: &str, bits: u32) -> ColInfo {
    info(name, bits, kind_of(bits).unwrap_or(ColKind::Int16))
}

/// Bytes one cell of `kind` takes.
fn width(kind: ColKind, ref_width: usize) -> usize {
    match kind {
        ColKind::Int16 | ColKind::Binary => 2,
        ColKind::Int32 => 4,
        ColKind::Str(_) => ref_width,
    }
}

fn string_ref(b: &[u8], ref_width: usize) -> u32 {
    let mut v = u32::from(u16::from_le_bytes([b[0], b[1]]));
    if ref_width == 3 {
        v |= u32::from(b[2]) << 16;
    }
    v
}

/// Every table's columns, by table name, from `_Tables` and `_Columns`.
pub fn schema(pool: &StringPool, tables: &[u8], columns: &[u8]) -> Result<BTreeMap<String, Vec<ColInfo>>, String> {
    let rw = pool.ref_width();
    let name_of = |id: u32, what: &str| -> Result<String, String> {
        pool.get(id).map(str::to_string).ok_or_else(|| format!("{what}: string {id} is not in the string pool"))
    };
    let mut out: BTreeMap<String, Vec<(i32, ColInfo)>> = BTreeMap::new();
    if !tables.len().is_multiple_of(rw) {
        return Err(format!("_Tables holds {} bytes, not a whole number of {rw}-byte rows", tables.len()));
    }
    for c in tables.chunks_exact(rw) {
        out.entry(name_of(string_ref(c, rw), "_Tables")?).or_default();
    }
    let row = 2 * rw + 4;
    if !columns.len().is_multiple_of(row) {
        return Err(format!("_Columns holds {} bytes, not a whole number of {row}-byte rows", columns.len()));
    }
    let n = columns.len() / row;
    for i in 0..n {
        let table = name_of(string_ref(&columns[i * rw..], rw), "_Columns")?;
        let at = n * rw + i * 2;
        let number = i32::from(u16::from_le_bytes([columns[at], columns[at + 1]]) ^ 0x8000);
        let name = name_of(string_ref(&columns[n * (rw + 2) + i * rw..], rw), "_Columns")?;
        let at = n * (2 * rw + 2) + i * 2;
        let bits = u32::from(u16::from_le_bytes([columns[at], columns[at + 1]]) ^ 0x8000);
        let col = column(&name, bits).map_err(|e| format!("table {table}: {e}"))?;
        out.entry(table).or_default().push((number, col));
    }
    Ok(out
        .into_iter()
        .map(|(t, mut cols)| {
            cols.sort_by_key(|c| c.0);
            (t, cols.into_iter().map(|c| c.1).collect())
        })
        .collect())
}

/// The number of rows a table stream of `len` bytes holds, checked the way Windows
/// Installer reads it (whole rows only, as Wine also insists) and against this reader's
/// limits. Every table is checked, whether its rows are read or not.
pub fn row_count(pool: &StringPool, name: &str, columns: &[ColInfo], len: u64) -> Result<usize, String> {
    let rw = pool.ref_width();
    let row = columns.iter().map(|c| width(c.kind, rw) as u64).sum::<u64>();
    if row == 0 {
        return Ok(0);
    }
    if !len.is_multiple_of(row) {
        return Err(format!("table {name}: stream holds {len} bytes, not a whole number of {row}-byte rows"));
    }
    let n = len / row;
    if n > MAX_ROWS as u64 {
        return Err(format!("table {name}: {n} rows, more than the {MAX_ROWS} this reader takes"));
    }
    let n = n as usize;
    if n.saturating_mul(columns.len()) > MAX_CELLS {
        return Err(format!(
            "table {name}: {n} rows of {} columns, more than the {MAX_CELLS} cells this reader takes",
            columns.len()
        ));
    }
    Ok(n)
}

/// Pool strings made shareable, by id, as cells first refer to them; one for all the
/// tables of a database, so a string in several tables is held once.
pub type Shared = Vec<Option<Arc<String>>>;

/// Decode the rows of table `name` (columns `columns`) from its stream `data`; string
/// cells take their strings from `shared`, filled from `pool` on first use.
pub fn rows(
    pool: &StringPool,
    shared: &mut Shared,
    name: &str,
    columns: &[ColInfo],
    data: &[u8],
) -> Result<Vec<Vec<Val>>, String> {
    let rw = pool.ref_width();
    let n = row_count(pool, name, columns, data.len() as u64)?;
    let widths: Vec<usize> = columns.iter().map(|c| width(c.kind, rw)).collect();
    let mut out: Vec<Vec<Val>> = (0..n).map(|_| Vec::with_capacity(columns.len())).collect();
    let mut at = 0usize;
    for (c, &w) in columns.iter().zip(&widths) {
        let cells = &data[at..at + n * w];
        at += n * w;
        for (r, cell) in out.iter_mut().zip(cells.chunks_exact(w)) {
            let v = match c.kind {
                ColKind::Int16 => match u16::from_le_bytes([cell[0], cell[1]]) {
                    0 => Val::Null,
                    v => Val::Int(i32::from((v ^ 0x8000) as i16)),
                },
                ColKind::Int32 => match u32::from_le_bytes([cell[0], cell[1], cell[2], cell[3]]) {
                    0 => Val::Null,
                    v => Val::Int((v ^ 0x8000_0000) as i32),
                },
                ColKind::Binary => Val::Binary,
                ColKind::Str(_) => match string_ref(cell, rw) {
                    0 => Val::Null,
                    id => match pool.get(id) {
                        Some(s) => {
                            let i = id as usize;
                            if shared.len() <= i {
                                shared.resize(i + 1, None);
                            }
                            Val::Str(Arc::clone(shared[i].get_or_insert_with(|| Arc::new(s.to_string()))))
                        }
                        None => {
                            return Err(format!(
                                "table {name}, column {}: string {id} is not in the string pool",
                                c.name
                            ))
                        }
                    },
                },
            };
            r.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(strings: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let mut p = vec![0xE4, 0x04, 0, 0];
        let mut d = Vec::new();
        for s in strings {
            p.extend_from_slice(&(s.len() as u16).to_le_bytes());
            p.extend_from_slice(&1u16.to_le_bytes());
            d.extend_from_slice(s.as_bytes());
        }
        (p, d)
    }

    #[test]
    fn decodes_columns_in_order_with_nulls_and_biases() {
        let (p, d) = pool(&["T", "Key", "N", "Big"]);
        let pool = StringPool::parse(&p, &d).unwrap();
        let refs = |ids: &[u16]| ids.iter().flat_map(|i| i.to_le_bytes()).collect::<Vec<u8>>();
        let tables = refs(&[1]);
        // Columns listed out of order: Big (3), Key (1), N (2).
        let mut cols = refs(&[1, 1, 1]);
        cols.extend(refs(&[3 ^ 0x8000, 1 ^ 0x8000, 2 ^ 0x8000]));
        cols.extend(refs(&[4, 2, 3]));
        cols.extend(refs(&[0x104 ^ 0x8000, (0x2D48) ^ 0x8000, 0x1102 ^ 0x8000]));
        let schema = schema(&pool, &tables, &cols).unwrap();
        let c = &schema["T"];
        assert_eq!(c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Key", "N", "Big"]);
        assert_eq!(c[0].kind, ColKind::Str(0x48));
        assert!(c[0].key);
        assert_eq!(c[1].kind, ColKind::Int16);
        assert!(c[1].nullable);
        assert_eq!(c[2].kind, ColKind::Int32);
        // Two rows: ("Key", 5, -1) and ("N", NULL, 70000).
        let mut data = refs(&[2, 3]);
        data.extend(refs(&[5 ^ 0x8000, 0]));
        data.extend_from_slice(&(-1i32 as u32 ^ 0x8000_0000).to_le_bytes());
        data.extend_from_slice(&(70000u32 ^ 0x8000_0000).to_le_bytes());
        let r = rows(&pool, &mut Shared::new(), "T", c, &data).unwrap();
        let s = |t: &str| Val::Str(Arc::new(t.to_string()));
        assert_eq!(std::mem::size_of::<Val>(), 16);
        assert_eq!(r[0], vec![s("Key"), Val::Int(5), Val::Int(-1)]);

        assert_eq!(r[1], vec![s("N"), Val::Null, Val::Int(70000)]);
        assert!(rows(&pool, &mut Shared::new(), "T", c, &data[..data.len() - 1]).unwrap_err().contains("whole number"));
        let mut bad = data.clone();
        bad[0] = 9;
        assert!(rows(&pool, &mut Shared::new(), "T", c, &bad).unwrap_err().contains("string 9"));
    }

    #[test]
    fn cells_with_one_string_share_it() {
        let (p, d) = pool(&["T", "A"]);
        let pool = StringPool::parse(&p, &d).unwrap();
        let cols = vec![column("A", 0x0D48).unwrap()];
        let r = rows(&pool, &mut Shared::new(), "T", &cols, &[2, 0, 2, 0, 1, 0]).unwrap();
        match (&r[0][0], &r[1][0], &r[2][0]) {
            (Val::Str(a), Val::Str(b), Val::Str(c)) => {
                assert!(Arc::ptr_eq(a, b));
                assert_eq!((a.as_str(), c.as_str()), ("A", "T"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn more_rows_than_the_limit_are_refused() {
        let (p, d) = pool(&["T", "A"]);
        let pool = StringPool::parse(&p, &d).unwrap();
        let cols = vec![column("A", 0x102).unwrap()];
        let ok = vec![0u8; 2 * 70_000];
        assert_eq!(rows(&pool, &mut Shared::new(), "T", &cols, &ok).unwrap().len(), 70_000);
        let over = vec![0u8; 2 * (MAX_ROWS + 1)];
        assert!(rows(&pool, &mut Shared::new(), "T", &cols, &over).unwrap_err().contains("more than"));
        // 16 narrow columns of 600,000 rows: under the row limit, over the cell limit.
        let wide: Vec<ColInfo> = (0..16).map(|i| column(&format!("C{i}"), 0x102).unwrap()).collect();
        let cells = vec![0u8; 2 * 16 * 600_000];
        assert!(rows(&pool, &mut Shared::new(), "T", &wide, &cells).unwrap_err().contains("cells"));
    }
}
