//! Speed and time left of a job, over a sliding window of recent progress samples: a stall or
//! a burst shows within seconds instead of being averaged over the whole run.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the speed looks.
pub const WINDOW: Duration = Duration::from_secs(5);

/// Progress samples (when, units done) within the window.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window: Duration,
    samples: VecDeque<(Instant, u64)>,
}

impl Default for RateMeter {
    fn default() -> Self {
        Self::new(WINDOW)
    }
}

impl RateMeter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Notes that `done` units were done at `now`; forgets samples older than the window
    /// (keeping one just before it, so the window is always covered).
    pub fn record(&mut self, now: Instant, done: u64) {
        self.samples.push_back((now, done));
        while self.samples.len() > 2 {
            let second = self.samples[1].0;
            if now.saturating_duration_since(second) >= self.window {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Units per second over the window; `None` until two samples some time apart exist.
    pub fn per_second(&self) -> Option<f64> {
        let (first_time, first_done) = *self.samples.front()?;
        let (last_time, last_done) = *self.samples.back()?;
        let elapsed = last_time
            .saturating_duration_since(first_time)
            .as_secs_f64();
        if elapsed < 0.05 {
            return None;
        }
        Some(last_done.saturating_sub(first_done) as f64 / elapsed)
    }

    /// Time left to reach `total` at the window's speed; `None` while unknown or stalled.
    pub fn time_left(&self, total: u64) -> Option<Duration> {
        let (_, done) = *self.samples.back()?;
        let rate = self.per_second()?;
        if rate <= 0.0 {
            return None;
        }
        let seconds = total.saturating_sub(done) as f64 / rate;
        Some(Duration::from_secs_f64(seconds.min(1.0e7)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn steady_speed_and_time_left() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        for second in 0..=10u64 {
            meter.record(start + Duration::from_secs(second), second * 10 * MB);
        }
        let rate = meter.per_second().expect("rate");
        assert!((rate - 10.0 * MB as f64).abs() < 1.0, "{rate}");
        let left = meter.time_left(200 * MB).expect("time left");
        assert_eq!(left.as_secs(), 10);
    }

    #[test]
    fn the_window_follows_a_change_of_speed() {
        let start = Instant::now();
        let mut meter = RateMeter::new(Duration::from_secs(5));
        let mut done = 0;
        for second in 0..=20u64 {
            meter.record(start + Duration::from_secs(second), done);
            done += if second < 10 { 100 * MB } else { MB };
        }
        // Ten seconds after the slowdown, the fast start is out of the window.
        let rate = meter.per_second().expect("rate");
        assert!((rate - MB as f64).abs() < 1.0, "{rate}");
    }

    #[test]
    fn unknown_until_time_passes_and_while_stalled() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        assert_eq!(meter.per_second(), None);
        meter.record(start, 0);
        assert_eq!(meter.per_second(), None);
        meter.record(start + Duration::from_secs(1), 0);
        assert_eq!(meter.per_second(), Some(0.0));
        assert_eq!(meter.time_left(100), None);
    }

    #[test]
    fn keeps_few_samples() {
        let start = Instant::now();
        let mut meter = RateMeter::new(Duration::from_secs(1));
        for tenth in 0..1000u64 {
            meter.record(start + Duration::from_millis(tenth * 100), tenth);
        }
        assert!(meter.samples.len() <= 12, "{}", meter.samples.len());
    }
}
