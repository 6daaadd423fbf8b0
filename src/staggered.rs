//! Staggered work: the caller's own futures, each started after its own
//! random delay, inline or as spawned tasks.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use pin_project_lite::pin_project;
use rand::distr::Distribution;

use crate::engine::{Capped, Due, Engine, Finished, MakeWork, Waiters, engine_stream};
use crate::group::Mode;
use crate::jitter::FullJitter;
use crate::rng::Generator;
use crate::sleeper::Sleeper;
use crate::spawn::Spawn;
use crate::work::{Inline, Spawned};

/// One item of a staggered fan-out, finished: which item, the delay drawn
/// for it, when its work was meant to start and when it did, and what it
/// returned.
///
/// `started - intended` is how late the work started
/// ([`lateness`](Done::lateness)): the timer's granularity, and a poller or
/// executor too busy to start it on time.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let start = sim.now();
/// let names = ["a", "b", "c"];
/// let max = Duration::from_secs(1);
/// let mut done: Vec<_> = sim.block_on(
///     stagger::staggered(&sim, names, max, |name| async move { name.len() }).collect(),
/// );
/// done.sort_by_key(|d| d.index);
/// assert_eq!(done.iter().map(|d| d.output).collect::<Vec<_>>(), [1, 1, 1]);
/// for d in &done {
///     assert!(d.delay <= max);
///     assert_eq!(d.intended, start + d.delay);
///     assert_eq!(d.lateness(), Duration::ZERO); // virtual time is exact
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Done<T> {
    /// The item's position in the `items` the fan-out was given.
    pub index: usize,
    /// The delay drawn for the item.
    pub delay: Duration,
    /// When its work was meant to start: the fan-out's one start (read when
    /// it was called) plus `delay`.
    pub intended: Instant,
    /// When its work started, on the backend's clock: when `f` was called
    /// for it ([`staggered`]), or when its task was first polled
    /// ([`task_staggered`]: the time it waited in the executor's queue
    /// counts). Never before `intended`.
    pub started: Instant,
    /// What the item's work returned.
    pub output: T,
}

impl<T> Done<T> {
    /// How late the work started: `started - intended`.
    pub fn lateness(&self) -> Duration {
        self.started.saturating_duration_since(self.intended)
    }
}

// ===== when the work starts =====

/// An item of a staggered fan-out, from what the engine yields.
fn done<T>(finished: Finished<(Stamps, T)>) -> Done<T> {
    let (stamps, output) = finished.output;
    Done {
        index: finished.index,
        delay: finished.delay,
        // An item whose deadline an `Instant` cannot hold is never due.
        intended: stamps
            .start
            .checked_add(finished.delay)
            .unwrap_or(stamps.started),
        started: stamps.started,
        output,
    }
}

/// The index and delay each work future is tagged with.
type Tag = (usize, Duration);

/// When a fan-out started, and when one item's work did.
#[derive(Clone, Copy)]
struct Stamps {
    start: Instant,
    started: Instant,
}

/// Makes each item's work, `f(item)`, noting when it starts.
struct Stamp<F, S> {
    f: F,
    clock: S,
    /// The fan-out's one start.
    start: Instant,
    /// Whether the work is spawned: it starts when its task is first polled,
    /// not when it is made.
    spawned: bool,
}

impl<F, S, I, Fut> MakeWork<I> for Stamp<F, S>
where
    F: FnMut(I) -> Fut,
    S: Sleeper + Clone,
    Fut: Future,
{
    type Work = Started<S, Fut>;

    fn make(&mut self, item: I) -> Started<S, Fut> {
        // Inline work is polled as soon as it is made: it starts now, with
        // the call of `f`.
        let when = if self.spawned {
            When::FirstPoll {
                clock: self.clock.clone(),
            }
        } else {
            When::Started {
                at: self.clock.now(),
            }
        };
        Started {
            work: (self.f)(item),
            start: self.start,
            when,
        }
    }
}

