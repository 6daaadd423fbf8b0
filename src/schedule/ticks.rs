//! [`Ticks`]: a schedule, fired on one timer at a time.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use futures::stream::{FusedStream, Stream};

use crate::engine::{Due, Entry};
use crate::sleeper::Sleeper;

/// What [`Ticks`] does with ticks that are overdue because its consumer (or
/// the machine) fell behind; tokio's `MissedTickBehavior`, for any schedule.
///
/// A tick is overdue when it fires so late that a later tick (meant for a
/// later instant: ticks of one instant are never overdue to each other) is
/// due too.
/// Say a schedule of one tick per period, and a consumer that stalls for a
/// little over three periods after tick 1 (`*` marks a tick, `-` the
/// consumer busy):
///
/// ```text
/// intended:  1     2     3     4     5     6
///            *     *     *     *     *     *
/// Burst:     *---------------* * *   *     *     2, 3, 4 at once, each with its intended time
/// Skip:      *---------------*       *     *     only 4 (2 and 3 counted as skipped), then on schedule
/// Delay:     *---------------*     *     *     * 2 late, and every later tick as late as 2
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Missed {
    /// Yields every overdue tick at once, each with its true intended time,
    /// so the latency it measures counts the stall in every tick it held up:
    /// what keeps a load generator honest (no coordinated omission).
    #[default]
    Burst,
    /// Drops every overdue tick, counting them ([`Ticks::skipped`]), and
    /// yields the latest tick due, then goes on with the schedule.
    Skip,
    /// Yields the first overdue tick at once and shifts the rest of the
    /// schedule by its lateness: the gaps between ticks are kept, not their
    /// times. A tick late by less than the gap to the next one (timer
    /// granularity, a brief hiccup) shifts nothing.
    Delay,
}

/// One tick of a schedule: which, when it was meant to fire, and when it
/// did.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::schedule::{self, Rate};
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let every = schedule::constant(Rate::every(Duration::from_secs(1))?).take(3);
/// let ticks: Vec<_> = sim.block_on(schedule::ticks(&sim, every).collect());
/// assert_eq!(ticks[2].index, 2);
/// assert_eq!(ticks[2].intended - ticks[0].intended, Duration::from_secs(2));
/// assert_eq!(ticks[2].lateness(), Duration::ZERO); // virtual time is exact
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tick {
    /// The tick's position in the schedule, skipped ticks included.
    pub index: usize,
    /// When it was meant to fire: the start plus its offset (shifted, with
    /// [`Missed::Delay`], by the lateness of earlier ticks).
    pub intended: Instant,
    /// When it fired: when the stream yielded it, on the backend's clock.
    /// Earlier than `intended` only on a clock that lags its own timers
    /// (the stream trusts a timer that fired).
    pub fired: Instant,
}

impl Tick {
    /// How late it fired: `fired - intended`.
    pub fn lateness(&self) -> Duration {
        self.fired.saturating_duration_since(self.intended)
    }
}

