//! libvirt's event loop on a thread of Hangar's own.
//!
//! libvirt needs an event loop for keepalives, domain events and close callbacks. Its default
//! implementation iterates GLib's default main context, which GTK's main loop owns: every
//! libvirt callback would then run on the GTK thread, and a thread started to run that loop
//! would only wait. This module gives libvirt a small `poll(2)` loop of its own instead
//! (`virEventRegisterImpl`), so nothing of libvirt ever runs on the GTK main thread.
//!
//! The loop itself is in `core` and knows nothing of libvirt; this file wraps libvirt's
//! callbacks and opaque pointers into it, starts the thread and says how the loop fares.

mod core;
#[cfg(test)]
mod tests;

use std::io;
use std::os::raw::{c_int, c_void};
use std::sync::{Arc, OnceLock};

use virt::sys;

pub use self::core::EventLoopStatus;
use self::core::{EventLoopCore, FreeCallback};

/// Why the event loop could not start, as a plain sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError(String);

impl StartError {
    fn new(what_failed: &str, error: &io::Error) -> Self {
        Self(format!(
            "libvirt's event loop could not start: {what_failed} ({error}). Hosts still \
             connect, but domain changes and lost connections are noticed late"
        ))
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

static EVENT_LOOP: OnceLock<EventLoopCore> = OnceLock::new();
static STARTED: OnceLock<Result<(), StartError>> = OnceLock::new();

/// Starts the loop's thread and registers the loop with libvirt, once per process; later
/// calls return the first call's result. On error libvirt has no event loop: connections
/// work, events and keepalives do not.
pub(super) fn start() -> Result<(), StartError> {
    STARTED.get_or_init(start_once).clone()
}

/// How the loop fares: not started, running, or failed with the reason.
pub fn event_loop_status() -> EventLoopStatus {
    match STARTED.get() {
        None => EventLoopStatus::NotStarted,
        Some(Err(error)) => EventLoopStatus::Failed(error.to_string()),
        Some(Ok(())) => EVENT_LOOP
            .get()
            .map_or(EventLoopStatus::NotStarted, EventLoopCore::status),
    }
}

fn start_once() -> Result<(), StartError> {
    let core = EventLoopCore::new(Box::new(|message| eprintln!("hangar: {message}")))
        .map_err(|error| StartError::new("no pipe to wake it up", &error))?;
    let core = EVENT_LOOP.get_or_init(|| core);
    launch(core, |run| {
        std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(run)
            .map(drop)
    })?;
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
    Ok(())
}

/// Runs `core` on the thread `spawn` starts; a thread that did not start marks it failed.
fn launch(
    core: &'static EventLoopCore,
    spawn: impl FnOnce(Box<dyn FnOnce() + Send>) -> io::Result<()>,
) -> Result<(), StartError> {
    spawn(Box::new(|| core.run(self::core::system_poll))).map_err(|error| {
        let error = StartError::new("its thread did not start", &error);
        core.fail(error.to_string());
        error
    })
}

fn event_loop() -> Option<&'static EventLoopCore> {
    EVENT_LOOP.get()
}

/// libvirt's opaque pointer; libvirt makes it safe to use from the loop thread.
#[derive(Clone, Copy)]
struct Opaque(*mut c_void);

// SAFETY: libvirt hands these pointers to its event loop implementation precisely so that
// another thread (the loop) passes them back to libvirt's callbacks; the loop calls them
// from one thread at a time.
unsafe impl Send for Opaque {}
unsafe impl Sync for Opaque {}

impl Opaque {
    /// The pointer; a method so closures capture the whole (sendable) `Opaque`.
    fn pointer(self) -> *mut c_void {
        self.0
    }
}

/// libvirt's free function for `opaque`, as the core's free callback.
fn free_callback(free: sys::virFreeCallback, opaque: Opaque) -> Option<FreeCallback> {
    let free = free?;
    // SAFETY: the core calls it once, after the entry's last callback, with the pointer it
    // was registered with.
    Some(Box::new(move || unsafe { free(opaque.pointer()) }))
}

unsafe extern "C" fn add_watch(
    fd: c_int,
    events: c_int,
    callback: sys::virEventHandleCallback,
    opaque: *mut c_void,
    free: sys::virFreeCallback,
) -> c_int {
    let (Some(event_loop), Some(callback)) = (event_loop(), callback) else {
        return -1;
    };
    let opaque = Opaque(opaque);
    let on_event = Arc::new(move |watch, fd, events| {
        // SAFETY: libvirt's own callback with the opaque pointer it registered with it.
        unsafe { callback(watch, fd, events, opaque.pointer()) }
    });
    event_loop.add_watch(fd, events, on_event, free_callback(free, opaque))
}

unsafe extern "C" fn update_watch(watch: c_int, events: c_int) {
    if let Some(event_loop) = event_loop() {
        event_loop.update_watch(watch, events);
    }
}

unsafe extern "C" fn remove_watch(watch: c_int) -> c_int {
    event_loop().map_or(-1, |event_loop| event_loop.remove_watch(watch))
}

unsafe extern "C" fn add_timer(
    interval_ms: c_int,
    callback: sys::virEventTimeoutCallback,
    opaque: *mut c_void,
    free: sys::virFreeCallback,
) -> c_int {
    let (Some(event_loop), Some(callback)) = (event_loop(), callback) else {
        return -1;
    };
    let opaque = Opaque(opaque);
    let on_time = Arc::new(move |timer| {
        // SAFETY: libvirt's own callback with the opaque pointer it registered with it.
        unsafe { callback(timer, opaque.pointer()) }
    });
    event_loop.add_timer(interval_ms, on_time, free_callback(free, opaque))
}

unsafe extern "C" fn update_timer(timer: c_int, interval_ms: c_int) {
    if let Some(event_loop) = event_loop() {
        event_loop.update_timer(timer, interval_ms);
    }
}

unsafe extern "C" fn remove_timer(timer: c_int) -> c_int {
    event_loop().map_or(-1, |event_loop| event_loop.remove_timer(timer))
}