pin_project! {
    /// An item's work, which notes when it started.
    struct Started<S, Fut> {
        #[pin]
        work: Fut,
        start: Instant,
        when: When<S>,
    }
}

/// When a work future started, or the clock to read at its first poll.
enum When<S> {
    FirstPoll { clock: S },
    Started { at: Instant },
}

impl<S: Sleeper, Fut: Future> Future for Started<S, Fut> {
    type Output = (Stamps, Fut::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = match this.when {
            When::Started { at } => *at,
            When::FirstPoll { clock } => {
                let at = clock.now();
                *this.when = When::Started { at };
                at
            }
        };
        let output = core::task::ready!(this.work.poll(cx));
        let stamps = Stamps {
            start: *this.start,
            started,
        };
        Poll::Ready((stamps, output))
    }
}

// ===== inline =====

/// Runs `f(item)` for each of `items` after its own uniformly random delay in
/// `[0, max_delay]`, and yields each item's [`Done`] as its work finishes.
///
/// This is staggered start-up: many clients, each connecting after its own
/// delay so that they do not stampede a server, with every outcome in
/// completion order. The work runs in the task that polls the stream; use
/// [`task_staggered`] to run each item's work as its own task.
///
/// The delays are drawn, and the one shared start read from the sleeper's
/// clock, when `staggered` is called; item `i`'s work starts no earlier than
/// `start + delay_i`, and its [`Done`] says when it did. `f` is called for
/// an item only once its delay has elapsed, never before, by the task that
/// polls the stream, and its future is polled at once. The stream yields
/// exactly one `Done` per item, in completion order; its
/// [`size_hint`](futures::Stream::size_hint) is exact. With no items it
/// ends at once. It owns a clone of the sleeper, to read its clock, and
/// borrows nothing.
///
/// Work runs only while the stream is polled: a consumer that stops polling
/// holds up both the items still waiting and the work in progress.
///
/// # Cancellation
///
/// Dropping the stream drops every pending timer and every unfinished work
/// future.
///
/// # Panics
///
/// A panic in `f` or in a work future resumes in the task polling the
/// stream; the stream stays usable, without that item. Panics at once if
/// `items` says it holds more items than memory can.
///
/// # Examples
///
/// Fifty clients, each connecting after its own delay of up to 2 s, on
/// tokio:
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # mod example {
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::rt::Tokio;
///
/// async fn connect(id: usize) -> Result<usize, std::io::Error> {
///     Ok(id) // open a connection here
/// }
///
/// #[tokio::main]
/// # pub
/// async fn main() {
///     # let _ = Duration::from_secs(2);
///     # let max_delay = Duration::from_millis(20);
///     # /*
///     let max_delay = Duration::from_secs(2);
///     # */
///     let mut done = stagger::staggered(&Tokio, 0..50, max_delay, |id| connect(id));
///     while let Some(client) = done.next().await {
///         let (index, delay, late) = (client.index, client.delay, client.lateness());
///         println!("client {index}: delay {delay:?}, started {late:?} late: {:?}", client.output);
///     }
/// }
/// # }
/// # #[cfg(feature = "tokio")]
/// # example::main();
/// ```
///
/// The same code, tested on [`Sim`](crate::sim::Sim)'s virtual clock: no
/// real waiting, and exact times.
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let start = sim.now();
/// let mut done = stagger::staggered(&sim, 0..50, Duration::from_secs(2), |id| async move { id });
/// sim.block_on(async {
///     while let Some(done) = done.next().await {
///         assert_eq!(done.output, done.index);
///         assert_eq!(done.started, start + done.delay); // exactly on time
///         assert_eq!(done.lateness(), Duration::ZERO);
///     }
/// });
/// ```
pub fn staggered<S, I, F, Fut>(
    sleeper: &S,
    items: I,
    max_delay: Duration,
    f: F,
) -> Staggered<S, I::Item, F, Fut>
where
    S: Sleeper + Clone,
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    staggered_with(sleeper, &mut sleeper.rng(), items, max_delay, f)
}

