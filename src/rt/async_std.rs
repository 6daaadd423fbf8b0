//! The async-std backend.

use core::future::Future;

use crate::{Runtime, Spawn};

/// The [async-std](https://docs.rs/async-std) backend: async-std's global
/// executor for tasks, async-io's timers (the ones async-std itself uses).
///
/// async-std is discontinued upstream (RUSTSEC-2025-0052); this backend keeps
/// working for code that still runs on it. New code should prefer
/// [`Smol`](crate::rt::Smol), its successor.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rt::AsyncStd;
///
/// let delays = AsyncStd.block_on(stagger::wait_n(&AsyncStd, 3, Duration::from_millis(5)));
/// assert_eq!(delays.len(), 3);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsyncStd;

impl Spawn for AsyncStd {
    /// Dropping async-std's handle detaches the task.
    type RawTask = async_std::task::JoinHandle<()>;

    fn spawn_raw<F>(&self, task: F) -> Self::RawTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        async_std::task::spawn(task)
    }
}

impl Runtime for AsyncStd {
    /// Runs `future` to completion on the current thread.
    ///
    /// # Panics
    ///
    /// Panics when called inside a task spawned through stagger: it would
    /// block one of the executor's threads, and deadlock once it waits for a
    /// task that needs that thread. `.await` the future there instead.
    #[track_caller]
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        crate::task::forbid_block_on_in_task("AsyncStd");
        async_std::task::block_on(future)
    }
}
