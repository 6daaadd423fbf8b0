//! Delay distributions: the jitter strategies retries, start-up and
//! schedules use.
//!
//! Each is a [`Distribution<Duration>`](rand::distr::Distribution), so any of them — or
//! any distribution of your own — plugs into
//! [`wait_random_from`](crate::wait_random_from),
//! [`wait_n_from`](crate::wait_n_from),
//! [`as_completed_from`](crate::as_completed_from),
//! [`task_wait_n_from`](crate::task_wait_n_from), the staggered fan-outs
//! ([`staggered_from`](crate::staggered_from),
//! [`task_staggered_from`](crate::task_staggered_from)) and
//! [`schedule::jittered`](crate::schedule::jittered). The functions without
//! `_from` use [`FullJitter`], the exercise's uniform `[0, max_delay]`.
//!
//! | strategy | delay | for |
//! |---|---|---|
//! | [`FullJitter::new(t)`](FullJitter) | uniform over `[0, t]` | spreading start-up, retries |
//! | [`EqualJitter::new(t)`](EqualJitter) | uniform over `[t/2, t]` | retries that keep some back-off |
//! | [`DecorrelatedJitter::new(base, cap)`](DecorrelatedJitter) | `min(cap, U(base, 3 · prev))` | retries, growing |
//! | [`ProportionalJitter::new(base, fraction)`](ProportionalJitter) | uniform over `base ± fraction · base` | "every 10 s ± 20 %" |
//! | [`UniformJitter::new(min, max)`](UniformJitter) | uniform over `[min, max]` | any range |
//!
//! The first three follow the names and formulas of the AWS Architecture
//! Blog's "Exponential Backoff And Jitter", with `t` the delay before
//! jitter. Constructors that can be given an impossible shape return a typed
//! error ([`JitterError`], [`FractionError`]); none panics.

use core::fmt;
use core::time::Duration;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::uniform::{UniformDuration, UniformSampler};

use crate::secs::Float;

/// Uniform over `[min, max]`, both inclusive, at nanosecond resolution.
fn uniform(min: Duration, max: Duration) -> Result<UniformDuration, JitterError> {
    UniformDuration::new_inclusive(min, max).map_err(|_| JitterError { min, max })
}

/// Full jitter: `U(0, t)`, uniform over `[0, t]`. The exercise's distribution.
///
/// # Examples
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::distr::Distribution;
/// use stagger::rand::rngs::StdRng;
/// use stagger::jitter::FullJitter;
/// use std::time::Duration;
///
/// let jitter = FullJitter::new(Duration::from_secs(1));
/// let delay = jitter.sample(&mut StdRng::seed_from_u64(0));
/// assert!(delay <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FullJitter(UniformDuration);

impl FullJitter {
    /// Uniform over `[0, max]`.
    pub fn new(max: Duration) -> Self {
        match uniform(Duration::ZERO, max) {
            Ok(uniform) => FullJitter(uniform),
            // `ZERO..=max` is never empty.
            Err(err) => unreachable!("{err}"),
        }
    }
}

impl Distribution<Duration> for FullJitter {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        self.0.sample(rng)
    }
}

/// Equal jitter: `t/2 + U(0, t/2)`, uniform over `[t/2, t]`: never less
/// than half the delay, so some back-off always remains.
///
/// # Examples
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::distr::Distribution;
/// use stagger::rand::rngs::StdRng;
/// use stagger::jitter::EqualJitter;
/// use std::time::Duration;
///
/// let jitter = EqualJitter::new(Duration::from_secs(2));
/// let delay = jitter.sample(&mut StdRng::seed_from_u64(0));
/// assert!(Duration::from_secs(1) <= delay && delay <= Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EqualJitter(UniformDuration);

impl EqualJitter {
    /// Uniform over `[t/2, t]` (for an odd number of nanoseconds, `t/2`
    /// rounds down).
    pub fn new(t: Duration) -> Self {
        match uniform(t / 2, t) {
            Ok(uniform) => EqualJitter(uniform),
            // `t/2 <= t` always.
            Err(err) => unreachable!("{err}"),
        }
    }
}

