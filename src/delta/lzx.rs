//! LZX with a reference buffer (the LZX DELTA variant PatchAPI uses): the old file sits
//! in front of the output, matches may reach into it, chunks carry a 16-bit size prefix,
//! and long matches have an extended length. Our own decoder: `lzxd` has no way to
//! preset the window.

use crate::error::{Error, Result};

const CHUNK: usize = 32768;

fn bad(m: &str) -> Error {
    Error::format(format!("LZX delta stream: {m}"))
}

struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
    buf: u64,
    n: u32,
    over: usize,
}

impl<'a> Bits<'a> {
    fn new(d: &'a [u8], pos: usize) -> Self {
        Bits { d, pos, buf: 0, n: 0, over: 0 }
    }
    fn fill(&mut self) {
        while self.n <= 48 {
            let w = if self.pos + 1 < self.d.len() {
                u16::from_le_bytes([self.d[self.pos], self.d[self.pos + 1]])
            } else {
                self.over += 1;
                0
            };
            self.pos += 2;
            self.buf |= u64::from(w) << (48 - self.n);
            self.n += 16;
        }
    }
    fn read(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        if self.n < k {
            self.fill();
        }
        let v = (self.buf >> (64 - k)) as u32;
        self.buf <<= k;
        self.n -= k;
        v
    }
    /// Whether more bits were consumed than the chunk holds (reading ahead is fine).
    fn overrun(&self) -> bool {
        (self.pos * 8).saturating_sub(self.n as usize) > self.d.len() * 8
    }

    /// Byte offset where raw data of an uncompressed block starts (see the format notes:
    /// the rest of the current 16-bit word, or one padding word when aligned, is skipped).
    fn raw_start(&self) -> usize {
        let consumed_bits = self.pos * 8 - self.n as usize;
        (consumed_bits / 16 + 1) * 2
    }
}

/// A canonical Huffman code.
struct Tree {
    lens: Vec<u8>,
    count: [u16; 17],
    sorted: Vec<u16>,
}

