//! The command line: each command parses its arguments, calls one library function,
//! renders the result and picks the exit code (0 ok, 1 findings, 2 error, 130
//! interrupted). The only code that prints.

mod args;
mod build;
mod ccmcertfix;
mod delta;
mod diff;
mod extract;
mod info;
mod manifest;
mod msiexec;
mod signature;
mod stage;
mod streams;
mod tables;
mod verify;

pub use args::Cli;
use args::Command;
use clap::Parser;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The default time budget of a run.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3600);

/// Raised by Ctrl-C (or SIGTERM): the library stops at its next check, removes its
/// temporary files, and the process exits 130.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// What every command gets besides its own arguments.
pub struct Ctx {
    /// `--quiet`: only errors and the one-line verdict.
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

/// A usage error: the arguments contradict each other or name too much.
pub fn usage(msg: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(hotfixkit::Error::new(hotfixkit::ErrorKind::Usage, msg.to_string()))
}

/// `--json` and `--format F` must agree: the format the command renders.
pub fn pick_format<F: Copy + PartialEq + clap::ValueEnum>(
    ctx: &Ctx,
    format: Option<F>,
    json: F,
    default: F,
) -> anyhow::Result<F> {
    match (ctx.json, format) {
        (true, Some(f)) if f != json => {
            let name = f.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
            Err(usage(format!("--json and --format {name} ask for two different outputs; give one")))
        }
        (true, _) => Ok(json),
        (false, f) => Ok(f.unwrap_or(default)),
    }
}

/// Global flags written after an msiexec command line (`hotfixkit msiexec /a X /qn
/// --json`) belong to hotfixkit, not to msiexec: they are moved in front of it.
fn normalise_args(mut args: Vec<String>) -> Vec<String> {
    let Some(at) = args.iter().position(|a| a == "msiexec") else { return args };
    let mut moved = Vec::new();
    let mut i = at + 1;
    while i < args.len() {
        match args[i].as_str() {
            "--json" | "--quiet" | "-q" | "--no-fsync" => moved.push(args.remove(i)),
            "--time-limit" if i + 1 < args.len() => {
                moved.push(args.remove(i));
                moved.push(args.remove(i));
            }
            a if a.starts_with("--time-limit=") => moved.push(args.remove(i)),
            _ => i += 1,
        }
    }
    for (k, a) in moved.into_iter().enumerate() {
        args.insert(at + k, a);
    }
    args
}

/// Entry point: returns the exit code.
pub fn run() -> i32 {
    let args = normalise_args(std::env::args().collect());
    let wants_json = args.iter().any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if code == 2 && wants_json {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
                let err = hotfixkit::Error::new(hotfixkit::ErrorKind::Usage, first.clone());
                let _ = json_out(&hotfixkit::ErrorReport { error: err, text: first });
            }
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
    // Ctrl-C: the first asks the run to stop cleanly, a second ends it at once.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let ctx = Ctx {
        quiet: cli.quiet,
        json: cli.json,
        write: hotfixkit::WriteOptions {
            overwrite: false,
            fsync: !cli.no_fsync,
            deadline: hotfixkit::Deadline::after(budget).or_when(&INTERRUPTED),
        },
    };
    let code = match dispatch(&ctx, cli.command) {
        Ok(code) => code,
        Err(e) => {
            let line = render_error(&e);
            if ctx.json {
                let _ = json_out(&error_json(&e, &line));
            }
            eprintln!("hotfixkit: error: {line}");
            2
        }
    };
    if INTERRUPTED.load(Ordering::SeqCst) {
        if !ctx.json {
            eprintln!("hotfixkit: interrupted; files not finished were removed");
        }
        return 130;
    }
    code
}

fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Info { file } => info::run(ctx, &file),
        c @ Command::Tables { .. } => tables::run(ctx, c),
        c @ Command::Extract { .. } => extract::run(ctx, c),
        Command::Msiexec { args } => msiexec::run(ctx, &args),
        c @ Command::Verify { .. } => verify::run(ctx, c),
        Command::Manifest(m) => manifest::run(ctx, m),
        Command::Streams { package, output, out } => streams::run(ctx, &package, output.as_deref(), out.force),
        Command::Ccmcertfix { input, output, out } => ccmcertfix::run(ctx, &input, &output, out.force),
        c @ Command::Stage { .. } => stage::run(ctx, c),
        Command::Signature { file, trust } => signature::run(ctx, &file, &trust),
        Command::Delta(d) => delta::run(ctx, d),
        Command::Build(b) => build::run(ctx, b),
        Command::Diff(d) => diff::run(ctx, &d),
    }
}

/// An error as one line: the library's message, with a hint naming the option that
/// changes the outcome where there is one.
pub fn render_error(e: &anyhow::Error) -> String {
    let Some(lib) = e.downcast_ref::<hotfixkit::Error>() else { return format!("{e:#}") };
    format!("{e:#}{}", hint(lib))
}

/// The option that changes the outcome of a library error, if one does.
pub fn hint(e: &hotfixkit::Error) -> &'static str {
    let m = e.message();
    match e.kind() {
        hotfixkit::ErrorKind::TimeLimit => " (--time-limit)",
        hotfixkit::ErrorKind::Exists if m.contains("not empty") => " (use --force to write into it)",
        hotfixkit::ErrorKind::Exists if m.ends_with("already exists") => " (use --force to replace)",
        hotfixkit::ErrorKind::Validation => " (use --force-apply to apply anyway)",
        hotfixkit::ErrorKind::Limit if m.contains("files exceed") => " (--max-entries)",
        hotfixkit::ErrorKind::Limit if m.contains("per-file limit") => " (--max-entry-bytes)",
        hotfixkit::ErrorKind::Limit if m.contains("output would exceed") => " (--max-output-bytes)",
        _ => "",
    }
}

/// The JSON form of an error: `{"error": {kind, file, locations, message}, "text"}`.
fn error_json(e: &anyhow::Error, line: &str) -> hotfixkit::ErrorReport {
    let error = match e.downcast_ref::<hotfixkit::Error>() {
        Some(lib) => lib.clone(),
        None => hotfixkit::Error::new(hotfixkit::ErrorKind::Usage, format!("{e:#}")),
    };
    hotfixkit::ErrorReport { error, text: line.to_string() }
}

/// Write a small output file through the library's safe writer (a temporary name in
/// the same folder, renamed into place when complete).
pub fn write_file(path: &std::path::Path, bytes: &[u8], opts: hotfixkit::WriteOptions) -> anyhow::Result<()> {
    hotfixkit::write_file(path, bytes, &opts)?;
    Ok(())
}

/// Errors collapsed to one line per cause: errors with one operating-system cause
/// (a read-only or full target) become one line with a count.
pub fn collapse(errors: &[hotfixkit::Error]) -> Vec<String> {
    let mut lines: Vec<(String, Option<(String, usize)>)> = Vec::new();
    for e in errors {
        let key = match (e.kind(), e.cause()) {
            (hotfixkit::ErrorKind::TimeLimit | hotfixkit::ErrorKind::Cancelled, _) => Some(format!("{:?}", e.kind())),
            (_, Some(c)) => Some(c.to_string()),
            _ => None,
        };
        match key {
            Some(k) => match lines.iter_mut().find(|l| l.1.as_ref().is_some_and(|x| x.0 == k)) {
                Some(l) => {
                    if let Some(x) = l.1.as_mut() {
                        x.1 += 1;
                    }
                }
                None => lines.push((format!("{e}{}", hint(e)), Some((k, 1)))),
            },
            None => lines.push((format!("{e}{}", hint(e)), None)),
        }
    }
    lines
        .into_iter()
        .map(|(text, group)| match group {
            Some((_, n)) if n > 1 => format!("{text} (and {} more files for the same reason)", n - 1),
            _ => text,
        })
        .collect()
}
