//! Randomized delays and concurrent fan-out that run on any executor.
//!
//! stagger ports a classic asyncio exercise to Rust and makes it dependable:
//! [`wait_random`] sleeps a uniformly random delay in `[0, max_delay]`,
//! [`wait_n`] runs `n` of those at once and returns the delays in ascending
//! order, [`measure_time`] times that from synchronous code, and
//! [`task_wait_random`] / [`task_wait_n`] do the same through spawned tasks.
//! Use them for jittered retries, staggered start-up, latency simulation and
//! load generation.
//!
//! Every combinator is written once, against two small traits —
//! [`Sleeper`] (timers and their clock) and [`Spawn`] (tasks) — and runs on
//! whichever backend you pick in [`rt`].
//!
//! # Examples
//!
//! ```
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let sim = Sim::new();
//! let delays = sim.block_on(stagger::wait_n(&sim, 5, Duration::from_millis(5)));
//! assert_eq!(delays.len(), 5);
//! assert!(delays.is_sorted());
//! ```
//!
//! Inside async code, use the runtime you are already on:
//!
//! ```
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let sim = Sim::new();
//! # sim.block_on(async {
//! let delay = stagger::wait_random(&sim, Duration::from_millis(10)).await;
//! assert!(delay <= Duration::from_millis(10));
//! # });
//! ```
//!
//! Seed the generator for reproducible runs; the same seed gives the same
//! delays on every backend:
//!
//! ```
//! use rand::SeedableRng;
//! use rand::rngs::StdRng;
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let sim = Sim::new();
//! let mut rng = StdRng::seed_from_u64(42);
//! let delays = sim.block_on(stagger::wait_n_with(&sim, &mut rng, 3, Duration::from_millis(5)));
//! # assert_eq!(delays.len(), 3);
//! ```
//!
//! # Feature flags
//!
//! Backends are additive: enable any combination.
//!
//! - `tokio` *(default)*: [`rt::Tokio`].
//! - `async-std`: [`rt::AsyncStd`] (async-std is discontinued upstream but
//!   still supported here).
//! - `smol`: [`rt::Smol`].
//!
//! With no feature, the generic core ([`Sleeper`], [`Spawn`], [`Runtime`] and
//! the combinators) still builds, for your own backend. Naming a backend
//! whose feature is off is a compile error, and rustc's note names the
//! feature to enable. See `features.md` for the full table.
//!
//! # Guarantees
//!
//! - **Ordering**: [`wait_n`] and [`task_wait_n`] return exactly `n` delays,
//!   ascending, on every backend, even when a timer wheel completes waiters
//!   out of order.
//! - **One start**: all waiters of one call share one start instant, so the
//!   call ends near `start + longest delay` at any `n`.
//! - **Cancellation**: dropping a future drops its timers; dropping a
//!   [`JoinHandle`] cancels its task on every backend.
//! - **Panics**: a panic in a spawned task resumes in whoever awaits its
//!   handle; [`JoinHandle::try_join`] returns it as a [`JoinError`] instead.
//! - **Input**: no function panics on a `Duration`; float seconds go through
//!   [`try_from_secs_f64`], which rejects bad values with a [`SecsError`].
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod completed;
mod group;
pub mod jitter;
mod measure;
pub mod rt;
mod secs;
pub mod sim;
mod sleeper;
mod spawn;
mod task;
mod wait;

pub use crate::completed::{AsCompleted, as_completed, as_completed_from, as_completed_with};
pub use crate::measure::{Measurement, measure_time, measure_time_with};
pub use crate::secs::{Reason, SecsError, try_from_secs_f64};
pub use crate::sleeper::Sleeper;
pub use crate::spawn::{Runtime, Spawn};
pub use crate::task::{JoinError, JoinHandle, TryJoin};
pub use crate::wait::{
    DEFAULT_MAX_DELAY, task_wait_n, task_wait_n_from, task_wait_n_with, task_wait_random, wait_n,
    wait_n_from, wait_n_with, wait_random, wait_random_from, wait_random_with,
};

/// The traits needed to call backend methods, and
/// [`Duration`](core::time::Duration).
///
/// ```
/// use stagger::prelude::*;
/// # let _ = Duration::ZERO;
/// ```
pub mod prelude {
    pub use crate::{Runtime, Sleeper, Spawn};
    pub use core::time::Duration;
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
