//! A deadline for any future, on any backend's clock.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use pin_project_lite::pin_project;

use crate::sleeper::Sleeper;

/// Runs `future` for at most `dur` on the sleeper's clock: its output, or
/// [`Elapsed`] if the time ran out first.
///
/// The deadline is fixed when `timeout` is called. A `dur` past what an
/// `Instant` can hold means no timeout at all, never a panic. The future is
/// polled before the timer, so a future that is ready at the deadline wins.
///
/// # Cancellation
///
/// Dropping the returned future drops `future` and the timer. When the time
/// runs out, `future` is dropped with the `Timeout`, not before.
///
/// # Examples
///
/// On tokio:
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # mod example {
/// use stagger::prelude::*;
/// use stagger::rt::Tokio;
///
/// #[tokio::main]
/// # pub
/// async fn main() {
///     let slow = Tokio.sleep(Duration::from_secs(10));
///     let out = stagger::timeout(&Tokio, Duration::from_millis(5), slow).await;
///     assert!(out.is_err());
///     let fast = async { 7 };
///     assert_eq!(stagger::timeout(&Tokio, Duration::from_secs(1), fast).await, Ok(7));
/// }
/// # }
/// # #[cfg(feature = "tokio")]
/// # example::main();
/// ```
///
/// On [`Sim`](crate::sim::Sim), an hour-long timeout fires exactly, at once:
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let never = futures::future::pending::<()>();
/// let out = sim.block_on(stagger::timeout(&sim, Duration::from_secs(3600), never));
/// assert_eq!(out.unwrap_err().to_string(), "deadline has elapsed");
/// assert_eq!(sim.elapsed(), Duration::from_secs(3600));
/// ```
pub fn timeout<S, F>(sleeper: &S, dur: Duration, future: F) -> Timeout<F::IntoFuture, S::Sleep>
where
    S: Sleeper + ?Sized,
    F: IntoFuture,
{
    let sleep = sleeper
        .now()
        .checked_add(dur)
        .map(|deadline| sleeper.sleep_until(deadline));
    Timeout {
        future: future.into_future(),
        sleep,
    }
}

/// Runs `future` until `deadline` on the sleeper's clock: its output, or
/// [`Elapsed`] if the deadline came first.
///
/// A deadline already past still polls `future` once: a ready future wins.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let deadline = sim.now() + Duration::from_secs(2);
/// let work = sim.sleep(Duration::from_secs(1));
/// assert_eq!(sim.block_on(stagger::timeout_at(&sim, deadline, work)), Ok(()));
/// ```
pub fn timeout_at<S, F>(
    sleeper: &S,
    deadline: Instant,
    future: F,
) -> Timeout<F::IntoFuture, S::Sleep>
where
    S: Sleeper + ?Sized,
    F: IntoFuture,
{
    Timeout {
        future: future.into_future(),
        sleep: Some(sleeper.sleep_until(deadline)),
    }
}

pin_project! {
    /// Future for the [`timeout`] and [`timeout_at`] functions.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::{Sim, SimSleep};
    ///
    /// let sim = Sim::new();
    /// let bounded: stagger::Timeout<_, SimSleep> =
    ///     stagger::timeout(&sim, Duration::from_secs(1), async { 1 });
    /// assert_eq!(sim.block_on(bounded), Ok(1));
    /// ```
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F, Sl> {
        #[pin]
        future: F,
        // `None`: no deadline.
        #[pin]
        sleep: Option<Sl>,
    }
}

impl<F, Sl> Timeout<F, Sl> {
    /// The future this bounds.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Gives back the future this bounds, dropping the timer.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future, Sl: Future<Output = ()>> Future for Timeout<F, Sl> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match this.sleep.as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Err(Elapsed(()))),
            _ => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose time ran out.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let never = futures::future::pending::<()>();
/// let err = sim.block_on(stagger::timeout(&sim, Duration::ZERO, never)).unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
