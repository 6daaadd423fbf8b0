//! tokio's interval tests (`tokio/tests/time_interval.rs`), as scripts: the
//! same steps drive tokio's `Interval` and stagger's `Ticks` side by side on
//! a paused tokio clock (`tests/tokio.rs`) and `Ticks` alone on Sim
//! (`tests/sim.rs`), where the instants are exact.
//!
//! Each script starts an interval at `start`, one millisecond in the past
//! (tokio's tests do so because its wheel fires a timer in the millisecond
//! after its deadline), with the period and missed-tick behaviour given,
//! and runs its steps.

#![allow(dead_code)] // Each test file uses what it needs.

use std::time::Duration;

use stagger::schedule::Missed;

/// One step of a script.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Moves the paused clock.
    Advance(u64),
    /// Polls until pending: the ticks yielded are meant for these
    /// milliseconds after the start, in order.
    Check(&'static [u64]),
    /// `reset()`.
    Reset,
    /// `reset_immediately()`.
    ResetImmediately,
    /// `reset_after(ms)`.
    ResetAfter(u64),
    /// `reset_at(now + ms)`.
    ResetAt(u64),
}

use Step::*;

/// A named script: period (ms), behaviour, steps.
pub struct Script {
    pub name: &'static str,
    pub period: u64,
    pub missed: Missed,
    pub steps: &'static [Step],
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub const SCRIPTS: &[Script] = &[
    // tokio's `burst`.
    Script {
        name: "burst",
        period: 300,
        missed: Missed::Burst,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(650),
            Check(&[600, 900]),
            Advance(200),
            Check(&[]),
            Advance(100),
            Check(&[1200]),
            Advance(250),
            Check(&[1500]),
            Advance(300),
            Check(&[1800]),
        ],
    },
    // tokio's `delay`: the late tick at 951 ms, then a period after it.
    Script {
        name: "delay",
        period: 300,
        missed: Missed::Delay,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(650),
            Check(&[600]),
            Advance(100),
            Check(&[]),
            Advance(201),
            Check(&[1251]),
            Advance(300),
            Check(&[1551]),
            Advance(300),
            Check(&[1851]),
        ],
    },
    // tokio's `skip`: at 951 ms the late tick itself (600), 900 skipped.
    Script {
        name: "skip",
        period: 300,
        missed: Missed::Skip,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(650),
            Check(&[600]),
            Advance(250),
            Check(&[1200]),
            Advance(300),
            Check(&[1500]),
            Advance(300),
            Check(&[1800]),
        ],
    },
    // tokio's `reset`.
    Script {
        name: "reset",
        period: 300,
        missed: Missed::Burst,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(100),
            Check(&[]),
            Reset,
            Advance(250),
            Check(&[]),
            Advance(50),
            Check(&[701]),
            Advance(300),
            Check(&[1001]),
        ],
    },
    // tokio's `reset_immediately`.
    Script {
        name: "reset_immediately",
        period: 300,
        missed: Missed::Burst,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(100),
            Check(&[]),
            ResetImmediately,
            Check(&[401]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[701]),
        ],
    },
    // tokio's `reset_after`.
    Script {
        name: "reset_after",
        period: 300,
        missed: Missed::Burst,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(100),
            Check(&[]),
            ResetAfter(20),
            Advance(20),
            Check(&[421]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[721]),
        ],
    },
    // tokio's `reset_at`.
    Script {
        name: "reset_at",
        period: 300,
        missed: Missed::Burst,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(100),
            Check(&[]),
            ResetAt(40),
            Advance(40),
            Check(&[441]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[741]),
        ],
    },
    // tokio's `reset_at_bigger_than_interval`.
    Script {
        name: "reset_at_bigger_than_interval",
        period: 300,
        missed: Missed::Burst,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[]),
            Advance(200),
            Check(&[300]),
            Advance(100),
            Check(&[]),
            ResetAt(1000),
            Advance(300),
            Check(&[]),
            Advance(300),
            Check(&[]),
            Advance(300),
            Check(&[]),
            Advance(100),
            Check(&[1401]),
            Advance(300),
            Check(&[1701]),
        ],
    },
    // Issue 17: a consumer busy 150 ms after tick 1, period 100 ms. Delay
    // fires the late tick at 251 and the next a period later, never closer.
    Script {
        name: "delay_busy_consumer",
        period: 100,
        missed: Missed::Delay,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[100]),
            Advance(150),
            Check(&[200]),
            Advance(99),
            Check(&[]),
            Advance(2),
            Check(&[351]),
            Advance(100),
            Check(&[451]),
        ],
    },
    // The same consumer under Skip: the late tick, then the schedule.
    Script {
        name: "skip_busy_consumer",
        period: 100,
        missed: Missed::Skip,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[100]),
            Advance(150),
            Check(&[200]),
            Advance(50),
            Check(&[300]),
            Advance(100),
            Check(&[400]),
        ],
    },
    // A stall that ends exactly on a tick's instant (300 ms): tokio's Skip
    // yields the late tick and skips the one due exactly then.
    Script {
        name: "skip_onto_a_tick",
        period: 100,
        missed: Missed::Skip,
        steps: &[
            Advance(1),
            Check(&[0]),
            Advance(100),
            Check(&[100]),
            Advance(199),
            Check(&[200]),
            Advance(101),
            Check(&[400]),
        ],
    },
];
