//! Naming the seed when a panic ends a [`Sim`](super::Sim) run, so that a
//! failing test can be replayed.
//!
//! A guard lives on the stack of every `block_on`; when the thread unwinds
//! through it, the guard prints the seed, the virtual time and the replay
//! line on stderr, after the panic's own message, and the unwinding goes on
//! untouched: the payload is the user's. No panic hook is installed, so
//! nothing global changes, and what a guard prints goes wherever the
//! thread's stderr goes (libtest captures it per test, next to the panic
//! message).
//!
//! A guard stays quiet when the panic already names the seed (the
//! simulation's own panics mark themselves with [`seed_named`]) and when a
//! runner ([`check`](super::check)) reports the failure itself.

use core::cell::{Cell, RefCell};
use core::fmt;
use core::time::Duration;
use std::thread;

use super::Inner;
use super::builder::Replay;

thread_local! {
    /// Set just before one of the simulation's own panics, which name the
    /// seed in their message: the guards it unwinds through stay quiet.
    /// Cleared by every guard as it starts and as it ends. (A nested
    /// `block_on`'s panic caught inside the outer run leaves it set until
    /// that run ends: a later panic of that run then goes unreported, the
    /// one way to miss a report, and an unlikely one.)
    static NAMED: Cell<bool> = const { Cell::new(false) };
    /// The simulations, by address, whose failures a runner on this thread
    /// reports itself.
    static QUIET: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks the panic about to start as one that names its seed.
pub(super) fn seed_named() {
    NAMED.with(|named| named.set(true));
}

/// The address that identifies `sim` in [`QUIET`].
fn address(sim: &Inner) -> usize {
    core::ptr::from_ref(sim) as usize
}

/// While it lives, the panics ending a `block_on` of `sim` on this thread
/// are left to the caller to report.
pub(super) struct Quiet(usize);

impl Quiet {
    pub(super) fn new(sim: &Inner) -> Self {
        let at = address(sim);
        QUIET.with(|quiet| quiet.borrow_mut().push(at));
        Quiet(at)
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|quiet| {
            let mut quiet = quiet.borrow_mut();
            if let Some(i) = quiet.iter().rposition(|&at| at == self.0) {
                quiet.remove(i);
            }
        });
    }
}

/// On the stack of a `block_on`: reports the seed if a panic unwinds
/// through it.
pub(super) struct Reporter<'a> {
    sim: &'a Inner,
    /// Whether the thread was already unwinding when the `block_on` began
    /// (a `block_on` in a destructor): that panic is not this run's.
    was_panicking: bool,
}

impl<'a> Reporter<'a> {
    pub(super) fn new(sim: &'a Inner) -> Self {
        NAMED.with(|named| named.set(false));
        Reporter {
            sim,
            was_panicking: thread::panicking(),
        }
    }
}

impl Drop for Reporter<'_> {
    fn drop(&mut self) {
        let named = NAMED.with(Cell::take);
        if !thread::panicking() || self.was_panicking || named {
            return;
        }
        let at = address(self.sim);
        if QUIET.with(|quiet| quiet.borrow().contains(&at)) {
            return;
        }
        let failure = Failure {
            seed: self.sim.seed,
            elapsed: self.sim.now() - self.sim.base,
        };
        eprintln!("{failure}");
    }
}

/// What a guard prints: the seed, the virtual time, the replay line.
struct Failure {
    seed: u64,
    elapsed: Duration,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stagger::sim::Sim: the panic above ended a run at virtual time {:?}; {}",
            self.elapsed,
            Replay(self.seed)
        )
    }
}
