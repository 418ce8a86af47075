//! Report renderings: a readable table and JUnit XML (one testcase per manifest row).

use super::verify::{RowStatus, VerifyReport};

fn title(r: &VerifyReport) -> String {
    let sp = r.service_pack.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
    format!("KB{}{sp} ({})", r.kb, r.product)
}

/// The one-line verdict: what was verified against what, and the counts.
pub fn render_summary(r: &VerifyReport) -> String {
    format!(
        "{} against {}: {} rows, {} ok, {} mismatched, {} missing; {} extra file{}{}\n",
        title(r),
        r.target,
        r.rows.len(),
        r.summary.ok,
        r.summary.mismatch,
        r.summary.missing,
        r.summary.extra,
        if r.summary.extra == 1 { "" } else { "s" },
        {
            let mut tail = String::new();
            if !r.signatures.is_empty() || r.package_signature.is_some() {
                tail.push_str(&format!(
                    "; {} signature{} checked, {} failed",
                    r.signatures.len() + usize::from(r.package_signature.is_some()),
                    if r.signatures.len() + usize::from(r.package_signature.is_some()) == 1 { "" } else { "s" },
                    r.summary.signature_failures
                        + usize::from(r.package_signature.as_ref().is_some_and(|s| s.is_failure()))
                        + usize::from(r.package_signer.as_ref().is_some_and(|c| !c.ok))
                ));
            }
            if !r.errors.is_empty() {
                tail.push_str(&format!("; {} unreadable", r.errors.len()));
            }
            tail
        }
    )
}

