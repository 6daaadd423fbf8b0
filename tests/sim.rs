//! `stagger::sim::Sim`: virtual time, exact timestamps, deterministic order,
//! and the executor's task and failure behaviour.

use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::future::{Either, poll_fn, select};
use futures::{FutureExt, StreamExt};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use stagger::prelude::*;
use stagger::sim::{Sim, SimSleep};

/// Far above what any test here takes in wall time, even on a loaded CI
/// machine; only a real sleep (of the seconds these tests wait in virtual
/// time) or a hang exceeds it.
const WALL: Duration = Duration::from_secs(3);

/// Returns `Pending` once, waking itself: lets every other runnable task go
/// first.
async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// The panic message of a caught panic.
fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("")
}

#[test]
fn handle_traits() {
    fn assert_traits<T: Clone + std::fmt::Debug + Default + Send + Sync + 'static>() {}
    fn assert_sleep<T: Future<Output = ()> + std::fmt::Debug + Send + Unpin + 'static>() {}
    assert_traits::<Sim>();
    assert_sleep::<SimSleep>();
    let sim = Sim::default();
    let debug = format!("{sim:?}");
    assert!(
        debug.starts_with("Sim {") && debug.contains("elapsed"),
        "{debug}"
    );
    assert!(format!("{:?}", sim.sleep(Duration::ZERO)).starts_with("SimSleep {"));
}

// ===== virtual time =====

#[test]
fn virtual_time_jumps() {
    let wall = Instant::now();
    let sim = Sim::new();
    let start = sim.now();
    let delays = sim.block_on(stagger::wait_n(&sim, 10, Duration::from_secs(10)));
    assert_eq!(delays.len(), 10);
    assert!(delays.is_sorted());
    let longest = *delays.last().unwrap();
    assert_eq!(sim.now() - start, longest);
    assert_eq!(sim.elapsed(), longest);
    assert!(
        wall.elapsed() < WALL,
        "took {:?} of wall time",
        wall.elapsed()
    );
}

#[test]
fn measure_time_is_exact() {
    for seed in 0..5 {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = stagger::measure_time_with(&Sim::new(), &mut rng, 100, Duration::from_secs(10));
        assert_eq!(m.total, m.longest, "seed {seed}: {m:?}");
        assert_eq!(m.lateness, Duration::ZERO);
    }
    let m = stagger::measure_time(&Sim::new(), 50, stagger::DEFAULT_MAX_DELAY);
    assert_eq!((m.total, m.lateness), (m.longest, Duration::ZERO));
}

#[test]
fn task_wait_n_is_exact_and_matches_wait_n() {
    let max = Duration::from_secs(3600);
    let sim = Sim::new();
    let spawned = sim.block_on(stagger::task_wait_n_with(
        &sim,
        &mut StdRng::seed_from_u64(3),
        200,
        max,
    ));
    assert_eq!(sim.elapsed(), *spawned.last().unwrap());
    assert_eq!(sim.pending_tasks(), 0);
    let sim = Sim::new();
    let inline = sim.block_on(stagger::wait_n_with(
        &sim,
        &mut StdRng::seed_from_u64(3),
        200,
        max,
    ));
    assert_eq!(spawned, inline);
}

#[test]
fn each_completion_happens_at_its_deadline() {
    let sim = Sim::new();
    let start = sim.now();
    let mut stream = stagger::as_completed(&sim, 100, Duration::from_secs(60));
    sim.block_on(async {
        let mut last = Duration::ZERO;
        while let Some(delay) = stream.next().await {
            assert_eq!(sim.now() - start, delay);
            assert!(delay >= last, "completed out of order");
            last = delay;
        }
    });
}

#[test]
fn ten_year_delays_run_instantly() {
    let wall = Instant::now();
    let sim = Sim::new();
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let delays = sim.block_on(stagger::task_wait_n(&sim, 5, ten_years));
    assert_eq!(sim.elapsed(), *delays.last().unwrap());
    assert!(wall.elapsed() < WALL);
}

#[test]
fn time_stands_still_while_tasks_can_run() {
    let sim = Sim::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    sim.block_on(async {
        let busy = sim.spawn({
            let (sim, seen) = (sim.clone(), Arc::clone(&seen));
            async move {
                for _ in 0..100 {
                    seen.lock().unwrap().push(sim.elapsed());
                    yield_now().await;
                }
            }
        });
        sim.sleep(Duration::from_secs(1)).await;
        busy.await;
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|&t| t == Duration::ZERO), "{seen:?}");
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
}

#[test]
fn past_and_zero_deadlines_fire_at_first_poll() {
    let sim = Sim::new();
    sim.block_on(async {
        sim.sleep(Duration::from_secs(2)).await;
        let past = sim.now() - Duration::from_secs(1);
        let mut sleep = sim.sleep_until(past);
        assert!(futures::poll!(&mut sleep).is_ready());
        assert!(futures::poll!(sim.sleep(Duration::ZERO)).is_ready());
        // Created before the clock moved, polled after its deadline.
        let early = sim.sleep(Duration::from_secs(1));
        sim.sleep(Duration::from_secs(5)).await;
        assert!(futures::poll!(early).is_ready());
    });
    assert_eq!(sim.elapsed(), Duration::from_secs(7));
    assert_eq!(sim.pending_timers(), 0);
}

