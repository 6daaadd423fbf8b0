//! The timer abstraction every combinator is written against.

use core::future::Future;
use core::time::Duration;
use std::time::Instant;

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
}
