//! Property tests: on Sim over many seeds, sizes and delays (exact, virtual
//! time), and a few cases on each real backend with tiny delays.

use std::time::Duration;

use futures::StreamExt;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use stagger::sim::Sim;
use stagger::{Runtime, Sleeper};

/// Length, bounds and order of one `wait_n` / `task_wait_n` result.
fn check(delays: &[Duration], n: usize, max: Duration) -> Result<(), TestCaseError> {
    prop_assert_eq!(delays.len(), n);
    prop_assert!(delays.iter().all(|&d| d <= max), "out of bounds");
    prop_assert!(delays.is_sorted(), "not ascending");
    Ok(())
}

/// Every delay with its virtual completion time, in completion order.
fn completions(seed: u64, n: usize, max: Duration) -> Vec<(Duration, Duration)> {
    let sim = Sim::new();
    let mut stream = stagger::as_completed_with(&sim, &mut StdRng::seed_from_u64(seed), n, max);
    sim.block_on(async {
        let mut seen = Vec::with_capacity(n);
        while let Some(delay) = stream.next().await {
            seen.push((delay, sim.elapsed()));
        }
        seen
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sim_wait_n(seed: u64, n in 0usize..=5_000, max_ms in 0u64..=864_000_000) {
        let max = Duration::from_millis(max_ms);
        let sim = Sim::new();
        let delays = sim.block_on(stagger::wait_n_with(&sim, &mut StdRng::seed_from_u64(seed), n, max));
        check(&delays, n, max)?;
        // Virtual time is exact: the call took exactly its longest delay.
        prop_assert_eq!(sim.elapsed(), delays.last().copied().unwrap_or_default());
        // task_wait_n draws the same delays from the same seed.
        let sim = Sim::new();
        let spawned = sim.block_on(stagger::task_wait_n_with(&sim, &mut StdRng::seed_from_u64(seed), n, max));
        prop_assert_eq!(&spawned, &delays);
        let m = stagger::measure_time_with(&Sim::new(), &mut StdRng::seed_from_u64(seed), n, max);
        prop_assert_eq!(m.total, m.longest);
        prop_assert_eq!(m.lateness, Duration::ZERO);
    }

    #[test]
    fn sim_staggered(seed: u64, n in 0usize..=2_000, max_ms in 0u64..=60_000, spawned: bool) {
        let max = Duration::from_millis(max_ms);
        let run = staggered_run(seed, n, max, spawned);
        // One `Done` per item: the indices are a permutation of 0..n.
        let mut indices: Vec<_> = run.iter().map(|r| r.0).collect();
        indices.sort_unstable();
        prop_assert_eq!(indices, (0..n).collect::<Vec<_>>());
        for &(index, delay, started, finished) in &run {
            prop_assert!(delay <= max);
            // Virtual time is exact: the work started at its delay, and
            // finished `index % 3` ms later.
            prop_assert_eq!(started, delay);
            prop_assert_eq!(finished, delay + Duration::from_millis(index as u64 % 3));
        }
        // Determinism: the same run, event for event; and the same
        // `(index, delay)` pairs inline and spawned.
        prop_assert_eq!(&run, &staggered_run(seed, n, max, spawned));
        let mut pairs: Vec<_> = run.iter().map(|r| (r.0, r.1)).collect();
        let mut other: Vec<_> = staggered_run(seed, n, max, !spawned).iter().map(|r| (r.0, r.1)).collect();
        pairs.sort_unstable();
        other.sort_unstable();
        prop_assert_eq!(pairs, other);
    }

    #[test]
    fn sim_is_deterministic(seed: u64, n in 0usize..=2_000, max_ms in 0u64..=60_000) {
        let max = Duration::from_millis(max_ms);
        let first = completions(seed, n, max);
        // Same delays, same completion order, same virtual timestamps.
        prop_assert_eq!(&first, &completions(seed, n, max));
        // Each waiter completes exactly at its deadline, so in order.
        for &(delay, at) in &first {
            prop_assert_eq!(at, delay);
        }
        prop_assert!(first.is_sorted());
    }
}

/// Runs `staggered` (or `task_staggered`) on a fresh Sim: every `Done`, in
/// completion order, with the virtual time its work started and finished.
fn staggered_run(
    seed: u64,
    n: usize,
    max: Duration,
    spawned: bool,
) -> Vec<(usize, Duration, Duration, Duration)> {
    let sim = Sim::new();
    let start = sim.now();
    let clock = sim.clone();
    // The work: note when it started, take `index % 3` ms, return that.
    let work = move |i: usize| {
        let started = clock.now() - start;
        let sleep = clock.sleep(Duration::from_millis(i as u64 % 3));
        async move {
            sleep.await;
            started
        }
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let stream = if spawned {
        stagger::task_staggered_with(&sim, &mut rng, 0..n, max, work).boxed()
    } else {
        stagger::staggered_with(&sim, &mut rng, 0..n, max, work).boxed()
    };
    sim.block_on(
        stream
            .map(|done| (done.index, done.delay, done.output, sim.now() - start))
            .collect(),
    )
}

/// A few cases on a real backend, with delays of at most 3 ms.
#[allow(dead_code)] // Unused when no backend feature is enabled.
fn real<R>(rt: &R, seed: u64, n: usize, max_us: u64) -> Result<(), TestCaseError>
where
    R: Runtime<Sleep: Send + 'static> + Clone,
{
    let max = Duration::from_micros(max_us);
    let mut rng = StdRng::seed_from_u64(seed);
    let inline = rt.block_on(stagger::wait_n_with(rt, &mut rng, n, max));
    check(&inline, n, max)?;
    let spawned = rt.block_on(stagger::task_wait_n_with(rt, &mut rng, n, max));
    check(&spawned, n, max)
}

macro_rules! real_backends {
    ($($(#[$attr:meta])* $name:ident => $rt:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(6))]
            $(
                $(#[$attr])*
                #[test]
                fn $name(seed: u64, n in 0usize..=300, max_us in 0u64..=3_000) {
                    real(&$rt, seed, n, max_us)?;
                }
            )*
        }
    };
}

real_backends! {
    #[cfg(feature = "tokio")]
    tokio => stagger::rt::Tokio;
    #[cfg(feature = "async-std")]
    async_std => stagger::rt::AsyncStd;
    #[cfg(feature = "smol")]
    smol => stagger::rt::Smol;
}
