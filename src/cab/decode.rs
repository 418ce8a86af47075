//! Per-folder block decoders: stored, MSZIP (flate2 raw inflate with the shared 32 KiB
//! history), LZX (the `lzxd` crate) and Quantum (ours).

use super::header::Compression;
use super::quantum::Quantum;
use crate::error::{Error, ErrorKind, Result};

/// Largest uncompressed size of one CFDATA block.
pub const MAX_BLOCK: usize = 32768;

/// Decoder state for one folder; feed it the blocks in order.
pub enum Decoder {
    /// Stored blocks.
    Stored,
    /// MSZIP.
    MsZip(Box<MsZip>),
    /// LZX.
    Lzx(Box<Lzx>),
    /// Quantum.
    Quantum(Box<Quantum>),
}

/// LZX state: the `lzxd` decoder plus what is needed to correct its E8 output.
pub struct Lzx {
    inner: lzxd::Lzxd,
    /// E8 translation size when the stream enables translation.
    e8: Option<i32>,
    /// Output position of the next chunk.
    pos: u64,
    /// Chunks decoded.
    chunks: u32,
}

/// Read the E8 header at the start of an LZX stream: one flag bit, then a 32-bit size,
/// from 16-bit little-endian words read most significant bit first.
fn lzx_e8_header(input: &[u8]) -> Option<i32> {
    let w =
        |i: usize| -> Option<u32> { Some(u32::from(u16::from_le_bytes([*input.get(2 * i)?, *input.get(2 * i + 1)?]))) };
    let bits = (u64::from(w(0)?) << 48) | (u64::from(w(1)?) << 32) | (u64::from(w(2)?) << 16) | u64::from(w(3)?);
    if bits >> 63 == 0 {
        return None;
    }
    Some(((bits >> 31) & 0xFFFF_FFFF) as u32 as i32)
}

/// `lzxd` 0.2 translates an absolute E8 operand of 0 as if it were negative (it yields
/// the translation size instead of minus the position). Scanning the chunk the same way
/// it does finds those operands again; they are rewritten to the correct value. An
/// untranslated operand equal to the translation size reads the same and is rewritten
/// too: that value cannot be told apart in the decoder's output.
fn fix_e8_zero(data: &mut [u8], chunk_pos: u64, ts: i32) {
    if data.len() <= 10 {
        return;
    }
    let mut i = 0usize;
    while i < data.len() {
        let Some(off) = data[i..].iter().position(|&b| b == 0xE8) else { break };
        let pos = i + off;
        if data.len() - pos <= 10 {
            break;
        }
        let v = i32::from_le_bytes([data[pos + 1], data[pos + 2], data[pos + 3], data[pos + 4]]);
        if v == ts {
            let cur = (chunk_pos + pos as u64) as i32;
            data[pos + 1..pos + 5].copy_from_slice(&cur.wrapping_neg().to_le_bytes());
        }
        i = pos + 5;
    }
}

/// MSZIP state: each block is a raw deflate stream that may refer to the previous
/// block's 32 KiB of output.
pub struct MsZip {
    inflate: flate2::Decompress,
    history: Vec<u8>,
}

impl Decoder {
    /// A decoder for `compression`.
    pub fn new(compression: Compression) -> Result<Decoder> {
        Ok(match compression {
            Compression::None => Decoder::Stored,
            Compression::MsZip => {
                Decoder::MsZip(Box::new(MsZip { inflate: flate2::Decompress::new(false), history: Vec::new() }))
            }
            Compression::Lzx { window_bits } => {
                use lzxd::WindowSize as W;
                let w = match window_bits {
                    15 => W::KB32,
                    16 => W::KB64,
                    17 => W::KB128,
                    18 => W::KB256,
                    19 => W::KB512,
                    20 => W::MB1,
                    21 => W::MB2,
                    _ => return Err(Error::format(format!("LZX window of {window_bits} bits is outside 15..21"))),
                };
                Decoder::Lzx(Box::new(Lzx { inner: lzxd::Lzxd::new(w), e8: None, pos: 0, chunks: 0 }))
            }
            Compression::Quantum { window_bits, .. } => Decoder::Quantum(Box::new(Quantum::new(window_bits)?)),
            Compression::Unknown { raw } => {
                return Err(Error::new(ErrorKind::Unsupported, format!("unknown compression type 0x{raw:04x}")))
            }
        })
    }

