//! Runtime-independent tests, each a generic function over a [`Runtime`].
//!
//! Time is read from the backend's own clock: real time on real backends,
//! virtual time on `Sim`. Delays are tens of milliseconds, lower bounds are
//! exact (a waiter never finishes before its delay) and upper bounds are
//! generous, for a shared, noisy 2-core machine.

#![allow(dead_code)] // Each function is used once per enabled backend.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use std::pin::pin;
use std::task::Poll;

use futures::future::{Either, select};
use futures::{FutureExt, Stream, StreamExt};
use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use stagger::jitter::{DecorrelatedJitter, EqualJitter};
use stagger::{Runtime, Sleeper};

use crate::counting::{Counting, DROP_PANIC, Fault, Log, PANIC};

pub const MAX: Duration = Duration::from_millis(40);
/// Far above any delay used here; only a hang or a serial run exceeds it.
pub const SLACK: Duration = Duration::from_millis(600);
pub const FAR: [Duration; 2] = [Duration::MAX, Duration::from_secs(10 * 365 * 24 * 3600)];

fn assert_valid(delays: &[Duration], n: usize, max: Duration) {
    assert_eq!(delays.len(), n);
    assert!(delays.is_sorted(), "not ascending: {delays:?}");
    assert!(
        delays.iter().all(|&d| d <= max),
        "out of bounds: {delays:?}"
    );
}

/// Runs the future `make` creates on `rt` and returns its output with the
/// time elapsed on the backend's clock since just before its creation (the
/// combinators read their start when called). Real time on real backends,
/// virtual time on `Sim`.
fn timed<R: Runtime, F: Future>(rt: &R, make: impl FnOnce() -> F) -> (F::Output, Duration) {
    let start = rt.now();
    let output = rt.block_on(make());
    (output, rt.now() - start)
}

/// Races `future` against a 20 ms sleep; the sleep must win.
pub async fn run_briefly<R: Runtime, F: Future>(rt: &R, future: F) {
    let future = pin!(future);
    let timeout = pin!(rt.sleep(Duration::from_millis(20)));
    match select(future, timeout).await {
        Either::Left(_) => panic!("finished although its delay is practically unbounded"),
        Either::Right(((), _)) => {}
    }
}

fn assert_still_pending<R: Runtime, F: Future>(rt: &R, future: F) {
    rt.block_on(run_briefly(rt, future));
}

/// The delays a seed must produce: `n` uniform draws over `[0, max]`, sorted.
fn expected(seed: u64, n: usize, max: Duration) -> Vec<Duration> {
    let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut delays: Vec<_> = (0..n).map(|_| uniform.sample(&mut rng)).collect();
    delays.sort();
    delays
}

// ===== wait_random =====

pub fn wait_random_within_bounds<R: Runtime>(rt: &R) {
    for _ in 0..5 {
        let (delay, elapsed) = timed(rt, || stagger::wait_random(rt, MAX));
        assert!(delay <= MAX);
        assert!(elapsed >= delay, "woke after {elapsed:?}, before {delay:?}");
        assert!(
            elapsed < delay + SLACK,
            "woke after {elapsed:?} for {delay:?}"
        );
    }
}

pub fn wait_random_with_zero_max<R: Runtime>(rt: &R) {
    let (delay, elapsed) = timed(rt, || stagger::wait_random(rt, Duration::ZERO));
    assert_eq!(delay, Duration::ZERO);
    assert!(elapsed < SLACK);
}

pub fn wait_random_huge_max_is_cancellable<R: Runtime>(rt: &R) {
    for max in FAR {
        assert_still_pending(rt, stagger::wait_random(rt, max));
    }
}

// ===== wait_n and task_wait_n: one check each, run on both =====

/// `n` waiters take about the longest delay, not the sum.
fn assert_runs_concurrently<R, F>(rt: &R, call: impl FnOnce(usize, Duration) -> F)
where
    R: Runtime,
    F: Future<Output = Vec<Duration>>,
{
    let n = 50;
    let (delays, elapsed) = timed(rt, || call(n, MAX));
    assert_valid(&delays, n, MAX);
    let longest = *delays.last().unwrap();
    assert!(
        elapsed >= longest,
        "ended after {elapsed:?}, before {longest:?}"
    );
    // Serially, 50 waiters of up to 40 ms would take about a second.
    assert!(
        elapsed < longest + SLACK,
        "took {elapsed:?}: not concurrent"
    );
}

