//! `hotfixkit signature FILE`: a file's Authenticode signatures and their verdicts.

use super::args::Trust;
use super::{json_out, out, Ctx};
use hotfixkit::sign::{SignatureReport, TrustOptions, TrustStore};
use std::path::Path;
use std::sync::Arc;

/// The trust store the command line asks for: the defaults plus `--trust` files.
pub fn store(trust: &Trust) -> anyhow::Result<Arc<TrustStore>> {
    let opts = TrustOptions { extra_files: trust.trust.clone(), ..TrustOptions::default() };
    Ok(Arc::new(TrustStore::new(&opts)?))
}

pub fn run(ctx: &Ctx, file: &Path, trust: &Trust) -> anyhow::Result<i32> {
    let store = store(trust)?;
    let r = hotfixkit::sign::verify_file_with(file, &store)?;
    if ctx.json {
        json_out(&r)?;
    } else {
        out(&render(file, &r, ctx.quiet));
    }
    Ok(if r.verdict.is_trusted() { 0 } else { 1 })
}

fn render(file: &Path, r: &SignatureReport, quiet: bool) -> String {
    let mut s = String::new();
    if !quiet {
        for e in &r.signatures {
            let who = e
                .signer
                .as_ref()
                .map(|c| c.common_name.clone().unwrap_or_else(|| c.subject.clone()))
                .unwrap_or_default();
            let nested = e.nested_in.map(|n| format!(" (nested in #{n})")).unwrap_or_default();
            s.push_str(&format!(
                "#{}{nested}: {} by {who}; digest {}; {}\n",
                e.index,
                e.verdict.label(),
                e.digest_algorithm.map(|a| format!("{a:?}").to_lowercase()).unwrap_or_else(|| "-".into()),
                e.reason
            ));
            let chain: Vec<String> = e
                .chain
                .iter()
                .map(|c| {
                    let name = c.common_name.clone().unwrap_or_else(|| c.subject.clone());
                    if c.trust_anchor {
                        format!("{name} (trusted root)")
                    } else {
                        name
                    }
                })
                .collect();
            if !chain.is_empty() {
                s.push_str(&format!("    chain: {}\n", chain.join(" <- ")));
            }
            if let Some(t) = &e.timestamp {
                s.push_str(&format!(
                    "    timestamp: {} ({:?}{})\n",
                    t.time.as_deref().unwrap_or("unreadable"),
                    t.kind,
                    if t.verified { ", verified" } else { ", NOT verified" }
                ));
            }
        }
    }
    let first = r.signatures.first();
    let signer = first
        .and_then(|e| e.signer.as_ref())
        .and_then(|c| c.organization.clone().or(c.common_name.clone()))
        .map(|o| format!(" by {o}"))
        .unwrap_or_default();
    let when = first
        .and_then(|e| e.timestamp.as_ref())
        .filter(|t| t.verified)
        .and_then(|t| t.time.clone())
        .map(|t| format!(", timestamped {t}"))
        .unwrap_or_default();
    s.push_str(&format!("{}: {}{signer}{when}\n", file.display(), r.verdict.label()));
    s
}
