//! [`staged`] and [`staged_poisson`]: rates that change over time, in
//! [`Stage`]s, with exact arrival instants.

use core::iter::FusedIterator;
use core::time::Duration;

use rand::{Rng, RngExt};

use super::rate::{RateError, stage_rate};
use crate::rng::Generator;

/// One stretch of a rate that changes over time: a linear ramp from one
/// rate to another (a hold when they are equal), per second, over a
/// duration. Rates may be zero: a ramp from 0 starts the load, a ramp to 0
/// ends it, a hold at 0 is a pause.
///
/// Stages follow each other: [`staged`] and [`staged_poisson`] run them in
/// order, as k6's `ramping-arrival-rate` executor runs its stages.
///
/// # Examples
///
/// ```
/// use stagger::schedule::{RateReason, Stage};
/// use std::time::Duration;
///
/// let secs = Duration::from_secs;
/// let stages = [
///     Stage::ramp(0.0, 100.0, secs(10))?, // ramp up
///     Stage::hold(100.0, secs(60))?,      // hold
///     Stage::ramp(100.0, 0.0, secs(10))?, // ramp down
/// ];
/// assert_eq!(stages[1].arrivals(), 6000.0);
/// assert_eq!(Stage::hold(-1.0, secs(1)).unwrap_err().reason(), RateReason::Negative);
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    from: f64,
    to: f64,
    over: Duration,
}

impl Stage {
    /// A rate going linearly from `from` to `to` per second over `over`.
    /// Each rate is a number per second (`f64`, or an integer) or a
    /// [`Rate`](super::Rate).
    ///
    /// # Errors
    ///
    /// Returns a [`RateError`] naming the rate if either is NaN, infinite
    /// or negative.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::schedule::{Rate, Stage};
    /// use std::time::Duration;
    ///
    /// let up = Stage::ramp(0, Rate::every(Duration::from_millis(1))?, Duration::from_secs(10))?;
    /// assert_eq!(up.to(), 1000.0);
    /// assert_eq!(up.arrivals(), 5000.0);
    /// # Ok::<(), stagger::schedule::RateError>(())
    /// ```
    pub fn ramp(
        from: impl Into<f64>,
        to: impl Into<f64>,
        over: Duration,
    ) -> Result<Stage, RateError> {
        Ok(Stage {
            from: stage_rate(from.into())?,
            to: stage_rate(to.into())?,
            over,
        })
    }

    /// A constant rate, `rate` per second (or a [`Rate`](super::Rate)), for
    /// `over`.
    ///
    /// # Errors
    ///
    /// Returns a [`RateError`] naming the rate if it is NaN, infinite or
    /// negative.
    pub fn hold(rate: impl Into<f64>, over: Duration) -> Result<Stage, RateError> {
        let rate = rate.into();
        Stage::ramp(rate, rate, over)
    }

    /// The rate per second at the stage's start.
    pub fn from(&self) -> f64 {
        self.from
    }

    /// The rate per second at the stage's end.
    pub fn to(&self) -> f64 {
        self.to
    }

    /// How long the stage lasts.
    pub fn duration(&self) -> Duration {
        self.over
    }

    /// How many arrivals the stage holds: the integral of its rate,
    /// `(from + to) / 2 · duration`.
    pub fn arrivals(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.over.as_secs_f64()
    }

    /// How long after the stage's start its rate's integral reaches `x`
    /// (`0 <= x <= arrivals()`), in seconds: the inverse of
    /// `from·t + (to − from)·t² / (2·duration)`, in closed form.
    fn inverse(&self, x: f64) -> f64 {
        let d = self.over.as_secs_f64();
        if x <= 0.0 {
            return 0.0;
        }
        let t = if self.from == self.to {
            // A hold: `arrivals() > 0` puts `from` above zero.
            x / self.from
        } else {
            // a·t² + from·t − x = 0, with a = (to − from) / (2d), in the
            // form that neither cancels nor divides by zero when `from` is
            // 0: t = 2x / (from + √(from² + 4ax)).
            let a = (self.to - self.from) / (2.0 * d);
            let root = (self.from * self.from + 4.0 * a * x).max(0.0).sqrt();
            2.0 * x / (self.from + root)
        };
        t.clamp(0.0, d)
    }
}