impl Distribution<Duration> for EqualJitter {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        self.0.sample(rng)
    }
}

/// Decorrelated jitter: `next = min(cap, U(base, 3 · prev))`, starting from
/// `prev = base`: a stateful sequence that grows roughly threefold per step
/// until `cap`, each delay drawn around the previous one.
///
/// This is the formula of the AWS article: the draw may exceed `cap` and is
/// then cut to it, so once the sequence has grown, a good share of the delays
/// (about half, for `cap = 10 · base`) are exactly `cap`.
///
/// Sampling advances the sequence, which sits behind a lock, so a
/// `DecorrelatedJitter` can be shared between threads and tasks;
/// [`wait_n_from`](crate::wait_n_from) draws its delays in order, so a
/// seeded generator fixes the whole sequence. [`reset`](Self::reset) starts
/// over. A `base` of zero stays at zero, as the formula says: use a positive
/// `base`.
///
/// # Examples
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::distr::Distribution;
/// use stagger::rand::rngs::StdRng;
/// use stagger::jitter::DecorrelatedJitter;
/// use std::time::Duration;
///
/// let (base, cap) = (Duration::from_millis(100), Duration::from_secs(5));
/// let jitter = DecorrelatedJitter::new(base, cap)?;
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut prev = base;
/// for _ in 0..10 {
///     let delay = jitter.sample(&mut rng);
///     assert!(base <= delay && delay <= cap.min(prev * 3));
///     prev = delay;
/// }
/// # Ok::<(), stagger::jitter::JitterError>(())
/// ```
pub struct DecorrelatedJitter {
    base: Duration,
    cap: Duration,
    prev: Mutex<Duration>,
}

impl DecorrelatedJitter {
    /// A sequence of delays between `base` and `cap`.
    ///
    /// # Errors
    ///
    /// Returns a [`JitterError`] if `base > cap`.
    pub fn new(base: Duration, cap: Duration) -> Result<Self, JitterError> {
        uniform(base, cap)?;
        Ok(DecorrelatedJitter {
            base,
            cap,
            prev: Mutex::new(base),
        })
    }

    /// Starts the sequence over from `base`.
    pub fn reset(&self) {
        *self.prev() = self.base;
    }

    fn prev(&self) -> MutexGuard<'_, Duration> {
        // A `Duration` is always valid: a poisoned lock is usable.
        self.prev.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Distribution<Duration> for DecorrelatedJitter {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let mut prev = self.prev();
        // `base <= prev`, so `base <= 3 · prev`.
        let draw = match uniform(self.base, prev.saturating_mul(3)) {
            Ok(uniform) => uniform.sample(rng),
            Err(_) => self.base,
        };
        *prev = draw.min(self.cap);
        *prev
    }
}

impl Clone for DecorrelatedJitter {
    /// A sequence with the same bounds, at the same point.
    fn clone(&self) -> Self {
        DecorrelatedJitter {
            base: self.base,
            cap: self.cap,
            prev: Mutex::new(*self.prev()),
        }
    }
}

impl PartialEq for DecorrelatedJitter {
    fn eq(&self, other: &Self) -> bool {
        if (self.base, self.cap) != (other.base, other.cap) || core::ptr::eq(self, other) {
            return (self.base, self.cap) == (other.base, other.cap);
        }
        // One lock at a time: `a == b` and `b == a` on two threads must not
        // deadlock.
        let prev = *self.prev();
        prev == *other.prev()
    }
}

impl fmt::Debug for DecorrelatedJitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecorrelatedJitter")
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("prev", &*self.prev())
            .finish()
    }
}

