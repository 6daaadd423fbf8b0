//! [`Ticks`]: a schedule, fired on one timer at a time.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use futures::stream::{FusedStream, Stream};

use super::arrivals::{Constant, constant};
use super::rate::Rate;
use crate::engine::{Due, Entry};
use crate::sleeper::Sleeper;

/// How late a tick may fire and still be on time, unless
/// [`Ticks::tolerance`] says otherwise: tokio's.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_millis(5);

/// What [`Ticks`] does when a tick fires late because its consumer (or the
/// machine) fell behind: tokio's `MissedTickBehavior`, timeline for
/// timeline, for any schedule, and [`Latest`](Missed::Latest), stagger's
/// own.
///
/// A tick is *late* when it fires more than the stream's
/// [`tolerance`](Ticks::tolerance) after its intended instant. Say one tick
/// a period, and a consumer that takes tick 0, then stalls for a little
/// over three periods (`*` marks a tick, `-` the consumer busy):
///
/// ```text
/// intended:  0     1     2     3     4     5
///            *     *     *     *     *     *
/// Burst:     *-------------------*** *     *     1, 2, 3 back to back, each with its intended instant
/// Skip:      *-------------------*   *     *     1 (late), 2 and 3 skipped, then 4 on schedule
/// Delay:     *-------------------*     *     *   1 (late), every later tick a period after it
/// Latest:    *-------------------*   *     *     3 (1 and 2 skipped), then 4 on schedule
/// ```
///
/// (Delay's later ticks keep their period from when tick 1 fired, not the
/// schedule's instants.)
///
/// # Tolerance
///
/// tokio counts a tick late only when it fires more than 5 ms after its
/// deadline: its timer wheel counts whole milliseconds, so a tick fires up
/// to a millisecond after its instant, and that must neither skip nor shift
/// anything. stagger's intended instants are exact to the nanosecond and
/// [`Sim`](crate::sim::Sim) fires them exactly; what the tolerance absorbs
/// is a real timer's wake-up latency, not rounding, so it is a setting:
/// [`DEFAULT_TOLERANCE`] (tokio's 5 ms, so the timelines are tokio's on every
/// backend), [`Duration::ZERO`] for an exact rule (any lateness is a miss:
/// right on Sim), more on a loaded machine. A tick that fires within the
/// tolerance is on time: the schedule goes on as if it had fired at its
/// instant, and ticks due meanwhile fire at once, as in a burst.
///
/// # Cost
///
/// Skip and Latest catch up in one poll. On [`interval`] they compute where
/// to land from the rate (a 64-step search, however far behind: about 2 µs
/// after a 1 s stall at 10⁸ ticks a second); on any other schedule they
/// step through the ticks they drop, one `next()` of the schedule each, so
/// the same stall is 10⁸ steps in that poll (about a second on
/// [`constant`](super::constant), optimized).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Missed {
    /// Yields every tick, each with its true intended instant, overdue ones
    /// back to back, so the latency it measures counts the stall in every
    /// tick it held up: what keeps a load generator honest (no coordinated
    /// omission). tokio's `Burst`.
    #[default]
    Burst,
    /// Yields the late tick, with its intended instant, then drops every
    /// later tick due by the time it fired, counting them
    /// ([`Ticks::skipped`]): the next tick is the first meant for a later
    /// instant, and the schedule's instants are kept. tokio's `Skip`.
    Skip,
    /// Yields the late tick, then shifts the rest of the schedule by its
    /// lateness: the next tick is meant as long after the late one fired as
    /// the schedule put it after the late one's instant (a period, for
    /// [`constant`](super::constant)), so ticks are never closer than the
    /// schedule's gaps. tokio's `Delay`.
    Delay,
    /// Yields the latest tick due and drops those it overtook (due too, but
    /// meant for an earlier instant), counting them: a sampler's choice,
    /// fresh over complete. Ticks meant for one instant are never overtaken
    /// by each other, whatever the tolerance (jittered schedules tie by
    /// design).
    Latest,
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
    /// When it was meant to fire: the start plus its offset (shifted by
    /// [`Missed::Delay`] or a [`reset`](Ticks::reset_at), which keep the
    /// gaps between offsets).
    pub intended: Instant,
    /// When it fired: the reading of the backend's clock that found it
    /// due. One reading serves every tick due by then: a burst of overdue
    /// ticks reads the clock once, and its ticks share that instant, however
    /// long the consumer takes between them. Earlier than `intended` only
    /// on a clock that lags its own timers (the stream trusts a timer that
    /// fired).
    pub fired: Instant,
}

