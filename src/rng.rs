//! The generator every backend hands out: [`FastRng`].

use core::convert::Infallible;
use core::fmt;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng, TryRng};

/// A small, fast, `Send` random number generator: what
/// [`Sleeper::rng`](crate::Sleeper::rng) hands out, and what the forms
/// without `_with` (`wait_n`, `staggered`, ...) draw their delays from.
///
/// On [`Sim`](crate::sim::Sim) each generator derives from the simulation's
/// seed, so a seeded run replays every draw; on the real backends each is
/// seeded from the thread's generator (`rand::rng()`, itself seeded by the
/// operating system). Its algorithm is xoshiro256++: fast, statistically
/// strong, and *not* for cryptography. Its values for a seed are fixed:
/// `FastRng::seeded(s)` draws the same sequence on every platform and in
/// every release of stagger 0.1.
///
/// It implements [`rand`](https://docs.rs/rand/0.10)'s [`Rng`](rand::Rng) (so every `RngExt` method
/// and every distribution works with it) and [`SeedableRng`](rand::SeedableRng); it is `Send +
/// Sync`, so a loop that draws from it can be spawned.
///
/// # Examples
///
/// A library function written against [`Sleeper`](crate::Sleeper) draws its
/// own jitter through the backend, with no generator from its caller; on a
/// seeded `Sim` it replays:
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rand::RngExt;
/// use stagger::sim::Sim;
///
/// fn backoff<S: Sleeper>(timer: &S, attempt: u32) -> Duration {
///     let cap = Duration::from_millis(100) * 2u32.pow(attempt);
///     timer.rng().random_range(Duration::ZERO..=cap)
/// }
///
/// let run = |seed| {
///     let sim = Sim::seeded(seed);
///     (0..4).map(|attempt| backoff(&sim, attempt)).collect::<Vec<_>>()
/// };
/// assert_eq!(run(1), run(1));
/// assert_ne!(run(1), run(2));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FastRng(Xoshiro256PlusPlus);

impl FastRng {
    /// A generator seeded from the thread's generator (`rand::rng()`), as
    /// the real backends hand out.
    pub fn new() -> Self {
        FastRng::seeded(rand::rng().next_u64())
    }

    /// The generator of `seed`: the same sequence on every run, platform and
    /// release of stagger 0.1, different for every seed. Unlike
    /// [`SeedableRng::seed_from_u64`](rand::SeedableRng::seed_from_u64), it needs no trait of a given `rand`
    /// version in scope (it gives the same generator).
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::FastRng;
    ///
    /// assert_eq!(FastRng::seeded(7).next_u64(), FastRng::seeded(7).next_u64());
    /// assert_ne!(FastRng::seeded(7).next_u64(), FastRng::seeded(8).next_u64());
    /// ```
    pub fn seeded(seed: u64) -> Self {
        FastRng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// The next 64 random bits, with no trait of a given `rand` version in
    /// scope: the seed a third-party API takes (backon's `with_jitter_seed`,
    /// another crate's `seed_from_u64`) is `sim.rng().next_u64()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::sim::Sim;
    ///
    /// let seed_for_others = |seed| Sim::seeded(seed).rng().next_u64();
    /// assert_eq!(seed_for_others(42), seed_for_others(42));
    /// ```
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        Rng::next_u64(&mut self.0)
    }
}

impl Default for FastRng {
    /// Same as [`FastRng::new`].
    fn default() -> Self {
        FastRng::new()
    }
}

impl fmt::Debug for FastRng {
    /// Shows no state: a generator's state would let a reader predict it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastRng").finish_non_exhaustive()
    }
}

impl TryRng for FastRng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0.try_next_u32()
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0.try_next_u64()
    }

    #[inline]
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.try_fill_bytes(dst)
    }
}

impl SeedableRng for FastRng {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> Self {
        FastRng(Xoshiro256PlusPlus::from_seed(seed))
    }

    /// Same as [`FastRng::seeded`].
    fn seed_from_u64(seed: u64) -> Self {
        FastRng::seeded(seed)
    }
}

// ===== the bound of the `_with` forms =====

/// A random number generator the `_with` forms can draw from: any
/// [`rand`](https://docs.rs/rand/0.10) 0.10 [`Rng`](rand::Rng), which this trait only renames so that
/// a generator of another `rand` says how to fix it.
///
/// stagger draws with the `rand` it re-exports as `stagger::rand`
/// (0.10). A generator of another version (rand 0.9's `StdRng`, say) is
/// another type to the compiler, and passing one fails with a note that
/// points here. To seed a run whatever `rand` your project uses, pass a
/// stagger generator seeded from a plain `u64`:
/// `&mut stagger::FastRng::seeded(42)`.
///
/// It is implemented for every `rand` 0.10 generator; there is nothing to
/// implement.
///
/// # Examples
///
/// ```
/// use stagger::FastRng;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let run = |seed| {
///     let mut rng = FastRng::seeded(seed); // a u64 seed: no rand version involved
///     sim.block_on(stagger::wait_n_with(&sim, &mut rng, 3, Duration::from_secs(1)))
/// };
/// assert_eq!(run(7), run(7));
/// ```
///
/// Anything else is refused at compile time, with a note naming
/// `FastRng::seeded` (here a bare seed; rand 0.9's `StdRng` fails the same
/// way):
///
/// ```compile_fail,E0277
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let mut seed = 42u64;
/// let delays = stagger::wait_n_with(&sim, &mut seed, 3, Duration::from_secs(1));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a generator of the `rand` stagger draws with (`stagger::rand`, rand 0.10)",
    label = "not a `stagger::rand` generator",
    note = "seed a run from a plain u64, whatever rand your project uses: `&mut stagger::FastRng::seeded(42)`",
    note = "or build the generator from `stagger::rand` (rand 0.10), e.g. `stagger::rand::rngs::StdRng`"
)]
pub trait Generator: Rng {}

impl<R: Rng + ?Sized> Generator for R {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn a_seed_fixes_the_sequence() {
        let draws = |seed| {
            let mut rng = FastRng::seeded(seed);
            (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws(3), draws(3));
        assert_ne!(draws(3), draws(4));
        // Portable: xoshiro256++ seeded through SplitMix64, as rand's own.
        let mut reference = Xoshiro256PlusPlus::seed_from_u64(3);
        assert_eq!(draws(3)[0], Rng::next_u64(&mut reference));
        assert_eq!(FastRng::seed_from_u64(3), FastRng::seeded(3));
    }

    #[test]
    fn new_generators_differ() {
        let (mut a, mut b) = (FastRng::new(), FastRng::new());
        assert_ne!(a.random::<u128>(), b.random::<u128>());
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<FastRng>();
    }
}
