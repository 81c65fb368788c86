//! The domain-list benchmark: `make bench`, which runs it inside tests/testbed/run.sh.
//!
//! For 100, 1,000 and 5,000 generated domains:
//! - the real app on the test bed's desktop, opened with `--connect test:///FIXTURE`: time
//!   from process start to the first rows drawn, RSS once settled, the time a screen reader
//!   takes to read the rows on screen through AT-SPI (tests/ui/atspi.py rows: find the list,
//!   then read the name of each row shown; goal under 2 s at 5,000 domains), and CPU used
//!   while idle (the list stays on screen, so the worker keeps refreshing at its interval);
//! - the backend alone, on `test:///FIXTURE` and on `test+tcp://` through the test bed's
//!   libvirtd (real RPC and SASL): time to open (the test driver parses the fixture then),
//!   and libvirt calls and time for the first list and a refresh.
//!   Over TCP the app would ask for the SASL password in a dialog, so its UI is measured on
//!   the in-process driver only.
//!
//! Prints a markdown table and writes it to target/bench/domain_list.md, with a screenshot
//! per size next to it. BENCH_IDLE_SECONDS (default 60) sets the idle window, BENCH_SIZES
//! (e.g. "100,1000") the sizes.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hangar::backend::libvirt::ffi::{
    CredentialAnswer, CredentialKind, CredentialProvider, CredentialRequest,
};
use hangar::backend::libvirt::session::HostSession;

const SIZES: [usize; 3] = [100, 1_000, 5_000];
/// How long the app may take to draw its first rows before the run counts as failed.
const FIRST_ROWS_TIMEOUT: Duration = Duration::from_secs(120);
/// Time after the first rows for the rest of the list to load and the window to calm down.
const SETTLE: Duration = Duration::from_secs(5);
/// Refreshes timed per connection (the median is reported).
const REFRESHES: usize = 5;
/// The longest a screen reader may take to read the rows on screen (issue 10).
const ROWS_READ_GOAL: Duration = Duration::from_secs(2);
/// USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux architecture.
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: stay out of its way.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("domain_list: a benchmark; run it with `make bench`");
        return;
    }
    if std::env::var_os("HANGAR_TESTBED").is_none() {
        eprintln!(
            "domain_list: needs the test bed (a desktop and libvirtd); run `make bench`, \
             or tests/testbed/run.sh cargo bench --profile dev --bench domain_list"
        );
        std::process::exit(2);
    }
    let idle = Duration::from_secs(env_number("BENCH_IDLE_SECONDS").unwrap_or(60));
    let sizes = match std::env::var("BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|size| size.trim().parse().expect("BENCH_SIZES: numbers"))
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    let login = common::sasl_login().expect("the test bed's libvirtd");
    let tcp_base = test_tcp_base(&login.uri);
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out_dir).expect("create target/bench");

    let mut rows = Vec::new();
    for &count in &sizes {
        let fixture = common::fixtures::many_domains(count);
        eprintln!("domain_list: {count} domains");
        let local = format!("test://{}", fixture.display());
        let remote = format!("{tcp_base}{}", fixture.display());
        let app = measure_app(
            &local,
            idle,
            &out_dir.join(format!("domain_list-{count}.png")),
        );
        rows.push(Row {
            count,
            driver: "test:///",
            app: Some(app),
            backend: measure_backend(&local, &mut |_| None),
        });
        rows.push(Row {
            count,
            driver: "test+tcp://",
            app: None,
            backend: measure_backend(&remote, &mut |request: &CredentialRequest| {
                Some(match request.kind {
                    CredentialKind::Username => CredentialAnswer::Text(login.user.clone()),
                    _ => CredentialAnswer::Secret(login.password.as_str().into()),
                })
            }),
        });
    }

    let table = table(&rows, idle);
    print!("{table}");
    let report = out_dir.join("domain_list.md");
    std::fs::write(&report, &table).expect("write the report");
    eprintln!("domain_list: written to {}", report.display());
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.parse().unwrap_or_else(|_| panic!("{name}: a number")))
}

/// `test+tcp://127.0.0.1:PORT` from the daemon's `qemu+tcp://127.0.0.1:PORT/system`: the
/// same daemon also serves the test driver, reading the fixture path it is given.
fn test_tcp_base(qemu_uri: &str) -> String {
    let authority = qemu_uri
        .strip_prefix("qemu+tcp://")
        .and_then(|rest| rest.split('/').next())
        .expect("HANGAR_TEST_LIBVIRT_URI is qemu+tcp://HOST:PORT/system");
    format!("test+tcp://{authority}")
}

struct Row {
    count: usize,
    driver: &'static str,
    app: Option<Result<AppFigures, String>>,
    backend: Result<BackendFigures, String>,
}

struct AppFigures {
    first_rows_ms: u64,
    rss_mib: f64,
    rows_read: RowsRead,
    idle_cpu_percent: f64,
}

/// Reading the domain rows on screen through AT-SPI.
struct RowsRead {
    /// From starting the reader to its last name, finding the list included.
    total_ms: u64,
    /// Rows on screen, and rows the list exposes (GTK keeps a few hundred alive).
    shown: usize,
    exposed: usize,
}

struct BackendFigures {
    open_ms: f64,
    first_list_calls: u64,
    refresh_calls: u64,
    first_list_ms: f64,
    refresh_ms: f64,
}