impl Tree {
    fn new(n: usize) -> Tree {
        Tree { lens: vec![0; n], count: [0; 17], sorted: Vec::new() }
    }
    fn build(&mut self) -> Result<()> {
        self.count = [0; 17];
        for &l in &self.lens {
            if l > 16 {
                return Err(bad("code length over 16"));
            }
            self.count[usize::from(l)] += 1;
        }
        self.count[0] = 0;
        let mut left: i64 = 1;
        for l in 1..=16 {
            left = (left << 1) - i64::from(self.count[l]);
            if left < 0 {
                return Err(bad("over-subscribed Huffman code"));
            }
        }
        let mut offs = [0u16; 18];
        for l in 1..=16 {
            offs[l + 1] = offs[l] + self.count[l];
        }
        self.sorted = vec![0; usize::from(offs[17])];
        for (s, &l) in self.lens.iter().enumerate() {
            if l > 0 {
                let o = &mut offs[usize::from(l)];
                self.sorted[usize::from(*o)] = s as u16;
                *o += 1;
            }
        }
        Ok(())
    }
    fn decode(&self, b: &mut Bits<'_>) -> Result<u16> {
        let mut code: i32 = 0;
        let mut first: i32 = 0;
        let mut index: i32 = 0;
        for l in 1..=16 {
            code |= b.read(1) as i32;
            let count = i32::from(self.count[l]);
            if code - count < first {
                return self
                    .sorted
                    .get((index + (code - first)) as usize)
                    .copied()
                    .ok_or_else(|| bad("bad Huffman code"));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(bad("invalid Huffman code"))
    }
}

fn read_lengths(b: &mut Bits<'_>, lens: &mut [u8], from: usize, to: usize) -> Result<()> {
    let mut pre = Tree::new(20);
    for i in 0..20 {
        pre.lens[i] = b.read(4) as u8;
    }
    pre.build()?;
    let mut x = from;
    while x < to {
        let z = pre.decode(b)?;
        match z {
            0..=16 => {
                lens[x] = ((u16::from(lens[x]) + 17 - z) % 17) as u8;
                x += 1;
            }
            17 => {
                let n = 4 + b.read(4) as usize;
                for _ in 0..n.min(to - x) {
                    lens[x] = 0;
                    x += 1;
                }
            }
            18 => {
                let n = 20 + b.read(5) as usize;
                for _ in 0..n.min(to - x) {
                    lens[x] = 0;
                    x += 1;
                }
            }
            19 => {
                let n = 4 + b.read(1) as usize;
                let z2 = pre.decode(b)?;
                if z2 > 16 {
                    return Err(bad("bad pre-tree run"));
                }
                let v = ((u16::from(lens[x]) + 17 - z2) % 17) as u8;
                for _ in 0..n.min(to - x) {
                    lens[x] = v;
                    x += 1;
                }
            }
            _ => return Err(bad("bad pre-tree symbol")),
        }
    }
    Ok(())
}

/// The trees of a verbatim (1) or aligned-offset (2) block.
fn read_trees(
    b: &mut Bits<'_>,
    block_type: u32,
    main: &mut Tree,
    length: &mut Tree,
    aligned: &mut Tree,
    main_size: usize,
) -> Result<()> {
    if block_type == 2 {
        for i in 0..8 {
            aligned.lens[i] = b.read(3) as u8;
        }
        aligned.build()?;
    }
    read_lengths(b, &mut main.lens, 0, 256)?;
    read_lengths(b, &mut main.lens, 256, main_size)?;
    main.build()?;
    read_lengths(b, &mut length.lens, 0, 249)?;
    length.build()
}

/// Position slots for a window covering `total` bytes, and the window size.
pub fn slots_for(total: u64, large: bool) -> Result<(usize, u64)> {
    let limit: u64 = if large { 32 << 20 } else { 8 << 20 };
    let mut window: u64 = 1 << 17;
    let mut slots = 34usize;
    let mut step = 2usize;
    while window < total {
        if window >= limit {
            return Err(Error::new(
                crate::ErrorKind::Unsupported,
                "old and new files exceed the LZX window (interleaved streams are not supported)",
            ));
        }
        window <<= 1;
        if window <= 1 << 19 {
            slots += 2;
        } else {
            step *= 2;
            slots += step;
        }
    }
    Ok((slots, window))
}

fn position_tables(slots: usize) -> (Vec<u32>, Vec<u8>) {
    let mut extra = Vec::with_capacity(slots);
    let mut base = Vec::with_capacity(slots);
    let mut b: u32 = 0;
    for i in 0..slots {
        let e = if i < 4 { 0 } else { ((i / 2) - 1).min(17) as u8 };
        extra.push(e);
        base.push(b);
        b = b.wrapping_add(1 << e);
    }
    (base, extra)
}

/// Decode `stream` into `new_len` bytes, with `reference` (the prepared old file) in
/// front of the output.
pub fn decode(stream: &[u8], reference: &[u8], new_len: usize, large: bool) -> Result<Vec<u8>> {
    let r = reference.len();
    let total = (r as u64).div_ceil(CHUNK as u64) * CHUNK as u64 + new_len as u64;
    let (slots, _) = slots_for(total, large)?;
    let (pbase, pextra) = position_tables(slots);
    let main_size = 256 + 8 * slots;
    // Grow with the output: a header can claim up to 2 GiB that the data never delivers.
    let mut buf = Vec::with_capacity(r + new_len.min(1 << 22));
    buf.extend_from_slice(reference);
    let mut main = Tree::new(main_size);
    let mut length = Tree::new(249);
    let mut aligned = Tree::new(8);
    let (mut r0, mut r1, mut r2) = (1u32, 1u32, 1u32);
    let mut e8: Option<i32> = None;
    let mut header_read = false;
    let mut block_type = 0u32;
    let mut block_remaining = 0usize;
    let mut cpos = 0usize; // position of the next chunk header in `stream`
                           // After an uncompressed block the bit reader restarts at a byte inside the current
                           // chunk: (end of that chunk's data, byte to resume at).
    let mut resume: Option<(usize, usize)> = None;
    let mut out_done = 0usize;
    'chunks: while out_done < new_len {
        let (end, start) = match resume.take() {
            Some(at) => at,
            None => {
                let size = stream
                    .get(cpos..cpos + 2)
                    .map(|s| usize::from(u16::from_le_bytes([s[0], s[1]])))
                    .ok_or_else(|| bad("chunk header missing"))?;
                let start = cpos + 2;
                let end = start
                    .checked_add(size)
                    .filter(|&e| e <= stream.len())
                    .ok_or_else(|| bad("chunk runs past the end"))?;
                cpos = end;
                (end, start)
            }
        };
        let chunk = &stream[..end];
        let mut b = Bits::new(chunk, start);
        let chunk_target = (((out_done / CHUNK) + 1) * CHUNK).min(new_len);
        if !header_read {
            if b.read(1) == 1 {
                let hi = b.read(16);
                let lo = b.read(16);
                e8 = Some(((hi << 16) | lo) as i32);
            }
            header_read = true;
        }
        while out_done < chunk_target {
            if block_remaining == 0 {
                block_type = b.read(3);
                let hi = b.read(16);
                let lo = b.read(8);
                block_remaining = ((hi << 8) | lo) as usize;
                match block_type {
                    1 | 2 => read_trees(&mut b, block_type, &mut main, &mut length, &mut aligned, main_size)?,
                    3 => {
                        let mut p = b.raw_start();
                        let mut word = || -> Result<u32> {
                            let s = chunk.get(p..p + 4).ok_or_else(|| bad("uncompressed block header truncated"))?;
                            p += 4;
                            Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                        };
                        r0 = word()?;
                        r1 = word()?;
                        r2 = word()?;
                        let (data_end, cur) = copy_raw(stream, end, p, block_remaining, &mut buf)?;
                        cpos = data_end;
                        out_done = buf.len() - r;
                        block_remaining = 0;
                        // A block that used up its chunk (it ended on a 32 KiB boundary):
                        // what follows starts with the next chunk's header.
                        resume = if cur >= data_end { None } else { Some((data_end.min(stream.len()), cur)) };
                        continue 'chunks;
                    }
                    _ => return Err(bad(&format!("block type {block_type}"))),
                }
            }
            decode_symbols(
                &mut b,
                &mut buf,
                r,
                chunk_target,
                &mut block_remaining,
                block_type,
                &main,
                &length,
                &aligned,
                &mut r0,
                &mut r1,
                &mut r2,
                &pbase,
                &pextra,
            )?;
            out_done = buf.len() - r;
            if b.overrun() {
                return Err(bad("data ends inside a chunk"));
            }
        }
    }
    finish(buf, r, new_len, e8)
}

/// Copy the `len` raw bytes of an uncompressed block starting at `cur` in the chunk whose
/// data ends at `data_end`, following into later chunks. Returns the data end of the
/// chunk the block ends in and the byte after the block (past the pad byte of an odd
/// length).
fn copy_raw(
    stream: &[u8],
    mut data_end: usize,
    mut cur: usize,
    len: usize,
    buf: &mut Vec<u8>,
) -> Result<(usize, usize)> {
    let mut left = len;
    loop {
        let take = left.min(data_end.saturating_sub(cur));
        buf.extend_from_slice(&stream[cur..cur + take]);
        cur += take;
        left -= take;
        if left == 0 {
            break;
        }
        let s = stream.get(data_end..data_end + 2).ok_or_else(|| bad("uncompressed block truncated"))?;
        let size = usize::from(u16::from_le_bytes([s[0], s[1]]));
        cur = data_end + 2;
        data_end = cur + size;
        if data_end > stream.len() {
            return Err(bad("uncompressed block truncated"));
        }
    }
    if len % 2 == 1 {
        cur += 1;
    }
    Ok((data_end, cur))
}

#[allow(clippy::too_many_arguments)]
fn decode_symbols(
    b: &mut Bits<'_>,
    buf: &mut Vec<u8>,
    r: usize,
    chunk_target: usize,
    block_remaining: &mut usize,
    block_type: u32,
    main: &Tree,
    length: &Tree,
    aligned: &Tree,
    r0: &mut u32,
    r1: &mut u32,
    r2: &mut u32,
    pbase: &[u32],
    pextra: &[u8],
) -> Result<()> {
    while *block_remaining > 0 && buf.len() - r < chunk_target {
        let s = main.decode(b)?;
        if s < 256 {
            buf.push(s as u8);
            *block_remaining -= 1;
            continue;
        }
        let s = usize::from(s - 256);
        let mut len = s & 7;
        if len == 7 {
            len += usize::from(length.decode(b)?);
        }
        len += 2;
        let slot = s >> 3;
        let dist = match slot {
            0 => *r0,
            1 => {
                std::mem::swap(r0, r1);
                *r0
            }
            2 => {
                std::mem::swap(r0, r2);
                *r0
            }
            _ => {
                let extra = u32::from(*pextra.get(slot).ok_or_else(|| bad("position slot out of range"))?);
                let footer = if block_type == 2 && extra >= 3 {
                    let v = b.read(extra - 3) << 3;
                    v + u32::from(aligned.decode(b)?)
                } else {
                    b.read(extra)
                };
                let d = pbase[slot].wrapping_add(footer).wrapping_sub(2);
                *r2 = *r1;
                *r1 = *r0;
                *r0 = d;
                d
            }
        };
        if len == 257 {
            len = if b.read(1) == 0 {
                b.read(8) as usize + 257
            } else if b.read(1) == 0 {
                b.read(10) as usize + 513
            } else if b.read(1) == 0 {
                b.read(12) as usize + 1537
            } else {
                b.read(15) as usize + 257
            };
        }
        let dist = dist as usize;
        if dist == 0 {
            return Err(bad("zero match distance"));
        }
        let first = buf.len() as i64 - dist as i64;
        for k in 0..len as i64 {
            let src = first + k;
            // Before the reference there are only zeros.
            let v = if src < 0 { 0 } else { buf[src as usize] };
            buf.push(v);
        }
        *block_remaining = block_remaining.saturating_sub(len);
        if b.overrun() {
            return Err(bad("data ends inside a block"));
        }
    }
    Ok(())
}

fn finish(mut buf: Vec<u8>, r: usize, new_len: usize, e8: Option<i32>) -> Result<Vec<u8>> {
    if buf.len() < r + new_len {
        return Err(bad("stream ends before the new file is complete"));
    }
    buf.truncate(r + new_len);
    let mut out = buf.split_off(r);
    if let Some(size) = e8 {
        let n = out.len();
        let mut chunk = 0usize;
        while chunk < n {
            let cend = (chunk + CHUNK).min(n);
            let stop = cend.saturating_sub(10).min(n.saturating_sub(10)).min(1 << 30);
            let mut i = chunk;
            while i < stop {
                if out[i] == 0xE8 {
                    let v = i32::from_le_bytes([out[i + 1], out[i + 2], out[i + 3], out[i + 4]]);
                    let pos = i as i32;
                    if v >= -pos && v < size {
                        let nv = if v >= 0 { v - pos } else { v + size };
                        out[i + 1..i + 5].copy_from_slice(&nv.to_le_bytes());
                    }
                    i += 5;
                } else {
                    i += 1;
                }
            }
            chunk = cend;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn window_slots_follow_the_table() {
        assert_eq!(slots_for(100_000, false).unwrap().0, 34);
        assert_eq!(slots_for(200_000, false).unwrap().0, 36);
        assert_eq!(slots_for(1 << 19, false).unwrap().0, 38);
        assert_eq!(slots_for((1 << 19) + 1, false).unwrap().0, 42);
        assert_eq!(slots_for(3 << 20, false).unwrap().0, 66);
        assert!(slots_for(9 << 20, false).is_err());
    }

    /// Two 32-bit header words, most significant bits first, each stored little-endian.
    fn header_words(v: u32) -> Vec<u8> {
        let mut o = ((v >> 16) as u16).to_le_bytes().to_vec();
        o.extend_from_slice(&(v as u16).to_le_bytes());
        o
    }

    #[test]
    fn uncompressed_block_after_uncompressed_block() {
        let mut body = header_words((3 << 24 | 5) << 4); // no E8, type 3, 5 bytes
        for _ in 0..3 {
            body.extend_from_slice(&1u32.to_le_bytes());
        }
        body.extend_from_slice(b"hello\0"); // odd length: one pad byte
        body.extend_from_slice(&header_words((3 << 24 | 6) << 5)); // type 3, 6 bytes
        for _ in 0..3 {
            body.extend_from_slice(&1u32.to_le_bytes());
        }
        body.extend_from_slice(b"world!");
        let mut stream = (body.len() as u16).to_le_bytes().to_vec();
        stream.extend_from_slice(&body);
        assert_eq!(decode(&stream, b"", 11, false).unwrap(), b"helloworld!");
        // Cut inside the second block's data.
        assert!(decode(&stream[..stream.len() - 2], b"", 11, false).is_err());
    }

    #[test]
    fn uncompressed_block_ending_on_a_chunk_boundary() {
        // 32 KiB raw in chunk 1, then a new block in chunk 2 (Wine's decoder reads this).
        let mut c1 = header_words((3 << 24 | 32768) << 4);
        for _ in 0..3 {
            c1.extend_from_slice(&1u32.to_le_bytes());
        }
        c1.extend((0..32768u32).map(|i| (i % 251) as u8));
        let mut c2 = header_words((3 << 24 | 4) << 5);
        for _ in 0..3 {
            c2.extend_from_slice(&1u32.to_le_bytes());
        }
        c2.extend_from_slice(b"abcd");
        let mut stream = (c1.len() as u16).to_le_bytes().to_vec();
        stream.extend_from_slice(&c1);
        stream.extend_from_slice(&(c2.len() as u16).to_le_bytes());
        stream.extend_from_slice(&c2);
        let out = decode(&stream, b"", 32772, false).unwrap();
        assert_eq!(&out[32768..], b"abcd");
        assert_eq!(out[300], (300 % 251) as u8);
    }
}
