//! `info`: what a file is and what it holds.

use crate::cab::{CabHeader, FileSource};
use crate::error::Result;
use crate::msi::{Database, PropValue, StreamSource};
use crate::package::{Input, InputKind};
use serde::Serialize;
use std::path::Path;

/// A cabinet's directory in brief.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CabInfo {
    /// Name or path.
    pub name: String,
    /// Declared size.
    pub size: u32,
    /// Set id and index.
    pub set_id: u16,
    /// Index in the set.
    pub index: u16,
    /// Previous cabinet.
    pub prev: Option<String>,
    /// Next cabinet.
    pub next: Option<String>,
    /// Per-cabinet reserve size (a signature area when non-zero).
    pub header_reserve: u16,
    /// Folders: compression and block counts.
    pub folders: Vec<CabFolderInfo>,
    /// Number of files.
    pub file_count: usize,
    /// Files (name, size, date).
    pub files: Vec<CabFileInfo>,
    /// What the reader noticed (a wrapped file count, a misplaced coffFiles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A folder.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CabFolderInfo {
    /// Compression label.
    pub compression: String,
    /// Blocks.
    pub blocks: u16,
}

/// A file entry.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CabFileInfo {
    /// Name as stored.
    pub name: String,
    /// Size.
    pub size: u32,
    /// DOS timestamp as `YYYY-MM-DD hh:mm:ss`.
    pub datetime: String,
    /// Folder index or continuation marker.
    pub folder: u16,
}

impl CabInfo {
    /// Summarise a parsed header.
    pub fn from_header(name: String, h: &CabHeader) -> CabInfo {
        CabInfo {
            name,
            size: h.size,
            set_id: h.set_id,
            index: h.index,
            prev: h.prev.as_ref().map(|p| p.0.clone()),
            next: h.next.as_ref().map(|p| p.0.clone()),
            header_reserve: h.header_reserve,
            folders: h
                .folders
                .iter()
                .map(|f| CabFolderInfo { compression: f.compression.label(), blocks: f.num_blocks })
                .collect(),
            file_count: h.files.len(),
            notes: h.notes.clone(),
            files: h
                .files
                .iter()
                .map(|f| CabFileInfo {
                    name: f.name.clone(),
                    size: f.size,
                    datetime: f.datetime_string(),
                    folder: f.folder,
                })
                .collect(),
        }
    }
}

/// A summary property.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Property {
    /// Property id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Raw value.
    pub value: PropValue,
}

/// A table in brief.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TableInfo {
    /// Name.
    pub name: String,
    /// Row count.
    pub rows: usize,
}

/// A Media row with its cabinet.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MediaInfo {
    /// DiskId.
    pub disk_id: i32,
    /// LastSequence.
    pub last_sequence: i32,
    /// Cabinet column.
    pub cabinet: String,
    /// Whether the cabinet is embedded (`#name`).
    pub embedded: bool,
    /// The cabinet's directory, when it could be read.
    pub cab: Option<CabInfo>,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// `info` for a compound file.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PackageInfo {
    /// MSI, MSP, MST or OTHER.
    pub kind: crate::msi::PackageKind,
    /// Root CLSID.
    pub clsid: String,
    /// All summary properties with raw values.
    pub summary: Vec<Property>,
    /// Tables with row counts.
    pub tables: Vec<TableInfo>,
    /// Why tables could not be read, if so.
    pub table_error: Option<String>,
    /// Root streams (name, size).
    pub streams: Vec<crate::msi::StreamInfo>,
    /// Sub-storages.
    pub storages: Vec<String>,
    /// Media rows.
    pub media: Vec<MediaInfo>,
    /// Cabinet streams not named by Media (patch cabinets), with their directories.
    pub cabinet_streams: Vec<CabInfo>,
    /// Truncation, when the file is shorter than its header implies.
    pub truncated: Option<crate::msi::Truncation>,
}

