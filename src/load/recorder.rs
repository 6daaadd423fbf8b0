//! [`Recorder`]: corrected and uncorrected latency histograms, counts and
//! the achieved rate of a load test.

use core::fmt;
use core::time::Duration;
use std::collections::BTreeMap;
use std::time::Instant;

use hdrhistogram::Histogram;

use super::percentiles::Percentiles;
use crate::schedule::{Completed, DEFAULT_TOLERANCE};

/// Significant digits the histograms keep: values to within 0.1 %.
const SIGNIFICANT: u8 = 3;

/// An empty histogram of microseconds, resizing to whatever it records.
fn histogram() -> Histogram<u64> {
    match Histogram::new(SIGNIFICANT) {
        Ok(histogram) => histogram,
        Err(e) => unreachable!("stagger: 3 significant digits are in hdrhistogram's range: {e:?}"),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Records `value`, resizing the histogram to it; clamped only where
/// resizing fails (values near `u64::MAX` µs: half a million years).
fn record(histogram: &mut Histogram<u64>, value: u64) {
    if histogram.record(value).is_err() {
        histogram.saturating_record(value);
    }
}

/// Records the requests of a load test as they complete: corrected and
/// uncorrected latency histograms, successes, errors by kind, late starts,
/// requests a cap held back, and the achieved rate; see the [module
/// docs](super).
///
/// Latencies of successful requests go into the histograms, in
/// microseconds to three significant digits (HdrHistogram, resizing to any
/// value: nothing is clamped); failed requests are counted by kind, their
/// latencies kept out of the percentiles (as oha keeps them), so a fast
/// refusal cannot make the service look fast.
///
/// A request *started late* if it started more than [`late_after`]
/// (5 ms by default, [`DEFAULT_TOLERANCE`]) after its intended instant, for
/// whatever reason (lateness, a cap, the executor): the count of requests
/// whose corrected and uncorrected latencies differ by more than that.
///
/// [`late_after`]: Recorder::late_after
///
/// # Examples
///
/// See the [module docs](super).
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    late_after: Duration,
    whole: Snapshot,
    /// What came since the last [`interval`](Recorder::interval).
    current: Snapshot,
    current_start: Instant,
}

impl Recorder {
    /// An empty recorder for a run that started at `start` (the instant its
    /// schedule counts from, on the backend's clock): intervals are timed
    /// from it.
    pub fn new(start: Instant) -> Self {
        Recorder {
            start,
            late_after: DEFAULT_TOLERANCE,
            whole: Snapshot::empty(Duration::ZERO),
            current: Snapshot::empty(Duration::ZERO),
            current_start: start,
        }
    }

    /// Counts a request as started late when it started more than
    /// `late_after` after its intended instant (5 ms by default).
    pub fn late_after(mut self, late_after: Duration) -> Self {
        self.late_after = late_after;
        self
    }

    /// The instant the run started, as given to [`new`](Recorder::new).
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Records a request that succeeded.
    pub fn record<T>(&mut self, done: &Completed<T>) {
        self.record_outcome(done, None);
    }

    /// Records a request that failed, counted under `kind` (a short label:
    /// `"timeout"`, `"connect"`, `"status 503"`). Its latency is not
    /// recorded.
    pub fn record_error<T>(&mut self, done: &Completed<T>, kind: &str) {
        self.record_outcome(done, Some(kind));
    }

    /// Records a request that succeeded if `ok`, else failed, counted under
    /// `"error"`.
    pub fn record_result<T>(&mut self, done: &Completed<T>, ok: bool) {
        self.record_outcome(done, (!ok).then_some("error"));
    }

    fn record_outcome<T>(&mut self, done: &Completed<T>, error: Option<&str>) {
        let late = done.started.saturating_duration_since(done.tick.intended) > self.late_after;
        let sample = Sample {
            corrected: micros(done.latency()),
            uncorrected: micros(done.service()),
            late,
            held: done.released.map(|_| done.held()),
            started: done.started,
        };
        self.whole.add_sample(&sample, error);
        self.current.add_sample(&sample, error);
    }

    /// Adds `other`'s counts and histograms to this recorder's (its
    /// interval's too): the recorders of several threads, or of the
    /// [`Segment`](crate::schedule::Segment)s of one schedule run in one
    /// process, make the whole run's. The start and `late_after` stay this
    /// recorder's. (Across processes, merge their [`HdrLog`](super::HdrLog)s
    /// or their [`Snapshot`]s' histograms.)
    pub fn merge(&mut self, other: &Recorder) {
        self.whole.merge(&other.whole);
        self.current.merge(&other.current);
    }

    /// Everything recorded so far, as of `now`: the snapshot's length is
    /// `now − start`.
    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let mut snapshot = self.whole.clone();
        snapshot.length = now.saturating_duration_since(self.start);
        snapshot
    }

    /// What was recorded since the last call (or since the start), as of
    /// `now`, for live progress or an [`HdrLog`](super::HdrLog); the next
    /// interval starts at `now`.
    pub fn interval(&mut self, now: Instant) -> Snapshot {
        let offset = self.current_start.saturating_duration_since(self.start);
        let mut snapshot = core::mem::replace(
            &mut self.current,
            Snapshot::empty(now.saturating_duration_since(self.start)),
        );
        snapshot.start = offset;
        snapshot.length = now.saturating_duration_since(self.current_start);
        self.current_start = now.max(self.current_start);
        snapshot
    }

    /// Latencies from the intended start of each successful request, in
    /// microseconds.
    pub fn corrected(&self) -> &Histogram<u64> {
        &self.whole.corrected
    }

    /// Latencies from the actual start of each successful request, in
    /// microseconds.
    pub fn uncorrected(&self) -> &Histogram<u64> {
        &self.whole.uncorrected
    }

    /// Requests recorded: successes and errors.
    pub fn count(&self) -> u64 {
        self.whole.count()
    }

    /// Requests that succeeded.
    pub fn successes(&self) -> u64 {
        self.whole.successes
    }

    /// Requests that failed, of every kind.
    pub fn errors(&self) -> u64 {
        self.whole.errors()
    }

    /// Failed requests by kind, in the kinds' order.
    pub fn errors_by_kind(&self) -> impl Iterator<Item = (&str, u64)> {
        self.whole.errors_by_kind()
    }

    /// Requests that started late (see [`late_after`](Recorder::late_after)).
    pub fn late(&self) -> u64 {
        self.whole.late
    }

    /// Requests a cap on requests in flight held back.
    pub fn held(&self) -> u64 {
        self.whole.held
    }

    /// The longest a cap held a request back.
    pub fn held_max(&self) -> Duration {
        self.whole.held_max
    }

    /// Requests started per second: `(n − 1)` over the time from the first
    /// request's start to the last's (0 for fewer than two requests). Below
    /// the schedule's rate when the requests could not start on time.
    pub fn achieved_rate(&self) -> f64 {
        self.whole.achieved_rate()
    }

    /// The percentiles table of the whole run.
    pub fn percentiles(&self) -> Percentiles {
        self.whole.percentiles()
    }
}

