//! `hotfixkit build cab|msi DIR -o OUT`: package a folder.

use super::args::{BuildCommand, CabMethod};
use super::{json_out, out, Ctx};

pub fn run(ctx: &Ctx, b: BuildCommand) -> anyhow::Result<i32> {
    let (output, bytes, force) = match b {
        BuildCommand::Cab { dir, output, compression, out } => {
            let c = match compression {
                CabMethod::None => hotfixkit::build::CabCompression::None,
                CabMethod::Mszip => hotfixkit::build::CabCompression::MsZip,
            };
            (output, hotfixkit::build::build_cab(&dir, c)?, out.force)
        }
        BuildCommand::Msi { dir, output, product_name, version, out } => {
            (output, hotfixkit::build::build_msi(&dir, &product_name, &version)?, out.force)
        }
    };
    let w = hotfixkit::write_file(&output, &bytes, &ctx.write(force))?;
    if ctx.json {
        json_out(&hotfixkit::WrittenFiles { files: vec![w] })?;
    } else if !ctx.quiet {
        out(&format!("wrote {} ({} bytes)\n", output.display(), bytes.len()));
    }
    Ok(0)
}
