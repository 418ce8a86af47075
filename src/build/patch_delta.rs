//! Binary deltas in a patch (`build msp --delta`): which carried files travel as PA19
//! deltas against the target's copy, the deltas and their headers, and the rows that
//! make the PatchFiles action apply them: a Patch row per delta (its header in the Header
//! column, or in MsiPatchHeaders where the Header stream's name would be too long), and
//! PatchFiles in the execute sequences that lack it. The File row of a delta-patched
//! file keeps its target Sequence and attributes, so InstallFiles takes the old file from
//! the product's own media and PatchFiles turns it into the new one. ARCHITECTURE.md
//! states each rule with its source.

use super::cab_stream::mszip_size;
use super::ids::derived_guid;
use super::patch_spec::{DeltaMode, DeltaOptions, Progress};
use super::patch_target::{Carried, FileFrom, Prepared};
use crate::deadline::Deadline;
use crate::delta::{create, header_only, CreateOptions, E8Mode, RiftMode};
use crate::error::{Error, ErrorKind, Result};
use crate::extract::Plan;
use crate::msi::{TableData, Val};
use md5::Digest as _;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The patch cabinet's deflate level (costs are measured at it).
pub(super) const LEVEL: i32 = 6;
/// Old and new bytes held at once while deltas are made.
const BATCH_BYTES: u64 = 256 << 20;
/// The LZX DELTA window: the old file rounded up to 32 KiB, plus the new file.
const WINDOW: u64 = 32 << 20;
/// Longest stream name a compound file stores (UTF-16 units, after Windows Installer's
/// packing of two name characters into one).
const MAX_STREAM_NAME: usize = 31;

/// A delta chosen for a carried file.
pub(super) struct Delta {
    /// The PA19 patch (the cabinet entry).
    pub bytes: Vec<u8>,
    /// Its header-only form (the Patch row's header).
    pub header: Vec<u8>,
}

/// What was decided for one carried file.
#[derive(Default)]
pub(super) struct Choice {
    /// The delta it travels as (`None`: whole).
    pub delta: Option<Delta>,
    /// Size of the delta made, used or not.
    pub delta_size: Option<u64>,
    /// Why a changed file travels whole.
    pub note: Option<String>,
    /// MD5 of the new bytes, when they were read here (a delta's file is not streamed
    /// again, so its MsiFileHash comes from this).
    pub md5: Option<[u8; 16]>,
}

/// Read the entries `indices` of `plan` into memory (each cabinet folder decoded once).
fn read_entries(plan: &Plan, indices: &[usize], deadline: &Deadline) -> Result<BTreeMap<usize, Vec<u8>>> {
    let mut out: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut each = |i: usize, chunk: Option<&[u8]>| -> Result<()> {
        if let Some(d) = chunk {
            out.entry(i).or_default().extend_from_slice(d);
        } else {
            out.entry(i).or_default();
        }
        Ok(())
    };
    crate::extract::stream_entries(plan, indices, deadline, &mut each)?;
    Ok(out)
}

/// The encoder's options for a patch's deltas: exact new bytes (no normalisation of the
/// new file), no time, and Wine's subset unless PE normalisation is asked for.
fn encoder(opts: DeltaOptions) -> CreateOptions {
    CreateOptions {
        timestamp: None,
        pe_normalise: opts.pe_normalise,
        normalize_new: false,
        rift: RiftMode::Auto,
        e8: E8Mode::Auto,
        effort: opts.effort,
        wine_compatible: !opts.pe_normalise,
        ranges: Vec::new(),
    }
}

