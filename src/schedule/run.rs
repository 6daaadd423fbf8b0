//! [`run`]: open-loop work on a schedule, with latency from the intended
//! start.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use pin_project_lite::pin_project;

use super::ticks::{Missed, Tick, Ticks, ticks_at};
use crate::engine::{Capped, Engine, Finished, MakeWork, engine_stream};
use crate::group::Mode;
use crate::sleeper::Sleeper;
use crate::spawn::Spawn;
use crate::work::Spawned;

/// One request of a [`run`], finished: its tick (when it was meant to start
/// and when it fired), when its task started it and when it finished, and
/// its output.
///
/// The five instants split the request's [`latency`](Completed::latency)
/// into where the time went:
///
/// ```text
/// tick.intended --lateness--> tick.fired --held--> released --queueing--> started --service--> finished
/// |<-------------------------------------------- latency ------------------------------------------->|
/// ```
///
/// - [`Tick::lateness`]: the ticks fell behind (the poller or the machine
///   stalled);
/// - [`held`](Completed::held): the request waited for a slot under
///   [`Run::max_in_flight`] (zero without a cap);
/// - [`queueing`](Completed::queueing): the request's task waited for the
///   executor (a busy executor, a full thread pool);
/// - [`service`](Completed::service): the request itself.
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
/// let clock = sim.clone();
/// let arrivals = schedule::constant(Rate::per_sec(10.0)?).take(3);
/// let done: Vec<_> = sim.block_on(
///     schedule::run(&sim, arrivals, move |_| clock.sleep(Duration::from_millis(30))).collect(),
/// );
/// for d in &done {
///     // Virtual time is exact: no lateness, no queueing.
///     assert_eq!(d.latency(), Duration::from_millis(30));
///     assert_eq!(d.service(), Duration::from_millis(30));
///     assert_eq!(d.queueing(), Duration::ZERO);
/// }
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Completed<T> {
    /// The tick that started the request.
    pub tick: Tick,
    /// When a cap on requests in flight ([`Run::max_in_flight`]) let the
    /// request go, if it held it back: when a slot freed, on the backend's
    /// clock, and its task was spawned and `f` called. `None` for a request
    /// that was let go as its tick fired.
    pub released: Option<Instant>,
    /// When the request's task was first polled, on the backend's clock:
    /// when `f`'s future started. (`f` itself is called as the tick fires,
    /// by the task polling the stream: what it does before returning its
    /// future, such as fixing a sleep's deadline, happens then.)
    pub started: Instant,
    /// When the request finished, on the backend's clock, read by its task.
    pub finished: Instant,
    /// What the request's future returned.
    pub output: T,
}

impl<T> Completed<T> {
    /// `finished - tick.intended`: the latency from when the request was
    /// meant to start. A stall of the load generator or of the machine shows
    /// in every request it held up: this is the latency to report
    /// (corrected for coordinated omission).
    pub fn latency(&self) -> Duration {
        self.finished.saturating_duration_since(self.tick.intended)
    }

    /// `finished - started`: how long the request itself took, from when
    /// its task started it, what a closed-loop tool reports. It hides the
    /// time a request spent waiting to be sent: [`Tick::lateness`] and
    /// [`queueing`](Completed::queueing).
    pub fn service(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }

    /// `released - tick.fired`: how long a cap on requests in flight
    /// ([`Run::max_in_flight`]) held the request back after its tick fired;
    /// zero for a request that was not held. Part of
    /// [`latency`](Completed::latency), not of
    /// [`service`](Completed::service).
    pub fn held(&self) -> Duration {
        self.released.map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(self.tick.fired)
        })
    }

    /// Whether a cap on requests in flight held the request back
    /// ([`released`](Completed::released) is set): what
    /// [`Run::held_count`] counts.
    pub fn was_held(&self) -> bool {
        self.released.is_some()
    }

    /// `started - released` (or `started - tick.fired` for a request not
    /// held): how long the request's task waited, once spawned, before the
    /// executor first polled it.
    pub fn queueing(&self) -> Duration {
        self.started
            .saturating_duration_since(self.released.unwrap_or(self.tick.fired))
    }
}

