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
//!     while let Some(client) = clients.next().await {
//!         let (index, delay, late) = (client.index, client.delay, client.lateness());
//!         println!("client {index}: delay {delay:?}, started {late:?} late: {:?}", client.output);
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
//! use stagger::sim::Sim;
//!
//! /// Code under test: start every replica within `window`.
//! async fn start_replicas<S: Sleeper>(timer: &S, window: Duration) -> Vec<Duration> {
//!     stagger::wait_n(timer, 3, window).await // draws through `timer.rng()`
//! }
//!
//! let run = || {
//!     let sim = Sim::seeded(42); // the same delays on every run
//!     let delays = sim.block_on(start_replicas(&sim, Duration::from_secs(60)));
//!     assert_eq!(sim.elapsed(), delays[2]); // exactly: no lateness in virtual time
//!     delays
//! };
//! assert_eq!(run(), run());
//! ```
//!
//! Every draw made through a backend comes from its generator,
//! [`Sleeper::rng`]: the forms without `_with` take one at each call, and a
//! library written against the traits draws from it too. On a seeded `Sim`
//! that is the seed's stream, so the seed replays them all, with no
//! generator passed by hand; on the real backends, a fast generator seeded
//! from the thread's. A [paused](sim::Sim::pause) `Sim` also steps the way
//! tokio users ask for: [`next_deadline`](sim::Sim::next_deadline),
//! [`advance_to_next`](sim::Sim::advance_to_next),
//! [`run_until_idle`](sim::Sim::run_until_idle).
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
//! let equal = sim.block_on(stagger::wait_n_from(&sim, &mut sim.rng(), 3, EqualJitter::new(max)));
//! assert!(equal.iter().all(|&d| d >= max / 2));
//! ```
//!
//! Whole services test the same way: [`sim::net`] is a network on the
//! `Sim`'s clock and seed, with connections whose latency is drawn per
//! segment, partitions, resets and refused connects; its streams are
//! futures-io (and, with the features, tokio and hyper) I/O, so a hyper
//! client and server run on it unchanged (`examples/sim_service.rs`).
//!
//! To act on each waiter of the exercise as it finishes, like Python's
//! `asyncio.as_completed`, use the [`as_completed`] stream: it is
//! [`staggered`] with no work.
//!
//! # Building a library on stagger
//!
//! Write the library against the traits and leave the backend to its user:
//! [`Sleeper`] for code that only waits, [`Runtime`] for code that also
//! spawns or enters from synchronous code. `R: Runtime` carries every bound
//! the spawned fan-outs and the executors' own `spawn` functions ask for —
//! `Clone + Send + Sync + 'static`, with `Send + 'static` sleeps — so generic
//! code compiles as written, with nothing to add from rustc's suggestions.
//! Sleeps are not `Unpin` on any backend ([`SimSleep`](sim::SimSleep) is not
//! either), so code tested on `Sim` compiles for tokio: pin a sleep
//! (`std::pin::pin!`) to poll it by hand. Draw random numbers through
//! [`Sleeper::rng`], so that a user's seeded `Sim` replays them too.
//!
//! ```
//! use stagger::prelude::*;
//! use stagger::rand::RngExt;
//! use stagger::{JoinHandle, StreamExt};
//!
//! /// Probes every target, each in its own task, staggered over `window`;
//! /// the results as they come.
//! pub async fn probe_all<R: Runtime>(rt: &R, targets: Vec<String>, window: Duration) -> Vec<(String, bool)> {
//!     let mut probes = stagger::task_staggered(rt, targets, window, |target| async move {
//!         let healthy = !target.is_empty(); // a real check here
//!         (target, healthy)
//!     });
//!     let mut results = Vec::new();
//!     while let Some(done) = probes.next().await {
//!         results.push(done.output);
//!     }
//!     results
//! }
//!
//! /// The same from synchronous code.
//! pub fn probe_all_blocking<R: Runtime>(rt: &R, targets: Vec<String>) -> Vec<(String, bool)> {
//!     rt.block_on(probe_all(rt, targets, Duration::from_millis(10)))
//! }
//!
//! /// A heartbeat in the background, every `every` plus up to a tenth of
//! /// it: the jitter comes from the backend.
//! pub fn spawn_heartbeat<R: Runtime>(rt: &R, every: Duration, beats: usize) -> JoinHandle<usize> {
//!     let timer = rt.clone();
//!     rt.spawn(async move {
//!         for _ in 0..beats {
//!             let jitter = timer.rng().random_range(Duration::ZERO..=every / 10);
//!             timer.sleep(every + jitter).await;
//!         }
//!         beats
//!     })
//! }
//!
//! // The user picks the backend: here Sim, in a test.
//! let sim = stagger::sim::Sim::seeded(7);
//! let results = probe_all_blocking(&sim, vec!["db".into(), "".into()]);
//! assert_eq!(results.len(), 2);
//! assert_eq!(sim.block_on(spawn_heartbeat(&sim, Duration::from_secs(1), 3)), 3);
//! ```
//!
//! The library itself needs no backend: depend on stagger with
//! `default-features = false`, and forward features so that the
//! application picks one:
//!
//! ```toml
//! [dependencies]
//! stagger = { version = "0.1", default-features = false }
//!
//! [features]
//! default = ["tokio"]
//! tokio = ["stagger/tokio"]
//! smol = ["stagger/smol"]
//! async-std = ["stagger/async-std"]
//! ```
//!
//! Its tests run on [`Sim`](sim::Sim), which needs no feature. `StreamExt`
//! is futures', re-exported so that the streams need no `futures` line of
//! their own. Tasks that are not `Send` (tokio's `LocalSet`, smol's
//! `LocalExecutor`) are left out: every backend's `spawn` takes `Send`
//! futures, so that one generic fan-out serves all of them.
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
//! - `hyper`: [`interop::HyperTimer`], hyper's timer on any [`Sleeper`];
//!   [`interop::HyperExecutor`], hyper's executor on any [`Spawn`]; hyper's
//!   `rt::Read` and `rt::Write` on [`sim::net::Stream`].
//! - `tokio` also puts tokio's `AsyncRead` and `AsyncWrite` on
//!   [`sim::net::Stream`].
//! - `hdrhistogram`: `load::Recorder`, corrected and uncorrected latency
//!   histograms of a [`schedule::run`], their percentiles table and
//!   HdrHistogram's interval log, on the `hdrhistogram` crate.
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
//!   its delay: `sim_staggered` in `tests/properties.rs`). Each `Done`
//!   carries when its work was meant to start (`intended`, `start + delay`)
//!   and when it did (`started`: read just before `f` is called, inline;
//!   at the task's first poll, spawned), so a late start shows in its
//!   `lateness()` (`staggered_done_tells_when_work_started`,
//!   `staggered_done_shows_a_late_start`,
//!   `task_staggered_started_is_the_tasks_first_poll`; exact on Sim:
//!   `done_and_completed_instants_are_exact` in `tests/sim.rs`,
//!   `sim_staggered`). Items wait
//!   concurrently (`staggered_runs_concurrently`). Spawned work runs on its
//!   own once spawned; inline work only while the stream is polled
//!   (`spawned_work_runs_without_the_stream_being_polled`). A panic in
//!   inline work resumes in the poller and the others go on; in spawned
//!   work it cancels the others and ends the stream
//!   (`staggered_work_panic_resumes_in_the_poller`,
//!   `staggered_resumes_every_fault`). The streams borrow nothing
//!   (`staggered_is_send_and_spawnable`).
//! - **Open-loop timing**: each [`Completed`](schedule::Completed) of
//!   [`schedule::run`] carries its tick's intended and fired instants and
//!   when its task started and finished the request, read by that task:
//!   `latency()` (from intended) is exactly `tick.lateness()` +
//!   `held()` (fired to released, under a cap) + `queueing()` (released, or
//!   fired, to started) + `service()` (started to finished), so time a
//!   request spent waiting for a slot or for the executor is never counted
//!   as service (`run_sends_open_loop`, `run_service_excludes_queueing`;
//!   exact on Sim: `done_and_completed_instants_are_exact`).
//! - **In-flight caps**: under [`Run::max_in_flight`](schedule::Run::max_in_flight)`(k)`
//!   (and [`TaskStaggered::max_in_flight`]) never more than `k` requests
//!   run at once (0 is taken as 1); a request held back starts when a slot
//!   frees, in order, its latency still counted from its intended instant,
//!   and is counted in `held_count()` and marked by `released`
//!   (`run_cap_holds_requests_and_counts_latency_from_intended`,
//!   `task_staggered_cap_holds_items`; exact on Sim:
//!   `run_cap_holds_requests_exactly` in `tests/sim.rs`).
//! - **Stages and segments**: a run of [`schedule::staged`] fires arrival
//!   `i` at `start` plus the offset where the rate's integral reaches `i`
//!   (`run_follows_stages`; the closed forms to the nanosecond on Sim:
//!   `staged_arrivals_are_the_closed_form`); the `n` [`Segment`](schedule::Segment)s
//!   of one schedule, run at once from one start, send exactly its
//!   arrivals, each once, for `n` of 2, 3 and 4
//!   (`segments_union_to_the_whole_schedule`; on threads with a Sim each,
//!   merging their recorders into the one-process run's histograms:
//!   `segments_on_threads_merge_to_the_one_process_run` in `tests/load.rs`,
//!   and `merged_recorders_count_the_whole_run` with the `hdrhistogram`
//!   feature).
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
//!   [`Sim`](sim::Sim), a cancelled task is dropped even if no poll comes:
//!   at once while no `block_on` runs, and at the latest when the `block_on`
//!   it was cancelled in returns, whether it was polled yet or not and
//!   wherever its wake-up was queued, spawned on the `Sim`, through `&Sim`
//!   or through a wrapper backend that hands it to the `Sim` on the calling
//!   thread (see [`Spawn`]); so one holding the last clones of its own
//!   `Sim` does not keep the simulation alive
//!   (`run_requests_cancelled_inside_block_on_are_freed`,
//!   `task_cancelled_while_its_wake_waits_in_the_shared_queue_is_freed`,
//!   `never_polled_members_are_freed_through_a_wrapper_backend` and the
//!   others in `tests/sim.rs`).
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
//!   task's future, or of an output nobody takes (its task detached, or
//!   its handle dropped), may panic: nobody is left to hear of it, so the
//!   panic is discarded and the runtime runs on
//!   (`cancelled_task_with_panicking_drop`,
//!   `dropped_task_wait_n_with_panicking_drop`,
//!   `detached_output_with_panicking_drop`,
//!   `dropped_handle_output_with_panicking_drop`).
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
//! - **Randomness**: every draw without a caller's generator — the forms
//!   without `_with`, and a library's through [`Sleeper::rng`] — comes from
//!   the backend's generator, a [`FastRng`] that is `Send` and uniform
//!   (`backend_rng_is_uniform_and_send`). On a seeded Sim that is the
//!   seed's stream: the seed replays every plain form and a library's draws
//!   with no generator passed by hand, and another seed changes each
//!   (`a_seed_replays_the_plain_forms_and_a_librarys_draws` in
//!   `tests/sim.rs`), and a backon retry whose jitter is seeded from
//!   `sim.rng().next_u64()` replays whole
//!   (`one_seed_replays_a_whole_backon_retry`).
//! - **Sim**: paused, its clock moves only through [`Sim::advance`](sim::Sim::advance)
//!   and [`Sim::advance_to_next`](sim::Sim::advance_to_next),
//!   which fire the timers on their way each at its own deadline, ties in
//!   creation order (`paused_time_moves_only_through_advance` in
//!   `tests/sim.rs`); a `block_on` waiting on a paused clock panics saying
//!   so. [`Sim::next_deadline`](sim::Sim::next_deadline) is the earliest
//!   pending deadline, `None` when none is pending; `advance_to_next` steps
//!   to it and runs what its timers woke, and
//!   [`Sim::run_until_idle`](sim::Sim::run_until_idle) runs every runnable
//!   task without moving time, paused or not
//!   (`advance_to_next_steps_one_deadline_at_a_time`,
//!   `run_until_idle_runs_everything_runnable_without_moving_time`). A seed
//!   fixes [`Sim::rng`](sim::Sim::rng)'s generators, and a
//!   program drawing through the Sim replays event for event
//!   (`sim_traces_replay_from_a_seed`, `tests/properties.rs`); every panic
//!   of a `Sim` names its seed (`every_sim_panic_names_the_seed`), and any
//!   other panic that ends a `block_on` — the user's `assert!` in its
//!   future, in a spawned task or in a fan-out's work — is followed by one
//!   line on stderr naming the seed and the replay command, its payload
//!   unchanged, with no panic hook, and each test its own seed
//!   (`tests/harness.rs`: `a_failing_assertion_in_block_on_names_the_seed`,
//!   `a_spawned_task_panic_names_the_seed`, `a_fan_out_panic_names_the_seed`,
//!   `two_failing_tests_at_once_each_name_their_own_seed`).
//!   [`sim::check`] sweeps seeds and stops at the first that fails, naming
//!   it, the seed count reached and the virtual time, for panicking,
//!   `Err`-returning and hanging bodies, and that seed alone replays the
//!   failure (`check_finds_a_one_percent_failure_and_replays_it`,
//!   `check_fails_a_seed_whose_body_returns_err`,
//!   `check_names_the_seed_a_body_hangs_on`); its environment variables are
//!   checked, naming the variable
//!   (`check_rejects_bad_environment_values_naming_the_variable`). A sleep
//!   past what an `Instant` holds never fires, and a deadlock waiting on
//!   one says so (`waiting_only_on_unreachable_deadlines_says_so`).
//! - **Schedules**: [`schedule::ticks`] yields each tick at or after its
//!   intended instant (`start + offset`, exact to the nanosecond), on one
//!   timer at a time (`ticks_fire_in_order_at_their_intended_instants`;
//!   exactly on time on Sim: `sim_ticks_fire_exactly_and_deterministically`).
//!   Its missed-tick policies are tokio's: tokio's own interval tests
//!   (burst, delay, skip, the resets), run step by step next to tokio's
//!   `Interval` on one paused clock, give the same ticks at the same
//!   instants (`ticks_keep_tokio_interval_s_timelines_on_a_paused_clock` in
//!   `tests/tokio.rs`), and on Sim to the nanosecond
//!   (`tokio_interval_tests_pass_on_sim_to_the_nanosecond` in
//!   `tests/sim.rs`). A tick's `fired` is the clock reading that found it
//!   due, one reading for a burst of due ticks. On [`schedule::interval`],
//!   Skip and Latest catch up in
//!   constant time however far behind (`skip_and_latest_catch_up_in_constant_time`),
//!   landing where stepping does (`interval_catches_up_as_stepping_does`).
//!   A sleeper whose timers fire before its own clock reaches their
//!   deadline (a coarse or frozen `now()`) costs one timer a tick, never a
//!   spin, for [`schedule::ticks`] and [`schedule::run`]
//!   (`ticks_trust_a_timer_that_fired`, `run_trusts_a_timer_that_fired`).
//! - **Network** ([`sim::net`], on Sim): what is written is read byte for
//!   byte and in order, each byte no earlier than its send plus its link's
//!   least latency, for any write sizes and latency distribution
//!   (`what_is_written_is_read_in_order_no_earlier_than_its_latency` in
//!   `tests/sim_net.rs`); a constant latency, a bandwidth and a connect's
//!   round trip are exact (`bytes_arrive_exactly_one_latency_later`,
//!   `bandwidth_adds_transmission_time`). A partition holds traffic until
//!   it heals (`partitions_hold_traffic_until_healed`), and a read waiting
//!   on it with nothing else to run is a deadlock naming the link, the
//!   addresses and the seed
//!   (`a_partition_holds_connects_and_a_read_on_it_is_a_named_deadlock`).
//!   Resets fail both sides, connects to nothing are refused at once,
//!   binding twice is `AddrInUse`, writes to a closed peer `BrokenPipe`; a
//!   latency of `Duration::MAX` or a bandwidth of 0 never delivers, and
//!   says so. Dropping any handle at any point, or the `Sim`, leaves no
//!   connection behind (`dropping_anything_at_any_point_frees_the_connection`).
//!   The same seed replays the network (`the_same_seed_gives_the_same_trace`).
//!   hyper runs over it end to end, HTTP/1 with keep-alive and HTTP/2, its
//!   timeouts at exact virtual deadlines (`hyper_e2e::*`); with no latency its
//!   streams work on any executor (`net_streams_without_latency_work_on_the_backend`),
//!   where the hyper conformance tests use them
//!   (`hyper_http2_runs_on_the_backend_executor`).
//! - **Distributions**: the [`jitter`] strategies draw what their formulas
//!   say, checked on their means and shares over 100 000 seeded draws, not
//!   only on their bounds, and never outside their exact bounds
//!   (`src/jitter.rs`); an impossible shape (an empty range, a fraction
//!   that is NaN, negative or above 1) is a typed error. Each plugs into
//!   every `_from` function and `schedule::jittered`
//!   (`distributions_plug_in`, `proportional_and_uniform_jitter_plug_in`).
//! - **Input**: no function panics on any `Duration`: `Duration::MAX` or ten
//!   years start and cancel cleanly (`*_huge_max_is_cancellable`), a
//!   deadline past what `Instant` holds (on tokio, within a millisecond of
//!   it, which tokio's rounding would overflow) never fires
//!   (`deadlines_within_a_millisecond_of_the_last_instant_never_fire`). So
//!   what waits for such a sleep to end (a [`wait_n`] over `Duration::MAX`
//!   awaited to the end, say) waits forever: on a real runtime it hangs; on
//!   [`Sim`](sim::Sim), once every other timer fired and nothing else can
//!   run, that is a deadlock, and `block_on` panics saying so and naming the
//!   sleeps that never fire
//!   (`wait_n_over_duration_max_is_a_deadlock_naming_its_sleeps`,
//!   `advance_past_the_last_instant_names_the_advance` in `tests/sim.rs`). A
//!   [`timeout`] that long is no timeout
//!   (`timeout_past_instant_range_never_fires`), `n = 0` returns at once
//!   (`*_zero_is_empty`); float seconds go through
//!   [`try_from_secs_f64`], which rejects NaN, infinities, negatives and
//!   overflow with a [`SecsError`] naming the value (`tests/secs.rs`).
//!
//! What can still panic is listed in each item's `# Panics` section: using
//! [`rt::Tokio`] outside a tokio runtime, a `block_on` nested or inside a
//! task, a [`Sim`](sim::Sim) deadlock or paused clock, a `Sim`'s
//! `run_until_idle` or `advance_to_next` polled outside its `block_on`, a
//! failing seed or a malformed `STAGGER_SEED` / `STAGGER_SEEDS` in
//! [`sim::check`], allocating `n` delays
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
#[cfg(feature = "hdrhistogram")]
#[cfg_attr(docsrs, doc(cfg(feature = "hdrhistogram")))]
pub mod load;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
mod measure;
mod rng;
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
pub use crate::rng::{FastRng, Generator};
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
/// futures' [`StreamExt`], for the streams of
/// [`staggered`], [`task_staggered`], [`as_completed`] and
/// [`schedule`]: `use stagger::StreamExt;` needs no `futures` line of its own.
#[doc(no_inline)]
pub use futures::StreamExt;

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

// The README's code blocks are built and run as a reader pastes them, with
// the dependencies stated beside each, by `tests/readme.rs`.

// The testing guide's examples, as written (its last one uses tokio).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../docs/testing.md")]
struct TestingGuideDoctests;
