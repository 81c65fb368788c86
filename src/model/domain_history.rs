//! The last ten minutes of a running domain's figures for the Performance graphs: CPU use,
//! memory in use, disk and network throughput, one sample per refresh, taken from the bulk
//! statistics the domain list already gets (no libvirt call of its own).
//!
//! Cost: a sample is 28 bytes (a time and six `f32`). At the default refresh of 2 s ten
//! minutes are 300 samples, about 8.4 KiB per running domain (the buffer grows 32 samples at a
//! time, so at most 0.9 KiB more); 5,000 running domains hold about 42 MiB. At the fastest
//! refresh the settings allow (0.5 s) it is four times that. Shut-off domains hold nothing: the
//! history goes when the domain stops.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::backend::domain::DomainSummary;

/// How far back the history reaches.
pub const SPAN: Duration = Duration::from_secs(600);
/// At most this many samples: ten minutes at the fastest refresh the settings allow (0.5 s).
pub const MAX_SAMPLES: usize = 1200;
/// Refreshes closer than this to the previous sample (F5 pressed twice) are not sampled:
/// rates over a few milliseconds are noise.
const MIN_STEP: Duration = Duration::from_millis(400);
/// The buffer grows by this many samples when full, not by doubling.
const GROWTH: usize = 32;

/// What a history follows; the index of its value in a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// CPU use, 0–100 % of the domain's vCPUs.
    Cpu,
    /// Memory in use, in KiB.
    Memory,
    /// Bytes per second read from all disks.
    DiskRead,
    /// Bytes per second written to all disks.
    DiskWrite,
    /// Bytes per second received on all network cards.
    NetRx,
    /// Bytes per second sent on all network cards.
    NetTx,
}

const SERIES: usize = 6;

/// One refresh's figures; `NaN` where there is no figure (not reported, or a counter that
/// started over).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When, in tenths of a second since the history began (13 years fit).
    tenths: u32,
    values: [f32; SERIES],
}

impl Sample {
    pub fn value(&self, series: Series) -> f32 {
        self.values[series as usize]
    }
}

/// The counters of the previous refresh, to turn growth into rates.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    at: Instant,
    cpu_time_ns: Option<u64>,
    counters: [Option<u64>; 4],
}

impl Baseline {
    fn of(summary: &DomainSummary, at: Instant) -> Self {
        let io = summary.io;
        Self {
            at,
            // The test driver reports no CPU time at all: zero.
            cpu_time_ns: Some(summary.cpu_time_ns).filter(|&ns| ns > 0),
            counters: [io.disk_read, io.disk_write, io.net_rx, io.net_tx],
        }
    }
}

#[derive(Debug, Clone)]
pub struct DomainHistory {
    epoch: Instant,
    samples: VecDeque<Sample>,
    last: Option<Baseline>,
    memory_reported: bool,
    /// Disks and network cards at the last refresh.
    devices: [Option<u64>; 2],
}

impl DomainHistory {
    pub fn new(now: Instant) -> Self {
        Self {
            epoch: now,
            samples: VecDeque::new(),
            last: None,
            memory_reported: false,
            devices: [None; 2],
        }
    }

    /// Takes a refresh's summary: the first only sets the baseline, later ones add a sample
    /// with the rates since the previous one. Returns whether a sample was added.
    pub fn record(&mut self, summary: &DomainSummary, now: Instant) -> bool {
        let current = Baseline::of(summary, now);
        self.memory_reported = summary.memory_used_kib.is_some();
        self.devices = [summary.io.disks, summary.io.nics];
        let Some(last) = self.last else {
            self.last = Some(current);
            return false;
        };
        let elapsed = now.saturating_duration_since(last.at);
        if elapsed < MIN_STEP {
            return false;
        }
        self.last = Some(current);
        let seconds = elapsed.as_secs_f64();
        let cpu = growth(last.cpu_time_ns, current.cpu_time_ns).map(|ns| {
            let capacity = seconds * 1e9 * f64::from(summary.vcpus.max(1));
            (ns as f64 / capacity * 100.0).clamp(0.0, 100.0)
        });
        let mut values = [f32::NAN; SERIES];
        values[Series::Cpu as usize] = to_f32(cpu);
        values[Series::Memory as usize] = to_f32(summary.memory_used_kib.map(|kib| kib as f64));
        let io_series = [
            Series::DiskRead,
            Series::DiskWrite,
            Series::NetRx,
            Series::NetTx,
        ];
        for (index, series) in io_series.into_iter().enumerate() {
            let rate = growth(last.counters[index], current.counters[index])
                .map(|bytes| bytes as f64 / seconds);
            values[series as usize] = to_f32(rate);
        }
        self.push(Sample {
            tenths: u32::try_from(now.saturating_duration_since(self.epoch).as_millis() / 100)
                .unwrap_or(u32::MAX),
            values,
        });
        true
    }

