//! Spawning tasks and blocking on futures.

use core::future::Future;

use crate::sleeper::Sleeper;
use crate::task::{self, JoinHandle};

/// Spawns futures as background tasks.
///
/// A backend implements only [`RawTask`](Spawn::RawTask) and
/// [`spawn_raw`](Spawn::spawn_raw);
/// [`spawn`](Spawn::spawn) wraps the future so that every backend returns the
/// same [`JoinHandle`] with the same behaviour: output on await, panics
/// resumed in the awaiter, cancellation on drop.
///
/// A cancelled task drops its future at its next poll, woken through the
/// waker of its last poll. A task cancelled before its first poll has none:
/// it is woken instead through the waker its executor gave when it queued
/// the task, if it gave one. Only [`Sim`](crate::sim::Sim) does, since it
/// polls tasks only inside a `block_on`, which may never come; it does so
/// inside `spawn_raw`, so the same holds through a reference and through a
/// wrapper backend whose `spawn_raw` hands the task to an inner backend on
/// the calling thread (through any of the inner backend's three methods). A
/// backend has nothing more to implement. Should a wrapper queue other
/// tasks of its own along with the task, which one to wake is unknown: the
/// task is then dropped at its first poll, as on the other backends. And a
/// backend that runs its tasks inside one task of the `Sim` (a pool) sees
/// an ordinary wake-up, not a cancellation: the pool runs on, and drops the
/// cancelled task at its next poll.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let sum = sim.block_on(async {
///     let a = sim.spawn(async { 1 });
///     let b = sim.spawn(async { 2 });
///     a.await + b.await
/// });
/// assert_eq!(sum, 3);
/// ```
pub trait Spawn {
    /// The runtime's own handle to a task started by
    /// [`spawn_raw`](Spawn::spawn_raw); `()` when your executor gives none
    /// (futures' `ThreadPool::spawn_ok`, say: see
    /// `examples/custom_backend.rs`).
    ///
    /// stagger never joins or cancels through it: its own
    /// [`JoinHandle`](crate::JoinHandle) does that on every backend. Dropping
    /// it must not cancel the task. Its one use is memory: once the task
    /// finished, dropping the last handle frees the task on the dropping
    /// thread, so the spawned fan-outs keep them and drop them on the
    /// caller's thread, as hand-written code does, instead of having the
    /// executor's threads free every task.
    type RawTask: Send + 'static;

    /// Runs `task` in the background until it completes, and returns the
    /// runtime's handle to it (see [`RawTask`](Spawn::RawTask)).
    ///
    /// The runtime may drop `task` unfinished only when it shuts down. A
    /// panic here (the backend cannot spawn in this context) is reported at
    /// the caller of [`spawn`](Spawn::spawn): the method is
    /// `#[track_caller]`.
    #[track_caller]
    fn spawn_raw<F>(&self, task: F) -> Self::RawTask
    where
        F: Future<Output = ()> + Send + 'static;

    /// Runs `task` in the background until it completes, without a handle.
    #[track_caller]
    fn spawn_detached<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.spawn_raw(task));
    }

    /// Spawns `future` as a task and returns its [`JoinHandle`].
    ///
    /// # Panics
    ///
    /// Panics if the backend cannot spawn here; for [`Tokio`](crate::rt::Tokio),
    /// when called outside a tokio runtime. The panic names the caller's
    /// location, not stagger's.
    #[track_caller]
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, handle) = task::pair(future);
        // An executor that can drop the task if it is cancelled before its
        // first poll gives its waker here.
        let scope = task::Spawning::open();
        self.spawn_detached(task);
        if let Some(waker) = scope.close() {
            handle.set_task_waker(waker);
        }
        handle
    }
}

/// A complete backend: timers, spawning, and a way in from synchronous code.
///
/// It is also the bound a library writes: `R: Runtime` implies everything
/// the spawned fan-outs and the executors' own `spawn` functions ask of a
/// backend — `Clone + Send + Sync + 'static`, with sleeps that are `Send +
/// 'static` — which every backend is (each is a unit struct, a handle or an
/// `Arc`), so generic code compiles as written (see *Building a library on
/// stagger* in the crate docs).
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// // Generic over the backend, spawning, with no bound beyond `Runtime`.
/// fn task_delays<R: Runtime>(rt: &R) -> Vec<Duration> {
///     rt.block_on(stagger::task_wait_n(rt, 10, Duration::from_millis(5)))
/// }
///
/// fn run<R: Runtime>(rt: &R) -> usize {
///     rt.block_on(stagger::wait_n(rt, 3, Duration::from_millis(5))).len()
/// }
/// let sim = Sim::new();
/// assert_eq!(run(&sim), 3);
/// assert_eq!(task_delays(&sim).len(), 10);
/// ```
pub trait Runtime: Sleeper<Sleep: Send + 'static> + Spawn + Clone + Send + Sync + 'static {
    /// Runs `future` to completion on the current thread and returns its
    /// output. This is how synchronous code such as
    /// [`measure_time`](crate::measure_time) enters the runtime.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

impl<S: Spawn + ?Sized> Spawn for &S {
    type RawTask = S::RawTask;

    #[track_caller]
    fn spawn_raw<F>(&self, task: F) -> S::RawTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        (**self).spawn_raw(task)
    }

    #[track_caller]
    fn spawn_detached<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        (**self).spawn_detached(task);
    }

    #[track_caller]
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        (**self).spawn(future)
    }
}
