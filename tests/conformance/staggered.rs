//! Staggered work, inline and spawned, and `timeout`: each check runs on
//! both fan-outs where it applies.

#![allow(dead_code)] // Each function is used once per enabled backend.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, FusedStream};
use futures::{FutureExt, Stream, StreamExt};
use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use stagger::jitter::{ProportionalJitter, UniformJitter};
use stagger::{Done, Sleeper};

use crate::counting::{Counting, DROP_PANIC, Fault, Log, PANIC};
use crate::suite::{FAR, MAX, SLACK, counted_sleep, message, run_briefly, within};
use stagger::Runtime;

/// Where the work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// `staggered`: in the polling task.
    Inline,
    /// `task_staggered`: a task per item.
    Spawned,
}

const BOTH: [How; 2] = [How::Inline, How::Spawned];

/// The fan-out `how` says, over `items` with delays up to `max` from `rng`.
fn fan_out<R, I, F, Fut>(
    rt: &R,
    how: How,
    rng: &mut StdRng,
    items: I,
    max: Duration,
    f: F,
) -> BoxStream<'static, Done<Fut::Output>>
where
    R: Runtime,
    I: IntoIterator,
    I::Item: Send + 'static,
    F: FnMut(I::Item) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    match how {
        How::Inline => stagger::staggered_with(rt, rng, items, max, f).boxed(),
        How::Spawned => stagger::task_staggered_with(rt, rng, items, max, f).boxed(),
    }
}

/// The `(index, delay)` pairs a seed must give `n` items: one uniform draw
/// per item, in item order.
fn expected_pairs(seed: u64, n: usize, max: Duration) -> Vec<(usize, Duration)> {
    let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|i| (i, uniform.sample(&mut rng))).collect()
}

pub fn staggered_runs_each_item_once_after_its_delay<R: Runtime>(rt: &R) {
    let n = 30;
    for how in BOTH {
        let seed = 17;
        let calls = Arc::new(AtomicUsize::new(0));
        // When `f` ran for each item, on the backend's clock.
        let called = Arc::new(Mutex::new(vec![None::<Instant>; n]));
        let (clock, count, log) = (rt.clone(), Arc::clone(&calls), Arc::clone(&called));
        let start = rt.now();
        let mut stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(seed),
            0..n,
            MAX,
            move |i| {
                count.fetch_add(1, Ordering::SeqCst);
                log.lock().unwrap()[i] = Some(clock.now());
                async move { i * 10 }
            },
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{how:?}: f called early");
        assert_eq!(stream.size_hint(), (n, Some(n)));
        let done = rt.block_on(async {
            let mut done = Vec::new();
            while let Some(item) = stream.next().await {
                done.push(item);
                let left = n - done.len();
                assert_eq!(stream.size_hint(), (left, Some(left)), "{how:?}");
            }
            done
        });
        assert!(
            stream.next().now_or_never() == Some(None),
            "{how:?}: not fused"
        );
        let mut pairs: Vec<_> = done.iter().map(|d| (d.index, d.delay)).collect();
        pairs.sort();
        assert_eq!(pairs, expected_pairs(seed, n, MAX), "{how:?}");
        assert!(done.iter().all(|d| d.output == d.index * 10), "{how:?}");
        assert_eq!(calls.load(Ordering::SeqCst), n, "{how:?}");
        let called = called.lock().unwrap();
        for d in &done {
            let at = called[d.index].unwrap() - start;
            assert!(
                at >= d.delay,
                "{how:?}: item {} started at {at:?}, before {:?}",
                d.index,
                d.delay
            );
        }
    }
}

