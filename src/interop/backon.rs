//! backon's `Sleeper` over any stagger `Sleeper`.

use core::time::Duration;

use crate::sleeper::Sleeper;

/// A [`backon::Sleeper`](::backon::Sleeper) that sleeps on a stagger [`Sleeper`]: backon's
/// retries, on any backend's clock.
///
/// backon's own sleepers are tokio's or gloo's; this one is any of
/// stagger's, [`Sim`](crate::sim::Sim) included, where a retry loop's
/// back-offs pass in virtual time: instantly, exactly, and the same on
/// every run.
///
/// # Seeding backon's jitter
///
/// backon draws its jitter from a generator of its own, which no stagger
/// seed reaches by itself: seed it from the backend, with
/// `with_jitter_seed(sleeper.rng().next_u64())`
/// ([`Sleeper::rng`], [`FastRng::next_u64`](crate::FastRng::next_u64)). On
/// a seeded `Sim` the jitter then follows the Sim's seed, with stagger's own
/// draws, so that one seed (`STAGGER_SEED` with
/// [`Sim::from_env`](crate::sim::Sim::from_env)) replays the whole run; on
/// a real backend it is freshly seeded on every run. `examples/retry.rs`
/// shows a whole retry run replayed.
///
/// # Examples
///
/// ```
/// use backon::{ExponentialBuilder, Retryable};
/// use stagger::interop::BackonSleeper;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let mut attempts = 0;
/// let flaky = || {
///     attempts += 1;
///     let attempt = attempts;
///     async move { if attempt < 3 { Err("not yet") } else { Ok(attempt) } }
/// };
/// let retry = flaky
///     .retry(ExponentialBuilder::default()) // 1 s, then 2 s
///     .sleep(BackonSleeper::new(sim.clone()));
/// assert_eq!(sim.block_on(retry), Ok(3));
/// assert_eq!(sim.elapsed(), Duration::from_secs(3)); // in no time
/// ```
///
/// With jitter, replayed from the Sim's seed:
///
/// ```
/// use backon::{ExponentialBuilder, Retryable};
/// use stagger::interop::BackonSleeper;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let run = |seed| {
///     let sim = Sim::seeded(seed); // or Sim::from_env(): STAGGER_SEED
///     let backoff = ExponentialBuilder::default()
///         .with_jitter()
///         .with_jitter_seed(sim.rng().next_u64()); // backon's seed, from the Sim's
///     let always_fails = || async { Err::<(), _>("down") };
///     let retry = always_fails.retry(backoff).sleep(BackonSleeper::new(sim.clone()));
///     assert_eq!(sim.block_on(retry), Err("down"));
///     sim.elapsed() // the three jittered back-offs
/// };
/// assert_eq!(run(1), run(1));
/// assert_ne!(run(1), run(2));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "backon")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BackonSleeper<S>(S);

impl<S> BackonSleeper<S> {
    /// Sleeps on `sleeper`.
    pub fn new(sleeper: S) -> Self {
        BackonSleeper(sleeper)
    }

    /// The stagger sleeper.
    pub fn get_ref(&self) -> &S {
        &self.0
    }

    /// Gives back the stagger sleeper.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S: Sleeper + 'static> backon::Sleeper for BackonSleeper<S> {
    type Sleep = S::Sleep;

    fn sleep(&self, dur: Duration) -> S::Sleep {
        self.0.sleep(dur)
    }
}
