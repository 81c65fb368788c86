//! Logins that never spin: a host that refuses the login without asking anything is tried
//! once and explained; a rejected password is asked for again with the reason; an
//! unreachable host is retried with growing pauses, then left for the user; at most one
//! attempt thread runs per host and closing the host ends it.
//!
//! The tests take turns: they count the process's threads.

mod common;

use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hangar::backend::error::ErrorKind;
use hangar::backend::login::{PromptAnswer, TypedPassword};
use hangar::backend::worker::{ConnectPhase, HostCommand, HostUpdate, HostWorker, WorkerOptions};

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const PATIENCE: Duration = Duration::from_secs(30);

/// Threads of this process, and of those the ones opening a connection ("open URI").
fn threads() -> (usize, usize) {
    let mut all = 0;
    let mut opening = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let Ok(task) = task else { continue };
        all += 1;
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if name.starts_with("open ") {
            opening += 1;
        }
    }
    (all, opening)
}

/// What a worker said over a stretch of time.
#[derive(Default)]
struct Tally {
    attempts: Vec<Instant>,
    failures: Vec<hangar::backend::error::BackendError>,
    pauses: Vec<Duration>,
    questions: usize,
}

impl Tally {
    fn note(&mut self, update: HostUpdate) {
        match update {
            HostUpdate::Phase(ConnectPhase::Opening) => self.attempts.push(Instant::now()),
            HostUpdate::Failed(error) => self.failures.push(error),
            HostUpdate::Retrying(pause) => self.pauses.push(pause),
            HostUpdate::CredentialsNeeded(_) => self.questions += 1,
            HostUpdate::Domains(_) => panic!("logged in where it must not"),
            _ => {}
        }
    }

    fn drain(&mut self, updates: &async_channel::Receiver<HostUpdate>) {
        while let Ok(update) = updates.try_recv() {
            self.note(update);
        }
    }
}

fn quick_options() -> WorkerOptions {
    WorkerOptions {
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(800),
        ..common::quick_options()
    }
}

/// Runs the default main context (where the host model applies its updates) for `time`.
fn run_main_context(context: &gtk::glib::MainContext, time: Duration) {
    let until = Instant::now() + time;
    while Instant::now() < until {
        while context.iteration(false) {}
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn polkit_without_an_agent_is_tried_once_for_a_minute() {
    use gtk::glib;
    use hangar::model::{Host, HostStatus};
    use std::cell::Cell;
    use std::rc::Rc;

    let Some(uri) = common::testbed_var("HANGAR_TEST_POLKIT_URI") else {
        return;
    };
    let _turn = turn();
    let context = glib::MainContext::default();
    let _owner = context.acquire().expect("own the main context");
    // The host as the app has it, with the app's own retry settings (a worker that retried
    // this would try about six times in the minute).
    let host = Host::new(&uri);
    let attempts = Rc::new(Cell::new(0u32));
    let failures = Rc::new(Cell::new(0u32));
    host.connect_status_notify({
        let (attempts, failures) = (attempts.clone(), failures.clone());
        move |host| match host.status() {
            HostStatus::Connecting => attempts.set(attempts.get() + 1),
            HostStatus::Failed => failures.set(failures.get() + 1),
            _ => {}
        }
    });
    host.connect_to_host();
    let failed = Instant::now();
    while failures.get() == 0 && failed.elapsed() < PATIENCE {
        run_main_context(&context, Duration::from_millis(100));
    }
    assert_eq!(failures.get(), 1, "the login failed within {PATIENCE:?}");
    let (threads_after_failure, _) = threads();
    let mut most_threads = threads_after_failure;
    let mut most_opening = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        run_main_context(&context, Duration::from_secs(1));
        let (all, opening) = threads();
        most_threads = most_threads.max(all);
        most_opening = most_opening.max(opening);
    }
    let (threads_at_end, _) = threads();
    let shown = host.error_message();
    println!(
        "polkit host over 60 s: {} attempt(s), {} failure(s); threads \
         {threads_after_failure} after the failure, at most {most_threads}, \
         {threads_at_end} at the end; opening threads at most {most_opening}",
        attempts.get(),
        failures.get(),
    );
    println!("the host shows: {shown}");
    assert_eq!(attempts.get(), 1, "one attempt only");
    assert_eq!(failures.get(), 1);
    assert_eq!(host.status(), HostStatus::Failed);
    assert!(shown.contains("polkit"), "{shown}");
    assert!(most_threads <= threads_after_failure, "threads grew");
    assert_eq!(most_opening, 0, "no attempt thread left running");

    // Retry is the user's: it tries exactly once more.
    host.retry();
    let retried = Instant::now();
    while failures.get() < 2 && retried.elapsed() < PATIENCE {
        run_main_context(&context, Duration::from_millis(100));
    }
    run_main_context(&context, Duration::from_secs(3));
    assert_eq!((attempts.get(), failures.get()), (2, 2));
    host.disconnect_from_host();
}

#[test]
fn a_rejected_typed_password_is_asked_for_again_with_the_reason() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _turn = turn();
    let mut settings = common::login_settings(&login);
    settings.typed_password = TypedPassword::new(Some("not-the-password".into()));
    let worker = HostWorker::start(login.uri.clone(), settings, quick_options());
    let updates = worker.updates();
    let mut attempts = 0;
    let prompt = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::CredentialsNeeded(prompt) => Some(prompt),
        HostUpdate::Phase(ConnectPhase::Opening) => {
            attempts += 1;
            None
        }
        HostUpdate::Failed(error) => panic!("gave up instead of asking: {error}"),
        _ => None,
    });
    let reason = prompt.reason.clone().expect("asked with the reason");
    println!("asked again after {attempts} attempt(s): {reason}");
    assert_eq!(attempts, 1, "the question belongs to the same attempt");
    assert!(reason.contains("did not accept"), "{reason}");
    prompt.answer(Some(PromptAnswer {
        username: login.user.clone(),
        password: login.password.as_str().into(),
        remember: false,
    }));
    common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::Domains(list) => list.iter().any(|d| d.name == guest).then_some(()),
        HostUpdate::CredentialsNeeded(_) => panic!("asked a third time"),
        _ => None,
    });
}

