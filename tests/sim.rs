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
    fn assert_sleep<T: Future<Output = ()> + std::fmt::Debug + Send + 'static>() {}
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
        let mut sleep = pin!(sim.sleep_until(past));
        assert!(futures::poll!(sleep.as_mut()).is_ready());
        assert!(futures::poll!(pin!(sim.sleep(Duration::ZERO))).is_ready());
        // Created before the clock moved, polled after its deadline.
        let early = sim.sleep(Duration::from_secs(1));
        sim.sleep(Duration::from_secs(5)).await;
        assert!(futures::poll!(pin!(early)).is_ready());
    });
    assert_eq!(sim.elapsed(), Duration::from_secs(7));
    assert_eq!(sim.pending_timers(), 0);
}

#[test]
fn unreachable_deadline_never_fires() {
    let sim = Sim::new();
    let never = sim.sleep(Duration::MAX);
    assert_eq!(never.deadline(), None);
    let won = sim.block_on(select(
        Box::pin(never),
        Box::pin(sim.sleep(Duration::from_millis(20))),
    ));
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
        let won = select(Box::pin(long), Box::pin(short)).await;
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
        Box::pin(sim.sleep(Duration::from_secs(3600))),
        Box::pin(sim.sleep(Duration::from_secs(1))),
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
        match select(Box::pin(wait), pin!(timeout)).await {
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
                Box::pin(sim.sleep(Duration::from_secs(3600))),
                Box::pin(sim.sleep(Duration::from_millis(1))),
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
        let mut sleep = Box::pin(sim.sleep(Duration::from_secs(3)));
        // Registered with the block_on future's waker...
        assert!(futures::poll!(sleep.as_mut()).is_pending());
        // ...then awaited by a task: the task must be the one woken.
        let task = sim.spawn(sleep);
        task.await;
    });
    assert_eq!(sim.elapsed(), Duration::from_secs(3));
}

