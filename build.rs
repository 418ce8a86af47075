//! Build script: tells the integration tests which optional inputs and tools this machine
//! has, so that a test needing a missing one is compiled as ignored (and reports itself
//! so) rather than passing without checking anything. `HOTFIXKIT_REQUIRE_CORPUS=1` turns
//! every such test on, so that a missing input fails instead.
//!
//! Checked: the shared corpus (`HOTFIXKIT_SHARED`, else `../shared` beside the checkout)
//! holding `msp/vectors`; `wine` and `x86_64-w64-mingw32-gcc` on the PATH. Installing a
//! tool later needs a rebuild of the tests (`touch build.rs`).

use std::path::PathBuf;

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file())).unwrap_or(false)
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hotfixkit_shared)");
    println!("cargo::rustc-check-cfg=cfg(hotfixkit_wine)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=HOTFIXKIT_SHARED");
    println!("cargo::rerun-if-env-changed=HOTFIXKIT_REQUIRE_CORPUS");
    let require = std::env::var("HOTFIXKIT_REQUIRE_CORPUS").is_ok_and(|v| v == "1");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let shared = std::env::var_os("HOTFIXKIT_SHARED").map(PathBuf::from).unwrap_or_else(|| manifest.join("../shared"));
    let vectors = shared.join("msp/vectors");
    if vectors.is_dir() {
        println!("cargo::rerun-if-changed={}", vectors.display());
    }
    if require || vectors.is_dir() {
        println!("cargo::rustc-cfg=hotfixkit_shared");
    }
    if require || (on_path("wine") && on_path("x86_64-w64-mingw32-gcc")) {
        println!("cargo::rustc-cfg=hotfixkit_wine");
    }
}
