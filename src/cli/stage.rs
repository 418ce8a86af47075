//! `hotfixkit stage PATH --layout L -o DIR`: the distribution-point layout.

use super::args::Command;
use super::{json_out, out, usage, Ctx};
use hotfixkit::hotfix::{Layout, StageOptions};

pub fn run(ctx: &Ctx, c: Command) -> anyhow::Result<i32> {
    let Command::Stage { path, layout, output, zip, package_id, drive, unc, manifest, no_verify, dry_run, out: o } = c
    else {
        return Err(usage("internal: not a stage command"));
    };
    let opts = StageOptions {
        zip,
        package_id,
        drive,
        unc,
        no_verify,
        manifest,
        dry_run,
        write: ctx.write(o.force),
        protect: vec![layout.clone()],
    };
    let layout = Layout::load(&layout)?;
    let plan = match hotfixkit::hotfix::stage(&path, &layout, &output, &opts) {
        Ok(p) => p,
        Err(e) if e.kind() == hotfixkit::ErrorKind::Findings => {
            return Err(usage(format!("{e}; use --no-verify to stage anyway")))
        }
        Err(e) if e.kind() == hotfixkit::ErrorKind::Missing && e.message().contains("name the manifest") => {
            return Err(usage(format!("{e} with --manifest")))
        }
        Err(e) => return Err(e.into()),
    };
    let verdict = format!(
        "{}: {} files staged{} in {}{}",
        plan.manifest,
        plan.files.len(),
        if dry_run { " (dry run)" } else { "" },
        output.display(),
        if plan.findings.is_empty() { String::new() } else { format!("; {} findings", plan.findings.len()) }
    );
    if ctx.json {
        json_out(&plan)?;
    } else if ctx.quiet {
        out(&format!("{verdict}\n"));
    } else {
        let mut s = String::new();
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
        s.push_str(&format!("{verdict}\n"));
        out(&s);
    }
    Ok(if plan.findings.is_empty() { 0 } else { 1 })
}
