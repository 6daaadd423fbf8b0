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
    /// created; a deadline past what an `Instant` holds never fires, and a
    /// zero delay needs no timer at all.
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
        // `start + delay` does not fit in an `Instant`: never due, as its
        // deadline is unreachable anyway.
        Never,
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
            None => Sleep::Never,
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
            SleepProj::Never => return Poll::Pending,
        }
        let payload = this.payload.take();
        Poll::Ready(payload.expect("a Waiter polled after it completed"))
    }
}
