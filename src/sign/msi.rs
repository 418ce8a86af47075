//! MSI, MSP and MST packages: the `\x05DigitalSignature` stream and the package digest.
//!
//! The digest (as osslsigncode computes it, matching Windows' MSI SIP) walks the root
//! storage: its children sorted by their raw UTF-16LE names compared byte by byte
//! (memcmp over the shorter name with its terminating NUL; on a tie the longer sorts
//! first), skipping the `\x05DigitalSignature` and `\x05MsiDigitalSignatureEx` streams at
//! the root. A stream contributes its bytes; a storage contributes its own children the
//! same way, then its 16-byte CLSID; after the root's children the root's CLSID is
//! hashed. When `\x05MsiDigitalSignatureEx` exists, a pre-hash over the metadata comes
//! first: for each entry in the same order (the root first, storages before their
//! children) its name without the NUL (not for the root), its CLSID (storages and the
//! root) or the low 32 bits of its size (streams), its 4 state bytes, and its creation
//! and modification times (not for the root). The digest is then H(pre-hash || content).

use super::crypto::{HashAlg, MultiHasher};
use crate::msi::compound::{Compound, RawEntry};
use std::io::Read;

/// Name of the signature stream.
pub const DIGITAL_SIGNATURE: &str = "\u{5}DigitalSignature";
/// Name of the extended-signature stream.
pub const DIGITAL_SIGNATURE_EX: &str = "\u{5}MsiDigitalSignatureEx";

fn name_bytes(e: &RawEntry) -> Vec<u8> {
    e.name_utf16.iter().chain(std::iter::once(&0u16)).flat_map(|u| u.to_le_bytes()).collect()
}

fn sorted_children(entries: &[RawEntry], at: usize, is_root: bool) -> Vec<usize> {
    let mut kids: Vec<(Vec<u8>, usize)> = entries[at]
        .children
        .iter()
        .copied()
        .filter(|&k| k < entries.len())
        .filter(|&k| {
            let n = String::from_utf16_lossy(&entries[k].name_utf16);
            !(is_root && (n == DIGITAL_SIGNATURE || n == DIGITAL_SIGNATURE_EX))
        })
        .map(|k| (name_bytes(&entries[k]), k))
        .collect();
    kids.sort_by(|(a, _), (b, _)| {
        let n = a.len().min(b.len());
        a[..n].cmp(&b[..n]).then_with(|| b.len().cmp(&a.len()))
    });
    kids.into_iter().map(|(_, k)| k).collect()
}

fn prehash(entries: &[RawEntry], at: usize, is_root: bool, h: &mut MultiHasher, depth: usize) {
    let e = &entries[at];
    meta(e, is_root, h);
    if depth > crate::msi::compound::MAX_DEPTH {
        return;
    }
    for k in sorted_children(entries, at, is_root) {
        if entries[k].storage {
            prehash(entries, k, false, h, depth + 1);
        } else {
            meta(&entries[k], false, h);
        }
    }
}

fn meta(e: &RawEntry, is_root: bool, h: &mut MultiHasher) {
    if !is_root {
        let n = name_bytes(e);
        h.update(&n[..n.len() - 2]);
    }
    if e.storage {
        h.update(&e.clsid);
    } else {
        h.update(&(e.len as u32).to_le_bytes());
    }
    h.update(&e.meta[0..4]);
    if !is_root {
        h.update(&e.meta[4..20]);
    }
}

fn content(
    comp: &Compound,
    entries: &[RawEntry],
    at: usize,
    is_root: bool,
    h: &mut MultiHasher,
    buf: &mut [u8],
    depth: usize,
) -> std::io::Result<()> {
    if depth > crate::msi::compound::MAX_DEPTH {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "storages nested too deep"));
    }
    for k in sorted_children(entries, at, is_root) {
        let e = &entries[k];
        if e.storage {
            content(comp, entries, k, false, h, buf, depth + 1)?;
        } else if e.len > 0 {
            let mut r = comp.open_stream(&e.path)?;
            loop {
                let n = r.read(buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
    }
    h.update(&entries[at].clsid);
    Ok(())
}

/// Whether the package has the extended-signature stream.
pub fn has_ex(entries: &[RawEntry]) -> bool {
    entries.first().is_some_and(|r| {
        r.children
            .iter()
            .any(|&k| entries.get(k).is_some_and(|e| String::from_utf16_lossy(&e.name_utf16) == DIGITAL_SIGNATURE_EX))
    })
}

/// The package digest for each algorithm.
pub fn digest(comp: &Compound, algs: &[HashAlg]) -> std::io::Result<Vec<(HashAlg, Vec<u8>)>> {
    let entries = comp.raw_entries();
    let mut h = MultiHasher::new(algs);
    if has_ex(&entries) {
        let mut pre = MultiHasher::new(algs);
        prehash(&entries, 0, true, &mut pre, 0);
        let pre = pre.finish();
        for (alg, hasher) in &mut h.0 {
            if let Some((_, p)) = pre.iter().find(|(a, _)| a == alg) {
                hasher.update(p);
            }
        }
    }
    let mut buf = vec![0u8; 1 << 20];
    content(comp, &entries, 0, true, &mut h, &mut buf, 0)?;
    Ok(h.finish())
}
