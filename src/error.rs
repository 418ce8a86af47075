//! The library's one error type: a kind, the file it concerns, where in that file
//! (structured [`Location`]s), and a message; and the typed [`Warning`]s that plans and
//! runs carry beside their results.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, broadly; the message says precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing the file system failed.
    Io,
    /// The input is not a well-formed file of its kind (truncated, corrupt, inconsistent).
    Format,
    /// The input uses a feature this version does not handle.
    Unsupported,
    /// A name would write outside the target or is not a valid Windows path component.
    UnsafePath,
    /// A configured resource limit was reached.
    Limit,
    /// The run's time budget was spent.
    TimeLimit,
    /// The run was interrupted (Ctrl-C).
    Cancelled,
    /// Something the package refers to (a cabinet, a source file, a table) is absent.
    Missing,
    /// The destination already exists and replacing it was not allowed.
    Exists,
    /// A transform or patch does not apply to the package (its validation conditions:
    /// product code, version, language, upgrade code).
    Validation,
    /// A check found differences (a payload that does not match its manifest), and the
    /// operation would not go on without them being accepted.
    Findings,
    /// The request does not make sense (options that contradict each other, an input of
    /// the wrong kind for the operation).
    Usage,
}

/// A place inside an input: errors and warnings carry a list of these, outermost first
/// (`cabinet`, then `folder`, then `block`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "at", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Location {
    /// A stream of a compound file (decoded name).
    Stream {
        /// The stream name.
        name: String,
    },
    /// A storage (sub-storage) of a compound file, such as a patch's transform.
    Storage {
        /// The storage name.
        name: String,
    },
    /// A database table, and the primary key of a row when one is concerned.
    Table {
        /// The table name.
        table: String,
        /// The row's primary key (tab-separated when the key has several columns).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// A cabinet (file name, or `#name` for a stream of a package).
    Cabinet {
        /// The cabinet's name.
        name: String,
    },
    /// A cabinet folder (logical folder index within its cabinet set).
    Folder {
        /// The index.
        index: usize,
    },
    /// A data block within a folder (0-based).
    Block {
        /// The index.
        index: usize,
    },
    /// An entry (cabinet file, File key, manifest row).
    Entry {
        /// Its name or key.
        name: String,
    },
    /// A byte offset within the file or the innermost stream named before it.
    Offset {
        /// The offset.
        offset: u64,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Stream { name } => write!(f, "stream {name:?}"),
            Location::Storage { name } => write!(f, "storage {name:?}"),
            Location::Table { table, key: Some(k) } => write!(f, "table {table} row {k:?}"),
            Location::Table { table, key: None } => write!(f, "table {table}"),
            Location::Cabinet { name } => write!(f, "cabinet {name}"),
            Location::Folder { index } => write!(f, "folder {index}"),
            Location::Block { index } => write!(f, "block {index}"),
            Location::Entry { name } => write!(f, "entry {name:?}"),
            Location::Offset { offset } => write!(f, "offset {offset}"),
        }
    }
}