#[test]
fn unreachable_deadline_never_fires() {
    let sim = Sim::new();
    let never = sim.sleep(Duration::MAX);
    assert_eq!(never.deadline(), None);
    let won = sim.block_on(select(never, sim.sleep(Duration::from_millis(20))));
    assert!(matches!(won, Either::Right(_)));
    assert_eq!(sim.elapsed(), Duration::from_millis(20));
    // Huge but representable: fires, in virtual time.
    sim.block_on(stagger::wait_random(
        &sim,
        Duration::from_secs(u64::MAX / 4),
    ));
}

#[test]
#[should_panic(expected = "deadlock")]
fn unreachable_deadline_alone_is_a_deadlock() {
    let sim = Sim::new();
    sim.block_on(sim.sleep(Duration::MAX));
}

// ===== order and determinism =====

#[test]
fn equal_deadlines_fire_in_creation_order() {
    let sim = Sim::new();
    let at = sim.now() + Duration::from_secs(1);
    let order = Arc::new(Mutex::new(Vec::new()));
    // Created 0..5, spawned (and so first polled and registered) 4..=0.
    let sleeps: Vec<SimSleep> = (0..5).map(|_| sim.sleep_until(at)).collect();
    let mut handles = Vec::new();
    for (i, sleep) in sleeps.into_iter().enumerate().rev() {
        let order = Arc::clone(&order);
        handles.push(sim.spawn(async move {
            sleep.await;
            order.lock().unwrap().push(i);
        }));
    }
    sim.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
}

#[test]
fn spawned_sleeps_until_one_deadline_finish_in_spawn_order() {
    let sim = Sim::new();
    let at = sim.now() + Duration::from_millis(250);
    let order = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let (sim, order) = (sim.clone(), Arc::clone(&order));
            sim.clone().spawn(async move {
                sim.sleep_until(at).await;
                order.lock().unwrap().push(i);
            })
        })
        .collect();
    sim.block_on(futures::future::join_all(handles));
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn completions_are_ascending_under_ties() {
    // 3 ns of range for 2000 waiters: nearly all tie, and each completes at
    // its own deadline, so the stream itself is sorted.
    let (n, max) = (2000, Duration::from_nanos(3));
    let sim = Sim::new();
    let stream = stagger::as_completed_with(&sim, &mut StdRng::seed_from_u64(4), n, max);
    let got: Vec<Duration> = sim.block_on(stream.collect());
    assert_eq!(got.len(), n);
    assert!(got.is_sorted());
    assert_eq!(sim.elapsed(), got[n - 1]);
}

/// Every completion, in order, with the virtual time it happened at
/// (relative to the simulation's start: each `Sim` starts at its own
/// `Instant`).
fn completion_log(seed: u64) -> Vec<(Duration, Duration)> {
    let sim = Sim::new();
    let start = sim.now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stream = stagger::as_completed_with(&sim, &mut rng, 500, Duration::from_secs(10));
    sim.block_on(async {
        let mut log = Vec::new();
        while let Some(delay) = stream.next().await {
            log.push((delay, sim.now() - start));
        }
        log
    })
}

#[test]
fn same_seed_same_order_and_timestamps() {
    let a = completion_log(21);
    let b = completion_log(21);
    assert_eq!(a.len(), 500);
    assert_eq!(a, b);
    assert!(a.iter().all(|&(delay, at)| delay == at), "late completion");
    assert_ne!(a, completion_log(22));
}

#[test]
fn same_seed_same_spawned_order() {
    let run = |seed| {
        let sim = Sim::new();
        let mut rng = StdRng::seed_from_u64(seed);
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let delay = Duration::from_millis(rng.random_range(0..50));
                let (sim, log) = (sim.clone(), Arc::clone(&log));
                sim.clone().spawn(async move {
                    sim.sleep(delay).await;
                    log.lock().unwrap().push((i, sim.elapsed()));
                })
            })
            .collect();
        sim.block_on(futures::future::join_all(tasks));
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    };
    assert_eq!(run(8), run(8));
}

// ===== cancellation =====

#[test]
fn dropped_sleep_deregisters() {
    let sim = Sim::new();
    let long = sim.sleep(Duration::from_secs(3600));
    let short = sim.sleep(Duration::from_secs(1));
    let won = sim.block_on(async {
        let won = select(long, short).await;
        assert_eq!(sim.pending_timers(), 1);
        won
    });
    assert!(matches!(won, Either::Right(_)));
    drop(won);
    assert_eq!(sim.pending_timers(), 0);
    // Nothing left to fire: waiting on nothing is a deadlock, at once, and
    // the clock did not jump to the dropped timer.
    let caught = catch_unwind(AssertUnwindSafe(|| sim.block_on(pending::<()>()))).unwrap_err();
    assert!(message(caught.as_ref()).contains("deadlock"));
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
}

#[test]
#[should_panic(expected = "deadlock")]
fn dropped_sleep_then_waiting_on_nothing_panics() {
    let sim = Sim::new();
    let won = sim.block_on(select(
        sim.sleep(Duration::from_secs(3600)),
        sim.sleep(Duration::from_secs(1)),
    ));
    drop(won);
    sim.block_on(pending::<()>());
}

