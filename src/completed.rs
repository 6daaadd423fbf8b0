//! The exercise's completion stream: `asyncio.as_completed` over `n` waiters.

use core::fmt;
use core::future::{Future, Ready};
use core::time::Duration;

use rand::distr::Distribution;

use crate::engine::{Due, Engine, Finished, Waiters, engine_stream};
use crate::jitter::FullJitter;
use crate::rng::Generator;
use crate::sleeper::Sleeper;
use crate::work::Inline;

/// Starts `n` concurrent waiters with uniform random delays in
/// `[0, max_delay]` and yields each delay as its waiter finishes, like
/// Python's `asyncio.as_completed`.
///
/// All waiters share one start instant, read from the sleeper's clock when
/// `as_completed` is called: waiter `i` finishes no earlier than
/// `start + delay_i`. Items come in completion order, which is *not*
/// guaranteed to be ascending: timers that fire in the same tick may complete
/// in any order. [`wait_n`](crate::wait_n) runs the same waiters over the
/// delays sorted up front, and returns them once the last one finished.
///
/// # Cancellation
///
/// Dropping the stream drops every pending timer.
///
/// # Panics
///
/// Panics at once if `n` waiters cannot fit in memory.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// sim.block_on(async {
///     let mut done = stagger::as_completed(&sim, 4, Duration::from_millis(10));
///     let mut seen = 0;
///     while let Some(delay) = done.next().await {
///         assert!(delay <= Duration::from_millis(10));
///         seen += 1;
///     }
///     assert_eq!(seen, 4);
/// });
/// ```
pub fn as_completed<S>(sleeper: &S, n: usize, max_delay: Duration) -> AsCompleted<S::Sleep>
where
    S: Sleeper + ?Sized,
{
    as_completed_with(sleeper, &mut sleeper.rng(), n, max_delay)
}

/// [`as_completed`] with the caller's random number generator.
///
/// The `n` delays are drawn from `rng` in order before this function returns,
/// so a seeded generator fixes them.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let max = Duration::from_millis(10);
/// let mut rng = StdRng::seed_from_u64(1);
/// let mut delays: Vec<_> = sim.block_on(stagger::as_completed_with(&sim, &mut rng, 5, max).collect());
/// delays.sort();
/// let expected = sim.block_on(stagger::wait_n_with(&sim, &mut StdRng::seed_from_u64(1), 5, max));
/// assert_eq!(delays, expected);
/// ```
pub fn as_completed_with<S, R>(
    sleeper: &S,
    rng: &mut R,
    n: usize,
    max_delay: Duration,
) -> AsCompleted<S::Sleep>
where
    S: Sleeper + ?Sized,
    R: Generator + ?Sized,
{
    as_completed_from(sleeper, rng, n, FullJitter::new(max_delay))
}

/// [`as_completed`] with delays drawn from any distribution, such as the
/// strategies in [`jitter`](crate::jitter).
///
/// The `n` delays are drawn from `distribution` with `rng`, in order, before
/// this function returns.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::jitter::EqualJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let t = Duration::from_millis(10);
/// let stream = stagger::as_completed_from(&sim, &mut sim.rng(), 4, EqualJitter::new(t));
/// let delays: Vec<_> = sim.block_on(stream.collect());
/// assert!(delays.iter().all(|&d| t / 2 <= d && d <= t));
/// ```
pub fn as_completed_from<S, R, D>(
    sleeper: &S,
    rng: &mut R,
    n: usize,
    distribution: D,
) -> AsCompleted<S::Sleep>
where
    S: Sleeper + ?Sized,
    R: Generator + ?Sized,
    D: Distribution<Duration>,
{
    let waiters = Waiters::drawn(
        sleeper,
        rng,
        &distribution,
        core::iter::repeat_n((), n),
        "as_completed",
    );
    AsCompleted::new(waiters)
}

/// The work of a waiter that only waits.
type NoWork = fn(()) -> Ready<()>;

/// [`NoWork`]'s one value.
fn no_work((): ()) -> Ready<()> {
    core::future::ready(())
}

/// Stream for the [`as_completed`] function: yields each waiter's delay
/// as it finishes.
///
/// It is [`staggered`](crate::staggered) with no work: use that to know
/// which waiter finished, or to run work after each delay.
///
/// Its [`size_hint`](futures::Stream::size_hint) is exact: the number of waiters
/// still pending.
///
/// # Examples
///
/// ```
/// use futures::Stream;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let pending = stagger::as_completed(&sim, 3, Duration::from_millis(1));
/// assert_eq!(pending.size_hint(), (3, Some(3)));
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<Sl> {
    engine: Engine<Waiters<Sl, ()>, NoWork, Waiting>,
}

/// Where an [`AsCompleted`]'s waiters "work": nowhere, at once.
type Waiting = Inline<Ready<()>, (usize, Duration)>;

impl<Sl> AsCompleted<Sl> {
    /// Waits for each of `waiters`, with no work after it.
    pub(crate) fn new(waiters: Waiters<Sl, ()>) -> Self {
        AsCompleted {
            engine: Engine::new(waiters, no_work, Inline::new()),
        }
    }
}

// Nothing in it is pinned: the timers are boxed.
impl<Sl> Unpin for AsCompleted<Sl> {}

engine_stream! {
    impl<Sl> AsCompleted<Sl> => Duration, map delay;
    where
        Sl: Future<Output = ()>,
}

/// A waiter's delay, once it has elapsed.
fn delay(finished: Finished<()>) -> Duration {
    finished.delay
}

impl<Sl: Future<Output = ()>> fmt::Debug for AsCompleted<Sl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("pending", &self.engine.due().size_hint().0)
            .finish()
    }
}
