//! One waiter: the sleep every fan-out is made of.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;
use std::time::Instant;

use pin_project_lite::pin_project;

use crate::sleeper::Sleeper;

pin_project! {
    /// Sleeps until `start + delay`, then yields its payload.
    ///
    /// The deadline is fixed, and the sleep created, when the waiter is
    /// created; a zero delay needs no timer at all. A deadline past what an
    /// `Instant` holds never fires: the backend's own never-firing sleep
    /// (its `sleep(Duration::MAX)`, as the `Sleeper` contract has it) waits
    /// for it, so that, say, Sim can tell it from a deadlock.
    pub(crate) struct Waiter<Sl, P> {
        #[pin]
        sleep: Sleep<Sl>,
        // `None` once yielded.
        payload: Option<P>,
    }
}

pin_project! {
    #[project = SleepProj]
    enum Sleep<Sl> {
        Timer { #[pin] sleep: Sl },
        // A zero delay: due at the start, which has passed.
        Due,
    }
}

impl<Sl, P> Waiter<Sl, P> {
    pub(crate) fn new<S>(sleeper: &S, start: Instant, delay: Duration, payload: P) -> Self
    where
        S: Sleeper<Sleep = Sl> + ?Sized,
    {
        let sleep = match start.checked_add(delay) {
            _ if delay.is_zero() => Sleep::Due,
            Some(at) => Sleep::Timer {
                sleep: sleeper.sleep_until(at),
            },
            // Unreachable: never due.
            None => Sleep::Timer {
                sleep: sleeper.sleep(Duration::MAX),
            },
        };
        Waiter {
            sleep,
            payload: Some(payload),
        }
    }
}

impl<Sl: Future<Output = ()>, P> Future for Waiter<Sl, P> {
    type Output = P;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<P> {
        let this = self.project();
        match this.sleep.project() {
            SleepProj::Timer { sleep } => ready!(sleep.poll(cx)),
            SleepProj::Due => {}
        }
        let payload = this.payload.take();
        Poll::Ready(payload.expect("a Waiter polled after it completed"))
    }
}
