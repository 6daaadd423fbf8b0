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

/// An item that is due: its position, its delay, the item itself.
pub(crate) struct Entry<I> {
    pub(crate) index: usize,
    pub(crate) delay: Duration,
    pub(crate) item: I,
}

/// A source of due items.
pub(crate) trait Due {
    type Item;

    /// The next item that is due; `None` once every item was.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Entry<Self::Item>>>;

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
            let Poll::Ready(Some(entry)) = self.due.poll_due(cx) else {
                break;
            };
            let work = self.f.make(entry.item);
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
            let entry = Entry { index, delay, item };
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
