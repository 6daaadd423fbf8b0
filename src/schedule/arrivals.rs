//! The schedule constructors: plain iterators of offsets from one start.

use core::iter::FusedIterator;
use core::time::Duration;

use rand::distr::Distribution;
use rand::{Rng, RngExt};

use super::rate::Rate;
use crate::jitter::FullJitter;
use crate::rng::Generator;

// ===== constant =====

/// Events at a constant `rate`: offset `i` is `i / rate`, from the start.
///
/// Each offset is computed from its index, never by adding up a rounded
/// period, so the schedule does not drift: the millionth event of a 3 per
/// second schedule is exactly 333 333 s 333 333 333 ns after the start. The
/// iterator is endless (it ends only past [`Duration::MAX`]); bound it with
/// [`take`](Iterator::take) or [`take_while`](Iterator::take_while).
///
/// # Examples
///
/// ```
/// use stagger::schedule::{self, Rate};
/// use std::time::Duration;
///
/// let offsets: Vec<_> = schedule::constant(Rate::per_sec(4.0)?).take(3).collect();
/// assert_eq!(offsets, [Duration::ZERO, Duration::from_millis(250), Duration::from_millis(500)]);
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn constant(rate: Rate) -> Constant {
    let (step_ns, step_frac) = rate.split(1);
    Constant {
        rate,
        next: 0,
        at: Some((0, 0)),
        step: u64::try_from(step_ns).ok().map(|ns| (ns, step_frac)),
    }
}

/// Iterator for the [`constant`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct Constant {
    rate: Rate,
    /// The next index.
    next: u64,
    /// The next offset, `next` periods, in whole nanoseconds and the
    /// attoseconds left over: kept exactly, step by step, while it fits in a
    /// `u64` of nanoseconds (585 years); `None` past that.
    at: Option<(u64, u64)>,
    /// One period, split the same way; `None` if over 585 years.
    step: Option<(u64, u64)>,
}

impl Iterator for Constant {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let index = self.next;
        self.next = self.next.checked_add(1)?;
        let Some((ns, frac)) = self.at else {
            // Beyond the fast path: from the index, in 128 bits.
            return self.rate.offset(index);
        };
        // Adding the period's whole nanoseconds and its leftover
        // attoseconds, with carry, is exact: offset `i` is `i` periods, as
        // computed from `i`, to the nearest nanosecond.
        self.at = self.step.and_then(|(step_ns, step_frac)| {
            let frac = frac + step_frac;
            let carry = u64::from(frac >= ATTOS_PER_NS);
            let ns = ns.checked_add(step_ns)?.checked_add(carry)?;
            Some((ns, frac - carry * ATTOS_PER_NS))
        });
        let rounded = ns + u64::from(frac >= ATTOS_PER_NS / 2);
        Some(Duration::from_nanos(rounded))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }

    fn nth(&mut self, n: usize) -> Option<Duration> {
        self.next = self.next.saturating_add(n as u64);
        let (ns, frac) = self.rate.split(self.next);
        self.at = u64::try_from(ns).ok().map(|ns| (ns, frac));
        self.next()
    }
}

/// Attoseconds per nanosecond.
const ATTOS_PER_NS: u64 = 1_000_000_000;

impl FusedIterator for Constant {}

// ===== poisson =====

/// Poisson arrivals at `rate`: independent, exponentially distributed gaps
/// with mean `1 / rate`, the first one after the start. This is open-loop
/// load as real users generate it.
///
/// The generator is owned, so a seeded one fixes the whole schedule. The
/// iterator is endless and holds nothing per arrival.
///
/// # Examples
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::schedule::{self, Rate};
/// use std::time::Duration;
///
/// let rate = Rate::per_sec(100.0)?;
/// let arrivals: Vec<_> = schedule::poisson(rate, StdRng::seed_from_u64(1)).take(1000).collect();
/// assert!(arrivals.is_sorted());
/// // 1000 arrivals at 100 per second take about 10 s.
/// let last = arrivals[999].as_secs_f64();
/// assert!((8.0..12.0).contains(&last), "{last}");
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn poisson<R: Generator>(rate: Rate, rng: R) -> Poisson<R> {
    Poisson {
        mean_secs: 1.0 / rate.per_sec_f64(),
        rng,
        at: Some(Duration::ZERO),
    }
}

/// Iterator for the [`poisson`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct Poisson<R> {
    /// The mean gap, in seconds.
    mean_secs: f64,
    rng: R,
    /// The last arrival; `None` once past `Duration::MAX`.
    at: Option<Duration>,
}

impl<R: Rng> Iterator for Poisson<R> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // Inverse transform: -ln(U) is exponential with mean 1, for U
        // uniform in (0, 1].
        let uniform: f64 = 1.0 - self.rng.random::<f64>();
        let gap = -uniform.ln() * self.mean_secs;
        let gap = Duration::try_from_secs_f64(gap).unwrap_or(Duration::MAX);
        self.at = self.at?.checked_add(gap);
        self.at
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl<R: Rng> FusedIterator for Poisson<R> {}

// ===== spread =====

