//! Schedules: ticks on one timer, the missed-tick policies under a stalling
//! consumer, and open-loop runs.

#![allow(dead_code)] // Each function is used once per enabled backend.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};
use std::future::Future;

use stagger::schedule::{self, Missed, Rate, Tick};
use stagger::{Sleeper, Spawn};

use crate::counting::Counting;
use crate::suite::{FAR, SLACK, counted_sleep, message, run_briefly, within};
use stagger::Runtime;

const PERIOD: Duration = Duration::from_millis(10);

fn every(period: Duration) -> schedule::Constant {
    schedule::constant(Rate::every(period).unwrap())
}

pub fn ticks_fire_in_order_at_their_intended_instants<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    let ticks = schedule::ticks(&rec, every(PERIOD).take(10));
    let start = ticks.start();
    let got: Vec<Tick> = rt.block_on(ticks.collect());
    assert_eq!(got.len(), 10);
    for (i, tick) in got.iter().enumerate() {
        assert_eq!(tick.index, i);
        // Exact: the start plus the offset, not a sum of sleeps.
        assert_eq!(tick.intended, start + PERIOD * i as u32);
        assert!(tick.fired >= tick.intended, "tick {i} fired early");
        assert!(
            tick.lateness() < SLACK,
            "tick {i}: {:?} late",
            tick.lateness()
        );
    }
    // One timer at a time, whatever the rate.
    rec.log(|log| {
        assert_eq!(log.max_live, 1, "more than one timer at once");
        assert_eq!(log.live, 0);
    });
}

/// Ticks every 10 ms; the consumer takes tick 0, then stalls for 45 ms (on
/// the backend's clock), then takes the rest as fast as they come.
fn stalled(rt: &impl Runtime, missed: Missed, n: usize) -> (Vec<Tick>, u64, std::time::Instant) {
    let mut ticks = schedule::ticks(rt, every(PERIOD).take(n)).missed(missed);
    let start = ticks.start();
    let got = rt.block_on(async {
        let mut got = vec![ticks.next().await.unwrap()];
        rt.sleep(Duration::from_millis(45)).await;
        while let Some(tick) = ticks.next().await {
            got.push(tick);
        }
        got
    });
    (got, ticks.skipped(), start)
}