/// Uniform over `[min, max]`, both inclusive, at nanosecond resolution:
/// any range of delays.
///
/// # Examples
///
/// A reconnect after 1 to 3 s, on [`Sim`](crate::sim::Sim)'s virtual clock:
///
/// ```
/// use stagger::jitter::UniformJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let (min, max) = (Duration::from_secs(1), Duration::from_secs(3));
/// let jitter = UniformJitter::new(min, max)?;
/// let sim = Sim::new();
/// let delay = sim.block_on(stagger::wait_random_from(&sim, &mut stagger::rand::rng(), jitter));
/// assert!(min <= delay && delay <= max);
/// assert_eq!(sim.elapsed(), delay);
///
/// // An empty range is an error, not a panic.
/// assert!(UniformJitter::new(max, min).is_err());
/// # Ok::<(), stagger::jitter::JitterError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UniformJitter {
    uniform: UniformDuration,
    min: Duration,
    max: Duration,
}

impl UniformJitter {
    /// Uniform over `[min, max]`; `min == max` always draws `min`.
    ///
    /// # Errors
    ///
    /// Returns a [`JitterError`] if `min > max`.
    pub fn new(min: Duration, max: Duration) -> Result<Self, JitterError> {
        Ok(UniformJitter {
            uniform: uniform(min, max)?,
            min,
            max,
        })
    }

    /// The shortest delay it draws.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest delay it draws.
    pub fn max(&self) -> Duration {
        self.max
    }
}

impl Distribution<Duration> for UniformJitter {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        self.uniform.sample(rng)
    }
}

/// Proportional jitter: uniform over `[base - spread, base + spread]`, with
/// `spread = fraction · base`: "every 10 s ± 20 %".
///
/// `fraction` is in `[0, 1]`: 0 always draws `base`, 1 draws over
/// `[0, 2 · base]`. The spread is rounded to the nearest nanosecond, so the
/// bounds ([`min`](Self::min), [`max`](Self::max)) are exact durations,
/// and the mean is `base`.
///
/// # Examples
///
/// A lease renewed every 10 s ± 20 %, on a schedule: each renewal lands
/// within 2 s of its nominal instant, and the jitter does not accumulate
/// ([`schedule::jittered`](crate::schedule::jittered) adds the delay to
/// each offset, so renewal `i` comes at `10 s · (i + 1) ± 2 s`).
///
/// ```
/// use stagger::jitter::ProportionalJitter;
/// use stagger::schedule::{self, Rate};
/// use std::time::Duration;
///
/// let period = Duration::from_secs(10);
/// let jitter = ProportionalJitter::new(period, 0.2)?;
/// assert_eq!((jitter.min(), jitter.max()), (Duration::from_secs(8), Duration::from_secs(12)));
///
/// let every = schedule::constant(Rate::every(period)?);
/// let renewals: Vec<_> = schedule::jittered(every, jitter, stagger::rand::rng()).take(5).collect();
/// for (i, at) in renewals.iter().enumerate() {
///     let nominal = period * (i as u32 + 1);
///     assert!(nominal - Duration::from_secs(2) <= *at && *at <= nominal + Duration::from_secs(2));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Fractions that make no sense are errors:
///
/// ```
/// use stagger::jitter::{FractionReason, ProportionalJitter};
/// use std::time::Duration;
///
/// let err = ProportionalJitter::new(Duration::from_secs(10), 1.5).unwrap_err();
/// assert_eq!(err.reason(), FractionReason::AboveOne);
/// assert_eq!(err.to_string(), "invalid jitter of ±1.5 × 10s: the fraction is above 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionalJitter {
    uniform: UniformJitter,
    base: Duration,
    fraction: f64,
}