/// [`staggered`] with the caller's random number generator.
///
/// The delays are drawn from `rng`, one per item in item order, before this
/// function returns, so a seed fixes every `(index, delay)` pair on every
/// backend.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let run = || {
///     let mut rng = StdRng::seed_from_u64(7);
///     let stream = stagger::staggered_with(&sim, &mut rng, 0..5, Duration::from_secs(1), |_| async {});
///     let mut pairs: Vec<_> = sim.block_on(stream.map(|d| (d.index, d.delay)).collect());
///     pairs.sort();
///     pairs
/// };
/// assert_eq!(run(), run());
/// ```
pub fn staggered_with<S, R, I, F, Fut>(
    sleeper: &S,
    rng: &mut R,
    items: I,
    max_delay: Duration,
    f: F,
) -> Staggered<S, I::Item, F, Fut>
where
    S: Sleeper + Clone,
    R: Generator + ?Sized,
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    staggered_from(sleeper, rng, items, FullJitter::new(max_delay), f)
}

/// [`staggered`] with delays drawn from any distribution, such as the
/// strategies in [`jitter`](crate::jitter).
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
/// let t = Duration::from_secs(4);
/// let stream = stagger::staggered_from(&sim, &mut sim.rng(), 0..10, EqualJitter::new(t), |i| async move { i * 2 });
/// let done: Vec<_> = sim.block_on(stream.collect());
/// assert!(done.iter().all(|d| t / 2 <= d.delay && d.output == d.index * 2));
/// ```
pub fn staggered_from<S, R, D, I, F, Fut>(
    sleeper: &S,
    rng: &mut R,
    items: I,
    distribution: D,
    f: F,
) -> Staggered<S, I::Item, F, Fut>
where
    S: Sleeper + Clone,
    R: Generator + ?Sized,
    D: Distribution<Duration>,
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let waiters = Waiters::drawn(sleeper, rng, &distribution, items, "staggered");
    let make = Stamp {
        f,
        clock: sleeper.clone(),
        start: waiters.start(),
        spawned: false,
    };
    Staggered {
        engine: Engine::new(waiters, make, Inline::new()),
    }
}

/// Stream for the [`staggered`] function: yields each item's [`Done`] as its
/// work finishes.
///
/// Its [`size_hint`](futures::Stream::size_hint) is exact: the items not yet yielded.
///
/// # Examples
///
/// ```
/// use futures::Stream;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let stream = stagger::staggered(&sim, ["a", "b"], Duration::from_secs(1), |s| async move { s });
/// assert_eq!(stream.size_hint(), (2, Some(2)));
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Staggered<S: Sleeper, I, F, Fut> {
    engine: Engine<Timers<S, I>, Stamp<F, S>, InlineWork<S, Fut>>,
}

/// When a staggered fan-out's items are due: a timer each.
type Timers<S, I> = Waiters<<S as Sleeper>::Sleep, I>;

/// Where [`Staggered`] runs its work.
type InlineWork<S, Fut> = Inline<Started<S, Fut>, Tag>;

// Nothing in it is pinned: the timers and work futures are boxed, and `f`
// is only ever called.
impl<S: Sleeper, I, F, Fut> Unpin for Staggered<S, I, F, Fut> {}

engine_stream! {
    impl<S, I, F, Fut> Staggered<S, I, F, Fut> => Done<Fut::Output>, map done;
    where
        S: Sleeper + Clone,
        F: FnMut(I) -> Fut,
        Fut: Future,
}

impl<S, I, F, Fut> fmt::Debug for Staggered<S, I, F, Fut>
where
    S: Sleeper,
    Fut: Future,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::work::Work;
        f.debug_struct("Staggered")
            .field("waiting", &self.engine.due().size_hint().0)
            .field(
                "working",
                &Work::<Started<S, Fut>, Tag>::len(self.engine.work()),
            )
            .finish()
    }
}

// ===== spawned =====