/// Starts the app on `uri`, waits for its first rows, lets it settle, then watches it idle.
fn measure_app(uri: &str, idle: Duration, screenshot: &Path) -> Result<AppFigures, String> {
    let report = std::env::temp_dir().join(format!("hangar-bench-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&report);
    // Killed by PID when dropped; the next start waits until its D-Bus name is free.
    let (mut app, _turn) = common::RunningApp::start_with_env(
        &["--connect", uri],
        &[("HANGAR_BENCH_REPORT", report.as_os_str())],
    )
    .ok_or("no desktop in the test bed")?;
    let first_rows_ms = common::wait_for(FIRST_ROWS_TIMEOUT, || {
        let text = std::fs::read_to_string(&report).ok()?;
        text.trim().strip_prefix("first_rows_ms=")?.parse().ok()
    });
    let _ = std::fs::remove_file(&report);
    let Some(first_rows_ms) = first_rows_ms else {
        eprintln!("{}", app.log());
        return Err(format!("no rows within {FIRST_ROWS_TIMEOUT:?}"));
    };
    // A fixed period on purpose: the figures below describe the app after its start-up work,
    // whatever that work is; no single condition says it is over.
    std::thread::sleep(SETTLE);
    if !app.is_running() {
        return Err(format!("the app quit\n{}", app.log()));
    }
    let pid = app.pid();
    let rss_mib = rss_kib(pid).ok_or("no VmRSS")? as f64 / 1024.0;
    let _ = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(screenshot)
        .status();
    let rows_read = read_rows(pid)?;

    let (ticks_before, started) = (cpu_ticks(pid).ok_or("no CPU times")?, Instant::now());
    // The measurement window itself: idle CPU is a rate over this period.
    std::thread::sleep(idle);
    let ticks = cpu_ticks(pid).ok_or("no CPU times")? - ticks_before;
    let seconds = started.elapsed().as_secs_f64();
    Ok(AppFigures {
        first_rows_ms,
        rss_mib,
        rows_read,
        idle_cpu_percent: 100.0 * ticks as f64 / TICKS_PER_SECOND / seconds,
    })
}

/// Reads the names of the domain rows on screen as a screen reader would, timed.
fn read_rows(pid: u32) -> Result<RowsRead, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui/atspi.py");
    let started = Instant::now();
    let output = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .args([
            "rows",
            "--pid",
            &pid.to_string(),
            "Hangar",
            "Virtual Machines",
        ])
        .output()
        .map_err(|error| format!("atspi.py: {error}"))?;
    let total_ms = started.elapsed().as_millis() as u64;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("reading the rows failed: {stderr}"));
    }
    let shown = String::from_utf8_lossy(&output.stdout).lines().count();
    // "rows: 11 rows on screen of 205 exposed; ..."
    let exposed = stderr
        .split(" of ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    eprintln!("domain_list: {}", stderr.trim());
    Ok(RowsRead {
        total_ms,
        shown,
        exposed,
    })
}

/// Resident memory in KiB, from /proc/PID/status.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User plus system CPU time of every thread of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Opens `uri` and times the first list and then refreshes, counting libvirt calls.
fn measure_backend(
    uri: &str,
    answer: &mut CredentialProvider<'_>,
) -> Result<BackendFigures, String> {
    let started = Instant::now();
    let session = HostSession::open(uri, answer).map_err(|error| error.user_message())?;
    let open_ms = started.elapsed().as_secs_f64() * 1000.0;
    let list = |session: &HostSession| -> Result<(u64, f64), String> {
        let (calls, started) = (session.libvirt_calls(), Instant::now());
        session.domains().map_err(|error| error.user_message())?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok((session.libvirt_calls() - calls, ms))
    };
    let (first_list_calls, first_list_ms) = list(&session)?;
    let mut refreshes = (0..REFRESHES)
        .map(|_| list(&session))
        .collect::<Result<Vec<_>, _>>()?;
    refreshes.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (refresh_calls, refresh_ms) = refreshes[REFRESHES / 2];
    Ok(BackendFigures {
        open_ms,
        first_list_calls,
        refresh_calls,
        first_list_ms,
        refresh_ms,
    })
}

fn table(rows: &[Row], idle: Duration) -> String {
    let date = std::process::Command::new("date")
        .arg("+%F")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let mut out = format!(
        "Domain list, {date}, {cores} cores, dev profile, idle CPU over {}s\n\n",
        idle.as_secs()
    );
    out.push_str(
        "| domains | driver | first rows (ms from process start) | RSS (MiB) \
         | AT-SPI: rows on screen read (ms; rows shown / exposed) \
         | idle CPU (% of one core) | open (ms) | libvirt calls: first list / refresh \
         | list time (ms): first / refresh |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut failures = Vec::new();
    for row in rows {
        let app = match &row.app {
            None => "– | – | – | –".to_owned(),
            Some(Ok(app)) => {
                let read = &app.rows_read;
                if read.total_ms > ROWS_READ_GOAL.as_millis() as u64 {
                    failures.push(format!(
                        "{} {}: reading the rows on screen took {} ms, over {:?}",
                        row.count, row.driver, read.total_ms, ROWS_READ_GOAL
                    ));
                }
                format!(
                    "{} | {:.0} | {} ({} / {}) | {:.1}",
                    app.first_rows_ms,
                    app.rss_mib,
                    read.total_ms,
                    read.shown,
                    read.exposed,
                    app.idle_cpu_percent
                )
            }
            Some(Err(error)) => {
                failures.push(format!("{} {}: {error}", row.count, row.driver));
                "failed | – | – | –".to_owned()
            }
        };
        let backend = match &row.backend {
            Ok(b) => format!(
                "{:.0} | {} / {} | {:.1} / {:.1}",
                b.open_ms, b.first_list_calls, b.refresh_calls, b.first_list_ms, b.refresh_ms
            ),
            Err(error) => {
                failures.push(format!("{} {}: {error}", row.count, row.driver));
                "failed | failed | failed".to_owned()
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {app} | {backend} |",
            row.count, row.driver
        );
    }
    for failure in failures {
        let _ = writeln!(out, "\nFailed: {failure}");
    }
    out
}
