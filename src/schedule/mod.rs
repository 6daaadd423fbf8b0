//! Open-loop schedules: arrival processes, ticks and runs that never hide
//! latency.
//!
//! A **schedule** is any `IntoIterator<Item = Duration>` of non-decreasing
//! offsets from one start, so std's adapters compose with it (`take`,
//! `take_while`, `chain`, `map`). The constructors here return plain
//! iterators:
//!
//! - [`constant`]`(rate)`: offset `i` is `i / rate`, computed from `i`
//!   (no drift);
//! - [`poisson`]`(rate, rng)`: exponential gaps with mean `1 / rate`, the
//!   arrivals of independent users;
//! - [`spread`]`(n, window, rng)`: `n` uniform offsets in `[0, window]`,
//!   ascending, for staggered start-up;
//! - [`jittered`]`(schedule, distribution, rng)`: each offset delayed by a
//!   random draw, order kept, for jittered intervals;
//! - [`staged`]`(stages)` and [`staged_poisson`]`(stages, rng)`: a rate that
//!   changes over time, in [`Stage`]s (ramp up, hold, ramp down, as k6's
//!   `ramping-arrival-rate`), arrival `i` where the rate's integral reaches
//!   `i`, in closed form (no drift);
//! - [`segment`]`(schedule, seg)`: segment `i` of `n` of a schedule, every
//!   `n`th arrival, so that `n` processes given the same schedule, seed and
//!   start ([`instant_at`] from the wall clock, [`run_at`]) together send
//!   exactly the schedule (see [`Segment`] for a Kubernetes Indexed Job
//!   running them).
//!
//! [`ticks`] fires a schedule on any backend, one timer at a time, yielding
//! a [`Tick`] (index, intended instant, fired instant) for each
//! ([`ticks_at`] from a given instant; [`interval`] and [`interval_at`],
//! tokio's names, at a constant rate); [`run`]
//! starts a task at each tick and yields each request's [`Completed`] with
//! its latency.
//!
//! # Coordinated omission
//!
//! A load generator that waits for each response before sending the next
//! request (closed loop) sends fewer requests exactly when the server is
//! slow, and measures each request's latency from when it finally sent it:
//! a one-second stall then shows as one slow request, though every request
//! that should have been sent during that second waited too. wrk2 and oha
//! avoid this the way stagger does: every request is scheduled from one
//! start at the chosen rate (request `i` at `start + i / rate`), whatever
//! happens to the others, and its latency is measured from that *intended*
//! instant. [`run`] sends open loop; [`Completed::latency`] is measured from
//! the intended instant, [`Completed::service`] from when the request's task
//! started it, and the gap between their percentiles is the coordinated
//! omission a closed-loop tool would have hidden (see `examples/load.rs`;
//! [`Tick::lateness`], [`Completed::held`] and [`Completed::queueing`] say
//! where the gap came from: ticks behind schedule, a cap on requests in
//! flight, or tasks waiting for the executor). When ticks fall behind,
//! [`Missed::Burst`], the default, fires every overdue tick at once with its
//! true intended instant, so none of the delay is lost.
//!
//! # A cap on requests in flight
//!
//! An open-loop run sends each request on time however many are in flight:
//! a stalled service gathers thousands, each a connection or a socket.
//! [`Run::max_in_flight`] caps them. A request the cap holds back starts
//! when a slot frees, late, and its latency still counts from its intended
//! instant (wrk2's rule): the cap never hides the stall, it moves the wait
//! from the server's queue to the client's, and [`Completed::held`],
//! [`Run::held_count`] and the recorder's counts say how many waited and
//! how long.
//!
//! # Recording
//!
//! With the `hdrhistogram` feature, `stagger::load::Recorder` records each
//! [`Completed`] into corrected and uncorrected histograms, counts errors by
//! kind, late starts and held requests, and prints the percentiles table;
//! its interval snapshots feed a progress line and HdrHistogram's interval
//! log, and recorders merge (`examples/staged_load.rs`).
//!
//! # Examples
//!
//! Ten requests a second for a second, on Sim's exact clock:
//!
//! ```
//! use futures::StreamExt;
//! use stagger::prelude::*;
//! use stagger::schedule::{self, Rate};
//! use stagger::sim::Sim;
//!
//! let sim = Sim::new();
//! let clock = sim.clone();
//! let second = Duration::from_secs(1);
//! let arrivals = schedule::constant(Rate::per_sec(10.0)?).take_while(|&at| at < second);
//! let requests = schedule::run(&sim, arrivals, move |_tick| clock.sleep(Duration::from_millis(5)));
//! let done: Vec<_> = sim.block_on(requests.collect());
//! assert_eq!(done.len(), 10);
//! assert!(done.iter().all(|d| d.latency() == Duration::from_millis(5)));
//! # Ok::<(), stagger::schedule::RateError>(())
//! ```

mod arrivals;
mod rate;
mod run;
mod segment;
mod stages;
mod ticks;

pub use self::arrivals::{
    Constant, Jittered, Poisson, Spread, constant, jittered, poisson, spread,
};
pub use self::rate::{Rate, RateError, RateReason};
pub use self::run::{Completed, Run, run, run_at};
pub use self::segment::{Segment, SegmentError, Segmented, instant_at, segment};
pub use self::stages::{Stage, Staged, StagedPoisson, staged, staged_poisson};
pub use self::ticks::{
    DEFAULT_TOLERANCE, Missed, Tick, Ticks, interval, interval_at, ticks, ticks_at,
};
