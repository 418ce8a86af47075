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

/// The primary signer's signature value of a PKCS#7 SignedData blob.
pub fn pkcs7_signature_value(blob: &[u8]) -> Option<Vec<u8>> {
    let sd = crate::sign::pkcs7::SignedData::parse(blob, true).ok()?;
    sd.signers.first().map(|s| s.signature.clone())
}
/// An object identifier's DER content bytes, from its dotted form.
pub fn encode_oid(dotted: &str) -> Vec<u8> {
    crate::sign::der::encode_oid(dotted)
}
