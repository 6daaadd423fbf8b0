//! Schedules: what a tick costs when every tick is due at once, next to
//! hand-written code on each runtime; how late ticks fire at 100 000 per
//! second; and Sim's open loop at a million arrivals.
//!
//! ```text
//! cargo bench --all-features --bench ticks                 # criterion: per tick, and Sim's run
//! cargo bench --all-features --bench ticks -- --lateness   # 100 000 ticks/s for 5 s per backend
//! ```
//!
//! # Per tick (criterion)
//!
//! Group `ticks/<backend>`: a million ticks of `constant` at one per
//! nanosecond, far more than any loop can serve, so that nearly every tick
//! is due when it is asked for. `stagger_ticks` consumes
//! `schedule::ticks` (Burst); `hand_sleep_until` is the loop an expert
//! writes, `sleep_until(start + i · period)` on the runtime's own timer;
//! on tokio, `hand_interval_burst` is `tokio::time::Interval` with
//! `MissedTickBehavior::Burst`. The throughput is in ticks, so criterion
//! prints time per tick.
//!
//! On Sim, each tick of that schedule has its own instant of virtual time,
//! so each waits on a timer; group `ticks/sim-due` puts every tick at the
//! start instead, for the cost of a tick without a timer.
//!
//! Group `run/sim`: `schedule::run` on Sim over a million arrivals at a
//! million per second, each spawning a task with trivial work.
//!
//! # Lateness (`--lateness`)
//!
//! 100 000 ticks per second for 5 s on each real backend: the distribution
//! of each tick's lateness (fired − intended) for stagger and for the
//! hand-written loops, in the same process, one after the other.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use stagger::prelude::*;
use stagger::schedule::{self, Rate};
use stagger::sim::Sim;

/// Ticks per criterion sample.
const N: u64 = 1_000_000;

/// One tick per nanosecond: every tick due by the time it is asked for.
const FLOOD: Duration = Duration::from_nanos(1);

fn flood() -> impl Iterator<Item = Duration> {
    schedule::constant(Rate::every(FLOOD).unwrap()).take(N as usize)
}

/// Consumes `n` ticks of stagger's stream.
async fn stagger_ticks<S: Sleeper + Clone>(sleeper: &S) -> usize {
    let mut ticks = schedule::ticks(sleeper, flood());
    let mut count = 0;
    while let Some(tick) = ticks.next().await {
        black_box(tick);
        count += 1;
    }
    count
}

fn main() {
    if std::env::args().any(|arg| arg == "--lateness") {
        lateness();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    per_tick(&mut c);
    sim_run(&mut c);
    c.final_summary();
}

fn per_tick(c: &mut Criterion) {
    #[cfg(feature = "tokio")]
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut group = c.benchmark_group("ticks/tokio-ct");
        configure(&mut group);
        group.bench_function("stagger_ticks", |b| {
            b.iter(|| rt.block_on(stagger_ticks(&stagger::rt::Tokio)))
        });
        group.bench_function("hand_sleep_until", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let start = tokio::time::Instant::now();
                    for i in 0..N as u32 {
                        tokio::time::sleep_until(start + FLOOD * i).await;
                        black_box(i);
                    }
                })
            })
        });
        group.bench_function("hand_interval_burst", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut interval = tokio::time::interval(FLOOD);
                    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    for _ in 0..N {
                        black_box(interval.tick().await);
                    }
                })
            })
        });
        group.finish();
    }
    #[cfg(feature = "async-std")]
    async_io_group(c, "ticks/async-std", &stagger::rt::AsyncStd);
    #[cfg(feature = "smol")]
    async_io_group(c, "ticks/smol", &stagger::rt::Smol);

    // On Sim every tick has its own instant of virtual time, which stands
    // still while anything can run: each tick waits for the clock to move
    // to it, a timer per tick. `ticks/sim-due` has every tick at the start.
    let sim = Sim::new();
    let mut group = c.benchmark_group("ticks/sim-due");
    configure(&mut group);
    let due = || std::iter::repeat_n(Duration::ZERO, N as usize);
    group.bench_function("stagger_ticks", |b| {
        b.iter(|| {
            sim.block_on(async {
                let mut ticks = schedule::ticks(&sim, due());
                while let Some(tick) = ticks.next().await {
                    black_box(tick);
                }
            })
        })
    });
    group.bench_function("hand_sleep_until", |b| {
        b.iter(|| {
            sim.block_on(async {
                let start = sim.now();
                for offset in due() {
                    sim.sleep_until(start + offset).await;
                    black_box(offset);
                }
            })
        })
    });
    group.finish();
    let mut group = c.benchmark_group("ticks/sim");
    configure(&mut group);
    group.bench_function("stagger_ticks", |b| {
        b.iter(|| sim.block_on(stagger_ticks(&sim)))
    });
    group.bench_function("hand_sleep_until", |b| {
        b.iter(|| {
            sim.block_on(async {
                let start = sim.now();
                for i in 0..N as u32 {
                    sim.sleep_until(start + FLOOD * i).await;
                    black_box(i);
                }
            })
        })
    });
    group.finish();
}

