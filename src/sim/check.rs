//! A seed-sweeping test runner: [`check`] runs a test body on a fresh
//! seeded [`Sim`] for many seeds, and names the first seed that fails.

use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::builder::{Replay, env_seed};
use super::report::Quiet;
use super::trace::difference;
use super::{Sim, SimBuilder};
use crate::Runtime;

/// The environment variable that sets how many seeds [`check`] runs.
pub const SEEDS_VAR: &str = "STAGGER_SEEDS";

/// How many seeds [`check`] runs when neither the environment nor
/// [`Check::seeds`] says otherwise: as many cases as proptest runs.
pub const DEFAULT_SEEDS: u64 = 256;

/// The most seeds one run of [`check`] takes (2³²): more is a typo, or a
/// run that would not end today.
pub const MAX_SEEDS: u64 = 1 << 32;

/// What a test body may return for [`check`]: `()`, or a `Result` whose
/// `Err` fails the seed (as `#[test]` functions may return a `Result`).
pub trait Outcome {
    /// The failure, described, if this outcome is one.
    fn failure(self) -> Option<String>;
}

impl Outcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Debug> Outcome for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|err| format!("Err({err:?})"))
    }
}

/// Runs the async test `body` on a fresh seeded [`Sim`] for every seed, and
/// stops at the first that fails: [`Check::new`]`.run(body)`.
///
/// `body` gets the simulation and returns the future to run on it
/// (`|sim| async move { ... }`); the runner drives that future with
/// [`block_on`](crate::Runtime::block_on), so the body may spawn tasks,
/// sleep and step time like any code on a `Sim`. It fails a seed by
/// panicking (an `assert!`) or by returning an `Err` (see [`Outcome`]).
///
/// Which seeds run, from the environment first:
///
/// - `STAGGER_SEED=n`: exactly seed `n` (decimal or `0x` hex), to replay a
///   failure;
/// - `STAGGER_SEEDS=count`: seeds `0` to `count - 1`, from 1 to
///   [`MAX_SEEDS`];
/// - neither: seeds `0` to [`DEFAULT_SEEDS`]` - 1` (or
///   [`Check::seeds`] / [`Check::first`]).
///
/// The seeds are the same on every run unless the environment says
/// otherwise, so a test that passes keeps passing; raise `STAGGER_SEEDS` to
/// explore further. A failure prints, on stderr, the seed, how many seeds
/// ran, the virtual time it happened at and the command that replays it:
///
/// ```text
/// stagger::sim::check: seed 173 failed, the 174th of 256 seeds (0 to 255), at virtual
/// time 93.57s; seed 173; replay: STAGGER_SEED=173 cargo test -- --exact lease::renews (...)
/// ```
///
/// Each run takes about as long as the body on its `Sim`; the fresh `Sim`
/// itself costs a few microseconds per seed.
///
/// # Panics
///
/// - When `body` panics on a seed: after the report, with the body's own
///   payload, so `#[should_panic(expected = ...)]` still matches. A body
///   that waits forever is a [`Sim`] deadlock, which panics naming the seed;
///   the report adds how many seeds ran. (A body that keeps running without
///   ever waiting cannot be told from a slow one: the runner cannot stop
///   it.)
/// - When `body` returns an `Err` on a seed (or, checking determinism, when
///   its two runs differ): the message says so, then gives the report.
/// - When `STAGGER_SEED` or `STAGGER_SEEDS` is set but not valid (not a
///   number, `STAGGER_SEEDS=0`, more than [`MAX_SEEDS`]), naming the
///   variable and its value.
///
/// # Examples
///
/// A property that holds on every seed: a jittered sleep of up to 10 s never
/// takes longer than that.
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// stagger::sim::check(|sim: Sim| async move {
///     let start = sim.now();
///     let delay = stagger::wait_random_with(&sim, &mut sim.rng(), Duration::from_secs(10)).await;
///     assert_eq!(sim.now() - start, delay);
///     assert!(delay <= Duration::from_secs(10));
/// });
/// ```
///
/// A body that returns a `Result` and spawns tasks:
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// stagger::sim::check(|sim: Sim| async move {
///     let delays = stagger::task_wait_n_with(&sim, &mut sim.rng(), 10, Duration::from_secs(1)).await;
///     if sim.elapsed() != delays[9] {
///         return Err(format!("ended at {:?}, not at {:?}", sim.elapsed(), delays[9]));
///     }
///     Ok(())
/// });
/// ```
#[track_caller]
pub fn check<F, Fut>(body: F)
where
    F: FnMut(Sim) -> Fut,
    Fut: Future,
    Fut::Output: Outcome,
{
    Check::new().run(body);
}

