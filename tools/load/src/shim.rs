//! TEMPORARY: stand-ins for the library pieces of issue 20 (stages,
//! segments, the recorder) until branch `load-lib` is merged. Nothing here
//! may stay.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::args::StageSpec;

/// Offsets of stages: arrival k where the integral of the rate reaches k.
pub fn staged(stages: &[StageSpec]) -> impl Iterator<Item = Duration> + Send + 'static {
    let stages = stages.to_vec();
    let mut base_t = 0.0f64;
    let mut base_n = 0.0f64;
    let mut spans = Vec::new();
    for s in &stages {
        let t = s.over.as_secs_f64();
        let n = (s.from + s.to) / 2.0 * t;
        spans.push((base_t, base_n, s.from, s.to, t, n));
        base_t += t;
        base_n += n;
    }
    let total = base_n;
    (0u64..).map_while(move |k| {
        let k = k as f64;
        if k >= total {
            return None;
        }
        let &(t0, n0, r0, r1, t, _) = spans.iter().rev().find(|s| s.1 <= k)?;
        let need = k - n0;
        let a = (r1 - r0) / t;
        let dt = if a.abs() < 1e-12 {
            need / r0
        } else {
            (-r0 + (r0 * r0 + 2.0 * a * need).max(0.0).sqrt()) / a
        };
        Some(Duration::from_secs_f64(t0 + dt.min(t)))
    })
}

/// Segment i of n: every n-th arrival from the i-th.
pub fn segment<I: Iterator<Item = Duration>>(
    schedule: I,
    i: u32,
    n: u32,
) -> impl Iterator<Item = Duration> {
    schedule
        .enumerate()
        .filter(move |(k, _)| *k as u64 % n as u64 == i as u64)
        .map(|(_, d)| d)
}

/// Corrected and uncorrected histograms, microseconds.
#[derive(Clone)]
pub struct Recorder {
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            corrected: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            uncorrected: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }

    pub fn record(&mut self, corrected: Duration, uncorrected: Duration) {
        let _ = self.corrected.record((corrected.as_micros() as u64).max(1));
        let _ = self
            .uncorrected
            .record((uncorrected.as_micros() as u64).max(1));
    }
}