#[test]
fn dropped_wait_n_leaves_no_timers() {
    let sim = Sim::new();
    sim.block_on(async {
        let wait = stagger::wait_n(&sim, 100, Duration::from_secs(10));
        let timeout = sim.sleep(Duration::from_millis(1));
        match select(Box::pin(wait), timeout).await {
            Either::Left(_) => panic!("100 waiters over 10 s all finished within 1 ms"),
            Either::Right(((), wait)) => {
                assert!(sim.pending_timers() > 90);
                drop(wait);
            }
        }
        assert_eq!(sim.pending_timers(), 0);
    });
}

#[test]
fn dropped_task_wait_n_cancels_its_tasks() {
    let sim = Sim::new();
    sim.block_on(async {
        {
            let wait = pin!(stagger::task_wait_n(&sim, 100, Duration::from_secs(10)));
            let timeout = pin!(sim.sleep(Duration::from_millis(1)));
            assert!(matches!(select(wait, timeout).await, Either::Right(_)));
        }
        // Cancelled tasks drop their futures at their next poll.
        yield_now().await;
        assert_eq!(sim.pending_tasks(), 0);
        assert_eq!(sim.pending_timers(), 0);
    });
}

#[test]
fn many_cancelled_timers_leave_nothing_behind() {
    let sim = Sim::new();
    sim.block_on(async {
        let keep = sim.sleep(Duration::from_secs(1_000_000));
        let mut keep = pin!(keep);
        assert!(futures::poll!(keep.as_mut()).is_pending());
        for _ in 0..5000 {
            let won = select(
                sim.sleep(Duration::from_secs(3600)),
                sim.sleep(Duration::from_millis(1)),
            )
            .await;
            assert!(matches!(won, Either::Right(_)));
        }
        assert_eq!(sim.pending_timers(), 1);
        assert_eq!(sim.elapsed(), Duration::from_secs(5));
        keep.await;
    });
    assert_eq!(sim.elapsed(), Duration::from_secs(1_000_000));
    assert_eq!(sim.pending_timers(), 0);
}

#[test]
fn a_sleep_moved_to_another_task_wakes_that_task() {
    let sim = Sim::new();
    sim.block_on(async {
        let mut sleep = sim.sleep(Duration::from_secs(3));
        // Registered with the block_on future's waker...
        assert!(futures::poll!(&mut sleep).is_pending());
        // ...then awaited by a task: the task must be the one woken.
        let task = sim.spawn(sleep);
        task.await;
    });
    assert_eq!(sim.elapsed(), Duration::from_secs(3));
}

#[test]
fn sleeps_outliving_their_sim_stay_pending() {
    let sim = Sim::new();
    let mut registered = sim.sleep(Duration::from_secs(1));
    let mut fresh = sim.sleep(Duration::from_secs(1));
    sim.block_on(async {
        assert!(futures::poll!(&mut registered).is_pending());
    });
    drop(sim);
    futures::executor::block_on(async {
        assert!(futures::poll!(&mut registered).is_pending());
        assert!(futures::poll!(&mut fresh).is_pending());
    });
}

/// Counts drops, to show a task's future is gone.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted_task(
    sim: &Sim,
    finished: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send + 'static {
    let sleep = sim.sleep(Duration::from_secs(30));
    let finished = Arc::clone(finished);
    let guard = DropCounter(Arc::clone(dropped));
    async move {
        let _guard = guard;
        sleep.await;
        finished.fetch_add(1, Ordering::SeqCst);
    }
}

// Cancel-on-drop and detach of handles on Sim: the conformance suite's
// `dropped_handle_cancels_task` and `detached_task_completes`.