/// Many waiters in a few milliseconds: timers share ticks and complete out
/// of order; the result must be ascending anyway.
fn assert_ascending_under_ties<R, F>(rt: &R, call: impl Fn(usize, Duration) -> F)
where
    R: Runtime,
    F: Future<Output = Vec<Duration>>,
{
    for _ in 0..3 {
        let delays = rt.block_on(call(2000, Duration::from_millis(3)));
        assert_valid(&delays, 2000, Duration::from_millis(3));
    }
}

/// `n = 0` returns an empty `Vec` at once, whatever `max_delay`.
fn assert_zero_is_empty<R, F>(rt: &R, call: impl FnOnce(usize, Duration) -> F)
where
    R: Runtime,
    F: Future<Output = Vec<Duration>>,
{
    let (delays, elapsed) = timed(rt, || call(0, stagger::DEFAULT_MAX_DELAY));
    assert!(delays.is_empty());
    assert!(elapsed < SLACK);
}

// ===== wait_n =====

pub fn wait_n_runs_concurrently<R: Runtime>(rt: &R) {
    assert_runs_concurrently(rt, |n, max| stagger::wait_n(rt, n, max));
}

pub fn wait_n_ascending_under_ties<R: Runtime>(rt: &R) {
    assert_ascending_under_ties(rt, |n, max| stagger::wait_n(rt, n, max));
}

pub fn wait_n_zero_is_empty<R: Runtime>(rt: &R) {
    assert_zero_is_empty(rt, |n, max| stagger::wait_n(rt, n, max));
}

pub fn wait_n_zero_max_is_zeros<R: Runtime>(rt: &R) {
    let delays = rt.block_on(stagger::wait_n(rt, 100, Duration::ZERO));
    assert_eq!(delays, vec![Duration::ZERO; 100]);
}

pub fn wait_n_huge_max_is_cancellable<R: Runtime>(rt: &R) {
    for max in FAR {
        assert_still_pending(rt, stagger::wait_n(rt, 3, max));
    }
}

pub fn wait_n_shares_one_start<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    assert_one_start(rt, &rec, |rng, n, max| {
        stagger::wait_n_with(&rec, rng, n, max)
    });
}

/// Runs `call` (a seeded `wait_n`-like call through `rec`) and checks every
/// deadline asked for is `start + delay` for one start read once.
fn assert_one_start<R, F>(
    rt: &R,
    rec: &Counting<R>,
    call: impl FnOnce(&mut StdRng, usize, Duration) -> F,
) where
    R: Runtime,
    F: Future<Output = Vec<Duration>>,
{
    let (seed, n, max) = (5, 64, Duration::from_millis(20));
    let delays = rt.block_on(call(&mut StdRng::seed_from_u64(seed), n, max));
    assert_eq!(delays, expected(seed, n, max));
    rec.log(|log| {
        assert_eq!(log.now_reads, 1, "the clock was read more than once");
        let start = log.deadlines.iter().min().copied().unwrap() - delays[0];
        let mut offsets: Vec<_> = log.deadlines.iter().map(|&at| at - start).collect();
        offsets.sort();
        assert_eq!(offsets, delays);
        assert_eq!(log.live, 0, "timers outlived the call");
    });
}

/// Delays for the drop tests: long enough that a stalled test thread does
/// not see every waiter finish before the drop, short enough to wait out.
const DROP_MAX: Duration = Duration::from_millis(300);

/// Starts `future` (over delays up to [`DROP_MAX`]), lets it run for 20 ms,
/// drops it, waits until every delay would have passed, and checks that no
/// waiter finished after the drop and every timer is gone.
///
/// On a thread pool a waiter may be mid-poll on another thread as the drop
/// returns, and finish: the guarantee is that no *new* poll starts. So the
/// count is taken once such polls are over (a short grace), not at the drop.
fn assert_drop_releases_timers<R: Runtime, F: Future>(rt: &R, rec: &Counting<R>, future: F) {
    rt.block_on(async {
        {
            let mut future = pin!(future);
            run_briefly(rt, future.as_mut()).await;
            assert!(rec.log(|log| log.live) > 0, "nothing was started");
        }
        rt.sleep(Duration::from_millis(20)).await;
        let fired_at_drop = rec.log(|log| log.fired);
        // Checked inside the runtime: its shutdown would drop tasks anyway.
        rt.sleep(DROP_MAX + Duration::from_millis(30)).await;
        rec.log(|log| {
            assert_eq!(log.fired, fired_at_drop, "waiters finished after the drop");
            assert_eq!(log.live, 0, "timers outlived the dropped future");
        });
    });
}

