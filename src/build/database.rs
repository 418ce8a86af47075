//! Installer database writing through the `msi` crate, made reproducible byte for byte
//! (fixed summary times, compound-file root timestamps cleared).

use crate::error::{Error, IoResultExt, Result};
use std::io::{Cursor, Write};

/// A column definition for [`TableSpec`].
#[derive(Debug, Clone)]
pub struct ColSpec {
    /// Name.
    pub name: &'static str,
    /// `s72`, `S255`, `l0`, `L64`, `i2`, `I2`, `i4`, `I4`, `v0`: the IDT type code.
    pub kind: &'static str,
    /// Part of the primary key.
    pub key: bool,
}

/// A cell value for [`TableSpec`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// Integer.
    Int(i32),
    /// String.
    Str(String),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Str(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Str(s)
    }
}
impl From<i32> for Cell {
    fn from(i: i32) -> Cell {
        Cell::Int(i)
    }
}

/// A table to write.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Name.
    pub name: String,
    /// Columns.
    pub columns: Vec<ColSpec>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Summary information to write.
#[derive(Debug, Clone)]
pub struct SummarySpec {
    /// Title.
    pub title: String,
    /// Subject (usually the product name).
    pub subject: String,
    /// Author (manufacturer).
    pub author: String,
    /// Comments.
    pub comments: String,
    /// Template platform (`Intel`, `x64`).
    pub arch: String,
    /// Template language.
    pub language: u16,
    /// Revision Number: the package code, `{GUID}`.
    pub package_code: String,
    /// Word Count: source image flags.
    pub word_count: i32,
    /// Page Count: minimum installer version.
    pub page_count: i32,
    /// Creating application.
    pub creating_application: String,
    /// Creation time, Unix seconds.
    pub created: u64,
}

/// What kind of database to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub enum DbKind {
    /// `.msi`.
    Installer,
    /// `.msp` (a patch's own database).
    Patch,
}

/// Everything a database holds.
#[derive(Debug, Clone)]
pub struct DatabaseSpec {
    /// Kind.
    pub kind: DbKind,
    /// Summary.
    pub summary: SummarySpec,
    /// Tables.
    pub tables: Vec<TableSpec>,
    /// Root streams (name, bytes): embedded cabinets, binaries.
    pub streams: Vec<(String, Vec<u8>)>,
}

fn column(c: &ColSpec) -> Result<msi::Column> {
    let bad = || Error::format(format!("column {}: unknown type {:?}", c.name, c.kind));
    let mut chars = c.kind.chars();
    let t = chars.next().ok_or_else(bad)?;
    let n: usize = chars.as_str().parse().map_err(|_| bad())?;
    let mut b = msi::Column::build(c.name);
    if t.is_ascii_uppercase() {
        b = b.nullable();
    }
    if c.key {
        b = b.primary_key();
    }
    Ok(match t.to_ascii_lowercase() {
        's' => b.string(n),
        'l' => b.localizable().string(n),
        'i' if n == 2 => b.int16(),
        'i' => b.int32(),
        'v' => b.binary(),
        _ => return Err(bad()),
    })
}

/// Clear the root directory entry's creation and modification times so the same input
/// always gives the same bytes.
pub fn clear_cfb_root_times(bytes: &mut [u8]) {
    if bytes.len() < 512 {
        return;
    }
    let shift = u16::from_le_bytes([bytes[30], bytes[31]]);
    if shift != 9 && shift != 12 {
        return;
    }
    let sector = 1usize << shift;
    let first_dir = u32::from_le_bytes([bytes[48], bytes[49], bytes[50], bytes[51]]) as usize;
    let at = (first_dir + 1) * sector;
    if let Some(e) = bytes.get_mut(at + 100..at + 116) {
        e.fill(0);
    }
}

