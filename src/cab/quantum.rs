//! Quantum decompression (the arithmetic-coded LZ77 method some older cabinets use).
//!
//! No crate decodes Quantum, so this is our own decoder. Each CFDATA block is one frame:
//! the arithmetic coder restarts at every block, while the adaptive models and the
//! window carry over for the whole folder.

use crate::error::{Error, Result};

const POSITION_BASE: [u32; 42] = [
    0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144,
    8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304, 131072, 196608, 262144, 393216, 524288, 786432, 1048576,
    1572864,
];
const EXTRA_BITS: [u8; 42] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15,
    16, 16, 17, 17, 18, 18, 19, 19,
];
const LENGTH_BASE: [u32; 27] =
    [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 18, 22, 26, 30, 38, 46, 54, 62, 78, 94, 110, 126, 158, 190, 222, 254];
const LENGTH_EXTRA: [u8; 27] = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

/// An adaptive frequency model: symbols sorted by cumulative frequency, with a zero
/// sentinel at the end.
#[derive(Clone)]
struct Model {
    shifts_left: u32,
    syms: Vec<u16>,
    cumfreq: Vec<u16>,
}

impl Model {
    fn new(start: u16, len: u16) -> Model {
        let n = usize::from(len);
        let mut syms = Vec::with_capacity(n + 1);
        let mut cumfreq = Vec::with_capacity(n + 1);
        for i in 0..=len {
            syms.push(start + i);
            cumfreq.push(len - i);
        }
        Model { shifts_left: 4, syms, cumfreq }
    }

    fn entries(&self) -> usize {
        self.syms.len() - 1
    }

    fn update(&mut self) {
        let n = self.entries();
        self.shifts_left -= 1;
        if self.shifts_left > 0 {
            for i in (0..n).rev() {
                self.cumfreq[i] >>= 1;
                if self.cumfreq[i] <= self.cumfreq[i + 1] {
                    self.cumfreq[i] = self.cumfreq[i + 1] + 1;
                }
            }
        } else {
            self.shifts_left = 50;
            for i in 0..n {
                // cumulative to plain frequencies, halved, never zero
                self.cumfreq[i] = self.cumfreq[i].saturating_sub(self.cumfreq[i + 1]);
                self.cumfreq[i] += 1;
                self.cumfreq[i] >>= 1;
            }
            // sort by frequency, highest first (selection order as the format expects)
            for i in 0..n.saturating_sub(1) {
                for j in i + 1..n {
                    if self.cumfreq[i] < self.cumfreq[j] {
                        self.cumfreq.swap(i, j);
                        self.syms.swap(i, j);
                    }
                }
            }
            for i in (0..n).rev() {
                self.cumfreq[i] += self.cumfreq[i + 1];
            }
        }
    }
}

/// MSB-first bit reader over one block; reads past the end yield zero bits.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
    overrun: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0, buf: 0, count: 0, overrun: 0 }
    }
    fn fill(&mut self) {
        while self.count <= 56 {
            let b = if self.pos < self.data.len() {
                self.data[self.pos]
            } else {
                self.overrun += 1;
                0
            };
            self.pos += 1;
            self.buf |= u64::from(b) << (56 - self.count);
            self.count += 8;
        }
    }
    fn read(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.count < n {
            self.fill();
        }
        let v = (self.buf >> (64 - n)) as u32;
        self.buf <<= n;
        self.count -= n;
        v
    }
}

/// Output bytes of one Quantum frame; the arithmetic coder restarts at each frame.
pub const FRAME_SIZE: usize = 32768;

/// The Quantum decoder state for one folder.
pub struct Quantum {
    window: Vec<u8>,
    window_mask: usize,
    wpos: usize,
    literal: [Model; 4],
    pos4: Model,
    pos5: Model,
    pos6: Model,
    len6: Model,
    selector: Model,
    /// Bytes of the current frame still to decode.
    frame_todo: usize,
    /// Coder state carried when a frame continues into the next block.
    coder: Option<Coder>,
    /// Bytes decoded past the end of the previous block (a match may overrun it).
    pending: Vec<u8>,
}

#[derive(Clone, Copy)]
struct Coder {
    h: u16,
    l: u16,
    c: u16,
}

impl Quantum {
    /// A decoder for a window of `1 << window_bits` bytes (10..=21).
    pub fn new(window_bits: u8) -> Result<Quantum> {
        if !(10..=21).contains(&window_bits) {
            return Err(Error::format(format!("Quantum window of {window_bits} bits is outside 10..21")));
        }
        let size = 1usize << window_bits;
        let i = u16::from(window_bits) * 2;
        Ok(Quantum {
            window: vec![0; size],
            window_mask: size - 1,
            wpos: 0,
            literal: [Model::new(0, 64), Model::new(64, 64), Model::new(128, 64), Model::new(192, 64)],
            pos4: Model::new(0, i.min(24)),
            pos5: Model::new(0, i.min(36)),
            pos6: Model::new(0, i),
            len6: Model::new(0, 27),
            selector: Model::new(0, 7),
            frame_todo: FRAME_SIZE,
            coder: None,
            pending: Vec::new(),
        })
    }

