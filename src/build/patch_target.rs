//! One target of a patch: its upgraded tables, the checks a patch must pass (identity,
//! the component rules of "Changing the Product Code"), and the files the patch carries,
//! found by comparing the bytes of both versions.

use super::patch_spec::Progress;
use super::upgraded::{derive, is_version, NewFile};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Location, Result, Warning, WarningKind};
use crate::extract::{plan, ExtractRequest, Plan};
use crate::msi::compare::{compare, TableStatus};
use crate::msi::{Database, PackageKind, TableData, Val};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a carried file's new bytes come from.
pub(super) enum FileFrom {
    /// Entry `usize` of the upgraded package's plan.
    Entry(usize),
    /// A file on disk.
    Disk(PathBuf),
}

/// A file the patch carries.
pub(super) struct Carried {
    pub key: String,
    pub added: bool,
    pub from: FileFrom,
    pub size: u64,
    pub sha256: [u8; 32],
    /// File.Version in the upgraded database (`None`: unversioned, hashed).
    pub version: Option<String>,
    /// The target's copy a delta could be made against: its entry in the target's plan
    /// and its size. Only when the target has the file, its bytes could be read, and it
    /// is installed where the new version goes (same image path).
    pub old: Option<(usize, u64)>,
    /// Why there is no such copy for a changed file (renamed or moved, unreadable).
    pub no_old: Option<&'static str>,
}

/// A target ready to be patched.
pub(super) struct Prepared {
    pub target: Database,
    pub upgraded_label: String,
    /// The upgraded package (binary cells are read from it; `None`: they are the target's).
    pub upgraded_db: Option<Database>,
    pub upgraded: BTreeMap<String, TableData>,
    pub upgraded_plan: Option<Plan>,
    /// The target's plan (the old bytes deltas are made against).
    pub target_plan: Plan,
    /// In the order their bytes are delivered (the cabinet's order).
    pub carried: Vec<Carried>,
    pub product_code: String,
    pub upgrade_code: Option<String>,
    pub from_version: String,
    pub to_version: String,
    /// One more than any sequence the target uses.
    pub next_sequence: i32,
    /// One more than any DiskId the target uses.
    pub next_disk: i32,
    pub warnings: Vec<Warning>,
}

