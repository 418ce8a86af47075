//! `hotfixkit stage PATH --layout L --out DIR`: the distribution-point layout.

use super::args::Command;
use super::{json_out, out, Ctx};
use anyhow::bail;
use hotfixkit::hotfix::{Layout, StageOptions};

pub fn run(ctx: &Ctx, c: Command) -> anyhow::Result<i32> {
    let Command::Stage { path, layout, out: outdir, zip, package_id, drive, unc, manifest, no_verify, dry_run, force } =
        c
    else {
        bail!("internal: not a stage command");
    };
    let opts = StageOptions { zip, package_id, drive, unc, no_verify, manifest, dry_run, write: ctx.write(force) };
    let layout = Layout::load(&layout)?;
    let plan = match hotfixkit::hotfix::stage(&path, &layout, &outdir, &opts) {
        Ok(p) => p,
        Err(e) if e.kind() == hotfixkit::ErrorKind::Findings => {
            bail!("{e}; use --no-verify to stage anyway")
        }
        Err(e) if e.kind() == hotfixkit::ErrorKind::Missing && e.message().contains("name the manifest") => {
            bail!("{e} with --manifest")
        }
        Err(e) => return Err(e.into()),
    };
    if ctx.json {
        json_out(&plan)?;
    } else {
        let mut s =
            format!("{}: {} files{}\n", plan.manifest, plan.files.len(), if dry_run { " (dry run)" } else { "" });
        for f in &plan.files {
            s.push_str(&format!("  {:<48} <- {}\n", f.to, f.from));
        }
        for o in &plan.outputs {
            s.push_str(&format!("  {o}\n"));
        }
        s.push_str(&format!("{}\n", plan.patch_line));
        for f in &plan.findings {
            s.push_str(&format!("finding (staged with --no-verify): {f}\n"));
        }
        out(&s);
    }
    Ok(if plan.findings.is_empty() { 0 } else { 1 })
}
