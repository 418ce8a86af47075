//! Containment for third-party crates that panic on malformed input: the panic becomes
//! an error and prints nothing.

use crate::error::{Error, ErrorKind, Result};
use std::cell::Cell;
use std::sync::Once;

thread_local! {
    static QUIET: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| q.get()) == 0 {
                previous(info);
            }
        }));
    });
}

/// Run `f`; a panic inside it is returned as a format error instead of unwinding further.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T> {
    install_hook();
    QUIET.with(|q| q.set(q.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(q.get().saturating_sub(1)));
    r.map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown fault".into());
        Error::new(ErrorKind::Format, format!("malformed input rejected by a reader ({what})"))
    })
}
