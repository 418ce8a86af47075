//! `hotfixkit delta info|apply`: PA19 binary deltas.

use super::args::DeltaCommand;
use super::{json_out, out, Ctx};
use anyhow::Context;

pub fn run(ctx: &Ctx, d: DeltaCommand) -> anyhow::Result<i32> {
    match d {
        DeltaCommand::Info { patch } => {
            let data = std::fs::read(&patch).with_context(|| format!("reading {}", patch.display()))?;
            let h = hotfixkit::delta::parse(&data).map_err(|e| e.with_path(&patch))?;
            if ctx.json {
                json_out(&h)?;
            } else {
                let mut s = format!(
                    "{}: PA19, options 0x{:08x}, extra 0x{:08x}, new file {} bytes, CRC-32 0x{:08x}{}{}\n",
                    patch.display(),
                    h.options,
                    h.extra_flags,
                    h.new_size,
                    h.new_crc32,
                    if h.crc_ok { "" } else { ", PATCH CRC FAILS" },
                    if h.complete { "" } else { ", header only" }
                );
                for (i, f) in h.old_files.iter().enumerate() {
                    s.push_str(&format!(
                        "  old file {i}: {} bytes, CRC-32 0x{:08x}, {} ignore and {} retain ranges, {} RVA map entries, {} bytes of LZX data\n",
                        f.size,
                        f.crc32,
                        f.ignore.len(),
                        f.retain.len(),
                        f.rva_map,
                        f.stream_size
                    ));
                }
                out(&s);
            }
            Ok(0)
        }
        DeltaCommand::Apply { old, patch, output, out: o } => {
            let p = std::fs::read(&patch).with_context(|| format!("reading {}", patch.display()))?;
            let old_bytes = match &old {
                Some(o) => Some(std::fs::read(o).with_context(|| format!("reading {}", o.display()))?),
                None => None,
            };
            let new = hotfixkit::delta::apply(&p, old_bytes.as_deref()).map_err(|e| e.with_path(&patch))?;
            let mut inputs = vec![patch.as_path()];
            inputs.extend(old.as_deref());
            hotfixkit::refuse_inputs(&output, &inputs)?;
            let w = hotfixkit::write_file(&output, &new, &ctx.write(o.force))?;
            if ctx.json {
                json_out(&hotfixkit::WrittenFiles { files: vec![w] })?;
            } else if !ctx.quiet {
                out(&format!("wrote {} ({} bytes)\n", output.display(), new.len()));
            }
            Ok(0)
        }
    }
}
