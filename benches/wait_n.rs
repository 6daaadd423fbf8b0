//! The overhead of `wait_n`, `task_wait_n`, `staggered` and
//! `task_staggered` on every backend, next to the fastest code an expert
//! would write by hand on the same runtime.
//!
//! ```text
//! cargo bench --all-features --bench wait_n
//! ```
//!
//! # The matrix
//!
//! One criterion group per backend and `max_delay`,
//! `wait_n/<backend>/<max_delay>`:
//!
//! - backends: `tokio-ct` (a current-thread runtime), `tokio-mt2` (a
//!   multi-thread runtime with 2 workers), `async-std`, `smol` (each with its
//!   feature) and `sim` (always);
//! - `max_delay`: `0ms` (every delay zero: pure overhead) and `10ms`;
//! - n = 100, 10 000, 100 000 and 1 000 000 (the benchmark's parameter).
//!
//! In each group, function ids `stagger_wait_n`, `stagger_task_wait_n`,
//! `stagger_staggered` and `stagger_task_staggered` run next to the
//! hand-written baselines of `support/hand.rs`, `hand_<name>`:
//!
//! - against `wait_n` and `task_wait_n` (sorted delays):
//!   `hand_unconstrained_fu` and `hand_join_set` on tokio, `hand_fu_timer`
//!   and `hand_spawned` on async-std and smol;
//! - against `staggered` and `task_staggered` (a small async `work(index)`
//!   after each delay, results in completion order): `hand_fu_work` (sleep
//!   then work, inline, in one `FuturesUnordered`; on Sim too, through
//!   stagger's own `Sleeper`) and `hand_join_set_work` / `hand_spawned_work`
//!   (a spawned task per item that sleeps then works).
//!
//! `benches/plot.py` reads the medians
//! (`target/criterion/**/new/estimates.json`) and reports stagger ÷ the best
//! like-for-like hand-written code for every cell. Sim has no hand-written
//! counterpart for the sorted fan-outs: no other executor runs in virtual
//! time.
//!
//! Every contender draws its `n` uniform delays in `[0, max_delay]` inside
//! the timed call from a xoshiro256++ generator seeded from `rand::rng()`,
//! as stagger's plain forms do (`Sleeper::rng`'s default, `FastRng`); every contender
//! reads one start instant before drawing and sleeps each waiter until
//! `start + delay`; the sorted contenders collect the delays into a `Vec` and
//! sort it. All the contenders of a group run at one `n` before any runs at
//! the next, so the cells a ratio compares are measured seconds apart, not
//! minutes. Everything runs inside one runtime per backend (`block_on` on it;
//! the global executors on async-std and smol), the way a program that
//! already lives on that runtime calls stagger; `Tokio.block_on`, which builds
//! a runtime per call, is not benched.
//!
//! # Sampling
//!
//! Flat sampling; 20 samples, 1 s of warm-up and a 2 s target for n ≤ 100 000;
//! for n = 1 000 000, criterion's minimum of 10 samples of one call each,
//! after a one-call warm-up (criterion may warn that 10 samples do not fit
//! its 1 s target: expected). Each contender's output is checked (length,
//! order) once before it is timed. The full matrix (296 benchmarks) takes
//! about 40 minutes on 2 idle cores, longer on a busy machine; pass a filter
//! such as `'wait_n/smol/10ms/'` to run one group.
//!
//! tokio rounds every deadline up to its 1 ms timer tick, so at `0ms` and
//! small n its cells, hand-written ones included, measure that tick (about
//! 1 ms per call) rather than overhead; the ratio is still like for like.
//!
//! On Linux with glibc the bench re-runs itself with `GLIBC_TUNABLES`
//! pinning malloc's trim and mmap thresholds (see `pin_malloc`); set
//! `GLIBC_TUNABLES` yourself, even to an empty string, to opt out.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use stagger::prelude::*;
use stagger::sim::Sim;

#[path = "support/hand.rs"]
mod hand;

/// The waiter counts every group runs.
const SIZES: [usize; 4] = [100, 10_000, 100_000, 1_000_000];

/// Pure overhead (every delay zero), then real timers.
const MAX_DELAYS: [Duration; 2] = [Duration::ZERO, Duration::from_millis(10)];

