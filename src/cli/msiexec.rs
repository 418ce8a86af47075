//! The msiexec form: `hotfixkit msiexec /a PKG [/p PATCH] [/qb|/qn|/passive] [/l*v LOG]
//! [PROPERTY=VALUE…] TARGETDIR=DIR`, as admins already have it in scripts.

use super::extract::extract;
use super::{out, usage, write_file, Cli, Ctx};
use hotfixkit::ExtractRequest;
use std::path::PathBuf;

/// Public properties that do not change what an administrative image holds; accepted
/// with a note.
const HARMLESS: &[&str] = &[
    "REBOOT",
    "REBOOTPROMPT",
    "ALLUSERS",
    "MSIINSTALLPERUSER",
    "MSIFASTINSTALL",
    "MSIRESTARTMANAGERCONTROL",
    "MSIDISABLERMRESTART",
    "MSIRMSHUTDOWN",
    "ARPSYSTEMCOMPONENT",
    "ARPNOREMOVE",
    "ARPNOMODIFY",
    "ARPNOREPAIR",
    "LIMITUI",
    "ROOTDRIVE",
    "INSTALLLEVEL",
];

/// An msiexec command line, parsed.
#[derive(Debug, Default)]
pub struct MsiexecArgs {
    pub package: PathBuf,
    pub target: PathBuf,
    pub patches: Vec<PathBuf>,
    pub quiet: bool,
    pub short_names: bool,
    pub log: Option<(PathBuf, bool)>,
    pub notes: Vec<String>,
}

fn looks_like_windows_path(v: &str) -> bool {
    let b = v.as_bytes();
    (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') || v.starts_with("\\\\")
}

/// Parse an msiexec command line. Errors quote the argument as it was typed.
pub fn parse(args: &[String]) -> anyhow::Result<MsiexecArgs> {
    let mut p = MsiexecArgs::default();
    let (mut package, mut target) = (None, None);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let lower = a.to_lowercase();
        let value = |i: usize, what: &str| -> anyhow::Result<String> {
            args.get(i + 1).cloned().ok_or_else(|| usage(format!("msiexec: {a} needs {what}")))
        };
        if let Some(sw) = lower.strip_prefix('/').or_else(|| lower.strip_prefix('-').filter(|s| !s.starts_with('-'))) {
            match sw {
                "a" => {
                    package = Some(PathBuf::from(value(i, "a package")?));
                    i += 1;
                }
                "p" | "update" => {
                    let v = value(i, "a patch")?;
                    p.patches.extend(v.split(';').filter(|s| !s.is_empty()).map(PathBuf::from));
                    i += 1;
                }
                "qn" | "q" | "qn+" | "qn-" | "quiet" => p.quiet = true,
                "qb" | "qr" | "qf" | "passive" | "qb-" | "qb+" | "qb!" | "qb!-" | "qb-!" | "norestart"
                | "promptrestart" | "forcerestart" => {}
                s if s == "log" || s.starts_with('l') => {
                    let flags = if s == "log" { "" } else { &s[1..] };
                    if !flags.chars().all(|c| "iwearucmopvx+!*".contains(c)) {
                        return Err(usage(format!("msiexec: switch {a} is not a logging switch")));
                    }
                    let file = value(i, "a log file")?;
                    p.log = Some((PathBuf::from(file), flags.contains('v') || flags.contains('*')));
                    if flags.contains('+') {
                        p.notes.push(format!("{a}: the log is written anew, not appended to"));
                    }
                    i += 1;
                }
                _ => {
                    return Err(usage(format!(
                        "msiexec: switch {a} is not supported here (only /a, /p, /q… and /l… with properties)"
                    )))
                }
            }
        } else if let Some((k, v)) = a.split_once('=') {
            let v = v.trim_matches('"');
            let key = k.to_ascii_uppercase();
            match key.as_str() {
                "TARGETDIR" => {
                    if looks_like_windows_path(v) && !cfg!(windows) {
                        return Err(usage(format!(
                            "msiexec: {a} names a Windows path; give a folder of this system (TARGETDIR=/srv/{})",
                            v.rsplit(['\\', '/']).find(|s| !s.is_empty()).unwrap_or("image")
                        )));
                    }
                    target = Some(PathBuf::from(v));
                }
                "PATCH" => p.patches.extend(v.split(';').filter(|s| !s.is_empty()).map(PathBuf::from)),
                "SHORTFILENAMES" => p.short_names = !v.is_empty() && v != "0",
                k if HARMLESS.contains(&k) => {
                    p.notes.push(format!("{a}: accepted; it does not change an administrative image"))
                }
                _ => return Err(usage(format!("msiexec: property {k} is not supported here ({a})"))),
            }
        } else {
            return Err(usage(format!("msiexec: unexpected argument {a:?}")));
        }
        i += 1;
    }
    p.package =
        package.ok_or_else(|| usage("msiexec: only /a PACKAGE (an administrative image) is supported; give /a"))?;
    p.target = target.ok_or_else(|| usage("msiexec: TARGETDIR=DIR is required with /a"))?;
    Ok(p)
}

