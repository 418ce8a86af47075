//! `hotfixkit streams PKG [-o DIR]`: list a package's root streams, or write them out.

use super::{collapse, json_out, out, Ctx};
use std::path::Path;

pub fn run(ctx: &Ctx, package: &Path, dir: Option<&Path>, force: bool) -> anyhow::Result<i32> {
    let Some(dir) = dir else {
        let list = hotfixkit::msi::list_streams(package)?;
        if ctx.json {
            json_out(&hotfixkit::msi::StreamList { streams: list })?;
        } else {
            let mut s = String::new();
            for e in &list {
                s.push_str(&format!("{:>12}  {}\n", e.size, e.file_name));
            }
            out(&s);
        }
        return Ok(0);
    };
    let outcome = hotfixkit::write_streams(package, dir, &ctx.write(force))?;
    let total = outcome.streams.len();
    let mut r = outcome.report();
    r.errors = r.errors.into_iter().map(|e| e.with_path(package)).collect();
    let code = if r.errors.is_empty() { 0 } else { 2 };
    if ctx.json {
        json_out(&r)?;
    } else {
        for e in collapse(&r.errors) {
            eprintln!("hotfixkit: error: {e}");
        }
        out(&format!("wrote {} of {total} streams to {}\n", r.files.len(), dir.display()));
    }
    Ok(code)
}
