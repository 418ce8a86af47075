//! Integration tests: the real `hotfixkit` binary and the library's public API on real
//! files (the project's fixtures, and the shared corpus when it is present beside the
//! checkout).
//!
//! A custom harness (libtest-mimic), so that a test whose corpus or tool is missing is
//! reported as ignored, with the reason, instead of passing without having run; with
//! `HOTFIXKIT_REQUIRE_CORPUS=1` (CI sets it) such a test runs and fails, naming what is
//! missing.

mod admin;
mod api;
mod build;
mod build_delta;
mod cabs;
mod cli;
mod corpus;
mod delta;
mod delta_encode;
mod fuzz_replay;
mod golden;
#[cfg(unix)] // links are planted with std::os::unix::fs::symlink
mod hostile;
mod kb977203;
mod msp;
mod realpkg;
mod signature;
mod tidy;
mod util;
mod verify;
mod workflows;
#[cfg(unix)]
mod writer;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let require = std::env::var_os("HOTFIXKIT_REQUIRE_CORPUS").is_some_and(|v| v == "1");
    let all = [
        admin::cases(),
        api::cases(),
        build::cases(),
        build_delta::cases(),
        cabs::cases(),
        cli::cases(),
        corpus::cases(),
        delta::cases(),
        delta_encode::cases(),
        fuzz_replay::cases(),
        golden::cases(),
        #[cfg(unix)]
        hostile::cases(),
        #[cfg(unix)]
        hostile::security_cases(),
        kb977203::cases(),
        msp::cases(),
        realpkg::cases(),
        signature::cases(),
        tidy::cases(),
        verify::cases(),
        workflows::cases(),
        #[cfg(unix)]
        writer::cases(),
    ];
    let mut trials = Vec::new();
    let mut ignored = Vec::new();
    for case in all.into_iter().flatten() {
        let missing: Vec<String> = case.needs.iter().filter_map(|n| n.missing()).collect();
        // Root is a property of the machine, not an input CI must have.
        let require = require && !case.needs.iter().any(|n| matches!(n, util::Need::Root));
        let run = std::sync::Mutex::new(Some(case.run));
        let call = move || {
            if let Some(f) = run.lock().ok().and_then(|mut r| r.take()) {
                f();
            }
            Ok(())
        };
        let trial = if missing.is_empty() {
            Trial::test(case.name.clone(), call)
        } else if require {
            let why = missing.join("; ");
            Trial::test(case.name.clone(), move || Err(Failed::from(format!("HOTFIXKIT_REQUIRE_CORPUS=1: {why}"))))
        } else {
            ignored.push(format!("{}: {}", case.name, missing.join("; ")));
            Trial::test(case.name.clone(), call).with_ignored_flag(true)
        };
        trials.push(trial);
    }
    for i in &ignored {
        eprintln!("ignored {i}");
    }
    libtest_mimic::run(&args, trials).exit();
}