/// An error with the file it concerns and where in it.
///
/// The message is complete on its own (`Display` shows `file: message`); the locations
/// say the same places as data, for programs that want to act on them.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    locations: Vec<Location>,
    message: String,
    /// For an I/O error: the operating system's text and number.
    cause: Option<(String, Option<i32>)>,
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message` (lower case, no trailing period).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, path: None, locations: Vec::new(), message: message.into(), cause: None }
    }
    /// A format error.
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Format, message)
    }
    /// An I/O error saying what was being done. The end of data is a format error that
    /// says "truncated".
    pub fn io(err: &std::io::Error, what: impl fmt::Display) -> Self {
        let eof = err.kind() == std::io::ErrorKind::UnexpectedEof;
        let kind = if eof { ErrorKind::Format } else { ErrorKind::Io };
        let detail = if eof { "unexpected end of data (truncated)".to_string() } else { io_detail(err) };
        let mut e = Self::new(kind, format!("{what}: {detail}"));
        e.cause = Some((detail, err.raw_os_error()));
        e
    }
    /// Attach the file this error concerns, unless one is already attached.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.as_ref().to_path_buf());
        }
        self
    }
    /// Add a location, as the new outermost one.
    pub fn at(mut self, location: Location) -> Self {
        self.locations.insert(0, location);
        self
    }
    /// Prefix the message with more context (`context: message`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The file this error concerns, if known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// Where in the file, outermost first.
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }
    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// For an I/O error, the operating system's description of the cause ("No space
    /// left on device"): errors with one cause can be reported together.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_ref().map(|c| c.0.as_str())
    }
    /// For an I/O error, the operating system's error number.
    pub fn os_error(&self) -> Option<i32> {
        self.cause.as_ref().and_then(|c| c.1)
    }
}

/// The operating system's text for an I/O error, without Rust's "(os error N)" suffix.
fn io_detail(err: &std::io::Error) -> String {
    let s = err.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 4)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("file", &self.path.as_ref().map(|p| p.display().to_string()))?;
        st.serialize_field("locations", &self.locations)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// The shape [`Error`] serialises to, for its JSON Schema.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct ErrorShape {
    /// What went wrong, broadly.
    kind: ErrorKind,
    /// The file it concerns.
    file: Option<String>,
    /// Where in the file, outermost first.
    locations: Vec<Location>,
    /// What is wrong.
    message: String,
}

impl schemars::JsonSchema for Error {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Error".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ErrorShape::json_schema(generator)
    }
}

/// What a command prints as JSON when it fails: the error, and the one line shown on
/// standard error (with the hint the command line adds).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ErrorReport {
    /// The error.
    pub error: Error,
    /// The line shown on standard error.
    pub text: String,
}

/// One-line context for `Result`s.
pub trait ResultExt<T> {
    /// Attach a file path to the error.
    fn at_path(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn at_path(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| e.with_path(path))
    }
}

/// Convert `std::io::Result` with a description of what was being done.
pub trait IoResultExt<T> {
    /// Turn an I/O error into an [`Error`] saying what was being done.
    fn io_ctx(self, what: impl fmt::Display) -> Result<T>;
}

impl<T> IoResultExt<T> for std::io::Result<T> {
    fn io_ctx(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::io(&e, what))
    }
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WarningKind {
    /// A cabinet header says something odd that the reader worked around (a wrapped
    /// file count, a misplaced file table).
    CabinetHeader,
    /// A cabinet set is incomplete or inconsistent (a previous or next cabinet missing,
    /// a loop, a chain too long).
    CabinetSet,
    /// The input is not a cabinet at offset 0; one was found inside it.
    EmbeddedCabinet,
    /// A cabinet a Media row or a stream names cannot be opened.
    Media,
    /// The package is truncated.
    Truncated,
    /// The Directory table has a cycle or a missing parent.
    Directory,
    /// Two File rows map to one output path.
    DuplicatePath,
    /// A transform or patch was applied (what it changed).
    Applied,
    /// A transform or patch was applied although its validation failed.
    Validation,
    /// Something else worth knowing.
    Other,
}

/// Something the user should know that did not stop the operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// The text (lower case, no trailing period).
    pub message: String,
}

impl Warning {
    /// A warning of `kind`.
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Warning {
        Warning { kind, message: message.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_kept_outermost_first_and_serialised() {
        let e = Error::format("checksum mismatch")
            .at(Location::Block { index: 3 })
            .at(Location::Folder { index: 0 })
            .at(Location::Cabinet { name: "a.cab".into() })
            .with_path("x/a.cab");
        assert_eq!(e.to_string(), "x/a.cab: checksum mismatch");
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["kind"], "format");
        assert_eq!(j["locations"][0]["at"], "cabinet");
        assert_eq!(j["locations"][2]["index"], 3);
    }

    #[test]
    fn io_errors_drop_the_os_error_number_and_say_truncated_at_the_end() {
        let e = Error::io(&std::io::Error::from_raw_os_error(13), "creating x");
        assert!(!e.message().contains("os error"), "{e}");
        let e = Error::io(&std::io::Error::from(std::io::ErrorKind::UnexpectedEof), "reading");
        assert_eq!(e.kind(), ErrorKind::Format);
        assert!(e.message().contains("truncated"));
    }
}