/// A configured seed sweep: how many seeds, from which, on what kind of
/// [`Sim`], and whether to check each seed's run for determinism.
///
/// The environment still wins: `STAGGER_SEED` runs exactly one seed,
/// `STAGGER_SEEDS` sets the count, whatever the code says, so that the line
/// a failure prints replays it and CI can sweep further.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::{Check, Sim};
///
/// Check::new()
///     .seeds(50)
///     .deterministic(true) // run each seed twice and compare the traces
///     .sim(Sim::builder().start_paused(true))
///     .run(|sim: Sim| async move {
///         let tick = sim.spawn(sim.sleep(Duration::from_secs(5)));
///         sim.advance(Duration::from_secs(5)).await;
///         assert!(tick.is_finished());
///     });
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Check does nothing until `run` is called"]
pub struct Check {
    first: u64,
    count: u64,
    deterministic: bool,
    builder: SimBuilder,
}

impl Default for Check {
    fn default() -> Self {
        Check::new()
    }
}

impl Check {
    /// Seeds `0` to [`DEFAULT_SEEDS`]` - 1`, each once, on [`Sim::new`]'s
    /// kind of simulation.
    pub fn new() -> Self {
        Check {
            first: 0,
            count: DEFAULT_SEEDS,
            deterministic: false,
            builder: SimBuilder::default(),
        }
    }

    /// How many seeds to run when `STAGGER_SEEDS` is not set.
    ///
    /// # Panics
    ///
    /// Panics if `count` is 0 or more than [`MAX_SEEDS`].
    #[track_caller]
    pub fn seeds(mut self, count: u64) -> Self {
        assert!(
            (1..=MAX_SEEDS).contains(&count),
            "stagger::sim::Check::seeds({count}): give a count from 1 to {MAX_SEEDS}"
        );
        self.count = count;
        self
    }

    /// The first seed of the sweep (0 by default); the seeds after it follow
    /// in order, wrapping after `u64::MAX`.
    pub fn first(mut self, seed: u64) -> Self {
        self.first = seed;
        self
    }

    /// Runs each seed twice, on traced simulations, and fails the seed if
    /// the two runs differ, as [`assert_deterministic`](super::assert_deterministic)
    /// does: it finds draws that no seed fixes, real clocks and races.
    pub fn deterministic(mut self, yes: bool) -> Self {
        self.deterministic = yes;
        self
    }

    /// Builds each seed's simulation from `builder` (to start paused, or
    /// keep a trace); its seed is replaced by the seed of the run.
    pub fn sim(mut self, builder: SimBuilder) -> Self {
        self.builder = builder;
        self
    }

    /// Runs `body` on every seed, stopping at the first that fails; see
    /// [`check`].
    ///
    /// # Panics
    ///
    /// As [`check`] does.
    #[track_caller]
    pub fn run<F, Fut>(&self, mut body: F)
    where
        F: FnMut(Sim) -> Fut,
        Fut: Future,
        Fut::Output: Outcome,
    {
        let (first, count) = self.sweep();
        for i in 0..count {
            let seed = first.wrapping_add(i);
            let Err(failed) = self.run_seed(seed, &mut body) else {
                continue;
            };
            let report = Report {
                seed,
                i,
                first,
                count,
                elapsed: failed.elapsed,
            };
            match failed.how {
                How::Panicked(payload) => {
                    eprintln!("{report}");
                    resume_unwind(payload);
                }
                How::Returned(failure) => panic!("the body returned {failure}\n{report}"),
                How::Diverged(difference) => panic!("not deterministic: {difference}\n{report}"),
            }
        }
    }

    /// The first seed and how many, the environment first.
    #[track_caller]
    fn sweep(&self) -> (u64, u64) {
        // `var_os`: a value that is not Unicode is set, and no count.
        let count = match std::env::var_os(SEEDS_VAR) {
            Some(value) => parse_count(value.to_str().unwrap_or_default())
                .unwrap_or_else(|why| panic!("stagger::sim::check: {SEEDS_VAR}={value:?} {why}")),
            None => self.count,
        };
        match env_seed("stagger::sim::check: ") {
            Some(seed) => (seed, 1),
            None => (self.first, count),
        }
    }

