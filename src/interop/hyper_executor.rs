//! hyper's `Executor` over any stagger `Spawn`.

use core::future::Future;

use crate::Spawn;

/// A [`hyper::rt::Executor`](::hyper::rt::Executor) on a stagger [`Spawn`]:
/// the tasks hyper spawns (HTTP/2's connection and stream tasks, a
/// client's background dispatch) run on any backend, Sim included.
///
/// Each future hyper hands over is spawned detached
/// ([`Spawn::spawn_detached`]) and runs to completion; its output is
/// dropped. On [`Tokio`](crate::rt::Tokio), that needs an ambient tokio
/// runtime, as `Spawn::spawn` does.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
/// use stagger::interop::HyperExecutor;
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
///
/// let sim = Sim::new();
/// let executor = HyperExecutor::new(sim.clone());
/// let (tx, rx) = futures::channel::oneshot::channel();
/// executor.execute(async move { tx.send(7).unwrap() });
/// assert_eq!(sim.block_on(rx), Ok(7));
/// ```
///
/// Given to hyper's HTTP/2 builders,
/// `hyper::server::conn::http2::Builder::new(HyperExecutor::new(sim.clone()))`
/// for one, with a [`HyperTimer`](super::HyperTimer) for its timeouts.
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HyperExecutor<S>(S);

impl<S> HyperExecutor<S> {
    /// Spawns on `spawner`.
    pub fn new(spawner: S) -> Self {
        HyperExecutor(spawner)
    }

    /// The stagger spawner.
    pub fn get_ref(&self) -> &S {
        &self.0
    }

    /// Gives back the stagger spawner.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S, F> hyper::rt::Executor<F> for HyperExecutor<S>
where
    S: Spawn,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn_detached(async move {
            future.await;
        });
    }
}
