//! Binary delta patches: PA19 (PatchAPI), with our own LZX DELTA decoder, PE
//! normalisation and RVA-map transforms.

mod header;
mod lzx;
mod lzx_encode;
mod pa19;
mod pa19_write;
mod pe;

pub use header::{opt, parse, Header, Ignore, OldFile, Retain, MAX_NEW};
#[cfg(feature = "testing")]
pub(crate) use lzx::decode as lzx_decode;
pub use lzx_encode::{e8_forward, encode as lzx_encode, Effort, LzxOptions, LzxStats};
pub use pa19::apply;
pub use pa19_write::{create, header_only, CreateInfo, CreateOptions, E8Mode, OldInfo, OldRanges, RiftMode, Trial};
