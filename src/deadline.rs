//! A run's wall-clock budget as a value: decoders check it per block and writers per
//! write, so an over-long run stops through the ordinary error path (temporary files
//! removed). Nothing here is process-wide; a caller that wants a hard stop as well (the
//! command line does) adds its own watchdog.

use crate::error::{Error, ErrorKind, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// When a run must stop: after a time budget, when a flag is raised (Ctrl-C), or never.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deadline {
    at: Option<(Instant, Duration)>,
    cancel: Option<&'static AtomicBool>,
}

impl Deadline {
    /// No time limit.
    pub const NONE: Deadline = Deadline { at: None, cancel: None };

    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline { at: Instant::now().checked_add(budget).map(|at| (at, budget)), cancel: None }
    }

    /// Also stop once `flag` is set (by a signal handler, say).
    pub fn or_when(mut self, flag: &'static AtomicBool) -> Deadline {
        self.cancel = Some(flag);
        self
    }

    /// The budget this deadline was made with.
    pub fn budget(&self) -> Option<Duration> {
        self.at.map(|(_, b)| b)
    }

    /// An error of kind [`ErrorKind::TimeLimit`] once the deadline has passed.
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.cancel.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(Error::new(ErrorKind::Cancelled, "interrupted"));
        }
        match self.at {
            Some((at, budget)) if Instant::now() > at => {
                Err(Error::new(ErrorKind::TimeLimit, format!("time limit of {:.3} s exceeded", budget.as_secs_f64())))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_is_an_error_and_none_never_is() {
        assert!(Deadline::NONE.check().is_ok());
        let d = Deadline::after(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(d.check().unwrap_err().kind(), ErrorKind::TimeLimit);
        assert!(Deadline::after(Duration::from_secs(60)).check().is_ok());
        static FLAG: AtomicBool = AtomicBool::new(false);
        let d = Deadline::NONE.or_when(&FLAG);
        assert!(d.check().is_ok());
        FLAG.store(true, Ordering::Relaxed);
        assert_eq!(d.check().unwrap_err().kind(), ErrorKind::Cancelled);
    }
}
