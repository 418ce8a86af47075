//! Import of a pasted KB "file information" table: one cell per line (as a browser copy
//! gives it), one section per service pack, English or localized headers and months.

use super::{FileEntry, Manifest, ManifestSet, Platform};
use crate::error::{Error, Result};

/// Canonical columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Version,
    Size,
    Date,
    Time,
    Platform,
}

fn header(cell: &str) -> Option<Col> {
    match cell.to_lowercase().as_str() {
        "file name" | "filename" | "שם קובץ" => Some(Col::Name),
        "file version" | "version" | "גירסת קובץ" | "גרסת קובץ" => Some(Col::Version),
        "file size" | "size" | "גודל קובץ" => Some(Col::Size),
        "date" | "תאריך" => Some(Col::Date),
        "time" | "שעה" => Some(Col::Time),
        "platform" | "פלטפורמה" => Some(Col::Platform),
        _ => None,
    }
}

const MONTHS: [(&str, &str, u32); 12] = [
    ("jan", "ינו", 1),
    ("feb", "פבר", 2),
    ("mar", "מרץ", 3),
    ("apr", "אפר", 4),
    ("may", "מאי", 5),
    ("jun", "יונ", 6),
    ("jul", "יול", 7),
    ("aug", "אוג", 8),
    ("sep", "ספט", 9),
    ("oct", "אוק", 10),
    ("nov", "נוב", 11),
    ("dec", "דצמ", 12),
];

fn not_applicable(s: &str) -> bool {
    matches!(s.to_lowercase().as_str(), "not applicable" | "n/a" | "לא ישים" | "לא רלוונטי")
}

