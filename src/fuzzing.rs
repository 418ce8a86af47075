//! Entry points for the fuzz targets (`fuzz/`) and for the stable test that replays their
//! corpora. Each takes arbitrary bytes and must neither panic nor run unbounded.
#![allow(missing_docs)]

use crate::cab::{CabHeader, CabSet, Compression, Decoder, MemSource, OpenCab};
use std::io::Cursor;
use std::sync::Arc;

/// Most decoded bytes one fuzz input may produce.
pub const MAX_OUTPUT: u64 = 64 << 20;

pub fn cab_header(data: &[u8]) {
    let _ = CabHeader::read(&mut Cursor::new(data));
}

/// Parse a cabinet and decode every folder, discarding output.
pub fn cab_extract(data: &[u8]) {
    let src = Arc::new(MemSource::new("fuzz.cab", data.to_vec()));
    let Ok(header) = CabHeader::read(&mut Cursor::new(data)) else { return };
    let set = CabSet::assemble(vec![OpenCab::new(src, header)], Vec::new());
    let mut total = 0u64;
    for i in 0..set.folders.len() {
        let _ = set.decode_folder(i, &crate::Deadline::NONE, &mut |_, d| {
            total += d.len() as u64;
            Ok(total < MAX_OUTPUT)
        });
    }
}

/// Feed a raw decoder: byte 0 picks the method and window, then blocks of
/// (u16 length, u16 output size, data).
pub fn decoder(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let comp = match data[0] % 3 {
        0 => Compression::MsZip,
        1 => Compression::Lzx { window_bits: 15 + data[1] % 7 },
        _ => Compression::Quantum { level: 0, window_bits: 10 + data[1] % 12 },
    };
    let Ok(mut d) = Decoder::new(comp) else { return };
    let mut rest = &data[2..];
    let mut out = Vec::new();
    let mut total = 0u64;
    while rest.len() >= 4 && total < MAX_OUTPUT {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 40000;
        let olen = usize::from(u16::from_le_bytes([rest[2], rest[3]])) % 32769;
        rest = &rest[4..];
        let take = len.min(rest.len());
        if d.decode(&rest[..take], olen, &mut out).is_err() {
            return;
        }
        total += out.len() as u64;
        rest = &rest[take..];
    }
}

pub fn pe_version(data: &[u8]) {
    let _ = crate::pe::pe_info(data);
    let _ = crate::pe::parse_version_info(data);
}

pub fn summary(data: &[u8]) {
    let _ = crate::msi::summary::Summary::parse(data);
}

/// Open bytes as a package (in memory) and plan its administrative image.
pub fn msi_open(data: &[u8]) {
    let _ = crate::extract::plan(&crate::extract::ExtractRequest::from_bytes("fuzz.msi", data.to_vec()));
    let _ = crate::package::open_bytes("fuzz.msi", data.to_vec());
}

/// Open bytes as a compound file with our reader and read every stream; where the `cfb`
/// crate also reads a stream whole, the bytes must agree.
pub fn compound_read(data: &[u8]) {
    use std::io::Read;
    let src: crate::random_access::Shared = Arc::new(data.to_vec());
    if let Ok((comp, _)) = crate::msi::package_file::open_compound_from("fuzz.cfb".as_ref(), src) {
        let theirs =
            crate::contain::quietly(|| cfb::CompoundFile::open(std::io::Cursor::new(data)).ok()).ok().flatten();
        let mut theirs = theirs;
        for e in comp.walk().into_iter().filter(|e| !e.storage) {
            let mut ours = Vec::new();
            let Ok(s) = comp.open_stream(&e.path) else { continue };
            if s.take(1 << 20).read_to_end(&mut ours).is_err() || e.len > 1 << 20 {
                continue;
            }
            assert_eq!(ours.len() as u64, e.len, "{}: length", e.path);
            if let Some(c) = theirs.as_mut() {
                let mut other = Vec::new();
                let read = crate::contain::quietly(|| {
                    c.open_stream(&e.path).and_then(|mut s| s.read_to_end(&mut other)).is_ok()
                });
                if read.unwrap_or(false) {
                    assert_eq!(ours, other, "{}: bytes differ from the cfb crate's", e.path);
                }
            }
        }
    }
}

