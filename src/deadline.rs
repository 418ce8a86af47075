//! The wall-clock budget of one run (`--time-limit`, default one hour). Decoders check it
//! per block and writers per write, so an over-long run stops through the ordinary error
//! path (temporary files removed). The command line adds a watchdog that ends the
//! process 10 s after the deadline in case a third-party call never returns to a check.

use crate::error::{Error, ErrorKind, Result};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The default budget.
pub const DEFAULT: Duration = Duration::from_secs(3600);

static DEADLINE: OnceLock<(Instant, Duration)> = OnceLock::new();

/// Start the budget (once per process; later calls are ignored). Returns whether this
/// call set it, so the caller can start the watchdog.
pub fn start(budget: Duration) -> bool {
    DEADLINE.set((Instant::now() + budget, budget)).is_ok()
}

/// The message for a spent budget.
pub fn show(d: Duration) -> String {
    format!("{:.3} s (--time-limit)", d.as_secs_f64())
}

/// An error once the budget is spent.
#[inline]
pub fn check() -> Result<()> {
    match DEADLINE.get() {
        Some((at, budget)) if Instant::now() > *at => {
            Err(Error::new(ErrorKind::TimeLimit, format!("time limit of {} exceeded", show(*budget))))
        }
        _ => Ok(()),
    }
}
