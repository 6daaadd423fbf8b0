//! One task handle with one behaviour on every backend.
//!
//! Runtimes disagree on what their handles do: tokio's yields
//! `Result<T, JoinError>` and detaches on drop, async-std's detaches on drop,
//! smol's cancels on drop. Rather than normalise three handle types, stagger
//! spawns every task wrapped in a [`Task`] that talks to its [`JoinHandle`]
//! through one small shared slot, and hands the runtime only a detached
//! `Future<Output = ()>`. Cancellation, panics and shutdown are then handled
//! here, once, for every backend.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::PoisonError;

use pin_project_lite::pin_project;

use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::loom::thread_local;

/// Creates the task a runtime runs and the handle that observes it.
pub(crate) fn pair<F: Future>(future: F) -> (Task<F>, JoinHandle<F::Output>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            output: Output::Running,
            handle: HandleState::Attached,
            aborted: false,
            task_waker: None,
            join_waker: None,
        }),
    });
    let task = Task {
        future: Some(future),
        shared: Arc::clone(&shared),
    };
    (task, JoinHandle { shared })
}

// ===== helpers shared with `group` =====

/// A caught panic's payload.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

thread_local! {
    /// How many stagger tasks this thread is polling (nested executors can
    /// make it more than one).
    static POLLING_TASKS: Cell<usize> = const { Cell::new(0) };
}

thread_local! {
    /// While a handle or a group wakes a task to cancel it, the data pointer
    /// of the waker it wakes; null otherwise. See [`cancel`].
    static CANCELLING: Cell<*const ()> = const { Cell::new(core::ptr::null()) };
}

/// Wakes `waker`, whose task's handle or group is gone, telling its executor
/// that the wake-up only cancels that task.
///
/// A cancelled task normally drops its future at its next poll. That poll
/// may never come: [`Sim`](crate::sim::Sim) runs tasks only inside a
/// `block_on`, and a task that holds the last clones of its own `Sim` would
/// keep the simulation, and itself, alive forever. So a `Sim` drops a task
/// woken here at once when nothing drives the simulation, and otherwise when
/// the `block_on` ends if no poll dropped it before (see
/// `sim/executor.rs`). Other executors ignore the flag. A task never polled
/// has no waker of its own yet: see [`spawning`].
///
/// Only the waker woken here is told, by its data pointer ([`cancels`]): a
/// wake-up it passes on to another waker (a pool's that runs many tasks in
/// one, say) is an ordinary wake-up for that one.
pub(crate) fn cancel(waker: Waker) {
    with_cancelling(waker.data(), || waker.wake());
}

/// Runs `f` outside any [`cancel`]: for what a cancellation runs in turn,
/// such as the destructors of the cancelled future, whose own wakes and
/// spawns cancel nothing.
pub(crate) fn not_cancelling<T>(f: impl FnOnce() -> T) -> T {
    with_cancelling(core::ptr::null(), f)
}

