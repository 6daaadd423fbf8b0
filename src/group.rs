//! A group of spawned tasks whose outputs come back in completion order: the
//! engine of every spawned fan-out ([`task_staggered`](crate::task_staggered),
//! [`task_wait_n`](crate::task_wait_n), [`schedule::run`](crate::schedule::run)).
//!
//! A [`JoinHandle`](crate::JoinHandle) per task costs a shared slot per task
//! (an allocation, and a cache miss on every join) plus a node in whatever
//! collection awaits the handles. A group has one slot for all its members,
//! like tokio's `JoinSet`: each member, when it finishes, pushes its output
//! onto one shared queue and wakes the group's one waiter. The waiter takes
//! the whole queue at once, so a burst of completions costs it one lock.
//!
//! The semantics are those of a collection of `JoinHandle`s awaited
//! together: dropping the group cancels every unfinished member, and a panic
//! in a member (in its poll or in its future's destructor) cancels the
//! others and resumes in whoever polls the group; after that the group is
//! finished.
//!
//! Members can join while the group runs: a slot, indexing the member's
//! waker and its runtime handle, is reused once the member's output has been
//! taken.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::PoisonError;

use pin_project_lite::pin_project;

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::spawn::Spawn;
use crate::task::{self, Panic, drop_catching, poll_task, register};

/// What the group does with its members' outputs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Queue them, and wake the waiter as soon as one is ready.
    Stream,
    /// Drop them, and wake the waiter only when no member runs, or when
    /// [`FREE_BATCH`] members finished since it last looked (to free their
    /// tasks): for a caller that needs to know only when everything
    /// finished. It saves a thread wake-up per member on multi-threaded
    /// executors, where waking the waiter for each would only make it see
    /// members still running and sleep again.
    Count,
}

/// Awaits the members of a group; see the [module documentation](self).
pub(crate) struct Group<T, K> {
    shared: Arc<Shared<T>>,
    /// The runtime's handles to the members, by slot; each is dropped here
    /// once its member's output is taken (in [`Mode::Count`], once the
    /// waiter sees its member finished), so that the member is freed on
    /// this thread (see [`Spawn::RawTask`]).
    raw: Vec<Option<K>>,
    /// By slot, the wakers an executor gave for its members when it queued
    /// them (see [`task::spawning`]): woken when the group is dropped, to
    /// cancel members that registered no waker yet. Empty on executors that
    /// give none.
    early: Vec<Option<Waker>>,
    /// Slots free for new members.
    free: Vec<usize>,
    /// Outputs taken from the shared queue and not yet returned.
    ready: VecDeque<(usize, T)>,
    /// In [`Mode::Count`], the slots of finished members taken from the
    /// shared list, whose handles to free; empty between polls, and swapped
    /// with the shared list so that neither allocates after the first
    /// batch.
    done: Vec<usize>,
    /// Members spawned whose outputs have not been returned.
    live: usize,
    /// What is left of the running count reserved for members not yet
    /// spawned.
    reserved: usize,
    /// Set once a member's panic was resumed, or a member was lost: the
    /// group is finished.
    failed: bool,
}

// The raw handles and outputs are never pinned.
impl<T, K> Unpin for Group<T, K> {}

/// The group's shared slot. Members poll and lock it from worker threads
/// while the spawner is still cloning the `Arc`: the padding keeps the
/// reference counts off the cache line the lock and flag live on.
struct Shared<T>(Padded<T>);

#[repr(align(128))]
struct Padded<T> {
    /// Set, under the lock, when the group is dropped or a member panicked;
    /// read without it before every poll.
    cancelled: AtomicBool,
    /// Members spawned and not yet finished, plus what the spawner reserved
    /// for members to come: raised by the spawner without the lock (a batch
    /// at a time), lowered by members under it, read by the waiter under it
    /// once it gave back the unused reservation.
    running: AtomicUsize,
    state: Mutex<State<T>>,
}

struct State<T> {
    mode: Mode,
    /// Outputs of finished members with their slots, in completion order.
    outputs: VecDeque<(usize, T)>,
    /// In [`Mode::Count`], the slots of members finished since the waiter
    /// last looked, whose runtime handles it frees.
    done: Vec<usize>,
    /// Each member's waker, by slot, while it is pending: woken to cancel
    /// it. Empty until a member waits: members that finish at their first
    /// poll never touch it.
    wakers: Vec<Option<Waker>>,
    /// How many slots to size `wakers` for when it is first needed.
    capacity: usize,
    /// The first panic of a member.
    panic: Option<Panic>,
    /// Members dropped unfinished by their runtime.
    lost: usize,
    /// The task awaiting the group.
    waiter: Option<Waker>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every update is consistent on its own; a poisoned lock is usable.
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// Members spawned and not yet finished; exact under the lock.
    fn running(&self) -> usize {
        self.0.running.load(Ordering::Acquire)
    }

