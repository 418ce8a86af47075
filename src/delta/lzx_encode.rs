//! LZX DELTA encoder: the inverse of [`super::lzx::decode`].
//!
//! The prepared old file (the *reference*) sits in front of the new data in one buffer and
//! matches may reach back into it, exactly as the decoder lays its window out.
//!
//! **Match finder: hash chains.** One chain is keyed on 4 bytes (nearest candidates
//! first) and one on 24 bytes (long matches: in a delta the useful match is usually the
//! old copy of the same region, megabytes back, which a 4-byte chain reaches only after
//! thousands of nearer candidates in structured data); a direct-mapped 3-byte slot adds
//! the nearest 3-byte match within 64 KiB. Chains are depth-limited by [`Effort`]. Hash
//! chains were chosen over binary trees and suffix arrays for 10 MB inputs because they
//! build in one linear pass with 8 bytes of state per buffer byte and find the long
//! old-file matches a delta lives on as well as a binary tree does, while the repeat
//! offsets (R0–R2), which the parser checks at every position, recover the continuation
//! after each edit at almost no cost; a suffix array finds the longest match everywhere
//! but costs seconds and 5+ bytes per byte to build and does not order candidates by
//! distance. (Measured: 10 MiB + 10 MiB with 1% of bytes changed encodes in about 2 s,
//! as fast as `xdelta3 -9`, to 2.3% of the new file.) Inside a match longer than 64 bytes
//! only every fourth position is inserted (all of them at [`Effort::Best`]).
//!
//! **Parsing: near-optimal.** Each 32 KiB chunk of output is parsed by a forward
//! shortest-path search over positions (literal, the three repeat offsets at every length
//! they reach, and every length of every match the finder reports), with bit costs taken
//! from the symbol statistics of the chunks parsed so far (the first chunk is parsed
//! twice to seed them). A repeat match of 32+ bytes, or any match of `nice` bytes (see
//! [`Effort`]), ends the search window and is taken. Repeat-offset state follows the
//! cheapest path into each position. [`Effort::Best`] parses everything a second time
//! with each chunk priced by its block's final code lengths. Matches never cross a
//! 32 KiB output boundary: Wine's decoder restarts its chunk accounting at the end of a
//! match that crosses one while ours does not, so such a stream would decode differently.
//!
//! **Blocks.** Blocks start on chunk boundaries; adjacent chunks are merged into one block
//! while one set of trees costs less than two (estimated from symbol entropy plus a tree
//! cost). Each block is written as verbatim or aligned-offset, whichever is smaller for
//! its statistics. Code lengths are limited (main and length trees 16 bits, pre-tree 15,
//! aligned 7) and sent as pre-tree coded differences from the previous block's lengths.
//! No uncompressed blocks are written.
//!
//! **E8 translation** is applied to the new data (the decoder undoes it after decoding)
//! when the caller asks for it; see [`super::pa19_write`] for how that is decided.
//!
//! The output is deterministic: no threads, no randomised hashing.

use super::lzx::slots_for;
use crate::error::{Error, ErrorKind, Result};

const CHUNK: usize = 32768;
/// Longest match LZX DELTA can express (257 + 32767 via the 15-bit extended length).
const MAX_MATCH: usize = 257 + 32767;
const MIN_MATCH: usize = 2;
const LEN_SYMBOLS: usize = 249;
/// Fixed-point cost unit: 1 bit = 16.
const BIT: u32 = 16;
const INF: u32 = u32::MAX / 2;
const NONE: u32 = u32::MAX;
const LONG_KEY: usize = 24;
const H3_BITS: u32 = 16;
/// A repeat match at least this long is taken at once.
const REP_NICE: usize = 32;

/// Encoder effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    /// Shallow chains, greedy long matches early (used to estimate choices).
    Fast,
    /// The default.
    Normal,
    /// Deeper chains and a longer `nice` length.
    Best,
}

impl Effort {
    fn params(self) -> (usize, usize, usize) {
        // (4-byte chain depth, long chain depth, nice length)
        match self {
            Effort::Fast => (4, 4, 24),
            Effort::Normal => (24, 12, 64),
            Effort::Best => (64, 32, 160),
        }
    }
}

/// What the LZX encoder is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct LzxOptions {
    /// E8 call translation with this "file size" (`None`: off).
    pub e8_size: Option<u32>,
    /// Use the large (32 MiB) window limit instead of 8 MiB.
    pub large_window: bool,
    /// Effort.
    pub effort: Effort,
}

/// What the encoder produced, for reports.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct LzxStats {
    /// Window size the decoder will use.
    pub window: u64,
    /// Position slots for that window.
    pub position_slots: usize,
    /// Verbatim blocks written.
    pub verbatim_blocks: usize,
    /// Aligned-offset blocks written.
    pub aligned_blocks: usize,
    /// 32 KiB chunks written.
    pub chunks: usize,
    /// Literals coded.
    pub literals: u64,
    /// Matches coded (all kinds).
    pub matches: u64,
    /// Matches coded with a repeat offset.
    pub repeat_matches: u64,
    /// Matches longer than 257 bytes (the LZX DELTA extended length).
    pub long_matches: u64,
    /// Matches whose source lies in the reference (old file).
    pub reference_matches: u64,
    /// New bytes covered by matches.
    pub matched_bytes: u64,
    /// Whether E8 translation is on.
    pub e8: bool,
}

/// Position-slot tables: base formatted offset and footer bits per slot.
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

/// Slot of a formatted offset (`distance + 2`, at least 3).
fn slot_of(f: u32) -> usize {
    if f < 4 {
        return f as usize;
    }
    if f >= 1 << 19 {
        return 38 + ((f - (1 << 19)) >> 17) as usize;
    }
    let k = 31 - f.leading_zeros();
    (2 * k + ((f >> (k - 1)) & 1)) as usize
}

