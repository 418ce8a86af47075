//! `hotfixkit build cab|msi|mst|msp`: package a folder, write a transform between two
//! packages, or a patch.

use super::args::{BuildCommand, CabMethod, DeltaEffort, DeltaWhen, MspArgs, Suppress, TransformFlags, Validation};
use super::{json_out, out, usage, Ctx};
use hotfixkit::build::{DeltaMode, DeltaOptions, PatchMetadata, PatchRequest, Progress, Upgraded};
use hotfixkit::delta::Effort;
use std::io::IsTerminal;

/// The flag words of `--validation` and `--suppress-errors` (`None` when not given).
pub fn flag_words(f: &TransformFlags) -> (Option<u16>, Option<u16>) {
    use hotfixkit::msp::{suppress, validate};
    let v = (!f.validation.is_empty()).then(|| {
        f.validation.iter().fold(0u16, |m, v| {
            m | match v {
                Validation::None => 0,
                Validation::Language => validate::LANGUAGE,
                Validation::Product => validate::PRODUCT,
                Validation::Platform => validate::PLATFORM,
                Validation::MajorVersion => validate::MAJOR,
                Validation::MinorVersion => validate::MINOR,
                Validation::UpdateVersion => validate::UPDATE,
                Validation::VersionLess => validate::LESS,
                Validation::VersionLessOrEqual => validate::LESS_EQ,
                Validation::VersionEqual => validate::EQUAL,
                Validation::VersionGreaterOrEqual => validate::GREATER_EQ,
                Validation::VersionGreater => validate::GREATER,
                Validation::UpgradeCode => validate::UPGRADE_CODE,
            }
        })
    });
    let s = (!f.suppress_errors.is_empty()).then(|| {
        f.suppress_errors.iter().fold(0u16, |m, s| {
            m | match s {
                Suppress::None => 0,
                Suppress::AddExistingRow => suppress::ADD_EXISTING_ROW,
                Suppress::DeleteMissingRow => suppress::DEL_MISSING_ROW,
                Suppress::AddExistingTable => suppress::ADD_EXISTING_TABLE,
                Suppress::DeleteMissingTable => suppress::DEL_MISSING_TABLE,
                Suppress::UpdateMissingRow => suppress::UPDATE_MISSING_ROW,
                Suppress::Codepage => suppress::CODEPAGE,
                Suppress::All => 0x3F,
            }
        })
    });
    (v, s)
}

/// A progress bar on a terminal (not with --quiet or --json): phase, bytes done of total.
pub fn progress_bar(ctx: &Ctx) -> Option<indicatif::ProgressBar> {
    let show = !ctx.quiet && !ctx.json && std::io::stderr().is_terminal();
    show.then(|| {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:12} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        {
            b.set_style(style);
        }
        b
    })
}

fn metadata(a: &MspArgs) -> anyhow::Result<PatchMetadata> {
    let mut extra = Vec::new();
    for m in &a.metadata {
        let (lhs, value) = m.split_once('=').ok_or_else(|| usage(format!("--metadata {m:?}: expected NAME=VALUE")))?;
        let (company, name) = match lhs.split_once(':') {
            Some((c, n)) => (Some(c.to_string()), n.to_string()),
            None => (None, lhs.to_string()),
        };
        extra.push((company, name, value.to_string()));
    }
    Ok(PatchMetadata {
        display_name: a.display_name.clone(),
        description: a.description.clone(),
        classification: Some(a.classification.clone()),
        manufacturer: a.manufacturer.clone(),
        allow_removal: a.allow_removal,
        more_info_url: a.more_info_url.clone(),
        target_product_name: None,
        extra,
    })
}

