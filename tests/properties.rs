//! Property tests: on Sim over many seeds, sizes and delays (exact, virtual
//! time), and a few cases on each real backend with tiny delays.

use std::time::Duration;

use futures::StreamExt;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use stagger::sim::Sim;
use stagger::{Runtime, Sleeper, Spawn};

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
            .map(|done| {
                // The `Done`'s own instants: what the closure read, exactly.
                assert_eq!(done.intended, start + done.delay);
                assert_eq!(done.started - start, done.output);
                (done.index, done.delay, done.output, sim.now() - start)
            })
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

// ===== schedules =====

use stagger::schedule::{self, Missed, Rate, RateReason};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn constant_offsets_are_exactly_i_periods(period_ns in 1u64..=10_000_000_000, start in 0u64..=1_000_000_000) {
        let period = Duration::from_nanos(period_ns);
        let rate = Rate::every(period).unwrap();
        let offsets: Vec<_> = schedule::constant(rate).skip(start as usize % 1000).take(100).collect();
        for (k, offset) in offsets.iter().enumerate() {
            let i = (start % 1000) as u128 + k as u128;
            prop_assert_eq!(offset.as_nanos(), i * u128::from(period_ns));
        }
    }

    #[test]
    fn constant_per_sec_offsets_are_i_over_rate(per_sec in 1u32..=1_000_000, i in 0u64..=1_000_000_000) {
        // Integer rates: offset i is i / rate, computed from i, however far
        // along: to the nearest nanosecond when the period is a whole number
        // of attoseconds, within one nanosecond in a billion periods else.
        let rate = Rate::per_sec(f64::from(per_sec)).unwrap();
        let offset = schedule::constant(rate).nth(i as usize).unwrap().as_nanos();
        let exact = u128::from(i) * 1_000_000_000;
        let want = (exact + u128::from(per_sec) / 2) / u128::from(per_sec);
        if 1_000_000_000_000_000_000 % u128::from(per_sec) == 0 {
            prop_assert_eq!(offset, want);
        } else {
            prop_assert!(offset.abs_diff(want) <= 1, "{} vs {}", offset, want);
        }
    }

    #[test]
    fn spread_is_sorted_within_its_window(seed: u64, n in 0usize..=5_000, window_ms in 0u64..=1_000_000) {
        let window = Duration::from_millis(window_ms);
        let offsets: Vec<_> = schedule::spread(n, window, &mut StdRng::seed_from_u64(seed)).collect();
        prop_assert_eq!(offsets.len(), n);
        prop_assert!(offsets.is_sorted());
        prop_assert!(offsets.iter().all(|&o| o <= window));
        let again: Vec<_> = schedule::spread(n, window, &mut StdRng::seed_from_u64(seed)).collect();
        prop_assert_eq!(offsets, again);
    }

    #[test]
    fn sim_ticks_fire_exactly_and_deterministically(seed: u64, per_sec in 1.0f64..=100_000.0, n in 0usize..=2_000) {
        let fire = || {
            let sim = Sim::new();
            let arrivals = schedule::poisson(Rate::per_sec(per_sec).unwrap(), StdRng::seed_from_u64(seed)).take(n);
            let ticks = schedule::ticks(&sim, arrivals);
            let start = ticks.start();
            let got: Vec<_> = sim.block_on(ticks.collect());
            got.iter().map(|t| (t.index, t.intended - start, t.fired - start)).collect::<Vec<_>>()
        };
        let got = fire();
        prop_assert_eq!(got.len(), n);
        for &(index, intended, fired) in &got {
            // Virtual time: every tick fires exactly when intended.
            prop_assert_eq!(intended, fired, "tick {}", index);
        }
        prop_assert_eq!(got, fire());
    }
}

