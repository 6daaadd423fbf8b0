//! Time control: pausing auto-advance, and moving time by hand.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Inner, Sim, SimSleep};

impl Sim {
    /// Turns auto-advance off: from now on, time moves only through
    /// [`advance`](Sim::advance), never by itself.
    ///
    /// By default a `Sim` auto-advances: once nothing can run, its clock
    /// jumps to the next timer (as tokio's paused clock does). Paused, it
    /// stands still instead, so that a test can step time in increments of
    /// its choosing and check what happened in each. A `block_on` whose
    /// future waits while nothing can run and no `advance` is under way
    /// panics with a message that says the clock is paused, rather than
    /// waiting forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// sim.pause();
    /// let beats = Arc::new(AtomicUsize::new(0));
    /// let (clock, count) = (sim.clone(), beats.clone());
    /// sim.spawn(async move {
    ///     loop {
    ///         clock.sleep(Duration::from_secs(10)).await; // a heartbeat
    ///         count.fetch_add(1, Ordering::SeqCst);
    ///     }
    /// })
    /// .detach();
    /// sim.block_on(async {
    ///     for step in 1..=5 {
    ///         sim.advance(Duration::from_secs(10)).await;
    ///         assert_eq!(beats.load(Ordering::SeqCst), step);
    ///     }
    ///     sim.advance(Duration::from_secs(9)).await;
    ///     assert_eq!(beats.load(Ordering::SeqCst), 5); // not yet
    /// });
    /// assert_eq!(sim.elapsed(), Duration::from_secs(59));
    /// ```
    pub fn pause(&self) {
        self.inner().paused.store(true, Ordering::Release);
    }

    /// Turns auto-advance back on.
    pub fn resume(&self) {
        self.inner().paused.store(false, Ordering::Release);
    }

    /// Whether auto-advance is off ([`pause`](Sim::pause)).
    pub fn is_paused(&self) -> bool {
        self.inner().paused.load(Ordering::Acquire)
    }

    /// Moves virtual time forward by `duration`, like tokio's
    /// `time::advance`: await it from the `block_on` future or a task.
    ///
    /// Every timer due on the way fires in deadline order (ties in creation
    /// order), each at its own deadline, and whatever it wakes runs before
    /// time moves on; then the clock reaches `now() + duration`, and the
    /// future completes. It works whether or not the simulation is
    /// [paused](Sim::pause); auto-advancing, it is a sleep that never lets
    /// time run past its end while it waits. A `duration` past what an
    /// `Instant` can hold never completes: time moves through every timer,
    /// paused or not, and once none is left and nothing else can run,
    /// `block_on` panics as deadlocked, naming the advance.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::builder().start_paused(true).build();
    /// let timeout = sim.sleep(Duration::from_secs(30));
    /// sim.block_on(async {
    ///     let mut timeout = std::pin::pin!(timeout);
    ///     sim.advance(Duration::from_secs(29)).await;
    ///     assert!(futures::poll!(timeout.as_mut()).is_pending());
    ///     sim.advance(Duration::from_secs(1)).await;
    ///     assert!(futures::poll!(timeout.as_mut()).is_ready());
    /// });
    /// ```
    pub fn advance(&self, duration: Duration) -> Advance {
        let deadline = self.inner().now().checked_add(duration);
        Advance {
            sim: Arc::clone(self.inner()),
            sleep: SimSleep::new(self.inner(), deadline),
            registered: false,
        }
    }
}

/// Future for the [`Sim::advance`] method.
#[must_use = "time moves only when the future is awaited"]
pub struct Advance {
    sim: Arc<Inner>,
    sleep: SimSleep,
    /// Whether the advance was registered: its deadline made a permit to
    /// move a paused clock, or, without one, counted as never completing.
    registered: bool,
}

impl Future for Advance {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.sleep.deadline() else {
            // Never completes: time may move to every timer, and a deadlock
            // names the advance, not a sleep.
            if !this.registered {
                this.sim.lock().unreachable_advances += 1;
                this.registered = true;
            }
            return Poll::Pending;
        };
        if !this.registered {
            *this.sim.lock().permits.entry(deadline).or_default() += 1;
            this.registered = true;
        }
        Pin::new(&mut this.sleep).poll(cx)
    }
}

impl Drop for Advance {
    /// Withdraws the permit: a paused clock moves only while an `advance`
    /// is under way.
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let mut state = self.sim.lock();
        let Some(deadline) = self.sleep.deadline() else {
            state.unreachable_advances -= 1;
            return;
        };
        if let Some(count) = state.permits.get_mut(&deadline) {
            *count -= 1;
            if *count == 0 {
                state.permits.remove(&deadline);
            }
        }
    }
}

impl fmt::Debug for Advance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Advance")
            .field("until", &self.sleep.deadline())
            .finish()
    }
}
