//! The pure overhead of `wait_n` and `task_wait_n` (`max_delay = 0`), next
//! to the fastest code an expert would write by hand on the same runtime.
//!
//! ```text
//! cargo bench --all-features --bench wait_n
//! ```
//!
//! One group per enabled backend, `wait_n/<backend>`, at n = 10 000 and
//! 100 000. Every contender draws its `n` uniform delays in `[0, max]` with
//! `rand::rng()` inside the timed call, before any sleep is polled, as
//! stagger does; every contender shares one start instant, sleeps until
//! `start + delay`, collects the delays into a `Vec` and sorts it.
//!
//! On tokio, `Tokio.block_on` builds a fresh runtime per call, so stagger is
//! also run inside the group's prebuilt current-thread runtime, the one the
//! hand-written code uses: `stagger_wait_n` against `hand_join_set` and
//! `hand_unconstrained_fu` is the headline comparison.
//!
//! On Linux with glibc the bench re-runs itself with `GLIBC_TUNABLES`
//! pinning malloc's trim and mmap thresholds (see `pin_malloc`); set
//! `GLIBC_TUNABLES` yourself, even to an empty string, to opt out.

use criterion::{Criterion, criterion_group};

fn benches(c: &mut Criterion) {
    #[cfg(feature = "tokio")]
    tokio_group(c);
    #[cfg(feature = "async-std")]
    async_std_group(c);
    #[cfg(feature = "smol")]
    smol_group(c);
    #[cfg(not(any(feature = "tokio", feature = "async-std", feature = "smol")))]
    {
        let _ = c;
        eprintln!("wait_n: no backend feature enabled (tokio, async-std, smol); nothing to bench");
    }
}

criterion_group!(wait_n, benches);

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pin_malloc();
    wait_n();
    Criterion::default().configure_from_args().final_summary();
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

#[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
use bench::*;

#[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
mod bench {
    use std::hint::black_box;

    use criterion::measurement::WallTime;
    use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
    use rand::distr::{Distribution, Uniform};
    use stagger::prelude::*;

    /// The waiter counts every group runs.
    pub(crate) const SIZES: [usize; 2] = [10_000, 100_000];

    /// Pure overhead: every delay is zero.
    pub(crate) const MAX: Duration = Duration::ZERO;

    /// A group sized so the whole bench runs in a few minutes.
    pub(crate) fn group<'a>(c: &'a mut Criterion, backend: &str) -> BenchmarkGroup<'a, WallTime> {
        let mut group = c.benchmark_group(format!("wait_n/{backend}"));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        group
    }

    /// Benches `run` at every size, checking its output once first.
    pub(crate) fn bench(
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        mut run: impl FnMut(usize) -> Vec<Duration>,
    ) {
        for n in SIZES {
            let out = run(n);
            assert_eq!(out.len(), n, "{name}: wrong length");
            assert!(out.is_sorted(), "{name}: not sorted");
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| run(black_box(n)));
            });
        }
    }

    /// `n` uniform delays in `[0, max]`, drawn lazily: the caller collects
    /// them (into futures or tasks) before polling any sleep.
    pub(crate) fn draw(n: usize, max: Duration) -> impl Iterator<Item = Duration> {
        let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
        let mut rng = rand::rng();
        (0..n).map(move |_| uniform.sample(&mut rng))
    }
}

#[cfg(feature = "tokio")]
fn tokio_group(c: &mut Criterion) {
    use stagger::prelude::*;
    use stagger::rt::Tokio;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = group(c, "tokio");
    // The headline: stagger in the same prebuilt runtime as the hand-written code.
    bench(&mut group, "stagger_wait_n", |n| {
        rt.block_on(stagger::wait_n(&Tokio, n, MAX))
    });
    bench(&mut group, "stagger_task_wait_n", |n| {
        rt.block_on(stagger::task_wait_n(&Tokio, n, MAX))
    });
    // Through `Tokio.block_on`, which builds a runtime per call.
    bench(&mut group, "stagger_wait_n_block_on", |n| {
        Tokio.block_on(stagger::wait_n(&Tokio, n, MAX))
    });
    bench(&mut group, "stagger_task_wait_n_block_on", |n| {
        Tokio.block_on(stagger::task_wait_n(&Tokio, n, MAX))
    });
    bench(&mut group, "hand_join_set", |n| {
        rt.block_on(hand::tokio_join_set(n, MAX))
    });
    bench(&mut group, "hand_unconstrained_fu", |n| {
        rt.block_on(hand::tokio_unconstrained_fu(n, MAX))
    });
    group.finish();
}