pub fn staggered_runs_concurrently<R: Runtime>(rt: &R) {
    // 40 items of 20 ms of work each, started within 40 ms: about 60 ms in
    // all, not the 800 ms of serial work.
    let work = Duration::from_millis(20);
    for how in BOTH {
        let sleeper = rt.clone();
        let start = rt.now();
        let stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(1),
            0..40,
            MAX,
            move |_| sleeper.sleep(work),
        );
        let done: Vec<_> = rt.block_on(stream.collect());
        let elapsed = rt.now() - start;
        let longest = done.iter().map(|d| d.delay).max().unwrap();
        assert_eq!(done.len(), 40);
        assert!(elapsed >= longest + work, "{how:?}: {elapsed:?}");
        assert!(
            elapsed < longest + work + SLACK,
            "{how:?}: took {elapsed:?}"
        );
    }
}

pub fn staggered_zero_items_end_at_once<R: Runtime>(rt: &R) {
    for how in BOTH {
        let mut stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(1),
            0..0,
            stagger::DEFAULT_MAX_DELAY,
            |_| async {},
        );
        assert_eq!(stream.size_hint(), (0, Some(0)));
        assert_eq!(rt.block_on(stream.next()), None, "{how:?}");
    }
    let stream = stagger::staggered(rt, 0..0, MAX, |_| async {});
    assert!(stream.is_terminated());
}

pub fn staggered_huge_delays_are_cancellable<R: Runtime>(rt: &R) {
    for how in BOTH {
        for max in FAR {
            let rec = Counting::new(rt.clone());
            let items = 0..5;
            let stream = match how {
                How::Inline => stagger::staggered(&rec, items, max, |_| async {}).boxed(),
                How::Spawned => stagger::task_staggered(&rec, items, max, |_| async {}).boxed(),
            };
            rt.block_on(run_briefly(rt, stream.into_future()));
            assert_eq!(
                rec.log(|log| log.live),
                0,
                "{how:?}: timers outlived the stream"
            );
        }
    }
}

pub fn dropped_staggered_drops_timers_and_work<R: Runtime>(rt: &R) {
    // Every item's delay is zero: the work of all 20 starts at the first
    // poll, and waits 300 ms; dropped after 20 ms, none may finish.
    for how in BOTH {
        let rec = Counting::new(rt.clone());
        let (finished, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (sleeper, fin, drp) = (rec.clone(), Arc::clone(&finished), Arc::clone(&dropped));
        let work = move |_| counted_sleep(&sleeper, Duration::from_millis(300), &fin, &drp);
        let stream = match how {
            How::Inline => stagger::staggered(&rec, 0..20, Duration::ZERO, work).boxed(),
            How::Spawned => stagger::task_staggered(&rec, 0..20, Duration::ZERO, work).boxed(),
        };
        rt.block_on(async {
            run_briefly(rt, stream.into_future()).await;
            // Spawned work drops at its next poll.
            rt.sleep(Duration::from_millis(400)).await;
        });
        assert_eq!(
            finished.load(Ordering::SeqCst),
            0,
            "{how:?}: work ran on after the drop"
        );
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            20,
            "{how:?}: work futures not dropped"
        );
        rec.log(|log| assert_eq!(log.live, 0, "{how:?}: timers outlived the stream"));
    }
}

