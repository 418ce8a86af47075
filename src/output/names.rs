//! Windows path rules applied on every host: what may be a component of an output path.

use crate::error::{Error, ErrorKind, Result};

const RESERVED: [&str; 6] = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];

/// Is `stem` (the part before the first dot, trailing spaces ignored) a device name?
fn is_device_name(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or("").trim_end_matches(' ');
    let up = stem.to_uppercase();
    if RESERVED.contains(&up.as_str()) {
        return true;
    }
    let mut chars = up.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    if prefix == "COM" || prefix == "LPT" {
        let rest: Vec<char> = chars.collect();
        if rest.len() == 1 && (rest[0].is_ascii_digit() || matches!(rest[0], '¹' | '²' | '³')) {
            return true;
        }
    }
    false
}

/// Does `c` have the shape of an 8.3 short-name alias (`PROGRA~1`, `GIT~1`, `EVIL~12.DLL`)?
/// On Windows such a name can open a *different* existing file whose long name has that
/// alias, so an archive could overwrite one entry through another.
fn is_short_alias(c: &str) -> bool {
    let (stem, ext) = match c.rsplit_once('.') {
        Some((s, e)) => (s, Some(e)),
        None => (c, None),
    };
    let Some((base, digits)) = stem.rsplit_once('~') else { return false };
    !base.is_empty()
        && base.len() <= 7
        && !base.contains(['~', '.'])
        && !digits.is_empty()
        && digits.len() <= 6
        && digits.bytes().all(|b| b.is_ascii_digit())
        && base.len() + 1 + digits.len() <= 8
        && ext.is_none_or(|e| e.len() <= 3)
}

/// Check one path component as a Windows file or directory name.
pub fn check_component(c: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::new(ErrorKind::UnsafePath, format!("unsafe name {c:?}: {why}")));
    if c.is_empty() {
        return bad("empty component");
    }
    if c == "." || c == ".." {
        return bad("relative directory reference");
    }
    if let Some(ch) = c.chars().find(|ch| (*ch as u32) < 0x20 || *ch == '\u{7f}') {
        return bad(&format!("control character U+{:04X}", ch as u32));
    }
    if let Some(ch) = c.chars().find(|ch| matches!(ch, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '/' | '\\')) {
        return bad(&format!("character {ch:?} is not allowed in Windows names"));
    }
    if c.ends_with('.') || c.ends_with(' ') {
        return bad("trailing dot or space");
    }
    if is_device_name(c) {
        return bad("reserved device name");
    }
    if c.len() > 255 {
        return bad("longer than 255 bytes");
    }
    if is_short_alias(c) {
        return bad("shaped like an 8.3 short-name alias, which can name a different file on Windows");
    }
    Ok(())
}

/// Split a stored relative path (either separator) into checked components.
/// Leading separators, drive letters, empty components and `..` are refused.
pub fn split_relative(path: &str) -> Result<Vec<String>> {
    if path.starts_with(['/', '\\']) {
        return Err(Error::new(ErrorKind::UnsafePath, format!("unsafe name {path:?}: absolute path")));
    }
    let mut out = Vec::new();
    for c in path.split(['/', '\\']) {
        check_component(c)
            .map_err(|e| Error::new(ErrorKind::UnsafePath, format!("unsafe path {path:?}: {}", e.message())))?;
        out.push(c.to_string());
    }
    if out.is_empty() {
        return Err(Error::new(ErrorKind::UnsafePath, format!("unsafe path {path:?}: empty")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal_and_roots() {
        for p in [
            "../x",
            "..\\..\\evil",
            "a/../../x",
            "/etc/evil",
            "\\evil",
            "C:\\Windows\\evil.dll",
            "C:evil",
            "a//b",
            "",
            ".",
            "a/.",
            "a.txt:evil",
            "CON",
            "con.txt",
            "NUL.tar.gz",
            "COM1",
            "LPT9.log",
            "COM¹",
            "CONIN$",
            "dir/PRN/x",
            "evil.",
            "evil ",
            "dir./x",
            "a<b",
            "a\u{1}b",
            "innocuous\u{0}/x",
            "PROGRA~1/x",
            "GIT~1",
            "EVIL~1.DLL",
        ] {
            assert!(split_relative(p).is_err(), "{p:?} accepted");
        }
    }

    #[test]
    fn accepts_ordinary_names() {
        assert_eq!(split_relative("a\\b/c.txt").unwrap(), ["a", "b", "c.txt"]);
        assert!(split_relative("console.txt").is_ok());
        assert!(split_relative("COM10").is_ok());
        assert!(split_relative("t道場t.txt").is_ok());
        // Look-alike separators are ordinary characters, never separators.
        assert_eq!(split_relative("a\u{2215}..\u{2215}x").unwrap().len(), 1);
        assert_eq!(split_relative("a\u{FF0F}..\u{FF0F}x").unwrap().len(), 1);
        for ok in ["backup~old.txt", "a~b", "LONGNAME~1.TXT", "x~1.html", "~1"] {
            assert!(split_relative(ok).is_ok(), "{ok:?} refused");
        }
    }
}
