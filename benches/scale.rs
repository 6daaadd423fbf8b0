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
//!
//! Elapsed time is read on the backend's own clock ([`Sleeper::now`]): real
//! time on tokio, async-std and smol, virtual time on Sim, whose lateness is
//! therefore exactly zero. The wall column is real time for every cell; on a
//! real backend it is the elapsed time itself. Sim's counterpart is
//! `tokio-paused/hand unconstrained FU`: the same sleeps written by hand on
//! tokio's paused clock (a current-thread runtime with `start_paused`,
//! whose clock auto-advances when it idles), the comparison virtual-time
//! users make; compare their wall columns. The hand-written
//! baselines are `support/hand.rs`, shared with the `wait_n` bench; here they
//! sleep the same pre-drawn delays stagger draws from its seeded generator.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use stagger::prelude::*;
use stagger::sim::Sim;

#[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
#[path = "support/hand.rs"]
#[allow(dead_code)] // The staggered-work baselines are the other bench's.
mod hand;

/// One measured run: time of the call on the backend's clock, the largest
/// delay, peak RSS growth in bytes, and the call's wall time.
struct Sample {
    elapsed: Duration,
    longest: Duration,
    peak_bytes: u64,
    wall: Duration,
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
        "{:<34} {:>12} {:>12} {:>12} {:>14}",
        "cell", "elapsed", "lateness", "wall", "peak B/waiter"
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
            "{cell:<34} {:>12.3?} {:>12.3?} {:>12.3?} {:>14.0}",
            mid.elapsed,
            mid.elapsed.saturating_sub(mid.longest),
            mid.wall,
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
        wall: Duration::from_nanos(it.next()??),
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
    "sim/stagger wait_n",
    "sim/stagger task_wait_n",
    #[cfg(feature = "tokio")]
    "tokio-paused/hand unconstrained FU",
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

/// The pre-drawn delays the hand-written code sleeps: the ones stagger draws
/// from `StdRng::seed_from_u64(0)`.
fn delays(n: usize, max: Duration) -> Vec<Duration> {
    let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    (0..n).map(|_| uniform.sample(&mut rng)).collect()
}

fn run_cell(cell: &str, n: usize, max: Duration) -> ExitCode {
    let pre = delays(n, max);
    let longest = pre.iter().max().copied().unwrap_or_default();
    let seeded = || StdRng::seed_from_u64(0);
    #[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
    let pre = || pre.iter().copied();
    let base = status_bytes("VmRSS:");
    let (result, elapsed, wall): (Vec<Duration>, Duration, Duration) = match cell {
        #[cfg(feature = "tokio")]
        "tokio/stagger wait_n" => {
            use stagger::rt::Tokio;
            tokio_rt().block_on(timed(&Tokio, || {
                stagger::wait_n_with(&Tokio, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "tokio")]
        "tokio/stagger task_wait_n" => {
            use stagger::rt::Tokio;
            tokio_rt().block_on(timed(&Tokio, || {
                stagger::task_wait_n_with(&Tokio, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "tokio")]
        "tokio/hand unconstrained FU" => {
            use stagger::rt::Tokio;
            tokio_rt().block_on(timed(&Tokio, || hand::tokio_unconstrained_fu(pre())))
        }
        #[cfg(feature = "tokio")]
        "tokio/hand JoinSet" => {
            use stagger::rt::Tokio;
            tokio_rt().block_on(timed(&Tokio, || hand::tokio_join_set(pre())))
        }
        #[cfg(feature = "async-std")]
        "async-std/stagger wait_n" => {
            use stagger::rt::AsyncStd;
            async_std::task::block_on(timed(&AsyncStd, || {
                stagger::wait_n_with(&AsyncStd, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "async-std")]
        "async-std/stagger task_wait_n" => {
            use stagger::rt::AsyncStd;
            async_std::task::block_on(timed(&AsyncStd, || {
                stagger::task_wait_n_with(&AsyncStd, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "async-std")]
        "async-std/hand FU of Timer" => {
            use stagger::rt::AsyncStd;
            async_std::task::block_on(timed(&AsyncStd, || hand::timers(pre())))
        }
        #[cfg(feature = "async-std")]
        "async-std/hand spawned" => {
            use stagger::rt::AsyncStd;
            async_std::task::block_on(timed(&AsyncStd, || hand::spawned::<AsyncStd>(pre())))
        }
        #[cfg(feature = "smol")]
        "smol/stagger wait_n" => {
            use stagger::rt::Smol;
            smol::block_on(timed(&Smol, || {
                stagger::wait_n_with(&Smol, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "smol")]
        "smol/stagger task_wait_n" => {
            use stagger::rt::Smol;
            smol::block_on(timed(&Smol, || {
                stagger::task_wait_n_with(&Smol, &mut seeded(), n, max)
            }))
        }
        #[cfg(feature = "smol")]
        "smol/hand FU of Timer" => {
            use stagger::rt::Smol;
            smol::block_on(timed(&Smol, || hand::timers(pre())))
        }
        #[cfg(feature = "smol")]
        "smol/hand spawned" => {
            use stagger::rt::Smol;
            smol::block_on(timed(&Smol, || hand::spawned::<Smol>(pre())))
        }
        "sim/stagger wait_n" => {
            let sim = Sim::new();
            sim.block_on(timed(&sim, || {
                stagger::wait_n_with(&sim, &mut seeded(), n, max)
            }))
        }
        "sim/stagger task_wait_n" => {
            let sim = Sim::new();
            sim.block_on(timed(&sim, || {
                stagger::task_wait_n_with(&sim, &mut seeded(), n, max)
            }))
        }
        // The comparison virtual-time users make: the same sleeps by hand on
        // tokio's paused clock, which auto-advances when the runtime idles.
        #[cfg(feature = "tokio")]
        "tokio-paused/hand unconstrained FU" => {
            use stagger::rt::Tokio;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(timed(&Tokio, || hand::tokio_unconstrained_fu(pre())))
        }
        other => {
            eprintln!("scale: unknown cell {other:?}");
            return ExitCode::from(2);
        }
    };
    let peak = status_bytes("VmHWM:").saturating_sub(base);
    assert_eq!(result.len(), n);
    assert!(result.is_sorted());
    println!(
        "{} {} {peak} {}",
        elapsed.as_nanos(),
        longest.as_nanos(),
        wall.as_nanos()
    );
    ExitCode::SUCCESS
}

/// Awaits the future `make` creates, timing from just before its creation on
/// `clock` (the backend's own clock) and on the wall.
async fn timed<F: Future>(
    clock: &impl Sleeper,
    make: impl FnOnce() -> F,
) -> (F::Output, Duration, Duration) {
    let wall = Instant::now();
    let start = clock.now();
    let output = make().await;
    let elapsed = clock.now() - start;
    (output, elapsed, wall.elapsed())
}

#[cfg(feature = "tokio")]
fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
