//! libvirt's event loop on a thread of Hangar's own.
//!
//! libvirt needs an event loop for keepalives, domain events and close callbacks. Its default
//! implementation iterates GLib's default main context, which GTK's main loop owns: every
//! libvirt callback would then run on the GTK thread, and a thread started to run that loop
//! would only wait. This module gives libvirt a small `poll(2)` loop of its own instead
//! (`virEventRegisterImpl`), so nothing of libvirt ever runs on the GTK main thread.
//!
//! libvirt adds, changes and removes file watches and timers from any thread, also from
//! inside its own callbacks, so the callbacks run without the lock held. A removed entry is
//! only marked: the loop frees it (calling libvirt's free function) after the round in which
//! it might still have been dispatched, as libvirt requires.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::raw::{c_int, c_void};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use virt::sys;

/// One registered file watch or timer.
struct Entry<Callback> {
    id: c_int,
    callback: Callback,
    opaque: Opaque,
    free: sys::virFreeCallback,
    removed: bool,
}

/// libvirt's opaque pointer; libvirt makes it safe to use from the loop thread.
#[derive(Clone, Copy)]
struct Opaque(*mut c_void);

// SAFETY: libvirt hands these pointers to its event loop implementation precisely so that
// another thread (the loop) passes them back to libvirt's callbacks.
unsafe impl Send for Opaque {}

struct Watch {
    fd: c_int,
    /// `VIR_EVENT_HANDLE_*` bits libvirt wants to hear about; 0 while paused.
    events: c_int,
}

struct Timer {
    /// Milliseconds between calls; 0 means every round, negative means paused.
    interval_ms: c_int,
    next_due: Instant,
}

#[derive(Default)]
struct State {
    watches: Vec<(Entry<sys::virEventHandleCallback>, Watch)>,
    timers: Vec<(Entry<sys::virEventTimeoutCallback>, Timer)>,
    next_id: c_int,
}

impl State {
    fn new_id(&mut self) -> c_int {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }
}

struct EventLoop {
    state: Mutex<State>,
    /// Written to when the state changes, so a sleeping `poll` looks again.
    wake_read: OwnedFd,
    wake_write: OwnedFd,
}

static EVENT_LOOP: OnceLock<EventLoop> = OnceLock::new();

/// Registers the loop with libvirt and starts its thread; false when that was impossible
/// (libvirt then has no event loop: connections work, events and keepalives do not).
pub(super) fn start() -> bool {
    let Some((wake_read, wake_write)) = wake_pipe() else {
        return false;
    };
    let event_loop = EventLoop {
        state: Mutex::new(State::default()),
        wake_read,
        wake_write,
    };
    if EVENT_LOOP.set(event_loop).is_err() {
        return true;
    }
    let spawned = std::thread::Builder::new()
        .name("libvirt-events".into())
        .spawn(run);
    if spawned.is_err() {
        return false;
    }
    // SAFETY: the functions below follow the signatures and rules of virEventRegisterImpl;
    // this runs once, before any connection is opened.
    unsafe {
        sys::virEventRegisterImpl(
            Some(add_watch),
            Some(update_watch),
            Some(remove_watch),
            Some(add_timer),
            Some(update_timer),
            Some(remove_timer),
        );
    }
    true
}

