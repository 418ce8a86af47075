//! Package writers: a cabinet or an installer package from a folder. Cabinets are
//! written through the `cab` crate and databases through the `msi` crate (then made
//! reproducible byte for byte); cabinet sets that span files, transforms, patches and
//! PE images for fixtures are ours.

mod cab_stream;
mod cabinet;
mod database;
#[cfg(feature = "testing")]
mod delta;
mod folder;
mod ids;
mod msp;
mod mst;
mod package_writer;
mod patch_spec;
mod patch_target;
#[cfg(feature = "testing")]
mod pe_image;
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
mod transform;
mod upgraded;

pub use cabinet::CabCompression;
pub use folder::{build_cab, build_msi, MAX_INPUT};
pub use msp::{build_msp, DEFAULT_SUPPRESS, DEFAULT_VALIDATION};
pub use mst::{build_mst, TableCount, TransformReport, MST_DEFAULT_VALIDATION};
pub use patch_spec::{PatchMetadata, PatchReport, PatchRequest, PatchedFile, Progress, TargetReport, Upgraded};

/// The low-level writers the fixtures are made with (the `testing` feature).
#[cfg(feature = "testing")]
pub(crate) mod fixtures {
    pub use super::cabinet::{dos_datetime, write_cab, write_spanned_stored, CabCompression, CabInput};
    pub use super::database::{
        clear_cfb_root_times, std_columns, to_v3, write_database, Cell, ColSpec, DatabaseSpec, DbKind, PackageFile,
        PackageSpec, SummarySpec, TableSpec,
    };
    pub use super::delta::{crc_fixup, write_pa19};
    pub use super::pe_image::{version_resource, write_pe, PeSpec};
    pub use super::transform::{
        pad_to, transform_streams, write_mst, write_patch, Op, PatchSpec, Record, TableOps, TableRecords,
    };
    pub use crate::msi::summary::{write_summary as summary_stream, SummaryValue as Prop};
}