fn with_cancelling<T>(target: *const (), f: impl FnOnce() -> T) -> T {
    struct Restore(*const ());
    impl Drop for Restore {
        fn drop(&mut self) {
            CANCELLING.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CANCELLING.with(|c| c.replace(target)));
    f()
}

/// Whether the wake-up under way comes from [`cancel`], for the waker whose
/// data pointer is `data`.
pub(crate) fn cancels(data: *const ()) -> bool {
    !data.is_null() && core::ptr::eq(CANCELLING.with(Cell::get), data)
}

/// What the executor said about the task being spawned; see [`spawning`].
#[derive(Default)]
enum Spawned {
    /// No spawn through stagger under way on this thread.
    #[default]
    Closed,
    /// A spawn under way; the executor said nothing yet.
    Open,
    /// The executor queued one task, woken by this waker.
    One(Waker),
    /// The executor queued more than one: which one is ours is unknown.
    Many,
}

thread_local! {
    /// The spawn through stagger under way on this thread; see [`spawning`].
    static SPAWNED: Cell<Spawned> = const { Cell::new(Spawned::Closed) };
}

/// Runs `spawn`, which hands one of stagger's task wrappers to a backend's
/// [`spawn_raw`](crate::Spawn::spawn_raw), and returns with its result the
/// waker the executor gave for that task through [`spawned`], if it queued
/// exactly one task meanwhile.
///
/// A task can be cancelled before its first poll, when it has registered no
/// waker yet: its handle or group then wakes this one instead, through
/// [`cancel`]. This is how the cancellation of a never-polled task
/// reaches an executor that would otherwise keep it queued (a
/// [`Sim`](crate::sim::Sim) runs tasks only inside a `block_on`, which may
/// never come), through references, and through wrapper backends that
/// implement only what the [`Spawn`](crate::Spawn) docs ask, as long as
/// they spawn the task on the calling thread, by `spawn_raw` or through
/// stagger's own `spawn` (whose task then wraps this one). A spawn that
/// queues several tasks gives no waker, since which one is ours is unknown:
/// its tasks are cancelled at their first poll.
pub(crate) fn spawning<R>(spawn: impl FnOnce() -> R) -> (R, Option<Waker>) {
    let scope = Spawning::open();
    let output = spawn();
    (output, scope.close())
}

/// The scope of [`spawning`], opened and closed by hand where a closure
/// would break a chain of `#[track_caller]` ([`Spawn::spawn`](crate::Spawn::spawn)
/// reports its caller's location when the backend cannot spawn). Dropped
/// without [`close`](Spawning::close) (the spawn panicked), it puts back the
/// scope of an enclosing spawn all the same.
pub(crate) struct Spawning {
    /// The scope of an enclosing spawn, put back when this one closes.
    enclosing: Spawned,
}

impl Spawning {
    pub(crate) fn open() -> Self {
        Spawning {
            enclosing: SPAWNED.with(|spawned| spawned.replace(Spawned::Open)),
        }
    }

    /// Ends the scope: the waker of the one task the executor queued
    /// meanwhile, if it queued exactly one.
    pub(crate) fn close(self) -> Option<Waker> {
        let queued = SPAWNED.with(Cell::take);
        drop(self);
        // A wrapper backend's `spawn_raw` that spawns through stagger in turn:
        // what was queued here was queued for the enclosing spawn too.
        match queued {
            Spawned::One(waker) => {
                spawned(|| waker.clone());
                Some(waker)
            }
            Spawned::Many => {
                SPAWNED.with(|spawned| {
                    if !matches!(spawned.take(), Spawned::Closed) {
                        spawned.set(Spawned::Many);
                    }
                });
                None
            }
            Spawned::Closed | Spawned::Open => None,
        }
    }
}

impl Drop for Spawning {
    fn drop(&mut self) {
        let enclosing = core::mem::take(&mut self.enclosing);
        SPAWNED.with(|spawned| spawned.set(enclosing));
    }
}

/// Tells the spawn through stagger under way on this thread, if any, the
/// waker of the task the executor just queued: for executors that can drop a
/// task cancelled before its first poll (see [`spawning`]).
pub(crate) fn spawned(waker: impl FnOnce() -> Waker) {
    SPAWNED.with(|spawned| {
        let next = match spawned.take() {
            Spawned::Closed => Spawned::Closed,
            Spawned::Open => Spawned::One(waker()),
            Spawned::One(_) | Spawned::Many => Spawned::Many,
        };
        spawned.set(next);
    });
}

/// Panics if this thread is polling a task spawned through stagger, on any
/// backend: `runtime`'s `block_on` there would block one of the executor's
/// threads, and deadlock once it waits for a task that needs that thread.
#[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
#[track_caller]
pub(crate) fn forbid_block_on_in_task(runtime: &str) {
    if POLLING_TASKS.with(Cell::get) > 0 {
        panic!(
            "stagger::rt::{runtime}::block_on called inside a task: it would block one of the \
             executor's threads, and deadlock once it waits for a task that needs it; `.await` \
             the future instead"
        );
    }
}

/// Counts one task poll on this thread while it lives.
struct PollingTask;

impl PollingTask {
    fn enter() -> Self {
        POLLING_TASKS.with(|n| n.set(n.get() + 1));
        PollingTask
    }
}

impl Drop for PollingTask {
    fn drop(&mut self) {
        POLLING_TASKS.with(|n| n.set(n.get() - 1));
    }
}

/// Polls the task future in `slot` (which must hold one), catching a panic
/// instead of unwinding through the runtime. Once it finished, or panicked,
/// drops it (and its timers) at once, catching a panic of its destructor: a
/// task's outcome is its output, or the first of those panics.
pub(crate) fn poll_task<F: Future>(
    mut slot: Pin<&mut Option<F>>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Panic>> {
    let Some(future) = slot.as_mut().as_pin_mut() else {
        unreachable!("a finished task polled");
    };
    let polled = {
        let _polling = PollingTask::enter();
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(payload),
        }
    };
    Poll::Ready(match (polled, drop_catching(slot)) {
        (Ok(output), Ok(())) => Ok(output),
        (Ok(_), Err(payload)) | (Err(payload), _) => Err(payload),
    })
}

/// Drops the future in `slot`, catching a panic from its destructor.
///
/// The slot is `None` afterwards either way: an assignment that unwinds from
/// the old value's destructor still writes the new value.
pub(crate) fn drop_catching<F>(mut slot: Pin<&mut Option<F>>) -> Result<(), Panic> {
    catch_unwind(AssertUnwindSafe(|| slot.set(None)))
}

/// Stores the context's waker in `slot`, unless it already wakes the same
/// task.
pub(crate) fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        slot => *slot = Some(cx.waker().clone()),
    }
}