    /// Marks the group cancelled and returns the members' wakers, to wake
    /// so that they drop their futures.
    fn cancel(&self, state: &mut State<T>) -> Vec<Waker> {
        self.0.cancelled.store(true, Ordering::Release);
        state.wakers.iter_mut().filter_map(Option::take).collect()
    }

    /// Reports that the member in `slot` finished: with its output, without
    /// one, or with a panic (which cancels the group); `lost` if its runtime
    /// dropped it unfinished. Wakes whom that concerns, outside the lock.
    fn report(&self, slot: usize, outcome: Result<Option<T>, Panic>, lost: bool) {
        let mut state = self.lock();
        state.lost += usize::from(lost);
        let (output, mut wake) = match outcome {
            Ok(output) => (output, Vec::new()),
            Err(payload) => (None, state.fail(self, payload)),
        };
        wake.extend(state.finish(self, slot, output));
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl<T> State<T> {
    /// Records, under the lock, that the member in `slot` finished, with its
    /// output if it has one; returns the waiter if it should be woken.
    fn finish(&mut self, shared: &Shared<T>, slot: usize, output: Option<T>) -> Option<Waker> {
        if let Some(waker) = self.wakers.get_mut(slot) {
            *waker = None;
        }
        let running = shared.0.running.fetch_sub(1, Ordering::AcqRel) - 1;
        let ready = match (self.mode, output) {
            (Mode::Stream, Some(output)) => {
                self.outputs.push_back((slot, output));
                true
            }
            (Mode::Stream, None) => false,
            // The waiter frees finished members' tasks a batch at a time as
            // they finish, rather than all of them after the last one: that
            // would delay its return by the time to free them all (about
            // 4 ms at 100 000 members).
            (Mode::Count, _) => {
                self.done.push(slot);
                self.done.len() >= FREE_BATCH
            }
        };
        if ready || running == 0 {
            self.waiter.take()
        } else {
            None
        }
    }

    /// Records a member's panic (the first one wins) and cancels the group;
    /// returns the wakers of the other members and of the waiter.
    fn fail(&mut self, shared: &Shared<T>, payload: Panic) -> Vec<Waker> {
        self.panic.get_or_insert(payload);
        let mut wake = shared.cancel(self);
        wake.extend(self.waiter.take());
        wake
    }
}

impl<T, K> Group<T, K> {
    /// An empty group expecting about `capacity` members.
    pub(crate) fn new(capacity: usize, mode: Mode) -> Self {
        Group {
            shared: Arc::new(Shared(Padded {
                cancelled: AtomicBool::new(false),
                running: AtomicUsize::new(0),
                state: Mutex::new(State {
                    mode,
                    outputs: VecDeque::new(),
                    done: Vec::new(),
                    wakers: Vec::new(),
                    capacity,
                    panic: None,
                    lost: 0,
                    waiter: None,
                }),
            })),
            raw: Vec::with_capacity(capacity),
            early: Vec::new(),
            free: Vec::new(),
            ready: VecDeque::new(),
            done: Vec::new(),
            live: 0,
            reserved: 0,
            failed: false,
        }
    }

    /// Members spawned whose outputs have not been returned yet.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Whether a member panicked or was lost: the group is finished.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// Spawns `future` on `spawner` as a member.
    ///
    /// # Panics
    ///
    /// Panics where `spawner` does; the group stays consistent then (the
    /// member counts as never spawned).
    pub(crate) fn spawn<S, F>(&mut self, spawner: &S, future: F)
    where
        S: Spawn<RawTask = K> + ?Sized,
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let slot = self.free.pop().unwrap_or(self.raw.len());
        // Counted running before it can finish: from a reservation taken a
        // batch at a time, not an atomic add per member on the line the
        // members decrement (a reservation counts as running until
        // `poll_next` gives back what is left).
        if self.reserved == 0 {
            self.shared.0.running.fetch_add(RESERVE, Ordering::Relaxed);
            self.reserved = RESERVE;
        }
        // The member's unit is its own from here: it gives it back when it
        // finishes, or when it is dropped unspawned.
        self.reserved -= 1;
        let member = Member {
            future: Some(future),
            shared: Arc::clone(&self.shared),
            slot,
        };
        let spawn = || task::spawning(|| spawner.spawn_raw(member));
        let (raw, early) = match catch_unwind(AssertUnwindSafe(spawn)) {
            Ok(spawned) => spawned,
            Err(payload) => {
                // The spawn failed, and dropped the member as if its runtime
                // had lost it: it was never running, so nothing was lost.
                let mut state = self.shared.lock();
                state.lost = state.lost.saturating_sub(1);
                drop(state);
                // Its slot, if it was a free one, is free again.
                if slot < self.raw.len() {
                    self.free.push(slot);
                }
                resume_unwind(payload);
            }
        };
        match self.raw.get_mut(slot) {
            Some(entry) => *entry = Some(raw),
            None => self.raw.push(Some(raw)),
        }
        if early.is_some() || !self.early.is_empty() {
            match self.early.get_mut(slot) {
                Some(entry) => *entry = early,
                None => {
                    self.early.resize(slot, None);
                    self.early.push(early);
                }
            }
        }
        self.live += 1;
    }

    /// Returns the next output in completion order, `None` once no member
    /// runs (more may join later).
    ///
    /// # Panics
    ///
    /// Resumes the first member's panic, once the outputs of the members that
    /// finished before it are taken; panics if the runtime dropped a member
    /// unfinished. The group is finished afterwards.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(output) = self.pop_ready() {
            return Poll::Ready(Some(output));
        }
        if self.failed {
            return Poll::Ready(None);
        }
        let mut state = self.shared.lock();
        if self.reserved > 0 {
            // Under the lock, as the members' decrements are.
            self.shared
                .0
                .running
                .fetch_sub(self.reserved, Ordering::AcqRel);
            self.reserved = 0;
        }
        // What members finished with before a panic comes first, whatever
        // the batching: the panic follows once they are taken.
        if !state.outputs.is_empty() {
            core::mem::swap(&mut state.outputs, &mut self.ready);
            drop(state);
            return Poll::Ready(self.pop_ready());
        }
        if let Some(payload) = state.panic.take() {
            drop(state);
            self.fail();
            resume_unwind(payload);
        }
        // Empty both ways in Mode::Stream, and `self.done` is empty here.
        core::mem::swap(&mut state.done, &mut self.done);
        if self.shared.running() > 0 {
            register(&mut state.waiter, cx);
            drop(state);
            self.free_done();
            return Poll::Pending;
        }
        let lost = state.lost > 0;
        drop(state);
        self.done.clear();
        // Every member finished: free them all here, on this thread, each
        // member's waker with its handle (they may share its allocation).
        let mut early = self.early.drain(..);
        for raw in self.raw.drain(..) {
            drop((early.next(), raw));
        }
        drop(early);
        self.free.clear();
        self.live = 0;
        if lost {
            self.fail();
            panic!("a stagger task was cancelled before it finished: its runtime dropped it");
        }
        Poll::Ready(None)
    }

    /// Pops a taken output and frees its member's slot.
    fn pop_ready(&mut self) -> Option<T> {
        let (slot, output) = self.ready.pop_front()?;
        if let Some(raw) = self.raw.get_mut(slot) {
            *raw = None;
        }
        if let Some(early) = self.early.get_mut(slot) {
            *early = None;
        }
        self.free.push(slot);
        self.live -= 1;
        Some(output)
    }

    /// Frees the tasks of the finished members in `self.done`, each
    /// member's waker with its handle (they may share its allocation). Their
    /// slots are not reused: in [`Mode::Count`] every member is spawned
    /// before any is awaited.
    fn free_done(&mut self) {
        for slot in self.done.drain(..) {
            let early = self.early.get_mut(slot).and_then(Option::take);
            let raw = self.raw.get_mut(slot).and_then(Option::take);
            drop((early, raw));
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.live = 0;
        self.ready.clear();
    }
}