pub fn dropped_wait_n_drops_timers<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    assert_drop_releases_timers(rt, &rec, stagger::wait_n(&rec, 100, DROP_MAX));
}

pub fn dropped_as_completed_drops_timers<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    rt.block_on(async {
        let mut stream = stagger::as_completed(&rec, 100, Duration::from_secs(3600));
        run_briefly(rt, stream.next()).await;
        assert_eq!(rec.log(|log| log.live), 100);
        drop(stream);
        assert_eq!(
            rec.log(|log| log.live),
            0,
            "timers outlived the dropped stream"
        );
    });
}

// ===== task_wait_random, task_wait_n =====

pub fn task_wait_n_shares_one_start<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    assert_one_start(rt, &rec, |rng, n, max| {
        stagger::task_wait_n_with(&rec, rng, n, max)
    });
}

pub fn task_wait_n_panic_cancels_the_rest<R: Runtime>(rt: &R) {
    // The 10th of 50 waiters panics at its first poll; the others sleep long.
    let rec = Counting::panicking(rt.clone(), 10);
    rt.block_on(async {
        // Caught inside the runtime, so it stays up and could run the rest.
        let caught = AssertUnwindSafe(stagger::task_wait_n(&rec, 50, Duration::from_secs(3600)))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(
            caught.downcast_ref::<String>().map(String::as_str),
            Some(PANIC)
        );
        // The other 49 tasks were cancelled: their timers are dropped.
        rt.sleep(Duration::from_millis(50)).await;
        assert_eq!(rec.log(|log| log.live), 0, "tasks outlived the panic");
    });
}

pub fn try_join_of_panicking_waiter<R: Runtime>(rt: &R) {
    let rec = Counting::panicking(rt.clone(), 0);
    let err = rt
        .block_on(async { stagger::task_wait_random(&rec, MAX).try_join().await })
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), format!("task panicked: {PANIC}"));
}

pub fn dropped_task_wait_n_cancels_tasks<R: Runtime>(rt: &R) {
    let rec = Counting::new(rt.clone());
    assert_drop_releases_timers(rt, &rec, stagger::task_wait_n(&rec, 100, DROP_MAX));
}

pub fn task_wait_random_within_bounds<R: Runtime>(rt: &R) {
    let (delay, elapsed) = timed(rt, || async { stagger::task_wait_random(rt, MAX).await });
    assert!(delay <= MAX);
    assert!(elapsed >= delay);
    assert!(elapsed < delay + SLACK);
}

pub fn task_wait_n_runs_concurrently<R: Runtime>(rt: &R) {
    assert_runs_concurrently(rt, |n, max| stagger::task_wait_n(rt, n, max));
}

pub fn task_wait_n_ascending_under_ties<R: Runtime>(rt: &R) {
    assert_ascending_under_ties(rt, |n, max| stagger::task_wait_n(rt, n, max));
}

pub fn task_wait_n_zero_is_empty<R: Runtime>(rt: &R) {
    assert_zero_is_empty(rt, |n, max| stagger::task_wait_n(rt, n, max));
}

pub fn task_wait_n_huge_max_is_cancellable<R: Runtime>(rt: &R) {
    for max in FAR {
        assert_still_pending(rt, stagger::task_wait_n(rt, 3, max));
    }
}

// ===== measure_time =====

pub fn measure_time_is_consistent<R: Runtime>(rt: &R) {
    let n = 20;
    let m = stagger::measure_time(rt, n, MAX);
    assert_eq!(m.n, n);
    assert!(m.longest <= MAX);
    assert!(m.total >= m.longest, "{m:?}");
    assert!(m.total < m.longest + SLACK, "{m:?}");
    assert_eq!(m.per_task, m.total / n as u32);
    assert_eq!(m.lateness, m.total - m.longest);
}

pub fn measure_time_zero<R: Runtime>(rt: &R) {
    let m = stagger::measure_time(rt, 0, MAX);
    assert_eq!(
        (m.n, m.per_task, m.longest),
        (0, Duration::ZERO, Duration::ZERO)
    );
    assert!(m.total < SLACK);
}

// ===== determinism =====

pub fn seed_fixes_delays<R: Runtime>(rt: &R) {
    let (seed, n, max) = (42, 16, Duration::from_millis(20));
    let want = expected(seed, n, max);
    let rng = || StdRng::seed_from_u64(seed);

    let inline = rt.block_on(stagger::wait_n_with(rt, &mut rng(), n, max));
    assert_eq!(inline, want);
    let spawned = rt.block_on(stagger::task_wait_n_with(rt, &mut rng(), n, max));
    assert_eq!(spawned, want);
    let m = stagger::measure_time_with(rt, &mut rng(), n, max);
    assert_eq!(m.longest, *want.last().unwrap());

    // n calls to wait_random_with draw the same sequence as one wait_n_with.
    let mut one_rng = rng();
    let mut singles: Vec<_> = (0..n)
        .map(|_| rt.block_on(stagger::wait_random_with(rt, &mut one_rng, max)))
        .collect();
    singles.sort();
    assert_eq!(singles, want);
}

