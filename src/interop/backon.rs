//! backon's `Sleeper` over any stagger `Sleeper`.

use core::time::Duration;

use crate::sleeper::Sleeper;

/// A [`backon::Sleeper`](::backon::Sleeper) that sleeps on a stagger [`Sleeper`]: backon's
/// retries, on any backend's clock.
///
/// backon's own sleepers are tokio's or gloo's; this one is any of
/// stagger's, [`Sim`](crate::sim::Sim) included, where a retry loop's
/// back-offs pass in virtual time: instantly, exactly, and (with
/// `with_jitter_seed`) the same on every run.
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
