//! What to extract, and planning it: every input kind is planned here and nowhere else.

use super::patched::{plan_patch_alone, plan_patched};
use super::plan::{
    check_limits, filter_entries, plan_cab, plan_msi_consume, Limits, MsiPlanOptions, Plan, PLAIN_MSI_TABLES,
};
use crate::error::ResultExt;
use crate::error::{Error, ErrorKind, Result};
use crate::msi::{Database, PackageKind};
use crate::package::InputKind;
use crate::random_access::Shared;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to extract: an input, the transforms and patches to apply to it first, which
/// files, and the limits the plan must stay within.
///
/// ```
/// let req = hotfixkit::ExtractRequest::new("product.msi")
///     .patch("fix.msp")
///     .files(["setup.exe"]);
/// assert_eq!(req.patches.len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ExtractRequest {
    /// The input: a cabinet (any part of a set), an installer package, a merge module or
    /// a patch. With [`ExtractRequest::data`] set, only its name.
    pub input: PathBuf,
    /// The input's bytes, when it is not a file (a package nested in another, say):
    /// other cabinets of its set and external cabinets are then not looked for.
    pub data: Option<std::sync::Arc<Vec<u8>>>,
    /// Transforms (.mst) applied to the package first, in order.
    pub transforms: Vec<PathBuf>,
    /// Patches (.msp) applied after the transforms, in order (`msiexec /a PKG /p P`).
    pub patches: Vec<PathBuf>,
    /// Apply transforms and patches even when their validation fails.
    pub force_apply: bool,
    /// Only the files whose File key, file name or path is one of these
    /// (case-insensitive); all when empty. A partial extraction writes no
    /// administrative copy of the package.
    pub files: Vec<String>,
    /// Limits checked on the plan before anything is written.
    pub limits: Limits,
    /// Short file and folder names in the image (msiexec's SHORTFILENAMES): each
    /// `short|long` name pair gives its short half, and the package copy says so.
    pub short_names: bool,
}

impl ExtractRequest {
    /// Extract everything `input` holds.
    pub fn new(input: impl Into<PathBuf>) -> ExtractRequest {
        ExtractRequest { input: input.into(), ..Default::default() }
    }
    /// Extract everything an input held in memory holds; `name` names it in messages.
    pub fn from_bytes(name: impl Into<PathBuf>, data: Vec<u8>) -> ExtractRequest {
        ExtractRequest { input: name.into(), data: Some(std::sync::Arc::new(data)), ..Default::default() }
    }
    /// Apply a transform first.
    pub fn transform(mut self, t: impl Into<PathBuf>) -> Self {
        self.transforms.push(t.into());
        self
    }
    /// Apply a patch.
    pub fn patch(mut self, p: impl Into<PathBuf>) -> Self {
        self.patches.push(p.into());
        self
    }
    /// Only these files.
    pub fn files<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.files.extend(names.into_iter().map(Into::into));
        self
    }
    /// Use these limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Plan an extraction: open the input, apply transforms and patches, decide every output
/// file and its source, and check the limits. Nothing is written.
///
/// ```no_run
/// # fn main() -> hotfixkit::Result<()> {
/// let plan = hotfixkit::plan(&hotfixkit::ExtractRequest::new("product.msi"))?;
/// for e in plan.entries() {
///     println!("{} ({} bytes)", e.path, e.size);
/// }
/// # Ok(())
/// # }
/// ```
pub fn plan(req: &ExtractRequest) -> Result<Plan> {
    let path = req.input.as_path();
    let modified = !req.patches.is_empty() || !req.transforms.is_empty();
    let (src, dir): (Shared, Option<PathBuf>) = match &req.data {
        Some(d) => (d.clone(), None),
        None => {
            let dir = path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d });
            (Arc::new(crate::random_access::open_file(path)?), dir.map(Path::to_path_buf))
        }
    };
    let mut plan = match crate::package::sniff_source(path, &*src)? {
        InputKind::Cab => {
            if modified {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "transforms and patches apply to an installer package, not a cabinet",
                )
                .with_path(path));
            }
            plan_cab(crate::package::open_cabinet_source(path, dir, src)?)
        }
        InputKind::Cfb => plan_compound(path, dir, src, req, modified)?,
        _ => {
            return Err(Error::new(ErrorKind::Usage, "not a cabinet or Windows Installer package").with_path(path));
        }
    };
    filter_entries(&mut plan, &req.files)?;
    check_limits(&plan, &req.limits).at_path(path)?;
    if !req.files.is_empty() {
        plan.admin_package = None;
        plan.admin_source = None;
    }
    Ok(plan)
}

fn plan_compound(path: &Path, dir: Option<PathBuf>, src: Shared, req: &ExtractRequest, modified: bool) -> Result<Plan> {
    let only = if modified { None } else { Some(PLAIN_MSI_TABLES) };
    let mut db = Database::from_source(path, dir.clone(), src.clone(), only)?;
    let opts = MsiPlanOptions { short_names: req.short_names };
    match db.kind {
        PackageKind::Msi | PackageKind::Msm if !modified => {
            let plan = plan_msi_consume(&mut db, opts);
            // The package's tables and the planner's scratch state are gone by now.
            crate::heap::trim();
            plan
        }
        PackageKind::Msi => plan_patched(&db, &req.transforms, &req.patches, req.force_apply, opts),
        PackageKind::Msp if !modified => {
            // The patch's own tables are needed: read it whole.
            let patch = crate::msp::Patch::from_database(Database::from_source(path, dir, src, None)?)?;
            plan_patch_alone(&patch)
        }
        k => {
            let what = match k {
                PackageKind::Mst => "a transform (.mst)",
                PackageKind::Msp => "a patch (.msp) given with patches of its own",
                PackageKind::Msm => "a merge module given with transforms or patches",
                _ => "a compound file but not an installer package (unknown CLSID)",
            };
            Err(Error::new(
                ErrorKind::Usage,
                format!("{what}, which holds no files of its own; extract an installer package (with its patches) or a cabinet"),
            )
            .with_path(path))
        }
    }
}
