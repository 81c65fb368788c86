//! The event loop itself, free of libvirt: file watches and timers with Rust callbacks, one
//! round at a time, around a `poll` function the caller provides (the real `poll(2)`, or a
//! test's stand-in). `mod.rs` connects it to libvirt.
//!
//! Callbacks run without the lock held, so they may add, change and remove watches and timers.
//! Every callback is checked against the current state just before it runs: a watch or timer
//! that an earlier callback of the same round removed, paused, changed or re-armed does not
//! run with what the round saw before. Removed entries are only marked, and freed (their free
//! callback called, outside the lock) after the round in which they might still have run.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Event bits, with the values of libvirt's `VIR_EVENT_HANDLE_*`.
pub const READABLE: c_int = 1;
pub const WRITABLE: c_int = 2;
pub const ERROR: c_int = 4;
pub const HANGUP: c_int = 8;

/// Called with the watch id, its descriptor and what happened (event bits).
pub type WatchCallback = Arc<dyn Fn(c_int, RawFd, c_int) + Send + Sync>;
/// Called with the timer id.
pub type TimerCallback = Arc<dyn Fn(c_int) + Send + Sync>;
/// Releases what a callback uses, once its watch or timer is gone.
pub type FreeCallback = Box<dyn FnOnce() + Send>;
/// Receives the loop's reports (one plain sentence each) for the log.
pub type Reporter = Box<dyn Fn(&str) + Send + Sync>;

/// Whether the loop does its work, for the application to show or log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventLoopStatus {
    /// Nobody started it yet.
    NotStarted,
    Running,
    /// It could not start, or cannot wait for events; the reason as a plain sentence.
    Failed(String),
}

struct Entry<Callback> {
    id: c_int,
    callback: Callback,
    free: Option<FreeCallback>,
    removed: bool,
}

struct Watch {
    entry: Entry<WatchCallback>,
    fd: RawFd,
    /// Event bits wanted; 0 while paused.
    events: c_int,
    /// `poll` said the descriptor is not open: not polled again until the watch changes,
    /// or the loop would spin on it.
    not_open: bool,
}

struct Timer {
    entry: Entry<TimerCallback>,
    /// Milliseconds between calls; 0 means every round, negative means paused.
    interval_ms: c_int,
    due: Instant,
    /// Changes whenever the timer is re-armed, so a round can tell it was.
    generation: u64,
}

impl Timer {
    fn is_due(&self, now: Instant) -> bool {
        !self.entry.removed && self.interval_ms >= 0 && self.due <= now
    }
}

struct State {
    watches: Vec<Watch>,
    timers: Vec<Timer>,
    next_id: c_int,
    status: EventLoopStatus,
}

impl State {
    fn new_id(&mut self) -> c_int {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }

    fn live_watch(&mut self, id: c_int) -> Option<&mut Watch> {
        self.watches
            .iter_mut()
            .find(|watch| watch.entry.id == id && !watch.entry.removed)
    }

    fn live_timer(&mut self, id: c_int) -> Option<&mut Timer> {
        self.timers
            .iter_mut()
            .find(|timer| timer.entry.id == id && !timer.entry.removed)
    }
}

/// What one round polls: the wake pipe first, then one descriptor per watch.
struct Round {
    polled: Vec<libc::pollfd>,
    /// The watch id of each `polled[i + 1]`.
    watch_ids: Vec<c_int>,
    timeout_ms: c_int,
}

/// The watches, timers and wake pipe of one event loop; `run` drives it on a thread.
pub struct EventLoopCore {
    state: Mutex<State>,
    /// Written to when the state changes, so a sleeping `poll` looks again.
    wake_read: OwnedFd,
    wake_write: OwnedFd,
    report: Reporter,
    stopping: AtomicBool,
}

impl EventLoopCore {
    /// A loop with nothing to watch; `report` receives its log lines.
    pub fn new(report: Reporter) -> io::Result<Self> {
        let (wake_read, wake_write) = wake_pipe()?;
        Ok(Self {
            state: Mutex::new(State {
                watches: Vec::new(),
                timers: Vec::new(),
                next_id: 0,
                status: EventLoopStatus::Running,
            }),
            wake_read,
            wake_write,
            report,
            stopping: AtomicBool::new(false),
        })
    }

    pub fn status(&self) -> EventLoopStatus {
        self.lock().status.clone()
    }

    /// Marks the loop failed for a reason found outside it (its thread did not start).
    pub fn fail(&self, reason: String) {
        self.lock().status = EventLoopStatus::Failed(reason);
    }

    pub fn add_watch(
        &self,
        fd: RawFd,
        events: c_int,
        callback: WatchCallback,
        free: Option<FreeCallback>,
    ) -> c_int {
        self.change(|state| {
            let id = state.new_id();
            let entry = Entry {
                id,
                callback,
                free,
                removed: false,
            };
            state.watches.push(Watch {
                entry,
                fd,
                events,
                not_open: false,
            });
            id
        })
    }

    pub fn update_watch(&self, id: c_int, events: c_int) {
        self.change(|state| {
            if let Some(watch) = state.live_watch(id) {
                watch.events = events;
                watch.not_open = false;
            }
        });
    }

