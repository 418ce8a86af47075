//! Fixture writers and helpers for the project's own tests, `cargo xtask fixtures` and
//! the fuzz targets. Not part of the supported API: only with the `testing` feature.

pub use crate::build::fixtures::*;
pub use crate::cab::testing_block_checksum as block_checksum;
pub use crate::msi::schema::column;
pub use crate::output::names::split_relative;

/// The two manifest readers, for the benchmark that keeps the second one honest.
pub fn read_manifest_plain(text: &str) -> Option<crate::manifest::Manifest> {
    crate::manifest::parse_plain(text)
}
/// The general YAML reader.
pub fn read_manifest_yaml(text: &str) -> Option<crate::manifest::Manifest> {
    yaml_serde::from_str(text).ok()
}