#[test]
fn an_unreachable_host_is_retried_with_growing_pauses_then_left_to_the_user() {
    let _turn = turn();
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
        listener.local_addr().expect("address").port()
    };
    // Now closed: every attempt is refused at once.
    let options = WorkerOptions {
        max_retries: 5,
        ..quick_options()
    };
    let worker = HostWorker::start(
        format!("qemu+tcp://127.0.0.1:{port}/system"),
        Default::default(),
        options,
    );
    let updates = worker.updates();
    let mut tally = Tally::default();
    let deadline = Instant::now() + PATIENCE;
    // Five retries, then a failure without a pause: six failures in all.
    while tally.failures.len() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        tally.drain(&updates);
    }
    std::thread::sleep(Duration::from_secs(3));
    tally.drain(&updates);
    let gaps: Vec<Duration> = tally
        .attempts
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .collect();
    println!("pauses {:?}, measured gaps {gaps:?}", tally.pauses);
    let millis: Vec<u128> = tally.pauses.iter().map(Duration::as_millis).collect();
    assert_eq!(millis, [100, 200, 400, 800, 800], "doubling, capped");
    assert_eq!(
        tally.attempts.len(),
        6,
        "the first attempt and five retries"
    );
    assert_eq!(tally.failures.len(), 6);
    assert_eq!(tally.failures[5].kind, ErrorKind::Unreachable);
    // The test looks every 20 ms, so a gap may read up to two looks short.
    let slack = Duration::from_millis(40);
    for (gap, pause) in gaps.iter().zip(&tally.pauses) {
        assert!(
            *gap + slack >= *pause,
            "waited {gap:?}, less than {pause:?}"
        );
    }
    assert!(gaps[3] > gaps[0] * 4, "the pauses grew: {gaps:?}");
    // Retry starts a new series.
    worker.send(HostCommand::Retry);
    common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::Retrying(pause) => {
            assert_eq!(pause, Duration::from_millis(100));
            Some(())
        }
        _ => None,
    });
}

#[test]
fn a_host_that_never_answers_has_one_attempt_thread_which_closing_ends() {
    let _turn = turn();
    // Accepts connections and never answers; counts them.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = listener.local_addr().expect("address").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let options = WorkerOptions {
        connect_timeout: Duration::from_millis(500),
        ..quick_options()
    };
    let worker = HostWorker::start(
        format!("qemu+tcp://127.0.0.1:{port}/system"),
        Default::default(),
        options,
    );
    let updates = worker.updates();
    let mut tally = Tally::default();
    let mut held = Vec::new();
    let mut most_opening = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(50));
        tally.drain(&updates);
        while let Ok((stream, _)) = listener.accept() {
            held.push(stream);
        }
        most_opening = most_opening.max(threads().1);
    }
    println!(
        "over 6 s: {} timeouts, {} connection(s) to the host, at most {most_opening} \
         opening thread(s)",
        tally.failures.len(),
        held.len()
    );
    assert!(tally.failures.len() >= 3, "timed out again and again");
    assert_eq!(held.len(), 1, "later attempts waited for the first");
    assert_eq!(most_opening, 1);
    // Closing the host cancels; the thread ends once libvirt's call returns.
    drop(worker);
    drop(held);
    let gone = Instant::now();
    while threads().1 > 0 && gone.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("attempt thread gone {:?} after closing", gone.elapsed());
    assert_eq!(threads().1, 0, "the attempt thread ended");
}

#[test]
fn closing_a_host_withdraws_its_question_and_ends_the_attempt() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let _turn = turn();
    let worker = HostWorker::start(
        login.uri.clone(),
        common::login_settings(&login),
        quick_options(),
    );
    let updates = worker.updates();
    let _prompt = common::next_update(&updates, PATIENCE, |update| match update {
        HostUpdate::CredentialsNeeded(prompt) => Some(prompt),
        _ => None,
    });
    assert_eq!(threads().1, 1, "the attempt waits for the answer");
    // The question stays on screen (the prompt is kept), but the host is closed.
    drop(worker);
    let closed = Instant::now();
    while threads().1 > 0 && closed.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("attempt ended {:?} after closing", closed.elapsed());
    assert_eq!(threads().1, 0, "the waiting attempt ended");
}