// ===== shared slot =====

struct Shared<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    output: Output<T>,
    handle: HandleState,
    /// Set by [`JoinHandle::abort`]: the task drops its future at its next
    /// poll, then completes with a cancelled [`JoinError`].
    aborted: bool,
    /// Woken when the handle is dropped or aborts, so the task can cancel
    /// itself.
    task_waker: Option<Waker>,
    /// Woken when the output is ready.
    join_waker: Option<Waker>,
}

enum Output<T> {
    Running,
    Done(Result<T, JoinError>),
    Taken,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HandleState {
    Attached,
    Dropped,
    Detached,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code panics while holding the lock, but a poisoned slot is still
        // consistent: every update is a single assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes the task's outcome and wakes the handle.
    fn complete(&self, result: Result<T, JoinError>) {
        let mut state = self.lock();
        if state.handle != HandleState::Attached {
            drop(state);
            // Nobody will read it; drop it outside the lock.
            discard(result);
            return;
        }
        state.output = Output::Done(result);
        let waker = state.join_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Drops what nobody will read (the outcome of a task whose handle is
/// detached or dropped): nobody is left to hear of a panic in its destructor
/// either, so it is discarded rather than left to unwind into the runtime.
fn discard<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(|| drop(value)));
}

// ===== the task the runtime runs =====

pin_project! {
    /// The future a backend's [`Spawn::spawn_detached`](crate::Spawn::spawn_detached)
    /// receives: the user's future, plus cancellation and panic capture.
    pub(crate) struct Task<F: Future> {
        // `None` once the future completed, panicked or was cancelled: it is
        // dropped at that moment, so its timers go with it.
        #[pin]
        future: Option<F>,
        shared: Arc<Shared<F::Output>>,
    }

    impl<F: Future> PinnedDrop for Task<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.future.is_some() {
                // The runtime dropped an unfinished task (it shut down), or
                // dropped an aborted one at once (Sim, while idle).
                drop_cancelled(this.future, this.shared);
            }
        }
    }
}