/// Where a staged schedule is: the stage, its start, and the arrivals of
/// the stages before it.
#[derive(Debug, Clone)]
struct Cursor {
    stages: Vec<Stage>,
    /// The current stage.
    stage: usize,
    /// Its offset from the schedule's start.
    start: Duration,
    /// The integral of the rate up to its start.
    before: f64,
}

impl Cursor {
    fn new(stages: impl IntoIterator<Item = Stage>) -> Self {
        Cursor {
            stages: stages.into_iter().collect(),
            stage: 0,
            start: Duration::ZERO,
            before: 0.0,
        }
    }

    /// The offset at which the rate's integral reaches `x`, `x` never
    /// less than at the last call; `None` past the last stage.
    fn offset(&mut self, x: f64) -> Option<Duration> {
        loop {
            let stage = self.stages.get(self.stage)?;
            let within = x - self.before;
            let arrivals = stage.arrivals();
            if within < arrivals {
                let t = stage.inverse(within);
                // Never past the stage's end, whatever the rounding.
                let t = Duration::try_from_secs_f64(t)
                    .unwrap_or(stage.over)
                    .min(stage.over);
                return self.start.checked_add(t);
            }
            self.before += arrivals;
            self.start = self.start.checked_add(stage.over)?;
            self.stage += 1;
        }
    }

    fn end(&mut self) {
        self.stage = self.stages.len();
    }
}

/// Arrivals at a rate that follows `stages`, evenly spaced: arrival `i` is
/// at the offset where the integral of the rate reaches `i` (the inverse of
/// the cumulative rate), computed in closed form for each arrival from its
/// index, so nothing drifts, as k6's `ramping-arrival-rate` computes them.
/// Under a single [`Stage::hold`] this is [`constant`](super::constant),
/// to within a nanosecond.
///
/// Arrival 0 is at offset zero; the schedule ends with the last stage (an
/// arrival exactly at a stage's end belongs to the next stage). The
/// iterator holds the stages and nothing per arrival.
///
/// # Examples
///
/// A ramp from 0 to 10 per second over 10 s: the integral is `t²/2`, so
/// arrival `i` is at `√(2i)` seconds.
///
/// ```
/// use stagger::schedule::{self, Stage};
/// use std::time::Duration;
///
/// let secs = Duration::from_secs;
/// let arrivals: Vec<_> = schedule::staged([
///     Stage::ramp(0.0, 10.0, secs(10))?,
///     Stage::hold(10.0, secs(1))?,
/// ])
/// .collect();
/// assert_eq!(arrivals.len(), 50 + 10);
/// assert_eq!(arrivals[2], secs(2));
/// assert_eq!(arrivals[18], secs(6));
/// assert_eq!(arrivals[50], secs(10)); // the hold's first
/// assert_eq!(arrivals[55], Duration::from_millis(10_500));
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn staged(stages: impl IntoIterator<Item = Stage>) -> Staged {
    Staged {
        cursor: Cursor::new(stages),
        next: 0,
    }
}

/// Iterator for the [`staged`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct Staged {
    cursor: Cursor,
    /// The index of the next arrival.
    next: u64,
}

impl Iterator for Staged {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // Exact as an f64 up to 2⁵³ arrivals.
        let offset = self.cursor.offset(self.next as f64);
        match offset {
            Some(_) => self.next += 1,
            None => self.cursor.end(),
        }
        offset
    }
}

impl FusedIterator for Staged {}