/// One contender: its function id and a call returning `n` delays, sorted
/// unless the id says `staggered` or `work` (completion order).
type Contender<'a> = (&'static str, Box<dyn FnMut(usize) -> Vec<Duration> + 'a>);

/// Staggered work, in completion order, as the `*_work` baselines return
/// it: the delays; the indices and outputs go to `black_box`.
async fn staggered_delays<S>(mut done: S) -> Vec<Duration>
where
    S: futures::Stream<Item = stagger::Done<usize>> + Unpin,
{
    use futures::StreamExt;
    let mut out = Vec::with_capacity(done.size_hint().0);
    while let Some(done) = done.next().await {
        black_box((done.index, done.output));
        out.push(done.delay);
    }
    out
}

fn benches(c: &mut Criterion) {
    #[cfg(feature = "tokio")]
    {
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio_groups(c, "tokio-ct", &current);
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        tokio_groups(c, "tokio-mt2", &multi);
    }
    #[cfg(feature = "async-std")]
    async_io_groups(c, "async-std", &stagger::rt::AsyncStd);
    #[cfg(feature = "smol")]
    async_io_groups(c, "smol", &stagger::rt::Smol);
    sim_groups(c);
}

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pin_malloc();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}

/// Re-runs this bench with glibc malloc's thresholds fixed, and exits with
/// its status.
///
/// By default glibc returns the free top of the heap to the OS once it
/// exceeds a trim threshold that adapts to earlier `free`s. Each call here
/// allocates and frees tens of megabytes of waiters, so whether the next call
/// re-faults them in depends only on heap history: the same code then runs in
/// about 20 ms or 32 ms at n = 100 000 on tokio (6 000 extra page faults per
/// call), for stagger and hand-written code alike, and their ratio flips with
/// bench order. Fixed thresholds keep the heap mapped for every contender.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn pin_malloc() {
    const VAR: &str = "GLIBC_TUNABLES";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(
            VAR,
            "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432",
        )
        .status();
    // If the child cannot start, bench in this process instead.
    if let Ok(status) = status {
        std::process::exit(status.code().unwrap_or(1));
    }
}

/// Benches every contender at every size in group
/// `wait_n/<backend>/<max_delay>`, all contenders at one size before the
/// next size.
fn run_group(c: &mut Criterion, backend: &str, max: Duration, mut contenders: Vec<Contender<'_>>) {
    let mut group = c.benchmark_group(format!("wait_n/{backend}/{}ms", max.as_millis()));
    group.sampling_mode(SamplingMode::Flat);
    for n in SIZES {
        configure(&mut group, n);
        group.throughput(Throughput::Elements(n as u64));
        for (name, run) in &mut contenders {
            let mut checked = false;
            // Criterion calls this only if the bench passes the filter.
            group.bench_function(BenchmarkId::new(*name, n), |b| {
                if !checked {
                    let out = run(n);
                    assert_eq!(out.len(), n, "{backend}/{name}: wrong length");
                    let unsorted = name.contains("staggered") || name.contains("work");
                    assert!(unsorted || out.is_sorted(), "{backend}/{name}: not sorted");
                    checked = true;
                }
                b.iter(|| run(black_box(n)));
            });
        }
    }
    group.finish();
}

/// Sampling sized so the whole matrix runs in well under half an hour on two
/// cores.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    if n >= 1_000_000 {
        // A call takes a good fraction of a second: criterion's minimum of
        // 10 samples, one call each, after a one-call warm-up.
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(1));
    } else {
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
    }
}

/// `n` uniform delays in `[0, max]`, drawn lazily: the hand-written code
/// takes them one by one as it creates its waiters, as stagger does, from
/// the generator stagger's plain forms draw from on real backends
/// (xoshiro256++ seeded from the thread's).
fn draw(n: usize, max: Duration) -> impl ExactSizeIterator<Item = Duration> {
    use rand::distr::{Distribution, Uniform};
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{Rng, SeedableRng};

    let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(rand::rng().next_u64());
    (0..n).map(move |_| uniform.sample(&mut rng))
}

/// Where a group's contenders run: `block_on` of the runtime the group lives
/// on, the same for stagger and the hand-written code.
trait Host {
    fn run<F: Future>(&self, future: F) -> F::Output;
}

/// A tokio runtime: everything runs through its own `block_on`, not
/// `Tokio.block_on` (which builds a current-thread runtime per call).
#[cfg(feature = "tokio")]
struct OnTokio<'a>(&'a tokio::runtime::Runtime);