    /// Decode one block of compressed `input` into exactly `out_len` bytes, replacing
    /// the contents of `out`.
    pub fn decode(&mut self, input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        if out_len > MAX_BLOCK {
            return Err(Error::format(format!("block declares {out_len} uncompressed bytes (at most {MAX_BLOCK})")));
        }
        match self {
            Decoder::Stored => {
                if input.len() != out_len {
                    return Err(Error::format(format!(
                        "stored block holds {} bytes but declares {out_len}",
                        input.len()
                    )));
                }
                out.extend_from_slice(input);
            }
            Decoder::MsZip(z) => z.decode(input, out_len, out)?,
            Decoder::Lzx(l) => {
                if l.chunks == 0 {
                    l.e8 = lzx_e8_header(input);
                }
                let inner = &mut l.inner;
                let res = crate::contain::quietly(|| inner.decompress_next(input, out_len).map(|s| s.to_vec()));
                match res {
                    Ok(Ok(data)) if data.len() == out_len => {
                        out.extend_from_slice(&data);
                        if let Some(ts) = l.e8 {
                            if l.chunks < 32768 {
                                fix_e8_zero(out, l.pos, ts);
                            }
                        }
                        l.pos += out_len as u64;
                        l.chunks += 1;
                    }
                    Ok(Ok(data)) => {
                        return Err(Error::format(format!("LZX block gave {} bytes, expected {out_len}", data.len())))
                    }
                    Ok(Err(e)) => return Err(Error::format(format!("LZX data is corrupt ({e})"))),
                    Err(_) => return Err(Error::format("LZX data is corrupt (decoder fault)")),
                }
            }
            Decoder::Quantum(q) => q.decode_block(input, out_len, out)?,
        }
        Ok(())
    }
}