impl Tick {
    /// How late it fired: `fired - intended`, zero if it was not late.
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
/// an offset smaller than its predecessor is simply overdue. Ticks that
/// fell behind are all yielded, each with its true intended time, unless
/// [`missed`](Ticks::missed) says otherwise. [`ticks_at`] starts at an
/// instant of the caller's, [`interval`] and [`interval_at`] at a constant
/// rate (tokio's `interval` and `interval_at`).
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
///     let beats = schedule::jittered(every, FullJitter::new(Duration::from_millis(2)), Tokio.rng());
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
    ticks_at(sleeper, sleeper.now(), schedule)
}

/// Fires the ticks of `schedule`, offsets from `start`: [`ticks`] from an
/// instant of the caller's, as tokio's `interval_at`.
///
/// A `start` in the past makes the ticks meant for before now overdue at
/// once: what [`Missed`] says happens to them.
///
/// # Examples
///
/// Two streams ticking in step, whenever each was made:
///
/// ```
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::schedule::{self, Rate};
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let start = sim.now() + Duration::from_secs(1);
/// let every = || schedule::constant(Rate::every(Duration::from_secs(2)).unwrap());
/// let first = schedule::ticks_at(&sim, start, every().take(3));
/// sim.block_on(async {
///     sim.sleep(Duration::from_secs(3)).await;
///     let second = schedule::ticks_at(&sim, start, every().take(3));
///     let (a, b): (Vec<_>, Vec<_>) = futures::join!(first.collect(), second.collect());
///     assert_eq!(a[2].intended, start + Duration::from_secs(4));
///     assert_eq!(b[2].intended, a[2].intended);
/// });
/// ```
pub fn ticks_at<S, I>(sleeper: &S, start: Instant, schedule: I) -> Ticks<S, I::IntoIter>
where
    S: Sleeper + Clone,
    I: IntoIterator<Item = Duration>,
{
    Ticks {
        start,
        anchor: Some((start, Duration::ZERO)),
        base: Some(start),
        sleeper: sleeper.clone(),
        schedule: schedule.into_iter(),
        rate: None,
        next: None,
        last: None,
        index: 0,
        missed: Missed::Burst,
        tolerance: DEFAULT_TOLERANCE,
        skipped: 0,
        timer: Box::pin(None),
        timer_at: None,
        seen: None,
        ended: false,
    }
}

/// Ticks at a constant `rate` from now, endless: [`ticks`] of
/// [`constant`](super::constant)`(rate)`, as tokio's `interval`, with
/// [`Missed::Skip`] and [`Missed::Latest`] catching up in constant time
/// however far behind.
///
/// The first tick fires at once.
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
/// let mut ticks = schedule::interval(&sim, Rate::per_sec(1e8)?).missed(Missed::Skip);
/// sim.block_on(async {
///     ticks.next().await; // tick 0
///     sim.sleep(Duration::from_secs(1)).await; // a 1 s stall: 10⁸ ticks behind
///     let late = ticks.next().await.unwrap();
///     assert_eq!(late.index, 1); // the late tick itself
///     assert_eq!(ticks.skipped(), 99_999_999); // the rest, skipped at once
///     assert_eq!(ticks.next().await.unwrap().index, 100_000_001);
/// });
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn interval<S: Sleeper + Clone>(sleeper: &S, rate: Rate) -> Ticks<S, Constant> {
    interval_at(sleeper, sleeper.now(), rate)
}

/// Ticks at a constant `rate` from `start`, endless: [`interval`] from an
/// instant of the caller's, as tokio's `interval_at`.
pub fn interval_at<S: Sleeper + Clone>(
    sleeper: &S,
    start: Instant,
    rate: Rate,
) -> Ticks<S, Constant> {
    let mut ticks = ticks_at(sleeper, start, constant(rate));
    ticks.rate = Some(rate);
    ticks
}