/// Apply the forward E8 translation to `d` (the new data), the inverse of the decoder's.
pub fn e8_forward(d: &mut [u8], size: u32) {
    let n = d.len();
    let size = i64::from(size);
    let mut chunk = 0usize;
    while chunk < n {
        let cend = (chunk + CHUNK).min(n);
        let stop = cend.saturating_sub(10).min(n.saturating_sub(10)).min(1 << 30);
        let mut i = chunk;
        while i < stop {
            if d[i] == 0xE8 {
                let r = i64::from(i32::from_le_bytes([d[i + 1], d[i + 2], d[i + 3], d[i + 4]]));
                let pos = i as i64;
                let v = if r >= -pos && r < size - pos {
                    r + pos
                } else if r >= size - pos && r < size {
                    r - size
                } else {
                    r
                };
                d[i + 1..i + 5].copy_from_slice(&(v as i32).to_le_bytes());
                i += 5;
            } else {
                i += 1;
            }
        }
        chunk = cend;
    }
}

// ---------------------------------------------------------------------------------------
// Match finder

#[derive(Clone)]
struct Finder {
    bits4: u32,
    head4: Vec<u32>,
    prev4: Vec<u32>,
    bitsl: u32,
    headl: Vec<u32>,
    prevl: Vec<u32>,
    depth4: usize,
    depthl: usize,
    /// Latest position of each 3-byte hash (short matches at short distances).
    head3: Vec<u32>,
    bits3: u32,
    /// Insert nothing (a trial parse).
    frozen: bool,
}

#[inline]
fn rd32(b: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
}

