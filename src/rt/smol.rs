//! The smol backend.

use core::future::Future;

use crate::{Runtime, Spawn};

/// The [smol](https://docs.rs/smol) backend: smol's global executor for
/// tasks, async-io's timers.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rt::Smol;
///
/// let delays = Smol.block_on(stagger::wait_n(&Smol, 3, Duration::from_millis(5)));
/// assert_eq!(delays.len(), 3);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Smol;

impl Spawn for Smol {
    type RawTask = SmolTask;

    fn spawn_raw<F>(&self, task: F) -> SmolTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SmolTask(Some(smol::spawn(task)))
    }
}

/// [`Smol`]'s [`RawTask`](Spawn::RawTask): smol's task handle, detached
/// instead of cancelled when dropped.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rt::{Smol, SmolTask};
///
/// let raw: SmolTask = Smol.spawn_raw(async {});
/// drop(raw); // the task runs on
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Debug)]
pub struct SmolTask(Option<smol::Task<()>>);

impl Drop for SmolTask {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.detach();
        }
    }
}

impl Runtime for Smol {
    /// Runs `future` to completion on the current thread.
    ///
    /// # Panics
    ///
    /// Panics when called inside a task spawned through stagger: it would
    /// block one of the executor's threads, and deadlock once it waits for a
    /// task that needs that thread. `.await` the future there instead.
    #[track_caller]
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        crate::task::forbid_block_on_in_task("Smol");
        smol::block_on(future)
    }
}
