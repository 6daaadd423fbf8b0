//! Models of one task and its [`JoinHandle`]: detach, drop, abort and
//! panics against the task's own poll on another thread.

use core::future::pending;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use ::loom::future::block_on;
use ::loom::thread;

use super::{DROP_PANIC, Drops, Gate, POLL_PANIC, PanicInPoll, model};
use crate::task::{JoinHandle, pair};

/// Spawns `future` as a task on a thread of its own.
fn spawn<F>(future: F) -> (JoinHandle<F::Output>, thread::JoinHandle<()>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, handle) = pair(future);
    (handle, thread::spawn(move || block_on(task)))
}

/// The handle is detached on the main thread while the task, woken from a
/// third thread, polls and completes: however the three interleave, the
/// task runs to its end, and its future and output are each dropped once.
///
/// Checked against: `detach` written as "drop the handle, then mark the slot
/// detached" (the drop marks it cancelled and wakes the task first, a
/// check-then-act race): loom finds the detached task cancelled.
#[test]
fn loom_detach_vs_completion() {
    model(5, || {
        let drops = Drops::default();
        let finished = std::sync::Arc::new(AtomicBool::new(false));
        let gate = Gate::new();
        let (future_guard, output) = (drops.guard(false), drops.guard(false));
        let wait = gate.wait();
        let done = finished.clone();
        let (handle, task) = spawn(async move {
            let _guard = future_guard;
            wait.await;
            done.store(true, SeqCst);
            output
        });
        let opener = thread::spawn(move || gate.open());
        handle.detach();
        opener.join().unwrap();
        task.join().unwrap();
        assert!(finished.load(SeqCst), "a detached task was cancelled");
        assert_eq!(drops.count(), 2, "the future and the output, once each");
    });
}

/// The handle is dropped (cancel) while another thread wakes the task, whose
/// future stays pending after that wake: both wakes race for the task's
/// waker, and the cancellation must not be lost (the task would then be
/// parked for ever: a deadlock) nor the future dropped twice.
///
/// Checked against: `JoinHandle`'s drop taking the task's waker under one
/// lock and marking the slot dropped under another: the task, woken by the
/// first, polls in between, sees itself attached, re-registers and parks;
/// loom reports the deadlock.
#[test]
fn loom_cancel_vs_wake() {
    model(5, || {
        let drops = Drops::default();
        let gate = Gate::new();
        let guard = drops.guard(false);
        let wait = gate.wait();
        let (handle, task) = spawn(async move {
            let _guard = guard;
            wait.await;
            pending::<()>().await;
        });
        let opener = thread::spawn(move || gate.open());
        drop(handle);
        opener.join().unwrap();
        task.join().unwrap();
        assert_eq!(drops.count(), 1);
    });
}

/// `abort` on the main thread, then awaiting the handle, while the task,
/// woken from a third thread, polls and completes: the await returns only
/// once the future is gone, with the output if the task finished first and
/// a cancelled error otherwise; across the executions, both outcomes occur.
///
/// Checked against: the aborted task completing its handle before dropping
/// its future: loom finds the await returning while the future lives (drop
/// count 0).
#[test]
fn loom_abort_vs_completion() {
    let outcomes = std::sync::Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let seen = outcomes.clone();
    model(4, move || {
        let drops = Drops::default();
        let gate = Gate::new();
        let guard = drops.guard(false);
        let wait = gate.wait();
        let (handle, task) = spawn(async move {
            let _guard = guard;
            wait.await;
            7
        });
        let opener = thread::spawn(move || gate.open());
        handle.abort();
        let joined = block_on(handle.try_join());
        assert_eq!(
            drops.count(),
            1,
            "the aborted task's future outlived the await"
        );
        match joined {
            Ok(output) => {
                assert_eq!(output, 7);
                seen[0].store(true, SeqCst);
            }
            Err(err) => {
                assert!(err.is_cancelled(), "{err:?}");
                seen[1].store(true, SeqCst);
            }
        }
        opener.join().unwrap();
        task.join().unwrap();
    });
    assert!(outcomes[0].load(SeqCst), "the task never finished first");
    assert!(outcomes[1].load(SeqCst), "the abort never came first");
}

/// A task whose poll panics, awaited from the main thread: the handle
/// resolves to the panic whichever comes first, the await or the panic, and
/// the future is dropped once.
///
/// Checked against: `poll_task` handing back the panic without dropping
/// the future, left to the task's destructor: loom finds the handle
/// resolving to a cancellation instead of the panic (the late drop
/// overwrote it).
#[test]
fn loom_panic_in_poll() {
    model(5, || {
        let drops = Drops::default();
        let guard = drops.guard(false);
        let (handle, task) = spawn(async move {
            let _guard = guard;
            PanicInPoll.await;
        });
        let err = block_on(handle.try_join()).unwrap_err();
        assert_eq!(drops.count(), 1, "the panicked future outlived the await");
        assert_eq!(
            super::panic_message(err.into_panic().as_ref()),
            Some(POLL_PANIC)
        );
        task.join().unwrap();
    });
}

/// The handle is dropped while the task polls on its thread; the future's
/// destructor panics when the cancellation drops it. Nobody is left to hear
/// of it: the panic must stay inside the task (the thread, the runtime's,
/// ends normally) however the drop and the poll interleave; and an aborted
/// task reports it to its handle.
///
/// Checked against: the cancelled task dropping its future without
/// catching the destructor's panic: loom reports the panic escaping from
/// the task's thread.
#[test]
fn loom_panic_in_drop() {
    model(5, || {
        let drops = Drops::default();
        let gate = Gate::new();
        let guard = drops.guard(true);
        let wait = gate.wait();
        let (handle, task) = spawn(async move {
            let _guard = guard;
            wait.await;
            pending::<()>().await;
        });
        let opener = thread::spawn(move || gate.open());
        drop(handle);
        opener.join().unwrap();
        task.join()
            .expect("a destructor's panic escaped into the runtime");
        assert_eq!(drops.count(), 1);
    });
    model(5, || {
        let drops = Drops::default();
        let guard = drops.guard(true);
        let (handle, task) = spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        handle.abort();
        let err = block_on(handle.try_join()).unwrap_err();
        assert_eq!(
            super::panic_message(err.into_panic().as_ref()),
            Some(DROP_PANIC)
        );
        task.join()
            .expect("a destructor's panic escaped into the runtime");
        assert_eq!(drops.count(), 1);
    });
}
