//! The smol backend.

use core::future::Future;
use std::sync::Arc;

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

// ===== an executor of your own =====

/// The smol backend on an executor of your own: tasks spawn on `executor`,
/// sleeps are async-io's timers, and [`block_on`](Runtime::block_on) runs
/// the executor while it waits, so the tasks run wherever your application
/// runs that executor.
///
/// Clones share the executor. A `LocalExecutor` does not fit: stagger's
/// backends are shared between threads and tasks (`Send + Sync`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use stagger::prelude::*;
/// use stagger::rt::SmolExecutor;
///
/// let executor = Arc::new(smol::Executor::new());
/// let rt = SmolExecutor::new(executor.clone());
/// let delays = rt.block_on(stagger::task_wait_n(&rt, 100, Duration::from_millis(5)));
/// assert_eq!(delays.len(), 100);
/// // Or run the executor yourself, on threads of your own:
/// let task = executor.spawn(stagger::wait_n(&rt, 3, Duration::from_millis(5)));
/// assert_eq!(smol::block_on(executor.run(task)).len(), 3);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Clone, Debug)]
pub struct SmolExecutor(Arc<smol::Executor<'static>>);

impl SmolExecutor {
    /// The backend that spawns on `executor`.
    pub fn new(executor: Arc<smol::Executor<'static>>) -> Self {
        SmolExecutor(executor)
    }

    /// The executor.
    pub fn executor(&self) -> &Arc<smol::Executor<'static>> {
        &self.0
    }
}

impl Spawn for SmolExecutor {
    type RawTask = SmolTask;

    fn spawn_raw<F>(&self, task: F) -> SmolTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SmolTask(Some(self.0.spawn(task)))
    }
}

impl Runtime for SmolExecutor {
    /// Runs `future` to completion on the current thread, running the
    /// executor's tasks meanwhile.
    ///
    /// # Panics
    ///
    /// Panics when called inside a task spawned through stagger; see
    /// [`Smol`]'s.
    #[track_caller]
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        crate::task::forbid_block_on_in_task("SmolExecutor");
        smol::block_on(self.0.run(future))
    }
}
