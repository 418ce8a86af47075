//! A patch package: its identity, its transform pairs and its cabinets, and applying it
//! to a database (the view used for extraction, and the view saved into an
//! administrative image's package).

use super::transform::{self, ApplyOptions, ApplyStats, Transform, TransformInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::msi::{Compound, Database, PackageKind, TableData, Val};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `info` reports about a patch.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PatchInfo {
    /// Patch code (first GUID of Revision Number).
    pub patch_code: Option<String>,
    /// Patches this one obsoletes (further GUIDs of Revision Number).
    pub obsoletes: Vec<String>,
    /// Raw Revision Number.
    pub revision: Option<String>,
    /// Target ProductCodes (Template).
    pub targets: Vec<String>,
    /// Raw Template.
    pub template: Option<String>,
    /// Transform storages in application order (Last Saved By).
    pub transforms: Vec<String>,
    /// Minimum installer (Word Count).
    pub minimum_installer: Option<i32>,
    /// MsiPatchMetadata rows: (company, property, value).
    pub metadata: Vec<(Option<String>, String, String)>,
    /// Classification from the metadata.
    pub classification: Option<String>,
    /// MsiPatchSequence rows.
    pub sequence: Vec<BTreeMap<String, serde_json::Value>>,
    /// Each transform's own summary.
    pub transform_info: Vec<TransformInfo>,
}

/// A patch, read.
pub struct Patch {
    /// The .msp.
    pub path: PathBuf,
    /// Its own database (summary, root tables, streams).
    pub db: Database,
    /// Transforms in application order.
    pub transforms: Vec<Transform>,
}

fn guids(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        match rest[start..].find('}') {
            Some(end) => {
                out.push(rest[start..start + end + 1].to_string());
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    out
}

impl Patch {
    /// Read a patch.
    pub fn open(path: &Path) -> Result<Patch> {
        Self::from_database(Database::open(path)?)
    }

    /// A patch from its database (read with [`Database::open`] or from any input).
    pub fn from_database(db: Database) -> Result<Patch> {
        let path = db.path.clone();
        let path = path.as_path();
        if db.kind != PackageKind::Msp {
            return Err(
                Error::new(ErrorKind::Usage, format!("not a patch package (it is {:?})", db.kind)).with_path(path)
            );
        }
        let list = db.summary.get_str(8).unwrap_or("").to_string();
        let mut transforms = Vec::new();
        for name in list.split(';').map(|s| s.trim().trim_start_matches(':')).filter(|s| !s.is_empty()) {
            if !db.storages.iter().any(|s| s == name) {
                return Err(Error::format(format!("transform {name:?} listed in the summary is not in the patch"))
                    .with_path(path));
            }
            transforms.push(Transform::read_from(db.compound.clone(), path, name)?);
        }
        if transforms.is_empty() {
            // Older patches may not list them: take the storages, plain before '#'.
            let mut st = db.storages.clone();
            st.sort_by_key(|s| (s.trim_start_matches('#').to_string(), s.starts_with('#')));
            for name in st {
                transforms.push(Transform::read_from(db.compound.clone(), path, &name)?);
            }
        }
        Ok(Patch { path: path.to_path_buf(), db, transforms })
    }

    /// The patch's identity and contents.
    pub fn info(&self) -> PatchInfo {
        let rev = self.db.summary.get_str(9).map(str::to_string);
        let g = rev.as_deref().map(guids).unwrap_or_default();
        let template = self.db.summary.get_str(7).map(str::to_string);
        let targets = template.as_deref().map(guids).unwrap_or_default();
        let mut metadata = Vec::new();
        if let Some(t) = self.db.table("MsiPatchMetadata") {
            for r in &t.rows {
                metadata.push((
                    t.get(r, "Company").as_str().map(str::to_string),
                    t.get(r, "Property").text(),
                    t.get(r, "Value").text(),
                ));
            }
        }
        let classification = metadata.iter().find(|m| m.0.is_none() && m.1 == "Classification").map(|m| m.2.clone());
        let mut sequence = Vec::new();
        if let Some(t) = self.db.table("MsiPatchSequence") {
            for r in &t.rows {
                let mut m = BTreeMap::new();
                for (c, v) in t.columns.iter().zip(r) {
                    let j = match v {
                        Val::Null => serde_json::Value::Null,
                        Val::Int(i) => (*i).into(),
                        other => other.text().into(),
                    };
                    m.insert(c.name.clone(), j);
                }
                sequence.push(m);
            }
        }
        PatchInfo {
            patch_code: g.first().cloned(),
            obsoletes: g.iter().skip(1).cloned().collect(),
            revision: rev,
            targets,
            template,
            transforms: self.transforms.iter().map(|t| t.info.name.clone()).collect(),
            minimum_installer: self.db.summary.word_count(),
            metadata,
            classification,
            sequence,
            transform_info: self.transforms.iter().map(|t| t.info.clone()).collect(),
        }
    }

    /// Transform pairs (X, #X) in order; a lone transform forms a pair with nothing.
    pub fn pairs(&self) -> Vec<(&Transform, Option<&Transform>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.transforms.len() {
            let t = &self.transforms[i];
            let next = self.transforms.get(i + 1).filter(|n| n.info.name == format!("#{}", t.info.name));
            out.push((t, next));
            i += if next.is_some() { 2 } else { 1 };
        }
        out
    }
}

/// A database view being patched: the full view (every transform) and the view an
/// administrative image's package keeps (only the non-`#` transforms).
pub struct PatchedDb {
    /// Tables after every transform.
    pub tables: BTreeMap<String, TableData>,
    /// Tables after the non-`#` transforms only.
    pub persisted: BTreeMap<String, TableData>,
    /// Media DiskIds whose `#cabinet` lives in a patch: DiskId -> patch path.
    pub media_sources: BTreeMap<i32, PathBuf>,
    /// What was applied: (patch or transform file, transform name, stats).
    pub applied: Vec<(String, String, ApplyStats)>,
    /// Binary cells set by transforms: `Table.Key` -> the transform's package, the
    /// stream's path in it, and the transform's storage (`#` ones are the patch's own).
    pub binaries: BTreeMap<String, (Arc<Compound>, String, String)>,
    /// Language of the base database (Template), for transform validation.
    pub language: Option<String>,
}

fn disk_ids(tables: &BTreeMap<String, TableData>) -> BTreeMap<i32, String> {
    let mut m = BTreeMap::new();
    if let Some(t) = tables.get("Media") {
        for r in &t.rows {
            if let Some(d) = t.get(r, "DiskId").as_int() {
                m.insert(d, t.get(r, "Cabinet").text());
            }
        }
    }
    m
}

impl PatchedDb {
    /// Start from a database.
    pub fn new(db: &Database) -> PatchedDb {
        let language = db
            .summary
            .get_str(7)
            .and_then(|t| t.split_once(';'))
            .map(|(_, l)| l.split(',').next().unwrap_or("").to_string());
        PatchedDb {
            tables: db.tables.clone(),
            persisted: db.tables.clone(),
            media_sources: BTreeMap::new(),
            applied: Vec::new(),
            binaries: BTreeMap::new(),
            language,
        }
    }

    fn record_binaries(&mut self, t: &Transform, st: &ApplyStats) {
        for b in &st.binaries {
            let Some(path) = t.binaries.get(b) else { continue };
            let storage = path.trim_start_matches('/').split('/').next().unwrap_or("").to_string();
            self.binaries.insert(b.clone(), (t.compound().clone(), path.clone(), storage));
        }
    }

    /// Apply a stand-alone transform (.mst): validated unless `force`; persisted.
    pub fn apply_transform(&mut self, t: &Transform, force: bool) -> Result<()> {
        if !force {
            transform::check_applicable(&t.info, &self.tables, self.language.as_deref()).map_err(|why| {
                Error::new(ErrorKind::Validation, format!("transform {} does not apply: {why}", t.info.name))
                    .with_path(&t.file)
            })?;
        }
        let opts = ApplyOptions { force, standard_schemas: false };
        let st = transform::apply(t, &mut self.tables, opts)?;
        transform::apply(t, &mut self.persisted, opts)?;
        self.record_binaries(t, &st);
        self.applied.push((t.file.display().to_string(), t.info.name.clone(), st));
        Ok(())
    }

    /// Apply a patch: every transform pair whose first transform validates against the
    /// current view is applied (X to both views, #X to the full view only). No
    /// applicable pair is an error naming each pair's failed condition.
    pub fn apply_patch(&mut self, p: &Patch, force: bool) -> Result<usize> {
        let mut reasons = Vec::new();
        let mut applied = 0;
        for (x, hx) in p.pairs() {
            if let Err(why) = transform::check_applicable(&x.info, &self.tables, self.language.as_deref()) {
                if !force {
                    reasons.push(format!("{}: {why}", x.info.name));
                    continue;
                }
            }
            let before = disk_ids(&self.tables);
            let opts = ApplyOptions { force, standard_schemas: false };
            let st = transform::apply(x, &mut self.tables, opts)?;
            transform::apply(x, &mut self.persisted, opts)?;
            self.record_binaries(x, &st);
            self.applied.push((p.path.display().to_string(), x.info.name.clone(), st));
            if let Some(hx) = hx {
                if let Err(why) = transform::check_applicable(&hx.info, &self.tables, self.language.as_deref()) {
                    if !force {
                        return Err(Error::new(
                            ErrorKind::Validation,
                            format!("transform {} does not apply after {}: {why}", hx.info.name, x.info.name),
                        )
                        .with_path(&p.path));
                    }
                }
                let st = transform::apply(hx, &mut self.tables, opts)?;
                self.record_binaries(hx, &st);
                self.applied.push((p.path.display().to_string(), hx.info.name.clone(), st));
            }
            for (disk, cab) in disk_ids(&self.tables) {
                if before.get(&disk) != Some(&cab) && cab.starts_with('#') {
                    self.media_sources.insert(disk, p.path.clone());
                }
            }
            applied += 1;
        }
        if applied == 0 {
            return Err(Error::new(
                ErrorKind::Validation,
                format!("the patch does not apply to this package: {}", reasons.join("; ")),
            )
            .with_path(&p.path));
        }
        Ok(applied)
    }

    /// Property value in the full view.
    pub fn property(&self, name: &str) -> Option<String> {
        let t = self.tables.get("Property")?;
        t.rows.iter().find(|r| t.get(r, "Property").as_str() == Some(name)).map(|r| t.get(r, "Value").text())
    }
}