pub fn ticks_burst_yields_every_overdue_tick<R: Runtime>(rt: &R) {
    let (got, skipped, start) = stalled(rt, Missed::Burst, 10);
    assert_eq!(skipped, 0);
    assert_eq!(
        got.iter().map(|t| t.index).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    for tick in &got {
        assert_eq!(tick.intended, start + PERIOD * tick.index as u32);
    }
    // Ticks 1 to 4 were due during the stall: they fire when it ends, each
    // with its own intended instant, so each shows the stall.
    let stall_end = got[0].fired + Duration::from_millis(45);
    for tick in &got[1..=4] {
        assert!(
            tick.fired >= stall_end,
            "tick {} fired during the stall",
            tick.index
        );
        assert!(tick.lateness() >= stall_end - tick.intended);
    }
}

pub fn ticks_skip_drops_overdue_ticks<R: Runtime>(rt: &R) {
    let (got, skipped, start) = stalled(rt, Missed::Skip, 10);
    let indices: Vec<_> = got.iter().map(|t| t.index).collect();
    assert!(indices.is_sorted());
    assert!(
        indices.windows(2).any(|w| w[1] > w[0] + 1),
        "nothing skipped: {indices:?}"
    );
    // Every tick is either yielded or counted.
    assert_eq!(
        got.len() as u64 + skipped,
        10,
        "{indices:?}, {skipped} skipped"
    );
    // tokio's Skip: the late tick itself is yielded, the ones after it
    // that were due too are dropped. (The last tick may be dropped as well:
    // a loaded machine can wake the one before it late enough that both are
    // due, and Skip then drops the later one, as it should.)
    assert_eq!(indices[1], 1, "{indices:?}");
    assert!(indices[2] >= 5, "{indices:?}");
    for tick in &got {
        assert_eq!(tick.intended, start + PERIOD * tick.index as u32);
    }
}

pub fn ticks_delay_shifts_the_rest<R: Runtime>(rt: &R) {
    let (got, skipped, start) = stalled(rt, Missed::Delay, 6);
    assert_eq!(skipped, 0);
    assert_eq!(
        got.iter().map(|t| t.index).collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );
    // Tick 1 fires late, after the stall; tick 2 is meant a period after
    // that, and so on: the gaps are kept, not the times.
    assert_eq!(got[1].intended, start + PERIOD);
    assert!(got[1].lateness() >= Duration::from_millis(30));
    for pair in got[1..].windows(2) {
        let gap = pair[1].intended - pair[0].intended;
        let shifted = pair[1].intended - pair[0].fired;
        assert!(gap >= PERIOD, "{gap:?}");
        // Shifted by the lateness of the overdue tick: due a period after
        // it fired (or later, if an overdue tick shifted it again).
        assert!(shifted <= PERIOD || pair[0].index == 1, "{shifted:?}");
    }
    assert_eq!(got[2].intended, got[1].fired + PERIOD);
}

pub fn ticks_take_any_offsets<R: Runtime>(rt: &R) {
    // An offset smaller than its predecessor is overdue, not a panic; one
    // past what an Instant holds never fires.
    let offsets = [
        Duration::from_millis(10),
        Duration::from_millis(5),
        Duration::from_millis(12),
    ];
    let ticks = schedule::ticks(rt, offsets);
    let start = ticks.start();
    let got: Vec<Tick> = rt.block_on(ticks.collect());
    let intended: Vec<_> = got.iter().map(|t| t.intended - start).collect();
    assert_eq!(intended, offsets);
    assert!(got[1].fired >= got[0].fired);
    for far in FAR {
        let mut ticks = schedule::ticks(rt, [Duration::ZERO, far]);
        rt.block_on(async {
            assert_eq!(ticks.next().await.unwrap().index, 0);
            run_briefly(rt, ticks.next()).await;
        });
    }
    let mut empty = schedule::ticks(rt, std::iter::empty());
    assert_eq!(rt.block_on(empty.next()), None);
}

pub fn run_sends_open_loop<R: Runtime>(rt: &R) {
    // A service that takes 30 ms, called every 5 ms: six requests in flight
    // at once, none waiting for another.
    let service = Duration::from_millis(30);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (sleeper, now, peak) = (rt.clone(), Arc::clone(&in_flight), Arc::clone(&most));
    let requests = schedule::run(rt, every(Duration::from_millis(5)).take(20), move |tick| {
        let (sleep, now, peak) = (sleeper.sleep(service), Arc::clone(&now), Arc::clone(&peak));
        async move {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(running, Ordering::SeqCst);
            sleep.await;
            now.fetch_sub(1, Ordering::SeqCst);
            tick.index
        }
    });
    let done: Vec<_> = rt.block_on(requests.collect());
    assert_eq!(done.len(), 20);
    let mut indices: Vec<_> = done.iter().map(|d| d.output).collect();
    indices.sort();
    assert_eq!(indices, (0..20).collect::<Vec<_>>());
    for d in &done {
        assert_eq!(d.tick.index, d.output);
        assert!(d.latency() >= d.service());
        // The sleep's deadline is set when `f` makes it, as the tick fires:
        // its task may start later.
        let fired_to_finished = d.queueing() + d.service();
        assert!(fired_to_finished >= service, "{fired_to_finished:?}");
        assert_eq!(fired_to_finished, d.finished - d.tick.fired);
        assert_eq!(d.latency(), d.finished - d.tick.intended);
    }
    assert!(
        most.load(Ordering::SeqCst) >= 3,
        "not open loop: {} at once",
        most.load(Ordering::SeqCst)
    );
}

pub fn dropped_run_cancels_its_requests<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    let (finished, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (sleeper, fin, drp) = (rec.clone(), Arc::clone(&finished), Arc::clone(&dropped));
    let requests = schedule::run(&rec, every(Duration::from_millis(1)), move |_| {
        counted_sleep(&sleeper, Duration::from_secs(3600), &fin, &drp)
    });
    rt.block_on(async {
        run_briefly(rt, requests.into_future()).await;
        rt.sleep(Duration::from_millis(50)).await;
    });
    let started = rec.log(|log| log.created);
    assert!(started > 2, "only {started} sleeps");
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    rec.log(|log| assert_eq!(log.live, 0, "requests or the timer outlived the run"));
    // Every request started was dropped: all sleeps but the run's timers.
    assert!(dropped.load(Ordering::SeqCst) > 0);
}

pub fn run_panic_cancels_the_rest<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    let sleeper = rec.clone();
    let mut requests = schedule::run(rt, every(Duration::from_millis(2)).take(50), move |tick| {
        let sleep = sleeper.sleep(Duration::from_secs(3600));
        async move {
            if tick.index == 5 {
                panic!("request {} failed", tick.index);
            }
            sleep.await;
        }
    });
    let caught = rt.block_on(async {
        let all = AssertUnwindSafe(async { while requests.next().await.is_some() {} });
        within(rt, "run", all.catch_unwind()).await
    });
    assert_eq!(
        message(caught.expect_err("the panic was lost").as_ref()),
        "request 5 failed"
    );
    assert_eq!(requests.size_hint(), (0, Some(0)));
    assert_eq!(rt.block_on(requests.next()), None);
    rt.block_on(rt.sleep(Duration::from_millis(50)));
    rec.log(|log| assert_eq!(log.live, 0, "requests outlived the panic"));
}

