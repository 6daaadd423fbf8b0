//! The exercise's combinators: one random wait, and `n` of them at once.

use core::fmt;
use core::future::Future;
use core::ops::Range;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;
use std::time::Instant;

use futures::stream::{Stream, StreamExt};
use pin_project_lite::pin_project;
use rand::distr::Distribution;

use crate::completed::AsCompleted;
use crate::engine::{Engine, MakeWork, Now, Waiters, reserved};
use crate::group::Mode;
use crate::jitter::FullJitter;
use crate::rng::Generator;
use crate::sleeper::Sleeper;
use crate::spawn::Spawn;
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
pub fn wait_random<S>(sleeper: &S, max_delay: Duration) -> WaitRandom<S::Sleep>
where
    S: Sleeper + ?Sized,
{
    wait_random_with(sleeper, &mut sleeper.rng(), max_delay)
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
pub fn wait_random_with<S, R>(sleeper: &S, rng: &mut R, max_delay: Duration) -> WaitRandom<S::Sleep>
where
    S: Sleeper + ?Sized,
    R: Generator + ?Sized,
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
/// let delay = sim.block_on(stagger::wait_random_from(&sim, &mut sim.rng(), EqualJitter::new(t)));
/// assert!(t / 2 <= delay && delay <= t);
/// ```
pub fn wait_random_from<S, R, D>(sleeper: &S, rng: &mut R, distribution: D) -> WaitRandom<S::Sleep>
where
    S: Sleeper + ?Sized,
    R: Generator + ?Sized,
    D: Distribution<Duration>,
{
    let delay = distribution.sample(rng);
    WaitRandom {
        waiter: Waiter::new(sleeper, sleeper.now(), delay, delay),
    }
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
/// allocated (`n = usize::MAX`, or 2⁴⁰ where no allocator gives 16 TiB),
/// with the message `stagger::wait_n: {n} items cannot fit in memory`; the
/// other fan-outs say the same with their own names. The process is never
/// aborted for a size.
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
pub fn wait_n<S>(sleeper: &S, n: usize, max_delay: Duration) -> WaitN<S::Sleep>
where
    S: Sleeper + ?Sized,
{
    wait_n_with(sleeper, &mut sleeper.rng(), n, max_delay)
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
pub fn wait_n_with<S, R>(sleeper: &S, rng: &mut R, n: usize, max_delay: Duration) -> WaitN<S::Sleep>
where
    S: Sleeper + ?Sized,
    R: Generator + ?Sized,
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
/// let delays = sim.block_on(stagger::wait_n_from(&sim, &mut sim.rng(), 6, &jitter));
/// assert!(delays.is_sorted() && delays.iter().all(|&d| base <= d && d <= cap));
/// # Ok::<(), stagger::jitter::JitterError>(())
/// ```
pub fn wait_n_from<S, R, D>(sleeper: &S, rng: &mut R, n: usize, distribution: D) -> WaitN<S::Sleep>
where
    S: Sleeper + ?Sized,
    R: Generator + ?Sized,
    D: Distribution<Duration>,
{
    let start = sleeper.now();
    let delays = draw(rng, n, &distribution, "wait_n");
    let entries = delays.iter().map(|&delay| (delay, ()));
    WaitN {
        waiters: AsCompleted::new(Waiters::new(sleeper, start, entries, "wait_n")),
        delays: Some(delays),
    }
}

/// Draws `n` delays from `distribution` in order, then sorts them: the
/// result of `wait_n` and `task_wait_n`, known before any timer fires, and
/// the offsets of [`spread`](crate::schedule::spread).
///
/// # Panics
///
/// Panics at once, before drawing anything, if `n` delays cannot be
/// allocated, naming the public `function` called.
pub(crate) fn draw<R, D>(rng: &mut R, n: usize, distribution: &D, function: &str) -> Vec<Duration>
where
    R: Generator + ?Sized,
    D: Distribution<Duration>,
{
    let mut delays = reserved(n, function);
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
    task_wait_random_with(rt, &mut rt.rng(), max_delay)
}

/// [`task_wait_random`] with the caller's random number generator: the
/// delay is drawn before the task is spawned.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let max = Duration::from_secs(1);
/// let spawned = sim.block_on(async {
///     stagger::task_wait_random_with(&sim, &mut StdRng::seed_from_u64(9), max).await
/// });
/// let inline = sim.block_on(stagger::wait_random_with(&sim, &mut StdRng::seed_from_u64(9), max));
/// assert_eq!(spawned, inline);
/// ```
pub fn task_wait_random_with<R, G>(rt: &R, rng: &mut G, max_delay: Duration) -> JoinHandle<Duration>
where
    R: Spawn + Sleeper + ?Sized,
    R::Sleep: Send + 'static,
    G: Generator + ?Sized,
{
    task_wait_random_from(rt, rng, FullJitter::new(max_delay))
}

/// [`task_wait_random`] with the delay drawn from any distribution, such as
/// the strategies in [`jitter`](crate::jitter).
///
/// # Examples
///
/// ```
/// use stagger::jitter::EqualJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let t = Duration::from_secs(2);
/// let delay = sim.block_on(async {
///     stagger::task_wait_random_from(&sim, &mut sim.rng(), EqualJitter::new(t)).await
/// });
/// assert!(t / 2 <= delay && delay <= t);
/// ```
pub fn task_wait_random_from<R, G, D>(rt: &R, rng: &mut G, distribution: D) -> JoinHandle<Duration>
where
    R: Spawn + Sleeper + ?Sized,
    R::Sleep: Send + 'static,
    G: Generator + ?Sized,
    D: Distribution<Duration>,
{
    rt.spawn(wait_random_from(rt, rng, distribution))
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
/// Panics where [`Spawn::spawn`] does, at once if `n` delays cannot be
/// allocated, and if the runtime drops a task unfinished (it shut down).
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
pub fn task_wait_n<R>(rt: &R, n: usize, max_delay: Duration) -> TaskWaitN<R>
where
    R: Spawn + Sleeper + Clone,
    R::Sleep: Send + 'static,
{
    task_wait_n_with(rt, &mut rt.rng(), n, max_delay)
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
pub fn task_wait_n_with<R, G>(rt: &R, rng: &mut G, n: usize, max_delay: Duration) -> TaskWaitN<R>
where
    R: Spawn + Sleeper + Clone,
    R::Sleep: Send + 'static,
    G: Generator + ?Sized,
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
/// let delays = sim.block_on(stagger::task_wait_n_from(&sim, &mut sim.rng(), 3, FullJitter::new(max)));
/// assert_eq!(delays.len(), 3);
/// ```
pub fn task_wait_n_from<R, G, D>(rt: &R, rng: &mut G, n: usize, distribution: D) -> TaskWaitN<R>
where
    R: Spawn + Sleeper + Clone,
    R::Sleep: Send + 'static,
    G: Generator + ?Sized,
    D: Distribution<Duration>,
{
    let start = rt.now();
    let delays = draw(rng, n, &distribution, "task_wait_n");
    // Each task is a waiter: `wait_n` over spawned tasks. They are all due
    // at once, and spawned at the first poll.
    let waiters = MakeWaiter {
        sleeper: rt.clone(),
        start,
        delays,
    };
    TaskWaitN {
        tasks: Engine::new(
            Now::new(0..n),
            waiters,
            Spawned::new(rt.clone(), n, Mode::Count),
        ),
    }
}

// ===== the futures =====

pin_project! {
    /// Future for the [`wait_random`] function (and its `_with` and `_from`
    /// forms): the drawn delay, once it has elapsed.
    ///
    /// It holds only the sleep: whatever generator or distribution drew the
    /// delay, it is `'static` (and `Send`) if the sleep is.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::{Sim, SimSleep};
    ///
    /// let sim = Sim::new();
    /// let wait: stagger::WaitRandom<SimSleep> = stagger::wait_random(&sim, Duration::from_secs(1));
    /// assert!(sim.block_on(wait) <= Duration::from_secs(1));
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct WaitRandom<Sl> {
        #[pin]
        waiter: Waiter<Sl, Duration>,
    }
}

impl<Sl: Future<Output = ()>> Future for WaitRandom<Sl> {
    type Output = Duration;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Duration> {
        self.project().waiter.poll(cx)
    }
}

impl<Sl> fmt::Debug for WaitRandom<Sl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitRandom").finish_non_exhaustive()
    }
}

/// Future for the [`wait_n`] function (and its `_with` and `_from` forms):
/// the `n` drawn delays, ascending, once every waiter has finished.
///
/// It holds the waiters and the delays: whatever generator or distribution
/// drew them, it is `'static` (and `Send`) if the sleeps are.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::{Sim, SimSleep};
///
/// let sim = Sim::new();
/// let jitter = stagger::jitter::DecorrelatedJitter::new(Duration::from_millis(1), Duration::from_secs(1))?;
/// // A borrowed distribution, a borrowed generator: the future borrows neither.
/// let wait: stagger::WaitN<SimSleep> = stagger::wait_n_from(&sim, &mut sim.rng(), 3, &jitter);
/// drop(jitter);
/// assert_eq!(sim.block_on(wait).len(), 3);
/// # Ok::<(), stagger::jitter::JitterError>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitN<Sl> {
    waiters: AsCompleted<Sl>,
    // `None` once returned.
    delays: Option<Vec<Duration>>,
}

// The waiters are boxed in their `FuturesUnordered`.
impl<Sl> Unpin for WaitN<Sl> {}

impl<Sl: Future<Output = ()>> Future for WaitN<Sl> {
    type Output = Vec<Duration>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<Duration>> {
        // Only counting: the delays were sorted when drawn.
        while ready!(self.waiters.poll_next_unpin(cx)).is_some() {}
        Poll::Ready(self.delays.take().expect("WaitN polled after it completed"))
    }
}

impl<Sl: Future<Output = ()>> fmt::Debug for WaitN<Sl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitN")
            .field("pending", &self.waiters.size_hint().0)
            .finish()
    }
}

