//! The one fan-out engine: items become due, their work runs, and each
//! comes back, [`Finished`], in completion order.
//!
//! An [`Engine`] is a [`Due`] source (when items are due) and a [`Work`]
//! (where their work runs). Every fan-out in the crate is one of these:
//!
//! | fan-out | due | work |
//! |---|---|---|
//! | [`staggered`](crate::staggered) | [`Waiters`]: a timer per item | inline |
//! | [`task_staggered`](crate::task_staggered) | [`Waiters`] | spawned |
//! | [`as_completed`](crate::as_completed), [`wait_n`](crate::wait_n) | [`Waiters`] | inline, none |
//! | [`task_wait_n`](crate::task_wait_n) | [`Now`] | spawned: the waiter itself |
//! | [`schedule::run`](crate::schedule::run) | one timer over a schedule | spawned |

use core::future::Future;
use core::task::{Context, Poll};
use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use futures::stream::{FuturesUnordered, StreamExt};
use rand::Rng;
use rand::distr::Distribution;

use crate::sleeper::Sleeper;
use crate::waiter::Waiter;
use crate::work::Work;

/// An item whose work finished: its position, its delay, what its work
/// returned. What the engine yields; each fan-out makes its own public item
/// of it ([`Done`](crate::Done), [`Completed`](crate::schedule::Completed),
/// a delay).
pub(crate) struct Finished<T> {
    pub(crate) index: usize,
    pub(crate) delay: Duration,
    pub(crate) output: T,
}

/// An item that is due: its position, its delay, the item itself, and
/// whether a cap on work in flight held it back ([`Capped`]).
pub(crate) struct Entry<I> {
    pub(crate) index: usize,
    pub(crate) delay: Duration,
    pub(crate) item: I,
    pub(crate) held: bool,
}

/// A source of due items.
pub(crate) trait Due {
    type Item;

    /// The next item that is due; `None` once every item was.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Entry<Self::Item>>>;

    /// The next item that may start with `in_flight` items working: a
    /// [`Capped`] source holds items back at its cap; the others ignore it.
    fn poll_due_within(
        &mut self,
        cx: &mut Context<'_>,
        in_flight: usize,
    ) -> Poll<Option<Entry<Self::Item>>> {
        let _ = in_flight;
        self.poll_due(cx)
    }

    /// How many items are still to come, as `Iterator::size_hint` says:
    /// a schedule may be endless.
    fn size_hint(&self) -> (usize, Option<usize>);

    /// Whether every item has come.
    fn is_done(&self) -> bool {
        self.size_hint().1 == Some(0)
    }

    /// Drops every item still to come.
    fn clear(&mut self);
}

/// Makes each due item's work: any `FnMut(Item) -> Future`, or a named
/// type where a stream must name it.
pub(crate) trait MakeWork<Item> {
    type Work: Future;

    fn make(&mut self, item: Item) -> Self::Work;

    /// Makes the work of an item a cap on work in flight held back, now
    /// that a slot is free: [`make`](MakeWork::make) unless the work notes
    /// when it was let go.
    fn make_held(&mut self, item: Item) -> Self::Work {
        self.make(item)
    }
}

impl<F, Item, Fut> MakeWork<Item> for F
where
    F: FnMut(Item) -> Fut,
    Fut: Future,
{
    type Work = Fut;

    fn make(&mut self, item: Item) -> Fut {
        self(item)
    }
}

// ===== the engine =====

/// A due source, the closure that makes each item's work, and where the
/// work runs.
pub(crate) struct Engine<D, F, W> {
    due: D,
    f: F,
    work: W,
}

impl<D, F, W> Engine<D, F, W> {
    pub(crate) fn new(due: D, f: F, work: W) -> Self {
        Engine { due, f, work }
    }

    pub(crate) fn due(&self) -> &D {
        &self.due
    }

    pub(crate) fn due_mut(&mut self) -> &mut D {
        &mut self.due
    }

    pub(crate) fn work(&self) -> &W {
        &self.work
    }

    pub(crate) fn make_mut(&mut self) -> &mut F {
        &mut self.f
    }
}