fn tempdir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let p = std::env::temp_dir().join(format!(
        "hotfixkit-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}

/// Property: an accepted path stays under the root, and re-splitting its joined form gives
/// the same components.
pub fn path_sanitizer(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = crate::output::names::split_relative(s) {
        for part in &c {
            assert!(part != ".." && part != "." && !part.is_empty());
            assert!(!part.contains(['/', '\\', ':', '\0']));
        }
        let joined = c.join("/");
        assert_eq!(crate::output::names::split_relative(&joined).ok(), Some(c));
    }
}

pub fn kb_import(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::manifest::import_kb(s, 1);
    }
}

pub fn manifest_yaml(data: &[u8]) {
    if data.len() > 1 << 16 {
        return;
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = yaml_serde::from_str::<crate::manifest::Manifest>(s) {
            let _ = m.validate();
        }
    }
}

/// A package description for `build msi` (YAML) and its checks.
pub fn package_description(data: &[u8]) {
    if data.len() > 1 << 16 {
        return;
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::build::PackageDescription::parse(s);
    }
}

/// A variant of `tables` chosen by `seed`: rows removed, string cells changed, rows
/// added, a column added, a table dropped, a table added.
fn variant(
    tables: &std::collections::BTreeMap<String, crate::msi::TableData>,
    mut seed: u64,
) -> std::collections::BTreeMap<String, crate::msi::TableData> {
    use crate::msi::{ColInfo, ColKind, TableData, Val};
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = tables.clone();
    let names: Vec<String> = out.keys().cloned().collect();
    for name in names {
        let r = next();
        let Some(t) = out.get_mut(&name) else { continue };
        let string_col = t.columns.iter().position(|c| !c.key && matches!(c.kind, ColKind::Str(_)));
        let key_string = t.columns.iter().position(|c| c.key && matches!(c.kind, ColKind::Str(_)));
        match r % 7 {
            1 if !t.rows.is_empty() => {
                t.rows.remove((r >> 8) as usize % t.rows.len());
            }
            2 if !t.rows.is_empty() => {
                if let Some(c) = string_col {
                    let i = (r >> 8) as usize % t.rows.len();
                    t.rows[i][c] = Val::str(format!("fuzz {}", r >> 40));
                }
            }
            3 if !t.rows.is_empty() => {
                if let Some(k) = key_string {
                    let mut row = t.rows[(r >> 8) as usize % t.rows.len()].clone();
                    row[k] = Val::str(format!("fuzz_{}", r >> 40));
                    t.rows.push(row);
                }
            }
            4 if t.columns.len() < 40 => {
                let n = t.columns.len();
                t.columns.push(ColInfo {
                    name: format!("Fuzz{n}"),
                    kind: ColKind::Str(0),
                    nullable: true,
                    localizable: false,
                    key: false,
                });
                for (i, row) in t.rows.iter_mut().enumerate() {
                    row.push(if i % 2 == 0 { Val::str("added") } else { Val::Null });
                }
            }
            5 => {
                out.remove(&name);
            }
            _ => {}
        }
    }
    if next() % 3 == 0 {
        let columns = crate::msi::schema::columns("Property").unwrap_or_default();
        let rows = vec![vec![Val::str("FUZZ"), Val::str("1")], vec![Val::str("FUZZ2"), Val::Null]];
        out.insert("FuzzAdded".into(), TableData { name: "FuzzAdded".into(), columns, rows });
    }
    out
}

/// Property of the transform writer: for the tables of a database read from the bytes
/// and a variant of them, the transform made from their comparison, read back by our
/// reader and applied to the first, gives the second (rows compared as sets).
pub fn transform_roundtrip(data: &[u8]) {
    use crate::build::fixtures::{transform_streams, write_mst, TableRecords};
    use crate::msi::{SummaryValue, Val};
    use std::collections::HashSet;
    let Ok(input) = crate::package::open_bytes("fuzz.msi", data.to_vec()) else { return };
    let Some(db) = input.database() else { return };
    // Tables whose keys are unique and whose strings are not empty (a transform, like a
    // database, stores an empty string as NULL).
    let old: std::collections::BTreeMap<String, crate::msi::TableData> = db
        .tables
        .iter()
        .filter(|(n, t)| {
            let keys: HashSet<Vec<Val>> = t
                .rows
                .iter()
                .map(|r| t.columns.iter().zip(r).filter(|(c, _)| c.key).map(|(_, v)| v.clone()).collect())
                .collect();
            !n.starts_with('_')
                && !t.columns.is_empty()
                && t.columns.len() < 64
                && t.rows.len() < 2000
                && keys.len() == t.rows.len()
                && t.rows.iter().flatten().all(|v| v.as_str() != Some(""))
        })
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let seed = data.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3)) | 1;
    let new = variant(&old, seed);
    let Ok(changes) = crate::msi::compare::compare(&old, &new, &mut |_| Ok(true)) else { return };
    let recs: Vec<TableRecords> = changes.iter().map(TableRecords::from_change).collect();
    let Ok(streams) = transform_streams(&[(1, SummaryValue::I2(-535))], 65001, &recs, &mut |_| Ok(Vec::new())) else {
        return;
    };
    let bytes = match write_mst(&streams) {
        Ok(b) => b,
        Err(e) => panic!("writing a transform in memory: {e}"),
    };
    let src: crate::random_access::Shared = Arc::new(bytes);
    let t = match crate::msi::package_file::open_compound_from("fuzz.mst".as_ref(), src)
        .and_then(|(comp, _)| crate::msp::Transform::read_from(Arc::new(comp), "fuzz.mst".as_ref(), ""))
    {
        Ok(t) => t,
        Err(e) => panic!("our transform does not read back: {e}"),
    };
    let mut view = old.clone();
    if let Err(e) = crate::msp::apply(&t, &mut view, crate::msp::ApplyOptions::default()) {
        panic!("our transform does not apply: {e}");
    }
    let rows = |m: &std::collections::BTreeMap<String, crate::msi::TableData>| -> std::collections::BTreeMap<String, HashSet<Vec<Val>>> {
        m.iter().map(|(k, t)| (k.clone(), t.rows.iter().cloned().collect())).collect()
    };
    assert_eq!(rows(&view), rows(&new), "the transform did not turn the tables into their variant");
}