/// Runs `f(tick)` as its own task at each tick of `schedule`, however many
/// are still in flight, and yields each [`Completed`] request in completion
/// order: an open-loop load generator.
///
/// The schedule's offsets count from one start, read now; the ticks fire as
/// [`ticks`](super::ticks) fires them, on one timer, [`Missed::Burst`] by default, so a
/// slow service cannot slow the arrivals down and hide its own latency
/// (coordinated omission, in wrk2's terms): when the poller or the machine
/// stalls, the ticks it held up still carry their intended instants, and
/// [`Completed::latency`] counts the stall. Each request's start and finish
/// times are read by its own task. The stream owns a clone of `rt`; it
/// holds nothing per future tick, so an endless schedule is fine, and a
/// finished request is freed when it is yielded.
///
/// The ticks fire only while the stream is polled: poll it continuously (as
/// a `while let` loop does), and keep the consumer's work per request small.
///
/// # Cancellation
///
/// Dropping the stream drops its timer and cancels every request in
/// flight.
///
/// # Panics
///
/// If a request panics, the others are cancelled, no further tick fires, and
/// the panic resumes in the task polling the stream; the stream then ends.
/// Spawning panics where [`Spawn::spawn`] does, and the stream panics if the
/// runtime drops a request unfinished (it shut down).
///
/// # Examples
///
/// Poisson arrivals at 200 per second for half a second, against a service
/// that takes 2 ms, on tokio:
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # mod example {
/// use futures::StreamExt;
/// use stagger::prelude::*;
/// use stagger::rt::Tokio;
/// use stagger::schedule::{self, Rate};
///
/// #[tokio::main]
/// # pub
/// async fn main() -> Result<(), stagger::schedule::RateError> {
///     let window = Duration::from_millis(500);
///     let arrivals = schedule::poisson(Rate::per_sec(200.0)?, Tokio.rng()).take_while(|&at| at < window);
///     let mut requests = schedule::run(&Tokio, arrivals, |_tick| async {
///         tokio::time::sleep(Duration::from_millis(2)).await; // call the service here
///     });
///     let mut latencies = Vec::new();
///     while let Some(done) = requests.next().await {
///         latencies.push(done.latency());
///     }
///     latencies.sort();
///     if let Some(p99) = latencies.get(latencies.len() * 99 / 100) {
///         println!("{} requests, p99 {p99:?}", latencies.len());
///     }
///     Ok(())
/// }
/// # }
/// # #[cfg(feature = "tokio")]
/// # example::main().unwrap();
/// ```
pub fn run<R, I, F, Fut>(rt: &R, schedule: I, f: F) -> Run<R, I::IntoIter, F, Fut>
where
    R: Spawn + Sleeper + Clone + Send + 'static,
    I: IntoIterator<Item = Duration>,
    F: FnMut(Tick) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    run_at(rt, rt.now(), schedule, f)
}

/// [`run`] with the schedule's offsets counted from `start`, an instant of
/// the caller's: processes that each run a [`segment`](super::segment) of
/// one schedule pass the same start, turned from the wall clock with
/// [`instant_at`](super::instant_at).
///
/// A `start` in the past makes the requests meant for before now overdue at
/// once: what [`Missed`] says happens to them ([`Missed::Burst`], the
/// default, sends them all now, their latency counted from their intended
/// instants).
///
/// # Cancellation
///
/// As [`run`].
///
/// # Panics
///
/// As [`run`].
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
/// let start = sim.now() + Duration::from_secs(1);
/// let arrivals = schedule::constant(Rate::per_sec(10.0)?).take(2);
/// let done: Vec<_> = sim.block_on(schedule::run_at(&sim, start, arrivals, |_| async {}).collect());
/// assert_eq!(done[1].tick.intended, start + Duration::from_millis(100));
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
pub fn run_at<R, I, F, Fut>(
    rt: &R,
    start: Instant,
    schedule: I,
    f: F,
) -> Run<R, I::IntoIter, F, Fut>
where
    R: Spawn + Sleeper + Clone + Send + 'static,
    I: IntoIterator<Item = Duration>,
    F: FnMut(Tick) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let make = Stamped {
        f,
        clock: rt.clone(),
    };
    Run {
        engine: Engine::new(
            Capped::new(ticks_at(rt, start, schedule)),
            make,
            Spawned::new(rt.clone(), 0, Mode::Stream),
        ),
    }
}

