//! A deterministic virtual-time backend: [`Sim`].
//!
//! [`Sim`] implements [`Sleeper`], [`Spawn`] and [`Runtime`] without a real
//! clock or a real runtime. Its clock stands still while any task can run
//! and, once every task is waiting, jumps straight to the earliest pending
//! timer. A [`wait_n`](crate::wait_n) over ten seconds of delays therefore
//! returns in microseconds of wall time, and reports exactly what a perfect
//! timer would have.
//!
//! # When to use it
//!
//! - **Tests** of code written against [`Sleeper`] / [`Runtime`]: delays of
//!   hours run instantly, and timestamps are exact, so assertions can use
//!   `==` instead of slack for a noisy machine.
//! - **Reproducible simulations**: with a seeded generator, the same program
//!   draws the same delays, completes in the same order and reads the same
//!   virtual timestamps on every run and every machine.
//! - **Load models** too large to wait for: a million waiters over ten
//!   seconds cost only the bookkeeping.
//!
//! Use a real backend from [`rt`](crate::rt) when the waiting itself matters:
//! talking to the outside world, measuring real scheduling latency, or
//! running futures that need a specific runtime (tokio's I/O or timers, for
//! example, do not work inside [`Sim::block_on`](Runtime::block_on)). For
//! I/O between the parts of a simulated system, [`net`] is a network on the
//! simulation's clock and seed.
//!
//! # The rules
//!
//! - **Clock**: [`now`](Sleeper::now) is the [`Instant`] captured by
//!   [`Sim::new`] plus the virtual time elapsed since ([`Sim::elapsed`]). It
//!   moves only inside `block_on`, and only when no task can make progress.
//! - **Timers**: time jumps to the earliest deadline and fires every timer
//!   due then, in the order the timers were *created* (the order of the
//!   [`sleep`](Sleeper::sleep) / [`sleep_until`](Sleeper::sleep_until)
//!   calls). A deadline already reached fires at the first poll; a deadline
//!   an `Instant` cannot hold never fires.
//! - **Tasks**: the future passed to `block_on` and every spawned task run
//!   on the calling thread from a first-in, first-out queue, in the order
//!   they were woken (or spawned); tasks woken from another thread join the
//!   queue when what this thread woke has run. `block_on` returns as soon as its future completes;
//!   spawned tasks still pending stay with the `Sim` and continue at the next
//!   `block_on`.
//! - **Deadlock**: if the future passed to `block_on` waits, no task can run
//!   and no timer is pending, nothing could ever wake it: `block_on` panics
//!   instead of hanging. A `Sim` does not wait for wake-ups from other
//!   threads.
//! - **Far deadlines**: a sleep whose deadline lies past what an `Instant`
//!   can hold (`sim.sleep(Duration::MAX)`, or a delay drawn that large)
//!   never fires; the clock never moves to it. So does an
//!   [`advance`](Sim::advance) that far, which moves the clock through every
//!   timer instead, paused or not. A `block_on` left waiting only on such
//!   sleeps or advances is a deadlock, and says so, and how many.
//! - **Paused**: with auto-advance off ([`Sim::pause`],
//!   [`SimBuilder::start_paused`]), time moves only through
//!   [`Sim::advance`], which fires the timers on its way one deadline at a
//!   time, and [`Sim::advance_to_next`]; a `block_on` that would otherwise
//!   wait for the clock panics, saying the clock is paused and how to move
//!   it.
//! - **Stepping**: [`Sim::next_deadline`] tells the earliest pending
//!   deadline (`None` when no timer is pending); [`Sim::advance_to_next`]
//!   moves the clock to it, fires every timer due there in creation order
//!   and runs what they woke until it waits again; [`Sim::run_until_idle`]
//!   runs every task that can run, without moving time. Paused, they give a
//!   test full control: nothing moves unless the test says so.
//!
//! # Seeds and replay
//!
//! The clock and the order in which tasks run need no seed: they are
//! deterministic by themselves. The seed ([`Sim::seeded`], 0 for
//! [`Sim::new`]) fixes the generators [`Sim::rng`] hands out, which are the
//! simulation's [`Sleeper::rng`]: every draw made through a `Sim` comes from
//! them, the forms without `_with` (`wait_n(&sim, ...)`) and a library's
//! draws through the traits included, and so do yours when you pass
//! `&mut sim.rng()` to the `_with` / `_from` forms. A crate that takes a seed
//! of its own (backon's `with_jitter_seed`) gets `sim.rng().next_u64()`.
//! One seed then replays the whole run. [`Sim::from_env`]
//! takes the seed from the `STAGGER_SEED` environment variable, or a fresh
//! one, so that any failing run can be replayed exactly:
//!
//! - the simulation's own panics (deadlock, nested `block_on`, paused
//!   clock) name the seed in their message;
//! - any other panic that ends a `block_on` — an `assert!` in its future, a
//!   spawned task's panic resumed through its [`JoinHandle`](crate::JoinHandle) or by a fan-out
//!   ([`task_wait_n`](crate::task_wait_n),
//!   [`task_staggered`](crate::task_staggered),
//!   [`schedule::run`](crate::schedule::run)), a detached task's panic — is
//!   followed on stderr by one line naming the seed, the virtual time and
//!   the command that replays the test:
//!
//! ```text
//! thread 'lease::renews' panicked at tests/lease.rs:31:9:
//! renewed after 9.93s: the lease lapsed
//! stagger::sim::Sim: the panic above ended a run at virtual time 9.93s; seed 173; replay:
//! STAGGER_SEED=173 cargo test -- --exact lease::renews (read by Sim::from_env and stagger::sim::check; or
//! Sim::seeded(173))
//! ```
//!
//! The panic then goes on unchanged (its payload is yours, so
//! `#[should_panic(expected = ...)]` still matches). No panic hook is
//! installed: the line is printed by the `block_on` the panic unwinds
//! through, on that thread's stderr, which libtest captures with the
//! test's own output. A panic outside any `block_on` (an `assert!` after it
//! returned) is not the simulation's to report.
//! [`check`] runs a test body on many seeds (`STAGGER_SEEDS`, 256 by
//! default) and reports the first that fails, with the seed count reached;
//! `STAGGER_SEED` makes it run that one seed alone.
//! [`assert_deterministic`] runs a program twice and compares what happened
//! ([`Sim::trace`]: timers fired, tasks spawned and finished, at their
//! virtual times), naming the first difference.
//!
//! Any future runs on a `Sim`, not only stagger's, as long as what it waits
//! on is a `Sim` timer, another task of the same `Sim` (through a
//! [`JoinHandle`](crate::JoinHandle), a channel, a lock...) or a waker called
//! before the queue runs dry. Given the same inputs, a run is deterministic:
//! the same tasks poll in the same order and read the same virtual times.
//!
//! The guide *Testing with Sim* (`docs/testing.md` in the repository) walks
//! through a test of timing code on `Sim`: code generic over [`Sleeper`],
//! [`check`] over many seeds, replay from CI output, stepping time, and when
//! tokio's paused clock is the better tool.
//!
//! # Examples
//!
//! Ten seconds of waiting, in no time:
//!
//! ```
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let wall = std::time::Instant::now();
//! let sim = Sim::new();
//! let delays = sim.block_on(stagger::wait_n(&sim, 10, Duration::from_secs(7)));
//! assert_eq!(sim.elapsed(), *delays.last().unwrap()); // exact, no lateness
//! assert!(wall.elapsed() < Duration::from_secs(3)); // far less, in fact
//! ```
//!
//! A test that steps a paused clock and checks what fired in between:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let sim = Sim::builder().start_paused(true).build();
//! let fired = Arc::new(AtomicUsize::new(0));
//! for secs in [1, 2, 3] {
//!     let (sleep, fired) = (sim.sleep(Duration::from_secs(secs)), fired.clone());
//!     sim.spawn(async move {
//!         sleep.await;
//!         fired.fetch_add(1, Ordering::SeqCst);
//!     })
//!     .detach();
//! }
//! sim.block_on(async {
//!     sim.advance(Duration::from_millis(1500)).await;
//!     assert_eq!(fired.load(Ordering::SeqCst), 1);
//!     sim.advance(Duration::from_secs(2)).await;
//!     assert_eq!(fired.load(Ordering::SeqCst), 3);
//! });
//! ```
//!
//! The same seed gives the same timings on every run, with no generator
//! passed in:
//!
//! ```
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let run = || {
//!     let sim = Sim::seeded(7);
//!     stagger::measure_time(&sim, 1000, Duration::from_secs(10))
//! };
//! let (a, b) = (run(), run());
//! assert_eq!(a, b);
//! assert_eq!(a.total, a.longest);
//! ```

mod builder;
mod check;
mod control;
mod executor;
pub mod net;
mod report;
mod sleep;
mod timers;
mod trace;

use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::{FastRng, Runtime, Sleeper, Spawn};

pub use self::builder::{SEED_VAR, SimBuilder};
pub use self::check::{Check, DEFAULT_SEEDS, MAX_SEEDS, Outcome, SEEDS_VAR, check};
pub use self::control::{Advance, AdvanceToNext, RunUntilIdle};
pub use self::executor::SimTask;
use self::executor::{Runnable, Tasks};
pub use self::sleep::SimSleep;
use self::timers::Timers;
pub use self::trace::{Event, assert_deterministic};

/// A deterministic virtual-time backend: timers fire in virtual time, tasks
/// run on the thread that calls [`block_on`](Runtime::block_on).
///
/// `Sim` is a cheap handle: clones share one simulation (one clock, one set
/// of timers, one task queue), and it is `Send + Sync`, so tasks can hold
/// their own clone. See the [module documentation](self) for the rules it
/// follows and when to prefer a real backend.
///
/// # Panics
///
/// [`block_on`](Runtime::block_on) panics, naming the seed:
///
/// - on **deadlock**: its future waits, no task can run and no timer is
///   pending (it waits on something that is not a `Sim` timer, or only on
///   sleeps or [`advance`](Sim::advance)s whose deadlines lie past what an
///   `Instant` holds: `wait_n(&sim, n, Duration::MAX)` awaited to the end,
///   say);
/// - when **paused** and waiting for the clock, with no
///   [`advance`](Sim::advance) under way;
/// - when **nested**: called while a `block_on` of the same simulation is
///   running, from inside one of its tasks or from another thread;
/// - when a task given to [`spawn_detached`](Spawn::spawn_detached) panics
///   (its future is dropped first). Tasks started with
///   [`spawn`](Spawn::spawn) hand their panic to their
///   [`JoinHandle`](crate::JoinHandle) instead.
///
/// Any other panic that ends a `block_on` (in its future, or resumed there
/// from a task) goes on unchanged, after a line on stderr naming the seed;
/// see [Seeds and replay](self#seeds-and-replay).
///
/// # Shutdown
///
/// Dropping the last clone shuts the simulation down: unfinished tasks are
/// dropped (their [`JoinHandle`](crate::JoinHandle)s report them cancelled)
/// and sleeps that outlive it never complete. A task that holds a clone of
/// its own `Sim` keeps the simulation alive until the task finishes or is
/// cancelled. A cancelled task (its `JoinHandle`, or the fan-out it belongs
/// to, dropped) is dropped whether or not a poll ever comes to drop it: at
/// once when no `block_on` runs; during a `block_on`, at its next poll, or
/// when the `block_on` returns if it is still queued then. That holds before
/// its first poll too, spawned on the `Sim`, through a reference to it, or
/// through a backend that wraps it and spawns on the calling thread.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let start = sim.now();
/// let sum = sim.block_on(async {
///     let a = sim.spawn({
///         let sim = sim.clone();
///         async move {
///             sim.sleep(Duration::from_secs(3600)).await;
///             1
///         }
///     });
///     sim.sleep(Duration::from_secs(60)).await;
///     a.await + 1
/// });
/// assert_eq!(sum, 2);
/// assert_eq!(sim.now() - start, Duration::from_secs(3600));
/// ```
#[derive(Clone)]
pub struct Sim {
    handle: Arc<Handle>,
}

/// What the clones of one [`Sim`] share. Sleeps, wakers and tasks hold the
/// [`Inner`] directly; when the last `Sim` goes, this shuts the simulation
/// down, which breaks the cycles they form through it.
struct Handle(Arc<Inner>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.shut_down();
    }
}

