//! The timer abstraction every combinator is written against.

use core::future::Future;
use core::time::Duration;
use std::time::Instant;

use crate::rng::FastRng;

/// A source of timers and the clock they run on.
///
/// `Sleeper` is what makes stagger executor-agnostic: the combinators ask it
/// for sleeps and for the current time, never a runtime directly. Each backend
/// in [`rt`](crate::rt) implements it over its runtime's own timer.
///
/// Sleeps are an associated type rather than a boxed future, so creating one
/// allocates nothing beyond what the underlying timer does.
///
/// # Implementing
///
/// - [`sleep`](Sleeper::sleep) and [`sleep_until`](Sleeper::sleep_until)
///   compute their deadline when they are *called*, not when first polled.
/// - A deadline too far away for the timer (or for [`Instant`]) must become a
///   sleep that never completes, never a panic.
/// - [`now`](Sleeper::now) must read the same clock the timers fire on, so
///   that a deadline of `now() + d` elapses after `d` on that clock.
/// - [`rng`](Sleeper::rng) has a default, a generator seeded from the
///   thread's: keep it for a backend on real time. A backend that replays
///   runs from a seed overrides it, and a wrapper around another sleeper
///   forwards it (as `&S` does), or the wrapped backend's seed stops
///   reaching the draws made through the wrapper.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// sim.block_on(async {
///     let start = sim.now();
///     sim.sleep(Duration::from_millis(5)).await;
///     assert!(sim.now() - start >= Duration::from_millis(5));
/// });
/// ```
pub trait Sleeper {
    /// The future returned by [`sleep`](Sleeper::sleep) and
    /// [`sleep_until`](Sleeper::sleep_until).
    type Sleep: Future<Output = ()>;

    /// Returns a future that completes once `dur` has elapsed.
    fn sleep(&self, dur: Duration) -> Self::Sleep;

    /// Returns a future that completes once [`now`](Sleeper::now) reaches
    /// `deadline`. A deadline in the past completes at the first poll.
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// The current time on the clock this sleeper's timers fire on.
    fn now(&self) -> Instant;

    /// A random number generator from this backend's source: every draw
    /// stagger makes without a generator of the caller's (the forms without
    /// `_with`: [`wait_n`](crate::wait_n), [`staggered`](crate::staggered),
    /// ...) comes from here, and so should a library's own draws (its
    /// jitter, its choices), so that a seeded backend replays them.
    ///
    /// The default, which the real backends keep, is [`FastRng::new`]: a
    /// fast generator seeded from the thread's. [`Sim`](crate::sim::Sim)
    /// derives each generator from its seed instead
    /// ([`Sim::rng`](crate::sim::Sim::rng)), so that `Sim::seeded(42)`
    /// replays the plain forms and a library's draws through this method.
    /// The generator is `Send`, so a loop drawing from it can be spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::rand::RngExt;
    /// use stagger::sim::Sim;
    ///
    /// /// A library's health checker: the jitter comes from the backend.
    /// async fn check_every<S: Sleeper>(timer: &S, period: Duration) -> Duration {
    ///     let jitter = timer.rng().random_range(Duration::ZERO..period / 10);
    ///     timer.sleep(period + jitter).await;
    ///     period + jitter
    /// }
    ///
    /// let run = |seed| {
    ///     let sim = Sim::seeded(seed);
    ///     sim.block_on(check_every(&sim, Duration::from_secs(10)))
    /// };
    /// assert_eq!(run(42), run(42)); // replays, with no generator passed in
    /// assert_ne!(run(42), run(43));
    /// ```
    fn rng(&self) -> FastRng {
        FastRng::new()
    }
}

impl<S: Sleeper + ?Sized> Sleeper for &S {
    type Sleep = S::Sleep;

    fn sleep(&self, dur: Duration) -> Self::Sleep {
        (**self).sleep(dur)
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        (**self).sleep_until(deadline)
    }

    fn now(&self) -> Instant {
        (**self).now()
    }

    fn rng(&self) -> FastRng {
        (**self).rng()
    }
}
