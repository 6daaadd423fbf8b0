//! Delay distributions: the jitter strategies retries and start-up use.
//!
//! Each is a [`rand::distr::Distribution<Duration>`], so any of them — or
//! any distribution of your own — plugs into
//! [`wait_random_from`](crate::wait_random_from),
//! [`wait_n_from`](crate::wait_n_from),
//! [`as_completed_from`](crate::as_completed_from) and
//! [`task_wait_n_from`](crate::task_wait_n_from). The functions without
//! `_from` use [`FullJitter`], the exercise's uniform `[0, max_delay]`.
//!
//! The names and formulas follow the AWS Architecture Blog's "Exponential
//! Backoff And Jitter", with `t` the delay before jitter.

use core::cell::Cell;
use core::fmt;
use core::time::Duration;

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
/// use rand::SeedableRng;
/// use rand::distr::Distribution;
/// use rand::rngs::StdRng;
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
/// use rand::SeedableRng;
/// use rand::distr::Distribution;
/// use rand::rngs::StdRng;
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
/// Sampling advances the sequence (the state sits in a [`Cell`], so a
/// `DecorrelatedJitter` is not `Sync`); [`wait_n_from`](crate::wait_n_from)
/// draws its delays in order, so a seeded generator fixes the whole
/// sequence. [`reset`](Self::reset) starts over. A `base` of zero stays at
/// zero, as the formula says: use a positive `base`.
///
/// # Examples
///
/// ```
/// use rand::SeedableRng;
/// use rand::distr::Distribution;
/// use rand::rngs::StdRng;
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
#[derive(Clone, PartialEq)]
pub struct DecorrelatedJitter {
    base: Duration,
    cap: Duration,
    prev: Cell<Duration>,
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
            prev: Cell::new(base),
        })
    }

    /// Starts the sequence over from `base`.
    pub fn reset(&self) {
        self.prev.set(self.base);
    }
}

impl Distribution<Duration> for DecorrelatedJitter {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let high = self.prev.get().saturating_mul(3).min(self.cap);
        // `base <= prev` and `base <= cap`, so `base <= high`.
        let next = match uniform(self.base, high) {
            Ok(uniform) => uniform.sample(rng),
            Err(_) => self.base,
        };
        self.prev.set(next);
        next
    }
}

impl fmt::Debug for DecorrelatedJitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecorrelatedJitter")
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("prev", &self.prev.get())
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

    #[test]
    fn decorrelated_follows_its_recurrence() {
        let mut rng = StdRng::seed_from_u64(2);
        let (base, cap) = (10 * MS, 2000 * MS);
        let jitter = DecorrelatedJitter::new(base, cap).unwrap();
        let mut prev = base;
        let mut reached_cap_region = false;
        for _ in 0..200 {
            let next = jitter.sample(&mut rng);
            assert!(
                base <= next && next <= cap.min(prev * 3),
                "{next:?} after {prev:?}"
            );
            reached_cap_region |= next > cap / 2;
            prev = next;
        }
        assert!(reached_cap_region, "the sequence never grew");
        jitter.reset();
        let again = jitter.sample(&mut rng);
        assert!(again <= 3 * base);
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
