//! The `hotfixkit` command: parse, call the library, render, choose the exit code.

mod cli;

fn main() {
    // glibc gives every thread that allocates its own malloc arena; with a decoding and a
    // writing thread per cabinet folder that costs ~12 MB of peak RSS on a 20,000-file
    // package for no measurable speed. One arena it is.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tuning and is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // Panics the library contains (a third-party decoder's, on malformed input) become
    // errors and print nothing; any other panic is a bug, reported in one line.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !hotfixkit::panic_is_contained() {
            default(info);
        }
    }));
    std::process::exit(cli::run());
}
