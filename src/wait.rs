//! The exercise's combinators: one random wait, and `n` of them at once.

use core::future::{Future, poll_fn};
use core::time::Duration;
use std::sync::Arc;

use futures::StreamExt;
use rand::Rng;
use rand::distr::Distribution;

use crate::completed::no_work;
use crate::engine::{Engine, Now, Waiters};
use crate::group::Mode;
use crate::jitter::FullJitter;
use crate::sleeper::Sleeper;
use crate::spawn::Spawn;
use crate::staggered::Staggered;
use crate::task::JoinHandle;
use crate::waiter::Waiter;
use crate::work::Spawned;

/// The exercise's default `max_delay`: 10 seconds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(stagger::DEFAULT_MAX_DELAY, Duration::from_secs(10));
/// ```
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(10);

/// Sleeps for a uniformly random delay in `[0, max_delay]` and returns it.
///
/// The delay is drawn, and the sleep's deadline fixed, when `wait_random` is
/// called. A `max_delay` too long for the clock (such as [`Duration::MAX`])
/// may draw a delay that never elapses; dropping the future cancels it.
///
/// # Cancellation
///
/// Dropping the future drops its timer.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let delay = sim.block_on(stagger::wait_random(&sim, Duration::from_millis(20)));
/// assert!(delay <= Duration::from_millis(20));
/// ```
pub fn wait_random<S>(sleeper: &S, max_delay: Duration) -> impl Future<Output = Duration> + use<S>
where
    S: Sleeper + ?Sized,
{
    wait_random_with(sleeper, &mut rand::rng(), max_delay)
}

/// [`wait_random`] with the caller's random number generator.
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
/// let a = sim.block_on(stagger::wait_random_with(&sim, &mut StdRng::seed_from_u64(7), max));
/// let b = sim.block_on(stagger::wait_random_with(&sim, &mut StdRng::seed_from_u64(7), max));
/// assert_eq!(a, b);
/// ```
pub fn wait_random_with<S, R>(
    sleeper: &S,
    rng: &mut R,
    max_delay: Duration,
) -> impl Future<Output = Duration> + use<S, R>
where
    S: Sleeper + ?Sized,
    R: Rng + ?Sized,
{
    wait_random_from(sleeper, rng, FullJitter::new(max_delay))
}

/// [`wait_random`] with the delay drawn from any distribution, such as the
/// strategies in [`jitter`](crate::jitter).
///
/// # Examples
///
/// ```
/// use stagger::jitter::EqualJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let t = Duration::from_millis(10);
/// let delay = sim.block_on(stagger::wait_random_from(&sim, &mut stagger::rand::rng(), EqualJitter::new(t)));
/// assert!(t / 2 <= delay && delay <= t);
/// ```
pub fn wait_random_from<S, R, D>(
    sleeper: &S,
    rng: &mut R,
    distribution: D,
) -> impl Future<Output = Duration> + use<S, R, D>
where
    S: Sleeper + ?Sized,
    R: Rng + ?Sized,
    D: Distribution<Duration>,
{
    let delay = distribution.sample(rng);
    Waiter::new(sleeper, sleeper.now(), delay, delay)
}

/// Runs [`wait_random`] `n` times concurrently and returns the `n` delays in
/// ascending order.
///
/// The waiters share one start instant, read when `wait_n` is called, and
/// run concurrently: the call takes about as long as the longest delay, not
/// the sum. Each returned delay is a lower bound on the time from that start
/// to its waiter's completion. The order is restored by sorting, not by
/// trusting completion order, so it holds even when a timer fires several
/// waiters in one tick. `n = 0` returns an empty `Vec` at once.
///
/// # Cancellation
///
/// Dropping the future drops every pending timer.
///
/// # Panics
///
/// Panics at once, before drawing anything, if `n` delays cannot be
/// allocated (`n = usize::MAX`, say).
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let delays = sim.block_on(stagger::wait_n(&sim, 5, Duration::from_millis(5)));
/// assert_eq!(delays.len(), 5);
/// assert!(delays.is_sorted());
/// ```
pub fn wait_n<S>(
    sleeper: &S,
    n: usize,
    max_delay: Duration,
) -> impl Future<Output = Vec<Duration>> + use<S>
where
    S: Sleeper + ?Sized,
{
    wait_n_with(sleeper, &mut rand::rng(), n, max_delay)
}