    fn push(&mut self, sample: Sample) {
        let oldest_kept = sample.tenths.saturating_sub(SPAN.as_millis() as u32 / 100);
        while self.samples.len() >= MAX_SAMPLES
            || self
                .samples
                .front()
                .is_some_and(|front| front.tenths < oldest_kept)
        {
            self.samples.pop_front();
        }
        if self.samples.len() == self.samples.capacity() {
            let room = GROWTH.min(MAX_SAMPLES - self.samples.len());
            self.samples.reserve_exact(room);
        }
        self.samples.push_back(sample);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn latest(&self) -> Option<&Sample> {
        self.samples.back()
    }

    /// Whether the host reports the figures behind `series` (at the last refresh).
    pub fn reports(&self, series: Series) -> bool {
        let Some(last) = self.last else { return false };
        match series {
            Series::Cpu => last.cpu_time_ns.is_some(),
            Series::Memory => self.memory_reported,
            Series::DiskRead => last.counters[0].is_some(),
            Series::DiskWrite => last.counters[1].is_some(),
            Series::NetRx => last.counters[2].is_some(),
            Series::NetTx => last.counters[3].is_some(),
        }
    }

    /// How many devices (disks for the disk series, network cards for the network ones) the
    /// host counted at the last refresh; `None` for CPU and memory or when it does not say.
    pub fn device_count(&self, series: Series) -> Option<u64> {
        match series {
            Series::DiskRead | Series::DiskWrite => self.devices[0],
            Series::NetRx | Series::NetTx => self.devices[1],
            Series::Cpu | Series::Memory => None,
        }
    }

    /// `series` as (seconds before `now`, value) points, oldest first; gaps are `NaN`.
    pub fn points(&self, series: Series, now: Instant) -> Vec<(f32, f32)> {
        let now_seconds = now.saturating_duration_since(self.epoch).as_secs_f64();
        self.samples
            .iter()
            .map(|sample| {
                let age = (now_seconds - f64::from(sample.tenths) / 10.0).max(0.0);
                (age as f32, sample.value(series))
            })
            .collect()
    }
}

/// How much a counter grew; `None` when either end is unknown or it started over (the
/// machine was restarted between two refreshes).
fn growth(before: Option<u64>, now: Option<u64>) -> Option<u64> {
    now?.checked_sub(before?)
}

fn to_f32(value: Option<f64>) -> f32 {
    value.map_or(f32::NAN, |value| value as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::domain::{DomainState, IoCounters};

    fn summary(cpu_time_ns: u64, disk_read: u64, net_tx: u64) -> DomainSummary {
        DomainSummary {
            state: DomainState::Running,
            vcpus: 2,
            cpu_time_ns,
            memory_used_kib: Some(524_288),
            io: IoCounters {
                disks: Some(1),
                nics: Some(0),
                disk_read: Some(disk_read),
                disk_write: Some(0),
                net_rx: None,
                net_tx: Some(net_tx),
            },
            ..DomainSummary::default()
        }
    }

    #[test]
    fn rates_come_from_counter_growth() {
        let start = Instant::now();
        let mut history = DomainHistory::new(start);
        assert!(!history.record(&summary(1_000_000_000, 0, 0), start));
        let later = start + Duration::from_secs(2);
        // One second of CPU time over two seconds of two vCPUs: 25 %.
        assert!(history.record(&summary(2_000_000_000, 4_000_000, 1000), later));
        let sample = history.latest().copied().expect("a sample");
        assert_eq!(sample.value(Series::Cpu), 25.0);
        assert_eq!(sample.value(Series::DiskRead), 2_000_000.0);
        assert_eq!(sample.value(Series::DiskWrite), 0.0);
        assert_eq!(sample.value(Series::NetTx), 500.0);
        assert!(sample.value(Series::NetRx).is_nan());
        assert_eq!(sample.value(Series::Memory), 524_288.0);
        assert!(history.reports(Series::NetTx));
        assert!(!history.reports(Series::NetRx));
        assert_eq!(history.device_count(Series::DiskWrite), Some(1));
        assert_eq!(history.device_count(Series::NetRx), Some(0));
        assert_eq!(history.device_count(Series::Cpu), None);
        assert_eq!(
            history.points(Series::NetTx, later + Duration::from_secs(1)),
            vec![(1.0, 500.0)]
        );
    }

    #[test]
    fn a_counter_that_starts_over_leaves_a_gap_not_a_spike() {
        let start = Instant::now();
        let mut history = DomainHistory::new(start);
        history.record(&summary(9_000_000_000, 8_000_000, 5000), start);
        // Restarted between two refreshes: every counter is smaller than before.
        let restart = start + Duration::from_secs(2);
        history.record(&summary(100_000_000, 1000, 10), restart);
        let sample = history.latest().copied().expect("a sample");
        assert!(sample.value(Series::Cpu).is_nan());
        assert!(sample.value(Series::DiskRead).is_nan());
        assert!(sample.value(Series::NetTx).is_nan());
        // The next refresh measures from the new counters.
        history.record(
            &summary(1_100_000_000, 2001, 10),
            restart + Duration::from_secs(1),
        );
        let sample = history.latest().copied().expect("a sample");
        assert_eq!(sample.value(Series::Cpu), 50.0);
        assert_eq!(sample.value(Series::DiskRead), 1001.0);
    }

    #[test]
    fn the_history_keeps_ten_minutes_and_no_more() {
        let start = Instant::now();
        let mut history = DomainHistory::new(start);
        for step in 0..1000u64 {
            let at = start + Duration::from_secs(2 * step);
            history.record(&summary(step * 1_000_000, step, step), at);
        }
        // Ten minutes at one sample every two seconds, both ends included.
        assert_eq!(history.len(), 301);
        assert!(history.samples.capacity() <= 301 + GROWTH);
        let now = start + Duration::from_secs(2 * 999);
        let points = history.points(Series::DiskRead, now);
        assert_eq!(points.first().map(|point| point.0), Some(600.0));
        assert_eq!(points.last().map(|point| point.0), Some(0.0));
    }

    #[test]
    fn fast_refreshes_stay_bounded_and_close_ones_are_skipped() {
        let start = Instant::now();
        let mut history = DomainHistory::new(start);
        for step in 0..3000u64 {
            let at = start + Duration::from_millis(500 * step);
            history.record(&summary(step, step, step), at);
        }
        assert_eq!(history.len(), MAX_SAMPLES);
        let before = history.len();
        let last = start + Duration::from_millis(500 * 2999);
        let added = history.record(&summary(3000, 3000, 3000), last + MIN_STEP / 2);
        assert!(!added);
        assert_eq!(history.len(), before);
    }

    #[test]
    fn a_host_without_cpu_time_says_so() {
        let start = Instant::now();
        let mut history = DomainHistory::new(start);
        history.record(&summary(0, 0, 0), start);
        history.record(&summary(0, 10, 10), start + Duration::from_secs(2));
        assert!(!history.reports(Series::Cpu));
        let sample = history.latest().copied().expect("a sample");
        assert!(sample.value(Series::Cpu).is_nan());
    }
}