/// Read bytes as a transform (.mst) and apply it to a small database view.
pub fn transform_apply(data: &[u8]) {
    let Ok(dir) = tempdir() else { return };
    let p = dir.join("fuzz.mst");
    if std::fs::write(&p, data).is_ok() {
        if let Ok(t) = crate::msp::Transform::read(&p, "") {
            let mut tables = std::collections::BTreeMap::new();
            for name in ["File", "Media", "Property", "Directory", "Component"] {
                if let Some(columns) = crate::msi::schema::columns(name) {
                    tables.insert(
                        name.to_string(),
                        crate::msi::TableData { name: name.into(), columns, rows: Vec::new() },
                    );
                }
            }
            let _ = crate::msp::check_applicable(&t.info, &tables, None);
            let _ =
                crate::msp::apply(&t, &mut tables, crate::msp::ApplyOptions { force: true, standard_schemas: true });
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Parse and apply a PA19 patch (the first byte picks an old file size from the rest).
pub fn pa19(data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let split = usize::from(data[0]) * 4;
    let rest = &data[1..];
    let (old, patch) = rest.split_at(split.min(rest.len()));
    let _ = crate::delta::parse(patch);
    // A header taken from a patch is a patch whose CRC holds and which lists its old files.
    if let Ok(h) = crate::delta::header_only(patch) {
        assert!(crate::delta::parse(&h).is_ok_and(|x| x.crc_ok), "header_only gave an unreadable header");
    }
    // The CRC check guards the decoder; decode raw LZX as well so it is fuzzed too.
    let _ = crate::delta::apply(patch, Some(old));
    let _ = crate::delta::lzx_decode(patch, old, patch.len().min(1 << 16), false);
}

/// Create a PA19 patch from an old/new pair split from the input, apply it with our
/// applier and check it gives the new file back. Byte 0 picks options (E8, effort, Wine
/// mode, a timestamp, a second old file), bytes 1-2 the old file's length.
pub fn delta_create(data: &[u8]) {
    use crate::delta::Effort;
    use crate::delta::{create, CreateOptions, E8Mode};
    if data.len() < 3 {
        return;
    }
    let f = data[0];
    let split = usize::from(u16::from_le_bytes([data[1], data[2]]));
    let rest = &data[3..];
    let (old, new) = rest.split_at(split.min(rest.len()));
    let opts = CreateOptions {
        e8: [E8Mode::Auto, E8Mode::On, E8Mode::Off, E8Mode::Auto][usize::from(f & 3)],
        effort: [Effort::Normal, Effort::Fast, Effort::Best, Effort::Normal][usize::from((f >> 2) & 3)],
        wine_compatible: f & 0x10 != 0,
        timestamp: (f & 0x20 != 0).then_some(0x6000_0000),
        ..Default::default()
    };
    // A second old file: the new file reversed (bit 6).
    let rev: Vec<u8> = new.iter().rev().copied().collect();
    let olds: Vec<&[u8]> = if f & 0x40 != 0 { vec![old, &rev] } else { vec![old] };
    let (patch, info) = match create(&olds, new, &opts) {
        Ok(x) => x,
        Err(e) => panic!("create failed on a small input: {e}"),
    };
    for o in &olds {
        match crate::delta::apply(&patch, Some(o)) {
            Ok(out) => {
                if info.new_changed_by_normalisation {
                    assert_eq!(out.len(), new.len(), "normalised output has the wrong size");
                } else {
                    assert!(out == new, "the patch does not give the new file back");
                }
            }
            Err(e) => panic!("our own patch does not apply: {e}"),
        }
    }
}

/// Extract a cabinet to disk inside a fresh directory; a sentinel beside the target must
/// be untouched and nothing may appear outside the target.
pub fn extract_to_disk(data: &[u8]) {
    let Ok(dir) = tempdir() else { return };
    let sentinel = dir.join("sentinel.txt");
    if std::fs::write(&sentinel, b"sentinel").is_err() {
        return;
    }
    let cab = dir.join("in.cab");
    let target_dir = dir.join("target");
    if std::fs::write(&cab, data).is_ok() {
        if let Ok(plan) = crate::extract::plan(&crate::extract::ExtractRequest::new(&cab)) {
            let total: u64 = plan.entries().iter().map(|e| e.size).sum();
            if total <= MAX_OUTPUT {
                let _ = crate::extract::execute(&plan, &target_dir, &Default::default());
            }
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    assert!(names.iter().all(|n| n == "in.cab" || n == "sentinel.txt" || n == "target"), "escaped: {names:?}");
    assert_eq!(std::fs::read(&sentinel).ok().as_deref(), Some(&b"sentinel"[..]), "sentinel changed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A named fuzz entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Authenticode structures from arbitrary bytes: a SignedData (with its certificates,
/// signer infos, nested signatures and catalog members), a certificate, a SignerInfo,
/// SpcIndirectDataContent and a TSTInfo-shaped timestamp, each checked as far as it reads.
pub fn sign_pkcs7(data: &[u8]) {
    use crate::sign::{catalog, der, pkcs7, x509};
    let store = crate::sign::TrustStore::default();
    if let Ok(sd) = pkcs7::SignedData::parse(data, true) {
        let _ = catalog::members(&sd);
        let _ = pkcs7::IndirectData::parse(&sd.content);
        for si in &sd.signers {
            let _ = crate::sign::timestamp::check_signer(si, &sd.certs, &sd.content);
            let _ = crate::sign::timestamp::verify(si, &sd.certs, &store);
            let _ = si.message_digest();
            let _ = si.signing_time();
        }
        for c in &sd.certs {
            let _ = crate::sign::chain::build(c, &sd.certs, &store, 0, crate::sign::chain::Purpose::CodeSigning);
            let _ = (c.subject_text(), c.issuer_text());
        }
    }
    if let Ok(c) = x509::Certificate::parse(data) {
        let _ = c.verifies(&c);
        let _ = c.subject_text();
    }
    if let Ok(t) = der::parse_whole(data, true) {
        let _ = pkcs7::SignerInfo::from_tlv(&t);
    }
    let _ = x509::certs_from_pem_or_der(data);
}

/// The whole verifier on arbitrary bytes (PE, compound file, cabinet or catalog by sniffing),
/// with an empty trust store.
pub fn sign_verify(data: &[u8]) {
    let store = crate::sign::TrustStore::default();
    let _ = crate::sign::verify_bytes_with(data, &store);
}

/// Every target by name, for the replay test.
pub const TARGETS: [Target; 18] = [
    ("package_description", package_description),
    ("transform_roundtrip", transform_roundtrip),
    ("delta_create", delta_create),
    ("transform_apply", transform_apply),
    ("pa19", pa19),
    ("cab_header", cab_header),
    ("cab_extract", cab_extract),
    ("decoder", decoder),
    ("pe_version", pe_version),
    ("summary", summary),
    ("msi_open", msi_open),
    ("compound_read", compound_read),
    ("path_sanitizer", path_sanitizer),
    ("kb_import", kb_import),
    ("manifest_yaml", manifest_yaml),
    ("extract_to_disk", extract_to_disk),
    ("sign_pkcs7", sign_pkcs7),
    ("sign_verify", sign_verify),
];
