//! Integration tests: the real `hotfixkit` binary on real files (the project's fixtures,
//! and the shared corpus when it is present beside the checkout).

mod admin;
mod cabs;
mod cli;
mod corpus;
mod delta;
mod delta_encode;
mod fuzz_replay;
#[cfg(unix)] // links are planted with std::os::unix::fs::symlink
mod hostile;
mod kb977203;
mod msp;
mod tidy;
mod util;
mod verify;
