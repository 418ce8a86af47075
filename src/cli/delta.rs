//! `hotfixkit delta info|apply`: PA19 binary deltas.

use super::args::{DeltaCommand, DeltaE8, DeltaEffort};
use super::{json_out, out, usage, Ctx};
use anyhow::Context;
use hotfixkit::delta::{opt, CreateOptions, E8Mode, Effort, RiftMode};

/// Largest file read for `delta create` (the format's window is 32 MiB for old and new
/// together).
const MAX_INPUT: u64 = 64 << 20;

fn read_bounded(p: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut v = Vec::new();
    hotfixkit::open_file(p)?
        .take(MAX_INPUT + 1)
        .read_to_end(&mut v)
        .with_context(|| format!("reading {}", p.display()))?;
    if v.len() as u64 > MAX_INPUT {
        return Err(usage(format!(
            "{}: larger than 64 MiB; PA19 takes at most 32 MiB of old and new together",
            p.display()
        )));
    }
    Ok(v)
}

/// The option bits a header carries, by name.
fn option_names(options: u32, extra: u32) -> Vec<&'static str> {
    let mut v = Vec::new();
    for (bit, name) in [
        (opt::USE_LZX_LARGE, "large window"),
        (opt::NO_BINDFIX, "no bind fix"),
        (opt::NO_LOCKFIX, "no lock fix"),
        (opt::NO_REBASE, "no rebase"),
        (opt::NO_CHECKSUM, "no checksum fix"),
        (opt::NO_RESTIMEFIX, "no resource-time fix"),
        (opt::TIMESTAMP, "timestamp"),
        (opt::INTERLEAVE_FILES, "interleaved"),
    ] {
        if options & bit != 0 {
            v.push(name);
        }
    }
    if extra & 0x10 != 0 {
        v.push("no relative calls");
    }
    v
}

pub fn run(ctx: &Ctx, d: DeltaCommand) -> anyhow::Result<i32> {
    match d {
        DeltaCommand::Create { old, new, output, effort, e8, no_rift, no_pe_normalise, wine_compatible, out: o } => {
            let olds: Vec<Vec<u8>> = old.iter().map(|p| read_bounded(p)).collect::<anyhow::Result<_>>()?;
            let new_bytes = read_bounded(&new)?;
            let mut inputs: Vec<&std::path::Path> = old.iter().map(|p| p.as_path()).collect();
            inputs.push(&new);
            hotfixkit::refuse_inputs(&output, &inputs)?;
            let opts = CreateOptions {
                effort: match effort {
                    DeltaEffort::Fast => Effort::Fast,
                    DeltaEffort::Normal => Effort::Normal,
                    DeltaEffort::Best => Effort::Best,
                },
                e8: match e8 {
                    DeltaE8::Auto => E8Mode::Auto,
                    DeltaE8::On => E8Mode::On,
                    DeltaE8::Off => E8Mode::Off,
                },
                rift: if no_rift { RiftMode::Off } else { RiftMode::Auto },
                pe_normalise: !no_pe_normalise,
                wine_compatible,
                ..CreateOptions::default()
            };
            let refs: Vec<&[u8]> = olds.iter().map(Vec::as_slice).collect();
            let (patch, info) = hotfixkit::delta::create(&refs, &new_bytes, &opts).map_err(|e| e.with_path(&new))?;
            hotfixkit::write_file(&output, &patch, &ctx.write(o.force))?;
            if ctx.json {
                json_out(&info)?;
            } else {
                let mut s = String::new();
                if !ctx.quiet {
                    for (i, f) in info.old_files.iter().enumerate() {
                        s.push_str(&format!(
                            "  old file {i}: {} bytes, stream {} bytes, E8 {}, rift {} ({} entries){}\n",
                            f.size,
                            f.stream_size,
                            if f.e8 { "on" } else { "off" },
                            f.rift,
                            f.rift_entries,
                            if f.pe32 { ", PE32 normalised" } else { "" }
                        ));
                    }
                }
                s.push_str(&format!(
                    "wrote {} ({} bytes for a {}-byte file; {})\n",
                    output.display(),
                    patch.len(),
                    new_bytes.len(),
                    option_names(info.options, info.extra_flags).join(", ")
                ));
                out(&s);
            }
            Ok(0)
        }
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
                let names = option_names(h.options, h.extra_flags);
                if !names.is_empty() {
                    s.push_str(&format!("  options: {}\n", names.join(", ")));
                }
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
