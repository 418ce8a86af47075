//! The `hotfixkit` command: parse, call the library, render, choose the exit code.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
