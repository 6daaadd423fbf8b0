//! [`Segment`]s: one schedule split across processes, and
//! [`instant_at`]: a wall-clock start on a backend's clock.

use core::fmt;
use core::iter::FusedIterator;
use core::str::FromStr;
use core::time::Duration;
use std::time::{Instant, SystemTime};

use crate::sleeper::Sleeper;

/// Segment `index` of `count`: the share of one schedule that one of
/// `count` processes sends, as k6's execution segments split one sequence
/// of arrivals among instances.
///
/// Segment `i` of `n` takes arrivals `i`, `i + n`, `i + 2n`, … of the
/// schedule ([`segment`]): the `n` segments are disjoint, their union is the
/// whole schedule, arrival for arrival, and each holds every `n`th arrival,
/// so each process sends `1/n` of the rate with the schedule's shape
/// (ramps, holds and all). For that, every process must build the *same*
/// schedule: the same stages or rate, the same seed for a random one
/// (each process draws the whole sequence and keeps its share), and the
/// same start, from the wall clock ([`instant_at`]).
///
/// # Kubernetes
///
/// An Indexed Job runs `n` pods, each with its index in
/// `JOB_COMPLETION_INDEX`: the way past one machine. Give every pod the same
/// start and the count, and [`Segment::from_env`] reads its segment:
///
/// ```yaml
/// apiVersion: batch/v1
/// kind: Job
/// metadata:
///   name: load
/// spec:
///   completionMode: Indexed
///   completions: 4
///   parallelism: 4          # all at once: each sends its share of one schedule
///   template:
///     spec:
///       restartPolicy: Never
///       containers:
///         - name: load
///           image: registry.example.com/my-load-test:latest
///           env:
///             - name: STAGGER_SEGMENTS   # the count: `completions`
///               value: "4"
///             - name: START_UNIX_SECS    # one start for all, a little ahead
///               value: "1767225600"
/// ```
///
/// Each pod then builds the same schedule, keeps its segment and runs it from
/// the shared start:
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::schedule::{self, Rate, Segment};
/// use stagger::sim::Sim;
/// use std::time::UNIX_EPOCH;
///
/// # let rt = Sim::new();
/// // In a pod: its share, and the start all pods were given.
/// let seg = Segment::from_env().unwrap_or(Segment::WHOLE); // the whole, outside a Job
/// let start = match std::env::var("START_UNIX_SECS").ok().and_then(|s| s.parse().ok()) {
///     Some(secs) => schedule::instant_at(&rt, UNIX_EPOCH + Duration::from_secs(secs)),
///     None => rt.now(),
/// };
/// let arrivals = schedule::constant(Rate::per_sec(1000.0)?).take(1000);
/// let requests = schedule::run_at(&rt, start, schedule::segment(arrivals, seg), |_tick| async {
///     // send the request here
/// });
/// let sent = rt.block_on(requests.count());
/// assert_eq!(sent, 1000 / seg.count() + usize::from(seg.index() < 1000 % seg.count()));
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
///
/// Their recorders' histograms
/// (`stagger::load::Recorder::merge`, with the
/// `hdrhistogram` feature, or their HdrHistogram logs) add up to the whole
/// run's. The pods' clocks must agree (NTP keeps them within a millisecond
/// or so): a pod whose clock is ahead starts its share early.
///
/// # Examples
///
/// ```
/// use stagger::schedule::{self, Rate, Segment};
///
/// let whole: Vec<_> = schedule::constant(Rate::per_sec(100.0)?).take(10).collect();
/// let mut union: Vec<_> = (0..3)
///     .flat_map(|i| schedule::segment(whole.iter().copied(), Segment::new(i, 3).unwrap()))
///     .collect();
/// union.sort();
/// assert_eq!(union, whole);
/// assert_eq!("1/3".parse::<Segment>().unwrap(), Segment::new(1, 3).unwrap());
/// assert!(Segment::new(3, 3).is_err());
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    index: usize,
    count: usize,
}