/// Drops the unfinished future in `slot`, then completes the task as
/// cancelled, or as panicked if the future's destructor panicked: only once
/// the future is gone can an awaiting handle hear of it.
fn drop_cancelled<F: Future>(slot: Pin<&mut Option<F>>, shared: &Shared<F::Output>) {
    let repr = match drop_catching(slot) {
        Ok(()) => Repr::Cancelled,
        Err(payload) => Repr::Panicked(payload),
    };
    shared.complete(Err(JoinError(repr)));
}

impl<F: Future> Future for Task<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.future.is_none() {
            return Poll::Ready(());
        }
        {
            let mut state = this.shared.lock();
            if state.aborted || state.handle == HandleState::Dropped {
                drop(state);
                // Cancelled. With its handle dropped, nobody is left to hear
                // of a panic in the future's destructor (`complete` discards
                // it); an aborted task reports it.
                drop_cancelled(this.future, this.shared);
                return Poll::Ready(());
            }
            if state.handle == HandleState::Attached {
                register(&mut state.task_waker, cx);
            }
        }
        let outcome = ready!(poll_task(this.future, cx));
        this.shared
            .complete(outcome.map_err(|payload| JoinError(Repr::Panicked(payload))));
        Poll::Ready(())
    }
}

// ===== the handle =====

/// An owned handle to a task spawned through [`Spawn`](crate::Spawn).
///
/// The same type, with the same behaviour, on every backend:
///
/// - Awaiting it yields the task's output. If the task panicked, the panic
///   resumes in the awaiting task (use [`try_join`](JoinHandle::try_join) to
///   get it as an error instead).
/// - Dropping it cancels the task. Use [`detach`](JoinHandle::detach) to let
///   the task run to completion unobserved.
/// - [`abort`](JoinHandle::abort) cancels the task and keeps the handle, to
///   await the moment its future is gone.
///
/// # Cancellation
///
/// Dropping the handle wakes the task; the next time its runtime polls it,
/// the task drops its future (and with it any pending timers) without polling
/// it again. A task that already finished is unaffected; its output, if not
/// taken, is dropped with the handle, and a panic of the output's
/// destructor is discarded.
/// The drop returns at once: the future may still be alive then, in the
/// middle of a poll on another thread, or until its runtime gets to the
/// task.
///
/// To know when the future is gone, as a `shutdown().await` needs to, call
/// [`abort`](JoinHandle::abort) and await
/// [`try_join`](JoinHandle::try_join): it returns once the task's future
/// has been dropped, with a cancelled [`JoinError`] (or the output, if the
/// task finished first), as awaiting tokio's `JoinHandle` after its `abort`
/// does.
///
/// # Panics
///
/// Awaiting the handle panics if the task panicked (the original payload is
/// resumed) or was cancelled before it finished:
/// [aborted](JoinHandle::abort), or dropped by its runtime, for example
/// because the runtime shut down. Polling it again after it returned `Ready`
/// panics too.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let answer = sim.block_on(async { sim.spawn(async { 6 * 7 }).await });
/// assert_eq!(answer, 42);
/// ```
#[must_use = "dropping a JoinHandle cancels its task; call `detach()` to let it run"]
pub struct JoinHandle<T> {
    shared: Arc<Shared<T>>,
}

impl<T> JoinHandle<T> {
    /// Lets the task run to completion without a handle; its output is
    /// discarded, and so is a panic of the output's destructor, which
    /// nobody is left to hear.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let done = Arc::new(AtomicBool::new(false));
    /// let flag = done.clone();
    /// let hour = sim.sleep(Duration::from_secs(3600));
    /// sim.block_on(async {
    ///     sim.spawn(async move {
    ///         hour.await;
    ///         flag.store(true, Ordering::SeqCst);
    ///     })
    ///     .detach();
    ///     sim.sleep(Duration::from_secs(7200)).await;
    /// });
    /// assert!(done.load(Ordering::SeqCst));
    /// ```
    pub fn detach(self) {
        let mut state = self.shared.lock();
        state.handle = HandleState::Detached;
        // Finished already: nobody will read the output.
        let output = match state.output {
            Output::Done(_) => core::mem::replace(&mut state.output, Output::Taken),
            _ => Output::Taken,
        };
        drop(state);
        discard(output);
    }

