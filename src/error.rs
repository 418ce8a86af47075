//! The library's one error type: a kind, the file it concerns and a message saying where.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, broadly; the message says precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
    /// The run's time budget (`--time-limit`) was spent.
    TimeLimit,
    /// Something the package refers to (a cabinet, a source file, a table) is absent.
    Missing,
    /// The destination already exists and `--force` was not given.
    Exists,
    /// The arguments do not make sense together.
    Usage,
}

/// An error with the file it concerns.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    message: String,
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message` (lower case, no trailing period).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, path: None, message: message.into() }
    }
    /// A format error.
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Format, message)
    }
    /// An I/O error with a message.
    pub fn io(err: &std::io::Error, what: impl fmt::Display) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::UnexpectedEof { ErrorKind::Format } else { ErrorKind::Io };
        let detail = if err.kind() == std::io::ErrorKind::UnexpectedEof {
            "unexpected end of data (truncated)".to_string()
        } else {
            err.to_string()
        };
        Self::new(kind, format!("{what}: {detail}"))
    }
    /// Attach the file this error concerns, unless one is already attached.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.as_ref().to_path_buf());
        }
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
    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
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

/// One-line context for `Result`s.
pub trait ResultExt<T> {
    /// Attach a file path to the error.
    fn at_path(self, path: impl AsRef<Path>) -> Result<T>;
    /// Prefix the error message with context.
    fn ctx(self, context: impl fmt::Display) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn at_path(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| e.with_path(path))
    }
    fn ctx(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.context(context))
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
