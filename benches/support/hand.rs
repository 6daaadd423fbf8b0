//! What an expert writes directly on each runtime, shared by the `wait_n` and
//! `scale` benches (`#[path = "support/hand.rs"] mod hand;`; this folder is
//! not a bench target).
//!
//! Every baseline does what stagger's `wait_n` / `task_wait_n` promise: read
//! one start instant, then take the delays in order (the caller either draws
//! them lazily, inside the timed call, or passes pre-drawn ones), sleep each
//! waiter until `start + delay`, collect the delays into a `Vec` and sort it.
//!
//! - tokio: [`tokio_join_set`] (spawned tasks) and [`tokio_unconstrained_fu`]
//!   (one task, a `FuturesUnordered` outside tokio's coop budget, which
//!   otherwise makes polling `n` sleeps in one task quadratic).
//! - async-std and smol: [`timers`] (a `FuturesUnordered` of async-io timers,
//!   the timers both runtimes use) and [`spawned`] (spawned tasks awaited
//!   through the runtime's own join handles).
//!
//! For staggered work, the `*_work` baselines do what `staggered` and
//! `task_staggered` promise: each item sleeps until `start + delay`, then
//! runs [`work`] on its index; the `(index, delay, output)` of each item is
//! collected in completion order (the delays are returned, the rest goes to
//! `black_box`), unsorted.

use std::time::Duration;

use std::hint::black_box;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// The trivial work of the staggered benches: returns its item.
pub async fn work(item: usize) -> usize {
    item
}

/// Collects the items of a staggered fan-out: their delays in completion
/// order, the rest to `black_box`.
pub async fn collect_work(
    n: usize,
    mut done: impl futures::Stream<Item = (usize, Duration, usize)> + Unpin,
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    while let Some((index, delay, output)) = done.next().await {
        black_box((index, output));
        out.push(delay);
    }
    out
}

/// Delays, drawn lazily or pre-drawn; the length sizes the output `Vec`.
pub trait Delays: IntoIterator<Item = Duration, IntoIter: ExactSizeIterator> {}

impl<I: IntoIterator<Item = Duration, IntoIter: ExactSizeIterator>> Delays for I {}

