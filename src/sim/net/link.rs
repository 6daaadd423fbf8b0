//! [`Link`]: how bytes travel between two hosts: their latency, drawn per
//! segment, and an optional bandwidth.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use crate::rng::FastRng;
use rand::distr::Distribution;

/// A latency distribution, type-erased: `Distribution::sample` is generic,
/// so the trait itself cannot be boxed.
type Draw = Arc<dyn Fn(&mut FastRng) -> Duration + Send + Sync>;

/// How bytes travel between two hosts of a [`Net`](super::Net): a latency
/// drawn for every segment (each write, each handshake), and optionally a
/// bandwidth.
///
/// A segment of `n` bytes written at `t` arrives at
/// `max(departure + latency, previous arrival)` on its connection, where
/// `departure` is `t`, or with a bandwidth, the instant its last byte leaves
/// the link (segments of every connection between the two hosts queue for
/// it, each taking `n / bandwidth` seconds). Latency may vary from segment
/// to segment; order never does, as over TCP.
///
/// Edge cases, all defined: a latency (or a departure) past what an
/// `Instant` can hold, `Duration::MAX` for one, means the segment never
/// arrives, nor does anything behind it on its connection; a bandwidth of 0
/// carries nothing, so nothing sent over it ever arrives. A read waiting on
/// such bytes, with nothing else to run, is a deadlock, reported as one.
///
/// # Examples
///
/// ```
/// use rand::distr::Uniform;
/// use stagger::jitter::FullJitter;
/// use stagger::prelude::*;
/// use stagger::sim::net::Link;
///
/// let lan = Link::latency(Duration::from_micros(200));
/// let wan = Link::latency_from(
///     Uniform::new(Duration::from_millis(20), Duration::from_millis(80)).unwrap(),
/// )
/// .bandwidth(1_000_000); // bytes per second
/// let flaky = Link::latency_from(FullJitter::new(Duration::from_millis(100)));
/// # let _ = (lan, wan, flaky);
/// ```
#[derive(Clone)]
pub struct Link {
    draw: Draw,
    /// Bytes per second; `None`: unlimited.
    bandwidth: Option<u64>,
    /// For `Debug`: the constant latency, if it is one.
    fixed: Option<Duration>,
}

impl Link {
    /// A link whose every segment takes `latency`, with no bandwidth limit.
    pub fn latency(latency: Duration) -> Self {
        Link {
            draw: Arc::new(move |_| latency),
            bandwidth: None,
            fixed: Some(latency),
        }
    }

    /// A link whose segments each take a latency drawn from `latency` (a
    /// `Uniform<Duration>`, one of [`jitter`](crate::jitter)'s strategies,
    /// any `Distribution<Duration>`), from the network's generator, which
    /// the `Sim`'s seed fixes.
    pub fn latency_from<D>(latency: D) -> Self
    where
        D: Distribution<Duration> + Send + Sync + 'static,
    {
        Link {
            draw: Arc::new(move |rng| latency.sample(rng)),
            bandwidth: None,
            fixed: None,
        }
    }

    /// Limits the link to `bytes_per_sec` in each direction; 0 carries
    /// nothing (see [`Link`]).
    pub fn bandwidth(mut self, bytes_per_sec: u64) -> Self {
        self.bandwidth = Some(bytes_per_sec);
        self
    }

    pub(super) fn draw(&self, rng: &mut FastRng) -> Duration {
        (self.draw)(rng)
    }

    pub(super) fn bandwidth_limit(&self) -> Option<u64> {
        self.bandwidth
    }
}

impl Default for Link {
    /// No latency, no bandwidth limit: bytes arrive as they are written.
    fn default() -> Self {
        Link::latency(Duration::ZERO)
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Link");
        match self.fixed {
            Some(latency) => debug.field("latency", &latency),
            None => debug.field("latency", &"drawn"),
        };
        debug.field("bandwidth", &self.bandwidth).finish()
    }
}
