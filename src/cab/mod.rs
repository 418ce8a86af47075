//! Cabinet (.cab) reading: the container, cabinet sets and the four compression methods.
//!
//! The `cab` crate is used only to *write* cabinets (fixtures) and as a cross-check in
//! tests: reading needs what it lacks (decode each folder once, sets, Quantum).

mod checksum;
mod decode;
mod header;
mod quantum;
mod set;

pub use checksum::{block_checksum, checksum};
pub use decode::{Decoder, MAX_BLOCK};
pub use header::*;
pub use quantum::Quantum;
pub use set::*;