impl<D, F, W> Engine<D, F, W>
where
    D: Due,
    F: MakeWork<D::Item>,
    W: Work<F::Work, (usize, Duration)>,
{
    /// Items not yet returned, still to come or working, as
    /// `Stream::size_hint` says; none once the work failed for good.
    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        if self.work.failed() {
            return (0, Some(0));
        }
        let (low, high) = self.due.size_hint();
        let working = self.work.len();
        (
            low.saturating_add(working),
            high.and_then(|high| high.checked_add(working)),
        )
    }

    /// Whether every item has been returned.
    pub(crate) fn is_done(&self) -> bool {
        self.work.failed() || (self.due.is_done() && self.work.len() == 0)
    }

    /// Returns the next item whose work finished.
    ///
    /// Due items start their work first (work that finishes at its first
    /// poll returns at once), so that a burst of completions never holds
    /// up items that are due; then the work started earlier is polled. At
    /// most [`BUDGET`] items start per call: a source that keeps items due
    /// faster than their work starts (a schedule far above what can be
    /// served) cannot keep the poller from returning.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `f` or of inline work (the engine stays usable), or
    /// of spawned work (the engine is finished: nothing more starts).
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Finished<<F::Work as Future>::Output>>> {
        if self.work.failed() {
            self.due.clear();
            return Poll::Ready(None);
        }
        let mut started = 0;
        while started < BUDGET {
            let Poll::Ready(Some(entry)) = self.due.poll_due_within(cx, self.work.len()) else {
                break;
            };
            let work = if entry.held {
                self.f.make_held(entry.item)
            } else {
                self.f.make(entry.item)
            };
            let tag = (entry.index, entry.delay);
            match self.work.start(tag, work, cx) {
                Some(done) => return Poll::Ready(Some(finished(done))),
                None => started += 1,
            }
        }
        if let Poll::Ready(Some(done)) = self.work.poll_done(cx) {
            return Poll::Ready(Some(finished(done)));
        }
        if started == BUDGET {
            // More may be due: come back after the others had their turn.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.is_done() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

/// Implements `Stream` and `FusedStream` for a public stream type over an
/// [`Engine`] in its `engine` field: items are the engine's [`Finished`]s passed
/// through `map`, the size hint and termination are the engine's.
macro_rules! engine_stream {
    (impl<$($param:ident),*> $ty:ty => $item:ty, map $map:path; where $($bounds:tt)*) => {
        impl<$($param),*> futures::stream::Stream for $ty
        where
            $($bounds)*
        {
            type Item = $item;

            fn poll_next(
                self: core::pin::Pin<&mut Self>,
                cx: &mut core::task::Context<'_>,
            ) -> core::task::Poll<Option<Self::Item>> {
                self.get_mut().engine.poll_next(cx).map(|done| done.map($map))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.engine.size_hint()
            }
        }

        impl<$($param),*> futures::stream::FusedStream for $ty
        where
            $($bounds)*
        {
            fn is_terminated(&self) -> bool {
                self.engine.is_done()
            }
        }
    };
}
pub(crate) use engine_stream;

/// How many items one call of [`Engine::poll_next`] starts at most.
const BUDGET: usize = 256;

fn finished<T>(((index, delay), output): ((usize, Duration), T)) -> Finished<T> {
    Finished {
        index,
        delay,
        output,
    }
}

// ===== due sources =====

/// A timer per item, from one start: item `i` is due at `start + delay_i`.
/// Items with a zero delay are due at once, without a timer.
pub(crate) struct Waiters<Sl, I> {
    start: Instant,
    timers: FuturesUnordered<Waiter<Sl, Entry<I>>>,
    /// Items with a zero delay, in order.
    now: VecDeque<Entry<I>>,
}

impl<Sl, I> Waiters<Sl, I> {
    /// The one start every delay counts from.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Reads the one start from the sleeper's clock, draws a delay for each
    /// of `items` from `distribution` with `rng`, in item order, and creates
    /// every timer: what every staggered fan-out does when it is called.
    pub(crate) fn drawn<S, R, D>(
        sleeper: &S,
        rng: &mut R,
        distribution: &D,
        items: impl IntoIterator<Item = I>,
        function: &str,
    ) -> Self
    where
        S: Sleeper<Sleep = Sl> + ?Sized,
        R: Rng + ?Sized,
        D: Distribution<Duration>,
    {
        let start = sleeper.now();
        let entries = items
            .into_iter()
            .map(|item| (distribution.sample(rng), item));
        Waiters::new(sleeper, start, entries, function)
    }

    /// Creates every item's timer now: `entries` gives each item's delay,
    /// in item order.
    ///
    /// # Panics
    ///
    /// Panics at once, naming the public `function` called, if `entries`
    /// says it holds more waiters than memory can: failing fast beats
    /// growing until the allocator gives up.
    pub(crate) fn new<S>(
        sleeper: &S,
        start: Instant,
        entries: impl Iterator<Item = (Duration, I)>,
        function: &str,
    ) -> Self
    where
        S: Sleeper<Sleep = Sl> + ?Sized,
    {
        let (at_least, _) = entries.size_hint();
        let mut timed = reserved(at_least, function);
        let mut waiters = Waiters {
            start,
            timers: FuturesUnordered::new(),
            now: VecDeque::new(),
        };
        for (index, (delay, item)) in entries.enumerate() {
            let entry = Entry {
                index,
                delay,
                item,
                held: false,
            };
            if delay.is_zero() {
                waiters.now.push_back(entry);
            } else {
                timed.push(entry);
            }
        }
        // Made in deadline order, the timers sit in memory in the order they
        // fire: waking, polling and freeing them walks memory instead of
        // jumping about it (2x faster on tokio and Sim at a million items;
        // wait_n's entries come sorted, which the sort sees in one pass).
        // Only memory order depends on it: the timers decide when items are
        // due, and ties keep item order either way.
        timed.sort_unstable_by_key(|entry| (entry.delay, entry.index));
        for entry in timed {
            waiters
                .timers
                .push(Waiter::new(sleeper, start, entry.delay, entry));
        }
        waiters
    }
}

impl<Sl: Future<Output = ()>, I> Due for Waiters<Sl, I> {
    type Item = I;

    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Entry<I>>> {
        if let Some(entry) = self.now.pop_front() {
            return Poll::Ready(Some(entry));
        }
        if self.timers.is_empty() {
            return Poll::Ready(None);
        }
        self.timers.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.now.len() + self.timers.len();
        (len, Some(len))
    }

    fn clear(&mut self) {
        self.now = VecDeque::new();
        // In place: a new `FuturesUnordered` allocates, and a failed engine
        // clears at every poll.
        self.timers.clear();
    }
}

/// Every item due at once, taken lazily from an iterator, with a zero
/// delay.
pub(crate) struct Now<It> {
    items: It,
    next: usize,
}

impl<It> Now<It> {
    pub(crate) fn new(items: It) -> Self {
        Now { items, next: 0 }
    }
}

impl<It: ExactSizeIterator> Due for Now<It> {
    type Item = It::Item;

    fn poll_due(&mut self, _: &mut Context<'_>) -> Poll<Option<Entry<It::Item>>> {
        let item = self.items.next();
        let index = self.next;
        self.next += 1;
        Poll::Ready(item.map(|item| Entry {
            index,
            delay: Duration::ZERO,
            item,
            held: false,
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.items.len();
        (len, Some(len))
    }

    fn clear(&mut self) {
        for _ in self.items.by_ref() {}
    }
}

/// A due source under a cap on work in flight: below the cap, items pass
/// through (those held back first, in order); at the cap, the items that
/// come due are still taken from the source as they come (so a tick's
/// `fired` instant is when it came due) and held, in order, until a slot
/// frees. Holds one entry per held item: memory grows with the rate times
/// how long the work stays at the cap.
pub(crate) struct Capped<D, I> {
    due: D,
    limit: usize,
    held: VecDeque<Entry<I>>,
    held_total: u64,
}

impl<D, I> Capped<D, I> {
    /// No cap: every item passes through as it comes due.
    pub(crate) fn new(due: D) -> Self {
        Capped {
            due,
            limit: usize::MAX,
            held: VecDeque::new(),
            held_total: 0,
        }
    }

    pub(crate) fn inner(&self) -> &D {
        &self.due
    }

    pub(crate) fn inner_mut(&mut self) -> &mut D {
        &mut self.due
    }

    /// At most `limit` items working at once; 0 is taken as 1.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        (self.limit != usize::MAX).then_some(self.limit)
    }

    /// How many items the cap has held back so far.
    pub(crate) fn held_total(&self) -> u64 {
        self.held_total
    }

    /// How many items are held back now.
    pub(crate) fn held_now(&self) -> usize {
        self.held.len()
    }
}

impl<D: Due<Item = I>, I> Due for Capped<D, I> {
    type Item = I;

    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Entry<I>>> {
        self.poll_due_within(cx, 0)
    }

    fn poll_due_within(
        &mut self,
        cx: &mut Context<'_>,
        in_flight: usize,
    ) -> Poll<Option<Entry<I>>> {
        if in_flight < self.limit {
            if let Some(entry) = self.held.pop_front() {
                return Poll::Ready(Some(entry));
            }
            return self.due.poll_due(cx);
        }
        // At the cap: take what is due now, so it is stamped when it came
        // due, and hold it. At most `BUDGET` a call, as the engine starts.
        for _ in 0..BUDGET {
            match self.due.poll_due(cx) {
                Poll::Ready(Some(mut entry)) => {
                    entry.held = true;
                    self.held.push_back(entry);
                    self.held_total += 1;
                }
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.due.size_hint();
        let held = self.held.len();
        (
            low.saturating_add(held),
            high.and_then(|high| high.checked_add(held)),
        )
    }

    fn is_done(&self) -> bool {
        self.held.is_empty() && self.due.is_done()
    }

    fn clear(&mut self) {
        self.held = VecDeque::new();
        self.due.clear();
    }
}

/// An empty `Vec` with room for `n` elements, allocated now.
///
/// # Panics
///
/// Panics with stagger's own message, naming the public `function` called
/// and `n`, if the room cannot be allocated: a size too large for the
/// address space, or for what the allocator will give. Plain
/// `Vec::with_capacity` would abort the process there (or panic with std's
/// bare "capacity overflow"), where the `# Panics` sections promise a
/// panic.
pub(crate) fn reserved<T>(n: usize, function: &str) -> Vec<T> {
    let mut vec = Vec::new();
    if vec.try_reserve_exact(n).is_err() {
        panic!(
            "stagger::{function}: {n} items cannot fit in memory ({} bytes each)",
            size_of::<T>()
        );
    }
    vec
}
