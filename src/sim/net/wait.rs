//! [`Wait`]: the `Sim` timer a socket sleeps on until its next segment
//! arrives.

use core::task::Context;
use std::sync::Arc;
use std::time::Instant;

use crate::sim::Inner;
use crate::sim::sleep::Timer;

/// A socket's timer, kept between polls and remade only when the arrival it
/// waits for changes.
#[derive(Default)]
pub(super) struct Wait(Option<Timer>);

impl Wait {
    /// Sleeps until `at` (`None`: on nothing but a wake-up); whether `at`
    /// has been reached already.
    pub(super) fn poll(
        &mut self,
        sim: &Arc<Inner>,
        at: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> bool {
        let Some(at) = at else {
            self.0 = None;
            return false;
        };
        let sleep = match &mut self.0 {
            Some(sleep) if sleep.deadline() == Some(at) => sleep,
            slot => slot.insert(Timer::new(sim, Some(at))),
        };
        if sleep.poll(cx).is_ready() {
            self.0 = None;
            return true;
        }
        false
    }

    pub(super) fn clear(&mut self) {
        self.0 = None;
    }
}
