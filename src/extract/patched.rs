//! Patched administrative images (`msiexec /a base.msi /p patch.msp`) and the contents of
//! a patch on its own.

use super::admin::{AdminChanges, AdminSource};
use super::plan::{plan_msi_with, plan_stream_cabinets, MsiPlanOptions, PackageStreams, Plan, Source};
use crate::error::{Result, Warning, WarningKind};
use crate::msi::directory::{pick_name, Directories};
use crate::msi::{Database, TableData};
use crate::msp::{Patch, PatchedDb, Transform};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Apply `transforms` (.mst files) then `patches` (.msp files), in order, to `db` and
/// plan its administrative image; the administrative copy carries the changes.
pub(crate) fn plan_patched(
    db: &Database,
    transforms: &[PathBuf],
    patches: &[PathBuf],
    force: bool,
    opts: MsiPlanOptions,
) -> Result<Plan> {
    let (patched, streams) = apply_all(db, transforms, patches, force)?;
    let media: BTreeMap<i32, PackageStreams> =
        patched.media_sources.iter().filter_map(|(d, p)| streams.get(p).map(|s| (*d, s.clone()))).collect();
    let mut plan = plan_msi_with(db, &patched.tables, &media, opts)?;
    for (file, name, st) in &patched.applied {
        plan.warnings.push(Warning::new(
            WarningKind::Applied,
            format!(
                "applied transform {name} of {file}: {} rows inserted, {} updated, {} deleted",
                st.inserted, st.updated, st.deleted
            ),
        ));
    }
    let changes = admin_changes(db, &patched)?;
    plan.admin_source = Some(AdminSource {
        compound: db.compound.clone(),
        label: db.path.clone(),
        changes,
        short_names: opts.short_names,
    });
    Ok(plan)
}

/// Apply `transforms` then `patches` to a view of `db`; also returns each patch's streams.
pub(crate) fn apply_all(
    db: &Database,
    transforms: &[PathBuf],
    patches: &[PathBuf],
    force: bool,
) -> Result<(PatchedDb, BTreeMap<PathBuf, PackageStreams>)> {
    let mut patched = PatchedDb::new(db);
    for t in transforms {
        let tr = Transform::read(t, "")?;
        patched.apply_transform(&tr, force)?;
    }
    let mut streams = BTreeMap::new();
    for p in patches {
        let patch = Patch::open(p)?;
        patched.apply_patch(&patch, force)?;
        streams.insert(p.clone(), PackageStreams::of(&patch.db));
    }
    Ok((patched, streams))
}

/// Plan the files a patch carries, without its target: entries are named by the File and
/// Directory rows its transforms add or change where there are such rows, by File key
/// otherwise; binary deltas are listed but not written.
pub(crate) fn plan_patch_alone(patch: &Patch) -> Result<Plan> {
    let mut tables: BTreeMap<String, TableData> = BTreeMap::new();
    let opts = crate::msp::ApplyOptions { force: true, standard_schemas: true };
    for t in &patch.transforms {
        crate::msp::apply(t, &mut tables, opts)?;
    }
    let mut plan = plan_stream_cabinets(&patch.db);
    let dirs = Directories::resolve_tables(&tables, false);
    let file = tables.get("File");
    let comp = tables.get("Component");
    let deltas: Vec<String> =
        tables.get("Patch").map(|p| p.rows.iter().map(|r| p.get(r, "File_").text()).collect()).unwrap_or_default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in &mut plan.entries {
        let key = e.key.clone();
        let row = file.and_then(|f| f.rows.iter().find(|r| f.get(r, "File").text() == key).map(|r| (f, r)));
        let name = row
            .and_then(|(f, r)| f.get(r, "FileName").as_str().map(|n| pick_name(n, false).to_string()))
            .filter(|n| !n.is_empty());
        let dir = row
            .and_then(|(f, r)| f.get(r, "Component_").as_str().map(str::to_string))
            .and_then(|c| {
                comp.and_then(|ct| {
                    ct.rows.iter().find(|r| ct.get(r, "Component").text() == c).map(|r| ct.get(r, "Directory_").text())
                })
            })
            .and_then(|d| dirs.get(&d).cloned());
        let (mut comps, named_by) = match name {
            Some(n) => {
                let mut c = dir.unwrap_or_default();
                c.push(n);
                (c, "file-table")
            }
            None => (vec![key.clone()], "file-key"),
        };
        if let Err(err) = crate::output::names::split_relative(&comps.join("/")) {
            e.source = Source::Unavailable { reason: format!("File {key}: {}", err.message()) };
            comps = Vec::new();
        }
        // Two entries with one name: keep the first, suffix the File key on the others.
        let lower = comps.join("/").to_lowercase();
        let n = seen.entry(lower).or_insert(0);
        *n += 1;
        if *n > 1 {
            if let Some(last) = comps.last_mut() {
                *last = format!("{last}.{key}");
            }
        }
        e.path = comps.join("/");
        e.named_by = Some(named_by);
        let is_delta = deltas.contains(&key);
        e.delta = Some(is_delta);
        if is_delta {
            e.source = Source::Unavailable {
                reason: format!("File {key} is a binary delta (PA19) against the target's file; extract the target package with this patch to apply it; not written"),
            };
        }
    }
    Ok(plan)
}

/// The changes a patched image makes to its administrative package: the tables as the
/// non-`#` transforms leave them, binary cells they set, and the summary properties the
/// patch names (PATCHNEWPACKAGECODE -> Revision Number, PATCHNEWSUMMARYSUBJECT -> Subject,
/// PATCHNEWSUMMARYCOMMENTS -> Comments).
fn admin_changes(db: &Database, patched: &PatchedDb) -> Result<AdminChanges> {
    use crate::error::IoResultExt;
    use crate::msi::summary::NewValue;
    use std::io::Read;
    let mut streams = Vec::new();
    for (stream, (compound, path, storage)) in &patched.binaries {
        let table = stream.split('.').next().unwrap_or("");
        if !patched.persisted.contains_key(table) || storage.starts_with('#') {
            continue;
        }
        let mut data = Vec::new();
        compound
            .open_stream(path)
            .io_ctx(format_args!("opening stream {stream:?}"))?
            .take(64 << 20)
            .read_to_end(&mut data)
            .io_ctx(format_args!("reading stream {stream:?}"))?;
        streams.push((stream.clone(), data));
    }
    let mut summary = Vec::new();
    if let Some(v) = patched.property("PATCHNEWPACKAGECODE") {
        summary.push((9, NewValue::Str(v)));
    }
    if let Some(v) = patched.property("PATCHNEWSUMMARYSUBJECT") {
        summary.push((3, NewValue::Str(v)));
    }
    if let Some(v) = patched.property("PATCHNEWSUMMARYCOMMENTS") {
        summary.push((6, NewValue::Str(v)));
    }
    let codepage = match db.summary.get(1) {
        Some(crate::msi::summary::PropValue::Int(c)) => *c as u32 & 0xFFFF,
        _ => 1252,
    };
    Ok(AdminChanges { tables: Some(patched.persisted.clone()), codepage, streams, summary })
}
