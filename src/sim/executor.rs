//! The executor behind [`Sim`](super::Sim): a first-in, first-out run queue
//! on the thread that calls `block_on`, and virtual time that advances only
//! when nothing is queued. Wakes on that thread join its queue at once;
//! wakes from other threads wait in the simulation's shared queue, which
//! joins behind it when it runs dry.
//!
//! Every task (and the `block_on` future) is woken by pushing it onto the
//! queue at most once: its `queued` flag is set by the first wake and cleared
//! just before it is polled. Wakers are `Arc`s ([`ArcWake`]), so they may be
//! woken from any thread. Once the simulation has shut down, wakes queue
//! nothing, so that no new cycle forms through the queue.
//!
//! A task whose handle or group is dropped is woken through `task::cancel`:
//! the wake-up only cancels it. The task is dropped
//! there and then if no `block_on` runs; otherwise it is marked, and the
//! end of the `block_on` drops every marked task still queued, on either
//! queue. A task never polled is woken through the waker `spawn` handed to
//! the spawner (`task::spawned`).

use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::task::{ArcWake, waker_ref};

use super::builder::Replay;
use super::report;
use super::{Event, Inner, State};
use crate::task;
use std::time::Instant;

const DEADLOCK: &str = "stagger::sim::Sim deadlock: the future passed to block_on is waiting, \
    but no task can run and no timer is pending";

const PAUSED: &str = "stagger::sim::Sim is paused (auto-advance is off): the future passed to \
    block_on is waiting, no task can run, and time moves only through \
    `sim.advance(duration).await`, from the block_on future or a task (or call `sim.resume()`)";

const NESTED: &str = "stagger::sim::Sim::block_on called while a block_on of the same Sim is \
    running (nested inside one of its tasks, or on another thread): a Sim runs one block_on at \
    a time; `.await` the future instead";

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An entry of the run queue.
pub(super) enum Runnable {
    /// The future of a `block_on`; entries left by an earlier call are
    /// skipped.
    Main(Arc<MainWake>),
    Task(Arc<TaskCell>),
}

// ===== spawned tasks =====

/// A spawned task: its future and its place in the run queue.
pub(super) struct TaskCell {
    /// Its slot in [`Tasks`].
    id: usize,
    /// Its number, in spawn order, for traces.
    number: u64,
    sim: Arc<Inner>,
    /// Set while the task is in the run queue, and for good once it finished.
    queued: AtomicBool,
    /// Set when a wake-up only cancels the task (see `task::cancel`):
    /// a `block_on` that ends with it still queued, on its own thread's
    /// queue or on the shared one, drops it, rather than leave it for a
    /// `block_on` that may never come.
    cancel_requested: AtomicBool,
    /// `None` once the task finished, panicked or was cancelled. Locked only
    /// by the executor, to poll it, and by the simulation's shutdown.
    future: Mutex<Option<BoxFuture>>,
}

impl TaskCell {
    fn future(&self) -> MutexGuard<'_, Option<BoxFuture>> {
        // Polls run under `catch_unwind`, so this is never poisoned in
        // practice; if it were, the slot is still a valid `Option`.
        self.future.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the task's future, if it has not finished.
    pub(super) fn cancel(&self) {
        self.queued.store(true, Ordering::Release);
        let future = self.future().take();
        drop(future);
    }
}

impl TaskCell {
    /// Whether the simulation is idle, for a task whose wake-up only cancels
    /// it: then the task is dropped at once instead of at its next poll,
    /// which may never come (see [`task::cancel`]).
    ///
    /// `SeqCst`, with the flag and the end of `block_on`: either this sees
    /// the simulation idle, or that end sees the flag.
    fn idle(&self) -> bool {
        !self.sim.running.load(Ordering::SeqCst)
    }

    /// Drops the task's future now: it was cancelled, and no poll may come
    /// to drop it. The future is one of stagger's task wrappers, whose drop
    /// completes the cancellation (and catches a panic of the destructors).
    fn reap(&self) {
        self.queued.store(true, Ordering::Release);
        let future = self.future().take();
        if future.is_none() {
            return;
        }
        // What the destructors wake or spawn is not cancelled with it.
        task::not_cancelling(|| drop(future));
        let registered = self.sim.finished(self);
        drop(registered);
    }
}

impl ArcWake for TaskCell {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let cancelling = task::cancels(Arc::as_ptr(arc_self).cast());
        if cancelling {
            arc_self.cancel_requested.store(true, Ordering::SeqCst);
        }
        if cancelling && arc_self.idle() {
            arc_self.reap();
        } else if !arc_self.queued.swap(true, Ordering::AcqRel) {
            arc_self.sim.enqueue(Runnable::Task(Arc::clone(arc_self)));
            // Woken from another thread, it may have been queued just after
            // the end of the `block_on` looked for cancelled tasks: then the
            // simulation is idle by now, and the task goes here.
            if cancelling && arc_self.idle() {
                arc_self.reap();
            }
        }
    }
}

