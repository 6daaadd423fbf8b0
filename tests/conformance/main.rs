//! The conformance suite: every behaviour in `suite.rs`, on every backend
//! enabled by the current features.

#[cfg(feature = "hyper")]
#[path = "../support/body.rs"]
mod body;
mod counting;
#[cfg(feature = "hyper")]
mod duplex;
#[cfg(any(feature = "backon", feature = "hyper"))]
mod interop;
mod load;
mod net;
mod schedule;
mod staggered;
mod suite;

/// Instantiates every test of `suite` for one backend, as a module named
/// after it: `cargo test tokio::` runs one backend, `cargo test
/// wait_n_ascending` one behaviour everywhere.
macro_rules! conformance {
    ($($(#[$attr:meta])* $name:ident => $rt:expr;)*) => {$(
        $(#[$attr])*
        mod $name {
            conformance!(@tests $rt;
                wait_random_within_bounds,
                wait_random_with_zero_max,
                wait_random_huge_max_is_cancellable,
                wait_n_runs_concurrently,
                wait_n_ascending_under_ties,
                wait_n_zero_is_empty,
                wait_n_zero_max_is_zeros,
                wait_n_huge_max_is_cancellable,
                wait_n_shares_one_start,
                dropped_wait_n_drops_timers,
                dropped_as_completed_drops_timers,
                task_wait_random_within_bounds,
                task_wait_n_runs_concurrently,
                task_wait_n_ascending_under_ties,
                task_wait_n_zero_is_empty,
                task_wait_n_huge_max_is_cancellable,
                task_wait_n_shares_one_start,
                dropped_task_wait_n_cancels_tasks,
                dropped_task_wait_n_starts_no_new_poll,
                task_wait_n_panic_cancels_the_rest,
                try_join_of_panicking_waiter,
                measure_time_is_consistent,
                measure_time_zero,
                seed_fixes_delays,
                distributions_plug_in,
                backend_rng_is_uniform_and_send,
                as_completed_yields_every_delay,
                spawn_returns_output,
                dropped_handle_cancels_task,
                detached_task_completes,
                try_join_reports_panic,
                await_resumes_panic,
                nested_block_on_works_or_panics_clearly,
                block_on_inside_a_spawned_task_panics,
                join_handle_reports_every_fault,
                cancelled_task_with_panicking_drop,
                detached_output_with_panicking_drop,
                dropped_handle_output_with_panicking_drop,
                task_wait_n_resumes_every_fault,
                dropped_task_wait_n_with_panicking_drop,
                wait_n_resumes_every_fault,
                as_completed_resumes_every_fault,
            );
            conformance!(@staggered $rt;
                staggered_runs_each_item_once_after_its_delay,
                staggered_runs_concurrently,
                staggered_zero_items_end_at_once,
                staggered_huge_delays_are_cancellable,
                dropped_staggered_drops_timers_and_work,
                spawned_work_runs_without_the_stream_being_polled,
                staggered_work_panic_resumes_in_the_poller,
                staggered_resumes_every_fault,
                staggered_is_send_and_spawnable,
                staggered_done_tells_when_work_started,
                staggered_done_shows_a_late_start,
                task_staggered_started_is_the_tasks_first_poll,
                proportional_and_uniform_jitter_plug_in,
                timeout_returns_the_output_or_elapsed,
                timeout_past_instant_range_never_fires,
                timeout_drops_its_future_and_timer,
            );
            conformance!(@schedule $rt;
                ticks_fire_in_order_at_their_intended_instants,
                ticks_burst_yields_every_overdue_tick,
                ticks_skip_drops_overdue_ticks,
                ticks_delay_shifts_the_rest,
                ticks_take_any_offsets,
                ticks_trust_a_timer_that_fired,
                run_trusts_a_timer_that_fired,
                run_sends_open_loop,
                dropped_run_cancels_its_requests,
                run_panic_cancels_the_rest,
                run_returns_to_its_poller_under_an_endless_flood,
                run_service_excludes_queueing,
            );
            conformance!(@net $rt;
                net_streams_without_latency_work_on_the_backend,
            );
            conformance!(@load $rt;
                run_cap_holds_requests_and_counts_latency_from_intended,
                task_staggered_cap_holds_items,
                run_follows_stages,
                segments_union_to_the_whole_schedule,
            );
            conformance!(@load_with $rt;
                #[cfg(feature = "hdrhistogram")] merged_recorders_count_the_whole_run,
            );
            conformance!(@interop $rt;
                #[cfg(feature = "backon")] backon_retries_on_the_backend_clock,
                #[cfg(feature = "hyper")] hyper_timer_keeps_the_contract,
                #[cfg(feature = "hyper")] hyper_serves_and_times_out_on_the_backend_clock,
                #[cfg(feature = "hyper")] hyper_http2_runs_on_the_backend_executor,
            );
            // Slow at scale: `cargo test --release --test conformance -- --ignored`.
            conformance!(@ignored $rt;
                wait_n_million,
                task_wait_n_million,
            );
        }
    )*};
    (@tests $rt:expr; $($test:ident,)*) => {$(
        #[test]
        fn $test() {
            super::suite::$test(&$rt);
        }
    )*};
    (@staggered $rt:expr; $($test:ident,)*) => {$(
        #[test]
        fn $test() {
            super::staggered::$test(&$rt);
        }
    )*};
    (@schedule $rt:expr; $($test:ident,)*) => {$(
        #[test]
        fn $test() {
            super::schedule::$test(&$rt);
        }
    )*};
    (@load $rt:expr; $($test:ident,)*) => {$(
        #[test]
        fn $test() {
            super::load::$test(&$rt);
        }
    )*};
    (@load_with $rt:expr; $(#[$cfg:meta] $test:ident,)*) => {$(
        #[$cfg]
        #[test]
        fn $test() {
            super::load::$test(&$rt);
        }
    )*};
    (@net $rt:expr; $($test:ident,)*) => {$(
        #[test]
        fn $test() {
            super::net::$test(&$rt);
        }
    )*};
    (@interop $rt:expr; $(#[$cfg:meta] $test:ident,)*) => {$(
        #[$cfg]
        #[test]
        fn $test() {
            super::interop::$test(&$rt);
        }
    )*};
    (@ignored $rt:expr; $($test:ident,)*) => {$(
        #[test]
        #[ignore = "scale: run with --release -- --ignored"]
        fn $test() {
            super::suite::$test(&$rt);
        }
    )*};
}

conformance! {
    sim => stagger::sim::Sim::new();
    #[cfg(feature = "tokio")]
    tokio => stagger::rt::Tokio;
    #[cfg(feature = "tokio")]
    tokio_multi_thread => super::runtimes::tokio_multi_thread();
    #[cfg(feature = "async-std")]
    async_std => stagger::rt::AsyncStd;
    #[cfg(feature = "smol")]
    smol => stagger::rt::Smol;
    #[cfg(feature = "smol")]
    smol_executor => super::runtimes::smol_executor();
}

/// The backends bound to an executor of the caller's.
mod runtimes {
    /// tokio's multi-thread scheduler with 2 workers, one for every test,
    /// driven through `TokioHandle`.
    #[cfg(feature = "tokio")]
    pub fn tokio_multi_thread() -> stagger::rt::TokioHandle {
        use std::sync::OnceLock;
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        let runtime = RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        });
        stagger::rt::TokioHandle::new(runtime.handle().clone())
    }

    /// A smol executor of the test's own, run by `block_on`.
    #[cfg(feature = "smol")]
    pub fn smol_executor() -> stagger::rt::SmolExecutor {
        stagger::rt::SmolExecutor::new(std::sync::Arc::new(smol::Executor::new()))
    }
}
