//! Loom models of the concurrency core: `src/task.rs` (one task and its
//! [`JoinHandle`](crate::JoinHandle)) and `src/group.rs` (the spawned
//! fan-outs' group), each a small `::loom::model` of one race, after tokio's
//! `tokio/src/runtime/tests/loom_*.rs`. Built only under `--cfg loom`, where
//! [`crate::loom`] hands the core loom's `Arc`, `Mutex`, atomics and
//! thread-locals:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib --target-dir target/loom loom
//! ```
//!
//! The harness is a runtime of one loom thread per task: the thread polls
//! its task with `::loom::future::block_on`, parking between wakes, so a lost
//! wake-up is a thread parked for ever, which loom reports as a deadlock.
//! Drops are counted with std's atomics (bookkeeping that loom need not
//! permute, read after the threads are joined or by the thread that ran
//! them); what synchronises (the gates that wake tasks from outside) is
//! loom's.
//!
//! Each model names the interleaving it is for and the bug it was checked
//! against: injected by hand into the core, loom reported it (the failure
//! is named there), and the injection was reverted.
//!
//! Every model is bounded to 3–5 preemptions per execution
//! (`LOOM_MAX_PREEMPTIONS` overrides the bound), tokio's practice: each
//! injected bug was found within 2–3, and the whole run stays around a
//! minute of CPU in release.

mod group;
mod task;

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};

use ::loom::future::AtomicWaker;
use ::loom::sync::Arc;
use ::loom::sync::atomic::AtomicBool;

/// The message of the panics the models raise on purpose.
const POLL_PANIC: &str = "loom model: a panic in poll";
const DROP_PANIC: &str = "loom model: a panic in drop";

/// Keeps the panics raised on purpose, caught by the core thousands of
/// times a model, out of the output; any other panic (a failed model) is
/// printed as usual.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !matches!(panic_message(info.payload()), Some(POLL_PANIC | DROP_PANIC)) {
                default(info);
            }
        }));
    });
}

/// Runs `model` under loom with at most `preemptions` preemptions per
/// execution (`LOOM_MAX_PREEMPTIONS` overrides it): the bound that keeps
/// the models within CI's time, as tokio bounds its own.
fn model(preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    quiet_panics();
    let mut builder = ::loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(preemptions));
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.check(model)));
    if let Err(payload) = checked {
        match panic_message(payload.as_ref()) {
            // Quiet until here: say it.
            Some(message @ (POLL_PANIC | DROP_PANIC)) => {
                panic!("{message:?} escaped into the thread that ran it")
            }
            _ => std::panic::resume_unwind(payload),
        }
    }
}

/// Counts drops: of the futures and outputs in a model.
#[derive(Clone, Default)]
struct Drops(std::sync::Arc<StdAtomicUsize>);

impl Drops {
    /// A value that counts its drop here, and panics in it if `panic`.
    fn guard(&self, panic: bool) -> Guard {
        Guard(self.clone(), panic)
    }

    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

struct Guard(Drops, bool);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, SeqCst);
        if self.1 {
            panic!("{}", DROP_PANIC);
        }
    }
}

/// A wake from outside the task: a future pending until another thread
/// [opens](Gate::open) it.
#[derive(Clone)]
struct Gate(Arc<GateInner>);

struct GateInner {
    open: AtomicBool,
    waker: AtomicWaker,
}

impl Gate {
    fn new() -> Self {
        Gate(Arc::new(GateInner {
            open: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }))
    }

    fn open(&self) {
        self.0
            .open
            .store(true, ::loom::sync::atomic::Ordering::Release);
        self.0.waker.wake();
    }

    /// Pending until the gate is open.
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.clone();
        core::future::poll_fn(move |cx: &mut Context<'_>| {
            gate.0.waker.register_by_ref(cx.waker());
            if gate.0.open.load(::loom::sync::atomic::Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// The message of a panic payload, if it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// A future that panics with [`POLL_PANIC`] when polled.
struct PanicInPoll;

impl Future for PanicInPoll {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        panic!("{}", POLL_PANIC);
    }
}

/// A runtime of one loom thread per task, for [`Group`](crate::group::Group):
/// the thread polls the task until it completes, parked between wakes.
#[derive(Default)]
struct Threads(std::sync::Mutex<Vec<::loom::thread::JoinHandle<()>>>);

impl Threads {
    /// Waits for every task to complete.
    fn join(&self) {
        let threads = std::mem::take(&mut *self.0.lock().unwrap());
        for thread in threads {
            thread.join().unwrap();
        }
    }
}

impl crate::Spawn for Threads {
    type RawTask = ();

    fn spawn_raw<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
        let thread = ::loom::thread::spawn(move || ::loom::future::block_on(task));
        self.0.lock().unwrap().push(thread);
    }
}