impl Segment {
    /// The whole schedule: segment 0 of 1.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    /// Segment `index` of `count`, counted from 0.
    ///
    /// # Errors
    ///
    /// Returns a [`SegmentError`] if `count` is 0 or `index` is not below
    /// it.
    pub fn new(index: usize, count: usize) -> Result<Segment, SegmentError> {
        if count == 0 {
            return Err(SegmentError::ZeroCount);
        }
        if index >= count {
            return Err(SegmentError::OutOfRange { index, count });
        }
        Ok(Segment { index, count })
    }

    /// The segment a Kubernetes Indexed Job's pod runs: its index from
    /// `JOB_COMPLETION_INDEX` (which Kubernetes sets), the count from
    /// `STAGGER_SEGMENTS` (which the Job's manifest sets to its
    /// `completions`; see [`Segment`]'s docs).
    ///
    /// # Errors
    ///
    /// Returns a [`SegmentError`] naming the variable if either is unset or
    /// not a number, or if they make no segment ([`Segment::new`]).
    pub fn from_env() -> Result<Segment, SegmentError> {
        let read = |name: &'static str| {
            let value = std::env::var(name).map_err(|_| SegmentError::Env { name, value: None })?;
            value
                .trim()
                .parse::<usize>()
                .map_err(|_| SegmentError::Env {
                    name,
                    value: Some(value),
                })
        };
        Segment::new(read("JOB_COMPLETION_INDEX")?, read("STAGGER_SEGMENTS")?)
    }

    /// Its index, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many segments the schedule is split into.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether arrival `i` of the whole schedule is this segment's.
    pub fn contains(&self, i: usize) -> bool {
        i % self.count == self.index
    }

    /// The index in the whole schedule of this segment's arrival `local`
    /// (a [`Tick::index`](super::Tick::index) of a run over the segment):
    /// `local · count + index`; `None` past `usize::MAX`.
    pub fn global_index(&self, local: usize) -> Option<usize> {
        local.checked_mul(self.count)?.checked_add(self.index)
    }
}

impl Default for Segment {
    fn default() -> Self {
        Segment::WHOLE
    }
}

/// `i/n`, as [`FromStr`] reads it.
impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Reads `i/n`, such as a command line's `--segment 1/4`.
impl FromStr for Segment {
    type Err = SegmentError;

    fn from_str(s: &str) -> Result<Segment, SegmentError> {
        let parse = || {
            let (index, count) = s.split_once('/')?;
            Some((index.trim().parse().ok()?, count.trim().parse().ok()?))
        };
        let (index, count) = parse().ok_or_else(|| SegmentError::Parse(s.to_owned()))?;
        Segment::new(index, count)
    }
}

/// Why a [`Segment`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentError {
    /// A count of 0 segments.
    ZeroCount,
    /// An index not below the count.
    OutOfRange {
        /// The index given.
        index: usize,
        /// The count given.
        count: usize,
    },
    /// Not of the form `i/n`.
    Parse(String),
    /// An environment variable unset (`value` is `None`) or not a number.
    Env {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: Option<String>,
    },
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SegmentError::ZeroCount => f.write_str("invalid segment: a count of 0 segments"),
            SegmentError::OutOfRange { index, count } => write!(
                f,
                "invalid segment {index}/{count}: the index must be below the count (segments count from 0)"
            ),
            SegmentError::Parse(s) => write!(f, "invalid segment {s:?}: expected i/n, such as 0/4"),
            SegmentError::Env { name, value: None } => write!(f, "{name} is not set"),
            SegmentError::Env {
                name,
                value: Some(value),
            } => write!(f, "{name} is {value:?}, not a whole number"),
        }
    }
}

impl std::error::Error for SegmentError {}

/// The arrivals of `schedule` that are segment `seg`'s: arrivals `i`,
/// `i + n`, `i + 2n`, … of segment `i` of `n` (see [`Segment`]). The `n`
/// segments of one schedule together are that schedule, arrival for
/// arrival. Each process draws the whole schedule and keeps its share: `n`
/// draws an arrival, fine for the rates one process sends.
pub fn segment<I: IntoIterator<Item = Duration>>(
    schedule: I,
    seg: Segment,
) -> Segmented<I::IntoIter> {
    Segmented {
        schedule: schedule.into_iter(),
        seg,
        first: true,
    }
}

