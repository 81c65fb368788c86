//! Optional measurements for tests and benchmarks, switched on by environment variables.
//!
//! `HANGAR_STALL_REPORT=FILE` measures how long the GTK main loop goes without running a
//! short high-priority timer — the longest time the window could not react to the user —
//! and writes the worst so far to FILE once a second (`max_stall_ms=N`).
//!
//! `HANGAR_STALL_LOG=FILE` appends, once a second, the worst stall of that second:
//! `at_ms=UNIX_MS max_stall_ms=N max_busy_stall_ms=M`, so a test can look at the stalls of
//! one period only (e.g. while a host hangs, not while the window was first built). The
//! busy figure leaves out the time the kernel kept the main thread waiting for a CPU (from
//! /proc/thread-self/schedstat): on a loaded machine that wait is the machine's, not the
//! app's, and what remains is the time the main loop spent in its own work.
//!
//! `HANGAR_BENCH_REPORT=FILE` records when the first domain rows were drawn.

use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gtk::glib;

const TICK: Duration = Duration::from_millis(10);

/// Starts the measurements the environment asks for; does nothing otherwise.
pub fn start_from_environment() {
    let report = std::env::var_os("HANGAR_STALL_REPORT").map(PathBuf::from);
    let log = std::env::var_os("HANGAR_STALL_LOG").map(PathBuf::from);
    if report.is_some() || log.is_some() {
        measure_main_loop_stalls(report, log);
    }
}

/// The worst lateness of the tick: overall, and in the current second.
#[derive(Default)]
struct Stalls {
    worst: Cell<Duration>,
    worst_this_second: Cell<Duration>,
    worst_busy_this_second: Cell<Duration>,
}

fn measure_main_loop_stalls(report: Option<PathBuf>, log: Option<PathBuf>) {
    let stalls = Rc::new(Stalls::default());
    let last_tick = Cell::new(Instant::now());
    let last_wait = Cell::new(time_waiting_for_a_cpu());
    let ticks = stalls.clone();
    // High priority: it runs before any event, redraw or idle work that is ready, so its
    // lateness is time the main loop spent inside one piece of work.
    glib::timeout_add_local_full(TICK, glib::Priority::HIGH, move || {
        let now = Instant::now();
        let late = now.duration_since(last_tick.get()).saturating_sub(TICK);
        last_tick.set(now);
        let wait = time_waiting_for_a_cpu();
        let busy_late = late.saturating_sub(wait.saturating_sub(last_wait.replace(wait)));
        ticks.worst.set(ticks.worst.get().max(late));
        ticks
            .worst_this_second
            .set(ticks.worst_this_second.get().max(late));
        ticks
            .worst_busy_this_second
            .set(ticks.worst_busy_this_second.get().max(busy_late));
        glib::ControlFlow::Continue
    });
    glib::timeout_add_local_full(Duration::from_secs(1), glib::Priority::HIGH, move || {
        let written = write_stall_report(report.as_ref(), &stalls)
            .and_then(|()| append_stall_log(log.as_ref(), &stalls));
        stalls.worst_this_second.set(Duration::ZERO);
        stalls.worst_busy_this_second.set(Duration::ZERO);
        if let Err(error) = written {
            eprintln!("hangar: cannot write the stall measurements: {error}");
            return glib::ControlFlow::Break;
        }
        glib::ControlFlow::Continue
    });
}

fn write_stall_report(path: Option<&PathBuf>, stalls: &Stalls) -> std::io::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let line = format!("max_stall_ms={}\n", stalls.worst.get().as_millis());
    std::fs::write(path, line)
}

fn append_stall_log(path: Option<&PathBuf>, stalls: &Stalls) -> std::io::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let line = format!(
        "at_ms={at_ms} max_stall_ms={} max_busy_stall_ms={}\n",
        stalls.worst_this_second.get().as_millis(),
        stalls.worst_busy_this_second.get().as_millis()
    );
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}

/// How long the calling thread has waited, runnable, for a CPU since it started (zero where
/// the kernel does not say).
fn time_waiting_for_a_cpu() -> Duration {
    let waited_ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_nanos(waited_ns)
}

/// Records, once, how long after the process started the first domain rows were drawn,
/// as `first_rows_ms=N` in the file `HANGAR_BENCH_REPORT` names (for the benchmark).
pub fn first_rows_shown() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    let Some(path) = std::env::var_os("HANGAR_BENCH_REPORT") else {
        return;
    };
    if DONE.swap(true, Ordering::Relaxed) {
        return;
    }
    // Wait for the frame that paints the bound rows, then measure.
    glib::idle_add_local_once(move || {
        let Some(elapsed) = time_since_process_start() else {
            return;
        };
        let line = format!("first_rows_ms={}\n", elapsed.as_millis());
        if let Err(error) = std::fs::write(&path, line) {
            eprintln!("hangar: cannot write the benchmark report: {error}");
        }
    });
}

/// Time since the kernel started this process (so loading libraries counts too).
fn time_since_process_start() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 22 (start time in clock ticks) comes after the parenthesised command name.
    let after_name = stat.rsplit_once(')')?.1;
    let start_ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // The kernel reports in USER_HZ, 100 on every architecture Linux exposes to user space.
    const TICKS_PER_SECOND: f64 = 100.0;
    Some(Duration::from_secs_f64(
        uptime - start_ticks / TICKS_PER_SECOND,
    ))
}
