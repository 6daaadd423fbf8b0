//! Delay distributions: the jitter strategies retries and start-up use.
//!
//! Each is a [`Distribution<Duration>`](rand::distr::Distribution), so any of them — or
//! any distribution of your own — plugs into
//! [`wait_random_from`](crate::wait_random_from),
//! [`wait_n_from`](crate::wait_n_from),
//! [`as_completed_from`](crate::as_completed_from) and
//! [`task_wait_n_from`](crate::task_wait_n_from). The functions without
//! `_from` use [`FullJitter`], the exercise's uniform `[0, max_delay]`.
//!
//! The names and formulas follow the AWS Architecture Blog's "Exponential
//! Backoff And Jitter", with `t` the delay before jitter.

use core::fmt;
use core::time::Duration;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::uniform::{UniformDuration, UniformSampler};

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
}