/// async-io's timers, the ones async-std and smol use.
#[cfg(any(feature = "async-std", feature = "smol"))]
fn async_io_group<R: Runtime + Clone>(c: &mut Criterion, name: &str, rt: &R) {
    let mut group = c.benchmark_group(name);
    configure(&mut group);
    group.bench_function("stagger_ticks", |b| {
        b.iter(|| rt.block_on(stagger_ticks(rt)))
    });
    group.bench_function("hand_sleep_until", |b| {
        b.iter(|| {
            rt.block_on(async {
                let start = std::time::Instant::now();
                for i in 0..N as u32 {
                    async_io::Timer::at(start + FLOOD * i).await;
                    black_box(i);
                }
            })
        })
    });
    group.finish();
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(N));
}

fn sim_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("run/sim");
    configure(&mut group);
    let sim = Sim::new();
    group.bench_function("stagger_run", |b| {
        b.iter(|| {
            let arrivals = schedule::constant(Rate::per_sec(1e6).unwrap()).take(N as usize);
            let requests = schedule::run(&sim, arrivals, |tick| async move { tick.index });
            sim.block_on(requests.count())
        })
    });
    group.finish();
}

// ===== lateness =====

/// How long each lateness cell runs, and at what rate.
const WINDOW: Duration = Duration::from_secs(5);
const RATE: f64 = 100_000.0;

fn lateness() {
    println!(
        "lateness of {RATE} ticks/s over {WINDOW:?} (fired - intended), per cell: \
         p50 / p90 / p99 / p99.9 / max"
    );
    let period = Rate::per_sec(RATE).unwrap().period();
    let n = (WINDOW.as_secs_f64() * RATE) as usize;
    #[cfg(feature = "tokio")]
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        report(
            "tokio-ct / stagger ticks",
            rt.block_on(stagger_lateness(&stagger::rt::Tokio, n)),
        );
        report(
            "tokio-ct / hand sleep_until",
            rt.block_on(async {
                let start = tokio::time::Instant::now();
                let mut late = Vec::with_capacity(n);
                for i in 0..n as u32 {
                    let at = start + period * i;
                    tokio::time::sleep_until(at).await;
                    late.push(tokio::time::Instant::now() - at);
                }
                late
            }),
        );
        report(
            "tokio-ct / hand interval (Burst)",
            rt.block_on(async {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut late = Vec::with_capacity(n);
                for _ in 0..n {
                    let at = interval.tick().await;
                    late.push(tokio::time::Instant::now() - at);
                }
                late
            }),
        );
    }
    #[cfg(feature = "async-std")]
    async_io_lateness("async-std", &stagger::rt::AsyncStd, period, n);
    #[cfg(feature = "smol")]
    async_io_lateness("smol", &stagger::rt::Smol, period, n);
    let _ = (period, n);
}

#[cfg(any(feature = "async-std", feature = "smol"))]
fn async_io_lateness<R: Runtime + Clone>(name: &str, rt: &R, period: Duration, n: usize) {
    report(
        &format!("{name} / stagger ticks"),
        rt.block_on(stagger_lateness(rt, n)),
    );
    report(
        &format!("{name} / hand sleep_until"),
        rt.block_on(async {
            let start = std::time::Instant::now();
            let mut late = Vec::with_capacity(n);
            for i in 0..n as u32 {
                let at = start + period * i;
                async_io::Timer::at(at).await;
                late.push(std::time::Instant::now() - at);
            }
            late
        }),
    );
}

/// Every tick's lateness, for `n` ticks at [`RATE`].
#[allow(dead_code)] // Unused when no backend feature is enabled.
async fn stagger_lateness<S: Sleeper + Clone>(sleeper: &S, n: usize) -> Vec<Duration> {
    let every = schedule::constant(Rate::per_sec(RATE).unwrap()).take(n);
    let ticks = schedule::ticks(sleeper, every);
    ticks.map(|tick| tick.lateness()).collect().await
}

#[allow(dead_code)] // Unused when no backend feature is enabled.
fn report(cell: &str, mut late: Vec<Duration>) {
    late.sort_unstable();
    let at = |q: f64| late[((late.len() as f64 * q).ceil() as usize).clamp(1, late.len()) - 1];
    println!(
        "{cell:<36} {:>10.1?} {:>10.1?} {:>10.1?} {:>10.1?} {:>10.1?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}
