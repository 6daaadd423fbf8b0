//! Where the work of the fan-outs runs: inline, in the task that polls the
//! stream, or spawned, one task per item.
//!
//! Both take a work future when its item is due and give back its tag and
//! output in completion order; the streams in `staggered.rs` and `schedule/run.rs`
//! decide when items are due.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};
use pin_project_lite::pin_project;

use crate::group::{Group, Mode};
use crate::spawn::Spawn;

/// Where due work runs.
pub(crate) trait Work<Fut: Future, Tag> {
    /// Starts `work`, tagged `tag`; returns its output at once if it
    /// finished at its first poll.
    fn start(&mut self, tag: Tag, work: Fut, cx: &mut Context<'_>) -> Option<(Tag, Fut::Output)>;

    /// Polls the work started and not yet returned; `None` when there is
    /// none.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Tag, Fut::Output)>>;

    /// How many started items have not been returned.
    fn len(&self) -> usize;

    /// Whether the work failed for good (a spawned task panicked): no more
    /// may start.
    fn failed(&self) -> bool {
        false
    }
}

// ===== inline =====

/// Runs work in the polling task, on a `FuturesUnordered`.
///
/// Each work future is polled once as soon as it is created, in a reused
/// box: work that finishes at once (or no work at all, as in
/// [`wait_n`](crate::wait_n)) allocates nothing. Only work that waits moves,
/// box and all, into the `FuturesUnordered`.
pub(crate) struct Inline<Fut, Tag> {
    spare: Option<Pin<Box<Option<Fut>>>>,
    running: FuturesUnordered<Running<Fut, Tag>>,
}

impl<Fut, Tag> Inline<Fut, Tag> {
    pub(crate) fn new() -> Self {
        Inline {
            spare: None,
            running: FuturesUnordered::new(),
        }
    }
}

impl<Fut: Future, Tag> Work<Fut, Tag> for Inline<Fut, Tag> {
    fn start(&mut self, tag: Tag, work: Fut, cx: &mut Context<'_>) -> Option<(Tag, Fut::Output)> {
        // Out of `self` while polled: if the work panics, the box goes with
        // it and `self` stays consistent.
        let mut slot = self.spare.take().unwrap_or_else(|| Box::pin(None));
        slot.set(Some(work));
        let polled = slot.as_mut().as_pin_mut().map(|work| work.poll(cx));
        match polled {
            Some(Poll::Ready(output)) => {
                slot.set(None);
                self.spare = Some(slot);
                Some((tag, output))
            }
            _ => {
                self.running.push(Running {
                    slot: Some(slot),
                    tag: Some(tag),
                });
                None
            }
        }
    }

    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Tag, Fut::Output)>> {
        if self.running.is_empty() {
            // Nothing waits: skip registering the waker, a cost per item.
            // Work pushed later was polled with the waker already.
            return Poll::Ready(None);
        }
        match self.running.poll_next_unpin(cx) {
            Poll::Ready(Some((tag, output, slot))) => {
                if self.spare.is_none() {
                    self.spare = Some(slot);
                }
                Poll::Ready(Some((tag, output)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn len(&self) -> usize {
        self.running.len()
    }
}

/// A work future that waited: polled by the `FuturesUnordered`, it hands
/// its box back with its output, for the next item to reuse.
struct Running<Fut, Tag> {
    slot: Option<Pin<Box<Option<Fut>>>>,
    tag: Option<Tag>,
}

// The work is pinned in its box.
impl<Fut, Tag> Unpin for Running<Fut, Tag> {}

impl<Fut: Future, Tag> Future for Running<Fut, Tag> {
    type Output = (Tag, Fut::Output, Pin<Box<Option<Fut>>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let slot = self.slot.as_mut().expect("polled after it completed");
        let Some(work) = slot.as_mut().as_pin_mut() else {
            unreachable!("a Running slot holds its work until it completes");
        };
        let output = core::task::ready!(work.poll(cx));
        let mut slot = self.slot.take().expect("checked above");
        slot.set(None);
        let tag = self.tag.take().expect("taken only here");
        Poll::Ready((tag, output, slot))
    }
}

// ===== spawned =====

/// Runs each work future as its own task on `R`, in a [`Group`].
pub(crate) struct Spawned<R: Spawn, Tag, T> {
    rt: R,
    group: Group<(Tag, T), R::RawTask>,
}

impl<R: Spawn, Tag, T> Spawned<R, Tag, T> {
    pub(crate) fn new(rt: R, capacity: usize, mode: Mode) -> Self {
        Spawned {
            rt,
            group: Group::new(capacity, mode),
        }
    }

    /// Tasks spawned whose outputs have not been returned.
    pub(crate) fn in_flight(&self) -> usize {
        self.group.len()
    }
}

pin_project! {
    /// A spawned work future that returns its tag with its output.
    struct Tagged<Fut, Tag> {
        #[pin]
        work: Fut,
        tag: Option<Tag>,
    }
}

impl<Fut: Future, Tag> Future for Tagged<Fut, Tag> {
    type Output = (Tag, Fut::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = core::task::ready!(this.work.poll(cx));
        let tag = this.tag.take().expect("polled after it completed");
        Poll::Ready((tag, output))
    }
}

impl<R, Fut, Tag> Work<Fut, Tag> for Spawned<R, Tag, Fut::Output>
where
    R: Spawn,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
    Tag: Send + 'static,
{
    fn start(&mut self, tag: Tag, work: Fut, _: &mut Context<'_>) -> Option<(Tag, Fut::Output)> {
        let tagged = Tagged {
            work,
            tag: Some(tag),
        };
        self.group.spawn(&self.rt, tagged);
        None
    }

    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Tag, Fut::Output)>> {
        self.group.poll_next(cx)
    }

    fn len(&self) -> usize {
        self.group.len()
    }

    fn failed(&self) -> bool {
        self.group.failed()
    }
}
