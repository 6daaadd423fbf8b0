//! Making a [`Sim`]: its seed, whether it starts paused, whether it keeps
//! a trace; and the generators its seed hands out.

use core::fmt;
use std::sync::atomic::Ordering;

use rand::Rng;

use super::Sim;
use crate::FastRng;

/// The environment variable [`Sim::from_env`],
/// [`SimBuilder::seed_from_env`] and [`check`](super::check) read a seed
/// from.
pub const SEED_VAR: &str = "STAGGER_SEED";

/// Configures a [`Sim`] before it starts: [`Sim::builder`].
///
/// # Examples
///
/// ```
/// use stagger::sim::Sim;
///
/// let sim = Sim::builder().seed(42).start_paused(true).trace(true).build();
/// assert_eq!(sim.seed(), 42);
/// assert!(sim.is_paused());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SimBuilder {
    pub(super) seed: u64,
    pub(super) paused: bool,
    pub(super) trace: bool,
}

impl SimBuilder {
    /// The seed [`Sim::rng`]'s generators derive from; 0 by default.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The seed in the `STAGGER_SEED` environment variable (decimal, or hex
    /// with `0x`), or a fresh random one if it is not set. Every panic of the
    /// simulation names its seed: run the failing test again with
    /// `STAGGER_SEED` set to it to replay the run.
    ///
    /// # Panics
    ///
    /// Panics if `STAGGER_SEED` is set but is not a `u64` (or not even
    /// Unicode), naming the value.
    pub fn seed_from_env(mut self) -> Self {
        self.seed = env_seed("").unwrap_or_else(|| rand::rng().next_u64());
        self
    }

    /// Starts with auto-advance off: time then moves only through
    /// [`Sim::advance`] (see [`Sim::pause`]).
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    /// Keeps a trace of the run's events, for [`Sim::trace`] and
    /// [`assert_deterministic`](super::assert_deterministic).
    pub fn trace(mut self, trace: bool) -> Self {
        self.trace = trace;
        self
    }

    /// Creates the simulation.
    pub fn build(&self) -> Sim {
        Sim::with(self)
    }
}

/// The seed in `STAGGER_SEED`, `None` if it is not set: what
/// [`SimBuilder::seed_from_env`] and [`check`](super::check) read.
///
/// # Panics
///
/// Panics if it is set but is not a seed (or not even Unicode: `var_os`,
/// not `var`, so that such a value counts as set and malformed, not
/// absent), naming the value after `context`.
#[track_caller]
pub(super) fn env_seed(context: &str) -> Option<u64> {
    let value = std::env::var_os(SEED_VAR)?;
    match value.to_str().and_then(parse_seed) {
        Some(seed) => Some(seed),
        None => {
            panic!("{context}{SEED_VAR}={value:?} is not a seed: give a u64, in decimal or 0x hex")
        }
    }
}

/// A seed as `STAGGER_SEED` may hold it.
fn parse_seed(value: &str) -> Option<u64> {
    let value = value.trim();
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// SplitMix64: a strong mix of one 64-bit value, to derive independent
/// seeds from one.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Sim {
    /// A builder, to choose the seed, start paused or keep a trace.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// A simulation whose [`rng`](Sim::rng)s derive from `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::Sim;
    ///
    /// let run = |seed| {
    ///     let sim = Sim::seeded(seed);
    ///     sim.block_on(stagger::wait_n_with(&sim, &mut sim.rng(), 5, Duration::from_secs(1)))
    /// };
    /// assert_eq!(run(7), run(7));
    /// assert_ne!(run(7), run(8));
    /// ```
    pub fn seeded(seed: u64) -> Sim {
        Sim::builder().seed(seed).build()
    }

    /// A simulation seeded from the `STAGGER_SEED` environment variable, or
    /// with a fresh random seed if it is not set; see
    /// [`SimBuilder::seed_from_env`].
    ///
    /// Use it in tests that should explore many seeds over many runs, yet
    /// replay any failure exactly: every panic of the simulation names the
    /// seed to set.
    ///
    /// # Panics
    ///
    /// Panics if `STAGGER_SEED` is set but is not a `u64`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::sim::Sim;
    ///
    /// let sim = Sim::from_env();
    /// println!("seed {}", sim.seed()); // set STAGGER_SEED to it to replay
    /// ```
    pub fn from_env() -> Sim {
        Sim::builder().seed_from_env().build()
    }

    /// The seed this simulation's generators derive from.
    pub fn seed(&self) -> u64 {
        self.inner().seed
    }

    /// A generator derived from the seed: the `n`-th call on a simulation
    /// returns the same generator on every run with the same seed, and a
    /// different one from every other call. It is the simulation's
    /// [`Sleeper::rng`](crate::Sleeper::rng): the one source of every draw
    /// made through a `Sim`.
    ///
    /// The simulation's clock and task order need no seed: they are
    /// deterministic by themselves. What the seed fixes is the draws: those
    /// of the forms without `_with` ([`wait_n`](crate::wait_n),
    /// [`staggered`](crate::staggered), ...), which take a generator from
    /// here at each call, those a library makes through
    /// [`Sleeper::rng`](crate::Sleeper::rng), and yours, with a generator
    /// from here passed to the `_with` and `_from` forms or drawn from
    /// directly. For a crate that takes a seed of its own (backon's
    /// `with_jitter_seed`, anything with `seed_from_u64`), give it
    /// `sim.rng().next_u64()`: one seed then replays it too.
    ///
    /// Generators are numbered in the order they are asked for, so a run
    /// replays as long as it asks in the same order: a `Sim` runs its tasks
    /// in a fixed order, but threads of your own that draw through the same
    /// `Sim` at once may take their generators in any order.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::rand::RngExt;
    /// use stagger::sim::Sim;
    ///
    /// let draw = |seed| {
    ///     let sim = Sim::seeded(seed);
    ///     let (mut a, mut b) = (sim.rng(), sim.rng());
    ///     (a.random::<u64>(), b.random::<u64>())
    /// };
    /// let (first, second) = draw(1);
    /// assert_ne!(first, second); // two generators, two sequences
    /// assert_eq!(draw(1), (first, second)); // the same on every run
    /// ```
    pub fn rng(&self) -> FastRng {
        let n = self.inner().rngs.fetch_add(1, Ordering::Relaxed);
        FastRng::seeded(mix(self.seed() ^ mix(n)))
    }
}

/// Names the seed, for panic messages and failure reports: the seed, and
/// the line that replays the run.
///
/// On a thread libtest named after its test, the line is the `cargo test`
/// command that runs that test alone with `STAGGER_SEED` set, which
/// [`Sim::from_env`] and [`check`](super::check) read; a `Sim` built with
/// [`Sim::seeded`] replays the same seed anyway.
pub(super) struct Replay(pub(super) u64);

impl fmt::Display for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seed = self.0;
        write!(f, "seed {seed}; replay: {SEED_VAR}={seed}")?;
        let thread = std::thread::current();
        match thread.name() {
            Some(test) if test != "main" => write!(f, " cargo test -- --exact {test}")?,
            _ => {}
        }
        write!(
            f,
            " (read by Sim::from_env and stagger::sim::check; or Sim::seeded({seed}))"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse() {
        assert_eq!(parse_seed("42"), Some(42));
        assert_eq!(parse_seed(" 0x2A "), Some(42));
        assert_eq!(parse_seed("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_seed("-1"), None);
        assert_eq!(parse_seed("seed"), None);
    }
}
