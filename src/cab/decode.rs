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
    Lzx(Box<lzxd::Lzxd>),
    /// Quantum.
    Quantum(Box<Quantum>),
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
            Compression::MsZip => Decoder::MsZip(Box::new(MsZip {
                inflate: flate2::Decompress::new(false),
                history: Vec::new(),
            })),
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
                    _ => {
                        return Err(Error::format(format!(
                            "LZX window of {window_bits} bits is outside 15..21"
                        )))
                    }
                };
                Decoder::Lzx(Box::new(lzxd::Lzxd::new(w)))
            }
            Compression::Quantum { window_bits, .. } => {
                Decoder::Quantum(Box::new(Quantum::new(window_bits)?))
            }
            Compression::Unknown { raw } => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("unknown compression type 0x{raw:04x}"),
                ))
            }
        })
    }

    /// Decode one block of compressed `input` into exactly `out_len` bytes, replacing
    /// the contents of `out`.
    pub fn decode(&mut self, input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        if out_len > MAX_BLOCK {
            return Err(Error::format(format!(
                "block declares {out_len} uncompressed bytes (at most {MAX_BLOCK})"
            )));
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
                let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    l.decompress_next(input, out_len).map(|s| s.to_vec())
                }));
                match res {
                    Ok(Ok(data)) if data.len() == out_len => out.extend_from_slice(&data),
                    Ok(Ok(data)) => {
                        return Err(Error::format(format!(
                            "LZX block gave {} bytes, expected {out_len}",
                            data.len()
                        )))
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
                    return Err(Error::format(format!(
                        "MSZIP block ends early ({produced} of {out_len} bytes)"
                    )));
                }
                _ => {}
            }
        }
        if produced != out_len {
            return Err(Error::format(format!(
                "MSZIP block gave {produced} bytes, expected {out_len}"
            )));
        }
        out.truncate(produced);
        // Keep the last 32 KiB of output as the next block's dictionary.
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
        Ok(())
    }
}
