//! Randomized delays and concurrent fan-out that run on any executor.
//!
//! stagger puts work on random delays: [`staggered`] starts each of many
//! futures after its own random delay (staggered start-up of many clients,
//! jittered retries and heartbeats) and yields each outcome as it finishes;
//! [`task_staggered`] does the same with a task per item; [`timeout`] bounds
//! any future. Underneath are the five functions of a classic asyncio
//! exercise: [`wait_random`] sleeps a uniformly random delay in
//! `[0, max_delay]`, [`wait_n`] runs `n` of those at once and returns the
//! delays in ascending order, [`measure_time`] times that from synchronous
//! code, and [`task_wait_random`] / [`task_wait_n`] do the same through
//! spawned tasks.
//!
//! Every combinator is written once, against two small traits —
//! [`Sleeper`] (timers and their clock) and [`Spawn`] (tasks) — and runs on
//! whichever backend you pick: tokio, async-std or smol in [`rt`], or
//! [`Sim`](sim::Sim), a deterministic virtual clock for tests.
//!
//! # Examples
//!
//! Staggered start-up in a tokio program: fifty clients, each connecting
//! after its own random delay of up to two seconds, each outcome as it
//! comes.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # mod example {
//! use futures::StreamExt;
//! use stagger::prelude::*;
//! use stagger::rt::Tokio;
//!
//! async fn connect(id: usize) -> std::io::Result<usize> {
//!     Ok(id) // open a connection here
//! }
//!
//! #[tokio::main]
//! # pub
//! async fn main() {
//!     # let _ = Duration::from_secs(2);
//!     # let max_delay = Duration::from_millis(20);
//!     # /*
//!     let max_delay = Duration::from_secs(2);
//!     # */
//!     let mut clients = stagger::staggered(&Tokio, 0..50, max_delay, connect);
//!     while let Some(stagger::Done { index, delay, output }) = clients.next().await {
//!         println!("client {index} started after {delay:?}: {output:?}");
//!     }
//!
//!     // The exercise: five waiters at once, their delays in ascending order.
//!     let delays = stagger::wait_n(&Tokio, 5, Duration::from_millis(10)).await;
//!     assert!(delays.is_sorted());
//!
//!     // stagger's futures are `Send + 'static`: spawn them like any other.
//!     let task = tokio::spawn(stagger::wait_random(&Tokio, Duration::from_millis(10)));
//!     assert!(task.await.unwrap() <= Duration::from_millis(10));
//! }
//! # }
//! # #[cfg(feature = "tokio")]
//! # example::main();
//! ```
//!
//! From synchronous code, [`Runtime::block_on`] and [`measure_time`] enter
//! the runtime themselves:
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! use stagger::prelude::*;
//! use stagger::rt::Tokio;
//!
//! let m = stagger::measure_time(&Tokio, 100, Duration::from_millis(20));
//! assert!(m.total >= m.longest); // 100 waiters take about the longest one
//! # }
//! ```
//!
//! On smol (and likewise async-std), with the `smol` feature:
//!
//! ```
//! # #[cfg(feature = "smol")] {
//! use stagger::prelude::*;
//! use stagger::rt::Smol;
//!
//! let delays = smol::block_on(stagger::wait_n(&Smol, 5, Duration::from_millis(10)));
//! assert_eq!(delays.len(), 5);
//! # }
//! ```
//!
//! # Testing timing code
//!
//! Write the code under test against [`Sleeper`] (or [`Runtime`]) instead of
//! a runtime, and test it on [`Sim`](sim::Sim): hours of delays run in
//! microseconds, timestamps are exact, so assertions use `==`, and a seed
//! replays a whole run. Tests of tokio-only code can pause tokio's clock
//! instead, with `#[tokio::test(start_paused = true)]`: stagger reads
//! tokio's clock, so the delays then pass in virtual time too (rounded up
//! to tokio's millisecond).
//!
//! ```
//! use stagger::prelude::*;
//! use stagger::rand::SeedableRng;
//! use stagger::rand::rngs::StdRng;
//! use stagger::sim::Sim;
//!
//! /// Code under test: start every replica within `window`.
//! async fn start_replicas<S: Sleeper>(timer: &S, rng: &mut StdRng, window: Duration) -> Vec<Duration> {
//!     stagger::wait_n_with(timer, rng, 3, window).await
//! }
//!
//! let sim = Sim::new();
//! let mut rng = StdRng::seed_from_u64(42); // the same delays on every run
//! let delays = sim.block_on(start_replicas(&sim, &mut rng, Duration::from_secs(60)));
//! assert_eq!(sim.elapsed(), delays[2]); // exactly: no lateness in virtual time
//! ```
//!
//! The same test on tokio's paused clock:
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # mod example {
//! use stagger::prelude::*;
//! use stagger::rt::Tokio;
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)] // or #[tokio::test(start_paused = true)]
//! # pub
//! async fn main() {
//!     let start = Tokio.now();
//!     let delays = stagger::wait_n(&Tokio, 3, Duration::from_secs(60)).await;
//!     assert!(Tokio.now() - start >= delays[2]); // a minute, in no time
//! }
//! # }
//! # #[cfg(feature = "tokio")]
//! # example::main();
//! ```
//!
//! Seeded generators come from [`rand`](https://docs.rs/rand/0.10), re-exported so that its version is
//! the one the `_with` and `_from` forms take. Other distributions, such as
//! the jitter strategies in [`jitter`], plug into the `_from` forms:
//!
//! ```
//! use stagger::jitter::EqualJitter;
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//!
//! let sim = Sim::new();
//! let max = Duration::from_secs(1);
//! let equal = sim.block_on(stagger::wait_n_from(&sim, &mut stagger::rand::rng(), 3, EqualJitter::new(max)));
//! assert!(equal.iter().all(|&d| d >= max / 2));
//! ```
//!
//! To act on each waiter of the exercise as it finishes, like Python's
//! `asyncio.as_completed`, use the [`as_completed`] stream: it is
//! [`staggered`] with no work.
//!
//! # Sim or a real backend?
//!
//! Use [`Sim`](sim::Sim) in tests and simulations: hours of delays run in
//! microseconds, timestamps are exact and a seed reproduces a whole run.
//! Use a backend from [`rt`] when the waiting is real: pacing real work,
//! talking to the outside world, or measuring real timer latency.
//!
//! # Feature flags
//!
//! Backends are additive: enable any combination.
//!
//! - `tokio` *(default)*: [`rt::Tokio`], on the ambient runtime, and
//!   [`rt::TokioHandle`], on a runtime of yours.
//! - `async-std`: [`rt::AsyncStd`] (async-std is discontinued upstream but
//!   still supported here).
//! - `smol`: [`rt::Smol`], on smol's global executor, and
//!   [`rt::SmolExecutor`], on an executor of yours.
//! - `backon`: [`interop::BackonSleeper`], backon's retries on any
//!   [`Sleeper`].
//! - `hyper`: [`interop::HyperTimer`], hyper's timer on any [`Sleeper`].
//!
//! [`Sim`](sim::Sim) needs no feature. With no feature at all, the generic
//! core ([`Sleeper`], [`Spawn`], [`Runtime`], the combinators and `Sim`)
//! still builds, for your own backend. Naming a backend whose feature is off
//! is a compile error, and rustc's note names the feature to enable. See
//! `features.md` for the full table.
//!
//! # Guarantees
//!
//! Each holds on every backend — tokio (current-thread, and multi-thread
//! through [`TokioHandle`](rt::TokioHandle)), async-std, smol (global, and
//! an executor of the caller's through [`SmolExecutor`](rt::SmolExecutor))
//! and Sim — and is proven by the conformance suite in
//! `tests/conformance/`, which runs one generic body per backend (test names
//! in parentheses).
//!
//! - **Staggered work**: [`staggered`] and [`task_staggered`] call `f` for
//!   an item only once its delay has elapsed, so its work starts no earlier
//!   than `start + delay`; they yield exactly one [`Done`] per item, with
//!   its own index and delay, and an exact `size_hint`; with no items they
//!   end at once (`staggered_runs_each_item_once_after_its_delay`,
//!   `staggered_zero_items_end_at_once`; on Sim, the work starts exactly at
//!   its delay: `sim_staggered` in `tests/properties.rs`). Items wait
//!   concurrently (`staggered_runs_concurrently`). Spawned work runs on its
//!   own once spawned; inline work only while the stream is polled
//!   (`spawned_work_runs_without_the_stream_being_polled`). A panic in
//!   inline work resumes in the poller and the others go on; in spawned
//!   work it cancels the others and ends the stream
//!   (`staggered_work_panic_resumes_in_the_poller`,
//!   `staggered_resumes_every_fault`). The streams borrow nothing
//!   (`staggered_is_send_and_spawnable`).
//! - **Ordering**: [`wait_n`] and [`task_wait_n`] return exactly `n` delays,
//!   ascending, even when a timer wheel completes waiters out of order: the
//!   delays are sorted when drawn, never taken from completion order
//!   (`wait_n_ascending_under_ties`, `task_wait_n_ascending_under_ties`,
//!   and the property tests in `tests/properties.rs`).
//! - **One start**: all waiters of one call share one start, read once from
//!   the backend's clock when the function is called; waiter `i` sleeps
//!   until `start + delay_i` (`wait_n_shares_one_start`,
//!   `task_wait_n_shares_one_start`).
//! - **Concurrency**: `n` waiters take about the longest delay, not the sum
//!   (`wait_n_runs_concurrently`, `task_wait_n_runs_concurrently`).
//! - **Cancellation**: dropping a [`wait_n`] future, an [`as_completed`] or
//!   [`staggered`] stream or a [`timeout`] drops every pending timer and
//!   unfinished work future (`dropped_wait_n_drops_timers`,
//!   `dropped_as_completed_drops_timers`,
//!   `dropped_staggered_drops_timers_and_work`,
//!   `timeout_drops_its_future_and_timer`); dropping a [`task_wait_n`]
//!   future or a [`task_staggered`] stream cancels every unfinished task
//!   (`dropped_task_wait_n_cancels_tasks`, `dropped_staggered_drops_timers_and_work`):
//!   once the drop returns, no task starts another poll, and only polls
//!   already running on other threads of a multi-threaded runtime (one per
//!   thread at most) can still complete, as with tokio's `abort`
//!   (`dropped_task_wait_n_starts_no_new_poll`). Dropping a [`JoinHandle`]
//!   cancels its task, [`JoinHandle::detach`] opts out
//!   (`dropped_handle_cancels_task`, `detached_task_completes`).
//!   [`JoinHandle::abort`] cancels a task that can then be awaited, as
//!   tokio's: [`try_join`](JoinHandle::try_join) returns only once the
//!   task's future has been dropped — after a poll in progress on another
//!   thread, without a poll for a task not polled yet — with a cancelled
//!   [`JoinError`], the output of a task that finished first, or the panic
//!   of the future's destructor (`aborted_task_is_gone_once_awaited`,
//!   `abort_waits_for_a_poll_in_progress`,
//!   `aborted_task_with_panicking_drop_reports_it`). On
//!   [`Sim`](sim::Sim), a task cancelled while no `block_on` runs is
//!   dropped at once, even one holding the last clones of its own `Sim`
//!   (`tests/sim.rs`).
//! - **Panics**: a panic in a spawned task — in its future's poll or in its
//!   destructor — resumes in whoever awaits its handle, and
//!   [`JoinHandle::try_join`] returns it as a [`JoinError`]; a task is
//!   reported finished even then, and its future is dropped exactly once
//!   (`await_resumes_panic`, `try_join_reports_panic`,
//!   `join_handle_reports_every_fault`). A panicking member makes
//!   [`task_wait_n`] cancel the others and resume the panic in its caller,
//!   like Python's `TaskGroup`; when a poll panicked, that panic wins over
//!   later ones of destructors (`task_wait_n_panic_cancels_the_rest`,
//!   `task_wait_n_resumes_every_fault`). Inline fan-outs resume the panic
//!   of a sleep's poll or destructor in their poller (`wait_n_resumes_every_fault`,
//!   `as_completed_resumes_every_fault`). The destructor of a cancelled
//!   task's future may panic: nobody is left to hear of it, so the panic is
//!   discarded and the runtime runs on (`cancelled_task_with_panicking_drop`,
//!   `dropped_task_wait_n_with_panicking_drop`).
//! - **Concurrency core**: what the handles and the spawned fan-outs share
//!   across threads (`src/task.rs`, `src/group.rs`) is also checked by loom
//!   in every interleaving of its races, up to a preemption bound: detach,
//!   drop and abort against completion and wakes, panics in poll and in
//!   drop, a group dropped while members finish, its batched running-count
//!   reservation: no lost wake-up, no future or output dropped twice or
//!   never (`src/loom_models/`; run by `scripts/test.sh` under
//!   `--cfg loom`).
//! - **Clocks**: [`measure_time`] reads the backend's clock — virtual on Sim,
//!   where `total == longest` exactly (`tests/properties.rs`), and tokio's
//!   paused clock under `start_paused`, where the total is the longest delay
//!   rounded up to tokio's millisecond (`tests/tokio.rs`).
//! - **Entering**: [`Runtime::block_on`] and [`measure_time`] work from plain
//!   synchronous code on every backend (every conformance test starts
//!   there). Nested directly in another `block_on`, a `block_on` runs (smol,
//!   async-std) or panics with a message saying so (tokio, Sim)
//!   (`nested_block_on_works_or_panics_clearly`); inside a task spawned
//!   through stagger it panics on every backend, where it would otherwise
//!   block an executor thread that other tasks need, and deadlock
//!   (`block_on_inside_a_spawned_task_panics`; a `Sim` can still run
//!   *another* `Sim`). These panics point at the caller's line. tokio used
//!   outside a runtime, or in one without timers, panics with a message
//!   naming the fix (`tests/tokio.rs`).
//! - **Determinism**: a seeded generator gives the same delays on every
//!   backend, for every combinator (`seed_fixes_delays`,
//!   `distributions_plug_in`), and the same `(index, delay)` pairs to
//!   [`staggered`] and [`task_staggered`]
//!   (`staggered_runs_each_item_once_after_its_delay`); on Sim also the same
//!   completion order and timestamps (`sim_is_deterministic`,
//!   `sim_staggered`).
//! - **Sim**: paused, its clock moves only through [`Sim::advance`](sim::Sim::advance),
//!   which fires the timers on its way each at its own deadline, ties in
//!   creation order (`paused_time_moves_only_through_advance` in
//!   `tests/sim.rs`); a `block_on` waiting on a paused clock panics saying
//!   so. A seed fixes [`Sim::rng`](sim::Sim::rng)'s generators, and a
//!   program using them replays event for event
//!   (`sim_traces_replay_from_a_seed`, `tests/properties.rs`); every panic
//!   of a `Sim` names its seed (`every_sim_panic_names_the_seed`). A sleep
//!   past what an `Instant` holds never fires, and a deadlock waiting on
//!   one says so (`waiting_only_on_unreachable_deadlines_says_so`).
//! - **Distributions**: the [`jitter`] strategies draw what their formulas
//!   say, checked on their means and shares over 100 000 seeded draws, not
//!   only on their bounds (`src/jitter.rs`).
//! - **Input**: no function panics on any `Duration`: `Duration::MAX` or ten
//!   years start and cancel cleanly (`*_huge_max_is_cancellable`), a
//!   deadline past what `Instant` holds (on tokio, within a millisecond of
//!   it, which tokio's rounding would overflow) never fires
//!   (`deadlines_within_a_millisecond_of_the_last_instant_never_fire`), a
//!   [`timeout`] that long is no timeout
//!   (`timeout_past_instant_range_never_fires`), `n = 0` returns at once
//!   (`*_zero_is_empty`); float seconds go through
//!   [`try_from_secs_f64`], which rejects NaN, infinities, negatives and
//!   overflow with a [`SecsError`] naming the value (`tests/secs.rs`).
//!
//! What can still panic is listed in each item's `# Panics` section: using
//! [`rt::Tokio`] outside a tokio runtime, a `block_on` nested or inside a
//! task, a [`Sim`](sim::Sim) deadlock or paused clock, allocating `n` delays
//! when they cannot fit in memory, and a spawned fan-out whose runtime
//! dropped one of its tasks unfinished (it shut down): the fan-out cannot
//! give what it promised, and says so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod completed;
mod engine;
mod group;
pub mod interop;
pub mod jitter;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
mod measure;
pub mod rt;
pub mod schedule;
mod secs;
pub mod sim;
mod sleeper;
mod spawn;
mod staggered;
mod task;
mod timeout;
mod wait;
mod waiter;
mod work;