pub fn spawned_work_runs_without_the_stream_being_polled<R: Runtime>(rt: &R) {
    // Due at once, the tasks are spawned at the first poll; from then on
    // they run on their own. Inline work runs only when the stream is
    // polled.
    for how in BOTH {
        let ran = Arc::new(AtomicUsize::new(0));
        let (sleeper, count) = (rt.clone(), Arc::clone(&ran));
        let mut stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(1),
            0..10,
            Duration::ZERO,
            move |_| {
                // Long enough that no task finishes within the first poll,
                // however slowly a loaded thread pool makes it return.
                let (sleep, count) = (sleeper.sleep(Duration::from_millis(50)), Arc::clone(&count));
                async move {
                    sleep.await;
                    count.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        let got = rt.block_on(async {
            assert!(futures::poll!(stream.next()).is_pending());
            rt.sleep(Duration::from_millis(250)).await;
            ran.load(Ordering::SeqCst)
        });
        match how {
            How::Spawned => assert_eq!(got, 10, "the tasks did not run on their own"),
            How::Inline => assert_eq!(got, 0, "inline work ran unpolled"),
        }
    }
}

pub fn staggered_work_panic_resumes_in_the_poller<R: Runtime>(rt: &R) {
    for how in BOTH {
        let sleeper = rt.clone();
        let mut stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(1),
            0..20,
            MAX,
            move |i| {
                let sleep = sleeper.sleep(if i == 7 {
                    Duration::ZERO
                } else {
                    Duration::from_secs(3600)
                });
                async move {
                    sleep.await;
                    if i == 7 {
                        panic!("work {i} failed");
                    }
                    i
                }
            },
        );
        let caught = rt.block_on(async {
            let run = AssertUnwindSafe(async { while stream.next().await.is_some() {} });
            within(rt, "the stream", run.catch_unwind()).await
        });
        let caught = caught.expect_err("the panic was lost");
        assert_eq!(message(caught.as_ref()), "work 7 failed", "{how:?}");
        if how == How::Spawned {
            // Like TaskGroup: the others are cancelled, the stream is over.
            assert_eq!(stream.size_hint(), (0, Some(0)));
            assert_eq!(rt.block_on(stream.next()), None);
        } else {
            // Inline, like FuturesUnordered: the others go on.
            assert_eq!(stream.size_hint(), (19, Some(19)));
        }
    }
}

pub fn staggered_resumes_every_fault<R: Runtime>(rt: &R) {
    // The timers of items are the fan-out's own sleeps: sleep 5 panics at
    // its first poll or when dropped. Inline, no PollAndDrop: a panic while
    // unwinding would abort.
    let cases = [
        (How::Inline, Fault::Poll, PANIC),
        (How::Inline, Fault::Drop, DROP_PANIC),
    ];
    for (how, fault, expected) in cases {
        let rec = Counting::faulty(rt.clone(), &[(5, fault)]);
        rt.block_on(async {
            let stream = stagger::staggered(&rec, 0..20, MAX, |i| async move { i });
            let run = AssertUnwindSafe(stream.collect::<Vec<_>>());
            let caught = within(rt, "staggered", run.catch_unwind()).await;
            let caught = caught.expect_err("the panic was lost");
            assert_eq!(message(caught.as_ref()), expected, "{how:?} {fault:?}");
        });
        rec.log(Log::assert_each_dropped_once);
    }
    // Spawned, the faulty sleep is the work's own, in a task.
    for (fault, expected) in [
        (Fault::Poll, PANIC),
        (Fault::Drop, DROP_PANIC),
        (Fault::PollAndDrop, PANIC),
    ] {
        let rec = Counting::faulty(rt.clone(), &[(5, fault)]);
        let sleeper = rec.clone();
        rt.block_on(async {
            let work = move |_| sleeper.sleep(Duration::from_millis(5));
            let stream = stagger::task_staggered(rt, 0..20, Duration::ZERO, work);
            let run = AssertUnwindSafe(stream.collect::<Vec<_>>());
            let caught = within(rt, "task_staggered", run.catch_unwind()).await;
            let caught = caught.expect_err("the panic was lost");
            assert_eq!(message(caught.as_ref()), expected, "{fault:?}");
            rt.sleep(Duration::from_millis(50)).await;
        });
        rec.log(Log::assert_each_dropped_once);
    }
}

pub fn staggered_is_send_and_spawnable<R: Runtime>(rt: &R) {
    // The streams borrow nothing: they move into a task whole.
    fn assert_send<T: Send + 'static>(_: &T) {}
    let inline = stagger::staggered(rt, 0..3, MAX, |i| async move { i });
    let spawned = stagger::task_staggered(rt, 0..3, MAX, |i| async move { i });
    assert_send(&inline);
    assert_send(&spawned);
    let counts = rt.block_on(async {
        let a = rt.spawn(inline.count());
        let b = rt.spawn(spawned.count());
        (a.await, b.await)
    });
    assert_eq!(counts, (3, 3));
    let debug = format!("{:?}", stagger::task_staggered(rt, 0..3, MAX, |_| async {}));
    assert!(debug.contains("waiting: 3"), "{debug}");
}

// ===== timeout =====

pub fn timeout_returns_the_output_or_elapsed<R: Runtime>(rt: &R) {
    rt.block_on(async {
        let fast = stagger::timeout(
            rt,
            Duration::from_secs(10),
            rt.sleep(Duration::from_millis(5)),
        );
        assert_eq!(fast.await, Ok(()));

        let start = rt.now();
        let slow = stagger::timeout(
            rt,
            Duration::from_millis(20),
            rt.sleep(Duration::from_secs(3600)),
        );
        let err = slow.await.unwrap_err();
        let elapsed = rt.now() - start;
        assert_eq!(err.to_string(), "deadline has elapsed");
        assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(20) + SLACK, "{elapsed:?}");

        // A deadline already past: a ready future still wins.
        let past = rt.now();
        rt.sleep(Duration::from_millis(2)).await;
        assert_eq!(stagger::timeout_at(rt, past, async { 3 }).await, Ok(3));
        let never = std::future::pending::<()>();
        assert!(stagger::timeout_at(rt, past, never).await.is_err());
    });
}

