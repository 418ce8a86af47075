//! The column layouts of the standard Windows Installer tables, as IDT type codes
//! (`s72` string of at most 72 characters, `S72` the same but nullable, `l` localizable,
//! `i2`/`i4` integers, `v0` a stream). Used to read a patch without its target, and by
//! the builders.

use super::table::{ColInfo, ColKind};

/// One column: name, IDT type code, part of the primary key.
pub type Column = (&'static str, &'static str, bool);

const SEQUENCE: &[Column] = &[("Action", "s72", true), ("Condition", "S255", false), ("Sequence", "I2", false)];

/// The standard tables, in name order.
const TABLES: &[(&str, &[Column])] = &[
    ("AdminExecuteSequence", SEQUENCE),
    ("AdminUISequence", SEQUENCE),
    ("AdvtExecuteSequence", SEQUENCE),
    ("Binary", &[("Name", "s72", true), ("Data", "v0", false)]),
    (
        "Component",
        &[
            ("Component", "s72", true),
            ("ComponentId", "S38", false),
            ("Directory_", "s72", false),
            ("Attributes", "i2", false),
            ("Condition", "S255", false),
            ("KeyPath", "S72", false),
        ],
    ),
    ("CreateFolder", &[("Directory_", "s72", true), ("Component_", "s72", true)]),
    ("Directory", &[("Directory", "s72", true), ("Directory_Parent", "S72", false), ("DefaultDir", "l255", false)]),
    (
        "Feature",
        &[
            ("Feature", "s38", true),
            ("Feature_Parent", "S38", false),
            ("Title", "L64", false),
            ("Description", "L255", false),
            ("Display", "I2", false),
            ("Level", "i2", false),
            ("Directory_", "S72", false),
            ("Attributes", "i2", false),
        ],
    ),
    ("FeatureComponents", &[("Feature_", "s38", true), ("Component_", "s72", true)]),
    (
        "File",
        &[
            ("File", "s72", true),
            ("Component_", "s72", false),
            ("FileName", "l255", false),
            ("FileSize", "i4", false),
            ("Version", "S72", false),
            ("Language", "S20", false),
            ("Attributes", "I2", false),
            ("Sequence", "i4", false),
        ],
    ),
    ("InstallExecuteSequence", SEQUENCE),
    ("InstallUISequence", SEQUENCE),
    (
        "Media",
        &[
            ("DiskId", "i2", true),
            ("LastSequence", "i4", false),
            ("DiskPrompt", "L64", false),
            ("Cabinet", "S255", false),
            ("VolumeLabel", "S32", false),
            ("Source", "S72", false),
        ],
    ),
    (
        "MsiFileHash",
        &[
            ("File_", "s72", true),
            ("Options", "i2", false),
            ("HashPart1", "i4", false),
            ("HashPart2", "i4", false),
            ("HashPart3", "i4", false),
            ("HashPart4", "i4", false),
        ],
    ),
    ("MsiPatchHeaders", &[("StreamRef", "s38", true), ("Header", "v0", false)]),
    ("MsiPatchMetadata", &[("Company", "S72", true), ("Property", "s72", true), ("Value", "l0", false)]),
    (
        "MsiPatchSequence",
        &[
            ("PatchFamily", "s72", true),
            ("ProductCode", "S38", true),
            ("Sequence", "s72", false),
            ("Attributes", "I2", false),
        ],
    ),
    (
        "Patch",
        &[
            ("File_", "s72", true),
            ("Sequence", "i4", true),
            ("PatchSize", "i4", false),
            ("Attributes", "i2", false),
            ("Header", "V0", false),
            ("StreamRef_", "S38", false),
        ],
    ),
    ("PatchPackage", &[("PatchId", "s38", true), ("Media_", "i2", false)]),
    ("Property", &[("Property", "s72", true), ("Value", "l0", false)]),
    (
        "Upgrade",
        &[
            ("UpgradeCode", "s38", true),
            ("VersionMin", "S20", true),
            ("VersionMax", "S20", true),
            ("Language", "S255", true),
            ("Attributes", "i4", true),
            ("Remove", "S255", false),
            ("ActionProperty", "s72", false),
        ],
    ),
];

/// The IDT columns of standard table `table`.
pub fn idt_columns(table: &str) -> Option<&'static [Column]> {
    TABLES.iter().find(|(n, _)| *n == table).map(|(_, c)| *c)
}

/// A column from its IDT type code (`s72`, `L0`, `i2`, `I4`, `v0`, …); an unknown
/// letter reads as a string.
pub fn column(name: &str, idt: &str, key: bool) -> ColInfo {
    let t = idt.chars().next().unwrap_or('s');
    let n: u32 = idt.get(1..).and_then(|d| d.parse().ok()).unwrap_or(0);
    let kind = match t.to_ascii_lowercase() {
        'i' if n == 4 => ColKind::Int32,
        'i' => ColKind::Int16,
        'v' => ColKind::Binary,
        _ => ColKind::Str(n),
    };
    ColInfo {
        name: name.to_string(),
        kind,
        nullable: t.is_ascii_uppercase(),
        localizable: t.eq_ignore_ascii_case(&'l'),
        key,
    }
}

/// The standard column layout of a well-known table.
pub fn columns(table: &str) -> Option<Vec<ColInfo>> {
    idt_columns(table).map(|cols| cols.iter().map(|(n, t, k)| column(n, t, *k)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_codes_round_trip() {
        assert!(TABLES.windows(2).all(|w| w[0].0 < w[1].0));
        for (_, cols) in TABLES {
            for (n, t, k) in *cols {
                let c = column(n, t, *k);
                assert_eq!(c.idt_type().to_ascii_lowercase(), t.to_ascii_lowercase(), "{n} {t}");
                assert_eq!(c.nullable, t.starts_with(|ch: char| ch.is_ascii_uppercase()), "{n} {t}");
            }
        }
    }
}
