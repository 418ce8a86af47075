//! The command line: each command parses its arguments, calls one library function,
//! renders the result and picks the exit code (0 ok, 1 findings, 2 error). The only
//! code that prints.

mod args;
mod build;
mod ccmcertfix;
mod delta;
mod extract;
mod info;
mod manifest;
mod stage;
mod streams;
mod tables;
mod verify;

pub use args::Cli;
use args::Command;
use clap::Parser;
use std::io::Write;
use std::time::Duration;

/// The default time budget of a run.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3600);

/// What every command gets besides its own arguments.
pub struct Ctx {
    /// `--quiet`.
    pub quiet: bool,
    /// `--json`.
    pub json: bool,
    /// How files are written (`overwrite` is set per command from its `--force`).
    pub write: hotfixkit::WriteOptions,
}

impl Ctx {
    /// The write options with `overwrite` as given.
    pub fn write(&self, overwrite: bool) -> hotfixkit::WriteOptions {
        hotfixkit::WriteOptions { overwrite, ..self.write }
    }
}

/// Write to stdout; a closed pipe ends the program quietly.
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Print `v` as pretty JSON on stdout.
pub fn json_out<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    out(&s);
    Ok(())
}

/// Entry point: returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let budget = match cli.time_limit {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            eprintln!("hotfixkit: error: --time-limit must be a positive number of seconds, not {t}");
            return 2;
        }
        Some(t) => Duration::from_secs_f64(t.min(1e9)),
        None => DEFAULT_TIME_LIMIT,
    };
    // The library stops at the deadline through its error path; the watchdog ends the
    // process 10 s later in case a call never comes back to a check.
    std::thread::spawn(move || {
        std::thread::sleep(budget + Duration::from_secs(10));
        eprintln!("hotfixkit: error: time limit of {:.3} s exceeded; stopped", budget.as_secs_f64());
        std::process::exit(2);
    });
    let ctx = Ctx {
        quiet: cli.quiet,
        json: cli.json,
        write: hotfixkit::WriteOptions {
            overwrite: false,
            fsync: !cli.no_fsync,
            deadline: hotfixkit::Deadline::after(budget),
        },
    };
    match dispatch(&ctx, cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hotfixkit: error: {}", render_error(&e));
            2
        }
    }
}

fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Info { file } => info::run(ctx, &file),
        Command::Tables { package, tables, format, output, transforms, patches, force_apply } => {
            tables::run(ctx, &package, &tables, format, output.as_deref(), &transforms, &patches, force_apply)
        }
        c @ Command::Extract { .. } => extract::run(ctx, c),
        Command::Msiexec { args } => extract::msiexec(ctx, &args),
        Command::Verify { path, manifest, format, output, strict } => {
            verify::run(ctx, &path, &manifest, format, output.as_deref(), strict)
        }
        Command::Manifest(m) => manifest::run(ctx, m),
        Command::Streams { package, out, force } => streams::run(ctx, &package, out.as_deref(), force),
        Command::Ccmcertfix { input, targetdir, force } => ccmcertfix::run(ctx, &input, &targetdir, force),
        c @ Command::Stage { .. } => stage::run(ctx, c),
        Command::Delta(d) => delta::run(ctx, d),
        Command::Build(b) => build::run(ctx, b),
    }
}

/// An error as one line: the library's message, with a hint naming the option that
/// changes the outcome where there is one.
fn render_error(e: &anyhow::Error) -> String {
    let Some(lib) = e.downcast_ref::<hotfixkit::Error>() else { return format!("{e:#}") };
    let hint = match lib.kind() {
        hotfixkit::ErrorKind::TimeLimit => " (--time-limit)",
        hotfixkit::ErrorKind::Exists if lib.message().contains("not empty") => " (use --force to write into it)",
        hotfixkit::ErrorKind::Exists if lib.message().ends_with("already exists") => " (use --force to replace)",
        hotfixkit::ErrorKind::Validation => " (use --force-apply to apply anyway)",
        hotfixkit::ErrorKind::Limit if lib.message().contains("files exceed") => " (--max-entries)",
        hotfixkit::ErrorKind::Limit if lib.message().contains("per-file limit") => " (--max-entry-bytes)",
        hotfixkit::ErrorKind::Limit if lib.message().contains("output would exceed") => " (--max-output-bytes)",
        _ => "",
    };
    let text = format!("{e:#}");
    format!("{text}{hint}")
}

/// Write a small output file through the library's safe writer (a temporary name in
/// the same folder, renamed into place when complete).
pub fn write_file(path: &std::path::Path, bytes: &[u8], opts: hotfixkit::WriteOptions) -> anyhow::Result<()> {
    hotfixkit::write_file(path, bytes, &opts)?;
    Ok(())
}