/// Make the delta of one file and decide how it travels.
fn decide(c: &Carried, old: &[u8], new: &[u8], mode: DeltaMode, opts: DeltaOptions) -> Result<Choice> {
    let sha: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(new).into();
    if sha != c.sha256 {
        return Err(Error::format(format!("File {}: its new bytes changed while the patch was made", c.key)));
    }
    let md5: [u8; 16] = md5::Md5::digest(new).into();
    let (bytes, _) =
        create(&[old], new, &encoder(opts)).map_err(|e| e.context(format!("File {}: making its delta", c.key)))?;
    // Every delta is applied once before it is kept: one that does not give the new file
    // byte for byte is a fault of ours, never a patch.
    let back =
        crate::delta::apply(&bytes, Some(old)).map_err(|e| e.context(format!("File {}: checking its delta", c.key)))?;
    if back != new {
        return Err(Error::format(format!("internal: the delta made for File {} does not give the new file", c.key)));
    }
    let header = header_only(&bytes)?;
    let size = bytes.len() as u64;
    let mut choice = Choice { delta: None, delta_size: Some(size), note: None, md5: Some(md5) };
    let keep = match mode {
        DeltaMode::Off => false,
        DeltaMode::Always => true,
        DeltaMode::Auto => {
            let as_delta = mszip_size(&bytes, LEVEL)? + header.len() as u64;
            let whole = mszip_size(new, LEVEL)?;
            if as_delta >= whole {
                choice.note = Some(format!(
                    "its delta ({size} bytes; {as_delta} in the patch with its header) is not smaller than the file ({whole} bytes in the cabinet)"
                ));
            }
            as_delta < whole
        }
    };
    if keep {
        choice.delta = Some(Delta { bytes, header });
    }
    Ok(choice)
}

/// Decide, for each file `p` carries (in its order), whether it travels as a delta, and
/// make the deltas. Files are read in batches of at most 256 MiB of old and new bytes;
/// the deltas of a batch are made in parallel.
pub(super) fn choose(
    p: &Prepared,
    mode: DeltaMode,
    opts: DeltaOptions,
    deadline: &Deadline,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<Choice>> {
    let mut out: Vec<Choice> = p.carried.iter().map(|_| Choice::default()).collect();
    if mode == DeltaMode::Off {
        return Ok(out);
    }
    // (carried index, old plan index, old size)
    let mut cands: Vec<(usize, usize, u64)> = Vec::new();
    for (i, c) in p.carried.iter().enumerate() {
        if c.added {
            continue;
        }
        let Some((oi, osize)) = c.old else {
            out[i].note = c.no_old.map(str::to_string);
            continue;
        };
        if c.size == 0 {
            out[i].note = Some("the new file is empty".into());
            continue;
        }
        if osize.div_ceil(32768) * 32768 + c.size > WINDOW {
            out[i].note = Some(format!(
                "the old file ({osize} bytes) and the new one ({} bytes) exceed the 32 MiB LZX DELTA window",
                c.size
            ));
            continue;
        }
        cands.push((i, oi, osize));
    }
    let total: u64 = cands.iter().map(|&(i, _, _)| p.carried[i].size).sum();
    let mut done = 0u64;
    let mut k = 0;
    while k < cands.len() {
        let mut end = k;
        let mut bytes = 0u64;
        while end < cands.len() {
            let need = cands[end].2 + p.carried[cands[end].0].size;
            if end > k && bytes + need > BATCH_BYTES {
                break;
            }
            bytes += need;
            end += 1;
        }
        let batch = &cands[k..end];
        let olds = read_entries(&p.target_plan, &batch.iter().map(|b| b.1).collect::<Vec<_>>(), deadline)?;
        let mut news: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut from_plan: Vec<(usize, usize)> = Vec::new();
        for &(i, _, _) in batch {
            match &p.carried[i].from {
                FileFrom::Entry(e) => from_plan.push((*e, i)),
                FileFrom::Disk(path) => {
                    let d = std::fs::read(path).map_err(|e| Error::io(&e, "reading").with_path(path))?;
                    news.insert(i, d);
                }
            }
        }
        if let (Some(up), false) = (&p.upgraded_plan, from_plan.is_empty()) {
            let idx: Vec<usize> = from_plan.iter().map(|f| f.0).collect();
            let mut got = read_entries(up, &idx, deadline)?;
            for (e, i) in from_plan {
                let d = got.remove(&e).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Missing,
                        format!("File {}: its new bytes were not delivered", p.carried[i].key),
                    )
                })?;
                news.insert(i, d);
            }
        }
        deadline.check()?;
        let results: Vec<Result<(usize, Choice)>> = batch
            .par_iter()
            .map(|&(i, oi, _)| {
                let c = &p.carried[i];
                let old = olds.get(&oi).map(Vec::as_slice).unwrap_or_default();
                let new = news.get(&i).map(Vec::as_slice).unwrap_or_default();
                Ok((i, decide(c, old, new, mode, opts)?))
            })
            .collect();
        for r in results {
            let (i, ch) = r?;
            done += p.carried[i].size;
            out[i] = ch;
        }
        progress(Progress { phase: "deltas", done, total });
        k = end;
    }
    Ok(out)
}

