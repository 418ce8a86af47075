//! Binary delta patches: PA19 (PatchAPI), with our own LZX DELTA decoder.

mod header;
pub mod lzx;
pub mod pa19;
pub mod pe;
