//! Containment for third-party crates that panic on malformed input (`lzxd`): the panic
//! becomes an error. Our own readers are never wrapped, so a fuzzer sees their panics.
//!
//! The library installs no panic hook. A program that wants the contained panics to print
//! nothing installs its own hook and asks [`panic_is_contained`] (the `hotfixkit` binary
//! does).

use crate::error::{Error, ErrorKind, Result};
use std::cell::Cell;

thread_local! {
    static CONTAINED: Cell<u32> = const { Cell::new(0) };
}

/// Whether the current thread is inside a call whose panics the library turns into
/// errors; a panic hook can stay silent for those.
pub fn panic_is_contained() -> bool {
    CONTAINED.with(|q| q.get() > 0)
}

/// Run `f`; a panic inside it is returned as a format error instead of unwinding further.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Result<T> {
    CONTAINED.with(|q| q.set(q.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINED.with(|q| q.set(q.get().saturating_sub(1)));
    r.map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown fault".into());
        Error::new(ErrorKind::Format, format!("malformed input rejected by a reader ({what})"))
    })
}
