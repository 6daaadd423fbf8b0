//! One cell of stagger or of its hand-written twin, run once, for
//! `benches/instructions.sh` to count its instructions under valgrind's
//! callgrind: a count that other processes on the machine cannot move.
//!
//! ```text
//! cargo bench --all-features --bench instructions -- --cell sim/stagger_wait_n --n 100000 --max-delay 0.01
//! cargo bench --all-features --bench instructions -- --list
//! ```
//!
//! Without `--cell` or `--list` it prints how to run it and exits, so that
//! `cargo bench` runs it harmlessly. Every cell draws its delays lazily,
//! inside the call, from `StdRng::seed_from_u64(0)` (stagger through its
//! `_with` forms, the twins through `rand`'s uniform distribution), reads
//! one start and sleeps each waiter until `start + delay`: the hand-written
//! code is `support/hand.rs`, the same as the `wait_n` bench's. With
//! `--n 0` a cell only sets its runtime up: the script subtracts that.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use stagger::prelude::*;
use stagger::schedule;
use stagger::sim::Sim;

#[path = "support/hand.rs"]
#[allow(dead_code)] // Not every baseline has a cell here.
mod hand;

/// The cells, each `backend/contender`; the script pairs `stagger_X` with
/// the twin named beside it in its own table.
const CELLS: &[&str] = &[
    #[cfg(feature = "tokio")]
    "tokio-ct/stagger_wait_n",
    #[cfg(feature = "tokio")]
    "tokio-ct/hand_unconstrained_fu",
    #[cfg(feature = "tokio")]
    "tokio-ct/stagger_task_wait_n",
    #[cfg(feature = "tokio")]
    "tokio-ct/hand_join_set",
    #[cfg(feature = "tokio")]
    "tokio-ct/stagger_staggered",
    #[cfg(feature = "tokio")]
    "tokio-ct/hand_fu_work",
    #[cfg(feature = "tokio")]
    "tokio-ct/stagger_ticks",
    #[cfg(feature = "tokio")]
    "tokio-ct/hand_sleep_until",
    #[cfg(feature = "async-std")]
    "async-std/stagger_wait_n",
    #[cfg(feature = "async-std")]
    "async-std/hand_fu_timer",
    #[cfg(feature = "async-std")]
    "async-std/stagger_task_wait_n",
    #[cfg(feature = "async-std")]
    "async-std/hand_spawned",
    #[cfg(feature = "async-std")]
    "async-std/stagger_staggered",
    #[cfg(feature = "async-std")]
    "async-std/hand_fu_work",
    #[cfg(feature = "async-std")]
    "async-std/stagger_ticks",
    #[cfg(feature = "async-std")]
    "async-std/hand_sleep_until",
    #[cfg(feature = "smol")]
    "smol/stagger_wait_n",
    #[cfg(feature = "smol")]
    "smol/hand_fu_timer",
    #[cfg(feature = "smol")]
    "smol/stagger_task_wait_n",
    #[cfg(feature = "smol")]
    "smol/hand_spawned",
    #[cfg(feature = "smol")]
    "smol/stagger_staggered",
    #[cfg(feature = "smol")]
    "smol/hand_fu_work",
    #[cfg(feature = "smol")]
    "smol/stagger_ticks",
    #[cfg(feature = "smol")]
    "smol/hand_sleep_until",
    "sim/stagger_wait_n",
    #[cfg(feature = "tokio")]
    "tokio-paused/hand_unconstrained_fu",
    "sim/stagger_staggered",
    "sim/hand_fu_work",
    "sim/stagger_ticks_due",
    "sim/hand_sleep_until_due",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if args.iter().any(|a| a == "--list") {
        CELLS.iter().for_each(|cell| println!("{cell}"));
        return ExitCode::SUCCESS;
    }
    let Some(cell) = flag("--cell") else {
        println!("instructions: a manual tool, run by benches/instructions.sh (see its header)");
        return ExitCode::SUCCESS;
    };
    let n: usize = flag("--n").map_or(100_000, |v| v.parse().expect("--n"));
    let max_secs: f64 = flag("--max-delay").map_or(0.0, |v| v.parse().expect("--max-delay"));
    let max = Duration::from_secs_f64(max_secs);
    match run(&cell, n, max) {
        Some(len) => {
            println!("{cell} {len}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("instructions: unknown cell {cell:?}");
            ExitCode::from(2)
        }
    }
}

/// `n` delays in `[0, max]`, drawn lazily.
fn draw(n: usize, max: Duration) -> impl ExactSizeIterator<Item = Duration> {
    let uniform = Uniform::new_inclusive(Duration::ZERO, max).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    (0..n).map(move |_| uniform.sample(&mut rng))
}

fn seeded() -> StdRng {
    StdRng::seed_from_u64(0)
}

/// Staggered work, collected as the twins collect it.
async fn staggered<S: Sleeper + Clone>(sleeper: &S, n: usize, max: Duration) -> usize {
    let mut done = stagger::staggered_with(sleeper, &mut seeded(), 0..n, max, hand::work);
    let mut out = Vec::with_capacity(n);
    while let Some(done) = done.next().await {
        black_box((done.index, done.output));
        out.push(done.delay);
    }
    out.len()
}

/// `n` ticks of one per nanosecond: every tick due when asked for (the
/// real runtimes' cells; Sim's have their own).
#[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
async fn ticks<S: Sleeper + Clone>(sleeper: &S, n: usize) -> usize {
    let flood = schedule::constant(schedule::Rate::every(Duration::from_nanos(1)).unwrap()).take(n);
    let mut ticks = schedule::ticks(sleeper, flood);
    let mut count = 0;
    while let Some(tick) = ticks.next().await {
        black_box(tick);
        count += 1;
    }
    count
}

/// Runs `cell`; the number of items it returned, `None` if there is no
/// such cell.
fn run(cell: &str, n: usize, max: Duration) -> Option<usize> {
    let (backend, contender) = cell.split_once('/')?;
    match backend {
        #[cfg(feature = "tokio")]
        "tokio-ct" | "tokio-paused" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(backend == "tokio-paused")
                .build()
                .unwrap();
            let tokio = &stagger::rt::Tokio;
            Some(match contender {
                "stagger_wait_n" => rt
                    .block_on(stagger::wait_n_with(tokio, &mut seeded(), n, max))
                    .len(),
                "stagger_task_wait_n" => rt
                    .block_on(stagger::task_wait_n_with(tokio, &mut seeded(), n, max))
                    .len(),
                "stagger_staggered" => rt.block_on(staggered(tokio, n, max)),
                "stagger_ticks" => rt.block_on(ticks(tokio, n)),
                "hand_unconstrained_fu" => rt
                    .block_on(hand::tokio_unconstrained_fu(draw(n, max)))
                    .len(),
                "hand_join_set" => rt.block_on(hand::tokio_join_set(draw(n, max))).len(),
                "hand_fu_work" => rt.block_on(hand::tokio_fu_work(draw(n, max))).len(),
                "hand_sleep_until" => rt.block_on(async {
                    let start = tokio::time::Instant::now();
                    for i in 0..n as u32 {
                        tokio::time::sleep_until(start + Duration::from_nanos(1) * i).await;
                        black_box(i);
                    }
                    n
                }),
                _ => return None,
            })
        }
        #[cfg(feature = "async-std")]
        "async-std" => async_io(&stagger::rt::AsyncStd, contender, n, max),
        #[cfg(feature = "smol")]
        "smol" => async_io(&stagger::rt::Smol, contender, n, max),
        "sim" => {
            let sim = Sim::new();
            Some(match contender {
                "stagger_wait_n" => sim
                    .block_on(stagger::wait_n_with(&sim, &mut seeded(), n, max))
                    .len(),
                "stagger_staggered" => sim.block_on(staggered(&sim, n, max)),
                "hand_fu_work" => sim
                    .block_on(hand::sleeper_fu_work(&sim, draw(n, max)))
                    .len(),
                "stagger_ticks_due" => sim.block_on(async {
                    let due = std::iter::repeat_n(Duration::ZERO, n);
                    let mut ticks = schedule::ticks(&sim, due);
                    let mut count = 0;
                    while let Some(tick) = ticks.next().await {
                        black_box(tick);
                        count += 1;
                    }
                    count
                }),
                "hand_sleep_until_due" => sim.block_on(async {
                    let start = sim.now();
                    for offset in std::iter::repeat_n(Duration::ZERO, n) {
                        sim.sleep_until(start + offset).await;
                        black_box(offset);
                    }
                    n
                }),
                _ => return None,
            })
        }
        _ => None,
    }
}

#[cfg(any(feature = "async-std", feature = "smol"))]
fn async_io<R>(rt: &R, contender: &str, n: usize, max: Duration) -> Option<usize>
where
    R: Runtime + Clone + hand::Spawner,
{
    Some(match contender {
        "stagger_wait_n" => rt
            .block_on(stagger::wait_n_with(rt, &mut seeded(), n, max))
            .len(),
        "stagger_task_wait_n" => rt
            .block_on(stagger::task_wait_n_with(rt, &mut seeded(), n, max))
            .len(),
        "stagger_staggered" => rt.block_on(staggered(rt, n, max)),
        "stagger_ticks" => rt.block_on(ticks(rt, n)),
        "hand_fu_timer" => rt.block_on(hand::timers(draw(n, max))).len(),
        "hand_spawned" => rt.block_on(hand::spawned::<R>(draw(n, max))).len(),
        "hand_fu_work" => rt.block_on(hand::timers_work(draw(n, max))).len(),
        "hand_sleep_until" => rt.block_on(async {
            let start = std::time::Instant::now();
            for i in 0..n as u32 {
                async_io::Timer::at(start + Duration::from_nanos(1) * i).await;
                black_box(i);
            }
            n
        }),
        _ => return None,
    })
}
