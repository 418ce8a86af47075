//! `hotfixkit build cab|msi DIR -o OUT`: package a folder.

use super::args::{BuildCommand, CabMethod};
use super::{write_file, Ctx};

pub fn run(ctx: &Ctx, b: BuildCommand) -> anyhow::Result<i32> {
    match b {
        BuildCommand::Cab { dir, output, compression } => {
            let c = match compression {
                CabMethod::None => hotfixkit::build::CabCompression::None,
                CabMethod::Mszip => hotfixkit::build::CabCompression::MsZip,
            };
            write_file(&output, &hotfixkit::build::build_cab(&dir, c)?, ctx.write(true))?;
        }
        BuildCommand::Msi { dir, output, product_name, version } => {
            write_file(&output, &hotfixkit::build::build_msi(&dir, &product_name, &version)?, ctx.write(true))?;
        }
    }
    Ok(0)
}