impl MsZip {
    fn decode(&mut self, input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Result<()> {
        if input.len() < 2 || &input[..2] != b"CK" {
            return Err(Error::format("MSZIP block does not start with the CK signature"));
        }
        if fast_inflate(&input[2..], out_len, out) {
            self.remember(out);
            return Ok(());
        }
        self.inflate.reset(false);
        if !self.history.is_empty() {
            self.inflate
                .set_dictionary(&self.history)
                .map_err(|e| Error::format(format!("MSZIP history rejected ({e})")))?;
        }
        out.resize(out_len, 0);
        let mut consumed = 0usize;
        let mut produced = 0usize;
        let data = &input[2..];
        loop {
            let before_in = self.inflate.total_in();
            let before_out = self.inflate.total_out();
            let status = self
                .inflate
                .decompress(&data[consumed..], &mut out[produced..], flate2::FlushDecompress::Finish)
                .map_err(|e| Error::format(format!("MSZIP data is corrupt ({e})")))?;
            consumed += (self.inflate.total_in() - before_in) as usize;
            produced += (self.inflate.total_out() - before_out) as usize;
            match status {
                flate2::Status::StreamEnd => break,
                _ if produced == out_len => {
                    // Output full: the stream must end here (one more call tells).
                    let mut probe = [0u8; 1];
                    let b_out = self.inflate.total_out();
                    let st = self
                        .inflate
                        .decompress(&data[consumed..], &mut probe, flate2::FlushDecompress::Finish)
                        .map_err(|e| Error::format(format!("MSZIP data is corrupt ({e})")))?;
                    if self.inflate.total_out() != b_out {
                        return Err(Error::format(format!(
                            "MSZIP block inflates to more than the declared {out_len} bytes"
                        )));
                    }
                    if st == flate2::Status::StreamEnd {
                        break;
                    }
                    return Err(Error::format("MSZIP block does not end where declared"));
                }
                _ if self.inflate.total_in() == before_in && self.inflate.total_out() == before_out => {
                    return Err(Error::format(format!("MSZIP block ends early ({produced} of {out_len} bytes)")));
                }
                _ => {}
            }
        }
        if produced != out_len {
            return Err(Error::format(format!("MSZIP block gave {produced} bytes, expected {out_len}")));
        }
        out.truncate(produced);
        self.remember(out);
        Ok(())
    }

    /// Keep the last 32 KiB of output as the next block's dictionary.
    fn remember(&mut self, out: &[u8]) {
        if out.len() >= MAX_BLOCK {
            self.history.clear();
            self.history.extend_from_slice(&out[out.len() - MAX_BLOCK..]);
        } else {
            self.history.extend_from_slice(out);
            if self.history.len() > MAX_BLOCK {
                let cut = self.history.len() - MAX_BLOCK;
                self.history.drain(..cut);
            }
        }
    }
}

thread_local! {
    static LIBDEFLATE: std::cell::RefCell<libdeflater::Decompressor> =
        std::cell::RefCell::new(libdeflater::Decompressor::new());
}

/// Inflate a whole MSZIP block's deflate data with libdeflate, which decodes a complete
/// buffer faster than a streaming inflater, as if no earlier output existed. True when
/// it gave exactly `out_len` bytes; otherwise (a back-reference into the previous block,
/// a block without a final marker, corrupt data) the streaming path decides, with the
/// history and with its own error messages. A block that decodes without the history
/// decodes to the same bytes with it, so the result is the same either way.
fn fast_inflate(data: &[u8], out_len: usize, out: &mut Vec<u8>) -> bool {
    out.resize(out_len, 0);
    LIBDEFLATE.with(|d| matches!(d.borrow_mut().deflate_decompress(data, out), Ok(n) if n == out_len))
}

thread_local! {
    static INFLATE: std::cell::RefCell<Option<flate2::Decompress>> = const { std::cell::RefCell::new(None) };
}

/// Inflate one MSZIP block on its own. With `dict = None` the block is decoded as if no
/// earlier output existed: a back-reference into the previous block then fails, and the
/// caller retries with the dictionary. A block that decodes without one decodes to the
/// same bytes with it, so independent blocks can be decoded in parallel.
pub fn inflate_mszip(input: &[u8], out_len: usize, dict: Option<&[u8]>) -> Result<Vec<u8>> {
    INFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let inflate = slot.get_or_insert_with(|| flate2::Decompress::new(false));
        let mut z = MsZip {
            inflate: std::mem::replace(inflate, flate2::Decompress::new(false)),
            history: dict.map(<[u8]>::to_vec).unwrap_or_default(),
        };
        let mut out = Vec::with_capacity(out_len);
        let r = z.decode(input, out_len, &mut out);
        *inflate = z.inflate;
        r.map(|_| out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8], dict: Option<&[u8]>) -> Vec<u8> {
        let mut c = flate2::Compress::new(flate2::Compression::best(), false);
        if let Some(d) = dict {
            c.set_dictionary(d).unwrap();
        }
        let mut out = Vec::with_capacity(data.len() + 64);
        c.compress_vec(data, &mut out, flate2::FlushCompress::Finish).unwrap();
        let mut block = b"CK".to_vec();
        block.extend_from_slice(&out);
        block
    }

    #[test]
    fn a_block_that_needs_history_fails_alone_and_decodes_with_it() {
        let first: Vec<u8> = (0..32768u32).map(|i| (i * 7 % 251) as u8).collect();
        let second = first[1000..5000].to_vec();
        let b1 = deflate(&first, None);
        let b2 = deflate(&second, Some(&first));
        assert_eq!(inflate_mszip(&b1, first.len(), None).unwrap(), first);
        assert!(inflate_mszip(&b2, second.len(), None).is_err(), "needs the previous block");
        assert_eq!(inflate_mszip(&b2, second.len(), Some(&first)).unwrap(), second);
        // The stateful decoder agrees.
        let mut d = Decoder::new(Compression::MsZip).unwrap();
        let mut out = Vec::new();
        d.decode(&b1, first.len(), &mut out).unwrap();
        d.decode(&b2, second.len(), &mut out).unwrap();
        assert_eq!(out, second);
    }
}
