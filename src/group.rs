//! A group of spawned tasks collected as one: the engine of `task_wait_n`.
//!
//! A [`JoinHandle`](crate::JoinHandle) per task costs a shared slot per task
//! (an allocation, and a cache miss on every join) plus a node in whatever
//! collection awaits the handles. A group has one slot for all its members,
//! like tokio's `JoinSet`: each member, when it finishes, pushes its output
//! into one shared `Vec` and wakes the group's one waiter.
//!
//! The semantics are those of a `Vec<JoinHandle<T>>` awaited together:
//! dropping the group cancels every unfinished member, and a panic in a
//! member cancels the others and resumes in whoever awaits the group.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pin_project_lite::pin_project;

use crate::spawn::Spawn;
use crate::task::{Panic, cancelling, drop_catching, poll_catching, register};

/// Spawns every future of `futures` on `spawner` as one group, and returns
/// the future that collects their outputs, in completion order.
pub(crate) fn spawn_group<S, I>(
    spawner: &S,
    futures: I,
) -> Group<<I::Item as Future>::Output, S::RawTask>
where
    S: Spawn + ?Sized,
    I: ExactSizeIterator,
    I::Item: Future + Send + 'static,
    <I::Item as Future>::Output: Send + 'static,
{
    let n = futures.len();
    let mut group = Group {
        raw: Vec::with_capacity(n),
        shared: Arc::new(Shared(Padded {
            cancelled: AtomicBool::new(false),
            state: Mutex::new(State {
                outputs: Vec::with_capacity(n),
                wakers: Vec::new(),
                members: n,
                running: n,
                panic: None,
                lost: false,
                waiter: None,
            }),
        })),
    };
    // If a spawn panics, dropping `group` cancels the members already
    // spawned.
    for (index, future) in futures.take(n).enumerate() {
        let raw = spawner.spawn_raw(Member {
            future: Some(future),
            shared: Arc::clone(&group.shared),
            index,
        });
        group.raw.push(raw);
    }
    // An iterator shorter than it claimed: forget the missing members.
    group.shared.lock().running -= n - group.raw.len();
    group
}

/// The group's slot. Members poll and lock it from worker threads while
/// the spawner is still cloning the `Arc`: the padding keeps the reference
/// counts off the cache line the lock and flag live on.
struct Shared<T>(Padded<T>);

#[repr(align(128))]
struct Padded<T> {
    /// Set, under the lock, when the group is dropped or a member panicked;
    /// read without it before every poll.
    cancelled: AtomicBool,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Outputs of finished members, in completion order.
    outputs: Vec<T>,
    /// Each member's waker, while it is pending: woken to cancel it. Empty
    /// until a member waits: members that finish at their first poll never
    /// touch it.
    wakers: Vec<Option<Waker>>,
    /// How many members the group has.
    members: usize,
    /// Members not yet finished.
    running: usize,
    /// The first panic of a member.
    panic: Option<Panic>,
    /// A member was dropped unfinished by its runtime.
    lost: bool,
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

    /// Marks the group cancelled and returns the members' wakers, to wake
    /// so that they drop their futures.
    fn cancel(&self, state: &mut State<T>) -> Vec<Waker> {
        self.0.cancelled.store(true, Ordering::Release);
        state.wakers.iter_mut().filter_map(Option::take).collect()
    }
}

impl<T> State<T> {
    /// Records that a member finished; returns the waiter to wake once the
    /// last one has. Waking it earlier would only make it poll, see members
    /// still running and sleep again: a thread wake-up per member on
    /// multi-threaded executors.
    fn finish(&mut self, index: usize) -> Option<Waker> {
        if let Some(waker) = self.wakers.get_mut(index) {
            *waker = None;
        }
        self.running -= 1;
        if self.running == 0 {
            self.waiter.take()
        } else {
            None
        }
    }
}

// ===== members =====

pin_project! {
    /// One member task, as its runtime runs it.
    struct Member<F: Future> {
        // `None` once finished or cancelled: dropped at that moment.
        #[pin]
        future: Option<F>,
        shared: Arc<Shared<F::Output>>,
        index: usize,
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
        let mut state = this.shared.lock();
        state.lost |= lost;
        let mut wake = match dropped {
            Ok(()) => Vec::new(),
            Err(payload) => {
                state.panic.get_or_insert(payload);
                let mut wake = this.shared.cancel(&mut state);
                wake.extend(state.waiter.take());
                wake
            }
        };
        wake.extend(state.finish(*this.index));
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl<F: Future> Future for Member<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.future.is_some() && self.shared.is_cancelled() {
            self.abandon(false);
            return Poll::Ready(());
        }
        let mut this = self.as_mut().project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        let outcome = match poll_catching(future, cx) {
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
                if state.wakers.is_empty() {
                    // Sized once: growing by doubling would hold two copies
                    // at the peak.
                    let members = state.members;
                    state.wakers.resize(members, None);
                }
                register(&mut state.wakers[*this.index], cx);
                return Poll::Pending;
            }
        };
        // Drop the future (and its timers) before reporting; a panic in its
        // destructor counts as the member's, unless its poll panicked first.
        let outcome = match (outcome, drop_catching(this.future)) {
            (Ok(output), Ok(())) => Ok(output),
            (Ok(_), Err(payload)) | (Err(payload), _) => Err(payload),
        };
        let mut state = this.shared.lock();
        let mut wake = match outcome {
            Ok(output) => {
                state.outputs.push(output);
                Vec::new()
            }
            Err(payload) => {
                state.panic.get_or_insert(payload);
                let mut wake = this.shared.cancel(&mut state);
                wake.extend(state.waiter.take());
                wake
            }
        };
        wake.extend(state.finish(*this.index));
        drop(state);
        wake.into_iter().for_each(Waker::wake);
        Poll::Ready(())
    }
}

// ===== the group =====

/// Awaits every member of a group; see [`spawn_group`].
///
/// # Panics
///
/// Resumes the first member's panic; panics if the runtime dropped a member
/// unfinished.
pub(crate) struct Group<T, K> {
    shared: Arc<Shared<T>>,
    /// The runtime's handles to the members, dropped here once they are
    /// done, so that the members are freed on this thread (see
    /// [`Spawn::RawTask`]).
    raw: Vec<K>,
}

// The raw handles are never pinned.
impl<T, K> Unpin for Group<T, K> {}

impl<T, K> Future for Group<T, K> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let mut state = self.shared.lock();
        if let Some(payload) = state.panic.take() {
            drop(state);
            resume_unwind(payload);
        }
        if state.running > 0 {
            register(&mut state.waiter, cx);
            return Poll::Pending;
        }
        if state.lost {
            drop(state);
            panic!("a stagger task was cancelled before it finished: its runtime dropped it");
        }
        let outputs = core::mem::take(&mut state.outputs);
        drop(state);
        self.raw = Vec::new();
        Poll::Ready(outputs)
    }
}

impl<T, K> Drop for Group<T, K> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.running == 0 {
            return;
        }
        let wakers = self.shared.cancel(&mut state);
        drop(state);
        let raw = core::mem::take(&mut self.raw);
        cancelling(|| {
            wakers.into_iter().for_each(Waker::wake);
            // Members never polled registered no waker: their runtime
            // handles tell an executor that can drop them at once.
            drop(raw);
        });
    }
}
