//! Shared helpers for the integration tests.
//!
//! Tests that need the test bed (a private libvirtd, a desktop session) read what
//! `tests/testbed/run.sh` exports. Outside it they skip, unless HANGAR_REQUIRE_TESTBED is set
//! (as `make test` does), where a missing test bed is a failure, never a silent skip.

#![allow(dead_code)]

pub mod fixtures;
pub mod network_guest;
pub mod screen;
pub mod xvnc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The value of a test bed variable, or `None` (with a note) when the test should skip.
pub fn testbed_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var_os("HANGAR_REQUIRE_TESTBED").is_some() => {
            panic!("{name} is not set: run the tests through tests/testbed/run.sh (make test)")
        }
        _ => {
            eprintln!("skipped: {name} is not set (run through tests/testbed/run.sh)");
            None
        }
    }
}

/// Whether `program` is on PATH. A missing one skips the check, except under
/// HANGAR_REQUIRE_TESTBED (`make test`), where tools/install-deps.sh should have installed it.
pub fn have_program(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join(program).is_file()) {
        return true;
    }
    if std::env::var_os("HANGAR_REQUIRE_TESTBED").is_some() {
        panic!("{program} is not installed: run tools/install-deps.sh");
    }
    eprintln!("skipped: {program} is not installed (tools/install-deps.sh installs it)");
    false
}

pub fn demo_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/demo/demo-host.xml")
}

