//! Package writers: an installer package from a folder (`build msi`), the transform
//! between two packages (`build mst`), a patch (`build msp`), a cabinet of a folder.
//! What users build is written by our own writers (tables, string pools, transforms,
//! MSZIP cabinets streamed as they are read) into compound files made with the `cfb`
//! crate. The fixtures' low-level writers go through the `cab` and `msi` crates (then
//! made reproducible byte for byte); cabinet sets that span files, hand-made patches and
//! PE images for fixtures are ours.

mod cab_stream;
mod cabinet;
#[cfg(feature = "testing")]
mod database;
#[cfg(feature = "testing")]
mod delta;
#[cfg(feature = "testing")]
mod fixture_patch;
mod folder;
mod ids;
mod msi;
mod msp;
mod mst;
mod package_writer;
mod patch_delta;
mod patch_spec;
mod patch_target;
#[cfg(feature = "testing")]
mod pe_image;
mod sequences;
mod transform;
mod upgraded;

pub use cabinet::CabCompression;
pub use folder::build_cab;
pub use msi::{build_msi, MsiReport, PackageDescription, ProductInfo, MAX_INPUT};
pub use msp::{build_msp, DEFAULT_SUPPRESS, DEFAULT_VALIDATION};
pub use mst::{build_mst, TableCount, TransformReport, MST_DEFAULT_VALIDATION};
pub use patch_spec::{
    DeltaMode, DeltaOptions, PatchMetadata, PatchReport, PatchRequest, PatchedFile, Progress, TargetReport, Upgraded,
};

/// The low-level writers the fixtures are made with (the `testing` feature).
#[cfg(feature = "testing")]
pub(crate) mod fixtures {
    pub use super::cabinet::{dos_datetime, write_cab, write_spanned_stored, CabCompression, CabInput};
    pub use super::database::{
        clear_cfb_root_times, std_columns, to_v3, write_database, Cell, ColSpec, DatabaseSpec, DbKind, PackageFile,
        PackageSpec, SummarySpec, TableSpec,
    };
    pub use super::delta::{crc_fixup, write_pa19, write_pa19_header};
    pub use super::fixture_patch::{pad_to, write_patch, Op, PatchSpec, TableOps};
    pub use super::pe_image::{version_resource, write_pe, PeSpec};
    pub use super::transform::{transform_streams, write_mst, Record, TableRecords};
    pub use crate::msi::summary::{write_summary as summary_stream, SummaryValue as Prop};
}