/// A `JoinSet` of spawned `sleep_until` tasks.
#[cfg(feature = "tokio")]
pub async fn tokio_join_set(delays: impl Delays) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let mut set = tokio::task::JoinSet::new();
    for d in delays {
        set.spawn(async move {
            tokio::time::sleep_until(start + d).await;
            d
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(d) = set.join_next().await {
        out.push(d.unwrap());
    }
    out.sort_unstable();
    out
}

/// A `FuturesUnordered` of `sleep_until`s, polled outside tokio's coop budget.
#[cfg(feature = "tokio")]
pub async fn tokio_unconstrained_fu(delays: impl Delays) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let mut pending: FuturesUnordered<_> = delays
        .map(|d| async move {
            tokio::time::sleep_until(start + d).await;
            d
        })
        .collect();
    tokio::task::coop::unconstrained(async move {
        let mut out = Vec::with_capacity(n);
        while let Some(d) = pending.next().await {
            out.push(d);
        }
        out.sort_unstable();
        out
    })
    .await
}

/// A `FuturesUnordered` of async-io timers (async-std's timers are async-io's
/// too), in the calling task.
#[cfg(any(feature = "async-std", feature = "smol"))]
pub async fn timers(delays: impl Delays) -> Vec<Duration> {
    let start = std::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let mut pending: FuturesUnordered<_> = delays
        .map(|d| async move {
            async_io::Timer::at(start + d).await;
            d
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    while let Some(d) = pending.next().await {
        out.push(d);
    }
    out.sort_unstable();
    out
}

/// A runtime whose spawn handle yields the task's output directly.
#[cfg(any(feature = "async-std", feature = "smol"))]
pub trait Spawner {
    /// The runtime's join handle.
    type Handle<T: Send + 'static>: Future<Output = T>;

    /// The runtime's own spawn function.
    fn spawn<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// async-std's global executor.
#[cfg(feature = "async-std")]
impl Spawner for stagger::rt::AsyncStd {
    type Handle<T: Send + 'static> = async_std::task::JoinHandle<T>;

    fn spawn<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_std::task::spawn(future)
    }
}

/// smol's global executor.
#[cfg(feature = "smol")]
impl Spawner for stagger::rt::Smol {
    type Handle<T: Send + 'static> = smol::Task<T>;

    fn spawn<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        smol::spawn(future)
    }
}

/// Spawned tasks, each on an async-io timer, awaited through the runtime's
/// own join handles.
#[cfg(any(feature = "async-std", feature = "smol"))]
pub async fn spawned<S: Spawner>(delays: impl Delays) -> Vec<Duration> {
    let start = std::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let mut handles: FuturesUnordered<_> = delays
        .map(|d| {
            S::spawn(async move {
                async_io::Timer::at(start + d).await;
                d
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    while let Some(d) = handles.next().await {
        out.push(d);
    }
    out.sort_unstable();
    out
}

// ===== staggered work =====

/// Staggered work inline on tokio: a `FuturesUnordered` of "sleep until
/// `start + delay`, then work", outside tokio's coop budget.
#[cfg(feature = "tokio")]
pub async fn tokio_fu_work(delays: impl Delays) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let pending: FuturesUnordered<_> = (delays.enumerate())
        .map(|(i, d)| async move {
            tokio::time::sleep_until(start + d).await;
            (i, d, work(i).await)
        })
        .collect();
    tokio::task::coop::unconstrained(collect_work(n, pending)).await
}

/// Staggered work as tasks on tokio: a `JoinSet` of tasks that each sleep
/// until `start + delay`, then work.
#[cfg(feature = "tokio")]
pub async fn tokio_join_set_work(delays: impl Delays) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let mut set = tokio::task::JoinSet::new();
    for (i, d) in delays.enumerate() {
        set.spawn(async move {
            tokio::time::sleep_until(start + d).await;
            (i, d, work(i).await)
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(done) = set.join_next().await {
        let (index, delay, output) = done.unwrap();
        black_box((index, output));
        out.push(delay);
    }
    out
}

/// Staggered work inline on async-io timers.
#[cfg(any(feature = "async-std", feature = "smol"))]
pub async fn timers_work(delays: impl Delays) -> Vec<Duration> {
    let start = std::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let pending: FuturesUnordered<_> = (delays.enumerate())
        .map(|(i, d)| async move {
            async_io::Timer::at(start + d).await;
            (i, d, work(i).await)
        })
        .collect();
    collect_work(n, pending).await
}

/// Staggered work as tasks that each sleep on an async-io timer, then work,
/// awaited through the runtime's own join handles.
#[cfg(any(feature = "async-std", feature = "smol"))]
pub async fn spawned_work<S: Spawner>(delays: impl Delays) -> Vec<Duration> {
    let start = std::time::Instant::now();
    let delays = delays.into_iter();
    let n = delays.len();
    let handles: FuturesUnordered<_> = (delays.enumerate())
        .map(|(i, d)| {
            S::spawn(async move {
                async_io::Timer::at(start + d).await;
                (i, d, work(i).await)
            })
        })
        .collect();
    collect_work(n, handles).await
}

/// Staggered work inline on any stagger `Sleeper` (Sim's, in the benches):
/// a `FuturesUnordered` of "sleep until `start + delay`, then work" over its
/// sleeps, without stagger's fan-out.
pub async fn sleeper_fu_work<S: stagger::Sleeper>(
    sleeper: &S,
    delays: impl Delays,
) -> Vec<Duration> {
    let start = sleeper.now();
    let delays = delays.into_iter();
    let n = delays.len();
    let pending: FuturesUnordered<_> = (delays.enumerate())
        .map(|(i, d)| {
            let sleep = sleeper.sleep_until(start + d);
            async move {
                sleep.await;
                (i, d, work(i).await)
            }
        })
        .collect();
    collect_work(n, pending).await
}