/// Result of `info`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Info {
    /// Path.
    pub file: String,
    /// What the file is.
    pub kind: InputKind,
    /// Size on disk.
    pub size: u64,
    /// Cabinet details.
    pub cab: Option<CabInfo>,
    /// Package details.
    pub package: Option<PackageInfo>,
    /// PE details.
    pub pe: Option<crate::pe::PeInfo>,
    /// Patch details (MSP).
    pub patch: Option<crate::msp::PatchInfo>,
    /// Transform details (MST).
    pub transform: Option<crate::msp::TransformInfo>,
}

/// Describe the file at `path`.
pub fn describe(path: &Path) -> Result<Info> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let input = crate::package::open(path)?;
    let mut info = Info {
        file: path.display().to_string(),
        kind: input.kind(),
        size,
        cab: None,
        package: None,
        pe: None,
        patch: None,
        transform: None,
    };
    match &input {
        Input::Cab(c) => {
            if let Some(first) = c.set.cabs.first() {
                info.cab = Some(CabInfo::from_header(path.display().to_string(), &first.header));
            }
        }
        Input::Msi(db) | Input::Msm(db) | Input::Cfb(db) => info.package = Some(package_info(db)),
        Input::Msp(p) => {
            info.package = Some(package_info(&p.db));
            info.patch = Some(p.info());
        }
        Input::Mst(t) => {
            let db = Database::open(path)?;
            info.package = Some(package_info(&db));
            info.transform = Some(t.info.clone());
        }
        Input::Pe(pe) => {
            info.pe = Some(pe.info.clone()?);
        }
        _ => {}
    }
    Ok(info)
}

fn package_info(db: &Database) -> PackageInfo {
    let summary = db
        .summary
        .properties
        .iter()
        .map(|(id, name, v)| Property { id: *id, name: name.clone(), value: v.clone() })
        .collect();
    let tables = db.tables.values().map(|t| TableInfo { name: t.name.clone(), rows: t.rows.len() }).collect();
    let mut media = Vec::new();
    let mut named = Vec::new();
    if let Some(t) = db.table("Media") {
        for r in &t.rows {
            let cabinet = t.get(r, "Cabinet").text();
            let embedded = cabinet.starts_with('#');
            let mut m = MediaInfo {
                disk_id: t.get(r, "DiskId").as_int().unwrap_or(0),
                last_sequence: t.get(r, "LastSequence").as_int().unwrap_or(0),
                cabinet: cabinet.clone(),
                embedded,
                cab: None,
                error: None,
            };
            if let Some(n) = cabinet.strip_prefix('#') {
                named.push(n.to_lowercase());
                match db.stream(n) {
                    Some(s) => match crate::cab::read_header(&StreamSource::new(
                        db.compound.clone(),
                        &db.path,
                        &s.name,
                        &s.cfb_path,
                    )) {
                        Ok(h) => m.cab = Some(CabInfo::from_header(format!("#{}", s.name), &h)),
                        Err(e) => m.error = Some(e.message().to_string()),
                    },
                    None => m.error = Some(format!("stream {n:?} not found")),
                }
            } else if !cabinet.is_empty() {
                match db.dir.as_deref().and_then(|dir| crate::cab::find_beside(dir, &cabinet)) {
                    Some(p) => match crate::cab::read_header(&FileSource::new(&p)) {
                        Ok(h) => m.cab = Some(CabInfo::from_header(p.display().to_string(), &h)),
                        Err(e) => m.error = Some(e.message().to_string()),
                    },
                    None => m.error = Some("external cabinet not found beside the package".into()),
                }
            }
            media.push(m);
        }
    }
    let mut cabinet_streams = Vec::new();
    for s in &db.streams {
        if !s.starts_mscf || named.contains(&s.name.to_lowercase()) {
            continue;
        }
        let src = StreamSource::new(db.compound.clone(), &db.path, &s.name, &s.cfb_path);
        if let Ok(h) = crate::cab::read_header(&src) {
            cabinet_streams.push(CabInfo::from_header(s.name.clone(), &h));
        }
    }
    PackageInfo {
        kind: db.kind,
        clsid: db.clsid.clone(),
        summary,
        tables,
        table_error: db.table_error.clone(),
        streams: db.streams.clone(),
        storages: db.storages.clone(),
        media,
        cabinet_streams,
        truncated: db.truncated,
    }
}