fn wake_pipe() -> Option<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return None;
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe {
        use std::os::fd::FromRawFd;
        Some((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

fn event_loop() -> Option<&'static EventLoop> {
    EVENT_LOOP.get()
}

impl EventLoop {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the lists half-changed in a harmful way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
}

/// The loop thread: wait for file activity or the next timer, then call libvirt back.
fn run() {
    let Some(event_loop) = event_loop() else {
        return;
    };
    loop {
        let (mut polled, ids, timeout) = prepare(event_loop);
        // SAFETY: `polled` is a live array of pollfd structs of the given length.
        let ready =
            unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            let interrupted =
                std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
            if !interrupted {
                std::thread::sleep(Duration::from_millis(50));
            }
            continue;
        }
        event_loop.drain_wakes();
        dispatch_timers(event_loop);
        dispatch_watches(event_loop, &polled[1..], &ids);
        free_removed(event_loop);
    }
}

/// The descriptors to poll (the wake pipe first), the watch id of each, and how long to
/// sleep in milliseconds (-1: until something happens).
fn prepare(event_loop: &EventLoop) -> (Vec<libc::pollfd>, Vec<c_int>, c_int) {
    let state = event_loop.lock();
    let mut polled = vec![libc::pollfd {
        fd: event_loop.wake_read.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let mut ids = Vec::new();
    for (entry, watch) in &state.watches {
        if entry.removed || watch.events == 0 {
            continue;
        }
        polled.push(libc::pollfd {
            fd: watch.fd,
            events: poll_events(watch.events),
            revents: 0,
        });
        ids.push(entry.id);
    }
    let now = Instant::now();
    let timeout = state
        .timers
        .iter()
        .filter(|(entry, timer)| !entry.removed && timer.interval_ms >= 0)
        .map(|(_, timer)| timer.next_due.saturating_duration_since(now))
        .min()
        .map_or(-1, |wait| wait.as_millis().min(c_int::MAX as u128) as c_int);
    (polled, ids, timeout)
}

fn dispatch_timers(event_loop: &EventLoop) {
    let now = Instant::now();
    let due: Vec<(c_int, sys::virEventTimeoutCallback, Opaque)> = {
        let mut state = event_loop.lock();
        state
            .timers
            .iter_mut()
            .filter(|(entry, timer)| {
                !entry.removed && timer.interval_ms >= 0 && timer.next_due <= now
            })
            .map(|(entry, timer)| {
                timer.next_due = now + interval(timer.interval_ms);
                (entry.id, entry.callback, entry.opaque)
            })
            .collect()
    };
    for (id, callback, opaque) in due {
        // A timer removed by an earlier callback of this round is skipped.
        if !is_live_timer(event_loop, id) {
            continue;
        }
        if let Some(callback) = callback {
            // SAFETY: libvirt's own callback with the opaque pointer it registered with it.
            unsafe { callback(id, opaque.0) };
        }
    }
}

fn dispatch_watches(event_loop: &EventLoop, polled: &[libc::pollfd], ids: &[c_int]) {
    for (fd, id) in polled.iter().zip(ids) {
        if fd.revents == 0 {
            continue;
        }
        let wanted = live(&mut event_loop.lock().watches, *id)
            .map(|(entry, watch)| (entry.callback, entry.opaque, watch.fd, watch.events));
        let Some((Some(callback), opaque, raw_fd, events)) = wanted else {
            continue;
        };
        let happened = handle_events(fd.revents);
        // Errors and hang-ups are always reported; readiness only when asked for.
        let reported = happened & (events | HANDLE_ERROR | HANDLE_HANGUP);
        if reported != 0 {
            // SAFETY: libvirt's own callback with the opaque pointer it registered with it.
            unsafe { callback(*id, raw_fd, reported, opaque.0) };
        }
    }
}

/// Drops removed entries and lets libvirt free their data, outside the lock.
fn free_removed(event_loop: &EventLoop) {
    let freed: Vec<(sys::virFreeCallback, Opaque)> = {
        let mut state = event_loop.lock();
        let mut freed = Vec::new();
        state.watches.retain(|(entry, _)| {
            if entry.removed {
                freed.push((entry.free, entry.opaque));
            }
            !entry.removed
        });
        state.timers.retain(|(entry, _)| {
            if entry.removed {
                freed.push((entry.free, entry.opaque));
            }
            !entry.removed
        });
        freed
    };
    for (free, opaque) in freed {
        if let Some(free) = free {
            // SAFETY: called once per entry, with the pointer it was registered with.
            unsafe { free(opaque.0) };
        }
    }
}

fn is_live_timer(event_loop: &EventLoop, id: c_int) -> bool {
    live(&mut event_loop.lock().timers, id).is_some()
}

fn interval(interval_ms: c_int) -> Duration {
    Duration::from_millis(interval_ms.max(0) as u64)
}

const HANDLE_READABLE: c_int = sys::VIR_EVENT_HANDLE_READABLE as c_int;
const HANDLE_WRITABLE: c_int = sys::VIR_EVENT_HANDLE_WRITABLE as c_int;
const HANDLE_ERROR: c_int = sys::VIR_EVENT_HANDLE_ERROR as c_int;
const HANDLE_HANGUP: c_int = sys::VIR_EVENT_HANDLE_HANGUP as c_int;

/// libvirt's `VIR_EVENT_HANDLE_*` bits as `poll` events.
fn poll_events(events: c_int) -> libc::c_short {
    let mut polled = 0;
    if events & HANDLE_READABLE != 0 {
        polled |= libc::POLLIN;
    }
    if events & HANDLE_WRITABLE != 0 {
        polled |= libc::POLLOUT;
    }
    polled
}

/// What `poll` saw, as libvirt's `VIR_EVENT_HANDLE_*` bits.
fn handle_events(revents: libc::c_short) -> c_int {
    let mut events = 0;
    if revents & libc::POLLIN != 0 {
        events |= HANDLE_READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        events |= HANDLE_WRITABLE;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        events |= HANDLE_ERROR;
    }
    if revents & libc::POLLHUP != 0 {
        events |= HANDLE_HANGUP;
    }
    events
}

/// Runs `change` on the loop's state and wakes the loop; `missing` without a loop.
fn with_state<T>(missing: T, change: impl FnOnce(&mut State) -> T) -> T {
    let Some(event_loop) = event_loop() else {
        return missing;
    };
    let result = change(&mut event_loop.lock());
    event_loop.wake();
    result
}

/// Adds an entry with a fresh id to the list `pick` chooses.
fn add<Callback, Extra>(
    pick: impl FnOnce(&mut State) -> &mut Vec<(Entry<Callback>, Extra)>,
    callback: Callback,
    opaque: *mut c_void,
    free: sys::virFreeCallback,
    extra: Extra,
) -> c_int {
    with_state(-1, |state| {
        let id = state.new_id();
        let entry = Entry {
            id,
            callback,
            opaque: Opaque(opaque),
            free,
            removed: false,
        };
        pick(state).push((entry, extra));
        id
    })
}

/// The live (not removed) entry `id` of a list.
fn live<Callback, Extra>(
    entries: &mut [(Entry<Callback>, Extra)],
    id: c_int,
) -> Option<&mut (Entry<Callback>, Extra)> {
    entries
        .iter_mut()
        .find(|(entry, _)| entry.id == id && !entry.removed)
}

/// Marks entry `id` removed (freed by the loop later): 0, or -1 when there is none.
fn remove<Callback, Extra>(
    pick: impl FnOnce(&mut State) -> &mut Vec<(Entry<Callback>, Extra)>,
    id: c_int,
) -> c_int {
    with_state(-1, |state| match live(pick(state), id) {
        Some((entry, _)) => {
            entry.removed = true;
            0
        }
        None => -1,
    })
}

unsafe extern "C" fn add_watch(
    fd: c_int,
    events: c_int,
    callback: sys::virEventHandleCallback,
    opaque: *mut c_void,
    free: sys::virFreeCallback,
) -> c_int {
    let watch = Watch { fd, events };
    add(|state| &mut state.watches, callback, opaque, free, watch)
}

unsafe extern "C" fn update_watch(id: c_int, events: c_int) {
    with_state((), |state| {
        if let Some((_, watch)) = live(&mut state.watches, id) {
            watch.events = events;
        }
    });
}

unsafe extern "C" fn remove_watch(id: c_int) -> c_int {
    remove(|state| &mut state.watches, id)
}

unsafe extern "C" fn add_timer(
    interval_ms: c_int,
    callback: sys::virEventTimeoutCallback,
    opaque: *mut c_void,
    free: sys::virFreeCallback,
) -> c_int {
    let timer = Timer {
        interval_ms,
        next_due: Instant::now() + interval(interval_ms),
    };
    add(|state| &mut state.timers, callback, opaque, free, timer)
}

unsafe extern "C" fn update_timer(id: c_int, interval_ms: c_int) {
    with_state((), |state| {
        if let Some((_, timer)) = live(&mut state.timers, id) {
            timer.interval_ms = interval_ms;
            timer.next_due = Instant::now() + interval(interval_ms);
        }
    });
}

unsafe extern "C" fn remove_timer(id: c_int) -> c_int {
    remove(|state| &mut state.timers, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_results_map_to_libvirt_bits() {
        assert_eq!(
            poll_events(HANDLE_READABLE | HANDLE_WRITABLE),
            libc::POLLIN | libc::POLLOUT
        );
        assert_eq!(poll_events(0), 0);
        assert_eq!(handle_events(libc::POLLIN), HANDLE_READABLE);
        assert_eq!(
            handle_events(libc::POLLHUP | libc::POLLERR),
            HANDLE_HANGUP | HANDLE_ERROR
        );
    }

    /// A timer libvirt registers fires on the loop thread, and a removed one is freed there.
    #[test]
    fn timers_fire_on_the_loop_thread_and_are_freed_once() {
        use std::sync::mpsc;

        unsafe extern "C" fn tick(timer: c_int, opaque: *mut c_void) {
            let sender = &*(opaque as *const mpsc::Sender<(c_int, String)>);
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            let _ = sender.send((timer, thread));
        }
        unsafe extern "C" fn free(opaque: *mut c_void) {
            let sender = Box::from_raw(opaque as *mut mpsc::Sender<(c_int, String)>);
            let _ = sender.send((-1, "freed".into()));
        }

        assert!(start());
        let (sender, receiver) = mpsc::channel::<(c_int, String)>();
        let opaque = Box::into_raw(Box::new(sender)) as *mut c_void;
        // SAFETY: `tick` and `free` match libvirt's callback types; `opaque` lives until freed.
        let id = unsafe { add_timer(10, Some(tick), opaque, Some(free)) };
        let (fired, thread) = receiver
            .recv_timeout(Duration::from_secs(5))
            .expect("the timer fires");
        assert_eq!(fired, id);
        assert_eq!(thread, "libvirt-events");
        // SAFETY: `id` is the timer registered above.
        assert_eq!(unsafe { remove_timer(id) }, 0);
        let freed = std::iter::from_fn(|| receiver.recv_timeout(Duration::from_secs(5)).ok())
            .any(|(timer, _)| timer == -1);
        assert!(freed, "the removed timer is freed");
    }
}
