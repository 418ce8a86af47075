//! A minimal PA19 writer: one old file, no ranges, no PE processing, the new file stored
//! in uncompressed LZX blocks (one per 32 KiB chunk) and a 4-byte tail that makes the
//! patch's CRC-32 come out as 0xFFFFFFFF. Enough to make delta fixtures; our reader and
//! the Windows-made vectors keep each other honest.

fn uvli(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b | 0x80);
            return;
        }
        out.push(b);
    }
}

fn svli(out: &mut Vec<u8>, v: i64) {
    let neg = v < 0;
    let mut m = v.unsigned_abs();
    let first = (m & 0x3F) as u8 | if neg { 0x40 } else { 0 };
    m >>= 6;
    if m == 0 {
        out.push(first | 0x80);
        return;
    }
    out.push(first);
    uvli(out, m);
}

fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *e = c;
    }
    t
}

/// Four bytes that, appended to `data`, make its CRC-32 equal `want`.
pub fn crc_fixup(data: &[u8], want: u32) -> [u8; 4] {
    let t = crc_table();
    let start = !crc32fast::hash(data);
    let mut reg = !want;
    for _ in 0..4 {
        let top = reg >> 24;
        let idx = t.iter().position(|&v| v >> 24 == top).unwrap_or(0);
        reg = ((reg ^ t[idx]) << 8) | idx as u32;
    }
    (reg ^ start).to_le_bytes()
}

/// The LZX stream: uncompressed blocks, chunks of 32 KiB of output.
fn lzx_uncompressed(new: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    let n = new.len();
    // Bits: E8 flag 0, block type 3, 24-bit size, padded to two 16-bit words.
    let bits: u32 = (3 << 24 | (n as u32 & 0xFF_FFFF)) << 4;
    let mut first = Vec::new();
    first.extend_from_slice(&((bits >> 16) as u16).to_le_bytes());
    first.extend_from_slice(&(bits as u16).to_le_bytes());
    for _ in 0..3 {
        first.extend_from_slice(&1u32.to_le_bytes());
    }
    let mut chunks = new.chunks(32768);
    let c0 = chunks.next().unwrap_or(&[]);
    first.extend_from_slice(c0);
    if n % 2 == 1 && c0.len() == n {
        first.push(0);
    }
    s.extend_from_slice(&(first.len() as u16).to_le_bytes());
    s.extend_from_slice(&first);
    let rest: Vec<&[u8]> = chunks.collect();
    let count = rest.len();
    for (i, c) in rest.into_iter().enumerate() {
        let mut body = c.to_vec();
        if i + 1 == count && n % 2 == 1 {
            body.push(0);
        }
        s.extend_from_slice(&(body.len() as u16).to_le_bytes());
        s.extend_from_slice(&body);
    }
    s
}

/// The header of the PA19 patch turning `old` into `new` (every field up to the stream
/// sizes, no CRC tail) and its LZX stream.
fn pa19_parts(old: &[u8], new: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut p = b"PA19".to_vec();
    let options: u32 = 0x0000_0001 | 0x0001_0000 | 0x0002_0000 | 0x0004_0000 | 0x0040_0000;
    p.extend_from_slice(&options.to_le_bytes());
    uvli(&mut p, new.len() as u64);
    p.extend_from_slice(&crc32fast::hash(new).to_le_bytes());
    p.push(1);
    svli(&mut p, old.len() as i64 - new.len() as i64);
    p.extend_from_slice(&crc32fast::hash(old).to_le_bytes());
    p.push(0);
    p.push(0);
    uvli(&mut p, 0);
    let stream = lzx_uncompressed(new);
    uvli(&mut p, stream.len() as u64);
    (p, stream)
}

/// A PA19 patch turning `old` into `new`.
pub fn write_pa19(old: &[u8], new: &[u8]) -> Vec<u8> {
    let (mut p, stream) = pa19_parts(old, new);
    p.extend_from_slice(&stream);
    let tail = crc_fixup(&p, 0xFFFF_FFFF);
    p.extend_from_slice(&tail);
    p
}

/// The header-only form of [`write_pa19`]'s patch (what a Patch row's Header column
/// holds): the header with the stream sizes, no streams, its own CRC tail.
pub fn write_pa19_header(old: &[u8], new: &[u8]) -> Vec<u8> {
    let (mut p, _) = pa19_parts(old, new);
    let tail = crc_fixup(&p, 0xFFFF_FFFF);
    p.extend_from_slice(&tail);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn written_patches_apply() {
        let old: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        for n in [0usize, 1, 65, 32768, 32769, 70001] {
            let new: Vec<u8> = (0..n as u32).map(|i| (i * 13 % 256) as u8).collect();
            let p = write_pa19(&old, &new);
            assert_eq!(crc32fast::hash(&p), 0xFFFF_FFFF);
            assert_eq!(crate::delta::apply(&p, Some(&old)).unwrap(), new, "n={n}");
            assert_eq!(crate::delta::header_only(&p).unwrap(), write_pa19_header(&old, &new), "n={n}");
        }
    }
}