/// The text table: a line per manifest row (only the rows with findings when
/// `failures_only`), extra files, errors, then the summary line last.
pub fn render_text(r: &VerifyReport, failures_only: bool) -> String {
    let mut s = String::new();
    let w = r.rows.iter().map(|x| x.name.len()).max().unwrap_or(4).max(4);
    let pw = r.rows.iter().filter_map(|x| x.path.as_ref().map(String::len)).max().unwrap_or(4).max(4);
    s.push_str(&format!("{:<8}  {:<w$}  {:<8}  {:<pw$}  {}\n", "STATUS", "FILE", "PLATFORM", "PATH", "DIFFERENCES"));
    for row in &r.rows {
        if failures_only && row.status == RowStatus::Ok {
            continue;
        }
        let st = match row.status {
            RowStatus::Ok => "ok",
            RowStatus::Mismatch => "MISMATCH",
            RowStatus::Missing => "MISSING",
        };
        let mut diffs: Vec<String> = row
            .checks
            .iter()
            .filter(|c| c.is_mismatch())
            .map(|c| format!("{}: expected {}, found {}", c.field, c.expected, c.actual))
            .collect();
        diffs.extend(
            row.checks.iter().filter(|c| c.is_note()).map(|c| {
                format!("note: {} differs (expected {}, found {}; not compared)", c.field, c.expected, c.actual)
            }),
        );
        let line = format!(
            "{:<8}  {:<w$}  {:<8}  {:<pw$}  {}",
            st,
            row.name,
            row.platform.as_str(),
            row.path.as_deref().unwrap_or("-"),
            diffs.join("; ")
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    if !failures_only || r.strict {
        for e in &r.extra {
            s.push_str(&format!("extra     {e}{}\n", if r.strict { "  (not in the manifest)" } else { "" }));
        }
    }
    if !failures_only {
        for e in &r.admin_copies {
            s.push_str(&format!("package   {e}  (administrative copy of the package)\n"));
        }
    }
    if let Some(p) = &r.package_signature {
        let signer = match &r.package_signer {
            Some(c) if !c.ok => format!("; signer: expected {}, found {}", c.expected, c.actual),
            _ => String::new(),
        };
        s.push_str(&format!(
            "signature {}  (the package): {} {}{signer}\n",
            p.verdict.label(),
            p.signer.as_deref().unwrap_or("-"),
            if p.verdict.is_trusted() { String::new() } else { format!("({})", p.reason) }
        ));
    }
    for f in &r.signatures {
        let sig = &f.signature;
        if failures_only && !sig.is_failure() {
            continue;
        }
        s.push_str(&format!(
            "signature {}  {}: {}{}\n",
            sig.verdict.label(),
            f.path,
            sig.signer.as_deref().unwrap_or("-"),
            if sig.verdict.is_trusted() { String::new() } else { format!(" ({})", sig.reason) }
        ));
    }
    for e in &r.errors {
        s.push_str(&format!("error     {e}\n"));
    }
    s.push_str(&render_summary(r));
    s
}

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push_str(&format!("&#x{:x};", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: one testsuite, one testcase per manifest row (plus one for extra files
/// when `--strict`), a `<failure>` naming what differs.
pub fn render_junit(r: &VerifyReport) -> String {
    let strict_case = r.strict;
    let sig_failures: Vec<&super::verify::SignedFile> =
        r.signatures.iter().filter(|f| f.signature.is_failure()).collect();
    let package_case = r.package_signer.as_ref().or(None);
    let tests = r.rows.len() + usize::from(strict_case) + sig_failures.len() + usize::from(package_case.is_some());
    let failures = r.summary.mismatch
        + r.summary.missing
        + usize::from(strict_case && r.summary.extra > 0)
        + sig_failures.len()
        + usize::from(package_case.is_some_and(|c| !c.ok));
    let suite = title(r);
    let class = format!("kb{}.{}", r.kb, r.service_pack.as_deref().unwrap_or("all").to_lowercase());
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!("<testsuites tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"));
    s.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        xml(&suite)
    ));
    for row in &r.rows {
        let name = format!("{} ({})", row.name, row.platform.as_str());
        s.push_str(&format!("    <testcase classname=\"{}\" name=\"{}\"", xml(&class), xml(&name)));
        match row.status {
            RowStatus::Ok => s.push_str("/>\n"),
            RowStatus::Missing => {
                s.push_str(">\n");
                s.push_str(&format!(
                    "      <failure message=\"{}\" type=\"missing\"/>\n",
                    xml(&format!("{} not found", row.name))
                ));
                s.push_str("    </testcase>\n");
            }
            RowStatus::Mismatch => {
                let diffs: Vec<String> = row
                    .checks
                    .iter()
                    .filter(|c| c.is_mismatch())
                    .map(|c| format!("{}: expected {}, found {}", c.field, c.expected, c.actual))
                    .collect();
                s.push_str(">\n");
                s.push_str(&format!(
                    "      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n",
                    xml(&format!("{}: {}", row.path.as_deref().unwrap_or(&row.name), diffs.join("; "))),
                    xml(&diffs.join("\n"))
                ));
                s.push_str("    </testcase>\n");
            }
        }
    }
    if strict_case {
        s.push_str(&format!("    <testcase classname=\"{}\" name=\"no extra files\"", xml(&class)));
        if r.extra.is_empty() {
            s.push_str("/>\n");
        } else {
            s.push_str(">\n");
            s.push_str(&format!(
                "      <failure message=\"{}\" type=\"extra\">{}</failure>\n",
                xml(&format!("{} files not in the manifest", r.extra.len())),
                xml(&r.extra.join("\n"))
            ));
            s.push_str("    </testcase>\n");
        }
    }
    for f in sig_failures {
        s.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n      <failure message=\"{}\" type=\"signature\"/>\n    </testcase>\n",
            xml(&class),
            xml(&format!("signature of {}", f.path)),
            xml(&format!("{}: {} ({})", f.path, f.signature.verdict.label(), f.signature.reason))
        ));
    }
    if let Some(c) = package_case {
        s.push_str(&format!("    <testcase classname=\"{}\" name=\"package signer\"", xml(&class)));
        if c.ok {
            s.push_str("/>\n");
        } else {
            s.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"signer\"/>\n    </testcase>\n",
                xml(&format!("signer: expected {}, found {}", c.expected, c.actual))
            ));
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}