/// Where a target's upgraded version comes from.
#[derive(Debug, Clone, Copy)]
pub(super) enum UpSide<'a> {
    /// An upgraded package.
    Package(&'a Path),
    /// A folder of new file versions.
    Files(&'a Path),
}

/// File key -> (plan index, size, SHA-256).
type Hashes = BTreeMap<String, (usize, u64, [u8; 32])>;

/// The upgraded side: its label, package, tables, plan and files (File key -> where the
/// bytes are, size, SHA-256).
struct UpgradedSide {
    label: String,
    db: Option<Database>,
    tables: BTreeMap<String, TableData>,
    plan: Option<Plan>,
    files: BTreeMap<String, (FileFrom, u64, [u8; 32])>,
}

/// A property of a set of tables.
pub(super) fn property(tables: &BTreeMap<String, TableData>, name: &str) -> Option<String> {
    let t = tables.get("Property")?;
    t.rows.iter().find(|r| t.get(r, "Property").as_str() == Some(name)).map(|r| t.get(r, "Value").text())
}

fn max_int(tables: &BTreeMap<String, TableData>, table: &str, col: &str) -> i32 {
    tables.get(table).map(|t| t.rows.iter().filter_map(|r| t.get(r, col).as_int()).max().unwrap_or(0)).unwrap_or(0)
}

/// Open an installer package with every table.
fn open_msi(path: &Path) -> Result<Database> {
    let db = Database::open(path)?;
    if db.kind != PackageKind::Msi {
        return Err(
            Error::new(ErrorKind::Usage, format!("not an installer package (it is {:?})", db.kind)).with_path(path)
        );
    }
    Ok(db)
}

fn finding(table: &str, key: &str, msg: String) -> Error {
    Error::new(ErrorKind::Findings, msg).at(Location::Table { table: table.into(), key: Some(key.into()) })
}

/// The component rules a patch keeps (Microsoft, "Changing the Product Code"): no
/// component's code changes or goes away, no key path changes (nor the name of a key
/// file), no component leaves a feature, no feature moves. Errors for those; warnings
/// for removed files (installed copies stay unless RemoveFile says otherwise).
fn check_rules(
    t: &BTreeMap<String, TableData>,
    u: &BTreeMap<String, TableData>,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    let mut errors: Vec<Error> = Vec::new();
    let rows = |m: &BTreeMap<String, TableData>, table: &str, key: &str| -> BTreeMap<String, Vec<Val>> {
        m.get(table)
            .map(|tb| {
                let Some(k) = tb.col(key) else { return BTreeMap::new() };
                tb.rows.iter().map(|r| (r[k].text(), r.clone())).collect()
            })
            .unwrap_or_default()
    };
    let col = |m: &BTreeMap<String, TableData>, table: &str, c: &str| m.get(table).and_then(|tb| tb.col(c));
    let (tc, uc) = (rows(t, "Component", "Component"), rows(u, "Component", "Component"));
    let (tf, uf) = (rows(t, "File", "File"), rows(u, "File", "File"));
    let id = |m: &BTreeMap<String, TableData>| col(m, "Component", "ComponentId");
    let kp = |m: &BTreeMap<String, TableData>| col(m, "Component", "KeyPath");
    let fname = |m: &BTreeMap<String, TableData>| col(m, "File", "FileName");
    for (k, row) in &tc {
        let Some(new) = uc.get(k) else {
            errors.push(finding(
                "Component",
                k,
                format!("component {k} is removed; a patch cannot remove a component (its product code would have to change)"),
            ));
            continue;
        };
        if let (Some(a), Some(b)) = (id(t), id(u)) {
            if row[a] != new[b] {
                errors.push(finding(
                    "Component",
                    k,
                    format!(
                        "component {k} changes its ComponentId from {} to {}; a patch cannot",
                        row[a].text(),
                        new[b].text()
                    ),
                ));
            }
        }
        if let (Some(a), Some(b)) = (kp(t), kp(u)) {
            if row[a] != new[b] {
                errors.push(finding(
                    "Component",
                    k,
                    format!(
                        "component {k} changes its key path from {:?} to {:?}; a patch cannot",
                        row[a].text(),
                        new[b].text()
                    ),
                ));
            } else if let (Some(fa), Some(fb)) = (fname(t), fname(u)) {
                let key_file = row[a].text();
                if let (Some(x), Some(y)) = (tf.get(&key_file), uf.get(&key_file)) {
                    if x[fa] != y[fb] {
                        errors.push(finding(
                            "File",
                            &key_file,
                            format!(
                                "the key file of component {k} is renamed from {} to {}; a patch cannot rename a key file",
                                x[fa].text(),
                                y[fb].text()
                            ),
                        ));
                    }
                }
            }
        }
    }
    let fc = |m: &BTreeMap<String, TableData>| -> std::collections::BTreeSet<(String, String)> {
        m.get("FeatureComponents")
            .map(|tb| tb.rows.iter().map(|r| (tb.get(r, "Feature_").text(), tb.get(r, "Component_").text())).collect())
            .unwrap_or_default()
    };
    let ufc = fc(u);
    for (f, c) in fc(t) {
        if !ufc.contains(&(f.clone(), c.clone())) {
            errors.push(finding(
                "FeatureComponents",
                &format!("{f}\t{c}"),
                format!("component {c} leaves feature {f}; a patch cannot take a component out of a feature"),
            ));
        }
    }
    let (tfe, ufe) = (rows(t, "Feature", "Feature"), rows(u, "Feature", "Feature"));
    if let (Some(a), Some(b)) = (col(t, "Feature", "Feature_Parent"), col(u, "Feature", "Feature_Parent")) {
        for (k, row) in &tfe {
            match ufe.get(k) {
                Some(new) if row[a] != new[b] => errors.push(finding(
                    "Feature",
                    k,
                    format!(
                        "feature {k} moves from parent {:?} to {:?}; a patch cannot reorganise features",
                        row[a].text(),
                        new[b].text()
                    ),
                )),
                None => errors.push(finding(
                    "Feature",
                    k,
                    format!("feature {k} is removed; a patch cannot remove a feature"),
                )),
                _ => {}
            }
        }
    }
    for k in tf.keys() {
        if !uf.contains_key(k) {
            warnings.push(Warning::new(
                WarningKind::Other,
                format!("File {k} is removed: installed copies stay unless a RemoveFile row removes them"),
            ));
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => {
            let text: Vec<String> = errors.iter().map(|e| e.message().to_string()).collect();
            let mut e = Error::new(
                ErrorKind::Findings,
                format!("{} changes a patch cannot carry: {}", errors.len(), text.join("; ")),
            );
            for l in errors.iter().flat_map(|e| e.locations().to_vec()) {
                e = e.at(l);
            }
            Err(e)
        }
    }
}

/// Read the binary cell stream `name` of `db` (`None` when it has none).
pub(super) fn read_binary(db: &Database, name: &str) -> Result<Option<Vec<u8>>> {
    let p = format!("/{}", crate::msi::encode_name(name, false));
    match db.compound.open_stream(&p) {
        Ok(s) => {
            let mut v = Vec::new();
            s.take(256 << 20).read_to_end(&mut v).map_err(|e| Error::io(&e, format_args!("reading stream {name}")))?;
            Ok(Some(v))
        }
        Err(_) => Ok(None),
    }
}

/// Hash every file of a plan, by File key; files that cannot be read are errors unless
/// `lenient`, when they are left out with a warning.
fn hashes(
    p: &Plan,
    deadline: &Deadline,
    tick: &(dyn Fn(u64) + Sync),
    lenient: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Hashes> {
    let (h, errors) = crate::extract::hash_entries(p, deadline, Some(tick));
    if let Some(e) = errors.into_iter().next() {
        if !lenient {
            return Err(e.context(format!("reading the files of {}", p.package)));
        }
        warnings.push(Warning::new(WarningKind::Media, format!("{e}; such files are treated as changed")));
    }
    Ok(h.into_iter().filter_map(|(i, (n, d))| p.entries.get(i).map(|e| (e.key.clone(), (i, n, d)))).collect())
}

/// Prepare target `path` with its upgraded version (`upgraded`: a package, or a folder of
/// new files).
pub(super) fn prepare(
    path: &Path,
    upgraded: UpSide<'_>,
    product_version: Option<&str>,
    deadline: &Deadline,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Prepared> {
    let target = open_msi(path)?;
    let tplan = plan(&ExtractRequest::new(path))?;
    let mut warnings = Vec::new();
    let uplan = match upgraded {
        UpSide::Package(u) => Some((open_msi(u)?, plan(&ExtractRequest::new(u))?)),
        UpSide::Files(_) => None,
    };
    let size = |p: &Plan| p.entries.iter().map(|e| e.size).sum::<u64>();
    let total = size(&tplan) + uplan.as_ref().map(|(_, p)| size(p)).unwrap_or(0);
    let hashed = std::sync::atomic::AtomicU64::new(0);
    let tick = |n: u64| {
        let d = hashed.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        progress(Progress { phase: "hashing", done: d, total });
    };
    let th = hashes(&tplan, deadline, &tick, true, &mut warnings)?;
    let up = match (upgraded, uplan) {
        (UpSide::Package(u), Some((udb, up))) => {
            let uh = hashes(&up, deadline, &tick, false, &mut warnings)?;
            let files = uh.into_iter().map(|(k, (i, n, d))| (k, (FileFrom::Entry(i), n, d))).collect();
            let tables = udb.tables.clone();
            UpgradedSide { label: u.display().to_string(), db: Some(udb), tables, plan: Some(up), files }
        }
        (UpSide::Package(u), None) => {
            return Err(Error::format("internal: the upgraded package was not planned").with_path(u))
        }
        (UpSide::Files(dir), _) => {
            let d = derive(&target, &tplan, dir, product_version)?;
            warnings.extend(d.warnings);
            let files = d
                .files
                .into_iter()
                .map(|(k, NewFile { path, size, sha256 })| (k, (FileFrom::Disk(path), size, sha256)))
                .collect();
            UpgradedSide { label: dir.display().to_string(), db: None, tables: d.tables, plan: None, files }
        }
    };
    let UpgradedSide { label: upgraded_label, db: upgraded_db, tables: utables, plan: uplan, files: new_files } = up;
    let from_package = matches!(upgraded, UpSide::Package(_));
    // Identity.
    let ttables = &target.tables;
    let pc = property(ttables, "ProductCode").unwrap_or_default();
    let upc = property(&utables, "ProductCode").unwrap_or_default();
    if pc.is_empty() {
        return Err(Error::new(ErrorKind::Missing, "the target has no ProductCode property").with_path(path));
    }
    if !pc.eq_ignore_ascii_case(&upc) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "the upgraded package's ProductCode {upc} is not the target's {pc}: that is a major upgrade, which a patch does not carry (install the upgraded package instead)"
            ),
        )
        .with_path(path));
    }
    let uc = property(ttables, "UpgradeCode");
    let uuc = property(&utables, "UpgradeCode");
    if uc.as_deref().map(str::to_ascii_uppercase) != uuc.as_deref().map(str::to_ascii_uppercase) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "the upgraded package's UpgradeCode ({}) is not the target's ({})",
                uuc.as_deref().unwrap_or("none"),
                uc.as_deref().unwrap_or("none")
            ),
        )
        .with_path(path));
    }
    check_rules(ttables, &utables, &mut warnings).map_err(|e| e.with_path(path))?;
    // Files the patch carries: every upgraded File row whose bytes the target does not have.
    let ufile = utables.get("File");
    let mut carried = Vec::new();
    if let Some(f) = ufile {
        for r in &f.rows {
            let key = f.get(r, "File").text();
            let Some((from, size, sha)) = new_files.get(&key) else {
                if from_package {
                    return Err(Error::new(
                        ErrorKind::Missing,
                        format!("File {key} of the upgraded package has no bytes in it (its cabinet or source file is missing)"),
                    )
                    .with_path(&upgraded_label));
                }
                continue;
            };
            let same = th.get(&key).is_some_and(|(_, n, d)| n == size && d == sha);
            if same {
                if !from_package {
                    warnings.push(Warning::new(
                        WarningKind::Other,
                        format!("File {key}: the new version is the target's; not carried"),
                    ));
                }
                continue;
            }
            let v = f.get(r, "Version");
            let added =
                !ttables.get("File").is_some_and(|t| t.rows.iter().any(|x| t.get(x, "File").as_str() == Some(&key)));
            // The copy a delta would apply to: the target's file at the path the new one
            // takes (PatchWiz sends a renamed or moved file whole, as its old copy is not
            // where PatchFiles looks).
            let (old, no_old) = match (added, th.get(&key)) {
                (true, _) => (None, None),
                (false, None) => (None, Some("the target's copy could not be read")),
                (false, Some((ti, n, _))) => {
                    let old_path = tplan.entries.get(*ti).map(|e| e.path.to_lowercase());
                    let same = match (from, &uplan) {
                        (FileFrom::Entry(i), Some(up)) => up.entries.get(*i).map(|e| e.path.to_lowercase()) == old_path,
                        _ => true,
                    };
                    if same {
                        (Some((*ti, *n)), None)
                    } else {
                        (None, Some("renamed or moved: the target's copy is not where the new one goes"))
                    }
                }
            };
            carried.push(Carried {
                key: key.clone(),
                added,
                from: match from {
                    FileFrom::Entry(i) => FileFrom::Entry(*i),
                    FileFrom::Disk(p) => FileFrom::Disk(p.clone()),
                },
                size: *size,
                sha256: *sha,
                version: is_version(v).then(|| v.text()),
                old,
                no_old,
            });
        }
    }
    // The cabinet's order: the order the bytes can be streamed in.
    if let Some(up) = &uplan {
        let idx: Vec<usize> =
            carried.iter().filter_map(|c| if let FileFrom::Entry(i) = c.from { Some(i) } else { None }).collect();
        let order = crate::extract::delivery_order(up, &idx);
        let pos: BTreeMap<usize, usize> = order.iter().enumerate().map(|(p, i)| (*i, p)).collect();
        carried.sort_by_key(|c| match c.from {
            FileFrom::Entry(i) => pos.get(&i).copied().unwrap_or(usize::MAX),
            FileFrom::Disk(_) => usize::MAX,
        });
    } else {
        let seq: BTreeMap<String, i32> = ttables
            .get("File")
            .map(|t| {
                t.rows.iter().map(|r| (t.get(r, "File").text(), t.get(r, "Sequence").as_int().unwrap_or(0))).collect()
            })
            .unwrap_or_default();
        carried.sort_by_key(|c| (seq.get(&c.key).copied().unwrap_or(i32::MAX), c.key.clone()));
    }
    // Nothing at all to carry is an error: a patch must change something.
    let mut same_binary = |name: &str| -> Result<bool> {
        let a = read_binary(&target, name)?;
        let b = match &upgraded_db {
            Some(u) => read_binary(u, name)?,
            None => a.clone(),
        };
        Ok(a == b)
    };
    let mut changes = compare(ttables, &utables, &mut same_binary)?;
    changes.retain(|c| !matches!(c.name.as_str(), "Media" | "PatchPackage" | "Patch" | "MsiPatchHeaders"));
    changes.retain(|c| {
        c.name != "File" || c.status != TableStatus::Changed || !c.added.is_empty() || !c.removed.is_empty() || {
            let seq = c.columns.iter().position(|x| x.name == "Sequence");
            c.changed.iter().any(|ch| ch.columns.iter().any(|&i| Some(i) != seq))
        }
    });
    if carried.is_empty() && changes.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("{upgraded_label} makes no change to this target: nothing to patch"),
        )
        .with_path(path));
    }
    let next_sequence = [
        max_int(ttables, "File", "Sequence"),
        max_int(ttables, "Media", "LastSequence"),
        max_int(ttables, "Patch", "Sequence"),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
        + 1;
    let next_disk = max_int(ttables, "Media", "DiskId") + 1;
    Ok(Prepared {
        product_code: pc,
        upgrade_code: uc,
        from_version: property(ttables, "ProductVersion").unwrap_or_default(),
        to_version: property(&utables, "ProductVersion").unwrap_or_default(),
        upgraded_label,
        upgraded_db,
        upgraded: utables,
        upgraded_plan: uplan,
        target_plan: tplan,
        carried,
        next_sequence,
        next_disk,
        warnings,
        target,
    })
}