    /// Runs `body` on `seed` (twice, when checking determinism).
    fn run_seed<F, Fut>(&self, seed: u64, body: &mut F) -> Result<(), Failed>
    where
        F: FnMut(Sim) -> Fut,
        Fut: Future,
        Fut::Output: Outcome,
    {
        let mut builder = self.builder.clone().seed(seed);
        if self.deterministic {
            builder = builder.trace(true);
        }
        let first = run_once(&builder, body)?;
        if self.deterministic {
            let second = run_once(&builder, body)?;
            if let Some(difference) = difference(&first.1, &second.1) {
                return Err(Failed {
                    elapsed: first.0,
                    how: How::Diverged(difference),
                });
            }
        }
        Ok(())
    }
}

/// Runs `body` once on a simulation from `builder`: its virtual time at the
/// end, and its trace.
fn run_once<F, Fut>(builder: &SimBuilder, body: &mut F) -> Result<(Duration, Trace), Failed>
where
    F: FnMut(Sim) -> Fut,
    Fut: Future,
    Fut::Output: Outcome,
{
    let sim = builder.build();
    // The runner reports this simulation's failures itself, with more.
    let quiet = Quiet::new(sim.inner());
    let outcome = catch_unwind(AssertUnwindSafe(|| sim.block_on(body(sim.clone()))));
    drop(quiet);
    let elapsed = sim.elapsed();
    let how = match outcome {
        Ok(outcome) => match outcome.failure() {
            None => return Ok((elapsed, sim.trace())),
            Some(failure) => How::Returned(failure),
        },
        Err(payload) => How::Panicked(payload),
    };
    Err(Failed { elapsed, how })
}

type Trace = Vec<(Duration, super::Event)>;

/// A seed that failed: when, and how.
struct Failed {
    elapsed: Duration,
    how: How,
}

enum How {
    Panicked(Box<dyn std::any::Any + Send>),
    Returned(String),
    Diverged(String),
}

/// `STAGGER_SEEDS` as a count, or why it is not one.
fn parse_count(value: &str) -> Result<u64, String> {
    let range = format!("give a whole number from 1 to {MAX_SEEDS}");
    match value.trim().parse::<u64>() {
        Ok(0) => Err(format!("runs no seeds: {range}")),
        Ok(count) if count > MAX_SEEDS => Err(format!("is too many seeds: {range}")),
        Ok(count) => Ok(count),
        Err(_) if !value.trim().is_empty() && value.trim().bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("is too many seeds: {range}"))
        }
        Err(_) => Err(format!("is not a count of seeds: {range}")),
    }
}

/// What the runner says about a failing seed.
struct Report {
    seed: u64,
    /// How many seeds passed before it.
    i: u64,
    first: u64,
    count: u64,
    elapsed: Duration,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Report {
            seed,
            i,
            first,
            count,
            elapsed,
        } = *self;
        write!(f, "stagger::sim::check: seed {seed} failed, ")?;
        if count == 1 {
            write!(f, "the only seed run")?;
        } else {
            let last = first.wrapping_add(count - 1);
            write!(f, "the {} of {count} seeds ({first} to {last})", Nth(i + 1))?;
        }
        write!(f, ", at virtual time {elapsed:?}; {}", Replay(seed))
    }
}

/// An ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st...
struct Nth(u64);

impl fmt::Display for Nth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        write!(f, "{n}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_count("1"), Ok(1));
        assert_eq!(parse_count(" 1000 "), Ok(1000));
        assert_eq!(parse_count("4294967296"), Ok(MAX_SEEDS));
        assert!(parse_count("0").unwrap_err().contains("runs no seeds"));
        assert!(parse_count("4294967297").unwrap_err().contains("too many"));
        assert!(
            parse_count("99999999999999999999999")
                .unwrap_err()
                .contains("too many")
        );
        for bad in ["", "ten", "-1", "1e6", "0x10"] {
            assert!(
                parse_count(bad).unwrap_err().contains("not a count"),
                "{bad}"
            );
        }
    }

    #[test]
    fn ordinals() {
        let nth = |n| Nth(n).to_string();
        assert_eq!(
            [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(nth),
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}
