//! The `hotfixkit` command: parse, call the library, render, choose the exit code.

fn main() {
    std::process::exit(hotfixkit::cli::run());
}
