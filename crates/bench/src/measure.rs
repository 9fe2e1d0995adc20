//! Timing one side of one workload: the median over repeats of the mean step time, with the
//! fastest and slowest repeat as the spread — the statistic `benches/peers/peer.py` reports
//! for the peers — and the process's peak resident memory.

use std::time::Instant;

/// One side's figures for one workload at one thread count, in seconds per step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Median over repeats of the mean step time.
    pub median: f64,
    /// The fastest repeat's mean.
    pub min: f64,
    /// The slowest repeat's mean.
    pub max: f64,
    /// Peak resident set of the process, KiB.
    pub rss_kb: u64,
}

impl Sample {
    /// The line a worker prints and the orchestrator parses (the peers print the same).
    pub fn line(&self) -> String {
        format!("RESULT median={:e} min={:e} max={:e} rss_kb={}", self.median, self.min, self.max, self.rss_kb)
    }
    /// A `RESULT …` line back into a sample.
    pub fn parse(line: &str) -> Option<Sample> {
        let rest = line.strip_prefix("RESULT ")?;
        let mut s = Sample { median: f64::NAN, min: f64::NAN, max: f64::NAN, rss_kb: 0 };
        for field in rest.split_whitespace() {
            let (key, value) = field.split_once('=')?;
            match key {
                "median" => s.median = value.parse().ok()?,
                "min" => s.min = value.parse().ok()?,
                "max" => s.max = value.parse().ok()?,
                "rss_kb" => s.rss_kb = value.parse().ok()?,
                _ => {}
            }
        }
        s.median.is_finite().then_some(s)
    }
}

/// How long every side warms up before it is timed (criterion's default is 3 s): enough for a
/// core that sat idle to reach its clock, and for caches and allocators to settle.
pub const WARM_UP_SECONDS: f64 = 1.0;

/// Times `step`: calls for [`WARM_UP_SECONDS`] (at least one), then `repeats` repeats of
/// `steps` calls.
pub fn time(mut step: impl FnMut(), steps: usize, repeats: usize) -> Sample {
    let warm = Instant::now();
    step();
    while warm.elapsed().as_secs_f64() < WARM_UP_SECONDS {
        step();
    }
    let mut means: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            for _ in 0..steps {
                step();
            }
            start.elapsed().as_secs_f64() / steps as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    Sample { median: means[means.len() / 2], min: means[0], max: means[means.len() - 1], rss_kb: peak_rss_kb() }
}

/// `VmHWM` from `/proc/self/status` (0 where there is none).
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}
