//! A backend of your own: futures' `ThreadPool` for tasks, async-io's
//! `Timer` for sleeps, and the exercise's five functions (plus staggered
//! work) running on it, with no stagger backend feature at all.
//!
//! ```text
//! cargo run --no-default-features --example custom_backend
//! ```
//!
//! A backend implements three traits: [`Sleeper`] (a sleep type and the
//! clock it runs on), [`Spawn`] (starting a task) and [`Runtime`] (blocking
//! on a future from synchronous code). stagger's combinators, handles and
//! guarantees then come with it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::executor::ThreadPool;
use stagger::{Runtime, Sleeper, Spawn};

/// futures' thread pool with async-io's timers: cheap to clone, shared
/// between threads, as stagger's fan-outs need.
#[derive(Clone, Debug)]
struct Pool(ThreadPool);

/// async-io's timer as a future of `()`, as [`Sleeper`] wants.
#[derive(Debug)]
struct Sleep(async_io::Timer);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl Sleeper for Pool {
    type Sleep = Sleep;

    // async-io's timers compute their deadline when created, and a deadline
    // past what an `Instant` holds never fires: what the trait asks.
    fn sleep(&self, dur: Duration) -> Sleep {
        Sleep(async_io::Timer::after(dur))
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep(async_io::Timer::at(deadline))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    // `rng` keeps its default: a fast generator seeded from the thread's,
    // right for a backend on real time. A backend that replays runs from a
    // seed overrides it; a wrapper around another backend forwards it.
}

impl Spawn for Pool {
    /// The pool gives no handle to a task it runs: `()` is the answer then.
    /// stagger's own `JoinHandle` does the joining, cancelling and panic
    /// reporting for every backend alike.
    type RawTask = ();

    fn spawn_raw<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn_ok(task);
    }
}

impl Runtime for Pool {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        // async-io's block_on also drives its timers while it waits.
        async_io::block_on(future)
    }
}

fn main() -> Result<(), std::io::Error> {
    let pool = Pool(ThreadPool::builder().pool_size(2).create()?);
    let max = Duration::from_millis(20);

    let delay = pool.block_on(stagger::wait_random(&pool, max));
    println!("wait_random       slept {delay:?}");

    let delays = pool.block_on(stagger::wait_n(&pool, 5, max));
    assert!(delays.is_sorted());
    println!("wait_n            {delays:.1?}");

    let delay = pool.block_on(async { stagger::task_wait_random(&pool, max).await });
    println!("task_wait_random  {delay:?}, on a pool thread");

    let delays = pool.block_on(stagger::task_wait_n(&pool, 5, max));
    assert!(delays.is_sorted());
    println!("task_wait_n       {delays:.1?}");

    let m = stagger::measure_time(&pool, 100, max);
    assert!(m.total >= m.longest);
    println!(
        "measure_time      {:?} for {} waiters, {:?} per task",
        m.total, m.n, m.per_task
    );

    let clients = stagger::task_staggered(&pool, 0..5, max, |id| async move { id * 10 });
    let done: Vec<_> = pool.block_on(clients.collect());
    assert_eq!(done.len(), 5);
    println!(
        "task_staggered    {} clients started, each after its own delay",
        done.len()
    );
    Ok(())
}
