//! `ccmcertfix`: pull CCMCertFix.exe out of a KB977203 hotfix (package, image or cabinet,
//! nested or not), verify it against the manifest of the service pack its version names,
//! and say how to run it.

use super::find::find_file;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{verify, Manifest, Observed};
use crate::output::{Target, WriteOptions};
use std::path::Path;

/// The KB977203 manifests shipped with the tool (the files in `manifests/`).
pub fn builtin_manifests() -> Vec<Manifest> {
    [include_str!("../../manifests/kb977203-sp1.yaml"), include_str!("../../manifests/kb977203-sp2.yaml")]
        .iter()
        .filter_map(|t| yaml_serde::from_str(t).ok())
        .collect()
}

/// What `ccmcertfix` did.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CertFixReport {
    /// Where it was found.
    pub found_in: String,
    /// Where it was written.
    pub written: String,
    /// Size.
    pub size: u64,
    /// PE file version.
    pub version: Option<String>,
    /// PE machine.
    pub machine: Option<String>,
    /// Service pack whose manifest the version matches (`SP1`, `SP2`), if any.
    pub service_pack: Option<String>,
    /// Verification against that manifest's row: ok, or what differs.
    pub verified: bool,
    /// Differences or warnings.
    pub findings: Vec<String>,
    /// How to run it.
    pub instructions: Vec<String>,
}

/// The run instructions for CCMCertFix.exe.
pub fn instructions() -> Vec<String> {
    vec![
        "Run CCMCertFix.exe on every ConfigMgr 2007 client, with administrator rights.".into(),
        "Keep a log: CCMCertFix.exe CCMCertFix.log".into(),
        "Deploy it as a hidden program that runs whether or not a user is logged on (see `hotfixkit stage` for a package definition file).".into(),
        "Run it also on clients already updated with 977384, which supersedes KB977203 but does not carry CCMCertFix.exe.".into(),
        "The hotfix installs it under <ConfigMgr folder>\\Logs\\KB977203\\ on the site server.".into(),
    ]
}

/// Find CCMCertFix.exe in `input` (a hotfix package, its image, a cabinet; nested
/// packages too), write it into `targetdir`, verify it against the KB977203 manifest of
/// the service pack its version names, and say how to run it.
pub fn extract_ccmcertfix(input: &Path, targetdir: &Path, opts: &WriteOptions) -> Result<CertFixReport> {
    let found = find_file(input, "ccmcertfix.exe")?;
    let Some(f) = found.into_iter().next() else {
        return Err(Error::new(ErrorKind::Missing, "no CCMCertFix.exe here (nor in packages inside)").with_path(input));
    };
    let target = Target::new(targetdir, *opts)?;
    let mut out = target.create(std::slice::from_ref(&f.name), f.mtime)?;
    out.write(&f.data)?;
    let w = out.finish()?;
    if let Some(e) = target.commit().into_iter().next() {
        return Err(e);
    }
    let info = crate::pe::pe_info(&f.data).ok();
    let version = info.as_ref().and_then(|i| i.version.as_ref()).and_then(|v| v.file_version.clone());
    let machine = info.as_ref().map(|i| i.machine.platform());
    let obs = Observed {
        path: f.name.clone(),
        size: f.data.len() as u64,
        mtime: f.mtime,
        sha256: w.sha256.clone(),
        machine: machine.clone(),
        version: version.clone(),
        platform: info.as_ref().and_then(|i| crate::manifest::Platform::of_machine(i.machine)),
        admin_copy: false,
        signature: None,
    };
    let mut findings = Vec::new();
    let mut sp = None;
    let mut verified = false;
    let manifests = builtin_manifests();
    let matching = manifests
        .iter()
        .find(|m| m.files.iter().any(|r| r.name.eq_ignore_ascii_case("ccmcertfix.exe") && r.version == version));
    match matching {
        Some(m) => {
            sp = m.service_pack.clone();
            let row: Vec<_> =
                m.files.iter().filter(|r| r.name.eq_ignore_ascii_case("ccmcertfix.exe")).cloned().collect();
            let one = Manifest {
                product: m.product.clone(),
                kb: m.kb,
                service_pack: m.service_pack.clone(),
                signer: None,
                files: row,
            };
            let rep = verify(&one, std::slice::from_ref(&obs), &input.display().to_string(), &Default::default(), &[]);
            verified = !rep.has_findings();
            for r in &rep.rows {
                for c in r.checks.iter().filter(|c| c.is_mismatch()) {
                    findings.push(format!("{}: expected {}, found {}", c.field, c.expected, c.actual));
                }
            }
        }
        None => findings.push(format!(
            "warning: version {} matches no KB977203 manifest (SP1 4.0.6221.1193, SP2 4.0.6487.2111); not verified",
            version.as_deref().unwrap_or("none")
        )),
    }
    Ok(CertFixReport {
        found_in: f.location,
        written: targetdir.join(&f.name).display().to_string(),
        size: w.size,
        version,
        machine,
        service_pack: sp,
        verified,
        findings,
        instructions: instructions(),
    })
}