#[test]
fn dropping_the_sim_cancels_pending_tasks() {
    let sim = Sim::new();
    let (finished, dropped) = (Arc::default(), Arc::default());
    let handle = sim.spawn(counted_task(&sim, &finished, &dropped));
    sim.block_on(sim.sleep(Duration::from_secs(1)));
    drop(sim);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let err = futures::executor::block_on(handle.try_join()).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[test]
fn cancelled_task_holding_its_own_sim_is_freed() {
    // The task's clone of the Sim is the last one once `sim` is dropped:
    // it must not keep the task (and the simulation) alive forever.
    let (finished, dropped) = (Arc::default(), Arc::default());
    let sim = Sim::new();
    let own = sim.clone();
    let handle = sim.spawn({
        let task = counted_task(&sim, &finished, &dropped);
        async move {
            let _own = own;
            task.await;
        }
    });
    sim.block_on(sim.sleep(Duration::from_secs(1)));
    drop(handle);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "not dropped with its handle"
    );
    assert_eq!(sim.pending_tasks(), 0);
    drop(sim);
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[test]
fn task_cancelled_before_its_first_poll_is_freed() {
    let (finished, dropped) = (Arc::default(), Arc::default());
    let sim = Sim::new();
    let own = sim.clone();
    let task = counted_task(&sim, &finished, &dropped);
    let handle = sim.spawn(async move {
        let _own = own;
        task.await;
    });
    drop(handle);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(sim.pending_tasks(), 0);
    // The simulation is still usable, and the cancelled task never runs.
    sim.block_on(sim.sleep(Duration::from_secs(60)));
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[test]
fn cancelled_fan_out_holding_its_own_sim_is_freed() {
    // Its work holds clones of the Sim: dropping the stream, and then the
    // last outside clone, must free every task, polled yet or not.
    for polled in [false, true] {
        let sim = Sim::new();
        let dropped = Arc::new(AtomicUsize::new(0));
        let (own, count) = (sim.clone(), Arc::clone(&dropped));
        let mut stream = stagger::task_staggered(&sim, 0..5, Duration::ZERO, move |_| {
            let (sim, guard) = (own.clone(), DropCounter(Arc::clone(&count)));
            async move {
                let _guard = guard;
                sim.sleep(Duration::from_secs(3600)).await;
            }
        });
        sim.block_on(async {
            // Spawns the five tasks, all due at once...
            assert!(futures::poll!(stream.next()).is_pending());
            if polled {
                // ...and lets them start sleeping.
                yield_now().await;
            }
        });
        assert_eq!(sim.pending_tasks(), 5);
        drop(stream);
        assert_eq!(dropped.load(Ordering::SeqCst), 5, "polled: {polled}");
        assert_eq!(sim.pending_tasks(), 0);
    }
}

#[test]
fn handle_dropped_inside_block_on_cancels_at_the_next_poll() {
    // While the simulation runs, cancellation keeps its place in the queue:
    // the run stays deterministic.
    let (finished, dropped) = (Arc::default(), Arc::default());
    let sim = Sim::new();
    sim.block_on(async {
        let handle = sim.spawn(counted_task(&sim, &finished, &dropped));
        yield_now().await;
        drop(handle);
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "dropped inside the drop");
        yield_now().await;
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

// ===== tasks across block_on calls =====

#[test]
fn spawned_tasks_wait_for_a_block_on() {
    let sim = Sim::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    sim.spawn(async move {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .detach();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(sim.pending_tasks(), 1);
    sim.block_on(async {});
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(sim.pending_tasks(), 0);
}

#[test]
fn spawned_tasks_continue_across_block_on_calls() {
    let sim = Sim::new();
    let at = Arc::new(Mutex::new(None));
    let handle = sim.spawn({
        let (sim, at) = (sim.clone(), Arc::clone(&at));
        async move {
            sim.sleep(Duration::from_secs(5)).await;
            *at.lock().unwrap() = Some(sim.elapsed());
            7
        }
    });
    sim.block_on(sim.sleep(Duration::from_secs(1)));
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
    assert_eq!(*at.lock().unwrap(), None);
    assert_eq!((sim.pending_tasks(), sim.pending_timers()), (1, 1));
    // The next block_on picks it up where it left off.
    assert_eq!(sim.block_on(handle), 7);
    assert_eq!(*at.lock().unwrap(), Some(Duration::from_secs(5)));
    assert_eq!(sim.elapsed(), Duration::from_secs(5));
}

#[test]
fn block_on_returns_before_runnable_tasks_finish() {
    let sim = Sim::new();
    let handle = sim.spawn({
        let sim = sim.clone();
        async move {
            sim.sleep(Duration::from_secs(2)).await;
        }
    });
    sim.block_on(async {});
    assert!(!handle.is_finished());
    sim.block_on(sim.sleep(Duration::from_secs(3)));
    assert!(handle.is_finished());
}

#[test]
fn join_handle_output_and_panics() {
    let sim = Sim::new();
    let out = sim.block_on(async {
        let a = sim.spawn(async { 40 });
        let b = sim.spawn(async { 2 });
        a.await + b.await
    });
    assert_eq!(out, 42);

    let err = sim
        .block_on(async { sim.spawn(async { panic!("boom") }).try_join().await })
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "task panicked: boom");

    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(async { sim.spawn(async { panic!("boom") }).await })
    }))
    .unwrap_err();
    assert_eq!(message(caught.as_ref()), "boom");
    // The simulation is still usable after a panic.
    assert_eq!(sim.block_on(async { sim.spawn(async { 1 }).await }), 1);
}

#[test]
fn detached_raw_task_panic_leaves_block_on() {
    let sim = Sim::new();
    sim.spawn_detached(async { panic!("raw task") });
    let caught = catch_unwind(AssertUnwindSafe(|| sim.block_on(pending::<()>()))).unwrap_err();
    assert_eq!(message(caught.as_ref()), "raw task");
    assert_eq!(sim.pending_tasks(), 0);
    sim.block_on(sim.sleep(Duration::from_secs(1)));
}

// ===== failures =====

#[test]
#[should_panic(expected = "deadlock")]
fn waiting_on_nothing_is_a_deadlock() {
    Sim::new().block_on(pending::<()>());
}

#[test]
fn deadlock_message_explains() {
    let sim = Sim::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(async {
            let (_tx, rx) = futures::channel::oneshot::channel::<()>();
            rx.await
        })
    }))
    .unwrap_err();
    let message = message(caught.as_ref());
    assert!(
        message.starts_with(
            "stagger::sim::Sim deadlock: the future passed to block_on is waiting, \
             but no task can run and no timer is pending"
        ),
        "{message}"
    );
}