// ===== the run queue of the thread driving a simulation =====

thread_local! {
    /// The run queues of the `block_on`s on this thread, innermost last (a
    /// `Sim` task may run another `Sim`). A simulation woken on the thread
    /// that drives it queues here, without taking its lock; woken from
    /// another thread, or while no `block_on` runs, it queues on
    /// `State::queue`, which the driver drains into this one when it runs
    /// dry.
    static DRIVEN: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// A run queue owned by the thread whose `block_on` drives `sim`.
struct Local {
    /// Which simulation, by address: only compared.
    sim: usize,
    queue: VecDeque<Runnable>,
}

/// The address that identifies `sim` in [`DRIVEN`].
fn address(sim: &Inner) -> usize {
    core::ptr::from_ref(sim) as usize
}

/// Makes the calling thread the driver of a simulation while it lives: marks
/// the simulation as driven, and gives it this thread's queue.
struct Driving<'a>(&'a Inner);

impl<'a> Driving<'a> {
    #[track_caller]
    fn start(sim: &'a Inner) -> Self {
        if sim.running.swap(true, Ordering::SeqCst) {
            report::seed_named();
            panic!("{NESTED}; {}", Replay(sim.seed));
        }
        let local = Local {
            sim: address(sim),
            queue: VecDeque::new(),
        };
        DRIVEN.with(|driven| driven.borrow_mut().push(local));
        Driving(sim)
    }

    /// Pops the next runnable from this thread's queue.
    fn pop(&self) -> Option<Runnable> {
        DRIVEN.with(|driven| driven.borrow_mut().last_mut()?.queue.pop_front())
    }

    /// Moves what was queued on `shared` behind what this thread queued.
    fn take_shared(&self, shared: &mut VecDeque<Runnable>) {
        DRIVEN.with(|driven| {
            if let Some(local) = driven.borrow_mut().last_mut() {
                local.queue.append(shared);
            }
        });
    }
}

impl Drop for Driving<'_> {
    /// Leaves what is still queued to the next `block_on`, in order: this
    /// thread's queue first, then what other threads queued since; but drops
    /// the tasks queued only to be cancelled.
    fn drop(&mut self) {
        let local = DRIVEN.with(|driven| driven.borrow_mut().pop());
        let mut queue = local.map(|local| local.queue).unwrap_or_default();
        // From here on, a task cancelled on any thread is dropped at once;
        // one cancelled before is found below, wherever it was queued.
        self.0.running.store(false, Ordering::SeqCst);
        let mut state = self.0.lock();
        queue.append(&mut state.queue);
        if state.shut_down {
            // Dropping tasks can run their destructors: not under the lock.
            drop(state);
            drop(queue);
            return;
        }
        // Tasks left queued only to be cancelled go now: one that holds the
        // last clones of its own `Sim` would otherwise never be dropped.
        let (cancelled, queue): (VecDeque<_>, VecDeque<_>) =
            queue.into_iter().partition(|runnable| match runnable {
                Runnable::Task(task) => task.cancel_requested.load(Ordering::SeqCst),
                Runnable::Main(_) => false,
            });
        state.queue = queue;
        drop(state);
        for runnable in cancelled {
            if let Runnable::Task(task) = runnable {
                task.reap();
            }
        }
    }
}

/// Pushes `runnable` onto the queue of the thread driving `sim`, if this is
/// that thread; gives it back otherwise.
fn push_driven(sim: &Inner, runnable: Runnable) -> Result<(), Runnable> {
    let sim = address(sim);
    DRIVEN.with(|driven| {
        let Ok(mut driven) = driven.try_borrow_mut() else {
            return Err(runnable);
        };
        match driven.last_mut() {
            Some(local) if local.sim == sim => {
                local.queue.push_back(runnable);
                Ok(())
            }
            _ => Err(runnable),
        }
    })
}

/// Whether nothing of `sim` but `idlers` other waiting
/// [`Sim::run_until_idle`](super::Sim::run_until_idle)s is queued to run,
/// for one polled on the thread driving `sim`; `None` on any other thread,
/// which cannot see this thread's queue. What other threads queued moves
/// behind this thread's queue, so that it runs before the asker, woken
/// again, is polled.
pub(super) fn idle(sim: &Inner, idlers: usize) -> Option<bool> {
    let sim_address = address(sim);
    let local = DRIVEN.with(|driven| {
        let driven = driven.try_borrow().ok()?;
        let local = driven.last().filter(|local| local.sim == sim_address)?;
        Some(local.queue.len())
    })?;
    let mut state = sim.lock();
    if local + state.queue.len() <= idlers {
        // Only the other waiting `run_until_idle`s, each queued once.
        return Some(true);
    }
    DRIVEN.with(|driven| {
        if let Some(local) = driven.borrow_mut().last_mut() {
            local.queue.append(&mut state.queue);
        }
    });
    Some(false)
}