/// The simulation.
struct Inner {
    /// The clock's origin: [`Sim::new`]'s `Instant::now()`.
    base: Instant,
    /// What [`Sim::rng`]'s generators derive from.
    seed: u64,
    /// How many generators [`Sim::rng`] has handed out.
    rngs: AtomicU64,
    /// Set while time may move only through [`Sim::advance`].
    paused: AtomicBool,
    /// `now - base` in nanoseconds, saturating: a copy of the clock that
    /// never runs ahead of it, read without the lock.
    elapsed_nanos: AtomicU64,
    /// The next timer's sequence number; creation order breaks deadline ties.
    next_seq: AtomicU64,
    /// How many [`Sim::run_until_idle`]s wait, each queued behind the rest:
    /// a queue holding only them is idle.
    idlers: AtomicUsize,
    /// Set while a `block_on` drives the simulation.
    running: AtomicBool,
    /// The networks on this simulation ([`net`]), for deadlock messages.
    nets: Mutex<Vec<std::sync::Weak<net::Shared>>>,
    state: Mutex<State>,
}

/// Everything that changes, behind one lock.
///
/// No user code runs while it is held: wakers are woken, and any waker or
/// task that might be the last of its kind is dropped, after it is released.
struct State {
    /// `base` plus the virtual time elapsed.
    now: Instant,
    /// Registered timers, by deadline, then creation order. Every deadline
    /// here is later than `now`: time never passes a registered timer.
    timers: Timers,
    /// Woken tasks (and `block_on` futures), first in, first out: those
    /// woken while no `block_on` runs, or from a thread that does not drive
    /// the simulation. The driving thread queues its own wakes on its own
    /// queue, without this lock (`executor.rs`), and drains this one into it.
    queue: VecDeque<Runnable>,
    /// Every spawned task not yet finished, so that the simulation can drop
    /// them when it shuts down.
    tasks: Tasks,
    /// Set when the last `Sim` is dropped: from then on nothing registers,
    /// queues or spawns.
    shut_down: bool,
    /// While paused, how far the [`Sim::advance`]s under way let time move:
    /// their deadlines, counted.
    permits: BTreeMap<Instant, usize>,
    /// Sleeps polled whose deadline lies past what an `Instant` holds: they
    /// never fire, and a deadlock waiting on them says so.
    unreachable: usize,
    /// [`Sim::advance`]s polled whose end lies past what an `Instant`
    /// holds: they never complete, let a paused clock move to any timer,
    /// and a deadlock waiting on them says so.
    unreachable_advances: usize,
    /// How many tasks were ever spawned: the next task's number.
    spawned: u64,
    /// The events of the run, when traced.
    trace: Option<Vec<(Duration, Event)>>,
}