#[test]
fn sleeps_outliving_their_sim_stay_pending() {
    let sim = Sim::new();
    let mut registered = Box::pin(sim.sleep(Duration::from_secs(1)));
    let mut fresh = Box::pin(sim.sleep(Duration::from_secs(1)));
    sim.block_on(async {
        assert!(futures::poll!(registered.as_mut()).is_pending());
    });
    drop(sim);
    futures::executor::block_on(async {
        assert!(futures::poll!(registered.as_mut()).is_pending());
        assert!(futures::poll!(fresh.as_mut()).is_pending());
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
    let probe = |seed: Option<&std::ffi::OsStr>| {
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
    let probe_str = |seed: &str| probe(Some(seed.as_ref()));
    let (ok, lines, _) = probe_str("12345");
    assert!(ok);
    assert_eq!(lines[0], "probe seed 12345");
    // The same seed, the same draws: a run replays.
    assert_eq!(probe_str("0x3039").1, lines);
    let expected = format!("probe draw {}", Sim::seeded(12345).rng().random::<u64>());
    assert_eq!(lines[1], expected);
    // Unset: a fresh seed each time.
    let (a, b) = (probe(None).1, probe(None).1);
    assert_ne!(a[0], b[0]);
    // Malformed: a message naming the value.
    let (ok, _, stderr) = probe_str("twelve");
    assert!(!ok);
    assert!(
        stderr.contains("STAGGER_SEED=\"twelve\" is not a seed"),
        "{stderr}"
    );
    // Not Unicode: malformed too, not taken for unset (which ran a random
    // seed silently).
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let (ok, lines, stderr) = probe(Some(std::ffi::OsStr::from_bytes(b"12\xff")));
        assert!(!ok, "{lines:?}");
        assert!(
            stderr.contains("STAGGER_SEED=\"12\\xFF\" is not a seed"),
            "{stderr}"
        );
    }
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
    // Draws from a generator not from the Sim: the two runs differ.
    let caught = catch_unwind(|| {
        stagger::sim::assert_deterministic(3, |sim: &Sim| {
            let mut unseeded = stagger::FastRng::new();
            sim.block_on(stagger::wait_n_with(
                sim,
                &mut unseeded,
                10,
                Duration::from_secs(60),
            ))
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
    // gigabytes, and never aborts the process: with stagger's own message,
    // naming the function and the size, for sizes past the address space
    // (usize::MAX) and sizes that pass that check but no allocator gives
    // (2⁴⁰ items: 16 TiB of delays).
    let sim = Sim::new();
    let max = Duration::from_secs(1);
    let mut rng = StdRng::seed_from_u64(1);
    let rng = std::cell::RefCell::new(&mut rng);
    for n in [usize::MAX, 1 << 40] {
        type Attempt<'a> = (&'a str, Box<dyn Fn() + 'a>);
        let attempts: [Attempt<'_>; 6] = [
            ("wait_n", Box::new(|| drop(stagger::wait_n(&sim, n, max)))),
            (
                "task_wait_n",
                Box::new(|| drop(stagger::task_wait_n(&sim, n, max))),
            ),
            (
                "as_completed",
                Box::new(|| drop(stagger::as_completed(&sim, n, max))),
            ),
            (
                "staggered",
                Box::new(|| drop(stagger::staggered(&sim, 0..n, max, |_| async {}))),
            ),
            (
                "task_staggered",
                Box::new(|| drop(stagger::task_staggered(&sim, 0..n, max, |_| async {}))),
            ),
            (
                "schedule::spread",
                Box::new(|| drop(stagger::schedule::spread(n, max, &mut **rng.borrow_mut()))),
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
                message.starts_with(&format!("stagger::{name}: {n} items cannot fit in memory")),
                "{name}: {message}"
            );
        }
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

// ===== stepping time: next_deadline, advance_to_next, run_until_idle =====

type Log = Arc<Mutex<Vec<(&'static str, Duration)>>>;

/// Spawns a task that sleeps `secs`, then logs `name` at the virtual time.
fn logged_sleeper(sim: &Sim, log: &Log, name: &'static str, secs: u64) {
    let (sim2, log) = (sim.clone(), Arc::clone(log));
    sim.spawn(async move {
        sim2.sleep(Duration::from_secs(secs)).await;
        log.lock().unwrap().push((name, sim2.elapsed()));
    })
    .detach();
}

#[test]
fn advance_to_next_steps_one_deadline_at_a_time() {
    let secs = Duration::from_secs;
    let sim = Sim::builder().start_paused(true).build();
    let start = sim.now();
    let log: Log = Arc::default();
    logged_sleeper(&sim, &log, "a", 1);
    logged_sleeper(&sim, &log, "b", 2);
    logged_sleeper(&sim, &log, "c", 2); // ties with b, created after it
    // d wakes at 3 s and spawns e (due at once) and f (a second later).
    let (sim2, log2) = (sim.clone(), Arc::clone(&log));
    sim.spawn(async move {
        sim2.sleep(secs(3)).await;
        log2.lock().unwrap().push(("d", sim2.elapsed()));
        logged_sleeper(&sim2, &log2, "e", 0);
        logged_sleeper(&sim2, &log2, "f", 1);
    })
    .detach();
    // Spawned, not yet polled: no timer is pending.
    assert_eq!(sim.next_deadline(), None);
    let snapshot = || log.lock().unwrap().clone();
    sim.block_on(async {
        assert_eq!(sim.advance_to_next().await, Some(start + secs(1)));
        assert_eq!(snapshot(), [("a", secs(1))]);
        assert_eq!(sim.elapsed(), secs(1));
        assert_eq!(sim.next_deadline(), Some(start + secs(2)));

        assert_eq!(sim.advance_to_next().await, Some(start + secs(2)));
        assert_eq!(snapshot()[1..], [("b", secs(2)), ("c", secs(2))]);

        // The step runs what its timers woke, and what that spawned, until
        // it waits again: e, due at once, ran; f waits for 4 s.
        assert_eq!(sim.advance_to_next().await, Some(start + secs(3)));
        assert_eq!(snapshot()[3..], [("d", secs(3)), ("e", secs(3))]);
        assert_eq!(sim.elapsed(), secs(3));
        assert_eq!(sim.next_deadline(), Some(start + secs(4)));

        assert_eq!(sim.advance_to_next().await, Some(start + secs(4)));
        assert_eq!(snapshot()[5..], [("f", secs(4))]);

        // Nothing pending: None, no panic, and time stays.
        assert_eq!(sim.next_deadline(), None);
        assert_eq!(sim.advance_to_next().await, None);
        assert_eq!(sim.elapsed(), secs(4));
    });
    assert_eq!(sim.pending_tasks(), 0);
}

#[test]
fn advance_to_next_with_auto_advance_on_steps_one_deadline_too() {
    let secs = Duration::from_secs;
    let sim = Sim::new(); // not paused
    let log: Log = Arc::default();
    for (name, at) in [("a", 1), ("b", 5), ("c", 9)] {
        logged_sleeper(&sim, &log, name, at);
    }
    sim.block_on(async {
        sim.advance_to_next().await;
        // The clock did not run on while the step ran.
        assert_eq!(sim.elapsed(), secs(1));
        assert_eq!(*log.lock().unwrap(), [("a", secs(1))]);
        // Auto-advance goes on once the awaiter waits on something else.
        sim.sleep(secs(20)).await;
    });
    assert_eq!(
        *log.lock().unwrap(),
        [("a", secs(1)), ("b", secs(5)), ("c", secs(9))]
    );
    assert_eq!(sim.elapsed(), secs(21));
}

#[test]
fn advance_to_next_counts_the_block_on_futures_own_sleep() {
    // The awaiter is a task; the block_on future's own sleep is the next
    // deadline, and ties with the task's in creation order.
    let sim = Sim::builder().start_paused(true).build();
    let start = sim.now();
    let stepper = sim.spawn({
        let sim = sim.clone();
        async move {
            let first = sim.advance_to_next().await;
            let second = sim.advance_to_next().await;
            (first, second, sim.elapsed())
        }
    });
    let main_sleep = sim.sleep(Duration::from_secs(2));
    let got = sim.block_on(async {
        main_sleep.await;
        stepper.await
    });
    assert_eq!(
        got,
        (
            Some(start + Duration::from_secs(2)),
            None,
            Duration::from_secs(2)
        )
    );
}

#[test]
fn run_until_idle_runs_everything_runnable_without_moving_time() {
    for paused in [true, false] {
        let sim = Sim::builder().start_paused(paused).build();
        let ran = Arc::new(AtomicUsize::new(0));
        // A chain of spawns, a task woken by another through a channel, and
        // a task that yields a few times: all runnable without time moving.
        fn chain(sim: Sim, ran: Arc<AtomicUsize>, depth: usize) {
            let spawner = sim.clone();
            spawner
                .spawn(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    if depth > 0 {
                        chain(sim, ran, depth - 1);
                    }
                })
                .detach();
        }
        chain(sim.clone(), Arc::clone(&ran), 4); // 5 tasks
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let woken = Arc::clone(&ran);
        sim.spawn(async move {
            rx.await.unwrap();
            woken.fetch_add(1, Ordering::SeqCst);
        })
        .detach();
        let yielder = Arc::clone(&ran);
        sim.spawn(async move {
            for _ in 0..3 {
                yield_now().await;
            }
            tx.send(()).unwrap();
            yielder.fetch_add(1, Ordering::SeqCst);
        })
        .detach();
        let late = Arc::clone(&ran);
        let sleep = sim.sleep(Duration::from_secs(1));
        sim.spawn(async move {
            sleep.await;
            late.fetch_add(100, Ordering::SeqCst);
        })
        .detach();
        sim.block_on(async {
            sim.run_until_idle().await;
            assert_eq!(ran.load(Ordering::SeqCst), 7, "paused: {paused}");
            assert_eq!(sim.elapsed(), Duration::ZERO, "paused: {paused}");
            assert_eq!(sim.pending_timers(), 1);
            assert_eq!(sim.pending_tasks(), 1);
            // Idle already: completes at once.
            sim.run_until_idle().await;
            assert_eq!(sim.elapsed(), Duration::ZERO);
        });
    }
}

#[test]
fn run_until_idle_in_two_tasks_at_once_completes_in_both() {
    // Each would otherwise see the other queued, and wait for ever.
    let sim = Sim::builder().start_paused(true).build();
    let ran = Arc::new(AtomicUsize::new(0));
    let other = sim.spawn({
        let (sim, ran) = (sim.clone(), Arc::clone(&ran));
        async move {
            sim.run_until_idle().await;
            ran.fetch_add(1, Ordering::SeqCst);
        }
    });
    let busy = sim.spawn(async {
        for _ in 0..5 {
            yield_now().await;
        }
    });
    sim.block_on(async {
        sim.run_until_idle().await;
        assert!(busy.is_finished());
        other.await;
    });
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(sim.elapsed(), Duration::ZERO);
}

#[test]
fn run_until_idle_outside_its_block_on_panics_naming_the_seed() {
    let sim = Sim::seeded(31);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(sim.run_until_idle())
    }))
    .unwrap_err();
    let text = message(caught.as_ref());
    assert!(
        text.contains("run_until_idle") && text.contains("seed 31"),
        "{text}"
    );
    // Inside another Sim's block_on, likewise: that thread drives another.
    let other = Sim::new();
    let caught =
        catch_unwind(AssertUnwindSafe(|| other.block_on(sim.advance_to_next()))).unwrap_err();
    assert!(message(caught.as_ref()).contains("seed 31"));
}

#[test]
fn next_deadline_ignores_unreachable_and_dropped_sleeps() {
    let sim = Sim::builder().start_paused(true).build();
    sim.block_on(async {
        let mut never = pin!(sim.sleep(Duration::MAX));
        assert!(futures::poll!(never.as_mut()).is_pending());
        assert_eq!(sim.next_deadline(), None);
        assert_eq!(sim.advance_to_next().await, None);
        let mut dropped = Box::pin(sim.sleep(Duration::from_secs(1)));
        assert!(futures::poll!(dropped.as_mut()).is_pending());
        assert_eq!(
            sim.next_deadline(),
            Some(sim.now() + Duration::from_secs(1))
        );
        drop(dropped);
        assert_eq!(sim.next_deadline(), None);
    });
    assert_eq!(sim.elapsed(), Duration::ZERO);
}

// ===== randomness through the backend =====

/// A library's own jitter, drawn through the traits: generic over
/// `Sleeper`, with no generator from its caller.
async fn library_jitter<S: Sleeper>(rt: &S) -> Vec<Duration> {
    let mut rng = rt.rng();
    let mut drawn = Vec::new();
    for _ in 0..3 {
        let jitter = rng.random_range(Duration::ZERO..Duration::from_secs(1));
        rt.sleep(jitter).await;
        drawn.push(jitter);
    }
    drawn
}

/// Every plain form (no generator given) and a library's draws, on a Sim
/// seeded with `seed`.
fn plain_forms(seed: u64) -> Vec<Vec<Duration>> {
    let sim = Sim::seeded(seed);
    let max = Duration::from_secs(10);
    let mut runs = sim.block_on(async {
        let delays = |done: Vec<stagger::Done<()>>| done.iter().map(|d| d.delay).collect();
        vec![
            vec![stagger::wait_random(&sim, max).await],
            stagger::wait_n(&sim, 5, max).await,
            vec![stagger::task_wait_random(&sim, max).await],
            stagger::task_wait_n(&sim, 5, max).await,
            stagger::as_completed(&sim, 5, max).collect().await,
            delays(
                stagger::staggered(&sim, 0..5, max, |_| async {})
                    .collect()
                    .await,
            ),
            delays(
                stagger::task_staggered(&sim, 0..5, max, |_| async {})
                    .collect()
                    .await,
            ),
            library_jitter(&sim).await,
            library_jitter(&&sim).await, // `&S` forwards the backend's generator
        ]
    });
    let m = stagger::measure_time(&sim, 5, max);
    runs.push(vec![m.longest, m.total, sim.elapsed()]);
    runs
}

#[test]
fn a_seed_replays_the_plain_forms_and_a_librarys_draws() {
    let (a, again, other) = (plain_forms(42), plain_forms(42), plain_forms(43));
    assert_eq!(a, again);
    // Every form draws from the seed: each differs with another one.
    for (i, (a, other)) in a.iter().zip(&other).enumerate() {
        assert_ne!(a, other, "form {i} did not change with the seed");
    }
}

#[test]
fn sim_rng_is_the_sleeper_rng() {
    // One stream: the n-th generator, whichever way it is asked for.
    let first = |ask: fn(&Sim) -> stagger::FastRng| {
        let sim = Sim::seeded(5);
        let mut rng = ask(&sim);
        rng.random::<u64>()
    };
    assert_eq!(first(Sim::rng), first(<Sim as Sleeper>::rng));
    let sim = Sim::seeded(5);
    let mut seeded = sim.rng();
    assert_eq!(seeded.random::<u64>(), first(Sim::rng));
    assert_ne!(sim.rng().random::<u64>(), first(Sim::rng));
}

#[test]
fn a_drawing_loop_can_be_spawned() {
    let run = |seed| {
        let sim = Sim::seeded(seed);
        let (timer, mut rng) = (sim.clone(), sim.rng());
        let ticks = sim.spawn(async move {
            let mut at = Vec::new();
            for _ in 0..5 {
                timer
                    .sleep(rng.random_range(Duration::ZERO..Duration::from_secs(1)))
                    .await;
                at.push(timer.elapsed());
            }
            at
        });
        sim.block_on(ticks)
    };
    assert_eq!(run(8), run(8));
    assert_ne!(run(8), run(9));
}

/// The retry of `examples/retry.rs`, in small: an operation whose attempts
/// take a random time (stagger's `wait_random`), retried by backon with
/// jitter seeded from the Sim. Returns backon's back-offs and the attempts'
/// times, and the virtual time at the end.
#[cfg(feature = "backon")]
fn retry_run(seed: u64) -> (Vec<Duration>, Vec<Duration>, Duration) {
    use backon::{ExponentialBuilder, Retryable};
    use stagger::interop::BackonSleeper;

    let sim = Sim::seeded(seed);
    let backoffs = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let (noted, timer, tried) = (Arc::clone(&backoffs), sim.clone(), Arc::clone(&attempts));
    let operation = move || {
        let (timer, tried) = (timer.clone(), Arc::clone(&tried));
        async move {
            let took = stagger::wait_random(&timer, Duration::from_millis(300)).await;
            let mut tried = tried.lock().unwrap();
            tried.push(took);
            if tried.len() < 5 {
                Err("not yet")
            } else {
                Ok(())
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_max_times(4)
        .with_jitter()
        .with_jitter_seed(sim.rng().next_u64());
    let retry = operation
        .retry(backoff)
        .sleep(BackonSleeper::new(sim.clone()))
        .notify(move |_, dur| noted.lock().unwrap().push(dur));
    assert_eq!(sim.block_on(retry), Ok(()));
    let backoffs = backoffs.lock().unwrap().clone();
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(
        sim.elapsed(),
        backoffs.iter().chain(&attempts).sum::<Duration>()
    );
    (backoffs, attempts, sim.elapsed())
}

#[cfg(feature = "backon")]
#[test]
fn one_seed_replays_a_whole_backon_retry() {
    let (a, again, other) = (retry_run(3), retry_run(3), retry_run(4));
    assert_eq!(a, again);
    assert_ne!(a.0, other.0, "backon's jitter did not follow the seed");
    assert_ne!(a.1, other.1, "stagger's draws did not follow the seed");
}

// ===== Reliability III: nothing cancelled is left behind =====

/// A request or member future that holds a clone of its own `Sim` (the
/// cycle a leak would form) and counts its creation and its drop.
fn holding_its_sim(
    sim: &Sim,
    made: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
    sleep: Duration,
) -> impl Future<Output = ()> + Send + 'static + use<> {
    made.fetch_add(1, Ordering::SeqCst);
    let (sim, guard) = (sim.clone(), DropCounter(Arc::clone(dropped)));
    async move {
        let _guard = guard;
        sim.sleep(sleep).await;
    }
}

#[test]
fn run_requests_cancelled_inside_block_on_are_freed() {
    // Requests take 5 ticks: when the third one completes, five are in
    // flight, the newest spawned in the very poll that returns the third.
    let sim = Sim::new();
    let (made, dropped) = (Arc::default(), Arc::default());
    let (clock, m, d) = (sim.clone(), Arc::clone(&made), Arc::clone(&dropped));
    let arrivals = stagger::schedule::constant(stagger::schedule::Rate::per_sec(1000.0).unwrap());
    let run = stagger::schedule::run(&sim, arrivals, move |_| {
        holding_its_sim(&clock, &m, &d, Duration::from_millis(5))
    });
    let done: Vec<_> = sim.block_on(run.take(3).collect());
    assert_eq!(done.len(), 3);
    assert!(made.load(Ordering::SeqCst) > 3);
    assert_eq!(sim.pending_tasks(), 0, "cancelled requests left queued");
    assert_eq!(dropped.load(Ordering::SeqCst), made.load(Ordering::SeqCst));
}

#[test]
fn fan_out_dropped_inside_the_block_on_that_spawned_it_is_freed() {
    // Members spawned and cancelled in one block_on, none polled yet.
    let sim = Sim::new();
    let (made, dropped) = (Arc::default(), Arc::default());
    let (own, m, d) = (sim.clone(), Arc::clone(&made), Arc::clone(&dropped));
    sim.block_on(async {
        let mut stream = stagger::task_staggered(&sim, 0..5, Duration::ZERO, move |_| {
            holding_its_sim(&own, &m, &d, Duration::from_secs(3600))
        });
        assert!(futures::poll!(stream.next()).is_pending());
        drop(stream);
    });
    assert_eq!(made.load(Ordering::SeqCst), 5);
    assert_eq!(dropped.load(Ordering::SeqCst), 5);
    assert_eq!(sim.pending_tasks(), 0);
}

#[test]
fn task_cancelled_while_its_wake_waits_in_the_shared_queue_is_freed() {
    // Woken from another thread during the block_on, the task waits in the
    // simulation's shared queue, not the driving thread's, when its handle
    // is dropped and the block_on ends.
    let sim = Sim::new();
    let (finished, dropped) = (Arc::default(), Arc::default());
    let task = counted_task(&sim, &finished, &dropped);
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let own = sim.clone();
    let handle = sim.spawn(async move {
        let _own = own;
        let _ = rx.await;
        task.await;
    });
    sim.block_on(async {
        yield_now().await; // the task waits on `rx`
        std::thread::spawn(move || tx.send(()))
            .join()
            .unwrap()
            .unwrap();
        drop(handle);
    });
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "left in the shared queue"
    );
    assert_eq!(sim.pending_tasks(), 0);
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

/// A backend written as the `Spawn` docs say: `RawTask` and `spawn_raw`
/// only, forwarding to a `Sim` in one of the ways below, with no handle of
/// its own to give.
#[derive(Clone)]
struct Wrapped(Sim, Forward);

#[derive(Clone)]
enum Forward {
    /// Through the Sim's `spawn_raw`.
    Raw,
    /// Through the Sim's `spawn`, detached: a stagger task in a stagger task.
    Spawn,
    /// Through `spawn_raw`, after spawning a helper task of its own, which
    /// counts its runs.
    WithHelper(Arc<AtomicUsize>),
}

impl Sleeper for Wrapped {
    type Sleep = SimSleep;

    fn sleep(&self, dur: Duration) -> SimSleep {
        self.0.sleep(dur)
    }

    fn sleep_until(&self, deadline: Instant) -> SimSleep {
        self.0.sleep_until(deadline)
    }

    fn now(&self) -> Instant {
        self.0.now()
    }
}

impl Spawn for Wrapped {
    type RawTask = ();

    fn spawn_raw<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.1 {
            Forward::Raw => drop(self.0.spawn_raw(task)),
            Forward::Spawn => self.0.spawn(task).detach(),
            Forward::WithHelper(ran) => {
                let ran = Arc::clone(ran);
                self.0.spawn_detached(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                });
                self.0.spawn_detached(task);
            }
        }
    }
}

impl Runtime for Wrapped {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// Spawns through `rt` a task holding its `sim`, cancels it before its
/// first poll (inside a `block_on` or not), and checks that it is gone.
fn assert_never_polled_task_freed<R: Spawn>(rt: R, sim: Sim, inside: bool) {
    let (made, dropped) = (Arc::default(), Arc::default());
    let task = holding_its_sim(&sim, &made, &dropped, Duration::from_secs(1));
    if inside {
        sim.block_on(async { drop(rt.spawn(task)) });
    } else {
        drop(rt.spawn(task));
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "inside: {inside}");
    assert_eq!(sim.pending_tasks(), 0, "inside: {inside}");
}

/// The same for the members of a fan-out dropped before their first poll.
fn assert_never_polled_members_freed<R>(rt: R, sim: Sim, inside: bool)
where
    R: Spawn + Sleeper<Sleep: Send + 'static> + Clone + Send + 'static,
{
    let (made, dropped) = (Arc::default(), Arc::default());
    let (m, d) = (Arc::clone(&made), Arc::clone(&dropped));
    let own = sim.clone();
    let mut stream = Some(stagger::task_staggered(
        &rt,
        0..5,
        Duration::ZERO,
        move |_| holding_its_sim(&own, &m, &d, Duration::from_secs(3600)),
    ));
    sim.block_on(async {
        let members = stream.as_mut().unwrap();
        assert!(futures::poll!(members.next()).is_pending());
        if inside {
            stream = None;
        }
    });
    assert_eq!(made.load(Ordering::SeqCst), 5);
    drop(stream);
    assert_eq!(dropped.load(Ordering::SeqCst), 5, "inside: {inside}");
    assert_eq!(sim.pending_tasks(), 0, "inside: {inside}");
}

#[test]
fn never_polled_task_is_freed_through_a_reference() {
    for inside in [false, true] {
        let sim = Sim::new();
        assert_never_polled_task_freed(&sim, sim.clone(), inside);
    }
}

#[test]
fn never_polled_task_is_freed_through_a_wrapper_backend() {
    for forward in [Forward::Raw, Forward::Spawn] {
        for inside in [false, true] {
            let sim = Sim::new();
            assert_never_polled_task_freed(Wrapped(sim.clone(), forward.clone()), sim, inside);
        }
    }
}

#[test]
fn cancelling_a_never_polled_task_cancels_no_other() {
    // The wrapper queues a helper task with ours: which of the two is ours
    // is unknown, so neither is dropped at once; ours is dropped at its
    // first poll, and the helper runs.
    let sim = Sim::new();
    let helped = Arc::new(AtomicUsize::new(0));
    let rt = Wrapped(sim.clone(), Forward::WithHelper(Arc::clone(&helped)));
    let (finished, dropped) = (Arc::default(), Arc::default());
    drop(rt.spawn(counted_task(&sim, &finished, &dropped)));
    assert_eq!(sim.pending_tasks(), 2);
    sim.block_on(yield_now());
    assert_eq!(helped.load(Ordering::SeqCst), 1, "the helper was cancelled");
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert_eq!(sim.pending_tasks(), 0);
}

#[test]
fn never_polled_members_are_freed_through_a_reference() {
    for inside in [false, true] {
        let sim = Sim::new();
        // The spawned fan-outs keep their runtime, so it is `'static`: a
        // reference to a leaked clone (the members are what is counted).
        let by_ref: &'static Sim = Box::leak(Box::new(sim.clone()));
        assert_never_polled_members_freed(by_ref, sim, inside);
    }
}

#[test]
fn never_polled_members_are_freed_through_a_wrapper_backend() {
    for inside in [false, true] {
        let sim = Sim::new();
        assert_never_polled_members_freed(Wrapped(sim.clone(), Forward::Raw), sim, inside);
    }
}

// ===== Reliability III: sleeps and advances that never end =====

#[test]
fn wait_n_over_duration_max_is_a_deadlock_naming_its_sleeps() {
    // What fits in an Instant fires, each at its delay; what does not never
    // fires, and with nothing else to run, the block_on is a deadlock that
    // says why (the Guarantees say so).
    let sim = Sim::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        sim.block_on(stagger::wait_n(&sim, 64, Duration::MAX))
    }))
    .unwrap_err();
    let message = message(caught.as_ref());
    assert!(message.contains("deadlock"), "{message}");
    assert!(
        message.contains("Sim sleep(s) whose deadline lies past what an Instant can hold"),
        "{message}"
    );
    // And the simulation is still usable.
    sim.block_on(sim.sleep(Duration::from_secs(1)));
}

#[test]
fn advance_past_the_last_instant_names_the_advance() {
    for paused in [false, true] {
        let sim = Sim::builder().start_paused(paused).build();
        let fired = Arc::new(AtomicUsize::new(0));
        let (sleep, count) = (sim.sleep(Duration::from_secs(5)), Arc::clone(&fired));
        sim.spawn(async move {
            sleep.await;
            count.fetch_add(1, Ordering::SeqCst);
        })
        .detach();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            sim.block_on(sim.advance(Duration::MAX));
        }))
        .unwrap_err();
        let message = message(caught.as_ref());
        assert!(message.contains("deadlock"), "paused: {paused}: {message}");
        assert!(
            message.contains("1 advance(s) whose end lies past what an Instant can hold"),
            "paused: {paused}: {message}"
        );
        assert!(!message.contains("sleep(s)"), "paused: {paused}: {message}");
        // Every timer on the way fired, at its own deadline.
        assert_eq!(fired.load(Ordering::SeqCst), 1, "paused: {paused}");
        assert_eq!(sim.elapsed(), Duration::from_secs(5), "paused: {paused}");
        // A paused clock stands still again once the advance is gone.
        if paused {
            let stuck = catch_unwind(AssertUnwindSafe(|| {
                sim.block_on(sim.sleep(Duration::from_secs(1)));
            }))
            .unwrap_err();
            assert!(
                message_of(&stuck).contains("paused"),
                "{}",
                message_of(&stuck)
            );
        }
    }
}

