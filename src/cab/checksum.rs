//! The CFDATA checksum (a XOR of little-endian words with an odd tail order).

/// Fold `data` into `seed` the way cabinet writers compute CFDATA.csum.
pub fn checksum(data: &[u8], seed: u32) -> u32 {
    let mut csum = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        csum ^= u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let rest = chunks.remainder();
    let mut ul: u32 = 0;
    // The tail bytes are folded high-to-low: 3 bytes -> b0<<16 | b1<<8 | b2.
    for &b in rest {
        ul = (ul << 8) | u32::from(b);
    }
    csum ^ ul
}

/// The checksum a CFDATA block should carry, over its data and its two size fields.
pub fn block_checksum(data: &[u8], cb_data: u16, cb_uncomp: u16) -> u32 {
    let mut sizes = [0u8; 4];
    sizes[..2].copy_from_slice(&cb_data.to_le_bytes());
    sizes[2..].copy_from_slice(&cb_uncomp.to_le_bytes());
    checksum(&sizes, checksum(data, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_bytes_fold_high_to_low() {
        assert_eq!(checksum(&[1, 2, 3], 0), 0x0001_0203);
        assert_eq!(checksum(&[1, 2], 0), 0x0102);
        assert_eq!(checksum(&[0x78, 0x56, 0x34, 0x12, 9], 0), 0x1234_5678 ^ 9);
    }
}