impl ProportionalJitter {
    /// Uniform over `base ± fraction · base`.
    ///
    /// # Errors
    ///
    /// Returns a [`FractionError`] if `fraction` is NaN, negative, or above
    /// 1 (infinities included), or if `base + fraction · base` is longer
    /// than [`Duration::MAX`].
    pub fn new(base: Duration, fraction: f64) -> Result<Self, FractionError> {
        let error = |reason| FractionError {
            base,
            fraction,
            reason,
        };
        if fraction.is_nan() {
            return Err(error(FractionReason::NotANumber));
        }
        if fraction < 0.0 {
            return Err(error(FractionReason::Negative));
        }
        if fraction > 1.0 {
            return Err(error(FractionReason::AboveOne));
        }
        let nanos = base.as_nanos();
        // In [0, nanos]: `fraction` is in [0, 1]; the cast saturates.
        let spread = ((nanos as f64 * fraction).round() as u128).min(nanos);
        let min = from_nanos(nanos - spread);
        let max = nanos
            .checked_add(spread)
            .and_then(|max| {
                let secs = u64::try_from(max / NANOS_PER_SEC).ok()?;
                Some(Duration::new(secs, (max % NANOS_PER_SEC) as u32))
            })
            .ok_or(error(FractionReason::TooLarge))?;
        match UniformJitter::new(min, max) {
            Ok(uniform) => Ok(ProportionalJitter {
                uniform,
                base,
                fraction,
            }),
            // `min <= base <= max`.
            Err(err) => unreachable!("{err}"),
        }
    }

    /// The delay it jitters around: the mean of its draws.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The fraction of `base` it draws within, either side.
    pub fn fraction(&self) -> f64 {
        self.fraction
    }

    /// The shortest delay it draws: `base - fraction · base`.
    pub fn min(&self) -> Duration {
        self.uniform.min
    }

    /// The longest delay it draws: `base + fraction · base`.
    pub fn max(&self) -> Duration {
        self.uniform.max
    }
}

impl Distribution<Duration> for ProportionalJitter {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        self.uniform.sample(rng)
    }
}

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// `nanos` nanoseconds, which fit a `Duration` (at most one's own nanos).
fn from_nanos(nanos: u128) -> Duration {
    let secs = (nanos / NANOS_PER_SEC) as u64;
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}

/// A [`ProportionalJitter`] that cannot be made: its fraction is not in
/// `[0, 1]`, or its range does not fit a [`Duration`].
///
/// # Examples
///
/// ```
/// use stagger::jitter::{FractionReason, ProportionalJitter};
/// use std::time::Duration;
///
/// let err = ProportionalJitter::new(Duration::from_secs(1), f64::NAN).unwrap_err();
/// assert_eq!(err.reason(), FractionReason::NotANumber);
/// assert_eq!(err.base(), Duration::from_secs(1));
/// assert!(err.fraction().is_nan());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FractionError {
    base: Duration,
    fraction: f64,
    reason: FractionReason,
}

/// Why a [`ProportionalJitter`] was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FractionReason {
    /// The fraction is NaN.
    NotANumber,
    /// The fraction is below zero (negative infinity included).
    Negative,
    /// The fraction is above 1 (positive infinity included): the delay
    /// would go below zero.
    AboveOne,
    /// `base + fraction · base` is longer than [`Duration::MAX`].
    TooLarge,
}

impl FractionError {
    /// The requested base.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The requested fraction.
    pub fn fraction(&self) -> f64 {
        self.fraction
    }

    /// Why it was rejected.
    pub fn reason(&self) -> FractionReason {
        self.reason
    }
}

impl fmt::Display for FractionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            FractionReason::NotANumber => "the fraction is not a number",
            FractionReason::Negative => "the fraction is negative",
            FractionReason::AboveOne => "the fraction is above 1",
            FractionReason::TooLarge => "the range exceeds the longest Duration",
        };
        write!(
            f,
            "invalid jitter of ±{} × {:?}: {why}",
            Float(self.fraction),
            self.base
        )
    }
}

impl std::error::Error for FractionError {}

/// A delay range whose minimum exceeds its maximum.
///
/// Float inputs are checked before they get here, by
/// [`try_from_secs_f64`](crate::try_from_secs_f64) (NaN, infinite, negative,
/// too large).
///
/// # Examples
///
/// ```
/// use stagger::jitter::DecorrelatedJitter;
/// use std::time::Duration;
///
/// let err = DecorrelatedJitter::new(Duration::from_secs(2), Duration::from_secs(1)).unwrap_err();
/// assert_eq!(err.to_string(), "empty delay range: minimum 2s exceeds maximum 1s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JitterError {
    min: Duration,
    max: Duration,
}

