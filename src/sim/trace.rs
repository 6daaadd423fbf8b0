//! Traces of a run, and the check that a program is deterministic.

use core::time::Duration;

use super::Sim;

/// Something that happened in a simulation, as [`Sim::trace`] records it.
///
/// Timers are numbered in the order their sleeps were created, tasks in the
/// order they were spawned, from 0: numbers that a deterministic program
/// reproduces on every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// A timer fired.
    TimerFired {
        /// The timer's number.
        timer: u64,
    },
    /// A task was spawned.
    TaskSpawned {
        /// The task's number.
        task: u64,
    },
    /// A task finished: completed, panicked or was cancelled.
    TaskFinished {
        /// The task's number.
        task: u64,
    },
}

impl Sim {
    /// The events of the run so far, each with the virtual time
    /// ([`elapsed`](Sim::elapsed)) it happened at; empty unless the
    /// simulation was built with [`trace`](super::SimBuilder::trace).
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::sim::{Event, Sim};
    ///
    /// let sim = Sim::builder().trace(true).build();
    /// sim.block_on(sim.spawn(sim.sleep(Duration::from_secs(1))));
    /// assert_eq!(sim.trace(), [
    ///     (Duration::ZERO, Event::TaskSpawned { task: 0 }),
    ///     (Duration::from_secs(1), Event::TimerFired { timer: 0 }),
    ///     (Duration::from_secs(1), Event::TaskFinished { task: 0 }),
    /// ]);
    /// ```
    pub fn trace(&self) -> Vec<(Duration, Event)> {
        self.inner().lock().trace.clone().unwrap_or_default()
    }
}

/// Runs `program` on two fresh, traced simulations seeded with `seed`, and
/// checks that both runs did the same things at the same virtual times:
/// the same timers fired, the same tasks were spawned and finished, in the
/// same order. Returns the first run's output.
///
/// A program that draws through the simulation ([`Sim::rng`], the forms
/// without `_with`, a library's [`Sleeper::rng`](crate::Sleeper::rng)) and
/// waits only on it passes; one that reads the real clock, draws from a
/// generator of its own seeded elsewhere, or races threads may not, and
/// this finds where.
///
/// # Panics
///
/// Panics at the first event where the runs differ, naming both events, its
/// position and the seed; and wherever `program` panics.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::{Sim, assert_deterministic};
///
/// let delays = assert_deterministic(42, |sim: &Sim| {
///     sim.block_on(stagger::task_wait_n(sim, 100, Duration::from_secs(60)))
/// });
/// assert_eq!(delays.len(), 100);
/// ```
pub fn assert_deterministic<T>(seed: u64, mut program: impl FnMut(&Sim) -> T) -> T {
    let mut run = || {
        let sim = Sim::builder().seed(seed).trace(true).build();
        let output = program(&sim);
        (output, sim.trace())
    };
    let (output, first) = run();
    let (_, second) = run();
    if let Some(difference) = difference(&first, &second) {
        panic!("stagger::sim::assert_deterministic: {difference}; seed {seed}");
    }
    output
}

/// Where two traces of one program differ, if they do: the first event that
/// is not the same in both, and its position.
pub(super) fn difference(
    first: &[(Duration, Event)],
    second: &[(Duration, Event)],
) -> Option<String> {
    if first == second {
        return None;
    }
    let at = first.iter().zip(second).take_while(|(a, b)| a == b).count();
    let event = |trace: &[(Duration, Event)]| match trace.get(at) {
        Some((time, event)) => format!("{event:?} at {time:?}"),
        None => "the end of the run".to_owned(),
    };
    Some(format!(
        "the runs differ at event {at} (of {} and {}): the first run had {}, the second {}",
        first.len(),
        second.len(),
        event(first),
        event(second),
    ))
}