/// `n` offsets drawn uniformly from `[0, window]`, ascending: `n` events
/// spread at random over a window, such as the start-up of `n` clients.
///
/// The offsets are drawn from `rng` in order, then sorted, before this
/// function returns: 16 bytes each.
///
/// # Panics
///
/// Panics at once if `n` offsets cannot be allocated.
///
/// # Examples
///
/// ```
/// use stagger::schedule;
/// use std::time::Duration;
///
/// let window = Duration::from_secs(60);
/// let offsets: Vec<_> = schedule::spread(100, window, &mut stagger::FastRng::new()).collect();
/// assert_eq!(offsets.len(), 100);
/// assert!(offsets.is_sorted() && offsets[99] <= window);
/// ```
pub fn spread<R: Generator + ?Sized>(n: usize, window: Duration, rng: &mut R) -> Spread {
    Spread(crate::wait::draw(rng, n, &FullJitter::new(window), "schedule::spread").into_iter())
}

/// Iterator for the [`spread`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct Spread(std::vec::IntoIter<Duration>);

impl Iterator for Spread {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Spread {}

impl FusedIterator for Spread {}

// ===== jitter =====

/// Displaces each offset of `schedule` by a delay drawn from `distribution`
/// (one of [`jitter`](crate::jitter)'s, say), keeping the order: an offset
/// that would come before its predecessor's is moved up to it.
///
/// A jittered interval: a heartbeat every 30 s, each late by up to 5 s at
/// random, without drifting (offset `i` is `30 s · i` plus its own jitter,
/// not the sum of all the jitters before it).
///
/// # Examples
///
/// ```
/// use stagger::jitter::FullJitter;
/// use stagger::schedule::{self, Rate};
/// use std::time::Duration;
///
/// let every = schedule::constant(Rate::every(Duration::from_secs(30))?);
/// let jitter = FullJitter::new(Duration::from_secs(5));
/// let beats: Vec<_> = schedule::jittered(every, jitter, stagger::FastRng::new()).take(4).collect();
/// for (i, beat) in beats.iter().enumerate() {
///     let base = Duration::from_secs(30) * i as u32;
///     assert!(base <= *beat && *beat <= base + Duration::from_secs(5));
/// }
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn jittered<I, D, R>(schedule: I, distribution: D, rng: R) -> Jittered<I::IntoIter, D, R>
where
    I: IntoIterator<Item = Duration>,
    D: Distribution<Duration>,
    R: Generator,
{
    Jittered {
        schedule: schedule.into_iter(),
        distribution,
        rng,
        last: Duration::ZERO,
    }
}

/// Iterator for the [`jittered`] function.
#[derive(Debug, Clone)]
#[must_use = "iterators do nothing unless iterated"]
pub struct Jittered<I, D, R> {
    schedule: I,
    distribution: D,
    rng: R,
    /// The last offset yielded: none comes before it.
    last: Duration,
}

impl<I, D, R> Iterator for Jittered<I, D, R>
where
    I: Iterator<Item = Duration>,
    D: Distribution<Duration>,
    R: Rng,
{
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let offset = self.schedule.next()?;
        let jitter = self.distribution.sample(&mut self.rng);
        self.last = offset.saturating_add(jitter).max(self.last);
        Some(self.last)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.schedule.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_matches_computing_from_the_index() {
        for per_sec in [3.0, 7.0, 1234.5, 0.1, 1e6, 1.5e9, 2e9, 1.0 / 3.0] {
            let rate = Rate::per_sec(per_sec).unwrap();
            let stepped: Vec<_> = constant(rate).take(10_000).collect();
            for (i, offset) in stepped.iter().enumerate() {
                assert_eq!(
                    Some(*offset),
                    rate.offset(i as u64),
                    "{per_sec}/s, offset {i}"
                );
            }
            // Jumping ahead lands on the same offsets as stepping there.
            let mut jumped = constant(rate);
            assert_eq!(jumped.nth(5_000), Some(stepped[5_000]));
            assert_eq!(jumped.next(), Some(stepped[5_001]));
        }
        // Past 585 years of nanoseconds, and on to the end of `Duration`.
        let yearly = Rate::every(Duration::from_secs(365 * 24 * 3600)).unwrap();
        let mut late = constant(yearly);
        assert_eq!(late.nth(600), yearly.offset(600));
        assert_eq!(late.next(), yearly.offset(601));
        let slow = Rate::every(Duration::MAX / 2).unwrap();
        assert_eq!(constant(slow).count(), 3);
    }

    #[test]
    fn rates_over_a_billion_per_second_run_at_their_own_rate() {
        // Periods under a nanosecond: 1.5·10⁹ per second puts event
        // 3 000 000 at 2 ms, not at 3 ms as a period rounded up to 1 ns did.
        let rate = Rate::per_sec(1.5e9).unwrap();
        assert_eq!(
            constant(rate).nth(3_000_000),
            Some(Duration::from_millis(2))
        );
        let mean = poisson(
            rate,
            <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3),
        )
        .mean_secs;
        assert!((mean * 1.5e9 - 1.0).abs() < 1e-9, "{mean}");
    }
}
