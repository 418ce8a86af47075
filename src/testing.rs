//! Fixture writers and helpers for the project's own tests, `cargo xtask fixtures` and
//! the fuzz targets. Not part of the supported API: only with the `testing` feature.

pub use crate::build::fixtures::*;
pub use crate::cab::block_checksum;
pub use crate::output::names::split_relative;