pub fn timeout_past_instant_range_never_fires<R: Runtime>(rt: &R) {
    for dur in FAR {
        let never = std::future::pending::<()>();
        rt.block_on(run_briefly(rt, stagger::timeout(rt, dur, never)));
    }
}

pub fn timeout_drops_its_future_and_timer<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    rt.block_on(async {
        let inner = rec.sleep(Duration::from_secs(3600));
        let bounded = stagger::timeout(&rec, Duration::from_millis(10), inner);
        assert!(bounded.await.is_err());
    });
    rec.log(|log| {
        assert_eq!(log.created, 2);
        assert_eq!(log.live, 0);
    });
    // Faults in the future's poll and destructor surface in the poller.
    for (fault, expected) in [(Fault::Poll, PANIC), (Fault::Drop, DROP_PANIC)] {
        let rec = Counting::faulty(rt.clone(), &[(0, fault)]);
        let caught = rt.block_on(async {
            let inner = rec.sleep(Duration::from_millis(1));
            let bounded = AssertUnwindSafe(async {
                let _ = stagger::timeout(rt, Duration::from_secs(1), inner).await;
            });
            bounded.catch_unwind().await
        });
        assert_eq!(message(caught.expect_err("lost").as_ref()), expected);
        rec.log(Log::assert_each_dropped_once);
    }
}

pub fn staggered_done_tells_when_work_started<R: Runtime>(rt: &R) {
    for how in BOTH {
        let clock = rt.clone();
        let before = rt.now();
        let stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(5),
            0..8,
            MAX,
            move |_| {
                let clock = clock.clone();
                // When the work's first poll ran, in its task if spawned.
                async move { clock.now() }
            },
        );
        let after = rt.now();
        let done: Vec<Done<Instant>> = rt.block_on(stream.collect());
        assert_eq!(done.len(), 8, "{how:?}");
        for d in &done {
            // The one start is read by the call.
            assert!(
                before + d.delay <= d.intended && d.intended <= after + d.delay,
                "{how:?}: item {} intended off its start plus delay",
                d.index
            );
            // Read just before the work's first poll.
            assert!(
                d.intended <= d.started,
                "{how:?}: item {} started early",
                d.index
            );
            assert!(
                d.started <= d.output,
                "{how:?}: item {} started after its work",
                d.index
            );
            assert!(d.output - d.started < SLACK, "{how:?}");
            assert_eq!(d.lateness(), d.started - d.intended, "{how:?}");
            assert!(d.lateness() < SLACK, "{how:?}: {:?} late", d.lateness());
        }
    }
}