/// Stream for the [`run`] function.
#[must_use = "streams do nothing unless polled; dropping this one cancels its requests"]
pub struct Run<R: Spawn + Sleeper, I, F, Fut: Future> {
    engine: Engine<Due<R, I>, Stamped<F, R>, Requests<R, Fut>>,
}

/// When [`Run`]'s requests are due: its ticks, under its cap.
type Due<R, I> = Capped<Ticks<R, I>, Tick>;

/// Where [`Run`] runs its requests.
type Requests<R, Fut> = Spawned<R, (usize, Duration), Timing<<Fut as Future>::Output>>;

/// What a request's task returns: its tick, its output, when the cap let it
/// go (if it held it), and when it started and finished.
type Timing<T> = (Tick, T, Option<Instant>, Instant, Instant);

impl<R: Spawn + Sleeper, I, F, Fut: Future> Run<R, I, F, Fut> {
    /// Chooses what to do with ticks that fell behind; see [`Missed`].
    /// [`Missed::Burst`], the default, is the one that keeps the latency
    /// honest.
    pub fn missed(mut self, missed: Missed) -> Self {
        self.engine.due_mut().inner_mut().set_missed(missed);
        self
    }

    /// Caps the requests in flight at `k`: a request whose tick fires while
    /// `k` are in flight is held back, in order, until one of them is
    /// yielded, and then starts late. Its latency still counts from its
    /// *intended* instant ([`Completed::latency`], the wrk2 rule), so the
    /// cap's cost shows in the numbers; [`Completed::held`] says how long
    /// each request was held, [`held_count`](Run::held_count) how many were.
    /// A cap of 0 is taken as 1 (one request at a time: a closed loop).
    ///
    /// A slot frees when its request's [`Completed`] is yielded. The ticks
    /// keep firing at their instants while requests are held, and each held
    /// request is kept (a [`Tick`], 40 bytes) until it starts: a service
    /// that stays slower than the rate makes the backlog grow with the rate
    /// times the time spent at the cap, as it would in any open-loop tool
    /// that caps its connections.
    ///
    /// # Examples
    ///
    /// Ten requests 10 ms apart, each taking 25 ms, at most two at a time:
    ///
    /// ```
    /// use futures::StreamExt;
    /// use stagger::prelude::*;
    /// use stagger::schedule::{self, Rate};
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::new();
    /// let clock = sim.clone();
    /// let arrivals = schedule::constant(Rate::every(Duration::from_millis(10))?).take(10);
    /// let mut run = schedule::run(&sim, arrivals, move |_| clock.sleep(Duration::from_millis(25)))
    ///     .max_in_flight(2);
    /// let mut done = Vec::new();
    /// sim.block_on(async {
    ///     while let Some(d) = run.next().await {
    ///         done.push(d);
    ///     }
    /// });
    /// assert!(done.iter().all(|d| d.service() == Duration::from_millis(25)));
    /// // The third request was meant for 20 ms, started at 25 ms when the first finished.
    /// assert_eq!(done[2].held(), Duration::from_millis(5));
    /// assert_eq!(done[2].latency(), Duration::from_millis(30));
    /// assert_eq!(run.held_count(), 8);
    /// # Ok::<(), stagger::schedule::RateError>(())
    /// ```
    pub fn max_in_flight(mut self, k: usize) -> Self {
        self.engine.due_mut().set_limit(k);
        self
    }

