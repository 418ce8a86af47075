//! Patches (.msp) and transforms (.mst): reading, choosing the transforms that target a
//! package, applying them, and locating the files a patch carries.

pub mod patch;
pub mod transform;

pub use patch::*;
pub use transform::{apply, check_applicable, ApplyOptions, ApplyStats, Transform, TransformInfo};