/// Whether a binary cell stream named `name` can be stored.
fn fits(name: &str) -> bool {
    crate::msi::encode_name(name, false).encode_utf16().count() <= MAX_STREAM_NAME
}

fn table<'a>(v: &'a mut BTreeMap<String, TableData>, name: &str) -> &'a mut TableData {
    v.entry(name.to_string()).or_insert_with(|| TableData {
        name: name.to_string(),
        columns: crate::msi::schema::columns(name).unwrap_or_default(),
        rows: Vec::new(),
    })
}

/// Add the Patch rows of `deltas` ((File key, patch sequence, delta)) to the view `v`:
/// File_, Sequence, PatchSize, Attributes 0 (a failure is fatal), the header in Header
/// (stream `Patch.<File>.<Sequence>`), or, where that stream name would be too long, in
/// an MsiPatchHeaders row named by a key derived from the patch code and File key,
/// referred to by StreamRef_. Returns the header streams by name, and the File keys whose
/// header went to MsiPatchHeaders.
pub(super) fn add_patch_rows(
    v: &mut BTreeMap<String, TableData>,
    deltas: &[(&str, i32, &Delta)],
    patch_code: &str,
) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let mut streams = BTreeMap::new();
    let mut long = Vec::new();
    if deltas.is_empty() {
        return (streams, long);
    }
    let mut headers: Vec<Vec<Val>> = Vec::new();
    let mut rows: Vec<Vec<Val>> = Vec::new();
    for (key, seq, d) in deltas {
        let name = format!("Patch.{key}.{seq}");
        let size = Val::Int(d.bytes.len().min(i32::MAX as usize) as i32);
        if fits(&name) {
            streams.insert(name, d.header.clone());
            rows.push(vec![Val::str(*key), Val::Int(*seq), size, Val::Int(0), Val::Binary, Val::Null]);
        } else {
            // PatchWiz's form of the key: a GUID's digits in groups joined by `_`.
            let g = derived_guid(&format!("MsiPatchHeaders {patch_code} {key}"));
            let r = format!("_{}", g.trim_matches(['{', '}']).replace('-', "_"));
            streams.insert(format!("MsiPatchHeaders.{r}"), d.header.clone());
            headers.push(vec![Val::str(r.clone()), Val::Binary]);
            long.push(key.to_string());
            rows.push(vec![Val::str(*key), Val::Int(*seq), size, Val::Int(0), Val::Null, Val::str(r)]);
        }
    }
    let t = table(v, "Patch");
    for r in rows {
        t.rows.retain(|x| x.first() != r.first());
        t.rows.push(r);
    }
    if !headers.is_empty() {
        let t = table(v, "MsiPatchHeaders");
        t.rows.extend(headers);
    }
    (streams, long)
}