#[test]
fn tasks_waiting_on_each_other_are_a_deadlock() {
    let sim = Sim::new();
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    sim.spawn(async move {
        let _ = rx.await;
    })
    .detach();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(async {
            sim.sleep(Duration::from_secs(1)).await;
            pending::<()>().await;
        })
    }))
    .unwrap_err();
    assert!(message(caught.as_ref()).contains("deadlock"));
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
    drop(tx);
    sim.block_on(async {});
    assert_eq!(sim.pending_tasks(), 0);
}

#[test]
fn nested_block_on_panics() {
    let sim = Sim::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(async { sim.block_on(async {}) });
    }))
    .unwrap_err();
    assert!(message(caught.as_ref()).contains("nested"), "{caught:?}");
    // The outer block_on unwound cleanly: the Sim still works.
    sim.block_on(sim.sleep(Duration::from_secs(1)));
}

#[test]
fn nested_block_on_in_a_task_panics() {
    let sim = Sim::new();
    let inner = sim.clone();
    let err = sim
        .block_on(
            sim.spawn(async move { inner.block_on(async {}) })
                .try_join(),
        )
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("nested"), "{err}");
}

#[test]
fn another_sim_can_run_inside() {
    let (outer, inner) = (Sim::new(), Sim::new());
    outer.block_on(async {
        inner.block_on(inner.sleep(Duration::from_secs(2)));
        outer.sleep(Duration::from_secs(1)).await;
    });
    assert_eq!(inner.elapsed(), Duration::from_secs(2));
    assert_eq!(outer.elapsed(), Duration::from_secs(1));
}

#[test]
fn wakers_work_from_other_threads() {
    let sim = Sim::new();
    sim.block_on(async {
        let mut polls = 0;
        poll_fn(|cx| {
            polls += 1;
            if polls == 2 {
                return Poll::Ready(());
            }
            let waker = cx.waker().clone();
            std::thread::spawn(move || waker.wake()).join().unwrap();
            Poll::Pending
        })
        .await;
        // And a spawned task's waker, woken on another thread.
        let (tx, rx) = futures::channel::oneshot::channel();
        let task = sim.spawn(rx);
        yield_now().await;
        std::thread::spawn(move || tx.send(5))
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(task.await, Ok(5));
    });
}

#[test]
fn runs_on_another_thread() {
    let sim = Sim::new();
    let remote = sim.clone();
    let delays = std::thread::spawn(move || {
        remote.block_on(stagger::wait_n(&remote, 10, Duration::from_secs(1)))
    })
    .join()
    .unwrap();
    assert_eq!(sim.elapsed(), *delays.last().unwrap());
}

// ===== scale (ignored by default) =====

/// The scale tests take it, so that they run one at a time: run side by side
/// on two cores, they would time each other's allocations.
static SCALE: Mutex<()> = Mutex::new(());

#[test]
#[ignore = "scale: run with cargo test --release --test sim -- --ignored --nocapture"]
fn million_waiters() {
    let _one_at_a_time = SCALE.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = StdRng::seed_from_u64(1);
    let wall = Instant::now();
    let m = stagger::measure_time_with(&Sim::new(), &mut rng, 1_000_000, Duration::from_secs(10));
    let took = wall.elapsed();
    eprintln!("Sim measure_time_with(1_000_000 waiters, 10 s): {took:?} wall, {m:?}");
    assert_eq!(m.total, m.longest);
    assert_eq!(m.lateness, Duration::ZERO);
}

#[test]
#[ignore = "scale: run with cargo test --release --test sim -- --ignored --nocapture"]
fn million_tasks() {
    let _one_at_a_time = SCALE.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = StdRng::seed_from_u64(1);
    let sim = Sim::new();
    let wall = Instant::now();
    let delays = sim.block_on(stagger::task_wait_n_with(
        &sim,
        &mut rng,
        1_000_000,
        Duration::from_secs(10),
    ));
    let took = wall.elapsed();
    eprintln!("Sim task_wait_n_with(1_000_000 tasks, 10 s): {took:?} wall");
    assert_eq!(sim.elapsed(), *delays.last().unwrap());
    assert_eq!(sim.pending_tasks(), 0);
}

// ===== time control =====