#[test]
fn poisson_gaps_have_the_rate_s_mean() {
    // 100 000 gaps at 250 per second: mean 4 ms; an exponential's standard
    // deviation equals its mean, so the sample mean is within 1 % (2.5
    // standard errors) with a fixed seed, and the share of gaps over the
    // mean is e⁻¹.
    let rate = Rate::per_sec(250.0).unwrap();
    let arrivals: Vec<_> = schedule::poisson(rate, StdRng::seed_from_u64(7))
        .take(100_000)
        .collect();
    let mut gaps = Vec::with_capacity(arrivals.len());
    let mut last = Duration::ZERO;
    for &at in &arrivals {
        assert!(at >= last, "not ascending");
        gaps.push((at - last).as_secs_f64());
        last = at;
    }
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!((mean - 0.004).abs() < 0.004 * 0.01, "mean gap {mean}");
    let over = gaps.iter().filter(|&&g| g > 0.004).count() as f64 / gaps.len() as f64;
    assert!((over - (-1f64).exp()).abs() < 0.01, "{over} over the mean");
}

#[test]
fn rates_are_validated() {
    let table: [(f64, Result<Duration, RateReason>); 9] = [
        (1000.0, Ok(Duration::from_millis(1))),
        (2e9, Ok(Duration::from_nanos(1))),
        (0.5, Ok(Duration::from_secs(2))),
        (f64::NAN, Err(RateReason::NotANumber)),
        (f64::INFINITY, Err(RateReason::Infinite)),
        (0.0, Err(RateReason::NotPositive)),
        (-5.0, Err(RateReason::NotPositive)),
        (3e9, Err(RateReason::TooFast)),
        (1e-30, Err(RateReason::TooSlow)),
    ];
    for (per_sec, want) in table {
        match (Rate::per_sec(per_sec), want) {
            (Ok(rate), Ok(period)) => assert_eq!(rate.period(), period, "{per_sec}"),
            (Err(err), Err(reason)) => {
                assert_eq!(err.reason(), reason, "{per_sec}");
                assert!(err.per_sec().unwrap().is_nan() || err.per_sec() == Some(per_sec));
                assert!(err.to_string().starts_with("invalid rate of "), "{err}");
            }
            (got, want) => panic!("{per_sec}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(
        Rate::every(Duration::ZERO).unwrap_err().reason(),
        RateReason::TooFast
    );
    assert_eq!(Rate::every(Duration::MAX).unwrap().period(), Duration::MAX);
    // Messages name the value as written.
    assert_eq!(
        Rate::per_sec(-2.5e-7).unwrap_err().to_string(),
        "invalid rate of -2.5e-7 per second: not positive"
    );
}

#[test]
fn sim_missed_policies_are_exact() {
    // Ticks every second; after tick 0 the consumer stalls 3.5 s.
    let run = |missed| {
        let sim = Sim::new();
        let every = schedule::constant(Rate::every(Duration::from_secs(1)).unwrap()).take(8);
        let mut ticks = schedule::ticks(&sim, every).missed(missed);
        let start = ticks.start();
        let got = sim.block_on(async {
            let mut got = vec![ticks.next().await.unwrap()];
            sim.sleep(Duration::from_millis(3500)).await;
            while let Some(tick) = ticks.next().await {
                got.push(tick);
            }
            got
        });
        let secs = |at: std::time::Instant| (at - start).as_secs_f64();
        let got: Vec<_> = got
            .iter()
            .map(|t| (t.index, secs(t.intended), secs(t.fired)))
            .collect();
        (got, ticks.skipped())
    };
    let (burst, _) = run(Missed::Burst);
    assert_eq!(
        burst,
        [
            (0, 0.0, 0.0),
            (1, 1.0, 3.5),
            (2, 2.0, 3.5),
            (3, 3.0, 3.5),
            (4, 4.0, 4.0),
            (5, 5.0, 5.0),
            (6, 6.0, 6.0),
            (7, 7.0, 7.0)
        ]
    );
    // tokio's Skip: the late tick itself, then the next one after the stall.
    let (skip, skipped) = run(Missed::Skip);
    assert_eq!(
        skip,
        [
            (0, 0.0, 0.0),
            (1, 1.0, 3.5),
            (4, 4.0, 4.0),
            (5, 5.0, 5.0),
            (6, 6.0, 6.0),
            (7, 7.0, 7.0)
        ]
    );
    assert_eq!(skipped, 2);
    // The latest due, the ones it overtook dropped.
    let (latest, skipped) = run(Missed::Latest);
    assert_eq!(
        latest,
        [
            (0, 0.0, 0.0),
            (3, 3.0, 3.5),
            (4, 4.0, 4.0),
            (5, 5.0, 5.0),
            (6, 6.0, 6.0),
            (7, 7.0, 7.0)
        ]
    );
    assert_eq!(skipped, 2);
    let (delay, _) = run(Missed::Delay);
    assert_eq!(
        delay,
        [
            (0, 0.0, 0.0),
            (1, 1.0, 3.5),
            (2, 4.5, 4.5),
            (3, 5.5, 5.5),
            (4, 6.5, 6.5),
            (5, 7.5, 7.5),
            (6, 8.5, 8.5),
            (7, 9.5, 9.5)
        ]
    );
}

// ===== Sim traces =====

/// Spawned tasks sleeping in loops, a fan-out and a retry loop, all drawing
/// from the simulation's generators: about 10 000 events.
fn mixed_program(sim: &Sim) -> usize {
    use rand::RngExt;
    let workers: Vec<_> = (0..100)
        .map(|_| {
            let (clock, mut rng) = (sim.clone(), sim.rng());
            sim.spawn(async move {
                for _ in 0..50 {
                    clock
                        .sleep(Duration::from_micros(rng.random_range(1..5_000)))
                        .await;
                }
            })
        })
        .collect();
    let mut rng = sim.rng();
    sim.block_on(async {
        let delays = stagger::wait_n_with(sim, &mut rng, 4_000, Duration::from_secs(2)).await;
        let jitter = stagger::jitter::FullJitter::new(Duration::from_millis(100));
        let mut retries = 0;
        while retries < 1_000 {
            stagger::wait_random_from(sim, &mut rng, jitter).await;
            retries += 1;
        }
        futures::future::join_all(workers).await;
        delays.len() + retries
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn sim_traces_replay_from_a_seed(seed: u64) {
        let sim = Sim::builder().seed(seed).trace(true).build();
        mixed_program(&sim);
        prop_assert!(sim.trace().len() >= 10_000, "{} events", sim.trace().len());
        // Panics, naming the first divergent event, if a run differs.
        stagger::sim::assert_deterministic(seed, mixed_program);
    }
}

#[test]
fn skip_drops_no_tick_of_the_same_instant() {
    // Jitter moves offsets up to their predecessors: ties by design. A
    // consumer that keeps up on Sim loses none of them under Skip or
    // Latest.
    let sim = Sim::new();
    let every = schedule::constant(Rate::every(Duration::from_millis(10)).unwrap()).take(200);
    let jitter = stagger::jitter::FullJitter::new(Duration::from_millis(30));
    let jittered = || schedule::jittered(every.clone(), jitter, StdRng::seed_from_u64(3));
    let offsets: Vec<_> = jittered().collect();
    assert!(offsets.windows(2).any(|w| w[0] == w[1]), "no ties to test");
    for missed in [Missed::Skip, Missed::Latest] {
        let mut ticks = schedule::ticks(&sim, jittered()).missed(missed);
        assert_eq!(futures::Stream::size_hint(&ticks), (0, Some(200)));
        let got: Vec<_> = sim.block_on(ticks.by_ref().collect());
        assert_eq!(got.len(), 200);
        assert_eq!(ticks.skipped(), 0);
    }
}

/// A consumer of `ticks` on Sim that stalls after some ticks: the ticks it
/// got (index, intended and fired, from the start) and the count skipped.
fn stalling<I: Iterator<Item = Duration>>(
    sim: &Sim,
    mut ticks: schedule::Ticks<Sim, I>,
    stalls: &[(u8, u64)],
) -> (Vec<(usize, Duration, Duration)>, u64) {
    let start = ticks.start();
    let got = sim.block_on(async {
        let mut got = Vec::new();
        for &(take, stall) in stalls {
            for _ in 0..take {
                let tick = ticks.next().await.unwrap();
                got.push((tick.index, tick.intended - start, tick.fired - start));
            }
            sim.sleep(Duration::from_nanos(stall)).await;
        }
        got
    });
    (got, ticks.skipped())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn interval_catches_up_as_stepping_does(
        period_ns in 1u64..=1_000_000,
        stalls in proptest::collection::vec((0u8..4, 0u64..=50_000_000), 1..8),
    ) {
        // `interval` computes where Skip and Latest land; `ticks` of the
        // same constant schedule steps there. Same ticks, same counts.
        let rate = Rate::every(Duration::from_nanos(period_ns)).unwrap();
        for missed in [Missed::Skip, Missed::Latest, Missed::Delay, Missed::Burst] {
            let sim = Sim::new();
            let stepping = schedule::ticks(&sim, schedule::constant(rate)).missed(missed);
            let want = stalling(&sim, stepping, &stalls);
            let sim = Sim::new();
            let computed = schedule::interval(&sim, rate).missed(missed);
            prop_assert_eq!(stalling(&sim, computed, &stalls), want, "{:?}", missed);
        }
    }
}

/// Stages from `(from, to, millis)` triples.
fn stages_of(spec: &[(f64, f64, u64)]) -> Vec<stagger::schedule::Stage> {
    spec.iter()
        .map(|&(from, to, ms)| {
            stagger::schedule::Stage::ramp(from, to, Duration::from_millis(ms)).unwrap()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any stages, zero rates and empty stages included: ascending offsets
    /// within the stages' total duration, as many as the rate's integral
    /// (arrivals 0, 1, … below it), and each stage's arrivals inside it.
    #[test]
    fn staged_offsets_follow_the_integral(
        spec in proptest::collection::vec((0.0f64..2_000.0, 0.0f64..2_000.0, 0u64..=3_000), 0..6),
    ) {
        let stages = stages_of(&spec);
        let offsets: Vec<_> = stagger::schedule::staged(stages.clone()).collect();
        prop_assert!(offsets.is_sorted(), "not ascending");
        let total: Duration = stages.iter().map(|s| s.duration()).sum();
        prop_assert!(offsets.iter().all(|&at| at <= total));
        let area: f64 = stages.iter().map(|s| s.arrivals()).sum();
        let expected = area.ceil();
        prop_assert!(
            (offsets.len() as f64 - expected).abs() <= 1.0,
            "{} arrivals for an integral of {area}", offsets.len()
        );
        // The arrivals of each stage: those whose index is below the
        // integral to its end and at or above the integral to its start.
        let (mut before, mut start) = (0.0, Duration::ZERO);
        for stage in &stages {
            let end = start + stage.duration();
            for (i, &at) in offsets.iter().enumerate() {
                let i = i as f64;
                // Away from the stage's edges by a hair: float sums decide those.
                if i > before + 1e-6 && i + 1e-6 < before + stage.arrivals() {
                    prop_assert!(start <= at && at <= end, "arrival {i} at {at:?} outside {start:?}..{end:?}");
                }
            }
            before += stage.arrivals();
            start = end;
        }
    }

    /// Any schedule split `n` ways: the segments are disjoint and their
    /// union, by global index, is the schedule.
    #[test]
    fn segments_union_to_the_schedule(seed: u64, n in 1usize..=8, len in 0usize..=500) {
        use stagger::schedule::{self, Rate, Segment};
        let whole: Vec<_> = schedule::poisson(Rate::per_sec(100.0).unwrap(), StdRng::seed_from_u64(seed))
            .take(len)
            .collect();
        let mut union = Vec::new();
        for i in 0..n {
            let seg = Segment::new(i, n).unwrap();
            let share: Vec<_> = schedule::segment(whole.iter().copied(), seg).collect();
            prop_assert_eq!(share.len(), (0..len).filter(|j| seg.contains(*j)).count());
            union.extend(share.into_iter().enumerate().map(|(k, at)| (seg.global_index(k).unwrap(), at)));
        }
        union.sort();
        prop_assert_eq!(union, whole.into_iter().enumerate().collect::<Vec<_>>());
    }
}