/// [`wait_n`] with the caller's random number generator.
///
/// The delays are drawn from `rng` before this function returns, so the same
/// seed gives the same `Vec` on every backend.
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
/// let run = || sim.block_on(stagger::wait_n_with(&sim, &mut StdRng::seed_from_u64(7), 4, max));
/// assert_eq!(run(), run());
/// ```
pub fn wait_n_with<S, R>(
    sleeper: &S,
    rng: &mut R,
    n: usize,
    max_delay: Duration,
) -> impl Future<Output = Vec<Duration>> + use<S, R>
where
    S: Sleeper + ?Sized,
    R: Rng + ?Sized,
{
    wait_n_from(sleeper, rng, n, FullJitter::new(max_delay))
}

/// [`wait_n`] with delays drawn from any distribution, such as the
/// strategies in [`jitter`](crate::jitter).
///
/// # Examples
///
/// ```
/// use stagger::jitter::DecorrelatedJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let (base, cap) = (Duration::from_millis(1), Duration::from_millis(20));
/// let jitter = DecorrelatedJitter::new(base, cap)?;
/// let delays = sim.block_on(stagger::wait_n_from(&sim, &mut stagger::rand::rng(), 6, &jitter));
/// assert!(delays.is_sorted() && delays.iter().all(|&d| base <= d && d <= cap));
/// # Ok::<(), stagger::jitter::JitterError>(())
/// ```
pub fn wait_n_from<S, R, D>(
    sleeper: &S,
    rng: &mut R,
    n: usize,
    distribution: D,
) -> impl Future<Output = Vec<Duration>> + use<S, R, D>
where
    S: Sleeper + ?Sized,
    R: Rng + ?Sized,
    D: Distribution<Duration>,
{
    let start = sleeper.now();
    let delays = draw(rng, n, &distribution);
    let entries = delays.iter().map(|&delay| (delay, ()));
    let mut waiters = Staggered::new(Waiters::new(sleeper, start, entries), no_work);
    async move {
        while waiters.next().await.is_some() {}
        delays
    }
}

/// Draws `n` delays from `distribution` in order, then sorts them: the
/// result of `wait_n` and `task_wait_n`, known before any timer fires.
///
/// # Panics
///
/// Panics at once, before drawing anything, if `n` delays cannot be
/// allocated.
fn draw<R, D>(rng: &mut R, n: usize, distribution: &D) -> Vec<Duration>
where
    R: Rng + ?Sized,
    D: Distribution<Duration>,
{
    let mut delays = Vec::with_capacity(n);
    delays.extend((0..n).map(|_| distribution.sample(rng)));
    // Sorted now, while nothing waits: each waiter then only has to finish.
    delays.sort_unstable();
    delays
}

/// Spawns [`wait_random`] as a task and returns its handle; awaiting the
/// handle gives the delay.
///
/// Like Python's `asyncio.create_task`, the task starts at once, whether or
/// not the handle is awaited.
///
/// # Cancellation
///
/// Dropping the handle cancels the task; see [`JoinHandle`].
///
/// # Panics
///
/// Panics where [`Spawn::spawn`] does: for [`Tokio`](crate::rt::Tokio),
/// outside a tokio runtime.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let delay = sim.block_on(async {
///     let task = stagger::task_wait_random(&sim, Duration::from_millis(10));
///     task.await
/// });
/// assert!(delay <= Duration::from_millis(10));
/// ```
pub fn task_wait_random<R>(rt: &R, max_delay: Duration) -> JoinHandle<Duration>
where
    R: Spawn + Sleeper + ?Sized,
    R::Sleep: Send + 'static,
{
    let delay = FullJitter::new(max_delay).sample(&mut rand::rng());
    rt.spawn(Waiter::new(rt, rt.now(), delay, delay))
}