#[cfg(feature = "async-std")]
fn async_std_group(c: &mut Criterion) {
    use stagger::prelude::*;
    use stagger::rt::AsyncStd;

    let mut group = group(c, "async-std");
    bench(&mut group, "stagger_wait_n", |n| {
        AsyncStd.block_on(stagger::wait_n(&AsyncStd, n, MAX))
    });
    bench(&mut group, "stagger_task_wait_n", |n| {
        AsyncStd.block_on(stagger::task_wait_n(&AsyncStd, n, MAX))
    });
    bench(&mut group, "hand_fu_timer", |n| {
        async_std::task::block_on(hand::timers(n, MAX))
    });
    bench(&mut group, "hand_spawned", |n| {
        async_std::task::block_on(hand::async_std_spawned(n, MAX))
    });
    group.finish();
}

#[cfg(feature = "smol")]
fn smol_group(c: &mut Criterion) {
    use stagger::prelude::*;
    use stagger::rt::Smol;

    let mut group = group(c, "smol");
    bench(&mut group, "stagger_wait_n", |n| {
        Smol.block_on(stagger::wait_n(&Smol, n, MAX))
    });
    bench(&mut group, "stagger_task_wait_n", |n| {
        Smol.block_on(stagger::task_wait_n(&Smol, n, MAX))
    });
    bench(&mut group, "hand_fu_timer", |n| {
        smol::block_on(hand::timers(n, MAX))
    });
    bench(&mut group, "hand_spawned", |n| {
        smol::block_on(hand::smol_spawned(n, MAX))
    });
    group.finish();
}

/// What an expert writes directly on each runtime: draw the delays, share one
/// start, sleep each until `start + delay`, collect, sort.
mod hand {
    #[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
    use std::time::Duration;

    #[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
    use futures::StreamExt;
    #[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
    use futures::stream::FuturesUnordered;

    #[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
    use crate::draw;

    /// A `JoinSet` of spawned `sleep_until` tasks.
    #[cfg(feature = "tokio")]
    pub(crate) async fn tokio_join_set(n: usize, max: Duration) -> Vec<Duration> {
        let start = tokio::time::Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for d in draw(n, max) {
            set.spawn(async move {
                tokio::time::sleep_until(start + d).await;
                d
            });
        }
        let mut out = Vec::with_capacity(n);
        while let Some(d) = set.join_next().await {
            out.push(d.unwrap());
        }
        out.sort_unstable();
        out
    }

    /// A `FuturesUnordered` of `sleep_until`s, outside tokio's coop budget.
    #[cfg(feature = "tokio")]
    pub(crate) async fn tokio_unconstrained_fu(n: usize, max: Duration) -> Vec<Duration> {
        let start = tokio::time::Instant::now();
        let mut pending: FuturesUnordered<_> = draw(n, max)
            .map(|d| async move {
                tokio::time::sleep_until(start + d).await;
                d
            })
            .collect();
        tokio::task::coop::unconstrained(async move {
            let mut out = Vec::with_capacity(n);
            while let Some(d) = pending.next().await {
                out.push(d);
            }
            out.sort_unstable();
            out
        })
        .await
    }

    /// A `FuturesUnordered` of async-io timers (async-std's timers are
    /// async-io's too).
    #[cfg(any(feature = "async-std", feature = "smol"))]
    pub(crate) async fn timers(n: usize, max: Duration) -> Vec<Duration> {
        let start = std::time::Instant::now();
        let mut pending: FuturesUnordered<_> = draw(n, max)
            .map(|d| async move {
                async_io::Timer::at(start + d).await;
                d
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        while let Some(d) = pending.next().await {
            out.push(d);
        }
        out.sort_unstable();
        out
    }

    /// Spawned tasks, each on an async-io timer, awaited through the
    /// runtime's own join handles (`$spawn` is the runtime's spawn function).
    #[cfg(any(feature = "async-std", feature = "smol"))]
    macro_rules! spawned {
        ($spawn:path, $n:expr, $max:expr) => {{
            let (n, max) = ($n, $max);
            let start = std::time::Instant::now();
            let mut handles: FuturesUnordered<_> = draw(n, max)
                .map(|d| {
                    $spawn(async move {
                        async_io::Timer::at(start + d).await;
                        d
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(n);
            while let Some(d) = handles.next().await {
                out.push(d);
            }
            out.sort_unstable();
            out
        }};
    }

    #[cfg(feature = "async-std")]
    pub(crate) async fn async_std_spawned(n: usize, max: Duration) -> Vec<Duration> {
        spawned!(async_std::task::spawn, n, max)
    }

    #[cfg(feature = "smol")]
    pub(crate) async fn smol_spawned(n: usize, max: Duration) -> Vec<Duration> {
        spawned!(smol::spawn, n, max)
    }
}
