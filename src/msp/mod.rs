//! Patches (.msp) and transforms (.mst): reading, choosing the transforms that target a
//! package, applying them, and locating the files a patch carries.

mod patch;
mod transform;

pub use patch::{Patch, PatchInfo, PatchedDb};
pub use transform::{apply, check_applicable, suppress, validate, ApplyOptions, ApplyStats, Transform, TransformInfo};
