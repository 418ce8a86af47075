//! Windows Installer databases (MSI, MSP, MST, MSM): our compound-file reader, summary
//! information, the string pool, tables (read and written), the standard table schemas,
//! Directory resolution and the root streams.

pub mod compare;
pub(crate) mod compound;
mod database;
pub(crate) mod directory;
pub(crate) mod package_file;
pub(crate) mod schema;
pub(crate) mod streams;
pub(crate) mod strings;
pub(crate) mod summary;
pub(crate) mod table;
pub(crate) mod table_read;
pub(crate) mod table_write;

pub use compound::{Compound, EntryInfo, StreamReader};
pub use database::{Database, PackageKind, StreamInfo, MAX_ROWS};
pub use directory::Directories;
pub use package_file::{decode_name, encode_name, open_compound, open_compound_from, StreamSource, Truncation};
pub use streams::{escape_name, list as list_streams, StreamEntry, StreamList};
pub use summary::{unix_to_filetime, write_summary, NewValue, PropValue, Summary, SummaryValue};
pub use table::{ColInfo, ColKind, TableData, Val};
pub use table_write::encode_tables;
