//! How long a worker has been waiting on its host: set around the work of the connected
//! period, read by the UI thread without waiting for the worker.
//!
//! A host that stops answering (a stopped daemon, a dead link) leaves the worker blocked in
//! a libvirt call until libvirt's keepalive gives up; this lets the window say so at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared between a worker thread and its handle.
#[derive(Clone, Default)]
pub(super) struct BusyClock(Arc<Mutex<Option<Instant>>>);

impl BusyClock {
    /// Marks the worker busy until the returned guard is dropped.
    pub(super) fn enter(&self) -> BusyGuard<'_> {
        self.set(Some(Instant::now()));
        BusyGuard(self)
    }

    /// How long the current piece of work has taken so far; `None` while idle.
    pub(super) fn busy_for(&self) -> Option<Duration> {
        let started = *self.0.lock().ok()?;
        started.map(|started| started.elapsed())
    }

    fn set(&self, value: Option<Instant>) {
        if let Ok(mut started) = self.0.lock() {
            *started = value;
        }
    }
}

pub(super) struct BusyGuard<'a>(&'a BusyClock);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_only_while_the_guard_lives() {
        let clock = BusyClock::default();
        assert_eq!(clock.busy_for(), None);
        {
            let _busy = clock.enter();
            std::thread::sleep(Duration::from_millis(20));
            assert!(clock
                .busy_for()
                .is_some_and(|busy| busy >= Duration::from_millis(20)));
        }
        assert_eq!(clock.busy_for(), None);
    }
}