pub fn staggered_done_shows_a_late_start<R: Runtime>(rt: &R) {
    // A poller busy elsewhere for 100 ms before its first poll starts every
    // item (delays up to 40 ms) at least 60 ms late, inline or spawned (the
    // items are spawned when the poller sees them due); exactly 100 ms minus
    // the delay on Sim.
    let stall = Duration::from_millis(100);
    for how in BOTH {
        let stream = fan_out(
            rt,
            how,
            &mut StdRng::seed_from_u64(6),
            0..8,
            MAX,
            |i| async move { i },
        );
        let done: Vec<Done<usize>> = rt.block_on(async {
            rt.sleep(stall).await;
            stream.collect().await
        });
        assert_eq!(done.len(), 8, "{how:?}");
        for d in &done {
            assert!(
                d.lateness() >= stall - MAX,
                "{how:?}: item {} only {:?} late",
                d.index,
                d.lateness()
            );
            assert!(
                d.lateness() < stall + SLACK,
                "{how:?}: {:?} late",
                d.lateness()
            );
        }
    }
}

pub fn proportional_and_uniform_jitter_plug_in<R: Runtime>(rt: &R) {
    // 20 ms ± 50 %: [10 ms, 30 ms]; and [5 ms, 15 ms].
    let proportional = ProportionalJitter::new(Duration::from_millis(20), 0.5).unwrap();
    let uniform = UniformJitter::new(Duration::from_millis(5), Duration::from_millis(15)).unwrap();
    let within = |d: Duration, (min, max): (Duration, Duration)| min <= d && d <= max;
    let (p, u) = (
        (proportional.min(), proportional.max()),
        (uniform.min(), uniform.max()),
    );
    let mut rng = StdRng::seed_from_u64(12);

    let inline = stagger::staggered_from(rt, &mut rng, 0..20, proportional, |i| async move { i });
    let spawned = stagger::task_staggered_from(rt, &mut rng, 0..20, uniform, |i| async move { i });
    let (inline, spawned): (Vec<_>, Vec<_>) =
        rt.block_on(async { futures::join!(inline.collect(), spawned.collect()) });
    for (done, bounds) in [(&inline, p), (&spawned, u)] {
        assert_eq!(done.len(), 20);
        for d in done {
            assert!(within(d.delay, bounds), "{:?} outside {bounds:?}", d.delay);
            assert!(d.started >= d.intended);
        }
    }

    let start = rt.now();
    let one = rt.block_on(stagger::wait_random_from(rt, &mut rng, uniform));
    assert!(within(one, u) && rt.now() - start >= one, "{one:?}");
    let many = rt.block_on(stagger::wait_n_from(rt, &mut rng, 30, proportional));
    assert!(
        many.is_sorted() && many.iter().all(|&d| within(d, p)),
        "{many:?}"
    );
    let tasks = rt.block_on(stagger::task_wait_n_from(rt, &mut rng, 30, uniform));
    assert!(tasks.iter().all(|&d| within(d, u)), "{tasks:?}");
}

pub fn task_staggered_started_is_the_tasks_first_poll<R: Runtime>(rt: &R) {
    // Four items due at once, spawned by the first poll, then held up by a
    // poller that blocks its thread: on a single-threaded executor the
    // tasks start after the stall, on a thread pool at once. Either way
    // `started` is when the task started (what the work itself reads), not
    // when it was spawned.
    let stall = Duration::from_millis(100);
    let clock = rt.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let mut stream = stagger::task_staggered_with(rt, &mut rng, 0..4, Duration::ZERO, move |_| {
        let clock = clock.clone();
        async move { clock.now() }
    });
    let done = rt.block_on(async {
        let mut done = Vec::new();
        if let std::task::Poll::Ready(first) = futures::poll!(stream.next()) {
            done.extend(first);
        }
        std::thread::sleep(stall);
        done.extend(stream.collect::<Vec<_>>().await);
        done
    });
    assert_eq!(done.len(), 4);
    for d in &done {
        assert!(
            d.started <= d.output,
            "item {}: started after its work",
            d.index
        );
        assert!(
            d.output - d.started < stall / 2,
            "item {}: started {:?} before its task ran",
            d.index,
            d.output - d.started
        );
    }
}
