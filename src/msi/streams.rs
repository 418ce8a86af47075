//! The root streams of a package (the `_Streams` table, Binary and Icon data, embedded
//! cabinets, the summary information), listed with the escaped names they are written
//! out under.

use super::package_file as cfbio;
use crate::error::Result;
use std::path::Path;

/// One root stream.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StreamEntry {
    /// Decoded stream name (may hold any character, e.g. `\u{5}SummaryInformation`).
    pub name: String,
    /// The file name it is written under: see [`escape_name`].
    pub file_name: String,
    /// Bytes.
    pub size: u64,
}

/// A stream name as a single safe file-name component: control characters, `%`, and the
/// characters Windows refuses (`< > : " / \ | ? *`) become `%XX` (UTF-8 bytes, upper-case
/// hex), so different names stay different and nothing acts as a separator. Names that
/// are still unsafe (`.`, `..`, device names, trailing dots) are refused when written.
pub fn escape_name(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for ch in name.chars() {
        if (ch as u32) < 0x20
            || ch == '\u{7f}'
            || matches!(ch, '%' | '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*')
        {
            let mut b = [0u8; 4];
            for byte in ch.encode_utf8(&mut b).bytes() {
                s.push_str(&format!("%{byte:02X}"));
            }
        } else {
            s.push(ch);
        }
    }
    s
}

/// The non-table streams at the root of an open package, in name order, with their
/// stored paths.
fn entries(comp: &cfbio::Compound) -> Vec<(StreamEntry, String)> {
    let mut v: Vec<(StreamEntry, String)> = cfbio::root_streams(comp)
        .into_iter()
        .filter(|s| !s.3)
        .map(|(name, cfb_path, size, _)| (StreamEntry { file_name: escape_name(&name), name, size }, cfb_path))
        .collect();
    v.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    v
}

/// What `streams PKG --json` prints.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StreamList {
    /// The non-table root streams, in name order.
    pub streams: Vec<StreamEntry>,
}

/// The non-table streams at the root of `package`, in name order.
pub fn list(package: &Path) -> Result<Vec<StreamEntry>> {
    let (comp, _) = cfbio::open_compound(package)?;
    Ok(list_compound(&comp).into_iter().map(|e| e.0).collect())
}

/// The non-table streams at the root of an open package, in name order, with the path
/// each is stored at.
pub fn list_compound(comp: &super::Compound) -> Vec<(StreamEntry, String)> {
    entries(comp)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escaped_names_are_single_components() {
        assert_eq!(escape_name("\u{5}SummaryInformation"), "%05SummaryInformation");
        assert_eq!(escape_name("../x"), "..%2Fx");
        assert_eq!(escape_name("a/b"), "a%2Fb");
        assert_eq!(escape_name("100%"), "100%25");
        assert_eq!(escape_name("Binary.Logo"), "Binary.Logo");
        assert_ne!(escape_name("a%2Fb"), escape_name("a/b"));
        for n in ["../x", "a\\b", "c:d", "\u{5}x"] {
            assert!(crate::output::names::check_component(&escape_name(n)).is_ok(), "{n:?}");
        }
        assert!(crate::output::names::check_component(&escape_name("..")).is_err());
    }
}