    fn symbol(model: &mut Model, coder: &mut Coder, bits: &mut Bits<'_>) -> Result<u16> {
        let range = u32::from(coder.h.wrapping_sub(coder.l)) + 1;
        let total = u32::from(model.cumfreq[0]);
        if total == 0 {
            return Err(Error::format("Quantum model has a zero total frequency"));
        }
        let symf = (((u32::from(coder.c.wrapping_sub(coder.l)) + 1) * total).wrapping_sub(1) / range) & 0xFFFF;
        let n = model.entries();
        let mut i = 1;
        while i < n {
            if u32::from(model.cumfreq[i]) <= symf {
                break;
            }
            i += 1;
        }
        let sym = model.syms[i - 1];
        let hi = u32::from(model.cumfreq[i - 1]);
        let lo = u32::from(model.cumfreq[i]);
        coder.h = (u32::from(coder.l) + (hi * range) / total).wrapping_sub(1) as u16;
        coder.l = (u32::from(coder.l) + (lo * range) / total) as u16;
        for f in model.cumfreq[..i].iter_mut() {
            *f = f.wrapping_add(8);
        }
        if model.cumfreq[0] > 3800 {
            model.update();
        }
        loop {
            if (coder.l & 0x8000) != (coder.h & 0x8000) {
                if (coder.l & 0x4000) != 0 && (coder.h & 0x4000) == 0 {
                    coder.c ^= 0x4000;
                    coder.l &= 0x3FFF;
                    coder.h |= 0x4000;
                } else {
                    break;
                }
            }
            coder.l <<= 1;
            coder.h = (coder.h << 1) | 1;
            coder.c = (coder.c << 1) | bits.read(1) as u16;
        }
        Ok(sym)
    }

    /// Decode one CFDATA block into exactly `out_len` bytes appended to `out`. Frames are
    /// 32 KiB of output; a match may run past the block's end, and those bytes open the
    /// next block's output.
    pub fn decode_block(&mut self, input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Result<()> {
        let mut bits = Bits::new(input);
        let take = self.pending.len().min(out_len);
        out.extend_from_slice(&self.pending[..take]);
        self.pending.drain(..take);
        let mut produced = take;
        let mut coder = match self.coder.take() {
            Some(c) => c,
            None => Coder { h: 0xFFFF, l: 0, c: bits.read(16) as u16 },
        };
        while produced < out_len {
            if self.frame_todo == 0 {
                // Frame complete inside the block: realign to the next 0xFF trailer.
                let r = bits.count % 8;
                bits.read(r);
                loop {
                    if bits.overrun > 0 {
                        return Err(Error::format("Quantum frame trailer not found"));
                    }
                    if bits.read(8) == 0xFF {
                        break;
                    }
                }
                self.frame_todo = FRAME_SIZE;
                coder = Coder { h: 0xFFFF, l: 0, c: bits.read(16) as u16 };
            }
            let sel = Self::symbol(&mut self.selector, &mut coder, &mut bits)?;
            let emit = |q: &mut Quantum, b: u8, produced: &mut usize, out: &mut Vec<u8>| {
                q.window[q.wpos] = b;
                q.wpos = (q.wpos + 1) & q.window_mask;
                if *produced < out_len {
                    out.push(b);
                    *produced += 1;
                } else {
                    q.pending.push(b);
                }
            };
            if sel < 4 {
                let m = &mut self.literal[usize::from(sel)];
                let sym = Self::symbol(m, &mut coder, &mut bits)?;
                emit(self, sym as u8, &mut produced, out);
                self.frame_todo -= 1;
            } else {
                let (len, model) = match sel {
                    4 => (3u32, &mut self.pos4),
                    5 => (4u32, &mut self.pos5),
                    6 => {
                        let s = usize::from(Self::symbol(&mut self.len6, &mut coder, &mut bits)?);
                        let extra = bits.read(u32::from(LENGTH_EXTRA[s]));
                        (LENGTH_BASE[s] + extra + 5, &mut self.pos6)
                    }
                    _ => return Err(Error::format(format!("Quantum selector {sel} is invalid"))),
                };
                let s = usize::from(Self::symbol(model, &mut coder, &mut bits)?);
                if s >= POSITION_BASE.len() {
                    return Err(Error::format("Quantum position slot out of range"));
                }
                let offset = (POSITION_BASE[s] + bits.read(u32::from(EXTRA_BITS[s])) + 1) as usize;
                if offset > self.window.len() {
                    return Err(Error::format("Quantum match reaches beyond the window"));
                }
                let len = len as usize;
                if len > self.frame_todo {
                    return Err(Error::format("Quantum match runs past the end of its frame"));
                }
                self.frame_todo -= len;
                let mut src = (self.wpos + self.window.len() - offset) & self.window_mask;
                for _ in 0..len {
                    let b = self.window[src];
                    src = (src + 1) & self.window_mask;
                    emit(self, b, &mut produced, out);
                }
            }
            if bits.overrun > 64 {
                return Err(Error::format("Quantum data ends before the block is complete"));
            }
        }
        if self.frame_todo == 0 {
            self.frame_todo = FRAME_SIZE;
            self.coder = None;
        } else {
            self.coder = Some(coder);
        }
        Ok(())
    }
}
