//! tokio-only behaviour: paused time, and what happens without a runtime or
//! without timers. Everything backend-independent is in the conformance
//! suite.

use std::time::Duration;

use futures::StreamExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use stagger::prelude::*;
use stagger::rt::Tokio;

/// `d` rounded up to tokio's 1 ms timer resolution.
fn ceil_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_nanos().div_ceil(1_000_000) as u64)
}

#[tokio::test(start_paused = true)]
async fn paused_clock_total_is_longest_rounded_up_to_a_millisecond() {
    for seed in 0..5 {
        let mut rng = StdRng::seed_from_u64(seed);
        let start = Tokio.now();
        let delays = stagger::wait_n_with(&Tokio, &mut rng, 1000, stagger::DEFAULT_MAX_DELAY).await;
        let total = Tokio.now() - start;
        assert_eq!(total, ceil_ms(*delays.last().unwrap()), "seed {seed}");
    }
}

#[tokio::test(start_paused = true)]
async fn paused_clock_runs_ten_year_delays() {
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let start = Tokio.now();
    let delays = stagger::task_wait_n(&Tokio, 5, ten_years).await;
    assert!(delays.is_sorted() && delays.iter().all(|&d| d <= ten_years));
    assert!(Tokio.now() - start >= *delays.last().unwrap());
}