/// Stream for the [`ticks`], [`ticks_at`], [`interval`] and
/// [`interval_at`] functions.
#[must_use = "streams do nothing unless polled"]
pub struct Ticks<S: Sleeper, I> {
    sleeper: S,
    start: Instant,
    schedule: I,
    /// The schedule is `constant(rate)`, item `i` is tick `i`: catching up
    /// computes the index instead of stepping.
    rate: Option<Rate>,
    /// The next offset, taken from the schedule but not yet fired.
    next: Option<Duration>,
    /// The offset of the tick before the next one (yielded or skipped).
    last: Option<Duration>,
    /// The next tick's index.
    index: usize,
    /// Where offsets count from: the offset `anchor.1` is meant for the
    /// instant `anchor.0`; `(start, 0)` until [`Missed::Delay`] or a reset
    /// moves it; `None` past what an `Instant` holds.
    anchor: Option<(Instant, Duration)>,
    /// The instant offset zero is meant for, `anchor.0 - anchor.1`, where
    /// an `Instant` holds it: the per-tick sum is then one addition.
    base: Option<Instant>,
    missed: Missed,
    tolerance: Duration,
    skipped: u64,
    /// The one timer, boxed once and reused.
    timer: Pin<Box<Option<S::Sleep>>>,
    /// The deadline `timer` was set for.
    timer_at: Option<Instant>,
    /// The clock's last reading: a tick meant for it or earlier is due,
    /// and fires with that reading, without reading the clock again.
    seen: Option<Instant>,
    /// The schedule has ended.
    ended: bool,
}

impl<S: Sleeper, I> Ticks<S, I> {
    /// Chooses what to do with late ticks; [`Missed::Burst`] by default.
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
    ///     assert_eq!(ticks.next().await.unwrap().index, 1); // late, yielded
    ///     assert_eq!(ticks.skipped(), 2); // 2 and 3, dropped
    ///     assert_eq!(ticks.next().await.unwrap().index, 4); // on schedule again
    /// });
    /// # Ok::<(), stagger::schedule::RateError>(())
    /// ```
    pub fn missed(mut self, missed: Missed) -> Self {
        self.set_missed(missed);
        self
    }

    /// Chooses what to do with late ticks from now on, on a live stream
    /// (tokio's `set_missed_tick_behavior`).
    pub fn set_missed(&mut self, missed: Missed) {
        self.missed = missed;
    }

    /// Sets how late a tick may fire and still be on time;
    /// [`DEFAULT_TOLERANCE`] (5 ms, tokio's) by default. See
    /// [`Missed`](Missed#tolerance).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.set_tolerance(tolerance);
        self
    }

    /// Sets the [`tolerance`](Ticks::tolerance) on a live stream.
    pub fn set_tolerance(&mut self, tolerance: Duration) {
        self.tolerance = tolerance;
    }

    /// How many ticks [`Missed::Skip`] or [`Missed::Latest`] has dropped so
    /// far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The instant the schedule's offsets count from (before any shift by
    /// [`Missed::Delay`] or a reset).
    pub fn start(&self) -> Instant {
        self.start
    }

    /// When the tick at `offset` is meant to fire; `None` past what an
    /// `Instant` holds.
    fn intended(&self, offset: Duration) -> Option<Instant> {
        if let Some(base) = self.base {
            return base.checked_add(offset);
        }
        let (at, from) = self.anchor?;
        match offset.checked_sub(from) {
            Some(after) => at.checked_add(after),
            // Before the anchor (a reset to an instant earlier than the
            // next offset): saturate at the earliest instant representable.
            None => Some(at.checked_sub(from - offset).unwrap_or(at)),
        }
    }

    /// Makes the offset `anchor.1` meant for the instant `anchor.0`; `None`:
    /// for no instant (past what an `Instant` holds).
    fn set_anchor(&mut self, anchor: Option<(Instant, Duration)>) {
        self.anchor = anchor;
        self.base = anchor.and_then(|(at, from)| at.checked_sub(from));
    }

    /// The offset meant for the instant `now`: `None` if before offset zero,
    /// `Duration::MAX` past it.
    fn offset_at(&self, now: Instant) -> Option<Duration> {
        let (at, from) = self.anchor?;
        match now.checked_duration_since(at) {
            Some(after) => Some(from.saturating_add(after)),
            None => from.checked_sub(at - now),
        }
    }
}

