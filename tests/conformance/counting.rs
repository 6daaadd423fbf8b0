//! A backend wrapper that counts timers, records clock reads and deadlines,
//! and injects faults: sleeps that panic when polled, when dropped, or both.
//! It checks what the combinators ask of a `Sleeper`, and that a panicking
//! sleep can neither hang them nor leak a future.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use stagger::{Runtime, Sleeper, Spawn};

/// How a chosen sleep misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panics with [`PANIC`] when first polled.
    Poll,
    /// Panics with [`DROP_PANIC`] when dropped (unless already unwinding,
    /// which would abort).
    Drop,
    /// Both: panics when polled, and again when dropped.
    PollAndDrop,
}

impl Fault {
    fn in_poll(self) -> bool {
        matches!(self, Fault::Poll | Fault::PollAndDrop)
    }

    fn in_drop(self) -> bool {
        matches!(self, Fault::Drop | Fault::PollAndDrop)
    }
}

#[derive(Debug, Default)]
pub struct Log {
    /// How many times `now()` was read.
    pub now_reads: usize,
    /// Every deadline asked for, in call order.
    pub deadlines: Vec<Instant>,
    /// Sleeps created and not yet dropped.
    pub live: usize,
    /// The most sleeps ever live at once.
    pub max_live: usize,
    /// Sleeps created.
    pub created: usize,
    /// Sleeps that completed.
    pub fired: usize,
    /// How many times each sleep (by creation index) was dropped.
    pub drops: Vec<usize>,
    /// The sleeps (by creation index) that misbehave, and how.
    pub faults: Vec<(usize, Fault)>,
    /// How long every sleep blocks its thread in the poll that completes it.
    pub slow: Duration,
}

impl Log {
    /// Asserts that every sleep created was dropped exactly once.
    pub fn assert_each_dropped_once(&self) {
        assert_eq!(self.drops.len(), self.created);
        let wrong: Vec<_> = (self.drops.iter().enumerate())
            .filter(|&(_, &n)| n != 1)
            .collect();
        assert!(
            wrong.is_empty(),
            "(sleep, drops) not dropped once: {wrong:?}"
        );
        assert_eq!(self.live, 0);
    }
}

/// The payload of the panic a faulty sleep raises when polled.
pub const PANIC: &str = "a Counting sleep panicked on purpose";

/// The payload of the panic a faulty sleep raises when dropped.
pub const DROP_PANIC: &str = "a Counting sleep panicked in Drop on purpose";

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
        Counting::faulty(inner, &[(index, Fault::Poll)])
    }

    /// Like [`new`](Self::new), but each `(index, fault)`: the `index`-th
    /// sleep created misbehaves as `fault` says.
    pub fn faulty(inner: R, faults: &[(usize, Fault)]) -> Self {
        let counting = Counting::new(inner);
        counting.lock().faults = faults.to_vec();
        counting
    }

    /// Like [`new`](Self::new), but every sleep blocks its thread for
    /// `slow` in the poll that completes it: a slow poll, to race against.
    pub fn slow(inner: R, slow: Duration) -> Self {
        let counting = Counting::new(inner);
        counting.lock().slow = slow;
        counting
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        lock(&self.log)
    }

    /// Reads the log.
    pub fn log<T>(&self, read: impl FnOnce(&Log) -> T) -> T {
        read(&self.lock())
    }

    fn counted<S>(&self, sleep: S, deadline: Instant) -> Counted<S> {
        let mut log = self.lock();
        log.live += 1;
        log.max_live = log.max_live.max(log.live);
        log.deadlines.push(deadline);
        let index = log.created;
        let fault = (log.faults.iter())
            .find(|&&(at, _)| at == index)
            .map(|&(_, f)| f);
        log.created += 1;
        log.drops.push(0);
        Counted {
            sleep,
            fault,
            log: Arc::clone(&self.log),
            guard: Live {
                log: Arc::clone(&self.log),
                index,
                panics: fault.is_some_and(Fault::in_drop),
            },
        }
    }
}

/// Faults poison nothing: the log stays usable after a panic.
fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
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
        self.lock().now_reads += 1;
        self.inner.now()
    }

    // A wrapper forwards the backend's generator: on Sim, the seed's.
    fn rng(&self) -> stagger::FastRng {
        self.inner.rng()
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

/// Counts the drop of the sleep holding it, and raises its drop fault.
#[derive(Debug)]
struct Live {
    log: Arc<Mutex<Log>>,
    index: usize,
    panics: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        let mut log = lock(&self.log);
        log.live -= 1;
        log.drops[self.index] += 1;
        drop(log);
        // A second panic while unwinding would abort the test process.
        if self.panics && !std::thread::panicking() {
            panic!("{DROP_PANIC}");
        }
    }
}

pin_project! {
    #[derive(Debug)]
    pub struct Counted<S> {
        #[pin]
        sleep: S,
        fault: Option<Fault>,
        log: Arc<Mutex<Log>>,
        guard: Live,
    }
}

impl<S: Future<Output = ()>> Future for Counted<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.fault.is_some_and(Fault::in_poll) {
            panic!("{PANIC}");
        }
        let poll = this.sleep.poll(cx);
        if poll.is_ready() {
            let slow = lock(this.log).slow;
            std::thread::sleep(slow);
            lock(this.log).fired += 1;
        }
        poll
    }
}