/// The backend's generator (`Sleeper::rng`): two are two sequences, its
/// draws are uniform in range, and it is `Send`, so a loop drawing from it
/// can be spawned.
pub fn backend_rng_is_uniform_and_send<R: Runtime>(rt: &R) {
    use rand::RngExt;

    let (mut a, mut b) = (rt.rng(), rt.rng());
    assert_ne!(a.random::<u128>(), b.random::<u128>());

    // FullJitter over the backend's generator: mean and quarter share of
    // 20 000 draws, within 10 and 6 standard deviations.
    let (n, max) = (20_000, Duration::from_millis(10));
    let jitter = stagger::jitter::FullJitter::new(max);
    let mut rng = rt.rng();
    let draws: Vec<Duration> = (0..n).map(|_| jitter.sample(&mut rng)).collect();
    assert!(draws.iter().all(|&d| d <= max));
    let mean = draws.iter().sum::<Duration>() / n;
    let mean = mean.as_secs_f64() / max.as_secs_f64();
    assert!((mean - 0.5).abs() < 0.02, "mean {mean} of max");
    let quarter = draws.iter().filter(|&&d| d < max / 4).count() as f64 / f64::from(n);
    assert!((quarter - 0.25).abs() < 0.02, "{quarter} below max / 4");

    let (timer, mut rng) = (rt.clone(), rt.rng());
    let drawing_loop = async move {
        let mut total = Duration::ZERO;
        for _ in 0..5 {
            let delay = rng.random_range(Duration::ZERO..=Duration::from_millis(2));
            timer.sleep(delay).await;
            total += delay;
        }
        total
    };
    let total = rt.block_on(async { rt.spawn(drawing_loop).await });
    assert!(total <= Duration::from_millis(10), "{total:?}");
}

pub fn distributions_plug_in<R: Runtime>(rt: &R) {
    let t = Duration::from_millis(20);
    let equal = rt.block_on(stagger::wait_n_from(
        rt,
        &mut rand::rng(),
        50,
        EqualJitter::new(t),
    ));
    assert_valid(&equal, 50, t);
    assert!(equal[0] >= t / 2, "{equal:?}");

    // A stateful sequence, drawn in order: the seed fixes it everywhere.
    let (base, cap) = (Duration::from_millis(1), Duration::from_millis(30));
    let jitter = DecorrelatedJitter::new(base, cap).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut want: Vec<_> = (0..20).map(|_| jitter.sample(&mut rng)).collect();
    want.sort();
    jitter.reset();
    let mut rng = StdRng::seed_from_u64(11);
    let spawned = rt.block_on(stagger::task_wait_n_from(rt, &mut rng, 20, &jitter));
    assert_eq!(spawned, want);
}

// ===== as_completed =====

pub fn as_completed_yields_every_delay<R: Runtime>(rt: &R) {
    let (seed, n) = (9, 30);
    // The waiters' shared start is read when the stream is created.
    let start = rt.now();
    let mut stream = stagger::as_completed_with(rt, &mut StdRng::seed_from_u64(seed), n, MAX);
    assert_eq!(stream.size_hint(), (n, Some(n)));
    let mut seen = rt.block_on(async {
        let mut seen = Vec::new();
        while let Some(delay) = stream.next().await {
            assert!(rt.now() - start >= delay, "yielded {delay:?} early");
            seen.push(delay);
        }
        seen
    });
    seen.sort();
    assert_eq!(seen, expected(seed, n, MAX));
}

// ===== spawned tasks =====

pub fn spawn_returns_output<R: Runtime>(rt: &R) {
    let out = rt.block_on(async {
        let a = rt.spawn(async { 40 });
        let b = rt.spawn(async { 2 });
        a.await + b.await
    });
    assert_eq!(out, 42);
}

/// Counts how many times it was dropped, to show a task's future is gone.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// How long a counting task sleeps: ample time to drop its handle first.
const TASK_SLEEP: Duration = Duration::from_millis(200);

fn counting_task<R: Runtime>(
    rt: &R,
    finished: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send + 'static {
    counted_sleep(rt, TASK_SLEEP, finished, dropped)
}

