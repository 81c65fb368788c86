//! The loop core driven round by round on the test's thread (real pipes and `poll(2)`, or a
//! stand-in `poll` that fails), and the libvirt glue on its real thread.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::raw::{c_int, c_void};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::core::{
    handle_events, poll_events, retry_delay, system_poll, EventLoopCore, EventLoopStatus,
    FreeCallback, ERROR, HANGUP, READABLE, WRITABLE,
};
use super::*;

/// What the callbacks did, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().expect("log lock").push(line);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("log lock"))
    }
}

/// A core whose reports go to the returned log; leaked so callbacks can hold it.
fn new_core() -> (&'static EventLoopCore, Log) {
    let reports = Log::default();
    let sink = reports.clone();
    let core =
        EventLoopCore::new(Box::new(move |line| sink.push(line.to_owned()))).expect("a wake pipe");
    (Box::leak(Box::new(core)), reports)
}

/// One round with the real `poll`, never sleeping longer than 100 ms.
fn round(core: &EventLoopCore) {
    let mut poll = |polled: &mut [libc::pollfd], timeout: c_int| {
        let bounded = if timeout < 0 { 100 } else { timeout.min(100) };
        system_poll(polled, bounded)
    };
    core.run_once(&mut poll).expect("poll works");
}

fn rounds(core: &EventLoopCore, count: usize) {
    (0..count).for_each(|_| round(core));
}

/// Runs `test` on a thread and fails instead of hanging when it deadlocks.
fn without_deadlock(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the test finishes (no deadlock, no panic)");
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn write_byte(fd: &OwnedFd) {
    // SAFETY: writes one byte from a live buffer to an open pipe.
    assert_eq!(
        unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) },
        1
    );
}

fn on_watch(log: &Log, name: &'static str) -> Arc<dyn Fn(c_int, RawFd, c_int) + Send + Sync> {
    let log = log.clone();
    Arc::new(move |_, _, events| log.push(format!("{name} {events}")))
}

fn on_timer(log: &Log, name: &'static str) -> Arc<dyn Fn(c_int) + Send + Sync> {
    let log = log.clone();
    Arc::new(move |_| log.push(name.to_owned()))
}

fn on_free(log: &Log, name: &'static str) -> Option<FreeCallback> {
    let log = log.clone();
    Some(Box::new(move || log.push(format!("free {name}"))))
}

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|seen| *seen == line).count()
}

#[test]
fn poll_results_map_to_libvirt_bits() {
    assert_eq!(
        [READABLE, WRITABLE, ERROR, HANGUP],
        [
            sys::VIR_EVENT_HANDLE_READABLE as c_int,
            sys::VIR_EVENT_HANDLE_WRITABLE as c_int,
            sys::VIR_EVENT_HANDLE_ERROR as c_int,
            sys::VIR_EVENT_HANDLE_HANGUP as c_int,
        ]
    );
    assert_eq!(
        poll_events(READABLE | WRITABLE),
        libc::POLLIN | libc::POLLOUT
    );
    assert_eq!(poll_events(0), 0);
    assert_eq!(handle_events(libc::POLLIN), READABLE);
    assert_eq!(handle_events(libc::POLLNVAL), ERROR);
    assert_eq!(handle_events(libc::POLLHUP | libc::POLLERR), HANGUP | ERROR);
}

#[test]
fn a_readable_pipe_fires_its_watch_and_a_paused_watch_stays_quiet() {
    let (core, _) = new_core();
    let log = Log::default();
    let (read_end, write_end) = pipe();
    let fd = read_end.as_raw_fd();
    core.add_watch(fd, READABLE, on_watch(&log, "reader"), None);
    core.add_watch(fd, 0, on_watch(&log, "paused"), None);
    let wants_writable = core.add_watch(fd, READABLE, on_watch(&log, "writer"), None);
    core.update_watch(wants_writable, WRITABLE);

    round(core);
    assert_eq!(log.take(), Vec::<String>::new(), "nothing to read yet");

    write_byte(&write_end);
    round(core);
    assert_eq!(log.take(), [format!("reader {READABLE}")]);
}