#[test]
fn paused_time_moves_only_through_advance() {
    // Timers at 1 s, 2 s, 2 s and 3 s: stepping half a second at a time
    // fires each at its own deadline, ties in creation order, and nothing
    // early.
    let sim = Sim::builder().start_paused(true).build();
    let fired = Arc::new(Mutex::new(Vec::new()));
    for (name, secs) in [("a", 1), ("b", 2), ("c", 2), ("d", 3)] {
        let (clock, fired) = (sim.clone(), Arc::clone(&fired));
        let sleep = sim.sleep(Duration::from_secs(secs));
        sim.spawn(async move {
            sleep.await;
            fired.lock().unwrap().push((name, clock.elapsed()));
        })
        .detach();
    }
    let seen = |fired: &Mutex<Vec<(&'static str, Duration)>>| fired.lock().unwrap().clone();
    sim.block_on(async {
        let step = Duration::from_millis(500);
        let mut steps = Vec::new();
        for _ in 0..7 {
            sim.advance(step).await;
            steps.push((sim.elapsed(), seen(&fired).len()));
        }
        let ms = Duration::from_millis;
        assert_eq!(
            steps,
            [
                (ms(500), 0),
                (ms(1000), 1),
                (ms(1500), 1),
                (ms(2000), 3),
                (ms(2500), 3),
                (ms(3000), 4),
                (ms(3500), 4)
            ]
        );
    });
    let secs = Duration::from_secs;
    assert_eq!(
        seen(&fired),
        [
            ("a", secs(1)),
            ("b", secs(2)),
            ("c", secs(2)),
            ("d", secs(3))
        ]
    );
}

#[test]
fn paused_and_idle_panics_naming_the_way_out() {
    let sim = Sim::seeded(77);
    sim.pause();
    assert!(sim.is_paused());
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(sim.sleep(Duration::from_secs(1)))
    }))
    .unwrap_err();
    let message = message(caught.as_ref());
    assert!(
        message.contains("paused") && message.contains("sim.advance"),
        "{message}"
    );
    assert!(message.contains("seed 77"), "{message}");
    assert_eq!(sim.elapsed(), Duration::ZERO, "time moved while paused");
    // Resumed, it auto-advances again.
    sim.resume();
    sim.block_on(sim.sleep(Duration::from_secs(1)));
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
}

#[test]
fn advance_while_auto_advancing_stops_at_its_end() {
    let sim = Sim::new();
    let late = sim.sleep(Duration::from_secs(10));
    sim.block_on(async {
        let mut late = pin!(late);
        assert!(futures::poll!(late.as_mut()).is_pending());
        sim.advance(Duration::from_secs(4)).await;
        assert_eq!(sim.elapsed(), Duration::from_secs(4));
        assert!(futures::poll!(late.as_mut()).is_pending());
        sim.advance(Duration::ZERO).await;
        late.await;
    });
    assert_eq!(sim.elapsed(), Duration::from_secs(10));
}

#[test]
fn advance_from_a_task_moves_a_paused_clock() {
    let sim = Sim::builder().start_paused(true).build();
    let stepper = sim.clone();
    sim.spawn(async move { stepper.advance(Duration::from_secs(5)).await })
        .detach();
    sim.block_on(sim.sleep(Duration::from_secs(3)));
    assert_eq!(sim.elapsed(), Duration::from_secs(3));
    sim.block_on(sim.advance(Duration::from_secs(2)));
    assert_eq!(sim.elapsed(), Duration::from_secs(5));
}

// ===== seeds =====

#[test]
fn seeds_fix_the_generators() {
    let draws = |sim: &Sim| {
        let mut a = sim.rng();
        let mut b = sim.rng();
        (a.random::<u64>(), b.random::<u64>())
    };
    let first = draws(&Sim::seeded(5));
    assert_eq!(first, draws(&Sim::seeded(5)));
    assert_ne!(first.0, first.1);
    assert_ne!(first, draws(&Sim::seeded(6)));
    assert_eq!(Sim::seeded(5).seed(), 5);
    // Sim::new() is seeded too: with 0.
    assert_eq!(Sim::new().seed(), 0);
    assert_eq!(draws(&Sim::new()), draws(&Sim::seeded(0)));
}

#[test]
fn every_sim_panic_names_the_seed() {
    let sim = Sim::seeded(1234);
    let deadlock = catch_unwind(AssertUnwindSafe(|| sim.block_on(pending::<()>()))).unwrap_err();
    let nested = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(async { sim.block_on(async {}) })
    }))
    .unwrap_err();
    for caught in [deadlock, nested] {
        let message = message(caught.as_ref());
        assert!(
            message.contains("seed 1234") && message.contains("STAGGER_SEED=1234"),
            "{message}"
        );
    }
}

/// Run by `from_env_reads_stagger_seed` in a child process, with the
/// environment it sets.
#[test]
#[ignore = "run by from_env_reads_stagger_seed"]
fn seed_probe() {
    let sim = Sim::from_env();
    println!("probe seed {}", sim.seed());
    let mut rng = sim.rng();
    println!("probe draw {}", rng.random::<u64>());
}