/// Sleeps `dur` on `sleeper`, counting in `finished` if it gets to the end
/// and in `dropped` when it is dropped, done or not.
pub fn counted_sleep<S: Sleeper<Sleep: Send + 'static>>(
    sleeper: &S,
    dur: Duration,
    finished: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send + 'static + use<S> {
    let sleep = sleeper.sleep(dur);
    let finished = Arc::clone(finished);
    let guard = DropCounter(Arc::clone(dropped));
    async move {
        let _guard = guard;
        sleep.await;
        finished.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn dropped_handle_cancels_task<R: Runtime>(rt: &R) {
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handle = rt.spawn(counting_task(rt, &finished, &dropped));
        // Let it start sleeping, then drop it.
        rt.sleep(Duration::from_millis(5)).await;
        drop(handle);
        rt.sleep(TASK_SLEEP + Duration::from_millis(100)).await;
    });
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the dropped task ran on"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the task's future was not dropped"
    );
}

pub fn detached_task_completes<R: Runtime>(rt: &R) {
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        rt.spawn(counting_task(rt, &finished, &dropped)).detach();
        rt.sleep(TASK_SLEEP + SLACK).await;
    });
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

// ===== abort: a cancellation that can be awaited =====

/// Aborts `handle` and awaits it: by then its future, which counts its drop
/// in `dropped`, must be gone.
async fn abort_and_join<R: Runtime, T>(
    rt: &R,
    handle: stagger::JoinHandle<T>,
    dropped: &AtomicUsize,
) -> Result<T, stagger::JoinError> {
    handle.abort();
    handle.abort(); // twice is once
    let joined = within(rt, "the aborted task's handle", handle.try_join()).await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the aborted task's handle returned before its future was dropped"
    );
    joined
}

pub fn aborted_task_is_gone_once_awaited<R: Runtime>(rt: &R) {
    let finished = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        // Idle: waiting on its timer.
        let dropped = Arc::new(AtomicUsize::new(0));
        let handle = rt.spawn(counting_task(rt, &finished, &dropped));
        rt.sleep(Duration::from_millis(5)).await;
        let err = abort_and_join(rt, handle, &dropped).await.unwrap_err();
        assert!(err.is_cancelled() && !err.is_panic(), "{err:?}");

        // Not polled yet.
        let dropped = Arc::new(AtomicUsize::new(0));
        let handle = rt.spawn(counting_task(rt, &finished, &dropped));
        let err = abort_and_join(rt, handle, &dropped).await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");

        // Finished before the abort: it keeps its output.
        let dropped = Arc::new(AtomicUsize::new(0));
        let guard = DropCounter(Arc::clone(&dropped));
        let handle = rt.spawn(async move {
            drop(guard);
            7
        });
        within(rt, "the task", async {
            while !handle.is_finished() {
                rt.sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(abort_and_join(rt, handle, &dropped).await.unwrap(), 7);
    });
    assert_eq!(finished.load(Ordering::SeqCst), 0, "an aborted task ran on");
}

pub fn aborted_task_with_panicking_drop_reports_it<R: Runtime>(rt: &R) {
    let rec = Counting::faulty(rt.clone(), &[(0, Fault::Drop)]);
    let err = rt.block_on(async {
        let handle = rt.spawn(rec.sleep(Duration::from_secs(3600)));
        rt.sleep(Duration::from_millis(5)).await;
        handle.abort();
        within(rt, "the aborted task's handle", handle.try_join()).await
    });
    // As tokio's: the destructor's panic is the task's outcome.
    let err = err.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(message(err.into_panic().as_ref()), DROP_PANIC);
    rec.log(Log::assert_each_dropped_once);
}

/// A future whose first poll, when it runs on another thread than the test's,
/// lasts until the test aborted its task and then 30 ms more; then it is
/// pending for ever.
struct LongPoll {
    test_thread: std::thread::ThreadId,
    /// Set when the first poll starts, and whether it runs on another thread.
    entered: Arc<std::sync::OnceLock<bool>>,
    in_poll: Arc<std::sync::atomic::AtomicBool>,
    aborted: Arc<std::sync::atomic::AtomicBool>,
    _dropped: DropCounter,
}

impl Future for LongPoll {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
        let elsewhere = std::thread::current().id() != self.test_thread;
        if self.entered.get().is_some() {
            return Poll::Pending;
        }
        self.in_poll.store(true, Ordering::SeqCst);
        let _ = self.entered.set(elsewhere);
        if elsewhere {
            let start = std::time::Instant::now();
            while !self.aborted.load(Ordering::SeqCst) && start.elapsed() < HANG {
                std::thread::sleep(Duration::from_millis(1));
            }
            // The test awaits the handle meanwhile.
            std::thread::sleep(Duration::from_millis(30));
        }
        self.in_poll.store(false, Ordering::SeqCst);
        Poll::Pending
    }
}