#[test]
fn watches_changed_by_an_earlier_callback_get_only_what_they_want_now() {
    let (core, _) = new_core();
    let log = Log::default();
    let (read_end, write_end) = pipe();
    let fd = read_end.as_raw_fd();
    let ids: Arc<Mutex<Vec<c_int>>> = Arc::default();
    let first = {
        let (log, ids) = (log.clone(), ids.clone());
        Arc::new(move |_, _, _| {
            let ids = ids.lock().expect("ids").clone();
            log.push("first".into());
            core.update_watch(ids[1], 0);
            assert_eq!(core.remove_watch(ids[2]), 0);
            core.update_watch(ids[3], WRITABLE);
            // Removal frees later, never inside the call that removes.
            log.push("removed".into());
        })
    };
    let new_ids = [
        core.add_watch(fd, READABLE, first, None),
        core.add_watch(fd, READABLE, on_watch(&log, "paused"), None),
        core.add_watch(
            fd,
            READABLE,
            on_watch(&log, "removed"),
            on_free(&log, "removed"),
        ),
        core.add_watch(fd, READABLE, on_watch(&log, "now-writer"), None),
        core.add_watch(fd, READABLE, on_watch(&log, "untouched"), None),
    ];
    *ids.lock().expect("ids") = new_ids.to_vec();

    write_byte(&write_end);
    without_deadlock(move || round(core));
    assert_eq!(
        log.take(),
        [
            "first".to_owned(),
            "removed".to_owned(),
            format!("untouched {READABLE}"),
            "free removed".to_owned(),
        ]
    );
}

#[test]
fn timers_fire_every_round_never_or_when_due() {
    let (core, _) = new_core();
    let log = Log::default();
    core.add_timer(0, on_timer(&log, "every"), None);
    core.add_timer(-1, on_timer(&log, "never"), None);
    core.add_timer(30, on_timer(&log, "later"), None);

    let started = Instant::now();
    rounds(core, 3);
    let fired = log.take();
    assert_eq!(count(&fired, "every"), 3);
    assert_eq!(count(&fired, "never"), 0);
    assert_eq!(
        count(&fired, "later"),
        0,
        "not due after {:?}",
        started.elapsed()
    );

    // Rounds now sleep until the 30 ms timer is due, and not much longer.
    while count(&log.take(), "later") == 0 {
        round(core);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the timer fires"
        );
    }
    let waited = started.elapsed();
    println!("a 30 ms timer fired after {waited:?}");
    assert!(
        waited >= Duration::from_millis(30),
        "fired early: {waited:?}"
    );
}

#[test]
fn timers_paused_or_rearmed_by_an_earlier_callback_do_not_fire_in_that_round() {
    let (core, _) = new_core();
    let log = Log::default();
    let ids: Arc<Mutex<Vec<c_int>>> = Arc::default();
    let first = {
        let (log, ids) = (log.clone(), ids.clone());
        Arc::new(move |_| {
            let ids = ids.lock().expect("ids").clone();
            log.push("first".into());
            core.update_timer(ids[1], -1);
            core.update_timer(ids[2], 10_000);
            core.update_timer(ids[3], 0);
            assert_eq!(core.remove_timer(ids[4]), 0);
            // Disarm itself so later rounds show the others alone.
            core.update_timer(ids[0], -1);
        })
    };
    let new_ids = [
        core.add_timer(0, first, None),
        core.add_timer(0, on_timer(&log, "paused"), None),
        core.add_timer(0, on_timer(&log, "rearmed-later"), None),
        core.add_timer(0, on_timer(&log, "rearmed-now"), None),
        core.add_timer(0, on_timer(&log, "removed"), on_free(&log, "removed")),
        core.add_timer(0, on_timer(&log, "untouched"), None),
    ];
    *ids.lock().expect("ids") = new_ids.to_vec();

    without_deadlock(move || round(core));
    assert_eq!(log.take(), ["first", "untouched", "free removed"]);

    // In the next round the one re-armed to "every round" fires again; the others do not.
    round(core);
    let next = log.take();
    assert_eq!(count(&next, "rearmed-now"), 1);
    assert_eq!(count(&next, "untouched"), 1);
    for quiet in ["first", "paused", "rearmed-later", "removed"] {
        assert_eq!(count(&next, quiet), 0, "{quiet} fired: {next:?}");
    }
}

