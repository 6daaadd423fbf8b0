//! Timing `wait_n` from synchronous code.

use core::time::Duration;

use crate::rng::Generator;
use crate::spawn::Runtime;
use crate::wait::wait_n_with;

/// What [`measure_time`] observed.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let m = stagger::measure_time(&sim, 10, Duration::from_millis(20));
/// assert_eq!(m.n, 10);
/// assert!(m.total >= m.longest);
/// assert_eq!(m.per_task, m.total / 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Measurement {
    /// How many waiters ran.
    pub n: usize,
    /// Elapsed time of the whole `wait_n` call, on the backend's clock.
    pub total: Duration,
    /// `total / n`: the exercise's return value; zero when `n` is zero.
    pub per_task: Duration,
    /// The largest drawn delay; zero when `n` is zero.
    pub longest: Duration,
    /// `total - longest` (saturating): how late the last waiter finished.
    pub lateness: Duration,
}

impl Measurement {
    /// Derives a measurement from a run of `n` waiters that took `total` and
    /// whose largest delay was `longest`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use stagger::Measurement;
    ///
    /// let m = Measurement::new(4, Duration::from_millis(12), Duration::from_millis(10));
    /// assert_eq!(m.per_task, Duration::from_millis(3));
    /// assert_eq!(m.lateness, Duration::from_millis(2));
    /// ```
    pub fn new(n: usize, total: Duration, longest: Duration) -> Self {
        Measurement {
            n,
            total,
            per_task: divide(total, n),
            longest,
            lateness: total.saturating_sub(longest),
        }
    }
}

/// `total / n` for any `usize` (`Duration`'s own division takes a `u32`).
fn divide(total: Duration, n: usize) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    if n == 0 {
        return Duration::ZERO;
    }
    // `usize` to `u128` is lossless on every platform.
    let nanos = total.as_nanos() / n as u128;
    // `nanos <= total.as_nanos()`, so the seconds fit in a `u64`.
    Duration::new(
        (nanos / NANOS_PER_SEC) as u64,
        (nanos % NANOS_PER_SEC) as u32,
    )
}

/// Times [`wait_n`](crate::wait_n)`(rt, n, max_delay)` from synchronous code
/// and reports the total and the per-waiter average.
///
/// Enters the runtime with [`Runtime::block_on`], so call it from plain
/// synchronous code, not from inside an async task.
///
/// # Panics
///
/// Panics where the backend's [`block_on`](Runtime::block_on) does, for
/// example when [`Tokio`](crate::rt::Tokio)'s is called inside a tokio
/// runtime.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let m = stagger::measure_time(&sim, 100, Duration::from_millis(20));
/// // 100 concurrent waiters take about as long as one.
/// assert!(m.total < Duration::from_secs(1));
/// ```
#[track_caller]
pub fn measure_time<R>(rt: &R, n: usize, max_delay: Duration) -> Measurement
where
    R: Runtime,
{
    measure_time_with(rt, &mut rt.rng(), n, max_delay)
}

/// [`measure_time`] with the caller's random number generator.
///
/// # Examples
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let max = Duration::from_millis(10);
/// let a = stagger::measure_time_with(&sim, &mut StdRng::seed_from_u64(2), 8, max);
/// let b = stagger::measure_time_with(&sim, &mut StdRng::seed_from_u64(2), 8, max);
/// assert_eq!(a.longest, b.longest); // the same draws; the timings differ
/// ```
#[track_caller]
pub fn measure_time_with<R, G>(rt: &R, rng: &mut G, n: usize, max_delay: Duration) -> Measurement
where
    R: Runtime,
    G: Generator + ?Sized,
{
    rt.block_on(async {
        let start = rt.now();
        let delays = wait_n_with(rt, rng, n, max_delay).await;
        let total = rt.now().saturating_duration_since(start);
        Measurement::new(n, total, delays.last().copied().unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divides_by_any_usize() {
        let total = Duration::MAX;
        assert_eq!(divide(total, 0), Duration::ZERO);
        assert_eq!(divide(total, 1), total);
        let huge = usize::MAX;
        assert_eq!(
            divide(Duration::from_secs(u64::MAX), huge).as_nanos(),
            u128::from(u64::MAX) * 1_000_000_000 / huge as u128
        );
        assert_eq!(
            divide(Duration::from_secs(10), 4),
            Duration::from_millis(2500)
        );
    }
}
