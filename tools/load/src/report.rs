//! What a run found: the table (corrected beside uncorrected, as wrk2's
//! `--u_latency` prints it), the JSON, the HdrHistogram log.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::client::ErrorKind;
use crate::shim::Recorder;

/// The percentiles of the table and the JSON.
pub const PERCENTILES: [(&str, f64); 7] = [
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p99.99", 99.99),
    ("max", 100.0),
];

/// A whole run, as reported.
pub struct Report {
    /// What was asked for, in words: the URL, the rate or stages, the protocol.
    pub plan: String,
    /// Arrivals in this process's schedule (its segment's share).
    pub scheduled: u64,
    /// Requests that got a response, by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got none, by why.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// From the first intended start to the last request's end.
    pub elapsed: Duration,
    /// Requests the in-flight cap held back, and for how long in all and at
    /// most.
    pub held: u64,
    pub held_total: Duration,
    pub held_max: Duration,
    /// Latency of the requests that got a response, microseconds.
    pub recorder: Recorder,
    /// When the schedule started, on the wall clock.
    pub started_at: SystemTime,
}

impl Report {
    pub fn responses(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Requests finished (answered or not) per second of the run.
    pub fn rate(&self) -> f64 {
        let done = (self.responses() + self.failed()) as f64;
        if self.elapsed.is_zero() {
            0.0
        } else {
            done / self.elapsed.as_secs_f64()
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let percentiles = |h: &Histogram<u64>| {
            let mut map = serde_json::Map::new();
            for (label, p) in PERCENTILES {
                map.insert(format!("{label}_us"), h.value_at_percentile(p).into());
            }
            map.insert("mean_us".into(), h.mean().into());
            serde_json::Value::Object(map)
        };
        let statuses: serde_json::Map<_, _> = self
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), (*n).into()))
            .collect();
        let errors: serde_json::Map<_, _> = self
            .errors
            .iter()
            .map(|(k, n)| (k.key().to_owned(), (*n).into()))
            .collect();
        serde_json::json!({
            "plan": self.plan,
            "scheduled": self.scheduled,
            "responses": self.responses(),
            "statuses": statuses,
            "errors": errors,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "rate_per_s": self.rate(),
            "held": { "count": self.held, "total_s": self.held_total.as_secs_f64(), "max_s": self.held_max.as_secs_f64() },
            "corrected": percentiles(&self.recorder.corrected),
            "uncorrected": percentiles(&self.recorder.uncorrected),
        })
    }

    /// Writes both histograms as one interval each, tagged `corrected` and
    /// `uncorrected`, in the HdrHistogram V2 log format (values in
    /// microseconds; the log's max-value divisor makes its readers show
    /// milliseconds).
    pub fn write_hdr_log(&self, path: &Path) -> Result<(), String> {
        let fail = |e: &dyn fmt::Display| {
            format!("cannot write the HdrHistogram log {}: {e}", path.display())
        };
        let mut file = std::fs::File::create(path).map_err(|e| fail(&e))?;
        let mut serializer = V2DeflateSerializer::new();
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment("stagger-load: latency in microseconds")
            .with_start_time(self.started_at)
            .with_base_time(self.started_at)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut file, &mut serializer)
            .map_err(|e| fail(&e))?;
        for (tag, h) in [
            ("corrected", &self.recorder.corrected),
            ("uncorrected", &self.recorder.uncorrected),
        ] {
            log.write_histogram(h, Duration::ZERO, self.elapsed, Tag::new(tag))
                .map_err(|e| fail(&format!("{e:?}")))?;
        }
        drop(log);
        file.flush().map_err(|e| fail(&e))
    }
}

/// A duration from microseconds, printed as the table prints it.
pub struct Micros(pub u64);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        let text = if us < 1_000 {
            format!("{us} µs")
        } else if us < 1_000_000 {
            format!("{:.2} ms", us as f64 / 1e3)
        } else {
            format!("{:.3} s", us as f64 / 1e6)
        };
        f.pad(&text)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.plan)?;
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        writeln!(
            f,
            "  {} scheduled, {} responses ({}), {} errors, {:.1} requests/s over {:.2} s",
            self.scheduled,
            self.responses(),
            if statuses.is_empty() {
                "none".to_owned()
            } else {
                statuses.join(", ")
            },
            self.failed(),
            self.rate(),
            self.elapsed.as_secs_f64(),
        )?;
        for (kind, n) in &self.errors {
            writeln!(f, "  error: {kind}: {n}")?;
        }
        if self.held > 0 {
            writeln!(
                f,
                "  held by --max-in-flight: {} requests, {:.3} s in all, {:.2?} at most",
                self.held,
                self.held_total.as_secs_f64(),
                self.held_max
            )?;
        }
        if self.responses() == 0 {
            return Ok(());
        }
        writeln!(f)?;
        writeln!(
            f,
            "  {:<8}{:>14}{:>14}",
            "latency", "corrected", "uncorrected"
        )?;
        writeln!(f, "  {:<8}{:>14}{:>14}", "", "(intended)", "(sent)")?;
        let (c, u) = (&self.recorder.corrected, &self.recorder.uncorrected);
        for (label, p) in PERCENTILES {
            writeln!(
                f,
                "  {label:<8}{:>14}{:>14}",
                Micros(c.value_at_percentile(p)),
                Micros(u.value_at_percentile(p))
            )?;
        }
        writeln!(
            f,
            "  {:<8}{:>14}{:>14}",
            "mean",
            Micros(c.mean() as u64),
            Micros(u.mean() as u64)
        )
    }
}