/// Iterator for the [`segment`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct Segmented<I> {
    schedule: I,
    seg: Segment,
    first: bool,
}

impl<I: Iterator<Item = Duration>> Iterator for Segmented<I> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let skip = if self.first {
            self.first = false;
            self.seg.index
        } else {
            self.seg.count - 1
        };
        self.schedule.nth(skip)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.schedule.size_hint();
        let share = |len: usize| {
            let offset = if self.first {
                self.seg.index
            } else {
                self.seg.count - 1
            };
            len.saturating_sub(offset).div_ceil(self.seg.count)
        };
        (share(low), high.map(share))
    }
}

impl<I: FusedIterator<Item = Duration>> FusedIterator for Segmented<I> {}

/// The instant on `sleeper`'s clock that the wall-clock time `at` will be
/// (or was): how processes on several machines agree on one start
/// ([`run_at`](super::run_at), [`ticks_at`](super::ticks_at)), each from the
/// same `SystemTime`, such as Unix seconds passed to all
/// (`UNIX_EPOCH + Duration::from_secs(secs)`).
///
/// Reads both clocks now and maps `at` by the difference. On Sim, whose
/// clock is virtual, the instant is as far from Sim's now as `at` is from
/// the real time now. A time too far off for an `Instant` to hold is taken
/// as the furthest it can (or as now, for the past).
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::schedule;
/// use stagger::sim::Sim;
/// use std::time::SystemTime;
///
/// let sim = Sim::new();
/// let start = schedule::instant_at(&sim, SystemTime::now() + Duration::from_secs(5));
/// let ahead = start - sim.now();
/// assert!(ahead <= Duration::from_secs(5) && ahead > Duration::from_secs(4));
/// ```
pub fn instant_at<S: Sleeper + ?Sized>(sleeper: &S, at: SystemTime) -> Instant {
    let wall = SystemTime::now();
    let now = sleeper.now();
    match at.duration_since(wall) {
        Ok(ahead) => now.checked_add(ahead).unwrap_or_else(|| far_future(now)),
        Err(behind) => now.checked_sub(behind.duration()).unwrap_or(now),
    }
}

/// About 30 years on: as far as an `Instant` surely holds.
fn far_future(now: Instant) -> Instant {
    let mut step = Duration::from_secs(86_400 * 365 * 30);
    loop {
        if let Some(at) = now.checked_add(step) {
            return at;
        }
        step /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_segments_are_typed_errors() {
        assert_eq!(Segment::new(0, 0), Err(SegmentError::ZeroCount));
        assert_eq!(
            Segment::new(4, 4),
            Err(SegmentError::OutOfRange { index: 4, count: 4 })
        );
        assert_eq!(
            "4/4".parse::<Segment>().unwrap_err().to_string(),
            "invalid segment 4/4: the index must be below the count (segments count from 0)"
        );
        assert_eq!(
            "1-4".parse::<Segment>().unwrap_err().to_string(),
            "invalid segment \"1-4\": expected i/n, such as 0/4"
        );
        assert!("-1/4".parse::<Segment>().is_err());
        assert_eq!(" 2 / 4 ".parse::<Segment>(), Segment::new(2, 4));
        assert_eq!(Segment::new(2, 4).unwrap().to_string(), "2/4");
        assert_eq!(Segment::default(), Segment::WHOLE);
    }

    #[test]
    fn segmented_size_hints_are_exact() {
        for n in 1..=5 {
            for len in 0..=12 {
                for i in 0..n {
                    let mut seg = segment(
                        (0..len).map(Duration::from_secs),
                        Segment::new(i, n).unwrap(),
                    );
                    loop {
                        let left = seg.clone().count();
                        assert_eq!(seg.size_hint(), (left, Some(left)), "{i}/{n} of {len}");
                        if seg.next().is_none() {
                            break;
                        }
                    }
                }
            }
        }
    }
}
