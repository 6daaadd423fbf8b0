//! A backend wrapper that counts live timers and records clock reads and
//! deadlines, to check what the combinators ask of a `Sleeper`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use stagger::{Runtime, Sleeper, Spawn};

#[derive(Debug, Default)]
pub struct Log {
    /// How many times `now()` was read.
    pub now_reads: usize,
    /// Every deadline asked for, in call order.
    pub deadlines: Vec<Instant>,
    /// Sleeps created and not yet dropped.
    pub live: usize,
    /// Sleeps created.
    pub created: usize,
    /// Sleeps that completed.
    pub fired: usize,
    /// The sleep (by creation index) that panics when polled.
    pub panic_at: Option<usize>,
}

/// The payload of the panic a [`Counting::panicking`] sleep raises.
pub const PANIC: &str = "a Counting sleep panicked on purpose";

#[derive(Debug, Clone)]
pub struct Counting<R> {
    inner: R,
    log: Arc<Mutex<Log>>,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Counting {
            inner,
            log: Arc::default(),
        }
    }

    /// Like [`new`](Self::new), but the `index`-th sleep created panics
    /// with [`PANIC`] when first polled.
    pub fn panicking(inner: R, index: usize) -> Self {
        let counting = Counting::new(inner);
        counting.log.lock().unwrap().panic_at = Some(index);
        counting
    }

    /// Reads the log.
    pub fn log<T>(&self, read: impl FnOnce(&Log) -> T) -> T {
        read(&self.log.lock().unwrap())
    }

    fn counted<S>(&self, sleep: S, deadline: Instant) -> Counted<S> {
        let mut log = self.log.lock().unwrap();
        log.live += 1;
        log.deadlines.push(deadline);
        let panics = log.panic_at == Some(log.created);
        log.created += 1;
        Counted {
            sleep,
            panics,
            log: Arc::clone(&self.log),
            guard: Live(Arc::clone(&self.log)),
        }
    }
}

impl<R: Sleeper> Sleeper for Counting<R> {
    type Sleep = Counted<R::Sleep>;

    fn sleep(&self, dur: Duration) -> Self::Sleep {
        let now = self.inner.now();
        match now.checked_add(dur) {
            Some(deadline) => self.sleep_until(deadline),
            None => self.counted(self.inner.sleep(dur), now),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        self.counted(self.inner.sleep_until(deadline), deadline)
    }

    fn now(&self) -> Instant {
        self.log.lock().unwrap().now_reads += 1;
        self.inner.now()
    }
}

impl<R: Spawn> Spawn for Counting<R> {
    type RawTask = R::RawTask;

    fn spawn_raw<F>(&self, task: F) -> R::RawTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.spawn_raw(task)
    }
}

impl<R: Runtime> Runtime for Counting<R> {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }
}

/// Decrements the live count when the sleep holding it is dropped.
#[derive(Debug)]
struct Live(Arc<Mutex<Log>>);

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(mut log) = self.0.lock() {
            log.live -= 1;
        }
    }
}

pin_project! {
    #[derive(Debug)]
    pub struct Counted<S> {
        #[pin]
        sleep: S,
        panics: bool,
        log: Arc<Mutex<Log>>,
        guard: Live,
    }
}

impl<S: Future<Output = ()>> Future for Counted<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.panics {
            panic!("{PANIC}");
        }
        let poll = this.sleep.poll(cx);
        if poll.is_ready() {
            this.log.lock().unwrap().fired += 1;
        }
        poll
    }
}