pub fn demo_uri() -> String {
    format!("test://{}", demo_fixture().display())
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The SASL credentials of the test bed's libvirtd.
pub struct SaslLogin {
    pub uri: String,
    pub user: String,
    pub password: String,
}

pub fn sasl_login() -> Option<SaslLogin> {
    let uri = testbed_var("HANGAR_TEST_LIBVIRT_URI")?;
    let user = testbed_var("HANGAR_TEST_SASL_USER")?;
    let password_file = testbed_var("HANGAR_TEST_SASL_PASSWORD_FILE")?;
    let password = std::fs::read_to_string(password_file)
        .expect("read the test bed's password file")
        .trim_end()
        .to_owned();
    Some(SaslLogin {
        uri,
        user,
        password,
    })
}

/// Runs `virsh` against the test bed's admin socket (no authentication).
pub fn admin_virsh(args: &[&str]) -> String {
    let uri = testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
    let output = std::process::Command::new("virsh")
        .arg("-c")
        .arg(&uri)
        .args(args)
        .output()
        .expect("run virsh");
    assert!(
        output.status.success(),
        "virsh {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The Hangar binary running under the test bed's desktop; killed by PID when dropped.
pub struct RunningApp {
    child: std::process::Child,
    log_path: PathBuf,
}

/// GApplication makes a second instance hand over to the first, so every test that starts
/// the binary takes its turn.
static APP_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn app_turn() -> std::sync::MutexGuard<'static, ()> {
    APP_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RunningApp {
    /// Starts `hangar ARGS` with the test bed's environment; `None` outside the test bed.
    pub fn start(args: &[&str]) -> Option<(Self, std::sync::MutexGuard<'static, ()>)> {
        Self::start_with_env(args, &[])
    }

    /// Like `start`, with extra environment variables for the app alone.
    pub fn start_with_env(
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Option<(Self, std::sync::MutexGuard<'static, ()>)> {
        testbed_var("HANGAR_TEST_DESKTOP")?;
        let turn = app_turn();
        wait_until_no_instance_runs();
        let log_path = std::env::temp_dir().join(format!("hangar-ui-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("app log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_hangar"))
            .args(args)
            .envs(env.iter().copied())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start hangar");
        Some((Self { child, log_path }, turn))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (it has not crashed or quit).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits until every name is on screen (AT-SPI); returns what the helper printed.
    pub fn wait_for_names(&self, timeout_s: u32, names: &[&str]) -> Result<String, String> {
        let pid = self.pid().to_string();
        let timeout = timeout_s.to_string();
        let mut args = vec!["wait-names", "--pid", &pid, "Hangar", &timeout];
        args.extend_from_slice(names);
        run_atspi(&args).map_err(|dump| format!("{dump}\n{}\n{}", self.log(), self.stacks()))
    }

    /// Waits until none of `absent` is on screen while all of `present` are, read in the same
    /// walk of the app's tree: a crashed app or a broken reader never passes as "absent".
    pub fn wait_until_gone(
        &self,
        timeout_s: u32,
        present: &[&str],
        absent: &[&str],
    ) -> Result<String, String> {
        let pid = self.pid().to_string();
        let timeout = timeout_s.to_string();
        let mut args = vec!["wait-gone", "--pid", &pid, "Hangar", &timeout, "--present"];
        args.extend_from_slice(present);
        args.push("--absent");
        args.extend_from_slice(absent);
        run_atspi(&args)
    }

    /// Where the on-screen element called `name` is on the screen (AT-SPI).
    pub fn extents(&self, name: &str) -> Result<screen::Area, String> {
        let pid = self.pid().to_string();
        let output = run_atspi(&["extents", "--pid", &pid, "Hangar", name])?;
        screen::Area::parse(&output).ok_or_else(|| format!("odd extents: {output:?}"))
    }

    /// The app's thread stacks (when gdb is there), for failure messages.
    pub fn stacks(&self) -> String {
        let output = std::process::Command::new("gdb")
            .args(["-batch", "-ex", "thread apply all bt", "-p"])
            .arg(self.pid().to_string())
            .output();
        match output {
            Ok(output) => String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|line| line.starts_with('#') || line.starts_with("Thread"))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(_) => String::new(),
        }
    }

    /// What the app printed, for failure messages.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        format!("--- hangar's output ---\n{text}")
    }

    /// Saves a screenshot of the whole screen under target/screenshots/.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        let status = std::process::Command::new("import")
            .args(["-window", "root"])
            .arg(&path)
            .status()
            .expect("run import");
        assert!(status.success(), "screenshot failed");
        path
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// A previous instance killed a moment ago may still own the app's D-Bus name; a new one
/// started then would hand its command line to the dying one and quit.
fn wait_until_no_instance_runs() {
    let name_is_owned = || {
        std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:io.github.hangarvm.Hangar",
            ])
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("boolean true"))
    };
    let free = wait_for(Duration::from_secs(10), || (!name_is_owned()).then_some(()));
    assert!(
        free.is_some(),
        "another Hangar still owns the session bus name"
    );
}

/// Runs tests/ui/atspi.py with `args`; its failure fails the test, with what it printed.
pub fn atspi(args: &[&str]) {
    run_atspi(args).unwrap_or_else(|error| panic!("{args:?}: {error}"));
}

/// Clicks the on-screen element called `name` (of AT-SPI role `role`, when given) in the app
/// with process id `pid`.
pub fn click(pid: &str, role: Option<&str>, name: &str) {
    let mut args = vec!["click", "--pid", pid];
    if let Some(role) = role {
        args.extend(["--role", role]);
    }
    args.extend(["Hangar", name]);
    atspi(&args);
}

/// Runs tests/ui/atspi.py with Debian's Python (pyatspi lives there).
pub fn run_atspi(args: &[&str]) -> Result<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui/atspi.py");
    let output = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .args(args)
        .output()
        .expect("run atspi.py");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs `tests/testbed/libvirtd.sh ACTION` (stop, launch, restart) on the test bed's daemon.
pub fn testbed_libvirtd(action: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/libvirtd.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .arg(action)
        .output()
        .expect("run libvirtd.sh");
    assert!(
        output.status.success(),
        "libvirtd.sh {action} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A backend session to the test bed's daemon over TCP+SASL, answering its questions with
/// `login`.
pub fn open_session(login: &SaslLogin) -> hangar::backend::libvirt::session::HostSession {
    let mut answer = |request: &hangar::backend::libvirt::ffi::CredentialRequest| {
        use hangar::backend::libvirt::ffi::{CredentialAnswer, CredentialKind};
        match request.kind {
            CredentialKind::Username => Some(CredentialAnswer::Text(login.user.clone())),
            _ => Some(CredentialAnswer::Secret(login.password.as_str().into())),
        }
    };
    hangar::backend::libvirt::session::HostSession::open(&login.uri, &mut answer)
        .expect("open a session to the test bed")
}

/// Login settings for the test bed's SASL user, with nothing saved.
pub fn login_settings(login: &SaslLogin) -> hangar::backend::login::LoginSettings {
    hangar::backend::login::LoginSettings {
        username: Some(login.user.clone()),
        host_name: "test bed".into(),
        ..Default::default()
    }
}

/// Worker options that make tests quick: short pauses and timeouts.
pub fn quick_options() -> hangar::backend::worker::WorkerOptions {
    hangar::backend::worker::WorkerOptions {
        refresh_interval: Duration::from_secs(600),
        connect_timeout: Duration::from_secs(5),
        auto_reconnect: true,
        first_backoff: Duration::from_millis(300),
        max_backoff: Duration::from_secs(2),
        max_retries: 30,
    }
}

/// A worker logged in to the test bed's libvirtd with its password, once its first list came.
pub fn connected_worker(
    login: &SaslLogin,
    options: hangar::backend::worker::WorkerOptions,
) -> (
    hangar::backend::worker::HostWorker,
    async_channel::Receiver<hangar::backend::worker::HostUpdate>,
) {
    use hangar::backend::worker::{HostUpdate, HostWorker};
    let mut settings = login_settings(login);
    settings.typed_password =
        hangar::backend::password::Password::from_text(&login.password).into();
    let worker = HostWorker::start(login.uri.clone(), settings, options);
    let updates = worker.updates();
    next_update(&updates, Duration::from_secs(30), |update| match update {
        HostUpdate::Domains(_) => Some(()),
        HostUpdate::Failed(error) => panic!("connect failed: {error}"),
        _ => None,
    });
    (worker, updates)
}

/// Waits for the row of `guest`; a login question on the way fails the test (the worker was
/// expected to log in with what it has).
pub fn wait_for_guest(
    updates: &async_channel::Receiver<hangar::backend::worker::HostUpdate>,
    timeout: Duration,
    guest: &str,
) {
    use hangar::backend::worker::HostUpdate;
    next_update(updates, timeout, |update| match update {
        HostUpdate::Domains(list) => list.iter().any(|domain| domain.name == guest).then_some(()),
        HostUpdate::CredentialsNeeded(prompt) => panic!("asked for credentials: {prompt:?}"),
        _ => None,
    })
}

/// Reads updates until `pick` returns something, answering nothing else; panics after
/// `timeout` with what was seen.
pub fn next_update<T>(
    updates: &async_channel::Receiver<hangar::backend::worker::HostUpdate>,
    timeout: Duration,
    mut pick: impl FnMut(hangar::backend::worker::HostUpdate) -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        match updates.try_recv() {
            Ok(update) => {
                seen.push(format!("{update:?}"));
                if let Some(found) = pick(update) {
                    return found;
                }
            }
            Err(async_channel::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(async_channel::TryRecvError::Closed) => panic!("the worker ended; saw {seen:#?}"),
        }
        if std::time::Instant::now() > deadline {
            panic!("nothing matched within {timeout:?}; saw {seen:#?}");
        }
    }
}

/// Reads updates for `period` and fails on one that `forbidden` matches, or when the worker
/// ended: "nothing happened" must not be a dead worker. The period is the point here (the
/// claim is that nothing comes during it), not a wait for something.
pub fn assert_no_update_within(
    updates: &async_channel::Receiver<hangar::backend::worker::HostUpdate>,
    period: Duration,
    forbidden: impl Fn(&hangar::backend::worker::HostUpdate) -> bool,
    why: &str,
) {
    let deadline = Instant::now() + period;
    while Instant::now() < deadline {
        match updates.try_recv() {
            Ok(update) => assert!(!forbidden(&update), "{why}, got {update:?}"),
            Err(async_channel::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(async_channel::TryRecvError::Closed) => {
                panic!("the worker ended while checking that {why}")
            }
        }
    }
}

/// Keeps connections a test's fake server accepted open until dropped (at the end of the
/// test), like a wedged daemon that never answers.
pub struct SilentServer {
    release: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentServer {
    /// Accepts up to `count` connections on `listener` and never says a word.
    pub fn hold(listener: std::net::TcpListener, count: usize) -> Self {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            listener
                .set_nonblocking(true)
                .expect("non-blocking listener");
            let mut held = Vec::new();
            // Accept until released; recv_timeout is the pause between accepts.
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                released.recv_timeout(Duration::from_millis(20))
            {
                if held.len() < count {
                    held.extend(listener.accept().ok());
                }
            }
            drop(held);
        });
        Self {
            release: Some(release),
            thread: Some(thread),
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits until the console shows the guest's screen and returns the screenshot that shows
/// it: SeaBIOS's text on black, so mostly black but more than the one colour of a blank
/// screen.
pub fn wait_for_guest_screen(app: &RunningApp, name: &str) -> PathBuf {
    app.wait_for_names(60, &["Console"])
        .expect("the console shows a screen");
    let viewer = app.extents("Console").expect("where the console is");
    let mut last = PathBuf::new();
    let shown = wait_for(Duration::from_secs(30), || {
        last = app.screenshot(name);
        let shot = screen::Screenshot::load(&last);
        let text_on_black =
            shot.colour_count(viewer) > 2 && shot.share_of([0, 0, 0], 8, viewer) > 0.5;
        text_on_black.then_some(())
    });
    assert!(
        shown.is_some(),
        "the console stays blank in {viewer:?}: {}\n{}",
        last.display(),
        app.log()
    );
    last
}
