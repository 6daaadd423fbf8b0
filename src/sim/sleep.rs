//! [`SimSleep`]: a timer on a [`Sim`]'s virtual clock.

use core::fmt;
use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use pin_project_lite::pin_project;

use super::Inner;

pin_project! {
    /// Future returned by [`Sim`](super::Sim)'s [`Sleeper`](crate::Sleeper) methods:
    /// completes once the simulation's virtual clock reaches its deadline.
    ///
    /// The deadline and the sequence number that orders it among equal deadlines
    /// are fixed when the sleep is created. The timer is registered with the
    /// simulation at the first poll that finds the deadline still ahead, and
    /// fires when a [`block_on`](crate::Runtime::block_on) of the simulation
    /// advances time to it. A sleep without a deadline (one too far away for an
    /// `Instant`) never fires and registers nothing.
    ///
    /// A `SimSleep` can be created anywhere and polled by any executor, but only
    /// a `block_on` of its own simulation moves the clock that fires it; once
    /// that simulation is dropped, a pending sleep never completes.
    ///
    /// Like tokio's `Sleep`, it is not `Unpin`: pin it (`std::pin::pin!`,
    /// `Box::pin`) to poll it by hand or to pass it to
    /// `futures::future::select`, so that code tested on `Sim` compiles on
    /// tokio too.
    ///
    /// ```compile_fail,E0277
    /// fn unpin<T: Unpin>() {}
    /// unpin::<stagger::sim::SimSleep>();
    /// ```
    ///
    /// # Cancellation
    ///
    /// Dropping the sleep removes its timer from the simulation, so a dropped
    /// sleep never moves virtual time. Dropping it after it fired does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::{Sim, SimSleep};
    ///
    /// let sim = Sim::new();
    /// let sleep: SimSleep = sim.sleep(Duration::from_secs(30));
    /// assert_eq!(sleep.deadline(), Some(sim.now() + Duration::from_secs(30)));
    /// sim.block_on(sleep);
    /// assert_eq!(sim.elapsed(), Duration::from_secs(30));
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct SimSleep {
        timer: Timer,
        // Not `Unpin`, like tokio's `Sleep`: code that moves a sleep after
        // polling it, or polls one without pinning it, fails to compile on
        // `Sim` as it would on tokio, instead of passing its tests on `Sim`
        // and failing to build for production.
        #[pin]
        _pinned: PhantomPinned,
    }
}

/// A `SimSleep`'s timer: what it keeps, and what its drop deregisters;
/// [`Advance`](super::Advance) moves the clock on one.
pub(super) struct Timer {
    sim: Arc<Inner>,
    // `None`: unreachable, never fires.
    deadline: Option<Instant>,
    /// The deadline in nanoseconds after the simulation's base, to check it
    /// without `Instant` arithmetic (`u64::MAX`: too far to tell).
    offset: u64,
    ticket: Ticket,
}

/// A timer's sequence number and whether it was registered (for a sleep
/// without a deadline: counted as unreachable), in one word: a `SimSleep`
/// is 40 bytes, and a million of them are polled at once.
#[derive(Clone, Copy)]
struct Ticket(u64);

impl Ticket {
    fn new(seq: u64) -> Self {
        Ticket(seq << 1)
    }

    fn seq(self) -> u64 {
        self.0 >> 1
    }

    /// Whether the timer was registered; it may have fired since, which the
    /// clock tells.
    fn registered(self) -> bool {
        self.0 & 1 == 1
    }

    fn register(&mut self) {
        self.0 |= 1;
    }

    fn unregister(&mut self) {
        self.0 &= !1;
    }
}

impl Timer {
    pub(super) fn new(sim: &Arc<Inner>, deadline: Option<Instant>) -> Self {
        Timer {
            sim: Arc::clone(sim),
            deadline,
            offset: deadline.map_or(u64::MAX, |deadline| sim.offset(deadline)),
            ticket: Ticket::new(sim.next_seq.fetch_add(1, Ordering::Relaxed)),
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl SimSleep {
    pub(super) fn new(sim: &Arc<Inner>, deadline: Option<Instant>) -> Self {
        SimSleep {
            timer: Timer::new(sim, deadline),
            _pinned: PhantomPinned,
        }
    }

    /// The virtual instant this sleep completes at, or `None` if it never
    /// completes because the deadline does not fit in an `Instant`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let at = sim.now() + Duration::from_secs(1);
    /// assert_eq!(sim.sleep_until(at).deadline(), Some(at));
    /// assert_eq!(sim.sleep(Duration::MAX).deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.timer.deadline
    }
}

impl Future for SimSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().timer.poll(cx)
    }
}

impl Timer {
    /// Completes once the clock reaches the deadline, registering the timer
    /// at the first poll that finds it ahead.
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        let Some(deadline) = this.deadline else {
            // Never fires; counted, so that a deadlock can name it.
            if !this.ticket.registered() {
                this.sim.lock().unreachable += 1;
                this.ticket.register();
            }
            return Poll::Pending;
        };
        // Time reaches a registered deadline only by firing its timer, which
        // removes it: once it is reached, there is nothing to deregister.
        // The common case needs no lock.
        if this.sim.reached(this.offset) {
            this.ticket.unregister();
            return Poll::Ready(());
        }
        let mut state = this.sim.lock();
        if state.now >= deadline {
            drop(state);
            this.ticket.unregister();
            return Poll::Ready(());
        }
        if state.shut_down {
            // Its clock will never move again.
        } else if this.ticket.registered() {
            state.timers.set_waker(this.ticket.seq(), cx.waker());
        } else {
            let waker = cx.waker().clone();
            state.timers.insert(deadline, this.ticket.seq(), waker);
            this.ticket.register();
        }
        let garbage = state.timers.take_garbage();
        drop(state);
        // Dropping wakers can run arbitrary code: not under the lock.
        drop(garbage);
        Poll::Pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if !self.ticket.registered() {
            return;
        }
        let Some(deadline) = self.deadline else {
            self.sim.lock().unreachable -= 1;
            return;
        };
        let mut state = self.sim.lock();
        // A deadline reached has fired: its timer is already gone. After a
        // shutdown, so are all the others.
        if state.now < deadline && !state.shut_down {
            state.timers.cancel(self.ticket.seq());
        }
        let garbage = state.timers.take_garbage();
        drop(state);
        drop(garbage);
    }
}

impl fmt::Debug for SimSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timer = &self.timer;
        f.debug_struct("SimSleep")
            .field("deadline", &timer.deadline)
            .field("seq", &timer.ticket.seq())
            .field("registered", &timer.ticket.registered())
            .finish()
    }
}
