//! [`Percentiles`]: the table of corrected and uncorrected latencies.

use core::fmt;
use core::time::Duration;

use hdrhistogram::Histogram;

/// The percentiles the table shows, as wrk2 and oha show them: p50, p75,
/// p90, p99, p99.9, p99.99 and the maximum (100).
pub const PERCENTILES: [f64; 7] = [50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0];

/// Latency percentiles, corrected (from the intended start) beside
/// uncorrected (from the actual start), as wrk2's `--u_latency` and oha
/// print them, to the histograms' precision: each value is the roundest
/// of its bucket (the values the histogram cannot tell apart, 0.1 % wide),
/// so an exact 35 ms reads `35ms`. `Display` prints the table:
///
/// ```text
///   percentile    corrected  uncorrected
///          p50       3.1ms        3.0ms
///          ...
///          max      41.9ms        3.4ms
/// ```
///
/// # Examples
///
/// ```
/// use stagger::load::Percentiles;
/// use stagger::load::hdrhistogram::Histogram;
/// use std::time::Duration;
///
/// let mut corrected = Histogram::<u64>::new(3).unwrap();
/// let mut uncorrected = Histogram::<u64>::new(3).unwrap();
/// for us in 1..=1000 {
///     corrected.record(us * 2).unwrap();
///     uncorrected.record(us).unwrap();
/// }
/// let table = Percentiles::of(&corrected, &uncorrected);
/// assert_eq!(table.rows()[0].percentile, 50.0);
/// assert_eq!(table.rows()[0].corrected, Duration::from_micros(1000));
/// assert_eq!(table.rows()[0].uncorrected, Duration::from_micros(500));
/// assert_eq!(table.rows()[6].uncorrected, Duration::from_micros(1000)); // max
/// println!("{table}");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles {
    rows: Vec<Row>,
}

/// One row of [`Percentiles`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// The percentile, 0 to 100 (100 is the maximum).
    pub percentile: f64,
    /// The latency from the intended start at that percentile.
    pub corrected: Duration,
    /// The latency from the actual start at that percentile.
    pub uncorrected: Duration,
}

impl Percentiles {
    /// The [`PERCENTILES`] of two histograms of microseconds.
    pub fn of(corrected: &Histogram<u64>, uncorrected: &Histogram<u64>) -> Self {
        Percentiles::at(corrected, uncorrected, &PERCENTILES)
    }

    /// The given percentiles (0 to 100) of two histograms of microseconds.
    pub fn at(
        corrected: &Histogram<u64>,
        uncorrected: &Histogram<u64>,
        percentiles: &[f64],
    ) -> Self {
        let value = |h: &Histogram<u64>, p: f64| {
            let us = if p >= 100.0 {
                h.max()
            } else {
                h.value_at_percentile(p)
            };
            Duration::from_micros(roundest(h.lowest_equivalent(us), h.highest_equivalent(us)))
        };
        Percentiles {
            rows: percentiles
                .iter()
                .map(|&percentile| Row {
                    percentile,
                    corrected: value(corrected, percentile),
                    uncorrected: value(uncorrected, percentile),
                })
                .collect(),
        }
    }

    /// The rows, in the order given.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

/// The value of `low..=high` (a histogram bucket: every value in it is the
/// same to the histogram) with the most trailing zeros: a latency of 35 ms
/// recorded in the bucket 34 976–35 007 µs reads 35ms, not 34.976ms.
fn roundest(low: u64, high: u64) -> u64 {
    let mut step = 10_u64.pow(19);
    while step > 1 {
        if let Some(round) = low.div_ceil(step).checked_mul(step) {
            if round <= high {
                return round;
            }
        }
        step /= 10;
    }
    low
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>12} {:>12} {:>12}",
            "percentile", "corrected", "uncorrected"
        )?;
        for row in &self.rows {
            let name = if row.percentile >= 100.0 {
                "max".to_owned()
            } else {
                format!("p{}", row.percentile)
            };
            writeln!(
                f,
                "{name:>12} {:>12} {:>12}",
                format!("{:?}", row.corrected),
                format!("{:?}", row.uncorrected)
            )?;
        }
        Ok(())
    }
}
