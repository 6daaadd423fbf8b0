//! Models of the group behind the spawned fan-outs: members finishing,
//! panicking and being cancelled on their threads while the group's owner
//! polls or drops it on another.

use core::future::{pending, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};

use ::loom::future::block_on;

use super::{Drops, Gate, POLL_PANIC, PanicInPoll, Threads, model, panic_message};
use crate::group::{Group, Mode};

/// Polls `group` until it has no member left to wait for; returns the
/// outputs it yielded.
fn drain<T>(group: &mut Group<T, ()>) -> Vec<T> {
    block_on(async {
        let mut outputs = Vec::new();
        while let Some(output) = poll_fn(|cx| group.poll_next(cx)).await {
            outputs.push(output);
        }
        outputs
    })
}

/// A member finishes, with an output, on its thread while the group is
/// dropped on the main thread; another member, pending for ever, must be
/// cancelled by that drop however the two interleave (or its thread parks
/// for ever: a deadlock). Futures and outputs are each dropped once.
///
/// Checked against: a member that, pending, registers its waker without
/// checking again under the lock whether the group was cancelled (the
/// group's drop, between the member's first check and its registration,
/// finds no waker to wake): loom reports the deadlock.
#[test]
fn loom_member_finishes_vs_group_dropped() {
    model(5, || {
        let drops = Drops::default();
        let threads = Threads::default();
        let mut group = Group::new(2, Mode::Stream);
        let (guard, output) = (drops.guard(false), drops.guard(false));
        group.spawn(&threads, async move {
            let _guard = guard;
            output
        });
        let guard = drops.guard(false);
        group.spawn(&threads, async move {
            let _guard = guard;
            pending::<()>().await;
            unreachable!()
        });
        drop(group);
        threads.join();
        assert_eq!(drops.count(), 3, "two futures and an output, once each");
    });
}

/// The reservation hand-back: the owner reserves the running count a batch
/// at a time without the lock (two at a time under loom), members finish
/// and decrement it on their threads meanwhile, and the owner gives back
/// what it did not use when it polls. In count mode the owner is told the
/// group is done only when the count reaches zero: it must be, once, after
/// every member finished, whichever spawn, finish and hand-back come first.
///
/// Checked against: the spawner's batch reservation written as a load and a
/// store ("only the spawner raises the count") instead of an atomic add,
/// racing the members' decrements: loom finds the owner told that the group
/// is done with one member of three finished. And the hand-back made after
/// the owner's check of the count (it registers, gives back, and the count
/// it brings to zero wakes nobody): loom reports the owner parked for ever.
///
/// With three members and batches of two under loom, the owner is also
/// woken mid-way to free the first two members' handles, and must register
/// again. Checked against: a poll that, woken for a batch, frees it and
/// returns pending without registering: loom reports the owner parked for
/// ever.
#[test]
fn loom_reservation_hand_back() {
    model(3, || {
        let drops = Drops::default();
        let threads = Threads::default();
        let mut group = Group::new(3, Mode::Count);
        for _ in 0..3 {
            let guard = drops.guard(false);
            group.spawn(&threads, async move { drop(guard) });
        }
        assert!(drain(&mut group).is_empty());
        assert_eq!(drops.count(), 3, "the group ended before its members");
        threads.join();
    });
}

/// A member panics in its poll while another is pending for ever and the
/// owner polls the group: the panic cancels the other member (its thread
/// ends although the group is still alive) and resumes in the owner.
///
/// Checked against: a panic that does not cancel the other members (only
/// recorded for the owner): the pending member is never woken, and loom
/// reports the deadlock.
#[test]
fn loom_panic_in_poll_cancels_the_rest() {
    model(4, || {
        let drops = Drops::default();
        let threads = Threads::default();
        let mut group = Group::new(2, Mode::Stream);
        let guard = drops.guard(false);
        group.spawn(&threads, async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let guard = drops.guard(false);
        group.spawn(&threads, async move {
            let _guard = guard;
            PanicInPoll.await;
        });
        let resumed = catch_unwind(AssertUnwindSafe(|| drain(&mut group))).unwrap_err();
        assert_eq!(panic_message(resumed.as_ref()), Some(POLL_PANIC));
        threads.join();
        assert_eq!(drops.count(), 2);
        drop(group);
    });
}

/// The group is dropped (cancel) while another thread wakes a member whose
/// future stays pending after that wake, and whose destructor panics when
/// the cancellation drops it: the cancellation must not be lost to the
/// other wake, and the panic must stay inside the member (its thread, the
/// runtime's, ends normally), however the three interleave.
///
/// Checked against: a cancelled member dropping its future without catching
/// the destructor's panic: loom reports the panic escaping from the
/// member's thread.
#[test]
fn loom_cancel_vs_wake_with_a_panic_in_drop() {
    model(4, || {
        let drops = Drops::default();
        let threads = Threads::default();
        let gate = Gate::new();
        let mut group = Group::new(1, Mode::Stream);
        let guard = drops.guard(true);
        let wait = gate.wait();
        group.spawn(&threads, async move {
            let _guard = guard;
            wait.await;
            pending::<()>().await;
        });
        let opener = ::loom::thread::spawn(move || gate.open());
        drop(group);
        opener.join().unwrap();
        threads.join();
        assert_eq!(drops.count(), 1);
    });
}