// ===== resets =====

impl<S: Sleeper, I: Iterator<Item = Duration>> Ticks<S, I> {
    /// Moves the next tick to `deadline`, keeping its index, the counts, and
    /// the gaps of the schedule from it on: tokio's `reset_at`. The next
    /// tick fires at `deadline` (at once if it has passed), the one after
    /// it as long after as the schedule puts it, and so on.
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
    /// let mut ticks = schedule::interval(&sim, Rate::every(Duration::from_secs(1))?);
    /// let start = ticks.start();
    /// sim.block_on(async {
    ///     ticks.next().await; // tick 0, at the start
    ///     ticks.reset_at(start + Duration::from_millis(2500));
    ///     let tick = ticks.next().await.unwrap();
    ///     assert_eq!((tick.index, tick.intended), (1, start + Duration::from_millis(2500)));
    ///     assert_eq!(ticks.next().await.unwrap().intended, start + Duration::from_millis(3500));
    /// });
    /// # Ok::<(), stagger::schedule::RateError>(())
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        if let Some(offset) = self.peek() {
            self.set_anchor(Some((deadline, offset)));
        }
    }

    /// Moves the next tick to `after` from now: tokio's `reset_after`; see
    /// [`reset_at`](Ticks::reset_at).
    pub fn reset_after(&mut self, after: Duration) {
        let now = self.sleeper.now();
        match now.checked_add(after) {
            Some(deadline) => self.reset_at(deadline),
            // Past what an Instant holds: the next tick never fires.
            None => self.set_anchor(None),
        }
    }

    /// Moves the next tick to now: tokio's `reset_immediately`; see
    /// [`reset_at`](Ticks::reset_at).
    pub fn reset_immediately(&mut self) {
        self.reset_after(Duration::ZERO);
    }

    /// Moves the next tick one gap from now, the gap the schedule puts
    /// between it and the tick before (for the first tick: its offset; a
    /// period for [`interval`]), as if the tick before had fired now:
    /// tokio's `reset`; see [`reset_at`](Ticks::reset_at).
    pub fn reset(&mut self) {
        let Some(offset) = self.peek() else { return };
        let gap = match (self.last, self.rate) {
            (Some(last), _) => offset.saturating_sub(last),
            (None, Some(rate)) => rate.period(),
            (None, None) => offset,
        };
        self.reset_after(gap);
    }
}

// ===== firing =====

impl<S: Sleeper, I: Iterator<Item = Duration>> Ticks<S, I> {
    /// The next offset, without taking it.
    fn peek(&mut self) -> Option<Duration> {
        if self.next.is_none() && !self.ended {
            self.next = self.schedule.next();
            self.ended = self.next.is_none();
        }
        self.next
    }

    /// Takes the next offset, a tick dropped.
    fn drop_next(&mut self) {
        self.last = self.next.take();
        self.index += 1;
        self.skipped += 1;
    }

    /// Fires the next tick once it is due.
    fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        let Some(offset) = self.peek() else {
            return Poll::Ready(None);
        };
        let Some(intended) = self.intended(offset) else {
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
        // One clock reading serves a whole burst of due ticks.
        let now = match self.seen {
            Some(seen) if intended <= seen => seen,
            _ => {
                let now = self.sleeper.now();
                self.seen = Some(now);
                now
            }
        };
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
        let (mut index, mut intended) = (self.index, intended);
        self.last = self.next.take();
        self.index += 1;
        let late = |ticks: &Self| now.saturating_duration_since(intended) > ticks.tolerance;
        match self.missed {
            Missed::Burst => {}
            // The rest keep their gaps from the late tick, as fired.
            Missed::Delay if late(self) => self.set_anchor(Some((now, offset))),
            Missed::Skip if late(self) => self.skip_through(now),
            Missed::Delay | Missed::Skip => {}
            Missed::Latest => {
                if let Some(latest) = self.latest(now) {
                    (index, intended) = latest;
                }
            }
        }
        Poll::Ready(Some(Tick {
            index,
            intended,
            fired: now,
        }))
    }