impl JitterError {
    /// The requested minimum.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The requested maximum.
    pub fn max(&self) -> Duration {
        self.max
    }
}

impl fmt::Display for JitterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "empty delay range: minimum {:?} exceeds maximum {:?}",
            self.min, self.max
        )
    }
}

impl std::error::Error for JitterError {}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn full_and_equal_stay_in_range() {
        let mut rng = StdRng::seed_from_u64(1);
        for t in [Duration::ZERO, MS, Duration::from_secs(3), Duration::MAX] {
            for _ in 0..1000 {
                assert!(FullJitter::new(t).sample(&mut rng) <= t);
                let equal = EqualJitter::new(t).sample(&mut rng);
                assert!(t / 2 <= equal && equal <= t, "{equal:?} for {t:?}");
            }
        }
    }

    /// Mean and share of draws at most `at` (or exactly `at`, `exact`) of
    /// 100 000 seeded draws.
    fn stats(draw: &mut dyn FnMut(&mut StdRng) -> Duration, at: Duration) -> (f64, f64, f64) {
        const N: u32 = 100_000;
        let mut rng = StdRng::seed_from_u64(42);
        let (mut sum, mut below, mut exact) = (Duration::ZERO, 0, 0);
        for _ in 0..N {
            let d = draw(&mut rng);
            sum += d;
            below += usize::from(d <= at);
            exact += usize::from(d == at);
        }
        let share = |k: usize| k as f64 / f64::from(N);
        ((sum / N).as_secs_f64() * 1e3, share(below), share(exact))
    }

    #[test]
    fn full_jitter_is_uniform() {
        let t = 10 * MS;
        let full = FullJitter::new(t);
        let (mean, quarter, _) = stats(&mut |rng| full.sample(rng), t / 4);
        assert!((mean - 5.0).abs() < 0.05, "mean {mean} ms");
        assert!((quarter - 0.25).abs() < 0.01, "{quarter} below t/4");
    }

    #[test]
    fn equal_jitter_is_uniform_over_the_upper_half() {
        let t = 10 * MS;
        let equal = EqualJitter::new(t);
        let (mean, below_half, _) = stats(
            &mut |rng| equal.sample(rng),
            t / 2 - Duration::from_nanos(1),
        );
        assert!((mean - 7.5).abs() < 0.05, "mean {mean} ms");
        assert_eq!(below_half, 0.0);
        let (_, three_quarters, _) = stats(&mut |rng| equal.sample(rng), t * 3 / 4);
        assert!(
            (three_quarters - 0.5).abs() < 0.01,
            "{three_quarters} below 3t/4"
        );
    }

    #[test]
    fn decorrelated_is_the_documented_formula() {
        // min(cap, U(base, 3 · prev)) with base 1 ms, cap 10 ms: the draw
        // exceeds the cap about half the time once the sequence has grown,
        // and the long-run mean is about 7.4 ms. The formula cut at the
        // cap before drawing would never reach the cap exactly.
        let (base, cap) = (MS, 10 * MS);
        let jitter = DecorrelatedJitter::new(base, cap).unwrap();
        let (mean, _, at_cap) = stats(&mut |rng| jitter.sample(rng), cap);
        assert!((mean - 7.4).abs() < 0.15, "mean {mean} ms");
        assert!((at_cap - 0.48).abs() < 0.03, "{at_cap} at the cap");
    }

    #[test]
    fn decorrelated_follows_its_recurrence() {
        let mut rng = StdRng::seed_from_u64(2);
        let (base, cap) = (10 * MS, 2000 * MS);
        let jitter = DecorrelatedJitter::new(base, cap).unwrap();
        let mut prev = base;
        let mut reached_cap = false;
        for _ in 0..200 {
            let next = jitter.sample(&mut rng);
            assert!(
                base <= next && next <= cap.min(prev * 3),
                "{next:?} after {prev:?}"
            );
            reached_cap |= next == cap;
            prev = next;
        }
        assert!(reached_cap, "the sequence never reached its cap");
        jitter.reset();
        let again = jitter.sample(&mut rng);
        assert!(again <= 3 * base);
    }

    #[test]
    fn decorrelated_is_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DecorrelatedJitter>();
        let jitter = DecorrelatedJitter::new(MS, 100 * MS).unwrap();
        std::thread::scope(|s| {
            for seed in 0..2 {
                let jitter = &jitter;
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed);
                    (0..1000).for_each(|_| assert!(jitter.sample(&mut rng) <= 100 * MS));
                });
            }
        });
        let copy = jitter.clone();
        assert_eq!(copy, jitter);
    }

    #[test]
    fn decorrelated_edge_cases() {
        let mut rng = StdRng::seed_from_u64(3);
        // base == cap: constant.
        let fixed = DecorrelatedJitter::new(MS, MS).unwrap();
        assert!((0..10).all(|_| fixed.sample(&mut rng) == MS));
        // base == 0: 3 · 0 = 0 forever.
        let zero = DecorrelatedJitter::new(Duration::ZERO, MS).unwrap();
        assert!((0..10).all(|_| zero.sample(&mut rng) == Duration::ZERO));
        // Huge values saturate instead of overflowing.
        let huge = DecorrelatedJitter::new(Duration::MAX / 2, Duration::MAX).unwrap();
        assert!((0..10).all(|_| huge.sample(&mut rng) >= Duration::MAX / 2));
        // min > max is an error.
        let err = DecorrelatedJitter::new(2 * MS, MS).unwrap_err();
        assert_eq!((err.min(), err.max()), (2 * MS, MS));
    }

    #[test]
    fn uniform_jitter_is_uniform_over_its_range() {
        let (min, max) = (2 * MS, 10 * MS);
        let jitter = UniformJitter::new(min, max).unwrap();
        assert_eq!((jitter.min(), jitter.max()), (min, max));
        let (mean, quarter, _) = stats(&mut |rng| jitter.sample(rng), 4 * MS);
        assert!((mean - 6.0).abs() < 0.05, "mean {mean} ms");
        assert!((quarter - 0.25).abs() < 0.01, "{quarter} at most 4 ms");
        let (_, below_min, _) = stats(&mut |rng| jitter.sample(rng), min - Duration::from_nanos(1));
        assert_eq!(below_min, 0.0);
        let (_, at_most_max, _) = stats(&mut |rng| jitter.sample(rng), max);
        assert_eq!(at_most_max, 1.0);
    }

    #[test]
    fn uniform_jitter_edge_cases() {
        let mut rng = StdRng::seed_from_u64(4);
        // min == max: constant.
        let fixed = UniformJitter::new(MS, MS).unwrap();
        assert!((0..10).all(|_| fixed.sample(&mut rng) == MS));
        // Both ends are drawn: a range of three nanoseconds.
        let ns = Duration::from_nanos;
        let tiny = UniformJitter::new(ns(1), ns(3)).unwrap();
        let mut seen: Vec<_> = (0..1000).map(|_| tiny.sample(&mut rng)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, [ns(1), ns(2), ns(3)]);
        // The whole range of `Duration`.
        let all = UniformJitter::new(Duration::ZERO, Duration::MAX).unwrap();
        (0..10).for_each(|_| _ = all.sample(&mut rng));
        // min > max is an error.
        let err = UniformJitter::new(2 * MS, MS).unwrap_err();
        assert_eq!((err.min(), err.max()), (2 * MS, MS));
    }

    #[test]
    fn proportional_jitter_is_uniform_around_its_base() {
        let base = 10 * MS;
        let jitter = ProportionalJitter::new(base, 0.2).unwrap();
        // Exact bounds: 10 ms ± 2 ms.
        assert_eq!((jitter.min(), jitter.max()), (8 * MS, 12 * MS));
        assert_eq!((jitter.base(), jitter.fraction()), (base, 0.2));
        let (mean, quarter, _) = stats(&mut |rng| jitter.sample(rng), 9 * MS);
        assert!((mean - 10.0).abs() < 0.02, "mean {mean} ms");
        assert!((quarter - 0.25).abs() < 0.01, "{quarter} at most 9 ms");
        let (_, below_min, _) = stats(
            &mut |rng| jitter.sample(rng),
            8 * MS - Duration::from_nanos(1),
        );
        assert_eq!(below_min, 0.0);
        let (_, at_most_max, _) = stats(&mut |rng| jitter.sample(rng), 12 * MS);
        assert_eq!(at_most_max, 1.0);
    }

    #[test]
    fn proportional_jitter_edge_cases() {
        let mut rng = StdRng::seed_from_u64(5);
        let ns = Duration::from_nanos;
        let bounds = |base, fraction| {
            let jitter = ProportionalJitter::new(base, fraction).unwrap();
            (jitter.min(), jitter.max())
        };
        // 0 is the base itself, 1 is [0, 2 · base], -0 is 0.
        let fixed = ProportionalJitter::new(MS, 0.0).unwrap();
        assert!((0..10).all(|_| fixed.sample(&mut rng) == MS));
        assert_eq!(bounds(3 * MS, 1.0), (Duration::ZERO, 6 * MS));
        assert_eq!(bounds(3 * MS, -0.0), (3 * MS, 3 * MS));
        // The spread rounds to the nearest nanosecond: 3 ns ± 1.5 ns is
        // [1 ns, 5 ns].
        assert_eq!(bounds(ns(3), 0.5), (ns(1), ns(5)));
        // A zero base is zero whatever the fraction.
        assert_eq!(
            bounds(Duration::ZERO, 1.0),
            (Duration::ZERO, Duration::ZERO)
        );
        // Large bases: exact at any fraction that fits.
        assert_eq!(bounds(Duration::MAX, 0.0), (Duration::MAX, Duration::MAX));
        let half = Duration::MAX / 2;
        let (low, high) = bounds(half, 0.5);
        assert!(low < half && half < high, "{low:?}..={high:?}");
        let wide = ProportionalJitter::new(half, 0.5).unwrap();
        assert!((0..100).all(|_| (low..=high).contains(&wide.sample(&mut rng))));
    }

    #[test]
    fn proportional_jitter_rejects_what_makes_no_sense() {
        let reason = |base, fraction| {
            ProportionalJitter::new(base, fraction)
                .unwrap_err()
                .reason()
        };
        let s = Duration::from_secs(1);
        assert_eq!(reason(s, f64::NAN), FractionReason::NotANumber);
        assert_eq!(reason(s, -0.1), FractionReason::Negative);
        assert_eq!(reason(s, f64::NEG_INFINITY), FractionReason::Negative);
        assert_eq!(reason(s, 1.0 + f64::EPSILON), FractionReason::AboveOne);
        assert_eq!(reason(s, f64::INFINITY), FractionReason::AboveOne);
        assert_eq!(reason(Duration::MAX, 0.5), FractionReason::TooLarge);
        // A spread that rounds to nothing fits even there.
        assert!(ProportionalJitter::new(Duration::MAX, f64::MIN_POSITIVE).is_ok());
        let err = ProportionalJitter::new(s, -0.25).unwrap_err();
        assert_eq!((err.base(), err.fraction()), (s, -0.25));
        assert_eq!(
            err.to_string(),
            "invalid jitter of ±-0.25 × 1s: the fraction is negative"
        );
        let err = ProportionalJitter::new(Duration::MAX, 0.5).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("the range exceeds the longest Duration"),
            "{err}"
        );
    }
}