pub fn run_returns_to_its_poller_under_an_endless_flood<R: Runtime>(rt: &R) {
    // A billion ticks a second, endless: every poll finds ticks due. It
    // must still return, having started a bounded batch.
    let started = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&started);
    let flood = schedule::constant(Rate::per_sec(1e9).unwrap());
    let mut requests = schedule::run(rt, flood, move |_| {
        count.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    rt.block_on(async {
        for _ in 0..3 {
            let _ = futures::poll!(requests.next());
            let now = started.load(Ordering::SeqCst);
            assert!(now <= 3 * 256, "{now} requests started in three polls");
        }
    });
}

/// A sleeper whose clock never moves but whose sleeps complete, on the
/// backend's own clock: it breaks the `Sleeper` contract (a sleep until `t`
/// ends before `now()` reaches `t`), as a coarse or frozen clock does. It
/// counts the sleeps it makes, and panics past a bound instead of letting a
/// spinning caller hang the test.
#[derive(Clone)]
struct Frozen<R> {
    inner: R,
    at: std::time::Instant,
    sleeps: Arc<AtomicUsize>,
}

impl<R: Sleeper> Frozen<R> {
    const MOST: usize = 10_000;

    fn new(inner: R) -> Self {
        let at = inner.now();
        Frozen {
            inner,
            at,
            sleeps: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn count(&self) {
        let made = self.sleeps.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(made <= Self::MOST, "spinning: {made} timers made");
    }
}

impl<R: Sleeper> Sleeper for Frozen<R> {
    type Sleep = R::Sleep;

    fn sleep(&self, dur: Duration) -> R::Sleep {
        self.count();
        self.inner.sleep(dur)
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> R::Sleep {
        self.count();
        self.inner.sleep_until(deadline)
    }

    fn now(&self) -> std::time::Instant {
        self.at
    }
}

pub fn ticks_trust_a_timer_that_fired<R: Runtime>(rt: &R) {
    // On a frozen clock every tick after the first waits on a timer that
    // fires while `now()` still reads the start: the stream must yield the
    // tick, not make timer after timer for it.
    for missed in [Missed::Burst, Missed::Skip, Missed::Delay, Missed::Latest] {
        let frozen = Frozen::new(rt.clone());
        let ticks =
            schedule::ticks(&frozen, every(Duration::from_millis(1)).take(5)).missed(missed);
        let start = ticks.start();
        let got: Vec<Tick> = rt.block_on(within(rt, "ticks on a frozen clock", ticks.collect()));
        let indices: Vec<_> = got.iter().map(|t| t.index).collect();
        assert_eq!(indices, [0, 1, 2, 3, 4], "{missed:?}");
        for tick in &got {
            assert_eq!(
                tick.intended,
                start + Duration::from_millis(tick.index as u64)
            );
            assert_eq!(tick.fired, start, "{missed:?}: the clock's reading");
            assert_eq!(tick.lateness(), Duration::ZERO);
        }
        // One timer per tick but the first.
        assert_eq!(frozen.sleeps.load(Ordering::SeqCst), 4, "{missed:?}");
    }
}

impl<R: Spawn> Spawn for Frozen<R> {
    type RawTask = R::RawTask;

    fn spawn_raw<F>(&self, task: F) -> R::RawTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.spawn_raw(task)
    }
}

pub fn run_trusts_a_timer_that_fired<R: Runtime>(rt: &R) {
    // `run` starts its requests on the same ticks.
    let frozen = Frozen::new(rt.clone());
    let requests = schedule::run(
        &frozen,
        every(Duration::from_millis(1)).take(5),
        |tick| async move { tick.index },
    );
    let mut done: Vec<_> = rt.block_on(within(
        rt,
        "run on a frozen clock",
        requests.map(|d| d.output).collect(),
    ));
    done.sort();
    assert_eq!(done, [0, 1, 2, 3, 4]);
    assert_eq!(frozen.sleeps.load(Ordering::SeqCst), 4);
}

pub fn run_service_excludes_queueing<R: Runtime>(rt: &R) {
    // Three requests that finish at their first poll, spawned and then held
    // up by a poller that blocks its thread: on a single-threaded executor
    // they wait in its queue for the whole stall, on a thread pool they run
    // at once. Either way their service time is only their own (about zero),
    // and lateness, queueing and service add up to the latency.
    let stall = Duration::from_millis(100);
    let mut requests = schedule::run(
        rt,
        every(Duration::from_millis(1)).take(3),
        |tick| async move { tick.index },
    );
    let done = rt.block_on(async {
        rt.sleep(Duration::from_millis(10)).await;
        // Every tick is due: this poll fires all three and spawns their
        // requests (on a thread pool, one may have finished already).
        let mut done = Vec::new();
        if let std::task::Poll::Ready(first) = futures::poll!(requests.next()) {
            done.extend(first);
        }
        std::thread::sleep(stall);
        done.extend(requests.collect::<Vec<_>>().await);
        done
    });
    assert_eq!(done.len(), 3);
    for d in &done {
        assert!(
            d.service() < stall / 2,
            "request {}: service {:?} counts the time it waited to start",
            d.tick.index,
            d.service()
        );
        assert!(d.tick.intended <= d.tick.fired && d.tick.fired <= d.started);
        assert!(d.started <= d.finished);
        assert_eq!(
            d.latency(),
            d.tick.lateness() + d.queueing() + d.service(),
            "request {}",
            d.tick.index
        );
    }
}
