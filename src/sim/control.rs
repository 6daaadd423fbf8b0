//! Time control: pausing auto-advance, moving time by hand, and stepping
//! it one deadline at a time.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::builder::Replay;
use super::sleep::Timer;
use super::{Inner, Sim, executor};

const NOT_DRIVEN: &str = "stagger::sim::Sim::run_until_idle (or advance_to_next) polled on a \
    thread that is not running a block_on of its Sim: only that block_on runs the simulation's \
    tasks; await it from the block_on future or from one of the Sim's tasks";

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
        advance_until(self.inner(), self.inner().now().checked_add(duration))
    }

    /// The earliest deadline among the pending timers, or `None` when no
    /// timer is pending; like tokio's question "when is the next timer?"
    /// (tokio #3883).
    ///
    /// Pending timers are sleeps polled at least once, not yet fired nor
    /// dropped, as [`pending_timers`](Sim::pending_timers) counts them: a
    /// sleep created but never polled, and a sleep whose deadline lies past
    /// what an `Instant` holds, have none. The deadline is always later than
    /// [`now`](crate::Sleeper::now): timers due now have fired. It reads the
    /// simulation without running or moving anything.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::builder().start_paused(true).build();
    /// assert_eq!(sim.next_deadline(), None); // nothing pending: no panic
    /// let start = sim.now();
    /// sim.spawn(sim.sleep(Duration::from_secs(5))).detach();
    /// sim.spawn(sim.sleep(Duration::from_secs(2))).detach();
    /// sim.block_on(sim.run_until_idle()); // the tasks poll their sleeps
    /// assert_eq!(sim.next_deadline(), Some(start + Duration::from_secs(2)));
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut state = self.inner().lock();
        let next = state.timers.next_deadline();
        let garbage = state.timers.take_garbage();
        drop(state);
        drop(garbage);
        next
    }

    /// Runs everything that can run now, without moving time: completes
    /// once no task of the simulation is runnable (each waits on a timer,
    /// another task, or nothing), as tokio users ask in tokio #6113. Await
    /// it from the `block_on` future or a task.
    ///
    /// Tasks spawned or woken while it runs run too, until they wait; the
    /// awaiter is polled last. Time stands still while it runs, whether or
    /// not the simulation is [paused](Sim::pause): the awaiter stays
    /// runnable, so the clock never finds the simulation idle. Tasks that
    /// never stop waking themselves (a `yield_now` loop) keep it from
    /// completing.
    ///
    /// # Panics
    ///
    /// The returned future panics, naming the seed, when polled on a thread
    /// that is not running a `block_on` of this simulation (another
    /// executor, another thread): only that `block_on` runs the
    /// simulation's tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::builder().start_paused(true).build();
    /// let started = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..3 {
    ///     let (started, sim2) = (started.clone(), sim.clone());
    ///     sim.spawn(async move {
    ///         started.fetch_add(1, Ordering::SeqCst);
    ///         sim2.sleep(Duration::from_secs(1)).await;
    ///     })
    ///     .detach();
    /// }
    /// sim.block_on(async {
    ///     sim.run_until_idle().await;
    ///     assert_eq!(started.load(Ordering::SeqCst), 3); // all ran, up to their sleep
    ///     assert_eq!(sim.pending_timers(), 3);
    /// });
    /// assert_eq!(sim.elapsed(), Duration::ZERO); // and time did not move
    /// ```
    pub fn run_until_idle(&self) -> RunUntilIdle {
        RunUntilIdle {
            sim: Arc::clone(self.inner()),
            waiting: false,
        }
    }

    /// Steps time to the next pending deadline: runs what can run now
    /// ([`run_until_idle`](Sim::run_until_idle)), moves the clock to
    /// [`next_deadline`](Sim::next_deadline), firing every timer due there
    /// in creation order, runs what they woke until it waits again, and
    /// returns the deadline reached. Await it from the `block_on` future or
    /// a task. Like madsim's `advance_to_next_event`, and tokio's "advance
    /// to the next timer" (tokio #3883).
    ///
    /// With no timer pending it returns `None` at once, after the first
    /// step, without moving time and without panicking. Paused, this is how
    /// a test steps a simulation one deadline at a time; with auto-advance
    /// on, it does the same (the clock does not move by itself while the
    /// step runs), and auto-advance goes on once the awaiter waits on
    /// something else.
    ///
    /// # Panics
    ///
    /// Like [`run_until_idle`](Sim::run_until_idle)'s, when polled on a
    /// thread not running a `block_on` of this simulation; and when polled
    /// again after it completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::builder().start_paused(true).build();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// for (name, secs) in [("b", 2), ("a", 1), ("c", 2)] {
    ///     let (log, sim2) = (log.clone(), sim.clone());
    ///     sim.spawn(async move {
    ///         sim2.sleep(Duration::from_secs(secs)).await;
    ///         log.lock().unwrap().push((name, sim2.elapsed()));
    ///     })
    ///     .detach();
    /// }
    /// let start = sim.now();
    /// sim.block_on(async {
    ///     let one = sim.advance_to_next().await;
    ///     assert_eq!(one, Some(start + Duration::from_secs(1)));
    ///     assert_eq!(*log.lock().unwrap(), [("a", Duration::from_secs(1))]);
    ///     sim.advance_to_next().await; // both of 2 s, in creation order
    ///     assert_eq!(log.lock().unwrap()[1..], [("b", Duration::from_secs(2)), ("c", Duration::from_secs(2))]);
    ///     assert_eq!(sim.advance_to_next().await, None); // nothing left
    /// });
    /// ```
    pub fn advance_to_next(&self) -> AdvanceToNext {
        AdvanceToNext {
            sim: self.clone(),
            step: Step::Settle(self.run_until_idle()),
        }
    }
}