/// Write a database.
pub fn write_database(spec: &DatabaseSpec) -> Result<Vec<u8>> {
    let ptype = match spec.kind {
        DbKind::Installer => msi::PackageType::Installer,
        DbKind::Patch => msi::PackageType::Patch,
    };
    let mut pkg = msi::Package::create(ptype, Cursor::new(Vec::new())).io_ctx("creating database")?;
    {
        let s = &spec.summary;
        let si = pkg.summary_info_mut();
        si.set_title(s.title.clone());
        si.set_subject(s.subject.clone());
        si.set_author(s.author.clone());
        si.set_comments(s.comments.clone());
        si.set_arch(s.arch.clone());
        si.set_languages(&[msi::LanguageId::from_id(s.language)]);
        let uuid = uuid::Uuid::parse_str(s.package_code.trim_matches(['{', '}']))
            .map_err(|e| Error::format(format!("package code {:?}: {e}", s.package_code)))?;
        si.set_uuid(uuid);
        si.set_word_count(s.word_count);
        si.set_page_count(s.page_count);
        si.set_creating_application(s.creating_application.clone());
        si.set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s.created));
    }
    for t in &spec.tables {
        let cols = t.columns.iter().map(column).collect::<Result<Vec<_>>>()?;
        pkg.create_table(t.name.clone(), cols).io_ctx(format_args!("creating table {}", t.name))?;
        if !t.rows.is_empty() {
            let rows: Vec<Vec<msi::Value>> = t
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Cell::Null => msi::Value::Null,
                            Cell::Int(i) => msi::Value::Int(*i),
                            Cell::Str(s) => msi::Value::Str(s.clone()),
                        })
                        .collect()
                })
                .collect();
            pkg.insert_rows(msi::Insert::into(t.name.clone()).rows(rows))
                .io_ctx(format_args!("inserting rows into {}", t.name))?;
        }
    }
    for (name, data) in &spec.streams {
        let mut w = pkg.write_stream(name).io_ctx(format_args!("creating stream {name}"))?;
        w.write_all(data).io_ctx(format_args!("writing stream {name}"))?;
    }
    pkg.flush().io_ctx("writing database")?;
    let bytes = pkg.into_inner().io_ctx("finishing database")?.into_inner();
    let mut bytes = to_v3(&bytes)?;
    clear_cfb_root_times(&mut bytes);
    Ok(bytes)
}

/// Re-write a compound file with 512-byte sectors (version 3, what Windows Installer
/// writes), keeping every storage, stream and CLSID; the `msi` crate writes version 4.
pub fn to_v3(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut src = cfb::CompoundFile::open(Cursor::new(bytes)).io_ctx("reading compound file")?;
    let mut dst = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
        .io_ctx("creating compound file")?;
    dst.set_storage_clsid("/", *src.root_entry().clsid()).io_ctx("CLSID")?;
    let entries: Vec<(std::path::PathBuf, bool, uuid::Uuid)> =
        src.walk().filter(|e| !e.is_root()).map(|e| (e.path().to_path_buf(), e.is_storage(), *e.clsid())).collect();
    for (p, is_storage, clsid) in entries {
        if is_storage {
            dst.create_storage(&p).io_ctx("storage")?;
            dst.set_storage_clsid(&p, clsid).io_ctx("CLSID")?;
            dst.set_modified_time(&p, std::time::UNIX_EPOCH).io_ctx("time")?;
            dst.set_created_time(&p, std::time::UNIX_EPOCH).io_ctx("time")?;
            continue;
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut src.open_stream(&p).io_ctx("stream")?, &mut data).io_ctx("stream")?;
        dst.create_stream(&p).io_ctx("stream")?.write_all(&data).io_ctx("stream")?;
    }
    dst.flush().io_ctx("flushing")?;
    Ok(dst.into_inner().into_inner())
}

/// Column layouts of the standard tables the builders use.
pub fn std_columns(table: &str) -> Vec<ColSpec> {
    crate::msi::schema::idt_columns(table)
        .map(|cols| cols.iter().map(|&(name, kind, key)| ColSpec { name, kind, key }).collect())
        .unwrap_or_default()
}