#[tokio::test(start_paused = true)]
async fn paused_clock_stream_yields_at_each_deadline() {
    let start = Tokio.now();
    let mut stream = stagger::as_completed(&Tokio, 50, Duration::from_secs(60));
    while let Some(delay) = stream.next().await {
        // With time paused, each item arrives at its own millisecond tick.
        assert_eq!(Tokio.now() - start, ceil_ms(delay));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_n_future_is_send() {
    // Spawnable onto a multi-thread runtime: the future is `Send + 'static`.
    let delays = tokio::spawn(stagger::wait_n(&Tokio, 10, Duration::from_millis(5)))
        .await
        .unwrap();
    assert_eq!(delays.len(), 10);
    let delays = tokio::spawn(stagger::task_wait_n(&Tokio, 10, Duration::from_millis(5)))
        .await
        .unwrap();
    assert_eq!(delays.len(), 10);
}

#[test]
fn futures_can_be_created_outside_the_runtime() {
    let wait_n = stagger::wait_n(&Tokio, 5, Duration::from_millis(5));
    let task_wait_n = stagger::task_wait_n(&Tokio, 5, Duration::from_millis(5));
    let sleep = Tokio.sleep(Duration::from_millis(1));
    let (a, b, ()) = Tokio.block_on(async { futures::join!(wait_n, task_wait_n, sleep) });
    assert_eq!((a.len(), b.len()), (5, 5));
}

#[test]
fn block_on_works_repeatedly() {
    for _ in 0..3 {
        assert_eq!(
            Tokio
                .block_on(stagger::wait_n(&Tokio, 3, Duration::ZERO))
                .len(),
            3
        );
    }
}

#[test]
#[should_panic(expected = "cannot spawn outside a tokio runtime")]
fn spawning_without_a_runtime_names_the_fix() {
    drop(stagger::task_wait_random(&Tokio, Duration::from_millis(1)));
}

#[test]
fn spawning_without_a_runtime_points_at_the_caller() {
    // Not into stagger's src/rt/tokio.rs: at the line that spawned.
    let at = panic_location(|| drop(Tokio.spawn(async {})));
    assert_eq!(at, file!());
    let at = panic_location(|| drop((&&Tokio).spawn(async {})));
    assert_eq!(at, file!());
}

#[test]
#[should_panic(expected = "must be called from the context of a Tokio 1.x runtime")]
fn sleeping_without_a_runtime_names_the_fix() {
    // futures' executor is not tokio: polling a tokio timer there panics.
    futures::executor::block_on(stagger::wait_n(&Tokio, 1, Duration::from_millis(1)));
}

#[test]
#[should_panic(expected = "timers are disabled")]
fn runtime_without_timers_is_reported() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(stagger::wait_random(&Tokio, Duration::from_millis(1)));
}

#[test]
#[should_panic(expected = "Tokio::block_on called inside a tokio runtime")]
fn block_on_inside_a_runtime_panics_instead_of_deadlocking() {
    Tokio.block_on(async { stagger::measure_time(&Tokio, 1, Duration::ZERO) });
}

/// The latest `Instant` the platform can represent from now on.
fn latest_instant() -> std::time::Instant {
    let now = std::time::Instant::now();
    // Binary search on the offset: `checked_add` tells what fits.
    let (mut fits, mut overflows) = (0u128, u128::from(u64::MAX) * 1_000_000_000 + 999_999_999);
    while overflows - fits > 1 {
        let mid = fits + (overflows - fits) / 2;
        let d = Duration::new((mid / 1_000_000_000) as u64, (mid % 1_000_000_000) as u32);
        match now.checked_add(d) {
            Some(_) => fits = mid,
            None => overflows = mid,
        }
    }
    now + Duration::new((fits / 1_000_000_000) as u64, (fits % 1_000_000_000) as u32)
}

/// Whether `future` completes within 10 ms.
async fn completes_soon<F: std::future::Future>(future: F) -> bool {
    let timeout = Tokio.sleep(Duration::from_millis(10));
    let won = futures::future::select(Box::pin(future), Box::pin(timeout)).await;
    matches!(won, futures::future::Either::Left(_))
}

#[test]
fn deadlines_within_a_millisecond_of_the_last_instant_never_fire() {
    // tokio rounds deadlines up by just under a millisecond; that rounding
    // must not overflow into a panic.
    let latest = latest_instant();
    Tokio.block_on(async {
        for at in [
            latest,
            latest - Duration::from_nanos(1),
            latest - Duration::from_micros(500),
        ] {
            assert!(!completes_soon(Tokio.sleep_until(at)).await, "{at:?} fired");
        }
        let until_end = latest - Tokio.now() - Duration::from_micros(100);
        assert!(!completes_soon(Tokio.sleep(until_end)).await);
        // A jitter whose draws land there.
        let max = latest - Tokio.now();
        let jitter = stagger::jitter::EqualJitter::new(max);
        let wait = stagger::wait_n_from(&Tokio, &mut rand::rng(), 10, jitter);
        assert!(!completes_soon(wait).await);
    });
}

#[path = "support/panic_location.rs"]
mod panic_location;
use panic_location::panic_location;

#[test]
fn block_on_panics_point_at_the_caller() {
    // Inside a runtime, `Tokio.block_on` and `measure_time` blame the line
    // that called them, not stagger's source.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _inside = runtime.enter();
    let at = panic_location(|| Tokio.block_on(async {}));
    assert!(at.ends_with("tokio.rs") && at.contains("tests"), "{at}");
    let at = panic_location(|| {
        let _ = stagger::measure_time(&Tokio, 1, Duration::ZERO);
    });
    assert!(at.contains("tests"), "{at}");
}

// ===== a runtime of the caller's: TokioHandle =====

use stagger::rt::TokioHandle;

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_handle_runs_stagger_from_threads_that_know_nothing_of_tokio() {
    let runtime = multi_thread();
    let rt = TokioHandle::new(runtime.handle().clone());
    // Sleeps polled by another executor still run on the runtime's timer.
    let delays = futures::executor::block_on(stagger::wait_n(&rt, 20, Duration::from_millis(5)));
    assert_eq!(delays.len(), 20);
    // Spawns from a plain thread go to the runtime.
    let handle = std::thread::spawn({
        let rt = rt.clone();
        move || rt.spawn(async { 6 * 7 })
    })
    .join()
    .unwrap();
    assert_eq!(futures::executor::block_on(handle), 42);
    assert_eq!(
        rt.block_on(stagger::task_wait_n(&rt, 50, Duration::from_millis(5)))
            .len(),
        50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_fan_outs_borrow_no_runtime() {
    // A local backend: the futures own their clones, so they are 'static.
    let rt = TokioHandle::current();
    let delays = tokio::spawn(stagger::task_wait_n(&rt, 10, Duration::from_millis(5)));
    let done = tokio::spawn(
        stagger::task_staggered(&rt, 0..10, Duration::from_millis(5), |i| async move { i }).count(),
    );
    drop(rt);
    assert_eq!(delays.await.unwrap().len(), 10);
    assert_eq!(done.await.unwrap(), 10);
}

#[test]
#[should_panic(expected = "current-thread runtime's handle")]
fn a_current_thread_handle_refuses_to_block_on() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    TokioHandle::new(runtime.handle().clone()).block_on(async {});
}

#[test]
#[should_panic(expected = "TokioHandle::current called outside a tokio runtime")]
fn current_outside_a_runtime_names_the_fix() {
    let _ = TokioHandle::current();
}

#[test]
fn a_handle_reads_its_runtime_s_paused_clock() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let rt = TokioHandle::new(runtime.handle().clone());
    let start = rt.now();
    runtime.block_on(stagger::wait_random(&rt, Duration::ZERO));
    runtime.block_on(rt.sleep(Duration::from_secs(3600)));
    assert_eq!(rt.now() - start, Duration::from_secs(3600));
}

#[test]
fn a_failed_spawn_leaves_the_stream_consistent() {
    // Outside a runtime every spawn panics: each item's panic reaches the
    // poller, then the stream ends, with no hang and no spurious "runtime
    // dropped it".
    let mut stream = stagger::task_staggered(&Tokio, 0..3, Duration::ZERO, |i| async move { i });
    let mut panics = 0;
    loop {
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            futures::executor::block_on(stream.next())
        }));
        match next {
            Err(_) => panics += 1,
            Ok(None) => break,
            Ok(Some(done)) => panic!("item {} ran without a runtime", done.index),
        }
        assert!(panics <= 3, "the stream did not end");
    }
    assert_eq!(panics, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_borrow_neither_generator_nor_distribution() {
    // A borrowed, local distribution and generator: the futures own what
    // they need, so they spawn.
    let jitter = stagger::jitter::DecorrelatedJitter::new(
        Duration::from_millis(1),
        Duration::from_millis(5),
    )
    .unwrap();
    let mut rng = stagger::rand::rng();
    let one = tokio::spawn(stagger::wait_random_from(&Tokio, &mut rng, &jitter));
    let many = tokio::spawn(stagger::wait_n_from(&Tokio, &mut rng, 6, &jitter));
    let tasks = tokio::spawn(stagger::task_wait_n_from(&Tokio, &mut rng, 6, &jitter));
    drop((jitter, rng));
    assert!(one.await.unwrap() <= Duration::from_millis(5));
    assert_eq!(many.await.unwrap().len(), 6);
    assert_eq!(tasks.await.unwrap().len(), 6);
}

// ===== ticks next to tokio's Interval =====

#[path = "support/interval_scripts.rs"]
mod interval_scripts;

use stagger::schedule::{self, Missed, Rate};

/// tokio's name for a policy; `None` for stagger's own.
fn tokio_behavior(missed: Missed) -> Option<tokio::time::MissedTickBehavior> {
    use tokio::time::MissedTickBehavior;
    match missed {
        Missed::Burst => Some(MissedTickBehavior::Burst),
        Missed::Delay => Some(MissedTickBehavior::Delay),
        Missed::Skip => Some(MissedTickBehavior::Skip),
        _ => None,
    }
}

#[test]
fn ticks_keep_tokio_interval_s_timelines_on_a_paused_clock() {
    // tokio's interval tests, each run by tokio's Interval and stagger's
    // Ticks side by side on one paused clock: the same ticks at the same
    // instants, step by step.
    use interval_scripts::{SCRIPTS, Step, ms};
    use std::task::Poll;
    for script in SCRIPTS {
        let behavior = tokio_behavior(script.missed).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let start = tokio::time::Instant::now();
            let rate = Rate::every(ms(script.period)).unwrap();
            let mut interval = None;
            let mut ticks = None;
            for (k, step) in script.steps.iter().enumerate() {
                let at = tokio::time::Instant::now() - start;
                let (interval, ticks) = match step {
                    Step::Advance(n) => {
                        tokio::time::advance(ms(*n)).await;
                        continue;
                    }
                    _ => (
                        interval.get_or_insert_with(|| {
                            let mut i = tokio::time::interval_at(start, ms(script.period));
                            i.set_missed_tick_behavior(behavior);
                            i
                        }),
                        ticks.get_or_insert_with(|| {
                            schedule::interval_at(&Tokio, start.into_std(), rate)
                                .missed(script.missed)
                        }),
                    ),
                };
                match *step {
                    Step::Advance(_) => unreachable!(),
                    Step::Check(want) => {
                        let want: Vec<_> = want.iter().map(|&d| ms(d)).collect();
                        let mut theirs = Vec::new();
                        while let Poll::Ready(at) =
                            futures::poll!(std::future::poll_fn(|cx| interval.poll_tick(cx)))
                        {
                            theirs.push(at - start);
                            assert!(theirs.len() <= want.len(), "{}: step {k}", script.name);
                        }
                        let mut ours = Vec::new();
                        while let Poll::Ready(tick) = futures::poll!(ticks.next()) {
                            let tick = tick.unwrap();
                            assert_eq!(tick.fired, Tokio.now());
                            ours.push(tick.intended - start.into_std());
                            assert!(ours.len() <= want.len(), "{}: step {k}", script.name);
                        }
                        assert_eq!(theirs, want, "tokio, {}: step {k}, at {at:?}", script.name);
                        assert_eq!(ours, want, "stagger, {}: step {k}, at {at:?}", script.name);
                    }
                    Step::Reset => {
                        interval.reset();
                        ticks.reset();
                    }
                    Step::ResetImmediately => {
                        interval.reset_immediately();
                        ticks.reset_immediately();
                    }
                    Step::ResetAfter(n) => {
                        interval.reset_after(ms(n));
                        ticks.reset_after(ms(n));
                    }
                    Step::ResetAt(n) => {
                        interval.reset_at(tokio::time::Instant::now() + ms(n));
                        ticks.reset_at(Tokio.now() + ms(n));
                    }
                }
            }
        });
    }
}
