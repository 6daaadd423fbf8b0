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
    fn spawn_detached<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        smol::spawn(task).detach();
    }
}

impl Runtime for Smol {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }
}