pub fn abort_waits_for_a_poll_in_progress<R: Runtime>(rt: &R) {
    use std::sync::atomic::AtomicBool;
    let entered = Arc::new(std::sync::OnceLock::new());
    let in_poll = Arc::new(AtomicBool::new(false));
    let aborted = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    let task = LongPoll {
        test_thread: std::thread::current().id(),
        entered: Arc::clone(&entered),
        in_poll: Arc::clone(&in_poll),
        aborted: Arc::clone(&aborted),
        _dropped: DropCounter(Arc::clone(&dropped)),
    };
    rt.block_on(async {
        let handle = rt.spawn(task);
        within(rt, "the task's first poll", async {
            while entered.get().is_none() {
                rt.sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        handle.abort();
        let mid_poll = in_poll.load(Ordering::SeqCst);
        aborted.store(true, Ordering::SeqCst);
        let joined = within(rt, "the aborted task's handle", handle.try_join()).await;
        assert!(
            !in_poll.load(Ordering::SeqCst),
            "the aborted task's handle returned during a poll"
        );
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the aborted task's handle returned before its future was dropped"
        );
        assert!(joined.unwrap_err().is_cancelled());
        // Multi-threaded executors (tokio's through TokioHandle, async-std,
        // smol's global one) poll it on a worker: the abort came mid-poll.
        if entered.get() == Some(&true) {
            assert!(mid_poll, "the task's poll on another thread ended early");
        }
    });
}

pub fn try_join_reports_panic<R: Runtime>(rt: &R) {
    let err = rt
        .block_on(async { rt.spawn(async { panic!("boom") }).try_join().await })
        .unwrap_err();
    assert!(err.is_panic());
    assert!(!err.is_cancelled());
    assert_eq!(err.to_string(), "task panicked: boom");
    assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"boom"));
}

pub fn await_resumes_panic<R: Runtime>(rt: &R) {
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { rt.spawn(async { panic!("boom") }).await })
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"boom"));
}

pub fn nested_block_on_works_or_panics_clearly<R: Runtime>(rt: &R) {
    // Each runtime chooses: smol and async-std run it, tokio and Sim refuse.
    // Either way the answer comes at once, never a silent deadlock.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { rt.block_on(async { 7 }) })
    }));
    if let Err(payload) = outcome {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(
            message.contains("within a runtime") || message.contains("block_on"),
            "unclear message: {message:?}"
        );
    } else {
        assert_eq!(outcome.ok(), Some(7));
    }
}

pub fn dropped_task_wait_n_starts_no_new_poll<R: Runtime>(rt: &R) {
    // Members whose polls block their thread for 20 ms: when the fan-out is
    // dropped, some may be in the middle of a poll on another thread. Those
    // may still complete; no other member may.
    let rec = Counting::slow(rt.clone(), Duration::from_millis(20));
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    rt.block_on(async {
        {
            // Delays of under a microsecond, but not zero: each waits on a
            // timer, and its poll that completes is the slow one.
            let tiny = EqualJitter::new(Duration::from_micros(1));
            let fan_out = stagger::task_wait_n_from(&rec, &mut rand::rng(), 10, tiny);
            let mut fan_out = pin!(fan_out);
            assert!(futures::poll!(fan_out.as_mut()).is_pending());
            rt.sleep(Duration::from_millis(20)).await;
        } // Dropped here.
        let at_drop = rec.log(|log| log.fired);
        rt.sleep(Duration::from_millis(300)).await;
        let after = rec.log(|log| log.fired) - at_drop;
        assert!(
            after <= threads,
            "{after} members finished after the drop, {threads} threads"
        );
        rec.log(|log| assert_eq!(log.live, 0));
    });
}

// ===== faults: sleeps that panic in poll, in Drop, or both =====

/// Far beyond any delay here: a run that takes this long has hung.
const HANG: Duration = Duration::from_secs(5);

/// Runs `future`, panicking if it takes [`HANG`] on the backend's clock.
pub async fn within<R: Runtime, F: Future>(rt: &R, what: &str, future: F) -> F::Output {
    let future = pin!(future);
    let timeout = pin!(rt.sleep(HANG));
    match select(future, timeout).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("{what} hung"),
    }
}

