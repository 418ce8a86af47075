//! Binary delta patches: PA19 (PatchAPI), with our own LZX DELTA decoder.

pub mod lzx;
pub mod lzx_encode;
pub mod pa19;
pub mod pa19_write;
pub mod pe;