/// An [`Advance`] to `deadline`; to nowhere, never completing, for `None`.
fn advance_until(sim: &Arc<Inner>, deadline: Option<Instant>) -> Advance {
    Advance {
        sim: Arc::clone(sim),
        timer: Timer::new(sim, deadline),
        registered: false,
    }
}

/// Future for the [`Sim::advance`] method.
#[must_use = "time moves only when the future is awaited"]
pub struct Advance {
    sim: Arc<Inner>,
    timer: Timer,
    /// Whether the advance was registered: its deadline made a permit to
    /// move a paused clock, or, without one, counted as never completing.
    registered: bool,
}

impl Future for Advance {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.timer.deadline() else {
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
        this.timer.poll(cx)
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
        let Some(deadline) = self.timer.deadline() else {
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
            .field("until", &self.timer.deadline())
            .finish()
    }
}

/// Future for the [`Sim::run_until_idle`] method.
#[must_use = "nothing runs unless the future is awaited"]
pub struct RunUntilIdle {
    sim: Arc<Inner>,
    /// Whether it is counted in `idlers`: queued behind the rest, waiting.
    waiting: bool,
}

impl RunUntilIdle {
    fn stop_waiting(&mut self) {
        if core::mem::take(&mut self.waiting) {
            self.sim.idlers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Future for RunUntilIdle {
    type Output = ();

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.stop_waiting();
        // Other `run_until_idle`s waiting at once are idle too: without
        // counting them, two would wait for each other for ever.
        let others = this.sim.idlers.load(Ordering::Acquire);
        match executor::idle(&this.sim, others) {
            Some(true) => Poll::Ready(()),
            // Behind everything queued: polled again once that ran.
            Some(false) => {
                this.waiting = true;
                this.sim.idlers.fetch_add(1, Ordering::AcqRel);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            None => panic!("{NOT_DRIVEN}; {}", Replay(this.sim.seed)),
        }
    }
}

impl Drop for RunUntilIdle {
    fn drop(&mut self) {
        self.stop_waiting();
    }
}

impl fmt::Debug for RunUntilIdle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilIdle")
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}

/// Future for the [`Sim::advance_to_next`] method.
#[must_use = "time moves only when the future is awaited"]
pub struct AdvanceToNext {
    sim: Sim,
    step: Step,
}

/// Where an [`AdvanceToNext`] is.
enum Step {
    /// Running what can run before the next deadline is read.
    Settle(RunUntilIdle),
    /// Moving the clock to the deadline.
    Advance(Advance, Instant),
    /// Running what the deadline's timers woke.
    Finish(RunUntilIdle, Instant),
    Done,
}

impl Future for AdvanceToNext {
    type Output = Option<Instant>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        let this = self.get_mut();
        loop {
            match &mut this.step {
                Step::Settle(idle) => {
                    if Pin::new(idle).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let Some(next) = this.sim.next_deadline() else {
                        this.step = Step::Done;
                        return Poll::Ready(None);
                    };
                    let advance = advance_until(this.sim.inner(), Some(next));
                    this.step = Step::Advance(advance, next);
                }
                Step::Advance(advance, next) => {
                    if Pin::new(advance).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let next = *next;
                    this.step = Step::Finish(this.sim.run_until_idle(), next);
                }
                Step::Finish(idle, next) => {
                    if Pin::new(idle).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let next = *next;
                    this.step = Step::Done;
                    return Poll::Ready(Some(next));
                }
                Step::Done => panic!("stagger::sim::AdvanceToNext polled after it completed"),
            }
        }
    }
}

impl fmt::Debug for AdvanceToNext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (step, to) = match &self.step {
            Step::Settle(_) => ("settle", None),
            Step::Advance(_, to) => ("advance", Some(to)),
            Step::Finish(_, to) => ("finish", Some(to)),
            Step::Done => ("done", None),
        };
        f.debug_struct("AdvanceToNext")
            .field("step", &step)
            .field("to", &to)
            .finish()
    }
}