    /// Returns a future that resolves to the task's output, or to a
    /// [`JoinError`] if it panicked or was cancelled, instead of panicking.
    ///
    /// Dropping the returned future cancels the task, like dropping the
    /// handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let err = sim.block_on(async {
    ///     sim.spawn(async { panic!("boom") }).try_join().await
    /// })
    /// .unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    pub fn try_join(self) -> TryJoin<T> {
        TryJoin { handle: self }
    }

    /// Returns `true` once the task has finished: completed, panicked or been
    /// cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// sim.block_on(async {
    ///     let task = sim.spawn(async {});
    ///     sim.sleep(Duration::from_millis(5)).await;
    ///     assert!(task.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        !matches!(self.shared.lock().output, Output::Running)
    }

    /// Cancels the task, keeping the handle: await
    /// [`try_join`](JoinHandle::try_join) to know when the cancellation is
    /// done.
    ///
    /// Like tokio's `JoinHandle::abort`: the task drops its future (and with
    /// it any pending timers) at its next poll instead of polling it again,
    /// and the handle then resolves to a [`JoinError`] that
    /// [`is_cancelled`](JoinError::is_cancelled).
    ///
    /// # Cancellation
    ///
    /// `abort` itself returns at once, like dropping the handle. Awaiting the
    /// handle afterwards returns only once the task's future has been
    /// dropped, on every backend: a poll in progress on another thread ends
    /// first, and a task not polled yet is dropped without a poll. A task
    /// that finished before the abort took effect keeps its outcome: the
    /// handle resolves to its output (or its panic). If the future's
    /// destructor panics, the handle resolves to that panic
    /// ([`JoinError::is_panic`]). Aborting twice, or a finished task, does
    /// nothing.
    ///
    /// Awaiting the handle itself, rather than through `try_join`, panics
    /// once the task is cancelled (see [`JoinHandle`]'s `# Panics`).
    ///
    /// # Examples
    ///
    /// A `shutdown` that returns once a background task is gone:
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// sim.block_on(async {
    ///     let worker = sim.spawn(sim.sleep(Duration::from_secs(3600)));
    ///     sim.sleep(Duration::from_millis(5)).await;
    ///     worker.abort();
    ///     let err = worker.try_join().await.unwrap_err();
    ///     assert!(err.is_cancelled()); // and the sleep is dropped
    /// });
    /// ```
    #[doc(alias = "cancel")]
    pub fn abort(&self) {
        let mut state = self.shared.lock();
        if state.aborted || !matches!(state.output, Output::Running) {
            return;
        }
        state.aborted = true;
        let waker = state.task_waker.take();
        drop(state);
        if let Some(waker) = waker {
            cancel(waker);
        }
    }

    /// Makes dropping this handle wake `waker`, as if the task had
    /// registered it at a poll, unless it has already registered one or
    /// finished: for executors that can drop a task cancelled before its
    /// first poll (see [`spawning`]).
    pub(crate) fn set_task_waker(&self, waker: Waker) {
        let mut state = self.shared.lock();
        if matches!(state.output, Output::Running) && state.task_waker.is_none() {
            state.task_waker = Some(waker);
        }
    }

    fn poll_try_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut state = self.shared.lock();
        match core::mem::replace(&mut state.output, Output::Taken) {
            Output::Done(result) => Poll::Ready(result),
            Output::Running => {
                state.output = Output::Running;
                register(&mut state.join_waker, cx);
                Poll::Pending
            }
            Output::Taken => panic!("stagger::JoinHandle polled after it completed"),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.handle != HandleState::Attached {
            return;
        }
        state.handle = HandleState::Dropped;
        match state.output {
            Output::Running => {
                // An aborted task was woken already: its waker is taken.
                let waker = state.task_waker.take();
                drop(state);
                if let Some(waker) = waker {
                    cancel(waker);
                }
            }
            _ => {
                // Finished, and nobody will read the output: it is dropped
                // here rather than by whichever thread frees the slot last,
                // a runtime's maybe, and a panic of its destructor is
                // discarded (as tokio's `JoinHandle` does).
                let output = core::mem::replace(&mut state.output, Output::Taken);
                drop(state);
                discard(output);
            }
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match ready!(self.poll_try_join(cx)) {
            Ok(output) => Poll::Ready(output),
            Err(JoinError(Repr::Panicked(payload))) => resume_unwind(payload),
            Err(err) => panic!("{err}"),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

pin_project! {
    /// Future for the [`JoinHandle::try_join`] method.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let out = sim.block_on(async { sim.spawn(async { 1 }).try_join().await });
    /// assert_eq!(out.unwrap(), 1);
    /// ```
    #[must_use = "futures do nothing unless polled; dropping this one cancels the task"]
    #[derive(Debug)]
    pub struct TryJoin<T> {
        handle: JoinHandle<T>,
    }
}

impl<T> Future for TryJoin<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().handle.poll_try_join(cx)
    }
}

// ===== errors =====

/// Why a task produced no output: it panicked, or it was cancelled.
///
/// Returned by [`JoinHandle::try_join`].
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let err = sim
///     .block_on(async { sim.spawn(async { panic!("no luck") }).try_join().await })
///     .unwrap_err();
/// assert!(err.is_panic() && !err.is_cancelled());
/// assert_eq!(err.to_string(), "task panicked: no luck");
/// ```
pub struct JoinError(Repr);

enum Repr {
    Panicked(Panic),
    Cancelled,
}

impl JoinError {
    /// Returns `true` if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.0, Repr::Panicked(_))
    }

    /// Returns `true` if the task was dropped before it finished: it was
    /// [aborted](JoinHandle::abort), or its runtime dropped it (it shut
    /// down).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0, Repr::Cancelled)
    }

    /// Returns the panic payload, or gives the error back if the task did not
    /// panic.
    pub fn try_into_panic(self) -> Result<Panic, JoinError> {
        match self.0 {
            Repr::Panicked(payload) => Ok(payload),
            repr => Err(JoinError(repr)),
        }
    }

    /// Returns the panic payload, for example to pass to
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the task did not panic; check [`is_panic`](Self::is_panic)
    /// first or use [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Panic {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(err) => {
                panic!("JoinError::into_panic called on an error that is not a panic: {err}")
            }
        }
    }
}

/// The panic message, if the payload is a string.
fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Panicked(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
            Repr::Cancelled => f.write_str(
                "task was cancelled before it finished (aborted, or its runtime dropped it, e.g. \
                 at shutdown)",
            ),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&panic_message(payload.as_ref()).unwrap_or("..."))
                .finish(),
            Repr::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl std::error::Error for JoinError {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Counts its drop, and panics in it if `.1`.
    struct Dropped(Arc<Mutex<usize>>, bool);

    impl Drop for Dropped {
        fn drop(&mut self) {
            *self.0.lock().unwrap() += 1;
            if self.1 {
                panic!("drop");
            }
        }
    }

    #[test]
    fn drop_catching_empties_the_slot_even_when_the_drop_panics() {
        let drops = Arc::new(Mutex::new(0));
        let pair = (
            Dropped(Arc::clone(&drops), true),
            Dropped(Arc::clone(&drops), false),
        );
        let mut slot = Some(pair);
        let payload = drop_catching(Pin::new(&mut slot)).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), Some("drop"));
        assert!(slot.is_none());
        // The second field was dropped too, while the first one's panic
        // unwound.
        assert_eq!(*drops.lock().unwrap(), 2);
    }
}