#[test]
fn task_cancelled_from_another_thread_as_block_on_ends_is_freed() {
    // The handle is dropped on another thread while the block_on ends: its
    // task is dropped then or by the end of the block_on, whichever comes
    // last, never left queued.
    let sim = Sim::new();
    for round in 0..10_000 {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (own, guard) = (sim.clone(), DropCounter(Arc::clone(&dropped)));
        let handle = sim.spawn(async move {
            let _own = own;
            let _guard = guard;
            pending::<()>().await;
        });
        sim.block_on(yield_now()); // the task waits, holding its Sim
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let other = {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                drop(handle);
            })
        };
        sim.block_on(async {
            barrier.wait();
            for _ in 0..(round % 7) {
                yield_now().await;
            }
        });
        other.join().unwrap();
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "round {round}");
        assert_eq!(sim.pending_tasks(), 0, "round {round}");
    }
}

/// A backend that runs every task it is given inside one `Sim` task of its
/// own, a `FuturesUnordered` pool: the wakers its tasks see are the pool's,
/// which wake the pool's task.
#[derive(Clone)]
struct Pooled {
    tasks: futures::channel::mpsc::UnboundedSender<futures::future::BoxFuture<'static, ()>>,
}

impl Pooled {
    fn new(sim: &Sim) -> Self {
        let (tasks, mut new) = futures::channel::mpsc::unbounded();
        let mut pool = futures::stream::FuturesUnordered::new();
        sim.spawn(poll_fn(move |cx| {
            while let Poll::Ready(Some(task)) = new.poll_next_unpin(cx) {
                pool.push(task);
            }
            while let Poll::Ready(Some(())) = pool.poll_next_unpin(cx) {}
            Poll::<()>::Pending
        }))
        .detach();
        Pooled { tasks }
    }
}