impl State {
    /// Records `event` at the current virtual time, when tracing.
    fn record(&mut self, base: Instant, event: Event) {
        let at = self.now - base;
        if let Some(trace) = &mut self.trace {
            trace.push((at, event));
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under the lock, so a poisoned state is still
        // consistent; keep going rather than turn one panic into many.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The virtual time, read without the lock when it can be.
    fn now(&self) -> Instant {
        match self.elapsed_nanos.load(Ordering::Acquire) {
            u64::MAX => self.lock().now,
            nanos => self.base + Duration::from_nanos(nanos),
        }
    }

    /// A deadline as nanoseconds after `base`: 0 before it, `u64::MAX`
    /// when it does not fit (585 years on).
    fn offset(&self, deadline: Instant) -> u64 {
        match deadline.checked_duration_since(self.base) {
            Some(offset) => u64::try_from(offset.as_nanos()).unwrap_or(u64::MAX),
            None => 0,
        }
    }

    /// Whether the clock has certainly reached the deadline `offset`
    /// nanoseconds after `base`, without the lock. `false` may be stale (or
    /// the offset too large to tell): ask `State::now` to be sure.
    fn reached(&self, offset: u64) -> bool {
        offset != u64::MAX && offset <= self.elapsed_nanos.load(Ordering::Acquire)
    }

    /// Moves the clock to `now`; called under the lock.
    fn set_now(&self, state: &mut State, now: Instant) {
        state.now = now;
        let nanos = (now - self.base).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self.elapsed_nanos.store(nanos, Ordering::Release);
    }

    /// Drops every unfinished task, which completes its `JoinHandle` as
    /// cancelled, and every timer; leaves nothing that refers back here.
    fn shut_down(&self) {
        let mut state = self.lock();
        state.shut_down = true;
        let wakers = state.timers.take_all();
        let queue = core::mem::take(&mut state.queue);
        let tasks = state.tasks.take_all();
        drop(state);
        drop((wakers, queue));
        for task in tasks {
            task.cancel();
        }
    }
}

impl Sim {
    /// Creates a simulation whose virtual clock starts at the current
    /// `Instant`, with no timers and no tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// assert_eq!(sim.elapsed(), Duration::ZERO);
    /// // Clones share the simulation.
    /// let other = sim.clone();
    /// other.block_on(other.sleep(Duration::from_secs(5)));
    /// assert_eq!(sim.elapsed(), Duration::from_secs(5));
    /// ```
    pub fn new() -> Self {
        Sim::builder().build()
    }

    /// Creates a simulation from `config`.
    fn with(config: &SimBuilder) -> Self {
        let base = Instant::now();
        let inner = Arc::new(Inner {
            base,
            seed: config.seed,
            rngs: AtomicU64::new(0),
            paused: AtomicBool::new(config.paused),
            elapsed_nanos: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
            idlers: AtomicUsize::new(0),
            running: AtomicBool::new(false),
            nets: Mutex::default(),
            state: Mutex::new(State {
                now: base,
                timers: Timers::new(base),
                queue: VecDeque::new(),
                tasks: Tasks::default(),
                shut_down: false,
                permits: BTreeMap::new(),
                unreachable: 0,
                unreachable_advances: 0,
                spawned: 0,
                trace: config.trace.then(Vec::new),
            }),
        });
        Sim {
            handle: Arc::new(Handle(inner)),
        }
    }

    /// The virtual time elapsed since [`Sim::new`]: `now() - base`.
    ///
    /// It is the same on every run of a deterministic program, unlike the
    /// `Instant`s [`now`](Sleeper::now) returns, whose base is the real time
    /// the simulation was created.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// sim.block_on(async {
    ///     sim.sleep(Duration::from_millis(1500)).await;
    ///     sim.sleep(Duration::from_millis(500)).await;
    /// });
    /// assert_eq!(sim.elapsed(), Duration::from_secs(2));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.inner().now() - self.inner().base
    }

    /// How many timers are pending: sleeps polled at least once, not yet
    /// fired and not yet dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::future::{Either, select};
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// sim.block_on(async {
    ///     let long = Box::pin(sim.sleep(Duration::from_secs(60)));
    ///     let short = Box::pin(sim.sleep(Duration::from_secs(1)));
    ///     let won = select(long, short).await;
    ///     assert!(matches!(won, Either::Right(_)));
    ///     assert_eq!(sim.pending_timers(), 1); // `long`, held by `won`
    /// });
    /// assert_eq!(sim.pending_timers(), 0); // dropped with `won`
    /// ```
    pub fn pending_timers(&self) -> usize {
        self.inner().lock().timers.len()
    }

    /// How many spawned tasks have not finished yet, whether runnable or
    /// waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// sim.spawn(sim.sleep(Duration::from_secs(10))).detach();
    /// assert_eq!(sim.pending_tasks(), 1); // spawned; runs in a `block_on`
    /// sim.block_on(sim.sleep(Duration::from_secs(10)));
    /// assert_eq!(sim.pending_tasks(), 0);
    /// ```
    pub fn pending_tasks(&self) -> usize {
        self.inner().lock().tasks.len()
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.handle.0
    }
}

impl Default for Sim {
    /// Same as [`Sim::new`].
    fn default() -> Self {
        Sim::new()
    }
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner().lock();
        let elapsed = state.now - self.inner().base;
        let (timers, tasks) = (state.timers.len(), state.tasks.len());
        drop(state);
        f.debug_struct("Sim")
            .field("elapsed", &elapsed)
            .field("pending_timers", &timers)
            .field("pending_tasks", &tasks)
            .field("running", &self.inner().running.load(Ordering::Relaxed))
            .finish()
    }
}

