//! Optional measurements for tests and benchmarks, switched on by environment variables.
//!
//! `HANGAR_STALL_REPORT=FILE` measures how long the GTK main loop goes without running a
//! short timer — the longest time the window could not react to the user — and writes the
//! worst so far to FILE once a second (`max_stall_ms=N`).

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
