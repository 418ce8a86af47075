//! Stable identifiers: GUIDs derived from names (UUID version 5, SHA-1, RFC 4122 §4.3)
//! under a namespace of hotfixkit's own, and database keys made from paths.

use sha1::{Digest, Sha1};

/// The namespace every derived GUID lives in: the version 5 UUID of the URL
/// `https://github.com/hotfixkit/hotfixkit` in the RFC 4122 URL namespace.
fn namespace() -> uuid::Uuid {
    v5(&uuid::Uuid::NAMESPACE_URL, "https://github.com/hotfixkit/hotfixkit")
}

fn v5(ns: &uuid::Uuid, name: &str) -> uuid::Uuid {
    let mut h = Sha1::new();
    h.update(ns.as_bytes());
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0F) | 0x50;
    b[8] = (b[8] & 0x3F) | 0x80;
    uuid::Uuid::from_bytes(b)
}

/// A GUID in Windows Installer's form (`{XXXXXXXX-…}`, upper case) derived from `name`:
/// the same name always gives the same GUID.
pub fn derived_guid(name: &str) -> String {
    braced(&v5(&namespace(), name))
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` in upper case.
pub fn braced(u: &uuid::Uuid) -> String {
    format!("{{{}}}", u.hyphenated().to_string().to_uppercase())
}

/// A GUID as given (with or without braces, any case) in Windows Installer's form, or
/// `None` when it is not a GUID.
pub fn normalise_guid(s: &str) -> Option<String> {
    let t = s.trim().trim_start_matches('{').trim_end_matches('}');
    uuid::Uuid::parse_str(t).ok().filter(|_| t.len() == 36).map(|u| braced(&u))
}

/// Eight hex digits of the SHA-1 of `s`.
pub fn short_hash(s: &str) -> String {
    let d = Sha1::digest(s.as_bytes());
    format!("{:02X}{:02X}{:02X}{:02X}", d[0], d[1], d[2], d[3])
}

/// A database identifier (letters, digits, `_` and `.`, starting with a letter or `_`,
/// at most 72 characters) made of `prefix`, the readable part of `name` and a hash of
/// `unique`, so that different `unique` values give different keys.
pub fn key(prefix: &str, name: &str, unique: &str) -> String {
    let mut readable: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '_' }).collect();
    readable.truncate(40);
    format!("{prefix}{readable}.{}", short_hash(unique))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_matches_rfc_4122_and_guids_are_stable() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        assert_eq!(
            v5(&uuid::Uuid::NAMESPACE_DNS, "python.org").hyphenated().to_string(),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
        assert_eq!(derived_guid("a"), derived_guid("a"));
        assert_ne!(derived_guid("a"), derived_guid("b"));
        assert_eq!(
            normalise_guid("6ea3ae83-a14f-4b8b-8a86-bb977a9e7833").as_deref(),
            Some("{6EA3AE83-A14F-4B8B-8A86-BB977A9E7833}")
        );
        assert_eq!(normalise_guid("nope"), None);
        assert_eq!(key("F_", "Read Me.txt", "a/Read Me.txt").len(), "F_Read_Me.txt.".len() + 8);
    }
}