// ===== backend traits =====

impl Sleeper for Sim {
    type Sleep = SimSleep;

    /// Returns a sleep until `now() + dur` in virtual time; it never fires
    /// if that does not fit in an `Instant`.
    fn sleep(&self, dur: Duration) -> SimSleep {
        let deadline = self.inner().now().checked_add(dur);
        SimSleep::new(self.inner(), deadline)
    }

    /// Returns a sleep until `deadline` in virtual time; a deadline already
    /// reached fires at the first poll.
    fn sleep_until(&self, deadline: Instant) -> SimSleep {
        SimSleep::new(self.inner(), Some(deadline))
    }

    /// The virtual time: the `Instant` of [`Sim::new`] plus
    /// [`elapsed`](Sim::elapsed).
    fn now(&self) -> Instant {
        self.inner().now()
    }

    /// [`Sim::rng`]: a generator derived from the seed.
    fn rng(&self) -> FastRng {
        Sim::rng(self)
    }
}

impl Spawn for Sim {
    type RawTask = SimTask;

    /// Queues `task` on the simulation; it runs when a
    /// [`block_on`](Runtime::block_on) drives the simulation, and stays
    /// queued until then.
    fn spawn_raw<F>(&self, task: F) -> SimTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        executor::spawn(self.inner(), Box::pin(task))
    }
}

impl Runtime for Sim {
    /// Runs `future`, and every spawned task, on the current thread,
    /// advancing virtual time whenever none of them can make progress, until
    /// `future` completes.
    ///
    /// # Panics
    ///
    /// On deadlock, when nested in a `block_on` of the same simulation, and
    /// when a task given to [`spawn_detached`](Spawn::spawn_detached)
    /// panics; see [`Sim`].
    #[track_caller]
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        executor::block_on(self.inner(), future)
    }
}