/// The message of a panic payload.
pub fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default()
}

/// A fault, and the panic it must surface as: a poll's panic wins over the
/// drop's that follows it.
const SURFACES: [(Fault, &str); 3] = [
    (Fault::Poll, PANIC),
    (Fault::Drop, DROP_PANIC),
    (Fault::PollAndDrop, PANIC),
];

pub fn join_handle_reports_every_fault<R: Runtime>(rt: &R) {
    for (fault, expected) in SURFACES {
        let rec = Counting::faulty(rt.clone(), &[(0, fault)]);
        let (err, finished) = rt.block_on(async {
            let handle = rt.spawn(rec.sleep(Duration::from_millis(5)));
            rt.sleep(Duration::from_millis(50)).await;
            let finished = handle.is_finished();
            (
                within(rt, "the JoinHandle", handle.try_join()).await,
                finished,
            )
        });
        let err = err.expect_err("the task's panic was lost");
        assert!(finished, "{fault:?}: is_finished() stayed false");
        assert!(err.is_panic(), "{fault:?}: {err}");
        assert_eq!(message(err.into_panic().as_ref()), expected, "{fault:?}");
        rec.log(Log::assert_each_dropped_once);
    }
}

pub fn cancelled_task_with_panicking_drop<R: Runtime>(rt: &R) {
    let rec = Counting::faulty(rt.clone(), &[(0, Fault::Drop)]);
    rt.block_on(async {
        let handle = rt.spawn(rec.sleep(Duration::from_secs(3600)));
        rt.sleep(Duration::from_millis(5)).await;
        // Nobody listens for the panic the cancellation raises: it must not
        // escape into the runtime, which runs on.
        drop(handle);
        rt.sleep(Duration::from_millis(50)).await;
        rec.log(Log::assert_each_dropped_once);
        assert_eq!(rt.spawn(async { 1 }).await, 1);
    });
}

/// A task's output whose destructor panics, counting its drops.
struct PanicsInDrop(Arc<AtomicUsize>);

impl Drop for PanicsInDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("an output panicked in Drop on purpose");
    }
}