pub fn run(ctx: &Ctx, args: &[String]) -> anyhow::Result<i32> {
    // msiexec's own help switches, and the usual ones, print this command's help.
    if args.iter().any(|a| matches!(a.to_lowercase().as_str(), "/?" | "-?" | "/h" | "/help" | "-h" | "--help")) {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        if let Some(sub) = cmd.find_subcommand_mut("msiexec") {
            out(&sub.render_long_help().to_string());
        }
        return Ok(0);
    }
    let m = parse(args)?;
    let quiet_ctx = Ctx { quiet: ctx.quiet || m.quiet, json: ctx.json, write: ctx.write };
    if !quiet_ctx.quiet && !ctx.json {
        for n in &m.notes {
            eprintln!("hotfixkit: note: {n}");
        }
    }
    let req = ExtractRequest {
        input: m.package.clone(),
        patches: m.patches.clone(),
        short_names: m.short_names,
        ..Default::default()
    };
    let result = extract(&quiet_ctx, &req, &m.target, false, false);
    if let Some((log, verbose)) = &m.log {
        let mut text = format!(
            "hotfixkit {} administrative installation\r\npackage: {}\r\ntarget: {}\r\n",
            env!("CARGO_PKG_VERSION"),
            m.package.display(),
            m.target.display()
        );
        for p in &m.patches {
            text.push_str(&format!("patch: {}\r\n", p.display()));
        }
        for n in &m.notes {
            text.push_str(&format!("note: {n}\r\n"));
        }
        match &result {
            Ok(r) => {
                if let Some(rep) = &r.report {
                    for w in &rep.warnings {
                        text.push_str(&format!("warning: {w}\r\n"));
                    }
                    if *verbose {
                        for e in &rep.entries {
                            let state = if e.written == Some(true) { "written" } else { "NOT written" };
                            text.push_str(&format!("file: {} ({} bytes) {state}\r\n", e.path, e.size));
                        }
                    }
                    for e in &rep.errors {
                        text.push_str(&format!("error: {e}\r\n"));
                    }
                }
                text.push_str(&format!("{}\r\nexit code: {}\r\n", r.verdict, r.code));
            }
            Err(e) => text.push_str(&format!("error: {}\r\nexit code: 2\r\n", super::render_error(e))),
        }
        write_file(log, text.as_bytes(), ctx.write(true))?;
    }
    Ok(result?.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn scripts_as_admins_write_them_parse() {
        let p = parse(&args("/a pkg.msi /qn /l*v log.txt REBOOT=ReallySuppress SHORTFILENAMES=1 TARGETDIR=/tmp/x"))
            .unwrap();
        assert!(p.quiet && p.short_names);
        assert_eq!(p.log, Some((PathBuf::from("log.txt"), true)));
        assert_eq!(p.target, PathBuf::from("/tmp/x"));
        assert_eq!(p.notes.len(), 1);
        let e = parse(&args("/a pkg.msi /x TARGETDIR=/tmp")).unwrap_err().to_string();
        assert!(e.contains("switch /x"), "{e}");
        if !cfg!(windows) {
            let e = parse(&args("/a pkg.msi TARGETDIR=C:\\kb977203")).unwrap_err().to_string();
            assert!(e.contains("Windows path") && e.contains("TARGETDIR=C:\\kb977203"), "{e}");
        }
        let e = parse(&args("/a pkg.msi FOO=1 TARGETDIR=/tmp")).unwrap_err().to_string();
        assert!(e.contains("property FOO"), "{e}");
    }
}