/// Schedule PatchFiles in InstallExecuteSequence and AdminExecuteSequence where the view
/// lacks it: after InstallFiles and before DuplicateFiles (Microsoft, "PatchFiles
/// Action"), at 4090 (the number of the standard sequences) when that is free and in
/// range, else at the first free number after InstallFiles.
pub(super) fn add_patch_files(v: &mut BTreeMap<String, TableData>) {
    for name in ["InstallExecuteSequence", "AdminExecuteSequence"] {
        let Some(t) = v.get_mut(name) else { continue };
        let (Some(ai), Some(si)) = (t.col("Action"), t.col("Sequence")) else { continue };
        let seq_of =
            |t: &TableData, a: &str| t.rows.iter().find(|r| r[ai].as_str() == Some(a)).and_then(|r| r[si].as_int());
        if seq_of(t, "PatchFiles").is_some() {
            continue;
        }
        let after = seq_of(t, "InstallFiles").unwrap_or(4000);
        let before = seq_of(t, "DuplicateFiles").unwrap_or(i32::from(i16::MAX) + 1);
        let taken: std::collections::BTreeSet<i32> = t.rows.iter().filter_map(|r| r[si].as_int()).collect();
        let free = |n: i32| n > after && n < before && !taken.contains(&n);
        let Some(n) = std::iter::once(4090).chain(after + 1..before).find(|&n| free(n)) else { continue };
        let mut row = vec![Val::Null; t.columns.len()];
        row[ai] = Val::str("PatchFiles");
        row[si] = Val::Int(n);
        t.rows.push(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq_table(rows: &[(&str, i32)]) -> TableData {
        TableData {
            name: "InstallExecuteSequence".into(),
            columns: crate::msi::schema::columns("InstallExecuteSequence").unwrap_or_default(),
            rows: rows.iter().map(|(a, s)| vec![Val::str(*a), Val::Null, Val::Int(*s)]).collect(),
        }
    }

    /// InstallExecuteSequence rows (action, sequence).
    type Rows<'a> = &'a [(&'a str, i32)];

    #[test]
    fn patch_files_goes_after_install_files_and_before_duplicate_files() {
        let cases: [(Rows, Option<i32>); 4] = [
            (&[("InstallFiles", 4000)], Some(4090)),
            (&[("InstallFiles", 4000), ("DuplicateFiles", 4050)], Some(4001)),
            (&[("InstallFiles", 4000), ("X", 4001), ("DuplicateFiles", 4003)], Some(4002)),
            (&[("InstallFiles", 4000), ("PatchFiles", 3000)], Some(3000)),
        ];
        for (rows, want) in cases {
            let mut v = BTreeMap::new();
            v.insert("InstallExecuteSequence".to_string(), seq_table(rows));
            add_patch_files(&mut v);
            let t = &v["InstallExecuteSequence"];
            let got = t.rows.iter().find(|r| r[0].as_str() == Some("PatchFiles")).and_then(|r| r[2].as_int());
            assert_eq!(got, want, "{rows:?}");
        }
    }

    #[test]
    fn long_file_keys_put_their_header_in_msi_patch_headers() {
        let d = Delta { bytes: vec![1, 2, 3], header: vec![9; 4] };
        let long = "a_file_key_long_enough_that_its_header_stream_has_no_room_x";
        let mut v = BTreeMap::new();
        let (s, long_keys) =
            add_patch_rows(&mut v, &[("short.dll", 7, &d), (long, 8, &d)], "{00000000-0000-0000-0000-000000000001}");
        assert_eq!(long_keys, [long]);
        assert!(s.contains_key("Patch.short.dll.7"));
        let r = s.keys().find(|k| k.starts_with("MsiPatchHeaders._")).cloned().unwrap_or_default();
        assert!(fits(&r), "{r}");
        assert_eq!(v["MsiPatchHeaders"].rows.len(), 1);
        let p = &v["Patch"].rows;
        assert_eq!(p[0][4], Val::Binary);
        assert_eq!(p[1][4], Val::Null);
        assert_eq!(p[1][5].text().len(), 37);
    }
}
