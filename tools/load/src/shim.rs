//! TEMPORARY: a stand-in for the library's recorder of issue 20 until branch `load-lib` is merged. Nothing here
//! may stay.

use std::time::Duration;

use hdrhistogram::Histogram;

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