    /// The cap set by [`max_in_flight`](Run::max_in_flight), if any.
    pub fn in_flight_cap(&self) -> Option<usize> {
        self.engine.due().limit()
    }

    /// How many requests the cap has held back so far (each a
    /// [`Completed`] whose [`was_held`](Completed::was_held) is true once it
    /// finishes).
    pub fn held_count(&self) -> u64 {
        self.engine.due().held_total()
    }

    /// How many requests the cap holds back now, their ticks fired, waiting
    /// for a slot.
    pub fn held_now(&self) -> usize {
        self.engine.due().held_now()
    }

    /// Sets how late a tick may fire and still be on time (5 ms by
    /// default); see [`Missed`](Missed#tolerance).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.engine.due_mut().inner_mut().set_tolerance(tolerance);
        self
    }

    /// How many ticks [`Missed::Skip`] or [`Missed::Latest`] has dropped so
    /// far.
    pub fn skipped(&self) -> u64 {
        self.engine.due().inner().skipped()
    }

    /// How many requests are in flight: spawned, not yet yielded.
    pub fn in_flight(&self) -> usize {
        self.engine.work().in_flight()
    }
}

// Nothing in it is pinned: the requests run in tasks, the timer is boxed,
// and `f` is only ever called.
impl<R: Spawn + Sleeper, I, F, Fut: Future> Unpin for Run<R, I, F, Fut> {}

engine_stream! {
    impl<R, I, F, Fut> Run<R, I, F, Fut> => Completed<Fut::Output>, map completed;
    where
        R: Spawn + Sleeper + Clone + Send + 'static,
        I: Iterator<Item = Duration>,
        F: FnMut(Tick) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
}

/// A finished request, from what its task returned.
fn completed<T>(done: Finished<Timing<T>>) -> Completed<T> {
    let (tick, output, released, started, finished) = done.output;
    Completed {
        tick,
        released,
        started,
        finished,
        output,
    }
}

impl<R, I, F, Fut> fmt::Debug for Run<R, I, F, Fut>
where
    R: Spawn + Sleeper,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("ticks", self.engine.due().inner())
            .field("cap", &self.engine.due().limit())
            .field("held", &self.engine.due().held_now())
            .field("in_flight", &self.engine.work().in_flight())
            .finish()
    }
}

/// Makes each tick's request, timed by its own task.
struct Stamped<F, R> {
    f: F,
    clock: R,
}

impl<F, R, Fut> MakeWork<Tick> for Stamped<F, R>
where
    F: FnMut(Tick) -> Fut,
    R: Sleeper + Clone,
    Fut: Future,
{
    type Work = Timed<R, Fut>;

    fn make(&mut self, tick: Tick) -> Timed<R, Fut> {
        Timed {
            request: (self.f)(tick),
            clock: self.clock.clone(),
            tick,
            released: None,
            started: None,
        }
    }

    fn make_held(&mut self, tick: Tick) -> Timed<R, Fut> {
        let released = Some(self.clock.now());
        Timed {
            released,
            ..self.make(tick)
        }
    }
}

pin_project! {
    /// A request that notes when it started (its first poll, in its task)
    /// and when it finished.
    struct Timed<R, Fut> {
        #[pin]
        request: Fut,
        clock: R,
        tick: Tick,
        released: Option<Instant>,
        started: Option<Instant>,
    }
}

impl<R: Sleeper, Fut: Future> Future for Timed<R, Fut> {
    type Output = Timing<Fut::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = *this.started.get_or_insert_with(|| this.clock.now());
        let output = core::task::ready!(this.request.poll(cx));
        Poll::Ready((
            *this.tick,
            output,
            *this.released,
            started,
            this.clock.now(),
        ))
    }
}