/// [`staggered`] with each item's work run as its own task on `rt`: when an
/// item's delay has elapsed, `f(item)` is called by the task that polls the
/// stream and its future is spawned at that moment.
///
/// Everything else is as in [`staggered`]: one start and the delays drawn at
/// the call, one [`Done`] per item in completion order, an exact
/// [`size_hint`](futures::Stream::size_hint). The stream owns a clone of `rt`: it
/// borrows nothing, so it can itself be moved into a task. Each task holds a
/// clone too, to read when it starts: [`Done::started`] counts the time the
/// task waited in the executor's queue. The delays are
/// timed by the polling task; the tasks run whether or not the stream is
/// polled.
///
/// # Cancellation
///
/// Dropping the stream drops every pending timer and cancels every task:
/// once the drop returns, no task starts another poll (see the crate's
/// Guarantees for polls already running on other threads).
///
/// # Panics
///
/// If a task panics, the other tasks are cancelled, no further item starts,
/// and the panic resumes in the task polling the stream, like Python's
/// `TaskGroup`; the stream then ends. Spawning panics where
/// [`Spawn::spawn`] does (for [`Tokio`](crate::rt::Tokio), outside a tokio
/// runtime). Panics at once if `items` says it holds more items than memory
/// can, and if the runtime drops a task unfinished (it shut down).
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # mod example {
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::rt::Tokio;
///
/// #[tokio::main]
/// # pub
/// async fn main() {
///     // Each worker starts after up to 10 ms, and runs as its own task.
///     let max_delay = Duration::from_millis(10);
///     let mut done = stagger::task_staggered(&Tokio, 0..8, max_delay, |id| async move {
///         tokio::task::yield_now().await;
///         id * id
///     });
///     let mut total = 0;
///     while let Some(done) = done.next().await {
///         total += done.output;
///     }
///     assert_eq!(total, (0..8).map(|i| i * i).sum());
/// }
/// # }
/// # #[cfg(feature = "tokio")]
/// # example::main();
/// ```
pub fn task_staggered<R, I, F, Fut>(
    rt: &R,
    items: I,
    max_delay: Duration,
    f: F,
) -> TaskStaggered<R, I::Item, F, Fut>
where
    R: Spawn + Sleeper + Clone + Send + 'static,
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    task_staggered_with(rt, &mut rt.rng(), items, max_delay, f)
}

/// [`task_staggered`] with the caller's random number generator; the same
/// seed gives the same `(index, delay)` pairs as [`staggered_with`].
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let max = Duration::from_secs(1);
/// let pairs = |done: Vec<stagger::Done<()>>| {
///     let mut pairs: Vec<_> = done.iter().map(|d| (d.index, d.delay)).collect();
///     pairs.sort();
///     pairs
/// };
/// let spawned = stagger::task_staggered_with(&sim, &mut StdRng::seed_from_u64(3), 0..4, max, |_| async {});
/// let inline = stagger::staggered_with(&sim, &mut StdRng::seed_from_u64(3), 0..4, max, |_| async {});
/// assert_eq!(pairs(sim.block_on(spawned.collect())), pairs(sim.block_on(inline.collect())));
/// ```
pub fn task_staggered_with<R, G, I, F, Fut>(
    rt: &R,
    rng: &mut G,
    items: I,
    max_delay: Duration,
    f: F,
) -> TaskStaggered<R, I::Item, F, Fut>
where
    R: Spawn + Sleeper + Clone + Send + 'static,
    G: Generator + ?Sized,
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    task_staggered_from(rt, rng, items, FullJitter::new(max_delay), f)
}