/// The summary (requests, rate, errors by kind, late and held) and the
/// [`Percentiles`] table.
impl fmt::Display for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.whole, f)
    }
}

/// One request's numbers, as every snapshot records them.
struct Sample {
    corrected: u64,
    uncorrected: u64,
    late: bool,
    held: Option<Duration>,
    started: Instant,
}

/// What a [`Recorder`] recorded over a stretch of time: the whole run
/// ([`Recorder::snapshot`]) or one interval ([`Recorder::interval`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    start: Duration,
    length: Duration,
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    successes: u64,
    errors: BTreeMap<String, u64>,
    late: u64,
    held: u64,
    held_max: Duration,
    first_started: Option<Instant>,
    last_started: Option<Instant>,
}

impl Snapshot {
    fn empty(start: Duration) -> Self {
        Snapshot {
            start,
            length: Duration::ZERO,
            corrected: histogram(),
            uncorrected: histogram(),
            successes: 0,
            errors: BTreeMap::new(),
            late: 0,
            held: 0,
            held_max: Duration::ZERO,
            first_started: None,
            last_started: None,
        }
    }

    fn add_sample(&mut self, sample: &Sample, error: Option<&str>) {
        match error {
            None => {
                self.successes += 1;
                record(&mut self.corrected, sample.corrected);
                record(&mut self.uncorrected, sample.uncorrected);
            }
            Some(kind) => match self.errors.get_mut(kind) {
                Some(count) => *count += 1,
                None => {
                    self.errors.insert(kind.to_owned(), 1);
                }
            },
        }
        self.late += u64::from(sample.late);
        if let Some(held) = sample.held {
            self.held += 1;
            self.held_max = self.held_max.max(held);
        }
        self.first_started = Some(
            self.first_started
                .map_or(sample.started, |at| at.min(sample.started)),
        );
        self.last_started = Some(
            self.last_started
                .map_or(sample.started, |at| at.max(sample.started)),
        );
    }