/// Fires the ticks of `schedule`, offsets from one start read now on the
/// sleeper's clock: a stream that yields each [`Tick`] once its intended
/// instant has come.
///
/// One timer at a time, whatever the rate: the stream sleeps until the next
/// intended instant; when several are due, it yields them back to back
/// without sleeping. Intended instants are exact (`start + offset`, with
/// checked arithmetic: an offset past what an `Instant` holds never fires);
/// an offset smaller than its predecessor is simply overdue. Ticks that are
/// overdue because the consumer fell behind are all yielded, each with its
/// true intended time, unless [`missed`](Ticks::missed) says otherwise.
///
/// The stream owns a clone of the sleeper and borrows nothing. It holds
/// nothing per future tick: an endless schedule is fine.
///
/// A timer that fired is trusted: its tick is due even if the sleeper's
/// `now()` still reads an earlier instant (a coarse clock, or one that lags
/// its timers), so such a sleeper costs one timer per tick, never a spin.
///
/// # Cancellation
///
/// Dropping the stream drops its timer.
///
/// # Examples
///
/// A jittered heartbeat on tokio:
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # mod example {
/// use futures::StreamExt;
/// use stagger::jitter::FullJitter;
/// use stagger::prelude::*;
/// use stagger::rt::Tokio;
/// use stagger::schedule::{self, Rate};
///
/// #[tokio::main]
/// # pub
/// async fn main() -> Result<(), stagger::schedule::RateError> {
///     let every = schedule::constant(Rate::every(Duration::from_millis(10))?);
///     let beats = schedule::jittered(every, FullJitter::new(Duration::from_millis(2)), stagger::rand::rng());
///     let mut ticks = schedule::ticks(&Tokio, beats.take(5));
///     while let Some(tick) = ticks.next().await {
///         println!("heartbeat {} ({:?} late)", tick.index, tick.lateness());
///     }
///     Ok(())
/// }
/// # }
/// # #[cfg(feature = "tokio")]
/// # example::main().unwrap();
/// ```
pub fn ticks<S, I>(sleeper: &S, schedule: I) -> Ticks<S, I::IntoIter>
where
    S: Sleeper + Clone,
    I: IntoIterator<Item = Duration>,
{
    let start = sleeper.now();
    Ticks {
        start,
        base: Some(start),
        sleeper: sleeper.clone(),
        schedule: schedule.into_iter(),
        next: None,
        index: 0,
        missed: Missed::Burst,
        skipped: 0,
        timer: Box::pin(None),
        timer_at: None,
        ended: false,
    }
}

/// Stream for the [`ticks`] function.
#[must_use = "streams do nothing unless polled"]
pub struct Ticks<S: Sleeper, I> {
    sleeper: S,
    start: Instant,
    schedule: I,
    /// The next offset, taken from the schedule but not yet fired.
    next: Option<Duration>,
    /// The next tick's index.
    index: usize,
    /// Where offsets count from: `start`, shifted by [`Missed::Delay`];
    /// `None` past what an `Instant` holds.
    base: Option<Instant>,
    missed: Missed,
    skipped: u64,
    /// The one timer, boxed once and reused.
    timer: Pin<Box<Option<S::Sleep>>>,
    /// The deadline `timer` was set for.
    timer_at: Option<Instant>,
    /// The schedule has ended.
    ended: bool,
}

impl<S: Sleeper, I> Ticks<S, I> {
    /// Chooses what to do with overdue ticks; [`Missed::Burst`] by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use stagger::prelude::*;
    /// use stagger::schedule::{self, Missed, Rate};
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let every = schedule::constant(Rate::every(Duration::from_secs(1))?).take(10);
    /// let mut ticks = schedule::ticks(&sim, every).missed(Missed::Skip);
    /// sim.block_on(async {
    ///     ticks.next().await; // tick 0
    ///     sim.sleep(Duration::from_millis(3500)).await; // a stall: 1, 2 and 3 are overdue
    ///     assert_eq!(ticks.next().await.unwrap().index, 3);
    ///     assert_eq!(ticks.skipped(), 2);
    ///     assert_eq!(ticks.next().await.unwrap().index, 4); // on schedule again
    /// });
    /// # Ok::<(), stagger::schedule::RateError>(())
    /// ```
    pub fn missed(mut self, missed: Missed) -> Self {
        self.set_missed(missed);
        self
    }

    pub(crate) fn set_missed(&mut self, missed: Missed) {
        self.missed = missed;
    }

    /// How many ticks [`Missed::Skip`] has dropped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The instant the schedule's offsets count from.
    pub fn start(&self) -> Instant {
        self.start
    }
}

impl<S: Sleeper, I: Iterator<Item = Duration>> Ticks<S, I> {
    /// The next offset, without taking it.
    fn peek(&mut self) -> Option<Duration> {
        if self.next.is_none() && !self.ended {
            self.next = self.schedule.next();
            self.ended = self.next.is_none();
        }
        self.next
    }

    /// When the tick at `offset` is meant to fire; `None` past what an
    /// `Instant` holds.
    fn intended(&self, offset: Duration) -> Option<Instant> {
        self.base?.checked_add(offset)
    }