    /// 0, or -1 when there is no such watch. Its free callback runs after the current round.
    pub fn remove_watch(&self, id: c_int) -> c_int {
        self.change(|state| mark_removed(state.live_watch(id).map(|watch| &mut watch.entry)))
    }

    pub fn add_timer(
        &self,
        interval_ms: c_int,
        callback: TimerCallback,
        free: Option<FreeCallback>,
    ) -> c_int {
        self.change(|state| {
            let id = state.new_id();
            let entry = Entry {
                id,
                callback,
                free,
                removed: false,
            };
            state.timers.push(Timer {
                entry,
                interval_ms,
                due: Instant::now() + interval(interval_ms),
                generation: 0,
            });
            id
        })
    }

    /// Sets a new interval, counted from now (negative pauses the timer).
    pub fn update_timer(&self, id: c_int, interval_ms: c_int) {
        self.change(|state| {
            if let Some(timer) = state.live_timer(id) {
                timer.interval_ms = interval_ms;
                timer.due = Instant::now() + interval(interval_ms);
                timer.generation = timer.generation.wrapping_add(1);
            }
        });
    }

    /// 0, or -1 when there is no such timer. Its free callback runs after the current round.
    pub fn remove_timer(&self, id: c_int) -> c_int {
        self.change(|state| mark_removed(state.live_timer(id).map(|timer| &mut timer.entry)))
    }

    /// Runs rounds until `stop`. A failing `poll` is reported once and retried with a
    /// growing pause, never in a busy loop.
    pub fn run(&self, mut poll: impl FnMut(&mut [libc::pollfd], c_int) -> io::Result<c_int>) {
        let mut failures = 0;
        while !self.stopping.load(Ordering::Acquire) {
            match self.run_once(&mut poll) {
                Ok(()) => failures = 0,
                Err(_) => {
                    failures += 1;
                    std::thread::sleep(retry_delay(failures));
                }
            }
        }
    }

    /// Makes `run` return after its current round (the app's loop runs for the process).
    #[cfg(test)]
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake();
    }

    /// One round: wait with `poll`, then run the timers that are due and the watches that
    /// saw activity, then free what was removed. Err when `poll` failed (not interrupted).
    pub fn run_once(
        &self,
        poll: &mut impl FnMut(&mut [libc::pollfd], c_int) -> io::Result<c_int>,
    ) -> io::Result<()> {
        let mut round = self.prepare();
        let polled = poll(&mut round.polled, round.timeout_ms);
        let result = match polled {
            Ok(_) => {
                self.poll_worked();
                self.drain_wakes();
                self.dispatch_timers();
                self.dispatch_watches(&round);
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(error) => {
                self.poll_failed(&error);
                Err(error)
            }
        };
        // Also after a failed poll: libvirt's objects must not wait for a poll that works.
        self.free_removed();
        result
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the lists half-changed in a harmful way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `change` on the state and wakes the loop to look at it.
    fn change<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let result = change(&mut self.lock());
        self.wake();
        result
    }

    fn wake(&self) {
        let byte = 1u8;
        // SAFETY: writes one byte from a live buffer; a full pipe already means "wake up".
        unsafe { libc::write(self.wake_write.as_raw_fd(), (&byte as *const u8).cast(), 1) };
    }

    fn drain_wakes(&self) {
        let mut buffer = [0u8; 64];
        // SAFETY: reads into a live buffer of the given size; the pipe is non-blocking.
        while unsafe {
            libc::read(
                self.wake_read.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
            )
        } > 0
        {}
    }

    /// The descriptors to poll and how long to sleep (-1: until something happens).
    fn prepare(&self) -> Round {
        let state = self.lock();
        let mut round = Round {
            polled: vec![pollfd(self.wake_read.as_raw_fd(), libc::POLLIN)],
            watch_ids: Vec::new(),
            timeout_ms: -1,
        };
        for watch in &state.watches {
            if watch.entry.removed || watch.events == 0 || watch.not_open {
                continue;
            }
            round
                .polled
                .push(pollfd(watch.fd, poll_events(watch.events)));
            round.watch_ids.push(watch.entry.id);
        }
        let now = Instant::now();
        round.timeout_ms = state
            .timers
            .iter()
            .filter(|timer| !timer.entry.removed && timer.interval_ms >= 0)
            .map(|timer| timer.due.saturating_duration_since(now))
            .min()
            .map_or(-1, whole_milliseconds);
        round
    }

    fn dispatch_timers(&self) {
        let now = Instant::now();
        let due: Vec<(c_int, u64)> = self
            .lock()
            .timers
            .iter()
            .filter(|timer| timer.is_due(now))
            .map(|timer| (timer.entry.id, timer.generation))
            .collect();
        for (id, generation) in due {
            let callback = {
                let mut state = self.lock();
                // An earlier callback of this round may have removed, paused or re-armed it.
                let Some(timer) = state.live_timer(id) else {
                    continue;
                };
                if timer.generation != generation || !timer.is_due(now) {
                    continue;
                }
                timer.due = now + interval(timer.interval_ms);
                timer.entry.callback.clone()
            };
            callback(id);
        }
    }

    fn dispatch_watches(&self, round: &Round) {
        for (polled, &id) in round.polled[1..].iter().zip(&round.watch_ids) {
            if polled.revents == 0 {
                continue;
            }
            let not_open = polled.revents & libc::POLLNVAL != 0;
            let (callback, fd, reported) = {
                let mut state = self.lock();
                // An earlier callback of this round may have removed or changed it: report
                // only what the watch asks for now (errors and hang-ups always).
                let Some(watch) = state.live_watch(id) else {
                    continue;
                };
                let reported = handle_events(polled.revents) & (watch.events | ERROR | HANGUP);
                if watch.events == 0 || watch.not_open || reported == 0 {
                    continue;
                }
                watch.not_open = not_open;
                (watch.entry.callback.clone(), watch.fd, reported)
            };
            callback(id, fd, reported);
            if not_open {
                self.report_if_still_not_open(id, fd);
            }
        }
    }

    /// A watch on a closed descriptor that its owner kept after hearing of the error is
    /// paused (polling it again would return at once, forever) and reported once.
    fn report_if_still_not_open(&self, id: c_int, fd: RawFd) {
        let paused = self
            .lock()
            .live_watch(id)
            .is_some_and(|watch| watch.not_open);
        if paused {
            (self.report)(&format!(
                "libvirt's event loop: watch {id} is on file descriptor {fd}, which is not \
                 open; it is paused until libvirt changes it"
            ));
        }
    }

    fn poll_worked(&self) {
        let recovered = {
            let mut state = self.lock();
            let failed = matches!(state.status, EventLoopStatus::Failed(_));
            state.status = EventLoopStatus::Running;
            failed
        };
        if recovered {
            (self.report)("libvirt's event loop waits for events again");
        }
    }

    /// Marks the loop failed and reports it, once per run of failures.
    fn poll_failed(&self, error: &io::Error) {
        let reason = format!(
            "libvirt's event loop cannot wait for events ({error}): domain changes and lost \
             connections are noticed late until it works again"
        );
        let first = {
            let mut state = self.lock();
            let first = state.status == EventLoopStatus::Running;
            if first {
                state.status = EventLoopStatus::Failed(reason.clone());
            }
            first
        };
        if first {
            (self.report)(&reason);
        }
    }

    /// Drops removed entries and calls their free callbacks, outside the lock.
    fn free_removed(&self) {
        let freed: Vec<FreeCallback> = {
            let mut state = self.lock();
            let mut freed = Vec::new();
            state
                .watches
                .retain_mut(|watch| keep(&mut watch.entry, &mut freed));
            state
                .timers
                .retain_mut(|timer| keep(&mut timer.entry, &mut freed));
            freed
        };
        for free in freed {
            free();
        }
    }
}