    /// Adds `other`'s counts and histograms to this snapshot's (from the
    /// same process: the first and last starts compare across threads, not
    /// across machines). Its start and length stay this snapshot's.
    pub fn merge(&mut self, other: &Snapshot) {
        // Both resize to any value: adding cannot fail.
        let _ = self.corrected.add(&other.corrected);
        let _ = self.uncorrected.add(&other.uncorrected);
        self.successes += other.successes;
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_insert(0) += count;
        }
        self.late += other.late;
        self.held += other.held;
        self.held_max = self.held_max.max(other.held_max);
        self.first_started = match (self.first_started, other.first_started) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_started = match (self.last_started, other.last_started) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// When the snapshot starts, after the recorder's start.
    pub fn start(&self) -> Duration {
        self.start
    }

    /// How long it covers.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// Latencies from the intended start of each successful request, in
    /// microseconds.
    pub fn corrected(&self) -> &Histogram<u64> {
        &self.corrected
    }

    /// Latencies from the actual start of each successful request, in
    /// microseconds.
    pub fn uncorrected(&self) -> &Histogram<u64> {
        &self.uncorrected
    }

    /// Requests recorded: successes and errors.
    pub fn count(&self) -> u64 {
        self.successes + self.errors()
    }

    /// Requests that succeeded.
    pub fn successes(&self) -> u64 {
        self.successes
    }

    /// Requests that failed, of every kind.
    pub fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Failed requests by kind, in the kinds' order.
    pub fn errors_by_kind(&self) -> impl Iterator<Item = (&str, u64)> {
        self.errors
            .iter()
            .map(|(kind, &count)| (kind.as_str(), count))
    }

    /// Requests that started late.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Requests a cap on requests in flight held back.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// The longest a cap held a request back.
    pub fn held_max(&self) -> Duration {
        self.held_max
    }

    /// Requests completed per second of the snapshot's length (0 for a
    /// length of zero): the live rate of an interval.
    pub fn rate(&self) -> f64 {
        let secs = self.length.as_secs_f64();
        if secs > 0.0 {
            self.count() as f64 / secs
        } else {
            0.0
        }
    }

    /// Requests started per second: `(n − 1)` over the time from the first
    /// start to the last (0 for fewer than two requests).
    pub fn achieved_rate(&self) -> f64 {
        let (Some(first), Some(last)) = (self.first_started, self.last_started) else {
            return 0.0;
        };
        let secs = last.saturating_duration_since(first).as_secs_f64();
        if secs > 0.0 {
            (self.count() - 1) as f64 / secs
        } else {
            0.0
        }
    }

    /// The percentiles table.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles::of(&self.corrected, &self.uncorrected)
    }
}

/// The summary (requests, rate, errors by kind, late and held) and the
/// [`Percentiles`] table.
impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests, {} ok, {} errors",
            self.count(),
            self.successes,
            self.errors()
        )?;
        let mut kinds = self.errors_by_kind().peekable();
        if kinds.peek().is_some() {
            f.write_str(" (")?;
            for (i, (kind, count)) in kinds.enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{kind}: {count}")?;
            }
            f.write_str(")")?;
        }
        writeln!(f, "; {:.1} requests/s achieved", self.achieved_rate())?;
        writeln!(
            f,
            "{} started late, {} held by the in-flight cap (longest {:?})",
            self.late, self.held, self.held_max
        )?;
        fmt::Display::fmt(&self.percentiles(), f)
    }
}