fn clean(line: &str) -> String {
    line.chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{feff}'))
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn parse_size(s: &str) -> Option<u64> {
    let digits: String = s.chars().filter(|c| !matches!(c, ',' | '.' | ' ' | '\u{202f}' | '\'')).collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_kb_date(s: &str) -> Option<String> {
    let p: Vec<&str> = s.split('-').collect();
    if p.len() != 3 {
        return None;
    }
    let d: u32 = p[0].parse().ok()?;
    let mon = p[1].to_lowercase();
    let m = MONTHS.iter().find(|(en, he, _)| mon.starts_with(en) || mon == *he)?.2;
    let y: u32 = p[2].parse().ok()?;
    if !(1..=31).contains(&d) || y < 1980 {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

fn parse_platform(s: &str) -> Option<Platform> {
    if not_applicable(s) {
        return Some(Platform::None);
    }
    let l = s.to_lowercase();
    // Localized cells add words around the platform ("מס' x86", "IA-64 (IA-64)").
    let has = |w: &str| l.split(|c: char| c.is_whitespace() || c == '(' || c == ')').any(|t| t == w);
    if has("ia-64") || has("ia64") || has("itanium") {
        Some(Platform::Ia64)
    } else if has("x64") || has("amd64") {
        Some(Platform::X64)
    } else if has("x86") || has("i386") {
        Some(Platform::X86)
    } else {
        None
    }
}

fn parse_heading(h: &str, kb: u32) -> (String, Option<String>) {
    let mut product = h.to_string();
    for suffix in [" file information", " File Information"] {
        if let Some(p) = product.strip_suffix(suffix) {
            product = p.to_string();
        }
    }
    for prefix in ["פרטי קובץ של ", "פרטי קבצים של "] {
        if let Some(p) = product.strip_prefix(prefix) {
            product = p.to_string();
        }
    }
    let words: Vec<&str> = product.split_whitespace().collect();
    let sp = words
        .iter()
        .find(|w| w.len() > 2 && w.to_uppercase().starts_with("SP") && w[2..].chars().all(|c| c.is_ascii_digit()))
        .map(|w| w.to_uppercase());
    let product = words.iter().filter(|w| Some(w.to_uppercase()) != sp).cloned().collect::<Vec<_>>().join(" ");
    let _ = kb;
    (product, sp)
}

/// Parse a pasted table. `kb` is the article number (from `--kb` or the file name).
pub fn import_kb(text: &str, kb: u32) -> Result<ManifestSet> {
    let lines: Vec<(usize, String)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, clean(l))).filter(|(_, l)| !l.is_empty()).collect();
    let mut manifests = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        // A section: a heading line, then header cells.
        let (hline, heading) = &lines[i];
        if header(heading).is_some() {
            return Err(Error::format(format!(
                "line {hline}: column header {heading:?} without a section heading before it"
            )));
        }
        let mut cols = Vec::new();
        let mut j = i + 1;
        while j < lines.len() {
            match header(&lines[j].1) {
                Some(c) => cols.push(c),
                None => break,
            }
            j += 1;
        }
        if cols.is_empty() {
            return Err(Error::format(format!(
                "line {hline}: expected a section heading followed by column headers, found {heading:?}"
            )));
        }
        for need in [Col::Name, Col::Size, Col::Date, Col::Time] {
            if !cols.contains(&need) {
                return Err(Error::format(format!("line {hline}: section {heading:?} has no {need:?} column")));
            }
        }
        let (product, sp) = parse_heading(heading, kb);
        let mut files = Vec::new();
        // Rows until the next heading (a line followed by a header cell) or the end.
        loop {
            if j >= lines.len() {
                break;
            }
            if j + 1 < lines.len() && header(&lines[j + 1].1).is_some() {
                break;
            }
            if j + cols.len() > lines.len() {
                return Err(Error::format(format!(
                    "line {}: incomplete row: {} cells left, {} columns expected",
                    lines[j].0,
                    lines.len() - j,
                    cols.len()
                )));
            }
            let row = &lines[j..j + cols.len()];
            let mut e = FileEntry {
                name: String::new(),
                platform: Platform::None,
                version: None,
                size: 0,
                date: String::new(),
                time: String::new(),
                sha256: None,
                destination: None,
            };
            for (c, (ln, cell)) in cols.iter().zip(row) {
                let bad = |what: &str| Error::format(format!("line {ln}: {what} {cell:?} not understood"));
                match c {
                    Col::Name => e.name = cell.clone(),
                    Col::Version => {
                        e.version = if not_applicable(cell) {
                            None
                        } else if cell.split('.').count() == 4 && cell.split('.').all(|p| p.parse::<u16>().is_ok()) {
                            Some(cell.clone())
                        } else {
                            return Err(bad("version"));
                        }
                    }
                    Col::Size => e.size = parse_size(cell).ok_or_else(|| bad("size"))?,
                    Col::Date => e.date = parse_kb_date(cell).ok_or_else(|| bad("date"))?,
                    Col::Time => {
                        super::parse_time(cell).ok_or_else(|| bad("time"))?;
                        e.time = cell.clone();
                    }
                    Col::Platform => e.platform = parse_platform(cell).ok_or_else(|| bad("platform"))?,
                }
            }
            files.push(e);
            j += cols.len();
        }
        if files.is_empty() {
            return Err(Error::format(format!("line {hline}: section {heading:?} has no rows")));
        }
        manifests.push(Manifest { product, kb, service_pack: sp, files });
        i = j;
    }
    if manifests.is_empty() {
        return Err(Error::format("no file information table found"));
    }
    Ok(ManifestSet { manifests })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_localized_values() {
        assert_eq!(parse_size("1,662,464"), Some(1662464));
        assert_eq!(parse_size("17.768"), Some(17768));
        assert_eq!(parse_kb_date("01-דצמ-2008").as_deref(), Some("2008-12-01"));
        assert_eq!(parse_kb_date("25-Jan-2010").as_deref(), Some("2010-01-25"));
        assert_eq!(parse_platform("מס' x86"), Some(Platform::X86));
        assert_eq!(parse_platform("IA-64 (IA-64)"), Some(Platform::Ia64));
        assert_eq!(parse_platform("Not applicable"), Some(Platform::None));
        assert_eq!(parse_platform("sparc"), None);
    }

    #[test]
    fn unknown_layout_names_the_line() {
        let e = import_kb("hello\nworld\n", 1).unwrap_err();
        assert!(e.to_string().starts_with("line 1:"), "{e}");
        let t = "P SP1 file information\nFile name\nFile size\nDate\nTime\nA.dll\n12\n01-Foo-2008\n01:40\n";
        let e = import_kb(t, 1).unwrap_err();
        assert_eq!(e.to_string(), "line 8: date \"01-Foo-2008\" not understood");
    }
}
