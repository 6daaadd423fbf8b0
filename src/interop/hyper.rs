//! hyper's `Timer` over any stagger `Sleeper`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use pin_project_lite::pin_project;

use crate::sleeper::Sleeper;

/// A [`hyper::rt::Timer`](::hyper::rt::Timer) on a stagger [`Sleeper`]: hyper's timeouts and
/// keep-alives on any backend's clock.
///
/// hyper reads the time through the timer (`Timer::now`, hyper 1.8 and
/// later), so on [`Sim`](crate::sim::Sim) a server's `header_read_timeout`
/// fires in virtual time, exactly and instantly.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use stagger::interop::HyperTimer;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let timer = HyperTimer::new(sim.clone());
/// assert_eq!(timer.now(), sim.now());
/// let mut sleep = timer.sleep(Duration::from_secs(60));
/// timer.reset(&mut sleep, timer.now() + Duration::from_secs(5));
/// sim.block_on(sleep);
/// assert_eq!(sim.elapsed(), Duration::from_secs(5));
/// ```
///
/// Given to hyper's builders (`hyper::server::conn::http1::Builder::timer`,
/// for one), the sleeper must also be `Send + Sync + 'static`, as all of
/// stagger's backends are.
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HyperTimer<S>(S);

impl<S> HyperTimer<S> {
    /// Times on `sleeper`.
    pub fn new(sleeper: S) -> Self {
        HyperTimer(sleeper)
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

pin_project! {
    /// A stagger sleep, as a [`hyper::rt::Sleep`]: a type of this crate, as
    /// the orphan rule requires.
    struct HyperSleep<F> {
        #[pin]
        sleep: F,
    }
}

impl<F: Future<Output = ()>> Future for HyperSleep<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }
}

impl<F> hyper::rt::Sleep for HyperSleep<F> where F: Future<Output = ()> + Send + Sync + 'static {}

impl<S> hyper::rt::Timer for HyperTimer<S>
where
    S: Sleeper,
    S::Sleep: Send + Sync + 'static,
{
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            sleep: self.0.sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            sleep: self.0.sleep_until(deadline),
        })
    }

    fn now(&self) -> Instant {
        self.0.now()
    }

    /// Moves `sleep` to `new_deadline`: in place, reusing its box, when it
    /// is one of this timer's; as a new sleep otherwise.
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep<S::Sleep>>() {
            Some(mut ours) => ours.set(HyperSleep {
                sleep: self.0.sleep_until(new_deadline),
            }),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
