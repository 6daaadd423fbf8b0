//! The tokio backend.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use ::tokio::runtime::Handle;
use ::tokio::task::coop::{Unconstrained, unconstrained};
use ::tokio::time::{Instant, Sleep};
use pin_project_lite::pin_project;

use crate::{Runtime, Sleeper, Spawn};

/// The [tokio](https://docs.rs/tokio) backend: tokio's timer and spawner.
///
/// Inside async code it uses the ambient tokio runtime, so its clock is
/// tokio's (paused time included). [`block_on`](Runtime::block_on) builds a
/// fresh current-thread runtime with every driver the enabled tokio features
/// provide, time included, on each call.
///
/// # Cooperative scheduling
///
/// Tokio gives each task a budget of operations and makes timers return
/// `Pending` once it is spent. A task that polls many sleeps at once, as
/// [`wait_n`](crate::wait_n) does, would then re-poll them over and over, a
/// cost quadratic in their number. [`TokioSleep`] is therefore polled outside
/// the budget (with [`tokio::task::coop::unconstrained`](::tokio::task::coop::unconstrained)); the combinators
/// still yield to the scheduler, through `FuturesUnordered`.
///
/// # Panics
///
/// Spawning outside a tokio runtime panics with a message naming the fix, and
/// so does polling a [`TokioSleep`] (with tokio's message): call them inside
/// [`Tokio.block_on`](Runtime::block_on), `#[tokio::main]` or a tokio task.
/// Creating a `TokioSleep`, and so calling [`wait_n`](crate::wait_n) or
/// [`task_wait_n`](crate::task_wait_n), is fine anywhere.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rt::Tokio;
///
/// let delays = Tokio.block_on(stagger::wait_n(&Tokio, 3, Duration::from_millis(5)));
/// assert_eq!(delays.len(), 3);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tokio;

const NO_RUNTIME: &str = "stagger::rt::Tokio cannot spawn outside a tokio runtime: \
    spawn from inside `Tokio.block_on(...)`, `#[tokio::main]` or a tokio task";

impl Sleeper for Tokio {
    type Sleep = TokioSleep;

    fn sleep(&self, dur: Duration) -> TokioSleep {
        TokioSleep::new(Instant::now().checked_add(dur))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> TokioSleep {
        TokioSleep::new(Some(Instant::from_std(deadline)))
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

impl Spawn for Tokio {
    /// Dropping tokio's handle detaches the task.
    type RawTask = ::tokio::task::JoinHandle<()>;

    #[track_caller]
    fn spawn_raw<F>(&self, task: F) -> Self::RawTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match Handle::try_current() {
            Ok(runtime) => runtime.spawn(task),
            Err(_) => panic!("{NO_RUNTIME}"),
        }
    }
}

/// Panics if `backend`'s `block_on` is called where it must not block: in
/// a tokio runtime (tokio forbids it) or in a task spawned through stagger.
#[track_caller]
fn forbid_nesting(backend: &str) {
    if Handle::try_current().is_ok() {
        panic!(
            "stagger::rt::{backend}::block_on called inside a tokio runtime, which cannot block \
             on another runtime: `.await` the future instead (in `#[tokio::main]`, a tokio task \
             or another `block_on`)"
        );
    }
    crate::task::forbid_block_on_in_task(backend);
}

impl Runtime for Tokio {
    /// Runs `future` to completion on a new current-thread runtime, with
    /// every driver enabled.
    ///
    /// # Panics
    ///
    /// Panics inside a tokio runtime (tokio forbids blocking one thread of a
    /// runtime on another) and inside any task spawned through stagger:
    /// `.await` the future there instead.
    #[track_caller]
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        forbid_nesting("Tokio");
        ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("stagger: failed to build a tokio current-thread runtime")
            .block_on(future)
    }
}

// ===== a given runtime =====

/// The tokio backend bound to a given runtime, by its
/// [`Handle`](::tokio::runtime::Handle): spawns go to that runtime from any
/// thread, sleeps run on its timer wherever they are polled, and
/// [`block_on`](Runtime::block_on) runs on it, a multi-thread runtime
/// included.
///
/// Use it where stagger is called outside the runtime it should use: from
/// synchronous code, from threads of your own, or from another executor.
/// Inside that runtime, [`Tokio`] does the same with less.
///
/// # Panics
///
/// [`block_on`](Runtime::block_on) panics inside a tokio runtime or a task
/// spawned through stagger, as [`Tokio`]'s does, and on a current-thread
/// runtime's handle: only that runtime's own `block_on` drives its timers,
/// so use it (or [`Tokio`]) there.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rt::TokioHandle;
///
/// let runtime = tokio::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .enable_all()
///     .build()?;
/// let rt = TokioHandle::new(runtime.handle().clone());
/// // From a thread that knows nothing of tokio:
/// let delays = std::thread::spawn(move || {
///     rt.block_on(stagger::task_wait_n(&rt, 100, Duration::from_millis(5)))
/// })
/// .join()
/// .unwrap();
/// assert_eq!(delays.len(), 100);
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Clone, Debug)]
pub struct TokioHandle(Handle);

impl TokioHandle {
    /// The backend of the runtime `handle` belongs to.
    pub fn new(handle: Handle) -> Self {
        TokioHandle(handle)
    }

