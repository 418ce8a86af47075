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

/// What the streaming importer finds, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KbEvent {
    /// A section (one service pack) begins.
    Section {
        /// Product name from the heading.
        product: String,
        /// Service pack from the heading (`SP2`), when it names one.
        service_pack: Option<String>,
    },
    /// A row of the current section.
    Row(FileEntry),
}

/// Non-empty, cleaned lines with their numbers, read one at a time with a short
/// lookahead (a heading is recognised by the header cell after it).
struct Lines<R> {
    input: R,
    ahead: std::collections::VecDeque<(usize, String)>,
    number: usize,
    done: bool,
}

impl<R: std::io::BufRead> Lines<R> {
    fn fill(&mut self, n: usize) -> Result<()> {
        let mut buf = String::new();
        while self.ahead.len() < n && !self.done {
            buf.clear();
            let got = self.input.read_line(&mut buf).map_err(|e| Error::io(&e, "reading the table"))?;
            if got == 0 {
                self.done = true;
                break;
            }
            self.number += 1;
            if buf.len() > MAX_LINE {
                return Err(Error::format(format!("line {}: longer than {MAX_LINE} bytes", self.number)));
            }
            let c = clean(buf.trim_end_matches(['\n', '\r']));
            if !c.is_empty() {
                self.ahead.push_back((self.number, c));
            }
        }
        Ok(())
    }
    fn peek(&mut self, k: usize) -> Result<Option<&(usize, String)>> {
        self.fill(k + 1)?;
        Ok(self.ahead.get(k))
    }
    fn next(&mut self) -> Result<Option<(usize, String)>> {
        self.fill(1)?;
        Ok(self.ahead.pop_front())
    }
}

/// Longest line read from a table.
const MAX_LINE: usize = 64 << 10;

/// Parse a pasted table read from `input` line by line, handing each section and row to
/// `sink` as it is read: memory does not grow with the number of rows. `kb` is the
/// article number.
pub fn import_kb_stream(
    input: impl std::io::BufRead,
    kb: u32,
    sink: &mut dyn FnMut(KbEvent) -> Result<()>,
) -> Result<()> {
    let mut lines = Lines { input, ahead: Default::default(), number: 0, done: false };
    let mut sections = 0usize;
    while let Some((hline, heading)) = lines.next()? {
        // A section: a heading line, then header cells.
        if header(&heading).is_some() {
            return Err(Error::format(format!(
                "line {hline}: column header {heading:?} without a section heading before it"
            )));
        }
        let mut cols = Vec::new();
        while let Some(c) = lines.peek(0)?.and_then(|(_, l)| header(l)) {
            cols.push(c);
            lines.next()?;
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
        let (product, sp) = parse_heading(&heading, kb);
        sink(KbEvent::Section { product, service_pack: sp })?;
        sections += 1;
        let mut rows = 0usize;
        // Rows until the next heading (a line followed by a header cell) or the end.
        loop {
            if lines.peek(0)?.is_none() {
                break;
            }
            if lines.peek(1)?.is_some_and(|(_, l)| header(l).is_some()) {
                break;
            }
            let mut row = Vec::with_capacity(cols.len());
            for _ in 0..cols.len() {
                match lines.next()? {
                    Some(cell) => row.push(cell),
                    None => {
                        return Err(Error::format(format!(
                            "line {}: incomplete row: {} cells left, {} columns expected",
                            row.first().map(|r: &(usize, String)| r.0).unwrap_or(lines.number),
                            row.len(),
                            cols.len()
                        )))
                    }
                }
            }
            sink(KbEvent::Row(parse_row(&cols, &row)?))?;
            rows += 1;
        }
        if rows == 0 {
            return Err(Error::format(format!("line {hline}: section {heading:?} has no rows")));
        }
    }
    if sections == 0 {
        return Err(Error::format("no file information table found"));
    }
    Ok(())
}

fn parse_row(cols: &[Col], row: &[(usize, String)]) -> Result<FileEntry> {
    let mut e = FileEntry {
        name: String::new(),
        platform: Platform::None,
        version: None,
        size: 0,
        date: String::new(),
        time: String::new(),
        sha256: None,
        destination: None,
        signer: None,
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
    Ok(e)
}

/// Parse a pasted table held in memory. `kb` is the article number (from `--kb` or the
/// file name).
pub fn import_kb(text: &str, kb: u32) -> Result<ManifestSet> {
    let mut manifests: Vec<Manifest> = Vec::new();
    import_kb_stream(text.as_bytes(), kb, &mut |ev| {
        match ev {
            KbEvent::Section { product, service_pack } => {
                manifests.push(Manifest { product, kb, service_pack, signer: None, files: Vec::new() })
            }
            KbEvent::Row(e) => {
                if let Some(m) = manifests.last_mut() {
                    m.files.push(e);
                }
            }
        }
        Ok(())
    })?;
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