/// Future for the [`task_wait_n`] function (and its `_with` and `_from`
/// forms): the `n` drawn delays, ascending, once every task has finished.
///
/// It owns a clone of the runtime and the delays, and borrows nothing.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let wait: stagger::TaskWaitN<Sim> = stagger::task_wait_n(&sim, 3, Duration::from_secs(1));
/// assert_eq!(sim.block_on(wait).len(), 3);
/// ```
#[must_use = "futures do nothing unless polled; dropping this one cancels its tasks"]
pub struct TaskWaitN<R: Spawn + Sleeper> {
    tasks: Engine<Now<Range<usize>>, MakeWaiter<R>, Waiting<R>>,
}

/// Where a [`TaskWaitN`]'s waiters run: a task each.
type Waiting<R> = Spawned<R, (usize, Duration), ()>;

/// Makes the `i`-th task of a [`TaskWaitN`]: a waiter on the `i`-th delay.
struct MakeWaiter<R> {
    sleeper: R,
    start: Instant,
    /// Sorted: the result.
    delays: Vec<Duration>,
}

impl<R: Sleeper> MakeWork<usize> for MakeWaiter<R> {
    type Work = Waiter<R::Sleep, ()>;

    fn make(&mut self, i: usize) -> Self::Work {
        Waiter::new(&self.sleeper, self.start, self.delays[i], ())
    }
}

// Nothing in it is pinned: the tasks are the runtime's.
impl<R: Spawn + Sleeper> Unpin for TaskWaitN<R> {}

impl<R> Future for TaskWaitN<R>
where
    R: Spawn + Sleeper,
    R::Sleep: Send + 'static,
{
    type Output = Vec<Duration>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<Duration>> {
        while ready!(self.tasks.poll_next(cx)).is_some() {}
        Poll::Ready(core::mem::take(&mut self.tasks.make_mut().delays))
    }
}

impl<R: Spawn + Sleeper> fmt::Debug for TaskWaitN<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskWaitN")
            .field("in_flight", &self.tasks.work().in_flight())
            .finish()
    }
}