/// [`task_staggered`] with delays drawn from any distribution, such as the
/// strategies in [`jitter`](crate::jitter).
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::jitter::FullJitter;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let jitter = FullJitter::new(Duration::from_secs(3));
/// let stream = stagger::task_staggered_from(&sim, &mut sim.rng(), 0..3, jitter, |i| async move { i });
/// assert_eq!(sim.block_on(stream.count()), 3);
/// ```
pub fn task_staggered_from<R, G, D, I, F, Fut>(
    rt: &R,
    rng: &mut G,
    items: I,
    distribution: D,
    f: F,
) -> TaskStaggered<R, I::Item, F, Fut>
where
    R: Spawn + Sleeper + Clone + Send + 'static,
    G: Generator + ?Sized,
    D: Distribution<Duration>,
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let waiters = Waiters::drawn(rt, rng, &distribution, items, "task_staggered");
    let make = Stamp {
        f,
        clock: rt.clone(),
        start: waiters.start(),
        spawned: true,
    };
    let work = Spawned::new(rt.clone(), waiters.size_hint().0, Mode::Stream);
    TaskStaggered {
        engine: Engine::new(Capped::new(waiters), make, work),
    }
}

/// Stream for the [`task_staggered`] function: yields each item's [`Done`]
/// as its task finishes.
///
/// Its [`size_hint`](futures::Stream::size_hint) is exact: the items not yet yielded.
///
/// # Examples
///
/// ```
/// use futures::Stream;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let stream = stagger::task_staggered(&sim, 0..3, Duration::from_secs(1), |i| async move { i });
/// assert_eq!(stream.size_hint(), (3, Some(3)));
/// ```
#[must_use = "streams do nothing unless polled; dropping this one cancels its tasks"]
pub struct TaskStaggered<R: Spawn + Sleeper, I, F, Fut: Future> {
    engine: Engine<CappedTimers<R, I>, Stamp<F, R>, Tasks<R, Fut>>,
}

/// When [`TaskStaggered`]'s items are due: their timers, under its cap.
type CappedTimers<R, I> = Capped<Timers<R, I>, I>;

/// Where [`TaskStaggered`] runs its work.
type Tasks<R, Fut> = Spawned<R, Tag, (Stamps, <Fut as Future>::Output)>;

impl<R: Spawn + Sleeper, I, F, Fut: Future> TaskStaggered<R, I, F, Fut> {
    /// Caps the tasks in flight at `k`: an item that comes due while `k`
    /// tasks are in flight is held back, in order, until one of them is
    /// yielded, and then starts late. Its [`Done::intended`] stays the
    /// instant it was due, so [`Done::lateness`] counts the time it was
    /// held; [`held_count`](TaskStaggered::held_count) says how many were.
    /// A cap of 0 is taken as 1 (one task at a time).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let clock = sim.clone();
    /// let mut tasks = stagger::task_staggered(&sim, 0..4, Duration::ZERO, move |_| {
    ///     clock.sleep(Duration::from_secs(1))
    /// })
    /// .max_in_flight(1);
    /// let done: Vec<_> = sim.block_on((&mut tasks).collect());
    /// // One at a time: the last starts 3 s late.
    /// assert_eq!(done.iter().map(|d| d.lateness().as_secs()).max(), Some(3));
    /// assert_eq!(tasks.held_count(), 3);
    /// ```
    pub fn max_in_flight(mut self, k: usize) -> Self {
        self.engine.due_mut().set_limit(k);
        self
    }

    /// How many items the cap has held back so far.
    pub fn held_count(&self) -> u64 {
        self.engine.due().held_total()
    }
}

// Nothing in it is pinned: the timers are boxed, the work runs in tasks and
// `f` is only ever called.
impl<R: Spawn + Sleeper, I, F, Fut: Future> Unpin for TaskStaggered<R, I, F, Fut> {}

engine_stream! {
    impl<R, I, F, Fut> TaskStaggered<R, I, F, Fut> => Done<Fut::Output>, map done;
    where
        R: Spawn + Sleeper + Clone + Send + 'static,
        F: FnMut(I) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
}

impl<R, I, F, Fut> fmt::Debug for TaskStaggered<R, I, F, Fut>
where
    R: Spawn + Sleeper,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskStaggered")
            .field("waiting", &self.engine.due().size_hint().0)
            .field("working", &self.engine.work().in_flight())
            .finish()
    }
}
