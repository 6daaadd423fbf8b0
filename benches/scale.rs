//! Timer accuracy and memory at scale: for each backend, the lateness of the
//! last waiter (elapsed − longest delay) and the peak memory per waiter, for
//! stagger and for hand-written code on the same runtime.
//!
//! ```text
//! cargo bench --all-features --bench scale -- [--n N] [--max-delay SECS] [--runs R]
//! ```
//!
//! Each cell runs in a fresh child process, so its peak RSS (`VmHWM`) is its
//! own. Linux only (reads `/proc/self/status`).

// With no backend feature there are no cells: the machinery goes unused.
#![cfg_attr(
    not(any(feature = "tokio", feature = "async-std", feature = "smol")),
    allow(unused, unreachable_code)
)]

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;

/// One measured run: wall time of the call, the largest delay, peak RSS
/// growth in bytes.
struct Sample {
    elapsed: Duration,
    longest: Duration,
    peak_bytes: u64,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = flag("--n").map_or(1_000_000, |v| v.parse().expect("--n"));
    let max_secs: f64 = flag("--max-delay").map_or(1.0, |v| v.parse().expect("--max-delay"));
    let max = match stagger::try_from_secs_f64(max_secs) {
        Ok(max) => max,
        Err(err) => {
            eprintln!("scale: --max-delay: {err}");
            return ExitCode::from(2);
        }
    };
    if let Some(cell) = flag("--cell") {
        return run_cell(&cell, n, max);
    }
    let runs: usize = flag("--runs").map_or(3, |v| v.parse().expect("--runs"));

    println!("n = {n}, max_delay = {max:?}, {runs} runs per cell (median shown)");
    println!(
        "{:<34} {:>12} {:>12} {:>14}",
        "cell", "elapsed", "lateness", "peak B/waiter"
    );
    for cell in CELLS {
        let mut samples: Vec<Sample> = (0..runs).filter_map(|_| child(cell, n, max_secs)).collect();
        if samples.is_empty() {
            println!("{cell:<34} (failed)");
            continue;
        }
        samples.sort_by_key(|s| s.elapsed.saturating_sub(s.longest));
        let mid = &samples[samples.len() / 2];
        let mut peaks: Vec<u64> = samples.iter().map(|s| s.peak_bytes).collect();
        peaks.sort();
        println!(
            "{cell:<34} {:>12.3?} {:>12.3?} {:>14.0}",
            mid.elapsed,
            mid.elapsed.saturating_sub(mid.longest),
            peaks[peaks.len() / 2] as f64 / n as f64
        );
    }
    ExitCode::SUCCESS
}

