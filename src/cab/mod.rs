//! Cabinet (.cab) reading: the container, cabinet sets and the four compression methods.
//!
//! The `cab` crate is used only to *write* cabinets (fixtures) and as a cross-check in
//! tests: reading needs what it lacks (decode each folder once, sets, Quantum).

mod checksum;
mod decode;
mod header;
mod quantum;
mod set;

pub(crate) use checksum::block_checksum;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub use checksum::block_checksum as testing_block_checksum;
pub use decode::{Decoder, MAX_BLOCK};
pub use header::{
    dos_to_unix, CabFile, CabFolder, CabHeader, Compression, ATTR_NAME_IS_UTF, FLAG_NEXT_CABINET, FLAG_PREV_CABINET,
    FLAG_RESERVE_PRESENT, IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_PREV_AND_NEXT, IFOLD_CONTINUED_TO_NEXT,
};
pub(crate) use header::{signature_area, CabSignatureArea};
pub(crate) use set::{extract_folder, find_beside, search_cabinet_in, EntrySink, Span};
pub use set::{
    read_header, CabResolver, CabSet, CabSource, DirResolver, FileSource, LogicalFolder, MemSource, NoResolver,
    OpenCab, ReadSeek, Unreachable, MAX_CHAIN,
};
