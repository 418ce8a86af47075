//! The `hotfixkit` command: parse, call the library, render, choose the exit code.

fn main() {
    // glibc gives every thread that allocates its own malloc arena; with a decoding and a
    // writing thread per cabinet folder that costs ~12 MB of peak RSS on a 20,000-file
    // package for no measurable speed. One arena it is.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tuning and is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    std::process::exit(hotfixkit::cli::run());
}
