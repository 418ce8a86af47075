//! Cabinets: the signature lives in the CFHEADER reserve area.
//!
//! A signed cabinet has the RESERVE_PRESENT flag and a 20-byte header reserve
//! (cbCFHeader = 20) whose bytes 4..8 give the signature's file offset and 8..12 its
//! length (the reserve starts at offset 40). The digest, as osslsigncode computes it
//! (and as Windows' cabinet SIP does), covers: bytes 0..4 (`MSCF`), 8..34 (cbCabinet,
//! reserved2, coffFiles, reserved3, version, cFolders, cFiles, flags, setID), and from
//! offset 56 (the last 4 bytes of the reserve) up to the signature: the optional
//! previous/next cabinet names, the CFFOLDER and CFFILE entries and every data block.
//! Skipped: reserved1 (4..8), iCabinet (34..36), the reserve sizes (36..40) and the first
//! 16 reserve bytes (40..56), which hold the signature's place and size.

use super::Source;
use crate::cab::{signature_area, CabSignatureArea};
use crate::error::Result;

/// The byte ranges the digest covers.
pub fn digest_ranges(area: &CabSignatureArea) -> Vec<(u64, u64)> {
    vec![(0, 4), (8, 34), (56, u64::from(area.offset))]
}

/// The signature area of the cabinet in `src`, when it has one.
pub fn find(src: &dyn Source) -> Result<Option<CabSignatureArea>> {
    let mut head = [0u8; 60];
    if src.len() < 60 {
        return Ok(None);
    }
    src.read_exact_at(&mut head, 0)?;
    Ok(signature_area(&head, src.len()))
}
