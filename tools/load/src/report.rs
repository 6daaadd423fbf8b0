//! What a run found, from `stagger::load::Recorder`: the summary, statuses
//! and errors by kind, and the percentiles table (corrected beside
//! uncorrected, as wrk2's `--u_latency` prints it); the same as JSON.

use std::collections::BTreeMap;
use std::fmt;

use stagger::load::{Percentiles, Recorder};

/// A whole run, as reported.
pub struct Report {
    /// What was asked for, in words: the URL, the rate or stages, the protocol.
    pub plan: String,
    /// Arrivals in this process's schedule (its segment's share).
    pub scheduled: u64,
    /// Responses by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Everything else: latencies, errors by kind, late and held requests.
    pub recorder: Recorder,
}

impl Report {
    pub fn responses(&self) -> u64 {
        self.recorder.successes()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let table = self.recorder.percentiles();
        let side = |pick: fn(&stagger::load::Row) -> std::time::Duration| {
            let mut map = serde_json::Map::new();
            for row in table.rows() {
                let us = pick(row).as_micros() as u64;
                map.insert(format!("{}_us", label(row.percentile)), us.into());
            }
            serde_json::Value::Object(map)
        };
        let statuses: serde_json::Map<_, _> = self
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), (*n).into()))
            .collect();
        let errors: serde_json::Map<_, _> = self
            .recorder
            .errors_by_kind()
            .map(|(k, n)| (k.to_owned(), n.into()))
            .collect();
        serde_json::json!({
            "plan": self.plan,
            "scheduled": self.scheduled,
            "requests": self.recorder.count(),
            "responses": self.responses(),
            "statuses": statuses,
            "errors": errors,
            "rate_per_s": self.recorder.achieved_rate(),
            "late": self.recorder.late(),
            "held": { "count": self.recorder.held(), "max_s": self.recorder.held_max().as_secs_f64() },
            "corrected": side(|r| r.corrected),
            "uncorrected": side(|r| r.uncorrected),
        })
    }
}

/// `p50`, `p99.9`, `max`: a row's name.
fn label(percentile: f64) -> String {
    if percentile >= 100.0 {
        "max".to_owned()
    } else {
        format!("p{percentile}")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.recorder;
        writeln!(f, "{}", self.plan)?;
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        writeln!(
            f,
            "  {} scheduled, {} responses ({}), {} errors; {:.1} requests/s achieved",
            self.scheduled,
            self.responses(),
            if statuses.is_empty() {
                "none".to_owned()
            } else {
                statuses.join(", ")
            },
            r.errors(),
            r.achieved_rate(),
        )?;
        for (kind, n) in r.errors_by_kind() {
            writeln!(f, "  error: {kind}: {n}")?;
        }
        write!(f, "  {} started over 5 ms late", r.late())?;
        if r.held() > 0 {
            write!(
                f,
                "; {} held by --max-in-flight (longest {:.2?})",
                r.held(),
                r.held_max()
            )?;
        }
        writeln!(f)?;
        if self.responses() == 0 {
            return Ok(());
        }
        writeln!(f)?;
        write!(f, "{}", Percentiles::of(r.corrected(), r.uncorrected()))
    }
}