    /// Drops the tick just taken and those after it, if a tick meant for a
    /// later instant is due by `now`, up to the first tick of the latest
    /// instant due: that one's index and instant, taken.
    fn latest(&mut self, now: Instant) -> Option<(usize, Instant)> {
        let target = self.offset_at(now)?;
        if let Some(rate) = self.rate {
            // Constant: the last tick due, and the first of its instant,
            // from the index directly.
            let taken = self.index as u64 - 1;
            let last = first_after(rate, taken, target).checked_sub(1)?;
            let first = match rate.offset(last)?.checked_sub(Duration::from_nanos(1)) {
                Some(before) => first_after(rate, taken, before),
                None => taken,
            };
            if first <= taken {
                return None;
            }
            // Drop the one taken and those up to `first`, then take it.
            self.skipped += 1;
            if first > taken + 1 {
                skip(self, rate, first - taken - 1);
            }
        } else {
            // Any schedule: one step per tick dropped. Offsets compare as
            // their instants do.
            let overtaking = |ticks: &mut Self, current: Duration| {
                let offset = ticks.peek()?;
                (offset <= target && offset > current).then_some(offset)
            };
            let mut current = overtaking(self, self.last?)?;
            // The one taken is dropped; the one after it is the candidate.
            self.skipped += 1;
            loop {
                let candidate = self.next.take();
                match overtaking(self, current) {
                    Some(next) => {
                        self.last = candidate;
                        self.index += 1;
                        self.skipped += 1;
                        current = next;
                    }
                    None => {
                        let index = self.index;
                        self.last = candidate;
                        self.index += 1;
                        return Some((index, self.intended(current)?));
                    }
                }
            }
        }
        let offset = self.peek()?;
        let at = self.intended(offset)?;
        let index = self.index;
        self.last = self.next.take();
        self.index += 1;
        Some((index, at))
    }

    /// Drops every tick meant for `now` or earlier, the next one not yet
    /// taken from the schedule.
    fn skip_through(&mut self, now: Instant) {
        let Some(target) = self.offset_at(now) else {
            return;
        };
        if let Some(rate) = self.rate {
            let from = self.index as u64;
            let n = first_after(rate, from, target) - from;
            if n > 0 {
                skip(self, rate, n);
            }
            return;
        }
        // Any schedule: one step per tick dropped.
        while let Some(offset) = self.peek() {
            if offset > target {
                break;
            }
            self.drop_next();
        }
    }
}

/// Drops the next `n` ticks of a constant schedule at once (none taken from
/// the schedule yet), and peeks the one after.
fn skip<S: Sleeper, I: Iterator<Item = Duration>>(ticks: &mut Ticks<S, I>, rate: Rate, n: u64) {
    debug_assert!(ticks.next.is_none());
    let last = ticks.index as u64 + n - 1;
    ticks.next = usize::try_from(n).ok().and_then(|n| ticks.schedule.nth(n));
    ticks.ended = ticks.next.is_none();
    ticks.last = rate.offset(last);
    ticks.index = usize::try_from(last + 1).unwrap_or(usize::MAX);
    ticks.skipped += n;
}

/// The first index from `from` on whose offset is past `target` (or past
/// `Duration::MAX`): a binary search, 64 steps at most.
fn first_after(rate: Rate, from: u64, target: Duration) -> u64 {
    let (mut low, mut high) = (from, u64::MAX);
    while low < high {
        let mid = low + (high - low) / 2;
        if rate.offset(mid).is_some_and(|offset| offset <= target) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
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
            Missed::Skip | Missed::Latest => (low.min(1), high),
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
                held: false,
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
            .field("tolerance", &self.tolerance)
            .field("skipped", &self.skipped)
            .field("ended", &self.ended)
            .finish()
    }
}