#[test]
fn callbacks_add_and_remove_entries_and_each_free_runs_once_outside_the_lock() {
    let (core, _) = new_core();
    let log = Log::default();
    let (read_end, write_end) = pipe();
    let fd = read_end.as_raw_fd();
    let own_id: Arc<Mutex<c_int>> = Arc::default();
    let self_removing = {
        let (log, own_id) = (log.clone(), own_id.clone());
        Arc::new(move |_, _, _| {
            log.push("watch".into());
            let id = *own_id.lock().expect("id");
            assert_eq!(core.remove_watch(id), 0);
            assert_eq!(core.remove_watch(id), -1, "removed only once");
            core.add_timer(0, on_timer(&log, "added"), None);
        })
    };
    // The free callback calls back into the loop, as libvirt's do: it must not deadlock.
    let free_and_add: Option<FreeCallback> = {
        let log = log.clone();
        Some(Box::new(move || {
            log.push("free watch".into());
            core.add_timer(0, on_timer(&log, "added by free"), None);
        }))
    };
    *own_id.lock().expect("id") = core.add_watch(fd, READABLE, self_removing, free_and_add);

    write_byte(&write_end);
    without_deadlock(move || rounds(core, 3));
    let seen = log.take();
    assert_eq!(count(&seen, "watch"), 1, "{seen:?}");
    assert_eq!(count(&seen, "free watch"), 1, "{seen:?}");
    // Added during round 1: quiet in that round, then every round.
    assert_eq!(count(&seen, "added"), 2, "{seen:?}");
    assert_eq!(count(&seen, "added by free"), 2, "{seen:?}");
    assert_eq!(seen[..2], ["watch", "free watch"]);
}

#[test]
fn a_failing_poll_is_reported_once_and_recovery_too() {
    let (core, reports) = new_core();
    let mut failures = 3;
    let mut poll = |_: &mut [libc::pollfd], _: c_int| {
        if failures == 0 {
            return Ok(0);
        }
        failures -= 1;
        Err(io::Error::from_raw_os_error(libc::ENOMEM))
    };
    for _ in 0..3 {
        assert!(core.run_once(&mut poll).is_err());
    }
    let reported = reports.take();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(
        reported[0].contains("cannot wait for events"),
        "{reported:?}"
    );
    let EventLoopStatus::Failed(reason) = core.status() else {
        panic!("status after failed polls: {:?}", core.status());
    };
    assert_eq!(reason, reported[0]);

    core.run_once(&mut poll).expect("poll works again");
    assert_eq!(core.status(), EventLoopStatus::Running);
    assert_eq!(reports.take().len(), 1, "recovery is reported once");

    let mut interrupted = |_: &mut [libc::pollfd], _: c_int| -> io::Result<c_int> {
        Err(io::Error::from_raw_os_error(libc::EINTR))
    };
    core.run_once(&mut interrupted)
        .expect("EINTR is no failure");
    assert_eq!(core.status(), EventLoopStatus::Running);
    assert!(reports.take().is_empty());
}