#[test]
fn from_env_reads_stagger_seed() {
    let probe = |seed: Option<&str>| {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child.args([
            "--exact",
            "seed_probe",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ]);
        match seed {
            Some(seed) => child.env("STAGGER_SEED", seed),
            None => child.env_remove("STAGGER_SEED"),
        };
        let out = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // libtest may print "test seed_probe ... " on the same line.
        let lines: Vec<String> = (stdout.lines())
            .filter_map(|l| l.rfind("probe ").map(|at| l[at..].to_owned()))
            .collect();
        (
            out.status.success(),
            lines,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, lines, _) = probe(Some("12345"));
    assert!(ok);
    assert_eq!(lines[0], "probe seed 12345");
    // The same seed, the same draws: a run replays.
    assert_eq!(probe(Some("0x3039")).1, lines);
    let expected = format!("probe draw {}", Sim::seeded(12345).rng().random::<u64>());
    assert_eq!(lines[1], expected);
    // Unset: a fresh seed each time.
    let (a, b) = (probe(None).1, probe(None).1);
    assert_ne!(a[0], b[0]);
    // Malformed: a message naming the value.
    let (ok, _, stderr) = probe(Some("twelve"));
    assert!(!ok);
    assert!(
        stderr.contains("STAGGER_SEED=\"twelve\" is not a seed"),
        "{stderr}"
    );
}

// ===== determinism check =====

/// A program mixing spawned tasks, sleeps, a fan-out and a retry loop with
/// decorrelated jitter, all drawing from the simulation's generators: about
/// 10 000 events.
fn busy_program(sim: &Sim) -> Duration {
    let mut rng = sim.rng();
    let workers: Vec<_> = (0..200)
        .map(|i| {
            let (clock, mut rng) = (sim.clone(), sim.rng());
            sim.spawn(async move {
                for _ in 0..10 {
                    clock
                        .sleep(Duration::from_millis(rng.random_range(1..50)))
                        .await;
                }
                i
            })
        })
        .collect();
    sim.block_on(async {
        let delays = stagger::task_wait_n_with(sim, &mut rng, 2000, Duration::from_secs(5)).await;
        assert_eq!(delays.len(), 2000);
        // A retry loop: fail until attempt 30, backing off with jitter.
        let jitter = stagger::jitter::DecorrelatedJitter::new(
            Duration::from_millis(10),
            Duration::from_secs(1),
        )
        .unwrap();
        for attempt in 0.. {
            if attempt == 30 {
                break;
            }
            stagger::wait_random_from(sim, &mut rng, &jitter).await;
        }
        futures::future::join_all(workers).await;
    });
    sim.elapsed()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]

    /// Whatever the seed, the busy program's two runs trace the same events
    /// at the same virtual times.
    #[test]
    fn deterministic_programs_pass_the_check(seed: u64) {
        let elapsed = stagger::sim::assert_deterministic(seed, busy_program);
        proptest::prop_assert!(elapsed > Duration::ZERO);
        let sim = Sim::builder().seed(seed).trace(true).build();
        busy_program(&sim);
        let trace = sim.trace();
        proptest::prop_assert!(trace.len() > 8_000, "{} events", trace.len());
        proptest::prop_assert!(trace.is_sorted_by_key(|(at, _)| *at), "time went backwards");
    }
}

#[test]
fn the_check_names_the_first_divergence() {
    // Unseeded draws: the two runs differ.
    let caught = catch_unwind(|| {
        stagger::sim::assert_deterministic(3, |sim: &Sim| {
            sim.block_on(stagger::wait_n(sim, 10, Duration::from_secs(60)))
        })
    })
    .unwrap_err();
    let message = message(caught.as_ref());
    assert!(message.contains("the runs differ at event"), "{message}");
    assert!(message.contains("TimerFired"), "{message}");
    assert!(message.contains("seed 3"), "{message}");
}

// ===== delays past Instant's range =====

#[test]
fn waiting_only_on_unreachable_deadlines_says_so() {
    let sim = Sim::new();
    let caught =
        catch_unwind(AssertUnwindSafe(|| sim.block_on(sim.sleep(Duration::MAX)))).unwrap_err();
    let message = message(caught.as_ref());
    assert!(
        message.contains("1 Sim sleep(s) whose deadline lies past what an Instant can hold"),
        "{message}"
    );
    // And it forgets them once they are dropped.
    let caught = catch_unwind(AssertUnwindSafe(|| sim.block_on(pending::<()>()))).unwrap_err();
    assert!(
        message_of(&caught).contains("not a Sim timer"),
        "{}",
        message_of(&caught)
    );
    // A fan-out whose draws land past the range, the others in range.
    let sim = Sim::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(stagger::wait_n(&sim, 10, Duration::MAX))
    }))
    .unwrap_err();
    assert!(
        message_of(&caught).contains("past what an Instant can hold"),
        "{}",
        message_of(&caught)
    );
}

fn message_of(payload: &Box<dyn std::any::Any + Send>) -> String {
    message(payload.as_ref()).to_owned()
}

// ===== other crates' timers on Sim's clock =====

#[cfg(feature = "hyper")]
#[path = "conformance/duplex.rs"]
mod duplex;

#[test]
#[cfg(feature = "hyper")]
fn hyper_header_read_timeout_fires_in_virtual_time() {
    // hyper's default header read timeout, 30 s, once it has a timer: a
    // client that sends half a header is cut off after exactly 30 s of
    // virtual time, in no time at all.
    use hyper::body::Incoming;
    use stagger::interop::HyperTimer;

    let wall = Instant::now();
    let sim = Sim::new();
    let service = hyper::service::service_fn(|_: hyper::Request<Incoming>| async {
        Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new()))
    });
    let err = sim.block_on(async {
        let (mut client, server) = duplex::duplex().await;
        futures::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1\r\nHost: mem\r\n")
            .await
            .unwrap();
        hyper::server::conn::http1::Builder::new()
            .timer(HyperTimer::new(sim.clone()))
            .serve_connection(server, service)
            .await
            .unwrap_err()
    });
    assert!(err.is_timeout(), "{err}");
    assert_eq!(sim.elapsed(), Duration::from_secs(30));
    assert!(wall.elapsed() < WALL);
}