/// The [`rand`](https://docs.rs/rand) crate stagger draws its delays with,
/// re-exported so that seeded generators come from the version the
/// `_with` and `_from` functions take, whatever `rand` the caller depends on.
///
/// ```
/// use stagger::rand::SeedableRng;
/// use stagger::rand::rngs::StdRng;
///
/// let mut rng = StdRng::seed_from_u64(42);
/// # let _ = &mut rng;
/// ```
pub use rand;

pub use crate::completed::{AsCompleted, as_completed, as_completed_from, as_completed_with};
pub use crate::measure::{Measurement, measure_time, measure_time_with};
pub use crate::secs::{Reason, SecsError, try_from_secs_f64};
pub use crate::sleeper::Sleeper;
pub use crate::spawn::{Runtime, Spawn};
pub use crate::staggered::{
    Done, Staggered, TaskStaggered, staggered, staggered_from, staggered_with, task_staggered,
    task_staggered_from, task_staggered_with,
};
pub use crate::task::{JoinError, JoinHandle, TryJoin};
pub use crate::timeout::{Elapsed, Timeout, timeout, timeout_at};
pub use crate::wait::{
    DEFAULT_MAX_DELAY, TaskWaitN, WaitN, WaitRandom, task_wait_n, task_wait_n_from,
    task_wait_n_with, task_wait_random, task_wait_random_from, task_wait_random_with, wait_n,
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

// The README's example uses tokio.
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