pub fn detached_output_with_panicking_drop<R: Runtime>(rt: &R) {
    // Nobody takes the output of a detached task: a panic of its destructor
    // must not escape into the runtime, which runs on, whether the handle
    // was detached before the task finished or after.
    let dropped = Arc::new(AtomicUsize::new(0));
    let count = |n| {
        let dropped = Arc::clone(&dropped);
        async move {
            while dropped.load(Ordering::SeqCst) < n {
                rt.sleep(Duration::from_millis(1)).await;
            }
        }
    };
    rt.block_on(async {
        let output = PanicsInDrop(Arc::clone(&dropped));
        rt.spawn(async move { output }).detach();
        within(rt, "the first output's drop", count(1)).await;
        let output = PanicsInDrop(Arc::clone(&dropped));
        let late = rt.spawn(async move { output });
        within(rt, "the second task", async {
            while !late.is_finished() {
                rt.sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        late.detach();
        within(rt, "the second output's drop", count(2)).await;
        assert_eq!(rt.spawn(async { 1 }).await, 1);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}

pub fn dropped_handle_output_with_panicking_drop<R: Runtime>(rt: &R) {
    // The same for a handle dropped after its task finished, without taking
    // the output (as tokio's JoinHandle does): wherever the output is freed,
    // on this thread or on the runtime's, its panic is discarded.
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let output = PanicsInDrop(Arc::clone(&dropped));
        let handle = rt.spawn(async move { output });
        within(rt, "the task", async {
            while !handle.is_finished() {
                rt.sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        drop(handle);
        within(rt, "the output's drop", async {
            while dropped.load(Ordering::SeqCst) < 1 {
                rt.sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(rt.spawn(async { 1 }).await, 1);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

pub fn task_wait_n_resumes_every_fault<R: Runtime>(rt: &R) {
    for (fault, expected) in SURFACES {
        // Member 5 of 20 misbehaves; member 7's sleep, which will be
        // cancelled, panics when dropped too.
        let faults = [(5, fault), (7, Fault::Drop)];
        let rec = Counting::faulty(rt.clone(), &faults);
        rt.block_on(async {
            let fan_out =
                AssertUnwindSafe(stagger::task_wait_n(&rec, 20, Duration::from_secs(3600)));
            let run = within(rt, "task_wait_n", fan_out.catch_unwind());
            // Member 5 faults at its first poll or its drop; with a delay
            // of up to an hour, only a poll fault can come first.
            let caught = match fault {
                Fault::Drop => None,
                _ => Some(run.await.expect_err("the panic was lost")),
            };
            if let Some(caught) = caught {
                assert_eq!(message(caught.as_ref()), expected, "{fault:?}");
            }
            // Cancelled members drop their sleeps at their next poll.
            rt.sleep(Duration::from_millis(50)).await;
            rec.log(Log::assert_each_dropped_once);
        });
    }
    // A fault in the drop of a member that finished.
    let rec = Counting::faulty(rt.clone(), &[(5, Fault::Drop)]);
    rt.block_on(async {
        let fan_out = AssertUnwindSafe(stagger::task_wait_n(&rec, 20, MAX));
        let caught = within(rt, "task_wait_n", fan_out.catch_unwind()).await;
        assert_eq!(
            message(caught.expect_err("the panic was lost").as_ref()),
            DROP_PANIC
        );
        rt.sleep(Duration::from_millis(50)).await;
        rec.log(Log::assert_each_dropped_once);
    });
}

pub fn dropped_task_wait_n_with_panicking_drop<R: Runtime>(rt: &R) {
    let rec = Counting::faulty(rt.clone(), &[(7, Fault::Drop)]);
    rt.block_on(async {
        let fan_out = stagger::task_wait_n(&rec, 20, Duration::from_secs(3600));
        run_briefly(rt, fan_out).await;
        rt.sleep(Duration::from_millis(50)).await;
        rec.log(Log::assert_each_dropped_once);
        assert_eq!(rt.spawn(async { 1 }).await, 1);
    });
}

pub fn wait_n_resumes_every_fault<R: Runtime>(rt: &R) {
    // Polled inline: a panic while unwinding would abort, so no PollAndDrop.
    for (fault, expected) in [(Fault::Poll, PANIC), (Fault::Drop, DROP_PANIC)] {
        let rec = Counting::faulty(rt.clone(), &[(5, fault)]);
        rt.block_on(async {
            let fan_out = AssertUnwindSafe(stagger::wait_n(&rec, 20, MAX));
            let caught = within(rt, "wait_n", fan_out.catch_unwind()).await;
            let caught = caught.expect_err("the panic was lost");
            assert_eq!(message(caught.as_ref()), expected, "{fault:?}");
        });
        rec.log(Log::assert_each_dropped_once);
    }
}

pub fn as_completed_resumes_every_fault<R: Runtime>(rt: &R) {
    for (fault, expected) in [(Fault::Poll, PANIC), (Fault::Drop, DROP_PANIC)] {
        let rec = Counting::faulty(rt.clone(), &[(5, fault)]);
        rt.block_on(async {
            let stream = stagger::as_completed(&rec, 20, MAX);
            let fan_out = AssertUnwindSafe(stream.collect::<Vec<_>>());
            let caught = within(rt, "as_completed", fan_out.catch_unwind()).await;
            let caught = caught.expect_err("the panic was lost");
            assert_eq!(message(caught.as_ref()), expected, "{fault:?}");
        });
        rec.log(Log::assert_each_dropped_once);
    }
}

pub fn block_on_inside_a_spawned_task_panics<R: Runtime>(rt: &R) {
    // On a global executor the inner block_on would block one of its few
    // threads, and deadlock once it waits for a task: refused on every
    // backend instead.
    let inner = rt.clone();
    let err = rt.block_on(async {
        let task = rt.spawn(async move { inner.block_on(async { 7 }) });
        within(rt, "block_on in a task", task.try_join()).await
    });
    let err = err.expect_err("block_on ran inside a task");
    let panic = err.into_panic();
    let message = message(panic.as_ref());
    assert!(
        message.contains("block_on") || message.contains("within a runtime"),
        "unclear message: {message:?}"
    );
}

// ===== scale (ignored by default) =====

const MILLION: usize = 1_000_000;

pub fn wait_n_million<R: Runtime>(rt: &R) {
    let max = Duration::from_millis(100);
    let (delays, elapsed) = timed(rt, || stagger::wait_n(rt, MILLION, max));
    assert_valid(&delays, MILLION, max);
    eprintln!("wait_n({MILLION}, {max:?}): {elapsed:?}");
}

pub fn task_wait_n_million<R: Runtime>(rt: &R) {
    let max = Duration::from_millis(100);
    let (delays, elapsed) = timed(rt, || stagger::task_wait_n(rt, MILLION, max));
    assert_valid(&delays, MILLION, max);
    eprintln!("task_wait_n({MILLION}, {max:?}): {elapsed:?}");
}