#[inline]
fn h3(b: &[u8], p: usize, bits: u32) -> usize {
    let x = u32::from(b[p]) | (u32::from(b[p + 1]) << 8) | (u32::from(b[p + 2]) << 16);
    (x.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

#[inline]
fn rd64(b: &[u8], p: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[p..p + 8]);
    u64::from_le_bytes(a)
}

/// Length of the common prefix of `b[a..]` and `b[c..]`, at most `max` (both in bounds).
#[inline]
fn common(b: &[u8], a: usize, c: usize, max: usize) -> usize {
    let mut n = 0;
    while n + 8 <= max {
        let x = rd64(b, a + n) ^ rd64(b, c + n);
        if x != 0 {
            return n + (x.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && b[a + n] == b[c + n] {
        n += 1;
    }
    n
}

impl Finder {
    fn new(len: usize, effort: Effort) -> Finder {
        // Tables scale with the buffer (small inputs stay cheap to set up).
        let bits = (usize::BITS - len.leading_zeros()).clamp(10, 22);
        let (depth4, depthl, _) = effort.params();
        Finder {
            bits4: bits,
            head4: vec![NONE; 1 << bits],
            prev4: vec![NONE; len],
            bitsl: bits.saturating_sub(1),
            headl: vec![NONE; 1 << bits.saturating_sub(1)],
            prevl: vec![NONE; len],
            depth4,
            depthl,
            head3: vec![NONE; 1 << H3_BITS.min(bits)],
            bits3: H3_BITS.min(bits),
            frozen: false,
        }
    }

    #[inline]
    fn h4(&self, b: &[u8], p: usize) -> usize {
        (rd32(b, p).wrapping_mul(0x9E37_79B1) >> (32 - self.bits4)) as usize
    }

    #[inline]
    fn hl(&self, b: &[u8], p: usize) -> usize {
        let x = rd64(b, p).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ rd64(b, p + 8).wrapping_mul(0xC2B2_AE3D_27D4_EB4F).rotate_left(31)
            ^ rd64(b, p + 16).wrapping_mul(0x1656_67B1_9E37_79F9).rotate_left(17);
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bitsl)) as usize
    }

    #[inline]
    fn insert(&mut self, b: &[u8], p: usize) {
        if self.frozen {
            return;
        }
        if p + 3 <= b.len() {
            let h = h3(b, p, self.bits3);
            self.head3[h] = p as u32;
        }
        if p + 4 <= b.len() {
            let h = self.h4(b, p);
            self.prev4[p] = self.head4[h];
            self.head4[h] = p as u32;
        }
        if p + LONG_KEY <= b.len() {
            let h = self.hl(b, p);
            self.prevl[p] = self.headl[h];
            self.headl[h] = p as u32;
        }
    }

    /// Matches at `p` of increasing length (and the nearest distance for each), at most
    /// `max_len` long and `max_dist` back; inserts `p`.
    fn find(&mut self, b: &[u8], p: usize, max_len: usize, max_dist: usize, out: &mut Vec<(u32, u32)>) {
        out.clear();
        let mut best = MIN_MATCH.max(2) - 1;
        if max_len >= 3 && p + 3 <= b.len() {
            let c = self.head3[h3(b, p, self.bits3)];
            if c != NONE && p - (c as usize) <= max_dist.min(1 << 16) {
                let cu = c as usize;
                let l = common(b, cu, p, max_len.min(32));
                if l >= 3 {
                    best = l;
                    out.push((l as u32, (p - cu) as u32));
                }
            }
        }
        if best < max_len && max_len >= 4 && p + 4 <= b.len() {
            let mut c = self.head4[self.h4(b, p)];
            let mut n = 0;
            while c != NONE && n < self.depth4 {
                let cu = c as usize;
                let dist = p - cu;
                if dist > max_dist {
                    break;
                }
                if b[cu + best] == b[p + best] {
                    let l = common(b, cu, p, max_len);
                    if l > best {
                        best = l;
                        out.push((l as u32, dist as u32));
                        if l >= max_len {
                            break;
                        }
                    }
                }
                c = self.prev4[cu];
                n += 1;
            }
        }
        if best < max_len && max_len >= LONG_KEY && p + LONG_KEY <= b.len() {
            let mut c = self.headl[self.hl(b, p)];
            let mut n = 0;
            while c != NONE && n < self.depthl {
                let cu = c as usize;
                let dist = p - cu;
                if dist > max_dist {
                    break;
                }
                if b[cu + best] == b[p + best] {
                    let l = common(b, cu, p, max_len);
                    if l > best {
                        best = l;
                        out.push((l as u32, dist as u32));
                        if l >= max_len {
                            break;
                        }
                    }
                }
                c = self.prevl[cu];
                n += 1;
            }
        }
        self.insert(b, p);
    }
}

// ---------------------------------------------------------------------------------------
// Huffman codes

/// Code lengths for `freq`, at most `limit` bits; symbols with frequency 0 get 0. When
/// fewer than two symbols are used, two get length 1 so that every code is complete.
fn huffman_lengths(freq: &[u32], limit: u8) -> Vec<u8> {
    let n = freq.len();
    let mut lens = vec![0u8; n];
    let mut used: Vec<usize> = (0..n).filter(|&i| freq[i] > 0).collect();
    if used.len() < 2 {
        let a = used.first().copied().unwrap_or(0);
        let b = if a == 0 { 1 } else { 0 };
        if n >= 2 {
            lens[a] = 1;
            lens[b] = 1;
        }
        return lens;
    }
    // Build the tree with a two-queue method over symbols sorted by (freq, index).
    used.sort_by_key(|&i| (freq[i], i));
    let m = used.len();
    let mut weight: Vec<u64> = used.iter().map(|&i| u64::from(freq[i])).collect();
    let mut parent: Vec<usize> = vec![0; 2 * m - 1];
    weight.resize(2 * m - 1, 0);
    let (mut leaf, mut node, mut next) = (0usize, m, m);
    for _ in 0..m - 1 {
        let mut pick = || {
            if leaf < m && (node >= next || weight[leaf] <= weight[node]) {
                leaf += 1;
                leaf - 1
            } else {
                node += 1;
                node - 1
            }
        };
        let a = pick();
        let b = pick();
        weight[next] = weight[a] + weight[b];
        parent[a] = next;
        parent[b] = next;
        next += 1;
    }
    // Depths: the root is the last node.
    let mut depth = vec![0u32; 2 * m - 1];
    for k in (0..2 * m - 2).rev() {
        depth[k] = depth[parent[k]] + 1;
    }
    let maxd = depth[..m].iter().copied().max().unwrap_or(1) as usize;
    let mut count = vec![0u32; maxd.max(limit as usize) + 2];
    for &d in &depth[..m] {
        count[d as usize] += 1;
    }
    // Limit lengths (the JPEG method: move pairs of deep leaves up).
    let lim = limit as usize;
    let mut i = maxd;
    while i > lim {
        while count[i] > 0 {
            let mut j = i - 2;
            while j > 0 && count[j] == 0 {
                j -= 1;
            }
            if j == 0 {
                break;
            }
            count[i] -= 2;
            count[i - 1] += 1;
            count[j + 1] += 2;
            count[j] -= 1;
        }
        i -= 1;
    }
    // Most frequent symbols get the shortest codes.
    let mut order = used.clone();
    order.sort_by(|&a, &b| freq[b].cmp(&freq[a]).then(a.cmp(&b)));
    let mut k = 0;
    for (l, &c) in count.iter().enumerate().take(lim + 1).skip(1) {
        for _ in 0..c {
            if let Some(&s) = order.get(k) {
                lens[s] = l as u8;
            }
            k += 1;
        }
    }
    lens
}

/// Canonical codes for `lens` (shorter first, ties by symbol), as the decoder builds them.
fn canonical_codes(lens: &[u8]) -> Vec<u16> {
    let mut count = [0u32; 18];
    for &l in lens {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 18];
    let mut code = 0u32;
    for l in 1..=17 {
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    lens.iter()
        .map(|&l| {
            if l == 0 {
                0
            } else {
                let c = next[usize::from(l)];
                next[usize::from(l)] += 1;
                c as u16
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Bit writer (16-bit little-endian words, most significant bit first)

struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits { out: Vec::new(), acc: 0, n: 0 }
    }
    #[inline]
    fn put(&mut self, v: u32, k: u32) {
        if k == 0 {
            return;
        }
        self.acc = (self.acc << k) | u64::from(v & ((1u32 << k) - 1));
        self.n += k;
        while self.n >= 16 {
            let w = (self.acc >> (self.n - 16)) as u16;
            self.out.extend_from_slice(&w.to_le_bytes());
            self.n -= 16;
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 16 - self.n;
            self.put(0, pad);
        }
        self.out
    }
}

// ---------------------------------------------------------------------------------------
// Parsed items

#[derive(Clone, Copy)]
enum Item {
    Lit(u8),
    /// A match: its length and distance (the rep code is chosen when coding).
    Match {
        len: u32,
        dist: u32,
    },
}

/// An item resolved against the repeat-offset state: everything needed to write it.
#[derive(Clone, Copy)]
struct Coded {
    main: u16,
    len_sym: Option<u8>,
    footer: u32,
    extra: u8,
    /// Extended length (LZX DELTA) when the length is 257 or more.
    ext: Option<u32>,
}

fn ext_bits(len: u32) -> (u32, u32) {
    // (prefix+value bits, count)
    if len <= 512 {
        (len - 257, 9)
    } else if len <= 1536 {
        ((0b10 << 10) | (len - 513), 12)
    } else if len <= 5632 {
        ((0b110 << 12) | (len - 1537), 15)
    } else {
        ((0b111 << 15) | (len - 257), 18)
    }
}

struct Tables {
    base: Vec<u32>,
    extra: Vec<u8>,
}

fn code_item(it: Item, reps: &mut [u32; 3], t: &Tables) -> Coded {
    match it {
        Item::Lit(b) => Coded { main: u16::from(b), len_sym: None, footer: 0, extra: 0, ext: None },
        Item::Match { len, dist } => {
            let (slot, footer, extra) = if dist == reps[0] {
                (0usize, 0, 0)
            } else if dist == reps[1] {
                reps.swap(0, 1);
                (1, 0, 0)
            } else if dist == reps[2] {
                reps.swap(0, 2);
                (2, 0, 0)
            } else {
                let f = dist + 2;
                let s = slot_of(f);
                reps[2] = reps[1];
                reps[1] = reps[0];
                reps[0] = dist;
                (s, f - t.base[s], t.extra[s])
            };
            let l = len - 2;
            let (hdr, len_sym, ext) = if l < 7 {
                (l, None, None)
            } else if len < 257 {
                (7, Some((l - 7) as u8), None)
            } else {
                (7, Some(248u8), Some(len))
            };
            Coded { main: (256 + slot * 8 + hdr as usize) as u16, len_sym, footer, extra, ext }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cost model

struct Model {
    main_freq: Vec<u32>,
    len_freq: Vec<u32>,
    main_cost: Vec<u32>,
    len_cost: Vec<u32>,
}

impl Model {
    fn new(main_size: usize) -> Model {
        let mut m = Model {
            main_freq: vec![0; main_size],
            len_freq: vec![0; LEN_SYMBOLS],
            main_cost: vec![0; main_size],
            len_cost: vec![0; LEN_SYMBOLS],
        };
        for (s, c) in m.main_cost.iter_mut().enumerate() {
            *c = if s < 256 {
                9 * BIT
            } else {
                let slot = (s - 256) / 8;
                (7 + (slot as u32).min(30) / 6) * BIT
            };
        }
        for (s, c) in m.len_cost.iter_mut().enumerate() {
            *c = (4 + (s as u32).min(200) / 40) * BIT;
        }
        m
    }

    fn learn(&mut self, main: &[u32], len: &[u32]) {
        for (f, &c) in self.main_freq.iter_mut().zip(main) {
            *f = *f - *f / 4 + c;
        }
        for (f, &c) in self.len_freq.iter_mut().zip(len) {
            *f = *f - *f / 4 + c;
        }
        let cost = |freq: &[u32]| -> Vec<u32> {
            let total: f64 = freq.iter().map(|&f| f64::from(f) + 0.5).sum();
            freq.iter()
                .map(|&f| ((total / (f64::from(f) + 0.5)).log2() * f64::from(BIT)).min(18.0 * 16.0) as u32)
                .collect()
        };
        self.main_cost = cost(&self.main_freq);
        self.len_cost = cost(&self.len_freq);
    }

    /// Price symbols by a block's code lengths (unused symbols as if 18 bits long).
    fn set_lengths(&mut self, main: &[u8], len: &[u8]) {
        for (c, &l) in self.main_cost.iter_mut().zip(main) {
            *c = if l == 0 { 18 * BIT } else { u32::from(l) * BIT };
        }
        for (c, &l) in self.len_cost.iter_mut().zip(len) {
            *c = if l == 0 { 18 * BIT } else { u32::from(l) * BIT };
        }
    }

    #[inline]
    fn lit(&self, b: u8) -> u32 {
        self.main_cost[usize::from(b)]
    }

    #[inline]
    fn len_part(&self, slot: usize, len: usize) -> u32 {
        let l = len - 2;
        if l < 7 {
            self.main_cost[256 + slot * 8 + l]
        } else if len < 257 {
            self.main_cost[256 + slot * 8 + 7] + self.len_cost[l - 7]
        } else {
            self.main_cost[256 + slot * 8 + 7] + self.len_cost[248] + ext_bits(len as u32).1 * BIT
        }
    }
}

// ---------------------------------------------------------------------------------------
// The parser

struct Parser<'a> {
    buf: &'a [u8],
    finder: Finder,
    t: Tables,
    max_dist: usize,
    nice: usize,
    /// Insert every position of long matches (Best effort).
    dense: bool,
    model: Model,
    reps: [u32; 3],
    // DP scratch
    price: Vec<u32>,
    from_len: Vec<u32>,
    from_dist: Vec<u32>,
    state: Vec<[u32; 3]>,
    matches: Vec<(u32, u32)>,
}

impl Parser<'_> {
    /// The slot a match of distance `dist` is coded with, and the repeat state after it.
    fn slot_for(&self, dist: u32, reps: &[u32; 3]) -> (usize, [u32; 3]) {
        let mut r = *reps;
        if dist == r[0] {
            (0, r)
        } else if dist == r[1] {
            r.swap(0, 1);
            (1, r)
        } else if dist == r[2] {
            r.swap(0, 2);
            (2, r)
        } else {
            (slot_of(dist + 2), [dist, r[0], r[1]])
        }
    }

    /// Parse the chunk `[c0, c1)` of the buffer; append items.
    fn chunk(&mut self, c0: usize, c1: usize, out: &mut Vec<Item>) {
        let mut pos = c0;
        while pos < c1 {
            let start = pos;
            let n = c1 - start;
            self.price[0] = 0;
            self.state[0] = self.reps;
            // Entries past `ready` are initialised as the search reaches them.
            let mut ready = 0usize;
            let mut i = 0usize;
            // Where the window ended and the long match taken there (if any).
            let mut forced: Option<(usize, u32, u32)> = None;
            while i < n {
                let p = start + i;
                let max_len = (c1 - p).min(MAX_MATCH);
                let reps = self.state[i];
                let base = self.price[i];
                // Repeat offsets.
                let mut rep_len = [0usize; 3];
                for k in 0..3 {
                    let d = reps[k] as usize;
                    if d <= p && d > 0 && max_len >= MIN_MATCH {
                        rep_len[k] = common(self.buf, p - d, p, max_len);
                    }
                }
                let best_rep = (0..3).max_by_key(|&k| (rep_len[k], 3 - k)).unwrap_or(0);
                // A repeat match this long is taken without searching: after an edit the
                // old copy continues at the same distance, and nothing found by a search
                // would be cheaper.
                if rep_len[best_rep] >= self.nice.min(REP_NICE) {
                    self.finder.insert(self.buf, p);
                    forced = Some((i, rep_len[best_rep] as u32, reps[best_rep]));
                    break;
                }
                let mut ms = std::mem::take(&mut self.matches);
                self.finder.find(self.buf, p, max_len, self.max_dist.min(p), &mut ms);
                let longest = ms.last().map(|m| m.0 as usize).unwrap_or(0);
                if rep_len[best_rep] >= self.nice || longest >= self.nice {
                    let (l, d) = if rep_len[best_rep] + 2 >= longest {
                        (rep_len[best_rep], reps[best_rep])
                    } else {
                        let m = ms[ms.len() - 1];
                        (m.0 as usize, m.1)
                    };
                    forced = Some((i, l as u32, d));
                    self.matches = ms;
                    break;
                }
                let reach = (i + 1).max(i + longest).max(i + rep_len.iter().copied().max().unwrap_or(0));
                if reach > ready {
                    self.price[ready + 1..=reach].fill(INF);
                    ready = reach;
                }
                // Literal.
                let c = base + self.model.lit(self.buf[p]);
                if c < self.price[i + 1] {
                    self.price[i + 1] = c;
                    self.from_len[i + 1] = 1;
                    self.from_dist[i + 1] = 0;
                    self.state[i + 1] = reps;
                }
                for k in 0..3 {
                    if rep_len[k] < MIN_MATCH {
                        continue;
                    }
                    let mut r = reps;
                    if k > 0 {
                        r.swap(0, k);
                    }
                    for len in MIN_MATCH..=rep_len[k] {
                        let c = base + self.model.len_part(k, len);
                        if c < self.price[i + len] {
                            self.price[i + len] = c;
                            self.from_len[i + len] = len as u32;
                            self.from_dist[i + len] = reps[k];
                            self.state[i + len] = r;
                        }
                    }
                }
                let mut prev = MIN_MATCH - 1;
                for &(l, d) in &ms {
                    let l = l as usize;
                    let (slot, r) = self.slot_for(d, &reps);
                    let footer = if slot < 3 { 0 } else { u32::from(self.t.extra[slot]) * BIT };
                    for len in prev + 1..=l {
                        let c = base + footer + self.model.len_part(slot, len);
                        if c < self.price[i + len] {
                            self.price[i + len] = c;
                            self.from_len[i + len] = len as u32;
                            self.from_dist[i + len] = d;
                            self.state[i + len] = r;
                        }
                    }
                    prev = l;
                }
                self.matches = ms;
                i += 1;
            }
            // Walk back from the window's end.
            let end = match forced {
                Some((k, _, _)) => k,
                None => n,
            };
            let mut path = Vec::new();
            let mut k = end;
            while k > 0 {
                let l = self.from_len[k] as usize;
                path.push((k - l, l, self.from_dist[k]));
                k -= l;
            }
            for &(at, l, d) in path.iter().rev() {
                if d == 0 {
                    out.push(Item::Lit(self.buf[start + at]));
                } else {
                    out.push(Item::Match { len: l as u32, dist: d });
                }
            }
            self.reps = self.state[end];
            pos = start + end;
            if let Some((_, l, d)) = forced {
                out.push(Item::Match { len: l, dist: d });
                self.reps = self.slot_for(d, &self.reps).1;
                // `pos` itself was inserted by the search; insert the rest of the match
                // (inside a long one every fourth position: the region is also in the
                // buffer where the match came from, and the long-key chain still finds
                // any later match of it that is longer than its key).
                let step = if l as usize > 64 && !self.dense { 4 } else { 1 };
                for q in pos + 1..pos + l as usize {
                    if step == 1 || q - pos < 8 || q % step == 0 {
                        self.finder.insert(self.buf, q);
                    }
                }
                pos += l as usize;
            }
        }
    }
}

/// Symbol statistics of a run of items.
#[derive(Clone)]
struct Stats {
    main: Vec<u32>,
    len: Vec<u32>,
    aligned: [u32; 8],
    /// Footer bits of verbatim coding, and of the aligned symbols' share.
    extra_bits: u64,
    aligned_uses: u64,
    ext_bits: u64,
}

impl Stats {
    fn new(main_size: usize) -> Stats {
        Stats {
            main: vec![0; main_size],
            len: vec![0; LEN_SYMBOLS],
            aligned: [0; 8],
            extra_bits: 0,
            aligned_uses: 0,
            ext_bits: 0,
        }
    }
    fn add(&mut self, c: &Coded) {
        self.main[usize::from(c.main)] += 1;
        if let Some(l) = c.len_sym {
            self.len[usize::from(l)] += 1;
        }
        self.extra_bits += u64::from(c.extra);
        if c.extra >= 3 {
            self.aligned[(c.footer & 7) as usize] += 1;
            self.aligned_uses += 1;
        }
        if let Some(e) = c.ext {
            self.ext_bits += u64::from(ext_bits(e).1);
        }
    }
    fn merge(&mut self, o: &Stats) {
        for (a, b) in self.main.iter_mut().zip(&o.main) {
            *a += b;
        }
        for (a, b) in self.len.iter_mut().zip(&o.len) {
            *a += b;
        }
        for (a, b) in self.aligned.iter_mut().zip(&o.aligned) {
            *a += b;
        }
        self.extra_bits += o.extra_bits;
        self.aligned_uses += o.aligned_uses;
        self.ext_bits += o.ext_bits;
    }
    /// Estimated bits: entropy of the symbols, footers, and a tree cost per used symbol.
    fn estimate(&self) -> f64 {
        let ent = |f: &[u32]| -> (f64, usize) {
            let t: f64 = f.iter().map(|&x| f64::from(x)).sum();
            let mut bits = 0.0;
            let mut used = 0;
            for &x in f {
                if x > 0 {
                    bits += f64::from(x) * (t / f64::from(x)).log2();
                    used += 1;
                }
            }
            (bits, used)
        };
        let (a, ua) = ent(&self.main);
        let (b, ub) = ent(&self.len);
        a + b + self.extra_bits as f64 + self.ext_bits as f64 + 4.0 * (ua + ub) as f64 + 200.0
    }
}

// ---------------------------------------------------------------------------------------
// Tree transmission

/// Pre-tree tokens for lengths `new[from..to]` against `prev[from..to]`.
fn length_tokens(prev: &[u8], new: &[u8], from: usize, to: usize) -> Vec<(u8, u32, u32)> {
    // (symbol, extra value, extra bits); symbol 19 is followed by its own delta token.
    let delta = |i: usize, v: u8| ((17 + u32::from(prev[i]) - u32::from(v)) % 17) as u8;
    let mut t = Vec::new();
    let mut i = from;
    while i < to {
        let v = new[i];
        let mut r = 1;
        while i + r < to && new[i + r] == v {
            r += 1;
        }
        if v == 0 && r >= 20 {
            let k = r.min(51);
            t.push((18, (k - 20) as u32, 5));
            i += k;
        } else if v == 0 && r >= 4 {
            let k = r.min(19);
            t.push((17, (k - 4) as u32, 4));
            i += k;
        } else if r >= 4 {
            let k = r.min(5);
            t.push((19, (k - 4) as u32, 1));
            t.push((delta(i, v), 0, 0));
            i += k;
        } else {
            t.push((delta(i, v), 0, 0));
            i += 1;
        }
    }
    t
}

fn write_lengths(w: &mut Bits, prev: &[u8], new: &[u8], from: usize, to: usize) {
    let toks = length_tokens(prev, new, from, to);
    let mut f = [0u32; 20];
    for &(s, _, _) in &toks {
        f[usize::from(s)] += 1;
    }
    let pl = huffman_lengths(&f, 15);
    let pc = canonical_codes(&pl);
    for &l in &pl {
        w.put(u32::from(l), 4);
    }
    for &(s, v, k) in &toks {
        w.put(u32::from(pc[usize::from(s)]), u32::from(pl[usize::from(s)]));
        w.put(v, k);
    }
}

/// Encode `new` against `reference`. Returns the LZX DELTA stream (chunks with their size
/// prefixes) and statistics.
pub fn encode(reference: &[u8], new: &[u8], opts: &LzxOptions) -> Result<(Vec<u8>, LzxStats)> {
    let r = reference.len();
    let total = (r as u64).div_ceil(CHUNK as u64) * CHUNK as u64 + new.len() as u64;
    let (slots, window) = slots_for(total, opts.large_window).map_err(|_| {
        Error::new(
            ErrorKind::Limit,
            format!(
                "old file ({r} bytes, rounded up to 32 KiB) plus new file ({} bytes) exceed the LZX DELTA window limit of {} MiB; interleaved streams are not written",
                new.len(),
                if opts.large_window { 32 } else { 8 }
            ),
        )
    })?;
    let (base, extra) = position_tables(slots);
    let max_formatted = u64::from(base[slots - 1]) + (1u64 << extra[slots - 1]) - 1;
    let max_dist = (max_formatted - 2) as usize;
    let main_size = 256 + 8 * slots;
    let mut stats = LzxStats { window, position_slots: slots, e8: opts.e8_size.is_some(), ..Default::default() };
    if new.is_empty() {
        // One chunk of 16 zero bits (no E8 translation, nothing else): a stream that
        // decodes to nothing, since an empty stream means "no data" in PA19.
        return Ok((vec![2, 0, 0, 0], stats));
    }
    let mut buf = Vec::with_capacity(r + new.len() + 8);
    buf.extend_from_slice(reference);
    buf.extend_from_slice(new);
    if let Some(size) = opts.e8_size {
        e8_forward(&mut buf[r..], size);
    }
    let (_, _, nice) = opts.effort.params();
    let mut finder = Finder::new(buf.len(), opts.effort);
    for p in 0..r {
        finder.insert(&buf, p);
    }
    let t = Tables { base, extra };
    let mut parser = Parser {
        buf: &buf,
        finder,
        t,
        max_dist,
        nice,
        dense: opts.effort == Effort::Best,
        model: Model::new(main_size),
        reps: [1, 1, 1],
        price: vec![INF; CHUNK.min(new.len()) + 1],
        from_len: vec![0; CHUNK.min(new.len()) + 1],
        from_dist: vec![0; CHUNK.min(new.len()) + 1],
        state: vec![[1, 1, 1]; CHUNK.min(new.len()) + 1],
        matches: Vec::new(),
    };
    // Parse chunk by chunk; code the items against the running repeat state. With two
    // passes the second parse prices every symbol by the code lengths of the block its
    // chunk fell into in the first.
    let n = new.len();
    let nchunks = n.div_ceil(CHUNK);
    let passes = if opts.effort == Effort::Best { 2 } else { 1 };
    let fresh = if passes > 1 { Some(parser.finder.clone()) } else { None };
    let mut chunk_items: Vec<Vec<Coded>> = Vec::new();
    let mut chunk_stats: Vec<Stats> = Vec::new();
    let mut counts = LzxStats::default();
    for pass in 0..passes {
        let prices = if pass > 0 {
            let groups = group_chunks(&chunk_stats);
            let mut per_chunk = vec![0usize; nchunks];
            let mut tables = Vec::new();
            for (g, &(g0, g1)) in groups.iter().enumerate() {
                let mut st = chunk_stats[g0].clone();
                for c in &chunk_stats[g0 + 1..g1] {
                    st.merge(c);
                }
                tables.push((huffman_lengths(&st.main, 16), huffman_lengths(&st.len, 16)));
                per_chunk[g0..g1].fill(g);
            }
            if let Some(f) = &fresh {
                parser.finder = f.clone();
            }
            parser.reps = [1, 1, 1];
            Some((per_chunk, tables))
        } else {
            None
        };
        chunk_items = Vec::with_capacity(nchunks);
        chunk_stats = Vec::with_capacity(nchunks);
        counts = LzxStats::default();
        let mut reps = [1u32, 1, 1];
        let mut items = Vec::new();
        for c in 0..nchunks {
            let c0 = r + c * CHUNK;
            let c1 = (c0 + CHUNK).min(r + n);
            items.clear();
            if let Some((per_chunk, tables)) = &prices {
                let (ml, ll) = &tables[per_chunk[c]];
                parser.model.set_lengths(ml, ll);
            } else if c == 0 {
                // Seed the cost model with a first parse of the first chunk that leaves the
                // finder as it was (nothing is inserted), then parse it for real.
                let mut seed = Vec::new();
                let saved = parser.reps;
                parser.finder.frozen = true;
                parser.chunk(c0, c1, &mut seed);
                parser.finder.frozen = false;
                parser.reps = saved;
                let mut rr = [1u32, 1, 1];
                let mut s = Stats::new(main_size);
                for it in &seed {
                    s.add(&code_item(*it, &mut rr, &parser.t));
                }
                parser.model.learn(&s.main, &s.len);
            }
            parser.chunk(c0, c1, &mut items);
            let mut s = Stats::new(main_size);
            let mut coded = Vec::with_capacity(items.len());
            let mut at = c0;
            for it in &items {
                let cd = code_item(*it, &mut reps, &parser.t);
                if let Item::Match { len, dist } = *it {
                    counts.matches += 1;
                    counts.matched_bytes += u64::from(len);
                    if (usize::from(cd.main) - 256) / 8 < 3 {
                        counts.repeat_matches += 1;
                    }
                    if len >= 257 {
                        counts.long_matches += 1;
                    }
                    if at - (dist as usize) < r {
                        counts.reference_matches += 1;
                    }
                    at += len as usize;
                } else {
                    counts.literals += 1;
                    at += 1;
                }
                s.add(&cd);
                coded.push(cd);
            }
            if prices.is_none() {
                parser.model.learn(&s.main, &s.len);
            }
            chunk_items.push(coded);
            chunk_stats.push(s);
        }
    }
    stats.literals = counts.literals;
    stats.matches = counts.matches;
    stats.repeat_matches = counts.repeat_matches;
    stats.long_matches = counts.long_matches;
    stats.reference_matches = counts.reference_matches;
    stats.matched_bytes = counts.matched_bytes;
    // Group chunks into blocks.
    let mut groups = group_chunks(&chunk_stats);
    let mut out = write_stream(&chunk_items, &chunk_stats, &groups, main_size, opts, &mut stats, n);
    if out.is_none() {
        // A chunk overflowed its 16-bit size: one block per chunk keeps each chunk's codes
        // fitted to its own symbols.
        groups = (0..nchunks).map(|c| (c, c + 1)).collect();
        stats.verbatim_blocks = 0;
        stats.aligned_blocks = 0;
        out = write_stream(&chunk_items, &chunk_stats, &groups, main_size, opts, &mut stats, n);
    }
    let out = out.ok_or_else(|| Error::new(ErrorKind::Limit, "an LZX chunk does not fit its 16-bit size field"))?;
    stats.chunks = nchunks;
    Ok((out, stats))
}

/// Runs of at least `min_len` equal bytes between `new` and `reference`, found greedily
/// from the start of `new`: (offset in new, offset in reference, length).
pub(crate) fn correspondences(reference: &[u8], new: &[u8], min_len: usize) -> Vec<(usize, usize, usize)> {
    let r = reference.len();
    let mut buf = Vec::with_capacity(r + new.len());
    buf.extend_from_slice(reference);
    buf.extend_from_slice(new);
    let mut f = Finder::new(buf.len(), Effort::Fast);
    for p in 0..r {
        f.insert(&buf, p);
    }
    let mut out = Vec::new();
    let mut ms = Vec::new();
    let mut p = r;
    while p < buf.len() {
        let max_len = (buf.len() - p).min(MAX_MATCH);
        f.find(&buf, p, max_len, p, &mut ms);
        match ms.iter().rev().find(|m| (m.1 as usize) > p - r) {
            Some(&(l, d)) if l as usize >= min_len => {
                let l = l as usize;
                out.push((p - r, p - d as usize, l));
                for q in p + 1..p + l {
                    f.insert(&buf, q);
                }
                p += l;
            }
            _ => p += 1,
        }
    }
    out
}

/// Group chunks into blocks greedily while one block costs less than two.
fn group_chunks(cs: &[Stats]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let mut acc = cs[i].clone();
        let mut cost = acc.estimate();
        let mut j = i + 1;
        while j < cs.len() && j - i < 511 {
            let mut m = acc.clone();
            m.merge(&cs[j]);
            let mc = m.estimate();
            if mc <= cost + cs[j].estimate() {
                acc = m;
                cost = mc;
                j += 1;
            } else {
                break;
            }
        }
        groups.push((i, j));
        i = j;
    }
    groups
}

/// Write the stream; `None` if a chunk came out larger than 65535 bytes.
fn write_stream(
    items: &[Vec<Coded>],
    cs: &[Stats],
    groups: &[(usize, usize)],
    main_size: usize,
    opts: &LzxOptions,
    stats: &mut LzxStats,
    n: usize,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut prev_main = vec![0u8; main_size];
    let mut prev_len = vec![0u8; LEN_SYMBOLS];
    for &(g0, g1) in groups {
        let mut s = cs[g0].clone();
        for c in &cs[g0 + 1..g1] {
            s.merge(c);
        }
        let main_l = huffman_lengths(&s.main, 16);
        let len_l = huffman_lengths(&s.len, 16);
        let len_l = if s.len.iter().all(|&f| f == 0) { vec![0u8; LEN_SYMBOLS] } else { len_l };
        let al_l = huffman_lengths(&s.aligned, 7);
        // Aligned pays when the aligned symbols' codes save more than the tree's 24 bits.
        let aligned_gain: i64 =
            s.aligned.iter().zip(&al_l).map(|(&f, &l)| i64::from(f) * (3 - i64::from(l))).sum::<i64>() - 24;
        let aligned = s.aligned_uses > 0 && aligned_gain > 0;
        if aligned {
            stats.aligned_blocks += 1;
        } else {
            stats.verbatim_blocks += 1;
        }
        let main_c = canonical_codes(&main_l);
        let len_c = canonical_codes(&len_l);
        let al_c = canonical_codes(&al_l);
        let block_size = ((g1 * CHUNK).min(n) - g0 * CHUNK) as u32;
        for (c, chunk_items) in items.iter().enumerate().take(g1).skip(g0) {
            let mut w = Bits::new();
            if c == 0 {
                match opts.e8_size {
                    Some(sz) => {
                        w.put(1, 1);
                        w.put(sz >> 16, 16);
                        w.put(sz & 0xFFFF, 16);
                    }
                    None => w.put(0, 1),
                }
            }
            if c == g0 {
                w.put(if aligned { 2 } else { 1 }, 3);
                w.put(block_size >> 8, 16);
                w.put(block_size & 0xFF, 8);
                if aligned {
                    for &l in &al_l {
                        w.put(u32::from(l), 3);
                    }
                }
                write_lengths(&mut w, &prev_main, &main_l, 0, 256);
                write_lengths(&mut w, &prev_main, &main_l, 256, main_size);
                write_lengths(&mut w, &prev_len, &len_l, 0, LEN_SYMBOLS);
            }
            for cd in chunk_items {
                let m = usize::from(cd.main);
                w.put(u32::from(main_c[m]), u32::from(main_l[m]));
                if let Some(l) = cd.len_sym {
                    w.put(u32::from(len_c[usize::from(l)]), u32::from(len_l[usize::from(l)]));
                }
                if aligned && cd.extra >= 3 {
                    w.put(cd.footer >> 3, u32::from(cd.extra) - 3);
                    let a = (cd.footer & 7) as usize;
                    w.put(u32::from(al_c[a]), u32::from(al_l[a]));
                } else {
                    w.put(cd.footer, u32::from(cd.extra));
                }
                if let Some(e) = cd.ext {
                    let (v, k) = ext_bits(e);
                    w.put(v, k);
                }
            }
            let body = w.finish();
            if body.len() > 0xFFFF {
                return None;
            }
            out.extend_from_slice(&(body.len() as u16).to_le_bytes());
            out.extend_from_slice(&body);
        }
        prev_main = main_l;
        prev_len = len_l;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::lzx::decode;

    /// A small deterministic PRNG (xorshift64*).
    pub(crate) struct Rng(u64);
    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn opts(e8: Option<u32>) -> LzxOptions {
        LzxOptions { e8_size: e8, large_window: false, effort: Effort::Normal }
    }

    fn round(reference: &[u8], new: &[u8], o: &LzxOptions) -> usize {
        let (s, _) = encode(reference, new, o).unwrap();
        let d = decode(&s, reference, new.len(), o.large_window).unwrap();
        assert!(d == new, "round trip differs (ref {} new {})", reference.len(), new.len());
        s.len()
    }

    #[test]
    fn slots_of_formatted_offsets_match_the_tables() {
        let (base, extra) = position_tables(290);
        for f in 3u32..3_000_000 {
            let s = slot_of(f);
            assert!(f >= base[s] && u64::from(f) < u64::from(base[s]) + (1u64 << extra[s]), "f={f} slot={s}");
        }
    }

    #[test]
    fn huffman_lengths_are_limited_and_complete() {
        let mut f: Vec<u32> = (0..300).map(|i| 1 + (1u32 << (i % 30))).collect();
        f[7] = 0;
        let l = huffman_lengths(&f, 16);
        assert!(l.iter().all(|&x| x <= 16));
        assert_eq!(l[7], 0);
        let kraft: f64 = l.iter().filter(|&&x| x > 0).map(|&x| 0.5f64.powi(i32::from(x))).sum();
        assert!((kraft - 1.0).abs() < 1e-9, "{kraft}");
        assert_eq!(huffman_lengths(&[0, 5, 0], 7), vec![1, 1, 0]);
    }

    #[test]
    fn e8_forward_is_undone_by_the_decoder() {
        let mut r = Rng::new(3);
        let mut d: Vec<u8> = (0..100_000).map(|_| r.next() as u8).collect();
        for _ in 0..5000 {
            let p = r.below(d.len() - 5);
            d[p] = 0xE8;
            let v = r.below(300_000) as i32 - 150_000;
            d[p + 1..p + 5].copy_from_slice(&v.to_le_bytes());
        }
        let orig = d.clone();
        e8_forward(&mut d, 100_000);
        assert!(d != orig);
        let o = LzxOptions { e8_size: Some(100_000), large_window: false, effort: Effort::Fast };
        // Encode the original; the encoder translates and the decoder undoes it.
        round(&[], &orig, &o);
    }

    #[test]
    fn round_trips() {
        let mut r = Rng::new(1);
        let text: Vec<u8> =
            (0..200_000).map(|i| b"the quick brown fox jumps over the lazy dog "[(i * 7 + i / 13) % 44]).collect();
        let rand: Vec<u8> = (0..150_000).map(|_| r.next() as u8).collect();
        for (reference, new) in [
            (&b""[..], &b"a"[..]),
            (&b""[..], &b"ab"[..]),
            (&b"abc"[..], &b"abcabcabc"[..]),
            (&rand[..1000], &rand[..1000]),
            (&rand[..], &rand[..]),
            (&text[..], &text[5..]),
            (&b""[..], &text[..]),
            (&rand[..70_000], &rand[30_000..]),
        ] {
            round(reference, new, &opts(None));
            round(reference, new, &opts(Some(new.len() as u32)));
        }
        // A new file equal to the reference compresses to almost nothing.
        let n = round(&rand, &rand, &opts(None));
        assert!(n < 200, "{n}");
        // Long matches (LZX DELTA extended lengths) and every effort.
        let zeros = vec![0u8; 100_000];
        for e in [Effort::Fast, Effort::Normal, Effort::Best] {
            round(&rand[..5000], &zeros, &LzxOptions { e8_size: None, large_window: false, effort: e });
        }
    }

    #[test]
    fn edits_cost_little() {
        let mut r = Rng::new(9);
        let old: Vec<u8> = (0..300_000).map(|_| r.next() as u8).collect();
        let mut new = old.clone();
        for _ in 0..300 {
            let p = r.below(new.len());
            new[p] = r.next() as u8;
        }
        new.splice(1000..1000, (0..500).map(|_| r.next() as u8));
        new.drain(200_000..200_100);
        let n = round(&old, &new, &opts(None));
        assert!(n < 3000, "{n}");
    }
}
