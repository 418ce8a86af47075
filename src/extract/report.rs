//! What an extraction (or its dry run) reports: one shape for `--dry-run --json` and
//! `--json`, so that the same things have the same keys.

use super::exec::Outcome;
use super::plan::{Plan, Source};
use crate::error::{Error, Warning};
use crate::package::InputKind;
use std::collections::HashMap;

/// One file of an extraction report.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ReportEntry {
    /// Path under the target, `/`-separated (empty when the name itself is unsafe).
    pub path: String,
    /// The key that identifies it in its package (File key, or cabinet entry name).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time set, ISO-8601 UTC.
    pub mtime: Option<String>,
    /// Where its bytes come from.
    pub source: Source,
    /// For patch contents: `file-table` (the transforms name the file and its folder)
    /// or `file-key` (only the File key is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_by: Option<String>,
    /// For patch contents: whether the entry is a binary delta rather than a whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<bool>,
    /// Whether it was written (absent in a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<bool>,
    /// SHA-256 of what was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Counts of an extraction report.
#[derive(Debug, Clone, Copy, serde::Serialize, schemars::JsonSchema)]
pub struct ReportSummary {
    /// Files the plan names.
    pub planned: u64,
    /// Files written (0 in a dry run).
    pub written: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The report of `extract` (and of `msiexec /a`), for a dry run and a real one alike.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ExtractReport {
    /// The input.
    pub package: String,
    /// What the input is.
    pub kind: InputKind,
    /// The target folder.
    pub target: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Every file.
    pub entries: Vec<ReportEntry>,
    /// The administrative copy of the package: its name in the plan, its path once
    /// written.
    pub admin_package: Option<String>,
    /// Embedded cabinet streams left out of the administrative copy.
    pub dropped_streams: Vec<String>,
    /// What the planner noticed.
    pub warnings: Vec<Warning>,
    /// What could not be written.
    pub errors: Vec<Error>,
    /// Signatures checked after writing (the package's first), when asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<crate::manifest::SignedFile>,
    /// Counts.
    pub summary: ReportSummary,
}

impl ExtractReport {
    /// The report of `plan` executed into `target` (`outcome` listing its files), or of
    /// a dry run (`outcome` = `None`).
    pub fn new(plan: &Plan, target: &std::path::Path, outcome: Option<&Outcome>) -> ExtractReport {
        Self::build(plan, target, outcome, true)
    }

    /// [`ExtractReport::new`] without the per-file entries (the counts, warnings, errors
    /// and signatures only): what a text report needs, in memory that does not grow with
    /// the number of files.
    pub fn brief(plan: &Plan, target: &std::path::Path, outcome: Option<&Outcome>) -> ExtractReport {
        Self::build(plan, target, outcome, false)
    }

    fn build(plan: &Plan, target: &std::path::Path, outcome: Option<&Outcome>, with_entries: bool) -> ExtractReport {
        let written: HashMap<&str, &str> = outcome
            .map(|o| o.written.iter().map(|w| (w.written.path.as_str(), w.written.sha256.as_str())).collect())
            .unwrap_or_default();
        let entries = plan
            .entries
            .iter()
            .take(if with_entries { usize::MAX } else { 0 })
            .map(|e| {
                let sha = written.get(e.path.as_str()).map(|s| s.to_string());
                ReportEntry {
                    path: e.path.clone(),
                    key: e.key.clone(),
                    size: e.size,
                    mtime: e.mtime(),
                    source: e.source.clone(),
                    named_by: e.named_by.map(str::to_string),
                    delta: e.delta,
                    written: outcome.map(|_| sha.is_some()),
                    sha256: sha,
                }
            })
            .collect();
        ExtractReport {
            package: plan.package.clone(),
            kind: plan.kind,
            target: target.display().to_string(),
            dry_run: outcome.is_none(),
            entries,
            admin_package: match outcome {
                Some(o) => o.admin_package.clone(),
                None => plan.admin_package.clone(),
            },
            dropped_streams: plan.dropped_streams.clone(),
            warnings: plan.warnings.clone(),
            errors: outcome.map(|o| o.errors.clone()).unwrap_or_default(),
            signatures: Vec::new(),
            summary: ReportSummary {
                planned: plan.entries.len() as u64,
                written: outcome.map(|o| o.files).unwrap_or(0),
                bytes: outcome.map(|o| o.bytes).unwrap_or(0),
            },
        }
    }
}

/// Files a command wrote (`build`, `manifest lock`, `delta apply`, `tables -o`, …).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct WrittenFiles {
    /// Each file: path, size, SHA-256.
    pub files: Vec<crate::output::Written>,
}