/// [`Sim`](super::Sim)'s [`RawTask`](crate::Spawn::RawTask): a handle to a
/// task of the simulation. Dropping it lets the task run on (stagger cancels
/// tasks through their [`JoinHandle`](crate::JoinHandle)s and fan-outs,
/// never through this handle).
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::{Sim, SimTask};
///
/// let sim = Sim::new();
/// let raw: SimTask = sim.spawn_raw(async {});
/// drop(raw); // the task runs on
/// sim.block_on(async {});
/// assert_eq!(sim.pending_tasks(), 0);
/// ```
pub struct SimTask(pub(super) Arc<TaskCell>);

impl fmt::Debug for SimTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTask")
            .field("finished", &self.0.future().is_none())
            .finish()
    }
}

impl Inner {
    /// Removes a finished task from the simulation; returns it, to drop
    /// outside the lock.
    fn finished(&self, task: &TaskCell) -> Option<Arc<TaskCell>> {
        let mut state = self.lock();
        state.record(self.base, Event::TaskFinished { task: task.number });
        state.tasks.remove(task.id)
    }

    /// Queues a woken task, unless the simulation has shut down: on the
    /// driving thread's own queue when it is woken there.
    fn enqueue(&self, runnable: Runnable) {
        let Err(runnable) = push_driven(self, runnable) else {
            return;
        };
        let mut state = self.lock();
        if state.shut_down {
            drop(state);
            drop(runnable);
        } else {
            state.queue.push_back(runnable);
        }
    }
}

/// Every spawned task not yet finished, in a slab: a task's `id` is its
/// slot, reused once it finished.
#[derive(Default)]
pub(super) struct Tasks {
    slots: Vec<Option<Arc<TaskCell>>>,
    free: Vec<usize>,
    len: usize,
}

impl Tasks {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn insert(&mut self, task: impl FnOnce(usize) -> Arc<TaskCell>) -> Arc<TaskCell> {
        let id = self.free.pop().unwrap_or(self.slots.len());
        let task = task(id);
        match self.slots.get_mut(id) {
            Some(slot) => *slot = Some(Arc::clone(&task)),
            None => self.slots.push(Some(Arc::clone(&task))),
        }
        self.len += 1;
        task
    }

    fn remove(&mut self, id: usize) -> Option<Arc<TaskCell>> {
        let task = self.slots.get_mut(id)?.take()?;
        self.free.push(id);
        self.len -= 1;
        Some(task)
    }

    /// Removes every task, in slot order.
    pub(super) fn take_all(&mut self) -> Vec<Arc<TaskCell>> {
        let tasks = core::mem::take(self);
        tasks.slots.into_iter().flatten().collect()
    }
}

/// Registers `future` as a task and queues it; gives its waker to the spawn
/// through stagger under way, if any, so that cancelling it before its first
/// poll drops it (see [`task::spawning`]).
pub(super) fn spawn(sim: &Arc<Inner>, future: BoxFuture) -> SimTask {
    let mut state = sim.lock();
    let number = state.spawned;
    state.spawned += 1;
    state.record(sim.base, Event::TaskSpawned { task: number });
    let task = state.tasks.insert(|id| {
        Arc::new(TaskCell {
            id,
            number,
            sim: Arc::clone(sim),
            queued: AtomicBool::new(true),
            cancel_requested: AtomicBool::new(false),
            future: Mutex::new(Some(future)),
        })
    });
    drop(state);
    task::spawned(|| futures::task::waker(Arc::clone(&task)));
    // In order with the wakes of the thread that spawns it.
    sim.enqueue(Runnable::Task(Arc::clone(&task)));
    SimTask(task)
}

/// Polls a queued task once; drops it if it finished.
fn run_task(sim: &Inner, task: &Arc<TaskCell>) {
    let mut slot = task.future();
    let Some(future) = slot.as_mut() else {
        // Finished after it was queued.
        return;
    };
    task.queued.store(false, Ordering::Release);
    let waker = waker_ref(task);
    let mut cx = Context::from_waker(&waker);
    let result = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
    if let Ok(Poll::Pending) = result {
        return;
    }
    // Finished or panicked: drop the future now, with its timers, outside
    // the slot's lock, and never queue the task again.
    task.queued.store(true, Ordering::Release);
    let finished = slot.take();
    drop(slot);
    drop(finished);
    let registered = sim.finished(task);
    drop(registered);
    if let Err(payload) = result {
        resume_unwind(payload);
    }
}

