//! Binary delta patches: PA19 (PatchAPI), with our own LZX DELTA decoder, PE
//! normalisation and RVA-map transforms.

mod header;
mod lzx;
mod pa19;
mod pe;

pub use header::{opt, parse, Header, Ignore, OldFile, Retain, MAX_NEW};
#[cfg(feature = "testing")]
pub(crate) use lzx::decode as lzx_decode;
pub use pa19::apply;