/// Poisson arrivals at a rate that follows `stages`: a time-changed Poisson
/// process, unit-rate exponential gaps mapped through the inverse of the
/// cumulative rate, so the arrivals around any instant come at that
/// instant's rate on average, and none come while the rate is zero.
///
/// The first arrival is after the start, as in [`poisson`](super::poisson);
/// the schedule ends with the last stage. The generator is owned, so a
/// seeded one fixes the whole schedule.
///
/// # Examples
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::schedule::{self, Stage};
/// use std::time::Duration;
///
/// let secs = Duration::from_secs;
/// let stages = [Stage::ramp(0.0, 1000.0, secs(10))?, Stage::ramp(1000.0, 0.0, secs(10))?];
/// let arrivals: Vec<_> = schedule::staged_poisson(stages, StdRng::seed_from_u64(7)).collect();
/// // 10 000 expected; the first 100 ms, the rate climbing to 10 per second,
/// // hold half an arrival on average.
/// assert!((9_500..10_500).contains(&arrivals.len()), "{}", arrivals.len());
/// assert!(arrivals.iter().filter(|&&at| at < Duration::from_millis(100)).count() < 5);
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn staged_poisson<R: Generator>(
    stages: impl IntoIterator<Item = Stage>,
    rng: R,
) -> StagedPoisson<R> {
    StagedPoisson {
        cursor: Cursor::new(stages),
        rng,
        at: 0.0,
    }
}

/// Iterator for the [`staged_poisson`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct StagedPoisson<R> {
    cursor: Cursor,
    rng: R,
    /// The last arrival, in unit-rate time.
    at: f64,
}

impl<R: Rng> Iterator for StagedPoisson<R> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // Inverse transform: -ln(U) is exponential with mean 1, for U
        // uniform in (0, 1].
        let uniform: f64 = 1.0 - self.rng.random::<f64>();
        self.at += -uniform.ln();
        let offset = self.cursor.offset(self.at);
        if offset.is_none() {
            self.cursor.end();
        }
        offset
    }
}

impl<R: Rng> FusedIterator for StagedPoisson<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_rates_and_empty_stages() {
        let secs = Duration::from_secs;
        // Nothing at all: no arrivals, no division by zero.
        assert_eq!(staged([]).count(), 0);
        assert_eq!(staged([Stage::hold(0.0, secs(5)).unwrap()]).count(), 0);
        assert_eq!(
            staged([Stage::hold(5.0, Duration::ZERO).unwrap()]).count(),
            0
        );
        // A pause between two holds.
        let at: Vec<_> = staged([
            Stage::hold(1.0, secs(2)).unwrap(),
            Stage::hold(0.0, secs(10)).unwrap(),
            Stage::hold(1.0, secs(2)).unwrap(),
        ])
        .collect();
        assert_eq!(at, [secs(0), secs(1), secs(12), secs(13)]);
        // A ramp down to 0 holds 50 arrivals, all before its end.
        let down: Vec<_> = staged([Stage::ramp(10.0, 0.0, secs(10)).unwrap()]).collect();
        assert_eq!(down.len(), 50);
        assert!(down.is_sorted());
        assert!(*down.last().unwrap() < secs(10));
        assert_eq!(
            Stage::ramp(f64::NAN, 1.0, secs(1)).unwrap_err().reason(),
            super::super::RateReason::NotANumber
        );
        assert_eq!(
            Stage::ramp(1.0, f64::INFINITY, secs(1))
                .unwrap_err()
                .reason(),
            super::super::RateReason::Infinite
        );
    }

    #[test]
    fn a_hold_is_constant() {
        let rate = 3.0;
        let held: Vec<_> = staged([Stage::hold(rate, Duration::from_secs(100)).unwrap()]).collect();
        let constant: Vec<_> = super::super::constant(super::super::Rate::per_sec(rate).unwrap())
            .take(300)
            .collect();
        assert_eq!(held.len(), 300);
        for (a, b) in held.iter().zip(&constant) {
            assert!(a.abs_diff(*b) <= Duration::from_nanos(1), "{a:?} {b:?}");
        }
    }
}