impl Spawn for Pooled {
    type RawTask = ();

    fn spawn_raw<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.unbounded_send(Box::pin(task)).unwrap();
    }
}

#[test]
fn cancelling_a_task_of_a_pool_on_a_sim_cancels_only_that_task() {
    // The pool's task is woken through the cancelled task's waker: it is
    // not cancelled for that, and the pool's other tasks run on.
    let sim = Sim::new();
    let pool = Pooled::new(&sim);
    let (finished, dropped) = (Arc::default(), Arc::default());
    let cancelled = pool.spawn(counted_task(&sim, &finished, &dropped));
    let (other_finished, other_dropped) = (Arc::default(), Arc::default());
    let other = pool.spawn(counted_task(&sim, &other_finished, &other_dropped));
    sim.block_on(yield_now()); // both wait on their sleeps
    drop(cancelled);
    sim.block_on(other);
    assert_eq!(other_finished.load(Ordering::SeqCst), 1);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

// ===== ticks: tokio's interval tests, exact =====

#[path = "support/interval_scripts.rs"]
mod interval_scripts;

use stagger::schedule::{self, Missed, Rate, Ticks};

/// Polls `ticks` until it is pending: the offsets from `start` of the ticks
/// it yielded, each checked to fire now.
async fn due_now<I: Iterator<Item = Duration>>(
    sim: &Sim,
    ticks: &mut Ticks<Sim, I>,
    start: Instant,
) -> Vec<Duration> {
    let mut got = Vec::new();
    while let Poll::Ready(tick) = futures::poll!(ticks.next()) {
        let tick = tick.expect("an endless interval ended");
        assert_eq!(tick.fired, sim.now());
        got.push(tick.intended - start);
        assert!(got.len() < 100, "no end to the ticks due: {got:?}");
    }
    got
}

#[test]
fn tokio_interval_tests_pass_on_sim_to_the_nanosecond() {
    use interval_scripts::{SCRIPTS, Step, ms};
    for script in SCRIPTS {
        let sim = Sim::builder().start_paused(true).build();
        let start = sim.now();
        let rate = Rate::every(ms(script.period)).unwrap();
        let mut ticks = None;
        sim.block_on(async {
            for (k, step) in script.steps.iter().enumerate() {
                let now = sim.now();
                let ticks = ticks.get_or_insert_with(|| {
                    schedule::interval_at(&sim, start, rate).missed(script.missed)
                });
                match *step {
                    Step::Advance(n) => sim.advance(ms(n)).await,
                    Step::Check(want) => {
                        let got = due_now(&sim, ticks, start).await;
                        let want: Vec<_> = want.iter().map(|&d| ms(d)).collect();
                        assert_eq!(got, want, "{}: step {k}, at {:?}", script.name, now - start);
                    }
                    Step::Reset => ticks.reset(),
                    Step::ResetImmediately => ticks.reset_immediately(),
                    Step::ResetAfter(n) => ticks.reset_after(ms(n)),
                    Step::ResetAt(n) => ticks.reset_at(sim.now() + ms(n)),
                }
            }
        });
    }
}

#[test]
fn tokio_skip_test_counts_the_tick_it_skips() {
    // tokio's `skip`, with what tokio cannot say: indices and counts. At
    // 951 ms the late tick itself (2, meant for 600 ms) is yielded, and
    // tick 3 (900 ms) counted as skipped.
    let sim = Sim::builder().start_paused(true).build();
    let start = sim.now();
    let ms = Duration::from_millis;
    let mut ticks =
        schedule::interval_at(&sim, start, Rate::every(ms(300)).unwrap()).missed(Missed::Skip);
    sim.block_on(async {
        sim.advance(ms(1)).await;
        assert_eq!(ticks.next().await.unwrap().index, 0);
        sim.advance(ms(300)).await;
        assert_eq!(ticks.next().await.unwrap().index, 1);
        assert!(futures::poll!(ticks.next()).is_pending());
        sim.advance(ms(650)).await;
        let late = ticks.next().await.unwrap();
        assert_eq!((late.index, late.intended), (2, start + ms(600)));
        assert_eq!(late.fired, start + ms(951));
        assert_eq!(ticks.skipped(), 1);
        sim.advance(ms(249)).await;
        let next = ticks.next().await.unwrap();
        assert_eq!(
            (next.index, next.intended, next.fired),
            (4, start + ms(1200), start + ms(1200))
        );
        assert_eq!(ticks.skipped(), 1);
    });
}

#[test]
fn interval_of_the_longest_period_ticks_once_without_panicking() {
    // tokio's `interval_doesnt_panic_max_duration_when_polling`.
    let sim = Sim::new();
    let mut ticks = schedule::interval(&sim, Rate::every(Duration::MAX).unwrap());
    sim.block_on(async {
        assert_eq!(ticks.next().await.unwrap().index, 0);
        assert!(futures::poll!(ticks.next()).is_pending());
    });
}

#[test]
fn skip_and_latest_catch_up_in_constant_time() {
    // 10⁸ ticks a second, a 1 s stall: 10⁸ ticks behind, caught up in one
    // step on `interval`, not one step per tick.
    let sim = Sim::new();
    let rate = Rate::per_sec(1e8).unwrap();
    for missed in [Missed::Skip, Missed::Latest] {
        let mut ticks = schedule::interval(&sim, rate).missed(missed);
        let start = ticks.start();
        sim.block_on(async {
            ticks.next().await;
            sim.sleep(Duration::from_secs(1)).await;
            let wall = Instant::now();
            let tick = ticks.next().await.unwrap();
            let took = wall.elapsed();
            assert!(
                took < Duration::from_millis(50),
                "{missed:?}: caught up in {took:?}"
            );
            let (index, skipped) = match missed {
                // The late tick, then every tick due by now dropped.
                Missed::Skip => (1, 99_999_999),
                // The latest due, the ones before it dropped.
                _ => (100_000_000, 99_999_999),
            };
            assert_eq!(
                (tick.index, ticks.skipped()),
                (index, skipped),
                "{missed:?}"
            );
            assert_eq!(
                tick.intended,
                start + Duration::from_nanos(10 * index as u64)
            );
            let next = ticks.next().await.unwrap();
            assert_eq!(next.index, 100_000_001, "{missed:?}");
            assert_eq!(next.intended - start, Duration::from_nanos(1_000_000_010));
        });
    }
}

#[test]
fn resets_keep_the_index_and_the_counts() {
    let sim = Sim::new();
    let ms = Duration::from_millis;
    let every = schedule::constant(Rate::every(ms(100)).unwrap());
    let mut ticks = schedule::ticks(&sim, every).missed(Missed::Skip);
    let start = ticks.start();
    sim.block_on(async {
        ticks.next().await; // 0 at 0
        sim.sleep(ms(350)).await;
        assert_eq!(ticks.next().await.unwrap().index, 1); // late; 2, 3 skipped
        assert_eq!(ticks.skipped(), 2);
        ticks.reset_after(ms(1000)); // tick 4 at 1350, not 400
        let tick = ticks.next().await.unwrap();
        assert_eq!((tick.index, tick.intended), (4, start + ms(1350)));
        assert_eq!(ticks.skipped(), 2);
        ticks.reset(); // one period from now
        assert_eq!(ticks.next().await.unwrap().intended, start + ms(1450));
        // A live stream changes policy: Delay from here.
        ticks.set_missed(Missed::Delay);
        sim.sleep(ms(230)).await; // 1680: tick 6 (1550) late by 130
        assert_eq!(ticks.next().await.unwrap().intended, start + ms(1550));
        assert_eq!(ticks.next().await.unwrap().intended, start + ms(1780));
        ticks.reset_immediately();
        let tick = ticks.next().await.unwrap();
        assert_eq!((tick.index, tick.intended), (8, start + ms(1780)));
        // In the past: at once, and under Burst the rest after it too.
        ticks.set_missed(Missed::Burst);
        ticks.reset_at(start);
        assert_eq!(ticks.next().await.unwrap().intended, start);
        assert_eq!(ticks.next().await.unwrap().intended, start + ms(100));
        assert_eq!(ticks.skipped(), 2);
    });
}

#[test]
fn ticks_at_count_from_the_instant_given() {
    let sim = Sim::new();
    let ms = Duration::from_millis;
    let every = || schedule::constant(Rate::every(ms(100)).unwrap());
    sim.block_on(async {
        sim.sleep(ms(250)).await;
        let now = sim.now();
        // From the past: 0, 1 and 2 are overdue at once.
        let past = schedule::ticks_at(&sim, now - ms(250), every().take(4));
        let got: Vec<_> = past.map(|t| (t.index, t.intended, t.fired)).collect().await;
        assert_eq!(
            got,
            [
                (0, now - ms(250), now),
                (1, now - ms(150), now),
                (2, now - ms(50), now),
                (3, now + ms(50), now + ms(50)),
            ]
        );
        // From the future: nothing before it.
        let later = sim.now() + ms(1000);
        let mut future = schedule::ticks_at(&sim, later, every());
        let tick = future.next().await.unwrap();
        assert_eq!((tick.index, tick.intended, tick.fired), (0, later, later));
    });
}

#[test]
fn tokio_interval_stream_tests_on_sim() {
    // tokio's `stream_with_interval_poll_tick_self_waking` and `_no_waking`:
    // a stream over the ticks that yields every fourth and returns Pending
    // in between, waking itself or not. A yielded tick leaves no wake-up
    // behind, so without waking itself the stream stalls.
    use std::pin::Pin;
    use std::task::Context;
    struct Fourth<S> {
        counter: u32,
        ticks: S,
        wake_on_pending: bool,
    }
    impl<S: futures::Stream + Unpin> futures::Stream for Fourth<S> {
        type Item = u32;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
            if self.counter > 12 {
                return Poll::Ready(None);
            }
            match self.ticks.poll_next_unpin(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(_) => {
                    self.counter += 1;
                    if self.counter % 4 == 0 {
                        Poll::Ready(Some(self.counter))
                    } else {
                        if self.wake_on_pending {
                            cx.waker().wake_by_ref();
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }
    for (wake_on_pending, want) in [(true, vec![4, 8, 12]), (false, vec![])] {
        let sim = Sim::new();
        let ticks = schedule::interval(&sim, Rate::every(Duration::from_millis(10)).unwrap());
        let stream = Fourth {
            counter: 0,
            ticks,
            wake_on_pending,
        };
        let mut got = Vec::new();
        let collect = stream.for_each(|n| {
            got.push(n);
            async {}
        });
        let _ = sim.block_on(stagger::timeout(&sim, Duration::from_millis(150), collect));
        assert_eq!(got, want, "wake_on_pending: {wake_on_pending}");
    }
}

/// `Done` and `Completed` on Sim: every instant exact, a late poller's
/// lateness to the nanosecond, no queueing (tasks run at the instant they
/// are spawned).
#[test]
fn done_and_completed_instants_are_exact() {
    let sim = Sim::new();
    let stall = Duration::from_secs(1);
    for spawned in [false, true] {
        let start = sim.now();
        let mut rng = StdRng::seed_from_u64(8);
        let (max, items) = (Duration::from_secs(2), 0..50);
        let work = |i: usize| async move { i };
        let stream = if spawned {
            stagger::task_staggered_with(&sim, &mut rng, items, max, work).boxed()
        } else {
            stagger::staggered_with(&sim, &mut rng, items, max, work).boxed()
        };
        let done: Vec<_> = sim.block_on(async {
            sim.sleep(stall).await; // the poller is busy elsewhere
            stream.collect().await
        });
        assert_eq!(done.len(), 50);
        assert!(done.iter().any(|d| d.delay < stall) && done.iter().any(|d| d.delay > stall));
        for d in &done {
            assert_eq!(d.intended, start + d.delay, "spawned: {spawned}");
            assert_eq!(d.started, start + d.delay.max(stall), "spawned: {spawned}");
            assert_eq!(
                d.lateness(),
                stall.saturating_sub(d.delay),
                "spawned: {spawned}"
            );
        }
    }

    // Ticks every 10 ms, a poller 55 ms late, requests of 30 ms.
    let service = Duration::from_millis(30);
    let clock = sim.clone();
    let every = stagger::schedule::constant(
        stagger::schedule::Rate::every(Duration::from_millis(10)).unwrap(),
    );
    let mut requests = stagger::schedule::run(&sim, every.take(10), move |_| clock.sleep(service));
    let start = sim.now();
    let done: Vec<_> = sim.block_on(async {
        sim.sleep(Duration::from_millis(55)).await;
        (&mut requests).collect().await
    });
    assert_eq!(done.len(), 10);
    for d in &done {
        let intended = Duration::from_millis(10) * d.tick.index as u32;
        let fired = intended.max(Duration::from_millis(55));
        assert_eq!(d.tick.intended, start + intended);
        assert_eq!(d.tick.fired, start + fired);
        assert_eq!(d.started, start + fired);
        assert_eq!(d.finished, start + fired + service);
        assert_eq!(d.queueing(), Duration::ZERO);
        assert_eq!(d.service(), service);
        assert_eq!(d.latency(), fired - intended + service);
    }
}

// ===== load tests: the in-flight cap and staged rates, exactly =====

/// Ten requests 10 ms apart, 25 ms each, at most two in flight: request `i`
/// waits for request `i − 2` to finish, so the holds grow by 5 ms every
/// two requests, and the latency from the intended instant shows them.
#[test]
fn run_cap_holds_requests_exactly() {
    use stagger::schedule::{self, Rate};
    let sim = Sim::new();
    let clock = sim.clone();
    let arrivals = schedule::constant(Rate::every(Duration::from_millis(10)).unwrap()).take(10);
    let mut requests = schedule::run(&sim, arrivals, move |_| {
        clock.sleep(Duration::from_millis(25))
    })
    .max_in_flight(2);
    let mut done: Vec<_> = sim.block_on((&mut requests).collect());
    done.sort_by_key(|d| d.tick.index);
    let ms = |v: &[u64]| {
        v.iter()
            .map(|&m| Duration::from_millis(m))
            .collect::<Vec<_>>()
    };
    let held: Vec<_> = done.iter().map(|d| d.held()).collect();
    assert_eq!(held, ms(&[0, 0, 5, 5, 10, 10, 15, 15, 20, 20]));
    let latency: Vec<_> = done.iter().map(|d| d.latency()).collect();
    assert_eq!(latency, ms(&[25, 25, 30, 30, 35, 35, 40, 40, 45, 45]));
    for d in &done {
        assert_eq!(d.service(), Duration::from_millis(25));
        assert_eq!(d.tick.lateness(), Duration::ZERO);
        assert_eq!(d.queueing(), Duration::ZERO);
        assert_eq!(d.was_held(), d.tick.index >= 2);
    }
    assert_eq!(requests.held_count(), 8);
}

/// A ramp up from 0 to 10 per second over 10 s (arrival `i` at `√(2i)` s),
/// a hold at 10 per second for 2 s, a ramp down to 0 over 10 s (arrival
/// `50 + 20 + x` at `12 + 10 − √(100 − 2x)` s): the run's intended instants
/// are those closed forms, to the nanosecond.
#[test]
fn staged_arrivals_are_the_closed_form() {
    use stagger::schedule::{self, Stage};
    let secs = Duration::from_secs;
    let stages = [
        Stage::ramp(0.0, 10.0, secs(10)).unwrap(),
        Stage::hold(10.0, secs(2)).unwrap(),
        Stage::ramp(10.0, 0.0, secs(10)).unwrap(),
    ];
    let closed = |i: usize| -> Duration {
        let i = i as f64;
        let t = if i < 50.0 {
            (2.0 * i).sqrt()
        } else if i < 70.0 {
            10.0 + (i - 50.0) / 10.0
        } else {
            12.0 + 10.0 - (100.0 - 2.0 * (i - 70.0)).sqrt()
        };
        Duration::from_secs_f64(t)
    };
    let sim = Sim::new();
    let start = sim.now();
    let done: Vec<_> = sim
        .block_on(schedule::run_at(&sim, start, schedule::staged(stages), |_| async {}).collect());
    assert_eq!(done.len(), 120);
    for d in &done {
        let expected = closed(d.tick.index);
        let got = d.tick.intended - start;
        assert!(
            got.abs_diff(expected) <= Duration::from_nanos(1),
            "arrival {}: {got:?}, closed form {expected:?}",
            d.tick.index
        );
        assert_eq!(d.tick.fired, d.tick.intended);
    }
    // Where the closed form is exact in binary, so is the schedule.
    for (i, at) in [
        (0, 0),
        (2, 2),
        (8, 4),
        (18, 6),
        (32, 8),
        (50, 10),
        (60, 11),
        (70, 12),
    ] {
        assert_eq!(
            done.iter()
                .find(|d| d.tick.index == i)
                .unwrap()
                .tick
                .intended
                - start,
            secs(at)
        );
    }
}

/// A time-changed Poisson process: none during a hold at 0, about the
/// integral of the rate in all, the same arrivals from the same seed.
#[test]
fn staged_poisson_follows_the_rate() {
    use stagger::schedule::{self, Stage};
    let secs = Duration::from_secs;
    let stages = || {
        [
            Stage::ramp(0.0, 200.0, secs(10)).unwrap(),
            Stage::hold(0.0, secs(5)).unwrap(),
            Stage::hold(200.0, secs(10)).unwrap(),
        ]
    };
    let arrivals: Vec<_> = schedule::staged_poisson(stages(), StdRng::seed_from_u64(5)).collect();
    let again: Vec<_> = schedule::staged_poisson(stages(), StdRng::seed_from_u64(5)).collect();
    assert_eq!(arrivals, again);
    assert!(arrivals.is_sorted());
    // 1000 + 0 + 2000 expected; a Poisson count's deviation is √3000 ≈ 55.
    assert!((2750..3250).contains(&arrivals.len()), "{}", arrivals.len());
    assert!(arrivals.iter().all(|&at| at <= secs(10) || at >= secs(15)));
    let first_second = arrivals.iter().filter(|&&at| at < secs(1)).count();
    assert!(
        first_second < 30,
        "{first_second} in the first second (10 expected)"
    );
}
