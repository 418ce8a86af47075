//! Package writers: cabinets through the `cab` crate, cabinet sets that span files
//! (ours: no crate writes them), and installer databases through the `msi` crate.
//! `cargo xtask fixtures` and `hotfixkit build` use these; so tests grade our readers
//! against third-party writers wherever one exists.

mod cabw;
mod dir;
mod msiw;
mod mst;
mod pa19w;
mod pe;

pub use cabw::*;
pub use dir::*;
pub use msiw::*;
pub use mst::*;
pub use pa19w::*;
pub use pe::*;