/// One file of a [`PackageSpec`].
#[derive(Debug, Clone)]
pub struct PackageFile {
    /// File key (also the cabinet entry name).
    pub key: String,
    /// Component key.
    pub component: String,
    /// FileName column (`short|long`).
    pub file_name: String,
    /// Contents (the size is taken from it).
    pub data: Vec<u8>,
    /// Cabinet timestamp.
    pub datetime: (i32, u8, u8, u8, u8, u8),
    /// File.Attributes.
    pub attributes: i32,
    /// File.Version.
    pub version: Option<String>,
    /// File.Language.
    pub language: Option<String>,
    /// File.Sequence.
    pub sequence: i32,
}

/// A simple installer package: directories, components, files, media, properties, and
/// the standard sequence tables.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// Summary information.
    pub summary: SummarySpec,
    /// Property rows (ProductName, ProductCode, ProductVersion, Manufacturer, ...).
    pub properties: Vec<(String, String)>,
    /// Directory rows: key, parent, DefaultDir.
    pub directories: Vec<(String, Option<String>, String)>,
    /// Component rows: key, ComponentId, directory.
    pub components: Vec<(String, String, String)>,
    /// Files.
    pub files: Vec<PackageFile>,
    /// Media rows: DiskId, LastSequence, Cabinet.
    pub media: Vec<(i32, i32, String)>,
    /// Extra root streams.
    pub streams: Vec<(String, Vec<u8>)>,
}

fn opt(s: &Option<String>) -> Cell {
    s.as_ref().map(|v| Cell::Str(v.clone())).unwrap_or(Cell::Null)
}

impl PackageSpec {
    /// The database this package is.
    pub fn database(&self) -> DatabaseSpec {
        let t = |name: &str, rows: Vec<Vec<Cell>>| TableSpec { name: name.into(), columns: std_columns(name), rows };
        let mut tables = vec![
            t("Property", self.properties.iter().map(|(k, v)| vec![k.as_str().into(), v.as_str().into()]).collect()),
            t(
                "Directory",
                self.directories.iter().map(|(k, p, d)| vec![k.as_str().into(), opt(p), d.as_str().into()]).collect(),
            ),
            t(
                "Component",
                self.components
                    .iter()
                    .map(|(k, id, d)| {
                        let keypath = self
                            .files
                            .iter()
                            .find(|f| &f.component == k)
                            .map(|f| Cell::Str(f.key.clone()))
                            .unwrap_or(Cell::Null);
                        vec![k.as_str().into(), id.as_str().into(), d.as_str().into(), 0.into(), Cell::Null, keypath]
                    })
                    .collect(),
            ),
            t(
                "File",
                self.files
                    .iter()
                    .map(|f| {
                        vec![
                            f.key.as_str().into(),
                            f.component.as_str().into(),
                            f.file_name.as_str().into(),
                            (f.data.len() as i32).into(),
                            opt(&f.version),
                            opt(&f.language),
                            f.attributes.into(),
                            f.sequence.into(),
                        ]
                    })
                    .collect(),
            ),
            t(
                "Media",
                self.media
                    .iter()
                    .map(|(d, l, c)| {
                        let cab = if c.is_empty() { Cell::Null } else { Cell::Str(c.clone()) };
                        vec![(*d).into(), (*l).into(), Cell::Null, cab, Cell::Null, Cell::Null]
                    })
                    .collect(),
            ),
            t(
                "Feature",
                vec![vec![
                    "Complete".into(),
                    Cell::Null,
                    "Complete".into(),
                    Cell::Null,
                    1.into(),
                    1.into(),
                    Cell::Null,
                    0.into(),
                ]],
            ),
            t(
                "FeatureComponents",
                self.components.iter().map(|(k, _, _)| vec!["Complete".into(), k.as_str().into()]).collect(),
            ),
        ];
        // The standard sequences, so that Windows Installer (and Wine's msiexec) installs
        // the package.
        for (name, rows) in super::sequences::STANDARD {
            tables.push(t(name, rows.iter().map(|(a, n)| vec![(*a).into(), Cell::Null, (*n).into()]).collect()));
        }
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        DatabaseSpec { kind: DbKind::Installer, summary: self.summary.clone(), tables, streams: self.streams.clone() }
    }
}
