//! Latency recording for load tests, on HdrHistogram (the `hdrhistogram`
//! feature).
//!
//! A [`Recorder`] is fed each request's [`Completed`] as a
//! [`run`](crate::schedule::run) yields it and keeps two histograms of
//! latencies, in microseconds to three significant digits, as wrk2 and
//! HdrHistogram's own tools keep them:
//!
//! - **corrected**: [`Completed::latency`], from the request's *intended*
//!   start, the latency to report (coordinated omission corrected: a stall
//!   of the load generator, a cap on requests in flight, a busy executor
//!   all count);
//! - **uncorrected**: [`Completed::service`], from when the request
//!   actually started, what a closed-loop tool reports.
//!
//! It counts successes, errors by kind, late starts and requests a cap
//! held back, and the achieved rate. [`Recorder::interval`] takes what
//! came since the last interval, for live progress and for an
//! [`HdrLog`] (HdrHistogram's interval log, V2 compressed histograms, which
//! HdrHistogram's `HistogramLogProcessor` and plotters read);
//! [`Recorder::merge`] adds another recorder's counts (threads, or the
//! segments of one schedule, [`Segment`](crate::schedule::Segment)).
//! [`Percentiles`] is the table wrk2's `--u_latency` and oha print, corrected
//! beside uncorrected; a `Recorder` prints its summary and that table.
//!
//! [`Completed`]: crate::schedule::Completed
//! [`Completed::latency`]: crate::schedule::Completed::latency
//! [`Completed::service`]: crate::schedule::Completed::service
//!
//! # Examples
//!
//! ```
//! use futures::StreamExt;
//! use stagger::load::Recorder;
//! use stagger::prelude::*;
//! use stagger::schedule::{self, Rate};
//! use stagger::sim::Sim;
//!
//! let sim = Sim::new();
//! let clock = sim.clone();
//! let arrivals = schedule::constant(Rate::per_sec(100.0)?).take(100);
//! let mut recorder = Recorder::new(sim.now());
//! sim.block_on(async {
//!     let mut requests = schedule::run(&sim, arrivals, move |_| clock.sleep(Duration::from_millis(3)))
//!         .max_in_flight(8);
//!     while let Some(done) = requests.next().await {
//!         recorder.record(&done);
//!     }
//! });
//! assert_eq!(recorder.successes(), 100);
//! let max = recorder.percentiles().rows()[6]; // p100
//! assert_eq!((max.corrected, max.uncorrected), (Duration::from_millis(3), Duration::from_millis(3)));
//! assert!((recorder.achieved_rate() - 100.0).abs() < 1e-6);
//! println!("{recorder}");
//! # Ok::<(), stagger::schedule::RateError>(())
//! ```

mod log;
mod percentiles;
mod recorder;

pub use self::log::HdrLog;
pub use self::percentiles::{PERCENTILES, Percentiles, Row};
pub use self::recorder::{Recorder, Snapshot};
/// The `hdrhistogram` crate, whose `Histogram` the recorder exposes.
pub use hdrhistogram;
