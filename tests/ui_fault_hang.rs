//! The real app while its host's daemon hangs: libvirtd stopped with SIGSTOP for 60 s in the
//! middle of a session. The window stays responsive (the longest main loop stall of that
//! period is measured), the host says it is not answering, and after SIGCONT the host comes
//! back by itself.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::RunningApp;
use hangar::backend::secrets;

const HANG: Duration = Duration::from_secs(60);
/// The longest the main loop may be busy with one thing while the host hangs.
const MAX_STALL_MS: u64 = 50;
/// The longest stall on the wall clock, waits for a CPU on a loaded machine included.
const MAX_WALL_STALL_MS: u64 = 500;
const CONNECTION_ID: &str = "faulthang0001";

/// Sends SIGCONT to the daemon when dropped, so a failing test never leaves it stopped.
struct Stopped(libc::pid_t);

impl Stopped {
    fn stop(pid: libc::pid_t) -> Self {
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGSTOP) },
            0,
            "SIGSTOP libvirtd"
        );
        Self(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

fn libvirtd_pid(testbed: &Path) -> libc::pid_t {
    std::fs::read_to_string(testbed.join("libvirt/libvirtd.pid"))
        .expect("libvirtd's PID file")
        .trim()
        .parse()
        .expect("a PID")
}

fn unix_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// The worst stalls the app logged between `from` and `to` (Unix ms).
#[derive(Debug, Default)]
struct Stalls {
    /// Time the main loop spent on one piece of its own work.
    busy_ms: u64,
    /// The same on the wall clock, with the waits for a CPU of a loaded machine.
    wall_ms: u64,
    /// How many one-second lines the period has.
    seconds: usize,
}

fn field<T: std::str::FromStr>(line: &str, name: &str) -> T {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(name)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the stall log line {line:?}"))
}

/// Seconds with a stall over 10 ms are printed, counted from `from`.
fn worst_stalls(log: &Path, from: u128, to: u128) -> Stalls {
    let text = std::fs::read_to_string(log).expect("the stall log");
    let mut stalls = Stalls::default();
    let mut notable = Vec::new();
    for line in text.lines() {
        let at: u128 = field(line, "at_ms");
        let (wall, busy): (u64, u64) = (
            field(line, "max_stall_ms"),
            field(line, "max_busy_stall_ms"),
        );
        // A line covers the second before it.
        if at > from && at <= to + 1000 {
            stalls.wall_ms = stalls.wall_ms.max(wall);
            stalls.busy_ms = stalls.busy_ms.max(busy);
            stalls.seconds += 1;
            if wall > 10 {
                let second = (at - from) / 1000;
                notable.push(format!("{second} s: {busy} ({wall}) ms"));
            }
        }
    }
    eprintln!("stalls over 10 ms, by second after SIGSTOP: busy (wall clock): {notable:?}");
    stalls
}

/// A config folder of the test's own with the test bed saved, its password in the keyring.
fn save_connection(testbed: &Path, login: &common::SaslLogin) -> PathBuf {
    let config = testbed.join("fault-hang-config");
    std::fs::create_dir_all(config.join("hangar")).expect("config dir");
    let text = format!(
        "version = 1\n\n[[connection]]\nid = \"{CONNECTION_ID}\"\nname = \"Hanging host\"\n\
         uri = \"{}\"\nusername = \"{}\"\nautoconnect = true\nremember_password = true\n",
        login.uri, login.user
    );
    std::fs::write(config.join("hangar/connections.toml"), text).expect("connections.toml");
    let label = secrets::connection_label(Some(&login.user), Some("127.0.0.1"));
    secrets::store_password(
        CONNECTION_ID,
        &label,
        &hangar::backend::password::Password::from_text(&login.password),
    )
    .expect("keyring");
    config
}

fn expect_names(app: &RunningApp, timeout_s: u32, names: &[&str], what: &str) {
    if let Err(dump) = app.wait_for_names(timeout_s, names) {
        let shot = app.screenshot("fault-hang-failure");
        panic!(
            "{what}: {names:?} not on screen ({}):\n{dump}",
            shot.display()
        );
    }
}

#[test]
fn stopped_daemon_leaves_the_window_responsive_and_the_host_recovers() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let Some(dir) = common::testbed_var("TESTBED_DIR") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let testbed = PathBuf::from(dir);
    let log = testbed.join("fault-hang-stalls.log");
    let config = save_connection(&testbed, &login);
    let env = [
        ("HANGAR_STALL_LOG", log.as_os_str()),
        ("XDG_CONFIG_HOME", config.as_os_str()),
    ];
    let Some((app, _turn)) = RunningApp::start_with_env(&[], &env) else {
        return;
    };
    expect_names(&app, 90, &[&guest, "Running", "Connected"], "connected");
    // Let the first round of details and addresses settle.
    std::thread::sleep(Duration::from_secs(3));
    let read = Instant::now();
    expect_names(&app, 10, &["Connected"], "still connected");
    eprintln!(
        "one read of the screen takes {} ms",
        read.elapsed().as_millis()
    );

    let stopped_at = SystemTime::now();
    let stopped_clock = Instant::now();
    let stopped = Stopped::stop(libvirtd_pid(&testbed));
    expect_names(
        &app,
        30,
        &["Not answering"],
        "the host says it is not answering",
    );
    eprintln!(
        "“Not answering” shown {:.1} s after SIGSTOP",
        stopped_clock.elapsed().as_secs_f64()
    );
    app.screenshot("fault-hang-not-answering");

    // The window answers the user meanwhile: a dialog opens and closes.
    let asked = Instant::now();
    let pid = app.pid().to_string();
    common::run_atspi(&["click", "--pid", &pid, "Hangar", "Add Connection"])
        .expect("click Add Connection");
    eprintln!(
        "clicked at {:.1} s after SIGSTOP ({} ms to find the button)",
        stopped_clock.elapsed().as_secs_f64(),
        asked.elapsed().as_millis()
    );
    common::run_atspi(&[
        "wait-names",
        "--pid",
        &pid,
        "--hidden",
        "Hangar",
        "20",
        "Add Host",
        "Hypervisor",
    ])
    .expect("the dialog opens while the host hangs");
    eprintln!(
        "a dialog opened {} ms after the click, while libvirtd was stopped",
        asked.elapsed().as_millis()
    );
    common::run_atspi(&["key", "Escape"]).expect("close the dialog");

    std::thread::sleep(HANG.saturating_sub(stopped_clock.elapsed()));
    app.screenshot("fault-hang-after-60-s");
    drop(stopped);
    let continued = Instant::now();
    expect_names(
        &app,
        120,
        &[&guest, "Running", "Connected"],
        "the host came back by itself",
    );
    let recovered_at = SystemTime::now();
    eprintln!(
        "back to the guest's row {:.1} s after SIGCONT, without the user",
        continued.elapsed().as_secs_f64()
    );
    app.wait_until_gone(10, &[&guest, "Connected"], &["Not answering"])
        .expect("“Not answering” is gone once the host is back");
    app.screenshot("fault-hang-recovered");
    // The last second's line is written a second later.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(app_is_running(app), "the app quit or crashed");

    let stalls = worst_stalls(&log, unix_ms(stopped_at), unix_ms(recovered_at));
    eprintln!(
        "longest main loop stall from SIGSTOP to recovery ({} s measured): {} ms busy, \
         {} ms on the wall clock (load average {})",
        stalls.seconds,
        stalls.busy_ms,
        stalls.wall_ms,
        load_average()
    );
    assert!(
        stalls.seconds as u64 >= HANG.as_secs() - 2,
        "the stall log missed seconds: {stalls:?}"
    );
    assert!(
        stalls.busy_ms < MAX_STALL_MS,
        "the main loop was busy for {} ms at once while the host hung",
        stalls.busy_ms
    );
    assert!(
        stalls.wall_ms < MAX_WALL_STALL_MS,
        "the window froze for {} ms while the host hung",
        stalls.wall_ms
    );
    let _ = secrets::delete_password(CONNECTION_ID);
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

fn app_is_running(mut app: RunningApp) -> bool {
    app.is_running()
}