/// [`wait_n`] over spawned tasks: spawns `n` [`task_wait_random`]-style tasks
/// when first polled and returns their delays in ascending order.
///
/// Delays are drawn, and the shared start read, when `task_wait_n` is called;
/// the tasks are spawned at the first poll, so the future can be created
/// outside the runtime.
///
/// # Cancellation
///
/// Dropping the future cancels every unfinished task. If a task panics, the
/// others are cancelled and the panic resumes in the caller.
///
/// # Panics
///
/// Panics where [`Spawn::spawn`] does, and at once if `n` delays cannot be
/// allocated.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let delays = sim.block_on(stagger::task_wait_n(&sim, 5, Duration::from_millis(5)));
/// assert_eq!(delays.len(), 5);
/// assert!(delays.is_sorted());
/// ```
pub fn task_wait_n<R>(
    rt: &R,
    n: usize,
    max_delay: Duration,
) -> impl Future<Output = Vec<Duration>> + use<R>
where
    R: Spawn + Sleeper + Clone,
    R::Sleep: Send + 'static,
{
    task_wait_n_with(rt, &mut rand::rng(), n, max_delay)
}

/// [`task_wait_n`] with the caller's random number generator; the same seed
/// gives the same `Vec` as [`wait_n_with`].
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
/// let spawned = sim.block_on(stagger::task_wait_n_with(&sim, &mut StdRng::seed_from_u64(3), 4, max));
/// let inline = sim.block_on(stagger::wait_n_with(&sim, &mut StdRng::seed_from_u64(3), 4, max));
/// assert_eq!(spawned, inline);
/// ```
pub fn task_wait_n_with<R, G>(
    rt: &R,
    rng: &mut G,
    n: usize,
    max_delay: Duration,
) -> impl Future<Output = Vec<Duration>> + use<R, G>
where
    R: Spawn + Sleeper + Clone,
    R::Sleep: Send + 'static,
    G: Rng + ?Sized,
{
    task_wait_n_from(rt, rng, n, FullJitter::new(max_delay))
}

/// [`task_wait_n`] with delays drawn from any distribution, such as the
/// strategies in [`jitter`](crate::jitter).
///
/// # Examples
///
/// ```
/// use stagger::jitter::FullJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let max = Duration::from_millis(10);
/// let delays = sim.block_on(stagger::task_wait_n_from(&sim, &mut stagger::rand::rng(), 3, FullJitter::new(max)));
/// assert_eq!(delays.len(), 3);
/// ```
pub fn task_wait_n_from<R, G, D>(
    rt: &R,
    rng: &mut G,
    n: usize,
    distribution: D,
) -> impl Future<Output = Vec<Duration>> + use<R, G, D>
where
    R: Spawn + Sleeper + Clone,
    R::Sleep: Send + 'static,
    G: Rng + ?Sized,
    D: Distribution<Duration>,
{
    let start = rt.now();
    let delays = Arc::new(draw(rng, n, &distribution));
    // Each task is a waiter: `wait_n` over spawned tasks. They are all due
    // at once, and spawned at the first poll.
    let (sleeper, shared) = (rt.clone(), Arc::clone(&delays));
    let waiter = move |i: usize| Waiter::new(&sleeper, start, shared[i], ());
    let mut tasks = Engine::new(
        Now::new(0..n),
        waiter,
        Spawned::new(rt.clone(), n, Mode::Count),
    );
    async move {
        while poll_fn(|cx| tasks.poll_next(cx)).await.is_some() {}
        drop(tasks);
        Arc::try_unwrap(delays).unwrap_or_else(|delays| delays.to_vec())
    }
}