impl<T, K> Drop for Group<T, K> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        let (wakers, early) = match self.shared.running() {
            0 => (Vec::new(), Vec::new()),
            _ => (
                self.shared.cancel(&mut state),
                core::mem::take(&mut self.early),
            ),
        };
        drop(state);
        wakers.into_iter().for_each(task::cancel);
        // Members never polled registered no waker: those whose executor
        // gave one when it queued them are woken through it.
        early.into_iter().flatten().for_each(task::cancel);
    }
}

/// In [`Mode::Count`], how many members finish between two wake-ups of the
/// waiter to free their tasks: few enough that freeing what is left after
/// the last one is quick (tens of microseconds), enough that the wake-ups
/// cost nothing next to the members.
#[cfg(not(loom))]
const FREE_BATCH: usize = 1024;
/// Under loom, two, so that the models free a batch before the end.
#[cfg(loom)]
const FREE_BATCH: usize = 2;

/// How many members a reservation counts running at once.
#[cfg(not(loom))]
const RESERVE: usize = 1024;
/// Under loom, two: the models then cross a batch boundary with three
/// members (as tokio shrinks its queues under loom).
#[cfg(loom)]
const RESERVE: usize = 2;

// ===== members =====

pin_project! {
    /// One member task, as its runtime runs it.
    struct Member<F: Future> {
        // `None` once finished or cancelled: dropped at that moment.
        #[pin]
        future: Option<F>,
        shared: Arc<Shared<F::Output>>,
        slot: usize,
    }

    impl<F: Future> PinnedDrop for Member<F> {
        fn drop(this: Pin<&mut Self>) {
            if this.future.is_some() {
                // The runtime dropped an unfinished member (it shut down).
                this.abandon(true);
            }
        }
    }
}