#[test]
fn a_failing_poll_is_retried_with_growing_pauses_not_in_a_busy_loop() {
    assert_eq!(retry_delay(1), Duration::from_millis(50));
    assert_eq!(retry_delay(2), Duration::from_millis(100));
    assert_eq!(retry_delay(100), Duration::from_secs(5));

    let (core, reports) = new_core();
    let polls = Arc::new(Mutex::new(0u32));
    let counter = polls.clone();
    let runner = std::thread::spawn(move || {
        core.run(move |_, _| {
            *counter.lock().expect("count") += 1;
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    core.stop();
    runner.join().expect("the loop stops");
    let polls = *polls.lock().expect("count");
    println!("failing poll called {polls} times in 500 ms");
    assert!((2..=6).contains(&polls), "{polls} polls in 500 ms");
    assert_eq!(reports.take().len(), 1);
}

#[test]
fn a_watch_on_a_descriptor_that_is_not_open_hears_once_and_does_not_spin() {
    let (core, reports) = new_core();
    let log = Log::default();
    // A descriptor no test opens (far above the usual limits), so POLLNVAL is certain.
    let closed: RawFd = 1 << 29;
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    assert_eq!(unsafe { libc::fcntl(closed, libc::F_GETFD) }, -1);
    let kept = core.add_watch(closed, READABLE, on_watch(&log, "kept"), None);
    let removing = {
        let log = log.clone();
        Arc::new(move |id, _, events| {
            log.push(format!("removing {events}"));
            core.remove_watch(id);
        })
    };
    core.add_watch(closed, READABLE, removing, on_free(&log, "removing"));

    round(core);
    assert_eq!(
        log.take(),
        [
            format!("kept {ERROR}"),
            format!("removing {ERROR}"),
            "free removing".to_owned()
        ]
    );
    // Later rounds sleep their full 100 ms (but one, woken by the removal) instead of
    // returning at once for the closed descriptor.
    let started = Instant::now();
    rounds(core, 3);
    let spent = started.elapsed();
    println!("3 rounds after a watch on a closed descriptor took {spent:?}");
    assert!(spent >= Duration::from_millis(190), "{spent:?}");
    assert!(log.take().is_empty());
    let reported = reports.take();
    assert_eq!(
        reported.len(),
        1,
        "only the kept watch is reported: {reported:?}"
    );
    assert!(reported[0].contains("not open"), "{reported:?}");
    assert_eq!(core.status(), EventLoopStatus::Running);

    // libvirt changing the watch makes the loop look at it again.
    core.update_watch(kept, READABLE);
    round(core);
    assert_eq!(log.take(), [format!("kept {ERROR}")]);
}

#[test]
fn a_loop_thread_that_does_not_start_is_reported() {
    let (core, _) = new_core();
    let failed = launch(core, |_| Err(io::Error::from_raw_os_error(libc::EAGAIN)));
    let error = failed.expect_err("the spawn failed");
    let sentence = error.to_string();
    assert!(sentence.contains("could not start"), "{sentence}");
    assert!(sentence.contains("thread"), "{sentence}");
    assert_eq!(core.status(), EventLoopStatus::Failed(sentence));
}

/// Through libvirt's entry points: a timer and a pipe watch fire on the loop thread, and
/// removed ones are freed there.
#[test]
fn libvirt_callbacks_run_on_the_loop_thread_and_are_freed_once() {
    type Sender = mpsc::Sender<(String, String)>;
    unsafe extern "C" fn tick(_: c_int, opaque: *mut c_void) {
        let sender = &*(opaque as *const Sender);
        let _ = sender.send(("timer".into(), thread_name()));
    }
    unsafe extern "C" fn readable(_: c_int, _: c_int, events: c_int, opaque: *mut c_void) {
        let sender = &*(opaque as *const Sender);
        let _ = sender.send((format!("watch {events}"), thread_name()));
    }
    unsafe extern "C" fn free(opaque: *mut c_void) {
        let sender = Box::from_raw(opaque as *mut Sender);
        let _ = sender.send(("freed".into(), thread_name()));
    }
    fn thread_name() -> String {
        std::thread::current().name().unwrap_or_default().to_owned()
    }

    assert_eq!(start(), Ok(()));
    assert_eq!(start(), Ok(()), "a second start changes nothing");
    assert_eq!(event_loop_status(), EventLoopStatus::Running);
    let (sender, receiver) = mpsc::channel::<(String, String)>();
    let next = || {
        receiver
            .recv_timeout(Duration::from_secs(5))
            .expect("the loop calls back")
    };
    let timer_opaque = Box::into_raw(Box::new(sender.clone())) as *mut c_void;
    let watch_opaque = Box::into_raw(Box::new(sender)) as *mut c_void;
    let (read_end, write_end) = pipe();
    // SAFETY: the callbacks match libvirt's types; each opaque lives until its free runs.
    let (timer, watch) = unsafe {
        (
            add_timer(10, Some(tick), timer_opaque, Some(free)),
            add_watch(
                read_end.as_raw_fd(),
                READABLE,
                Some(readable),
                watch_opaque,
                Some(free),
            ),
        )
    };
    assert_eq!(next(), ("timer".into(), "libvirt-events".into()));
    // SAFETY: `timer` is the timer registered above.
    assert_eq!(unsafe { remove_timer(timer) }, 0);
    write_byte(&write_end);
    let mut seen: Vec<String> = Vec::new();
    while !seen.contains(&format!("watch {READABLE}")) || !seen.contains(&"freed".into()) {
        let (what, thread) = next();
        assert_eq!(thread, "libvirt-events");
        seen.push(what);
    }
    // SAFETY: `watch` is the watch registered above.
    assert_eq!(unsafe { remove_watch(watch) }, 0);
    while next().0 != "freed" {}
    assert_eq!(unsafe { remove_watch(watch) }, -1, "gone once removed");
}