fn msp(ctx: &Ctx, a: &MspArgs) -> anyhow::Result<i32> {
    let upgraded = match &a.files {
        Some(d) => Upgraded::Files(d.clone()),
        None => Upgraded::Packages(a.upgraded.clone()),
    };
    let (validation, suppress) = flag_words(&a.flags);
    let created = match a.created.as_deref() {
        None => None,
        Some("now") => Some(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
        ),
        Some(s) => Some(s.parse::<i64>().map_err(|_| usage(format!("--created {s:?}: Unix seconds or `now`")))?),
    };
    let mut req = PatchRequest::new(a.targets.clone(), upgraded);
    req.patch_code = a.patch_code.clone();
    req.obsoletes = a.obsoletes.clone();
    req.metadata = metadata(a)?;
    req.family = a.family.clone();
    req.sequence = a.sequence.clone();
    req.supersede = a.supersede;
    req.validation = validation;
    req.suppress = suppress;
    req.transform_name = a.transform_name.clone();
    req.cabinets = a.cabinets.clone();
    req.sequence_start = a.sequence_start;
    req.disk_id = a.disk_id;
    req.client_patch_id = a.client_patch_id.clone();
    req.product_version = a.product_version.clone();
    req.created = created;
    req.deltas = match a.delta {
        None => DeltaMode::Off,
        Some(DeltaWhen::Always) => DeltaMode::Always,
        Some(DeltaWhen::Auto) => DeltaMode::Auto,
    };
    req.delta_options = DeltaOptions {
        effort: match a.delta_effort {
            DeltaEffort::Fast => Effort::Fast,
            DeltaEffort::Normal => Effort::Normal,
            DeltaEffort::Best => Effort::Best,
        },
        pe_normalise: a.delta_pe_normalise,
    };
    let bar = progress_bar(ctx);
    let progress = |p: Progress| {
        if let Some(b) = &bar {
            b.set_message(p.phase.to_string());
            b.set_length(p.total);
            b.set_position(p.done);
        }
    };
    let report = hotfixkit::build::build_msp(&req, &a.output, &ctx.write(a.out.force), Some(&progress))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if ctx.json {
        json_out(&report)?;
        return Ok(0);
    }
    if !ctx.quiet {
        for w in &report.warnings {
            eprintln!("hotfixkit: warning: {w}");
        }
        let mut s = String::new();
        for t in &report.targets {
            s.push_str(&format!(
                "{} {} -> {}: transforms {t2} and #{t2}, cabinet {} (DiskId {}, sequences {}-{}), {} files\n",
                t.target,
                t.from_version,
                t.to_version,
                t.cabinet,
                t.disk_id,
                t.first_sequence,
                t.last_sequence,
                t.files.len(),
                t2 = t.transform
            ));
            for f in &t.files {
                let how = match (f.payload, f.note.as_deref()) {
                    ("delta", _) => format!(", delta of {} bytes", f.stored),
                    (_, Some(n)) => format!("; whole: {n}"),
                    _ => String::new(),
                };
                s.push_str(&format!(
                    "  {:<8} {} ({} bytes{}{how}) sequence {}\n",
                    f.status,
                    f.key,
                    f.size,
                    f.version.as_deref().map(|v| format!(", {v}")).unwrap_or_default(),
                    f.sequence
                ));
            }
        }
        out(&s);
    }
    out(&format!("wrote {} ({} bytes), patch code {}\n", report.output, report.size, report.patch_code));
    Ok(0)
}

pub fn run(ctx: &Ctx, b: BuildCommand) -> anyhow::Result<i32> {
    let (output, bytes, force) = match b {
        BuildCommand::Cab { dir, output, compression, out } => {
            let c = match compression {
                CabMethod::None => hotfixkit::build::CabCompression::None,
                CabMethod::Mszip => hotfixkit::build::CabCompression::MsZip,
            };
            (output, hotfixkit::build::build_cab(&dir, c)?, out.force)
        }
        BuildCommand::Msi { dir, output, description, product_name, version, manufacturer, install_dir, out: o } => {
            let mut d = match &description {
                Some(p) => hotfixkit::build::PackageDescription::load(p)?,
                None => hotfixkit::build::PackageDescription::new("Hotfix", "1.0.0"),
            };
            if let Some(n) = product_name {
                d.product.name = n;
            }
            if let Some(v) = version {
                d.product.version = v;
            }
            if let Some(m) = manufacturer {
                d.product.manufacturer = m;
            }
            if install_dir.is_some() {
                d.install_dir = install_dir;
            }
            let bar = progress_bar(ctx);
            let progress = |p: Progress| {
                if let Some(b) = &bar {
                    b.set_message(p.phase.to_string());
                    b.set_length(p.total);
                    b.set_position(p.done);
                }
            };
            let r = hotfixkit::build::build_msi(&dir, &d, &output, &ctx.write(o.force), Some(&progress))?;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            if ctx.json {
                json_out(&r)?;
            } else {
                if !ctx.quiet {
                    out(&format!(
                        "{} {}: ProductCode {}, UpgradeCode {}, package code {}\n",
                        d.product.name, r.version, r.product_code, r.upgrade_code, r.package_code
                    ));
                }
                out(&format!(
                    "wrote {} ({} bytes, {} files, {} bytes of payload)\n",
                    r.output, r.size, r.files, r.bytes
                ));
            }
            return Ok(0);
        }
        BuildCommand::Mst { old, new, output, flags, out: o } => {
            let (v, s) = flag_words(&flags);
            let r = hotfixkit::build::build_mst(&old, &new, v, s, &output, &ctx.write(o.force))?;
            if ctx.json {
                json_out(&r)?;
            } else {
                if !ctx.quiet {
                    let mut s = format!("revision {}\n", r.revision);
                    for t in &r.tables {
                        s.push_str(&format!(
                            "  {:<28} {:?}: {} inserted, {} updated, {} deleted\n",
                            t.table, t.status, t.inserted, t.updated, t.deleted
                        ));
                    }
                    out(&s);
                }
                out(&format!("wrote {} ({} bytes)\n", r.output, r.size));
            }
            return Ok(0);
        }
        BuildCommand::Msp(a) => return msp(ctx, &a),
    };
    let w = hotfixkit::write_file(&output, &bytes, &ctx.write(force))?;
    if ctx.json {
        json_out(&hotfixkit::WrittenFiles { files: vec![w] })?;
    } else {
        out(&format!("wrote {} ({} bytes)\n", output.display(), bytes.len()));
    }
    Ok(0)
}