impl<F: Future> Member<F> {
    /// Drops the unfinished future (and its timers), then reports the
    /// member finished without output; `lost` if its runtime dropped it
    /// rather than the group cancelling it. A panic in the future's
    /// destructor is reported like one in its poll.
    fn abandon(self: Pin<&mut Self>, lost: bool) {
        let this = self.project();
        let dropped = drop_catching(this.future);
        this.shared.report(*this.slot, dropped.map(|()| None), lost);
    }
}

impl<F: Future> Future for Member<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.future.is_some() && self.shared.is_cancelled() {
            self.abandon(false);
            return Poll::Ready(());
        }
        let this = self.as_mut().project();
        if this.future.is_none() {
            return Poll::Ready(());
        }
        let outcome = match poll_task(this.future, cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => {
                // Register for cancellation only now: a member that finishes
                // at its first poll never takes the lock twice.
                let mut state = this.shared.lock();
                if this.shared.is_cancelled() {
                    drop(state);
                    self.abandon(false);
                    return Poll::Ready(());
                }
                let slot = *this.slot;
                if state.wakers.len() <= slot {
                    // Sized once for the expected members: growing by
                    // doubling would hold two copies at the peak.
                    let len = (slot + 1).max(state.capacity);
                    state.wakers.resize(len, None);
                }
                register(&mut state.wakers[slot], cx);
                return Poll::Pending;
            }
        };
        this.shared.report(*this.slot, outcome.map(Some), false);
        Poll::Ready(())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::cell::{Cell, RefCell};

    use futures::future::BoxFuture;
    use futures::task::noop_waker_ref;

    use super::*;
    use crate::Spawn;

    /// Keeps the tasks it is given, to poll by hand; panics while `fail`.
    /// Counts the handles it gave that were dropped in `freed`.
    #[derive(Default)]
    struct Kept {
        tasks: RefCell<Vec<BoxFuture<'static, ()>>>,
        fail: Cell<bool>,
        freed: Arc<AtomicUsize>,
    }

    /// [`Kept`]'s handle to a task: counts itself freed when dropped.
    struct Handle(Arc<AtomicUsize>);

    impl Drop for Handle {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl Spawn for Kept {
        type RawTask = Handle;

        fn spawn_raw<F: Future<Output = ()> + Send + 'static>(&self, task: F) -> Handle {
            assert!(!self.fail.get(), "the runtime refuses");
            self.tasks.borrow_mut().push(Box::pin(task));
            Handle(Arc::clone(&self.freed))
        }
    }

    #[test]
    fn a_failed_spawn_gives_its_free_slot_back() {
        let kept = Kept::default();
        let mut group = Group::<usize, Handle>::new(2, Mode::Stream);
        group.spawn(&kept, async { 0 });
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(kept.tasks.borrow_mut()[0].as_mut().poll(&mut cx).is_ready());
        assert_eq!(group.poll_next(&mut cx), Poll::Ready(Some(0)));
        assert_eq!(group.free, [0]);

        kept.fail.set(true);
        let spawn = catch_unwind(AssertUnwindSafe(|| group.spawn(&kept, async { 1 })));
        assert!(spawn.is_err());
        assert_eq!(group.free, [0], "the slot the failed spawn took");
        kept.fail.set(false);
        group.spawn(&kept, async { 2 });
        assert!(group.free.is_empty());
        assert_eq!(group.raw.len(), 1);
    }

    #[test]
    fn counted_members_are_freed_a_batch_at_a_time_as_they_finish() {
        let kept = Kept::default();
        let mut group = Group::<(), Handle>::new(FREE_BATCH + 1, Mode::Count);
        for _ in 0..=FREE_BATCH {
            group.spawn(&kept, async {});
        }
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(group.poll_next(&mut cx).is_pending());
        // All members but the last finish: their handles are freed at the
        // group's next poll, not only once the last one finishes.
        for task in &mut kept.tasks.borrow_mut()[..FREE_BATCH] {
            assert!(task.as_mut().poll(&mut cx).is_ready());
        }
        assert_eq!(kept.freed.load(Ordering::Relaxed), 0);
        assert!(group.poll_next(&mut cx).is_pending());
        assert_eq!(kept.freed.load(Ordering::Relaxed), FREE_BATCH);
        assert!(
            kept.tasks.borrow_mut()[FREE_BATCH]
                .as_mut()
                .poll(&mut cx)
                .is_ready()
        );
        assert_eq!(group.poll_next(&mut cx), Poll::Ready(None));
        assert_eq!(kept.freed.load(Ordering::Relaxed), FREE_BATCH + 1);
    }
}