#[test]
fn impossible_sizes_fail_at_once() {
    // What cannot be allocated panics before anything grows, not after
    // gigabytes.
    let sim = Sim::new();
    let max = Duration::from_secs(1);
    type Attempt<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let attempts: [Attempt<'_>; 4] = [
        (
            "wait_n",
            Box::new(|| drop(stagger::wait_n(&sim, usize::MAX, max))),
        ),
        (
            "task_wait_n",
            Box::new(|| drop(stagger::task_wait_n(&sim, usize::MAX, max))),
        ),
        (
            "as_completed",
            Box::new(|| drop(stagger::as_completed(&sim, usize::MAX, max))),
        ),
        (
            "staggered",
            Box::new(|| drop(stagger::staggered(&sim, 0..usize::MAX, max, |_| async {}))),
        ),
    ];
    for (name, attempt) in attempts {
        let wall = Instant::now();
        let caught = catch_unwind(AssertUnwindSafe(attempt)).expect_err(name);
        assert!(
            wall.elapsed() < Duration::from_secs(1),
            "{name} took {:?}",
            wall.elapsed()
        );
        let message = message(caught.as_ref());
        assert!(
            message.contains("capacity overflow") || message.contains("cannot fit in memory"),
            "{name}: {message}"
        );
    }
}

// ===== review fixes: cancellation scope, leaks, permits, panic location =====

#[test]
fn cancelling_one_task_cancels_only_that_one() {
    // B holds the sender A waits on. Cancelling B drops the sender, which
    // wakes A: A must run on and see the channel closed, not be taken for
    // cancelled too. And a task spawned by a cancelled future's destructor
    // runs.
    struct SpawnOnDrop(Sim, Arc<AtomicUsize>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let ran = Arc::clone(&self.1);
            self.0
                .spawn(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .detach();
        }
    }
    let sim = Sim::new();
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let a = sim.spawn(rx);
    let cleanup = Arc::new(AtomicUsize::new(0));
    let guard = SpawnOnDrop(sim.clone(), Arc::clone(&cleanup));
    let b = sim.spawn(async move {
        let _tx = tx;
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    sim.block_on(async {});
    drop(b);
    assert_eq!(sim.block_on(a), Err(futures::channel::oneshot::Canceled));
    assert_eq!(
        cleanup.load(Ordering::SeqCst),
        1,
        "the cleanup task did not run"
    );
}

#[test]
fn task_cancelled_inside_block_on_holding_its_own_sim_is_freed() {
    let (finished, dropped) = (Arc::default(), Arc::default());
    let sim = Sim::new();
    let own = sim.clone();
    let task = counted_task(&sim, &finished, &dropped);
    sim.block_on(async {
        // Spawned and cancelled before the block_on ends: nothing will
        // poll it again.
        let _handle = sim.spawn(async move {
            let _own = own;
            task.await;
        });
    });
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "left behind by the block_on"
    );
    assert_eq!(sim.pending_tasks(), 0);
}

#[test]
fn a_dropped_advance_withdraws_its_permit() {
    let sim = Sim::builder().start_paused(true).build();
    // The timeout fires at 1 s, dropping the hour-long advance.
    let out = sim.block_on(stagger::timeout(
        &sim,
        Duration::from_secs(1),
        sim.advance(Duration::from_secs(3600)),
    ));
    assert!(out.is_err());
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
    // No advance under way: the paused clock stands still.
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(sim.sleep(Duration::from_secs(60)))
    }))
    .unwrap_err();
    assert!(
        message(caught.as_ref()).contains("paused"),
        "{}",
        message(caught.as_ref())
    );
    assert_eq!(sim.elapsed(), Duration::from_secs(1));
}

#[path = "support/panic_location.rs"]
mod panic_location;

#[test]
fn nested_block_on_panics_point_at_the_caller() {
    let sim = Sim::new();
    let at = panic_location::panic_location(|| sim.block_on(async { sim.block_on(async {}) }));
    assert!(at.ends_with("sim.rs") && at.contains("tests"), "{at}");
}

#[test]
fn deadlock_and_paused_clock_panics_point_at_the_caller() {
    let sim = Sim::new();
    let at = panic_location::panic_location(|| sim.block_on(futures::future::pending::<()>()));
    assert!(at.ends_with("sim.rs") && at.contains("tests"), "{at}");

    let sim = Sim::new();
    sim.pause();
    let at = panic_location::panic_location(|| sim.block_on(sim.sleep(Duration::from_secs(1))));
    assert!(at.ends_with("sim.rs") && at.contains("tests"), "{at}");
}

#[test]
fn outputs_finished_before_a_panic_come_first() {
    // Item 0 finishes, item 1 then panics, before the stream is polled
    // again: item 0's Done is yielded, then the panic resumes.
    let sim = Sim::new();
    let mut stream = stagger::task_staggered(&sim, 0..2, Duration::ZERO, |i| async move {
        if i == 1 {
            panic!("item 1 failed");
        }
        i
    });
    sim.block_on(async {
        assert!(futures::poll!(stream.next()).is_pending());
        yield_now().await; // both members run
        yield_now().await;
        assert_eq!(stream.next().await.map(|d| d.index), Some(0));
        let caught = AssertUnwindSafe(stream.next())
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(message(caught.as_ref()), "item 1 failed");
    });
}