/// Runs one cell in a child process and parses its one-line report.
fn child(cell: &str, n: usize, max_secs: f64) -> Option<Sample> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args([
            "--cell",
            cell,
            "--n",
            &n.to_string(),
            "--max-delay",
            &max_secs.to_string(),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{cell}: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let line = String::from_utf8(out.stdout).ok()?;
    let mut it = line.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some(Sample {
        elapsed: Duration::from_nanos(it.next()??),
        longest: Duration::from_nanos(it.next()??),
        peak_bytes: it.next()??,
    })
}

const CELLS: &[&str] = &[
    #[cfg(feature = "tokio")]
    "tokio/stagger wait_n",
    #[cfg(feature = "tokio")]
    "tokio/stagger task_wait_n",
    #[cfg(feature = "tokio")]
    "tokio/hand unconstrained FU",
    #[cfg(feature = "tokio")]
    "tokio/hand JoinSet",
    #[cfg(feature = "async-std")]
    "async-std/stagger wait_n",
    #[cfg(feature = "async-std")]
    "async-std/stagger task_wait_n",
    #[cfg(feature = "async-std")]
    "async-std/hand FU of Timer",
    #[cfg(feature = "async-std")]
    "async-std/hand spawned",
    #[cfg(feature = "smol")]
    "smol/stagger wait_n",
    #[cfg(feature = "smol")]
    "smol/stagger task_wait_n",
    #[cfg(feature = "smol")]
    "smol/hand FU of Timer",
    #[cfg(feature = "smol")]
    "smol/hand spawned",
];

/// Reads a field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The pre-drawn delays both sides sleep.
fn delays(n: usize, max: Duration) -> Vec<Duration> {
    let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    (0..n).map(|_| uniform.sample(&mut rng)).collect()
}

fn run_cell(cell: &str, n: usize, max: Duration) -> ExitCode {
    let pre = delays(n, max);
    let longest = pre.iter().max().copied().unwrap_or_default();
    let seeded = || StdRng::seed_from_u64(0);
    let base = status_bytes("VmRSS:");
    let (result, elapsed): (Vec<Duration>, Duration) = match cell {
        #[cfg(feature = "tokio")]
        "tokio/stagger wait_n" => {
            use stagger::rt::Tokio;
            tokio_rt().block_on(timed(|| {
                stagger::wait_n_with(&Tokio, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "tokio")]
        "tokio/stagger task_wait_n" => {
            use stagger::rt::Tokio;
            tokio_rt().block_on(timed(|| {
                stagger::task_wait_n_with(&Tokio, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "tokio")]
        "tokio/hand unconstrained FU" => tokio_rt().block_on(timed(|| hand::tokio_fu(&pre))),
        #[cfg(feature = "tokio")]
        "tokio/hand JoinSet" => tokio_rt().block_on(timed(|| hand::tokio_join_set(&pre))),
        #[cfg(feature = "async-std")]
        "async-std/stagger wait_n" => {
            use stagger::rt::AsyncStd;
            async_std::task::block_on(timed(|| {
                stagger::wait_n_with(&AsyncStd, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "async-std")]
        "async-std/stagger task_wait_n" => {
            use stagger::rt::AsyncStd;
            async_std::task::block_on(timed(|| {
                stagger::task_wait_n_with(&AsyncStd, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "async-std")]
        "async-std/hand FU of Timer" => async_std::task::block_on(timed(|| hand::timers(&pre))),
        #[cfg(feature = "async-std")]
        "async-std/hand spawned" => {
            async_std::task::block_on(timed(|| hand::spawned::<hand::AsyncStd>(&pre)))
        }
        #[cfg(feature = "smol")]
        "smol/stagger wait_n" => {
            use stagger::rt::Smol;
            smol::block_on(timed(|| stagger::wait_n_with(&Smol, &mut seeded(), n, max)))
        }
        #[cfg(feature = "smol")]
        "smol/stagger task_wait_n" => {
            use stagger::rt::Smol;
            smol::block_on(timed(|| {
                stagger::task_wait_n_with(&Smol, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "smol")]
        "smol/hand FU of Timer" => smol::block_on(timed(|| hand::timers(&pre))),
        #[cfg(feature = "smol")]
        "smol/hand spawned" => smol::block_on(timed(|| hand::spawned::<hand::Smol>(&pre))),
        other => {
            eprintln!("scale: unknown cell {other:?}");
            return ExitCode::from(2);
        }
    };
    let peak = status_bytes("VmHWM:").saturating_sub(base);
    assert_eq!(result.len(), n);
    assert!(result.is_sorted());
    println!("{} {} {peak}", elapsed.as_nanos(), longest.as_nanos());
    ExitCode::SUCCESS
}

/// Awaits the future `make` creates, timing from just before its creation.
async fn timed<F: Future>(make: impl FnOnce() -> F) -> (F::Output, Duration) {
    let start = Instant::now();
    let output = make().await;
    (output, start.elapsed())
}

#[cfg(feature = "tokio")]
fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What an expert writes by hand: one shared start, then sort.
#[allow(dead_code)] // Each function serves only some feature sets.
mod hand {
    #[cfg(any(feature = "async-std", feature = "smol"))]
    use std::future::Future;
    use std::time::Duration;
    #[cfg(any(feature = "async-std", feature = "smol"))]
    use std::time::Instant;

    use futures::StreamExt;
    use futures::stream::FuturesUnordered;

    #[cfg(feature = "tokio")]
    pub async fn tokio_fu(delays: &[Duration]) -> Vec<Duration> {
        let start = tokio::time::Instant::now();
        tokio::task::coop::unconstrained(async {
            let mut pending: FuturesUnordered<_> = delays
                .iter()
                .map(|&d| async move {
                    tokio::time::sleep_until(start + d).await;
                    d
                })
                .collect();
            let mut out = Vec::with_capacity(delays.len());
            while let Some(d) = pending.next().await {
                out.push(d);
            }
            out.sort_unstable();
            out
        })
        .await
    }

    #[cfg(feature = "tokio")]
    pub async fn tokio_join_set(delays: &[Duration]) -> Vec<Duration> {
        let start = tokio::time::Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for &d in delays {
            set.spawn(async move {
                tokio::time::sleep_until(start + d).await;
                d
            });
        }
        let mut out = Vec::with_capacity(delays.len());
        while let Some(d) = set.join_next().await {
            out.push(d.unwrap());
        }
        out.sort_unstable();
        out
    }

    #[cfg(any(feature = "async-std", feature = "smol"))]
    pub async fn timers(delays: &[Duration]) -> Vec<Duration> {
        let start = Instant::now();
        let mut pending: FuturesUnordered<_> = delays
            .iter()
            .map(|&d| async move {
                async_io::Timer::at(start + d).await;
                d
            })
            .collect();
        let mut out = Vec::with_capacity(delays.len());
        while let Some(d) = pending.next().await {
            out.push(d);
        }
        out.sort_unstable();
        out
    }

    /// A runtime whose spawn handle yields the task's output directly.
    #[cfg(any(feature = "async-std", feature = "smol"))]
    pub trait Spawner {
        type Handle<T: Send + 'static>: Future<Output = T>;
        fn spawn<F>(future: F) -> Self::Handle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static;
    }

    #[cfg(feature = "async-std")]
    pub struct AsyncStd;

    #[cfg(feature = "async-std")]
    impl Spawner for AsyncStd {
        type Handle<T: Send + 'static> = async_std::task::JoinHandle<T>;
        fn spawn<F>(future: F) -> Self::Handle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            async_std::task::spawn(future)
        }
    }

    #[cfg(feature = "smol")]
    pub struct Smol;

    #[cfg(feature = "smol")]
    impl Spawner for Smol {
        type Handle<T: Send + 'static> = smol::Task<T>;
        fn spawn<F>(future: F) -> Self::Handle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            smol::spawn(future)
        }
    }

    /// Spawned tasks, each sleeping on async-io's timer.
    #[cfg(any(feature = "async-std", feature = "smol"))]
    pub async fn spawned<S: Spawner>(delays: &[Duration]) -> Vec<Duration> {
        let start = Instant::now();
        let mut handles: FuturesUnordered<_> = delays
            .iter()
            .map(|&d| {
                S::spawn(async move {
                    async_io::Timer::at(start + d).await;
                    d
                })
            })
            .collect();
        let mut out = Vec::with_capacity(delays.len());
        while let Some(d) = handles.next().await {
            out.push(d);
        }
        out.sort_unstable();
        out
    }
}
