//! `hotfixkit ccmcertfix INPUT -o DIR`: pull out CCMCertFix.exe, verify it, say how to
//! run it.

use super::{json_out, out, Ctx};
use std::path::Path;

pub fn run(ctx: &Ctx, input: &Path, targetdir: &Path, force: bool) -> anyhow::Result<i32> {
    let r = hotfixkit::hotfix::extract_ccmcertfix(input, targetdir, &ctx.write(force))?;
    let verdict = match (&r.service_pack, r.verified) {
        (Some(sp), true) => {
            format!("{} {}: verified against KB977203 {sp}", r.written, r.version.as_deref().unwrap_or(""))
        }
        (Some(sp), false) => format!("{}: DOES NOT MATCH KB977203 {sp}", r.written),
        (None, _) => format!(
            "{}: version {} matches no KB977203 manifest; not verified",
            r.written,
            r.version.as_deref().unwrap_or("none")
        ),
    };
    if ctx.json {
        json_out(&r)?;
    } else if ctx.quiet {
        out(&format!("{verdict}\n"));
    } else {
        let mut s = format!(
            "found {}\nwrote {} ({} bytes, version {}, {})\n",
            r.found_in,
            r.written,
            r.size,
            r.version.as_deref().unwrap_or("none"),
            r.machine.as_deref().unwrap_or("not a PE file")
        );
        for f in &r.findings {
            s.push_str(&format!("  {f}\n"));
        }
        s.push_str("how to run it:\n");
        for i in &r.instructions {
            s.push_str(&format!("  - {i}\n"));
        }
        s.push_str(&format!("{verdict}\n"));
        out(&s);
    }
    Ok(if r.verified { 0 } else { 1 })
}
