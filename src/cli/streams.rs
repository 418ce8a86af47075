//! `hotfixkit streams PKG [--out DIR]`: list a package's root streams, or write them out.

use super::{json_out, out, Ctx};
use std::path::Path;

pub fn run(ctx: &Ctx, package: &Path, dir: Option<&Path>, force: bool) -> anyhow::Result<i32> {
    let Some(dir) = dir else {
        let list = hotfixkit::msi::list_streams(package)?;
        if ctx.json {
            json_out(&list)?;
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
    let mut code = 0;
    let mut written = Vec::new();
    for (e, r) in outcome.streams {
        match r {
            Ok(w) => {
                written.push(serde_json::json!({"name": e.name, "path": w.path, "size": w.size, "sha256": w.sha256}))
            }
            Err(err) => {
                eprintln!("hotfixkit: error: {}: {err}", package.display());
                code = 2;
            }
        }
    }
    if ctx.json {
        json_out(&written)?;
    } else if !ctx.quiet {
        out(&format!("wrote {} streams to {}\n", written.len(), dir.display()));
    }
    Ok(code)
}
