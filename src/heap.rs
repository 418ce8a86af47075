//! Handing memory the allocator keeps back to the system.

/// Return the free memory the allocator holds to the system. Planning a package of many
/// files frees its table rows and scratch state before any file is written; glibc keeps
/// those pages (in the middle of its heap) unless asked, and they would count towards the
/// peak resident size for the rest of the run. Elsewhere this does nothing.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own heap.
    unsafe {
        libc::malloc_trim(0);
    }
}