#[cfg(feature = "tokio")]
impl Host for OnTokio<'_> {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// stagger's own backends run through their `Runtime::block_on`: the global
/// executors on async-std and smol, the simulation itself for `Sim`.
impl<R: Runtime> Host for R {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
}

/// stagger's four fan-outs on backend `rt`, run by `host`.
fn stagger_contenders<'a, H, R>(host: &'a H, rt: &'a R, max: Duration) -> Vec<Contender<'a>>
where
    H: Host,
    R: Spawn + Sleeper + Clone + Send + 'static,
    R::Sleep: Send + 'static,
{
    vec![
        (
            "stagger_wait_n",
            Box::new(move |n| host.run(stagger::wait_n(rt, n, max))),
        ),
        (
            "stagger_task_wait_n",
            Box::new(move |n| host.run(stagger::task_wait_n(rt, n, max))),
        ),
        (
            "stagger_staggered",
            Box::new(move |n| {
                host.run(staggered_delays(stagger::staggered(
                    rt,
                    0..n,
                    max,
                    hand::work,
                )))
            }),
        ),
        (
            "stagger_task_staggered",
            Box::new(move |n| {
                host.run(staggered_delays(stagger::task_staggered(
                    rt,
                    0..n,
                    max,
                    hand::work,
                )))
            }),
        ),
    ]
}

#[cfg(feature = "tokio")]
fn tokio_groups(c: &mut Criterion, backend: &str, rt: &tokio::runtime::Runtime) {
    let host = OnTokio(rt);
    for max in MAX_DELAYS {
        let mut contenders = stagger_contenders(&host, &stagger::rt::Tokio, max);
        let hand: [Contender<'_>; 4] = [
            (
                "hand_unconstrained_fu",
                Box::new(move |n| rt.block_on(hand::tokio_unconstrained_fu(draw(n, max)))),
            ),
            (
                "hand_join_set",
                Box::new(move |n| rt.block_on(hand::tokio_join_set(draw(n, max)))),
            ),
            (
                "hand_fu_work",
                Box::new(move |n| rt.block_on(hand::tokio_fu_work(draw(n, max)))),
            ),
            (
                "hand_join_set_work",
                Box::new(move |n| rt.block_on(hand::tokio_join_set_work(draw(n, max)))),
            ),
        ];
        contenders.extend(hand);
        run_group(c, backend, max, contenders);
    }
}

/// async-std and smol: both run async-io timers, so their hand-written code
/// is the same but for the spawn function.
#[cfg(any(feature = "async-std", feature = "smol"))]
fn async_io_groups<R>(c: &mut Criterion, backend: &str, rt: &R)
where
    R: Runtime + Clone + Send + 'static + hand::Spawner,
    R::Sleep: Send + 'static,
{
    for max in MAX_DELAYS {
        let mut contenders = stagger_contenders(rt, rt, max);
        let hand: [Contender<'_>; 4] = [
            (
                "hand_fu_timer",
                Box::new(move |n| rt.run(hand::timers(draw(n, max)))),
            ),
            (
                "hand_spawned",
                Box::new(move |n| rt.run(hand::spawned::<R>(draw(n, max)))),
            ),
            (
                "hand_fu_work",
                Box::new(move |n| rt.run(hand::timers_work(draw(n, max)))),
            ),
            (
                "hand_spawned_work",
                Box::new(move |n| rt.run(hand::spawned_work::<R>(draw(n, max)))),
            ),
        ];
        contenders.extend(hand);
        run_group(c, backend, max, contenders);
    }
}

/// Sim has no hand-written equivalent for the sorted fan-outs: no other
/// executor runs in virtual time. Its cells measure the simulation's
/// bookkeeping (timer queue, task queue, clock jumps); the `10ms` group costs
/// no wall time for the delays themselves. One `Sim` per group, like one
/// runtime per group elsewhere.
fn sim_groups(c: &mut Criterion) {
    for max in MAX_DELAYS {
        let sim = Sim::new();
        let mut contenders = stagger_contenders(&sim, &sim, max);
        contenders.push((
            "hand_fu_work",
            Box::new(|n| sim.block_on(hand::sleeper_fu_work(&sim, draw(n, max)))),
        ));
        run_group(c, "sim", max, contenders);
    }
}