/// Marks `entry` removed: 0, or -1 when there is none.
fn mark_removed<Callback>(entry: Option<&mut Entry<Callback>>) -> c_int {
    match entry {
        Some(entry) => {
            entry.removed = true;
            0
        }
        None => -1,
    }
}

/// False for a removed entry, whose free callback goes to `freed`.
fn keep<Callback>(entry: &mut Entry<Callback>, freed: &mut Vec<FreeCallback>) -> bool {
    if entry.removed {
        freed.extend(entry.free.take());
    }
    !entry.removed
}

/// The real `poll(2)`.
pub fn system_poll(polled: &mut [libc::pollfd], timeout_ms: c_int) -> io::Result<c_int> {
    // SAFETY: `polled` is a live array of pollfd structs of the given length.
    let ready = unsafe {
        libc::poll(
            polled.as_mut_ptr(),
            polled.len() as libc::nfds_t,
            timeout_ms,
        )
    };
    if ready < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ready)
    }
}

/// The pause before retrying after `failures` failed polls in a row: 50 ms, doubling, at
/// most 5 s.
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(7);
    Duration::from_millis(50 << doublings).min(Duration::from_secs(5))
}

fn wake_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

fn interval(interval_ms: c_int) -> Duration {
    Duration::from_millis(interval_ms.max(0) as u64)
}

/// A wait as `poll`'s timeout, rounded up so the loop does not wake just before a timer.
fn whole_milliseconds(wait: Duration) -> c_int {
    wait.as_micros().div_ceil(1000).min(c_int::MAX as u128) as c_int
}

/// Event bits as `poll` events.
pub fn poll_events(events: c_int) -> libc::c_short {
    let mut polled = 0;
    if events & READABLE != 0 {
        polled |= libc::POLLIN;
    }
    if events & WRITABLE != 0 {
        polled |= libc::POLLOUT;
    }
    polled
}

/// What `poll` saw, as event bits (a descriptor that is not open counts as an error).
pub fn handle_events(revents: libc::c_short) -> c_int {
    let mut events = 0;
    if revents & libc::POLLIN != 0 {
        events |= READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        events |= WRITABLE;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        events |= ERROR;
    }
    if revents & libc::POLLHUP != 0 {
        events |= HANGUP;
    }
    events
}
