//! Optional measurements for tests and benchmarks, switched on by environment variables.
//!
//! `HANGAR_STALL_REPORT=FILE` measures how long the GTK main loop goes without running a
//! short timer — the longest time the window could not react to the user — and writes the
//! worst so far to FILE once a second (`max_stall_ms=N`).
//!
//! `HANGAR_BENCH_REPORT=FILE` records when the first domain rows were drawn.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gtk::glib;

const TICK: Duration = Duration::from_millis(10);

/// Starts the measurements the environment asks for; does nothing otherwise.
pub fn start_from_environment() {
    if let Some(path) = std::env::var_os("HANGAR_STALL_REPORT") {
        measure_main_loop_stalls(path.into());
    }
}

fn measure_main_loop_stalls(report: std::path::PathBuf) {
    let last_tick = Rc::new(Cell::new(Instant::now()));
    let worst = Rc::new(Cell::new(Duration::ZERO));
    let (tick_last, tick_worst) = (last_tick.clone(), worst.clone());
    glib::timeout_add_local(TICK, move || {
        let now = Instant::now();
        let late = now.duration_since(tick_last.get()).saturating_sub(TICK);
        tick_worst.set(tick_worst.get().max(late));
        tick_last.set(now);
        glib::ControlFlow::Continue
    });
    glib::timeout_add_seconds_local(1, move || {
        let line = format!("max_stall_ms={}\n", worst.get().as_millis());
        if let Err(error) = std::fs::write(&report, line) {
            eprintln!("hangar: cannot write the stall report: {error}");
            return glib::ControlFlow::Break;
        }
        glib::ControlFlow::Continue
    });
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