    /// When the tick after one meant for `intended` is meant to fire, if it
    /// is due by `now` and meant for a later instant: it has overtaken that
    /// one, which is overdue.
    fn overtaking(&mut self, intended: Instant, now: Instant) -> Option<Instant> {
        let offset = self.peek()?;
        let at = self.intended(offset)?;
        (at <= now && at > intended).then_some(at)
    }

    /// Fires the next tick once it is due.
    fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        let Some(offset) = self.peek() else {
            return Poll::Ready(None);
        };
        let Some(mut intended) = self.intended(offset) else {
            // Unreachable: it never fires, and neither do later ticks.
            // The backend's never-firing sleep waits for it.
            if self.timer_at.is_some() || self.timer.is_none() {
                self.timer.set(None);
                self.timer.set(Some(self.sleeper.sleep(Duration::MAX)));
                self.timer_at = None;
            }
            if let Some(timer) = self.timer.as_mut().as_pin_mut() {
                let _ = timer.poll(cx);
            }
            return Poll::Pending;
        };
        let now = self.sleeper.now();
        if intended > now {
            if self.timer_at != Some(intended) {
                // One timer at a time: the old one goes first.
                self.timer.set(None);
                self.timer.set(Some(self.sleeper.sleep_until(intended)));
                self.timer_at = Some(intended);
            }
            let timer = self.timer.as_mut().as_pin_mut();
            if !matches!(timer.map(|timer| timer.poll(cx)), Some(Poll::Ready(()))) {
                return Poll::Pending;
            }
            // The timer fired: the tick is due, whatever `now` read (a
            // coarse clock may lag its timers; asking again would spin).
            self.timer.set(None);
            self.timer_at = None;
        }
        self.next = None;
        if self.missed == Missed::Skip {
            // Drop the ticks overdue: those a strictly later tick, due
            // now too, has overtaken. Ticks meant for the same instant
            // are all on time.
            while let Some(at) = self.overtaking(intended, now) {
                self.next = None;
                self.skipped += 1;
                self.index += 1;
                intended = at;
            }
        }
        if self.missed == Missed::Delay {
            // Overdue: the next tick is due too.
            if self.overtaking(intended, now).is_some() {
                self.base = self.base.and_then(|base| base.checked_add(now - intended));
            }
        }
        let index = self.index;
        self.index += 1;
        Poll::Ready(Some(Tick {
            index,
            intended,
            fired: now,
        }))
    }
}

impl<S: Sleeper, I> Unpin for Ticks<S, I> {}

impl<S: Sleeper, I: Iterator<Item = Duration>> Stream for Ticks<S, I> {
    type Item = Tick;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        self.get_mut().poll_tick(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.schedule.size_hint();
        let (low, high) = match self.next {
            Some(_) => (low.saturating_add(1), high.and_then(|h| h.checked_add(1))),
            None if self.ended => (0, Some(0)),
            None => (low, high),
        };
        match self.missed {
            // Skipping may drop all but one of them.
            Missed::Skip => (low.min(1), high),
            Missed::Burst | Missed::Delay => (low, high),
        }
    }
}

impl<S: Sleeper, I: Iterator<Item = Duration>> FusedStream for Ticks<S, I> {
    fn is_terminated(&self) -> bool {
        self.ended && self.next.is_none()
    }
}

/// Ticks are the due items of [`run`](super::run): one per tick, with its
/// offset as the delay.
impl<S: Sleeper, I: Iterator<Item = Duration>> Due for Ticks<S, I> {
    type Item = Tick;

    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Entry<Tick>>> {
        self.poll_tick(cx).map(|tick| {
            tick.map(|tick| Entry {
                index: tick.index,
                delay: tick.intended.saturating_duration_since(self.start),
                item: tick,
            })
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        Stream::size_hint(self)
    }

    fn is_done(&self) -> bool {
        self.is_terminated()
    }

    fn clear(&mut self) {
        self.ended = true;
        self.next = None;
        self.timer.set(None);
    }
}

impl<S: Sleeper, I> fmt::Debug for Ticks<S, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticks")
            .field("next_index", &self.index)
            .field("missed", &self.missed)
            .field("skipped", &self.skipped)
            .field("ended", &self.ended)
            .finish()
    }
}