    /// The backend of the runtime this is called in.
    ///
    /// # Panics
    ///
    /// Panics outside a tokio runtime, with a message naming the fix.
    #[track_caller]
    pub fn current() -> Self {
        match Handle::try_current() {
            Ok(handle) => TokioHandle(handle),
            Err(_) => panic!(
                "stagger::rt::TokioHandle::current called outside a tokio runtime: call it \
                 inside one, or pass a runtime's handle to TokioHandle::new"
            ),
        }
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.0
    }
}

impl From<Handle> for TokioHandle {
    fn from(handle: Handle) -> Self {
        TokioHandle(handle)
    }
}

impl Sleeper for TokioHandle {
    type Sleep = TokioHandleSleep;

    fn sleep(&self, dur: Duration) -> TokioHandleSleep {
        self.bind(self.instant().checked_add(dur))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> TokioHandleSleep {
        self.bind(Some(Instant::from_std(deadline)))
    }

    fn now(&self) -> std::time::Instant {
        self.instant().into_std()
    }
}

impl TokioHandle {
    fn bind(&self, deadline: Option<Instant>) -> TokioHandleSleep {
        TokioHandleSleep {
            handle: self.0.clone(),
            sleep: TokioSleep::new(deadline),
        }
    }

    /// The runtime's clock: its own paused time included.
    fn instant(&self) -> Instant {
        let _inside = self.0.enter();
        Instant::now()
    }
}

impl Spawn for TokioHandle {
    /// Dropping tokio's handle detaches the task.
    type RawTask = ::tokio::task::JoinHandle<()>;

    fn spawn_raw<F>(&self, task: F) -> Self::RawTask
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(task)
    }
}

impl Runtime for TokioHandle {
    /// Runs `future` to completion on the runtime, blocking this thread.
    ///
    /// # Panics
    ///
    /// Panics inside a tokio runtime or a task spawned through stagger, and
    /// on a current-thread runtime's handle; see [`TokioHandle`].
    #[track_caller]
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        forbid_nesting("TokioHandle");
        if self.0.runtime_flavor() == ::tokio::runtime::RuntimeFlavor::CurrentThread {
            panic!(
                "stagger::rt::TokioHandle::block_on on a current-thread runtime's handle: only \
                 the runtime's own block_on drives its timers, so this would wait forever; call \
                 that, or use stagger::rt::Tokio"
            );
        }
        self.0.block_on(future)
    }
}

pin_project! {
    /// Future returned by [`Tokio`]'s [`Sleeper`] methods.
    ///
    /// The deadline is fixed at creation, but tokio's timer is only armed at
    /// the first poll, so a `TokioSleep` can be created outside a runtime and
    /// awaited inside one. A deadline tokio cannot represent (past
    /// `Instant`'s range, or within a millisecond of its end) never fires.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::rt::{Tokio, TokioSleep};
    ///
    /// // Created outside any runtime, awaited inside one.
    /// let sleep: TokioSleep = Tokio.sleep(Duration::from_millis(1));
    /// Tokio.block_on(sleep);
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct TokioSleep {
        #[pin]
        timer: Timer,
    }
}

pin_project! {
    #[project = TimerProj]
    enum Timer {
        // Not polled yet. `None`: past what `Instant` can hold, so it never
        // fires.
        Idle { deadline: Option<Instant> },
        Armed { #[pin] sleep: Unconstrained<Sleep> },
    }
}

impl TokioSleep {
    fn new(deadline: Option<Instant>) -> Self {
        TokioSleep {
            timer: Timer::Idle {
                // tokio rounds every deadline up to its next millisecond,
                // and panics if that overflows `Instant`: such a deadline is
                // as unreachable as one past `Instant`'s range.
                deadline: deadline.filter(|at| at.checked_add(Duration::from_millis(1)).is_some()),
            },
        }
    }

    fn is_armed(&self) -> bool {
        matches!(self.timer, Timer::Armed { .. })
    }
}

impl fmt::Debug for TokioSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TokioSleep");
        match &self.timer {
            Timer::Idle { deadline } => debug.field("deadline", deadline),
            Timer::Armed { .. } => debug.field("armed", &true),
        };
        debug.finish()
    }
}

impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut timer = self.project().timer;
        loop {
            match timer.as_mut().project() {
                TimerProj::Armed { sleep } => return sleep.poll(cx),
                TimerProj::Idle { deadline: None } => return Poll::Pending,
                TimerProj::Idle {
                    deadline: Some(deadline),
                } => {
                    let sleep = unconstrained(::tokio::time::sleep_until(*deadline));
                    timer.set(Timer::Armed { sleep });
                }
            }
        }
    }
}

pin_project! {
    /// Future returned by [`TokioHandle`]'s [`Sleeper`] methods: a
    /// [`TokioSleep`] armed on the handle's runtime, wherever it is polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::prelude::*;
    /// use stagger::rt::{TokioHandle, TokioHandleSleep};
    ///
    /// let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    /// let rt = TokioHandle::new(runtime.handle().clone());
    /// let sleep: TokioHandleSleep = rt.sleep(Duration::from_millis(1));
    /// futures::executor::block_on(sleep); // not a tokio thread
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct TokioHandleSleep {
        handle: Handle,
        #[pin]
        sleep: TokioSleep,
    }
}

impl Future for TokioHandleSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // tokio's sleep binds to the runtime it is made in: its first poll.
        let _inside = (!this.sleep.is_armed()).then(|| this.handle.enter());
        this.sleep.poll(cx)
    }
}

impl fmt::Debug for TokioHandleSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TokioHandleSleep")
            .field(&self.sleep)
            .finish()
    }
}