// ===== block_on =====

/// The waker of a `block_on` future.
pub(super) struct MainWake {
    sim: Arc<Inner>,
    queued: AtomicBool,
}

impl ArcWake for MainWake {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::AcqRel) {
            arc_self.sim.enqueue(Runnable::Main(Arc::clone(arc_self)));
        }
    }
}

/// Runs the queue until `future` completes, advancing virtual time whenever
/// the queue is empty.
#[track_caller]
pub(super) fn block_on<F: Future>(sim: &Arc<Inner>, future: F) -> F::Output {
    let driving = Driving::start(sim);
    let main = Arc::new(MainWake {
        sim: Arc::clone(sim),
        queued: AtomicBool::new(true),
    });
    // Behind any task left runnable by an earlier `block_on`.
    sim.lock()
        .queue
        .push_back(Runnable::Main(Arc::clone(&main)));
    let mut future = pin!(future);
    // Names the seed if a panic ends the run: dropped first, so that its
    // report follows the panic's message.
    let _report = report::Reporter::new(sim);
    let mut fired = Vec::new();
    loop {
        let Some(next) = driving.pop() else {
            let mut state = sim.lock();
            if state.queue.is_empty() {
                move_clock(sim, state, &mut fired);
            } else {
                driving.take_shared(&mut state.queue);
            }
            continue;
        };
        match next {
            Runnable::Main(woken) if Arc::ptr_eq(&woken, &main) => {
                main.queued.store(false, Ordering::Release);
                let waker = waker_ref(&main);
                let mut cx = Context::from_waker(&waker);
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            // An earlier `block_on`'s future, woken after it returned.
            Runnable::Main(_) => {}
            Runnable::Task(task) => run_task(sim, &task),
        }
    }
}

/// Nothing can run: moves the clock to the earliest deadline and wakes every
/// timer due then, in creation order.
///
/// # Panics
///
/// Panics with [`DEADLOCK`] if no timer is pending, and with [`PAUSED`] if
/// the simulation is paused and no [`advance`](super::Sim::advance) lets
/// time reach the next timer.
#[track_caller]
fn move_clock(sim: &Inner, mut state: MutexGuard<'_, State>, fired: &mut Vec<Waker>) {
    if sim.paused.load(Ordering::Acquire) {
        let next = state.timers.next_deadline();
        let furthest = state.permits.last_key_value().map(|(&at, _)| at);
        let endless = state.unreachable_advances > 0;
        let permitted = |at: Instant| endless || furthest.is_some_and(|permit| at <= permit);
        if let Some(at) = next.filter(|&at| !permitted(at)) {
            let (elapsed, next) = (state.now - sim.base, at - sim.base);
            let tasks = state.tasks.len();
            let garbage = state.timers.take_garbage();
            drop(state);
            drop(garbage);
            report::seed_named();
            panic!(
                "{PAUSED}; virtual time elapsed: {elapsed:?}, next timer at {next:?}, spawned \
                 tasks pending: {tasks}, {}",
                Replay(sim.seed)
            );
        }
    }
    let mut seqs = state.trace.as_ref().map(|_| Vec::new());
    let next = state.timers.fire_next(fired, seqs.as_mut());
    let garbage = state.timers.take_garbage();
    let Some(deadline) = next else {
        let elapsed = state.now - sim.base;
        let tasks = state.tasks.len();
        let cause = match (state.unreachable, state.unreachable_advances) {
            (0, 0) => "it waits on something that is not a Sim timer".to_owned(),
            (n, 0) => format!(
                "it waits on {n} Sim sleep(s) whose deadline lies past what an Instant can \
                 hold: they never fire"
            ),
            (0, m) => format!(
                "it waits on {m} advance(s) whose end lies past what an Instant can hold: \
                 they never complete"
            ),
            (n, m) => format!(
                "it waits on {n} Sim sleep(s) and {m} advance(s) whose end lies past what an \
                 Instant can hold: they never complete"
            ),
        };
        drop(state);
        drop(garbage);
        let network = super::net::waits(sim);
        let cause = match network.is_empty() {
            true => cause,
            false => format!("it waits on the network: {network}"),
        };
        report::seed_named();
        panic!(
            "{DEADLOCK} ({cause}); virtual time elapsed: {elapsed:?}, spawned tasks pending: \
             {tasks}, {}",
            Replay(sim.seed)
        );
    };
    sim.set_now(&mut state, deadline);
    for timer in seqs.into_iter().flatten() {
        state.record(sim.base, Event::TimerFired { timer });
    }
    drop(state);
    drop(garbage);
    for waker in fired.drain(..) {
        waker.wake();
    }
}
