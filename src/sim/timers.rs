//! The simulation's pending timers: a sorted run, a small heap, and a batch
//! of new arrivals.
//!
//! Timers come in two shapes: bursts (a fan-out registers a million sleeps,
//! then they fire one by one) and trickles (a task sleeps, wakes, sleeps
//! again). A new timer is pushed, unsorted, onto `new`. When the next timer
//! is wanted, the batch is settled: if it is as large as the sorted `run`, it
//! is sorted (a fast, cache-friendly `sort_unstable`) and merged into the
//! run, together with the heap; otherwise its few entries go into a binary
//! `heap`. The run is kept in descending order, so the earliest timer is
//! popped from its end, and the next timer is the earlier of the run's last
//! entry and the heap's top. Each entry is merged O(log n) times at most, so
//! every operation is O(log n) amortized; a burst costs one sort, and firing
//! walks the run sequentially. For a million random deadlines this is
//! several times faster than a `BTreeMap`, or a `BinaryHeap` alone, whose
//! every pop misses the cache level after level.
//!
//! Each entry carries its waker, so firing touches nothing else. The rarer
//! operations are lazy: a cancelled timer's sequence number goes in a set and
//! its entry is skipped when reached (or dropped when cancelled entries
//! outnumber live ones and everything is compacted); a timer re-polled with a
//! different waker records it in a side table, consulted when it fires.
//!
//! Dropping a waker may run arbitrary code, so the wakers this structure lets
//! go of are kept in `garbage` for the caller to drop once its lock is
//! released.

use core::cmp::{Ordering, Reverse};
use core::time::Duration;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::task::Waker;
use std::time::Instant;

/// Compact once this many cancelled entries outnumber live ones.
const COMPACT_AT: usize = 1024;

/// New entries and the heap are merged into the run once they number this
/// many and at least as many as the run.
const MERGE_AT: usize = 64;

/// One registered timer, ordered by deadline, then creation order.
struct Entry {
    /// Deadline, as an offset from the base.
    at: Duration,
    /// Creation order, among equal deadlines; unique per timer.
    seq: u64,
    waker: Waker,
}

impl Entry {
    fn key(&self) -> (Duration, u64) {
        (self.at, self.seq)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

pub(super) struct Timers {
    base: Instant,
    /// Merged entries, latest first: the earliest is at the end.
    run: Vec<Entry>,
    /// Entries settled since the last merge, earliest on top.
    heap: BinaryHeap<Reverse<Entry>>,
    /// Entries registered since the last settle, in no order.
    new: Vec<Entry>,
    /// Timers registered and neither fired nor cancelled.
    live: usize,
    /// Timers cancelled while their entry is still stored.
    cancelled: HashSet<u64>,
    /// Wakers that replace the one in a timer's entry.
    rewoken: BTreeMap<u64, Waker>,
    /// Wakers let go of, for the caller to drop outside its lock.
    garbage: Vec<Waker>,
}

impl Timers {
    pub(super) fn new(base: Instant) -> Self {
        Timers {
            base,
            run: Vec::new(),
            heap: BinaryHeap::new(),
            new: Vec::new(),
            live: 0,
            cancelled: HashSet::new(),
            rewoken: BTreeMap::new(),
            garbage: Vec::new(),
        }
    }

    /// How many timers are pending.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Registers timer `seq` to wake `waker` at `deadline`. Each timer
    /// registers once.
    pub(super) fn insert(&mut self, deadline: Instant, seq: u64, waker: Waker) {
        let at = deadline.duration_since(self.base);
        self.new.push(Entry { at, seq, waker });
        self.live += 1;
    }

    /// Makes pending timer `seq`, polled again, wake `waker`. The entry's
    /// own waker is out of reach, so the first re-poll always records one.
    pub(super) fn set_waker(&mut self, seq: u64, waker: &Waker) {
        match self.rewoken.get_mut(&seq) {
            Some(old) if old.will_wake(waker) => {}
            Some(old) => self.garbage.push(core::mem::replace(old, waker.clone())),
            None => {
                self.rewoken.insert(seq, waker.clone());
            }
        }
    }

    /// Cancels pending timer `seq`.
    pub(super) fn cancel(&mut self, seq: u64) {
        self.garbage.extend(self.rewoken.remove(&seq));
        self.cancelled.insert(seq);
        self.live -= 1;
        if self.cancelled.len() >= COMPACT_AT && self.cancelled.len() > self.live {
            self.compact();
        }
    }

    /// Drops every cancelled entry.
    fn compact(&mut self) {
        let mut kept = Vec::with_capacity(self.live);
        let heap = self.heap.drain().map(|entry| entry.0);
        for entry in self.run.drain(..).chain(heap).chain(self.new.drain(..)) {
            if self.cancelled.contains(&entry.seq) {
                self.garbage.push(entry.waker);
            } else {
                kept.push(entry);
            }
        }
        kept.sort_unstable_by(|a, b| b.cmp(a));
        self.run = kept;
        self.cancelled.clear();
    }

    /// Moves the new entries into the heap, or merges them and the heap into
    /// the run once they are as many as it holds.
    fn settle(&mut self) {
        if self.new.is_empty() {
            return;
        }
        if self.new.len() + self.heap.len() < MERGE_AT.max(self.run.len()) {
            self.heap.extend(self.new.drain(..).map(Reverse));
            return;
        }
        let mut batch = core::mem::take(&mut self.new);
        batch.extend(
            core::mem::take(&mut self.heap)
                .into_vec()
                .into_iter()
                .map(|e| e.0),
        );
        // Latest first, like the run.
        batch.sort_unstable_by(|a, b| b.cmp(a));
        if self.run.is_empty() {
            self.run = batch;
            return;
        }
        let mut merged = Vec::with_capacity(self.run.len() + batch.len());
        let mut run = core::mem::take(&mut self.run).into_iter().peekable();
        let mut batch = batch.into_iter().peekable();
        loop {
            let next = match (run.peek(), batch.peek()) {
                (Some(a), Some(b)) if a >= b => run.next(),
                (_, Some(_)) => batch.next(),
                (Some(_), None) => run.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.run = merged;
    }

    /// Removes and returns the earliest entry, live or cancelled. Needs the
    /// new entries settled.
    fn pop(&mut self) -> Option<Entry> {
        let heap_first = match (self.run.last(), self.heap.peek()) {
            (Some(a), Some(b)) => b.0 < *a,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if heap_first {
            self.heap.pop().map(|e| e.0)
        } else {
            self.run.pop()
        }
    }

    /// The deadline of the earliest entry, live or cancelled. Needs the new
    /// entries settled.
    fn peek_at(&self) -> Option<Duration> {
        let run = self.run.last().map(|e| e.at);
        let heap = self.heap.peek().map(|e| e.0.at);
        match (run, heap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The earliest pending deadline, or `None` if no timer is pending.
    pub(super) fn next_deadline(&mut self) -> Option<Instant> {
        self.settle();
        while self.live > 0 {
            let (at, seq) = {
                let run = self.run.last();
                let heap = self.heap.peek().map(|e| &e.0);
                let first = match (run, heap) {
                    (Some(a), Some(b)) => Some(if b < a { b } else { a }),
                    (a, b) => a.or(b),
                };
                match first {
                    Some(entry) => (entry.at, entry.seq),
                    None => break,
                }
            };
            if !self.cancelled.contains(&seq) {
                return Some(self.base + at);
            }
            // A cancelled entry first: drop it and look further.
            if let Some(entry) = self.pop() {
                self.cancelled.remove(&entry.seq);
                self.garbage.push(entry.waker);
            }
        }
        None
    }

    /// Removes the timers of the earliest pending deadline and appends their
    /// wakers to `fired`, in creation order (and their numbers to `seqs`,
    /// when tracing); returns that deadline, or `None` if no timer is
    /// pending.
    pub(super) fn fire_next(
        &mut self,
        fired: &mut Vec<Waker>,
        mut seqs: Option<&mut Vec<u64>>,
    ) -> Option<Instant> {
        self.settle();
        let before = fired.len();
        while self.live > 0 {
            let Some(entry) = self.pop() else { break };
            let at = entry.at;
            self.fire(entry, fired, seqs.as_deref_mut());
            if fired.len() == before {
                // Cancelled: look further.
                continue;
            }
            // Every other timer due then, in creation order.
            while self.peek_at() == Some(at) {
                if let Some(entry) = self.pop() {
                    self.fire(entry, fired, seqs.as_deref_mut());
                }
            }
            return Some(self.base + at);
        }
        self.clear();
        None
    }

    /// Appends `entry`'s waker to `fired` (and its number to `seqs`),
    /// unless it was cancelled.
    fn fire(&mut self, entry: Entry, fired: &mut Vec<Waker>, seqs: Option<&mut Vec<u64>>) {
        if !self.cancelled.is_empty() && self.cancelled.remove(&entry.seq) {
            self.garbage.push(entry.waker);
            return;
        }
        if let Some(seqs) = seqs {
            seqs.push(entry.seq);
        }
        self.live -= 1;
        let rewoken = match self.rewoken.is_empty() {
            true => None,
            false => self.rewoken.remove(&entry.seq),
        };
        match rewoken {
            Some(waker) => {
                self.garbage.push(entry.waker);
                fired.push(waker);
            }
            None => fired.push(entry.waker),
        }
    }

    /// Drops every entry, live or cancelled, into `garbage`.
    fn clear(&mut self) {
        self.garbage.extend(self.run.drain(..).map(|e| e.waker));
        self.garbage.extend(self.heap.drain().map(|e| e.0.waker));
        self.garbage.extend(self.new.drain(..).map(|e| e.waker));
        let rewoken = core::mem::take(&mut self.rewoken);
        self.garbage.extend(rewoken.into_values());
        self.live = 0;
        self.cancelled.clear();
    }

    /// Takes the wakers let go of, to drop outside the caller's lock.
    pub(super) fn take_garbage(&mut self) -> Vec<Waker> {
        core::mem::take(&mut self.garbage)
    }

    /// Removes every timer and returns all their wakers, to drop.
    pub(super) fn take_all(&mut self) -> Vec<Waker> {
        self.clear();
        self.take_garbage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::{ArcWake, noop_waker};
    use std::sync::Arc;

    struct Flag;

    impl ArcWake for Flag {
        fn wake_by_ref(_: &std::sync::Arc<Self>) {}
    }

    fn fire(timers: &mut Timers) -> Option<(Duration, usize)> {
        let mut fired = Vec::new();
        let at = timers.fire_next(&mut fired, None)?;
        Some((at - timers.base, fired.len()))
    }

    #[test]
    fn fires_in_deadline_then_creation_order() {
        let base = Instant::now();
        let mut timers = Timers::new(base);
        let ms = |n| base + Duration::from_millis(n);
        for (seq, &at) in [30, 10, 20, 10, 30, 5, 10].iter().enumerate() {
            timers.insert(ms(at), seq as u64, noop_waker());
        }
        assert_eq!(timers.len(), 7);
        let mut seen = Vec::new();
        while let Some((at, n)) = fire(&mut timers) {
            seen.push((at.as_millis(), n));
        }
        assert_eq!(seen, [(5, 1), (10, 3), (20, 1), (30, 2)]);
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn cancelled_timers_never_fire() {
        let base = Instant::now();
        let mut timers = Timers::new(base);
        let ms = |n| base + Duration::from_millis(n);
        timers.insert(ms(10), 0, noop_waker());
        timers.insert(ms(20), 1, noop_waker());
        timers.insert(ms(20), 2, noop_waker());
        timers.cancel(0);
        timers.cancel(2);
        assert_eq!(timers.len(), 1);
        assert_eq!(fire(&mut timers), Some((Duration::from_millis(20), 1)));
        assert_eq!(fire(&mut timers), None);
        assert_eq!(timers.take_garbage().len(), 2);
        // After only cancelled entries, earlier deadlines are fine again.
        timers.insert(ms(15), 3, noop_waker());
        timers.cancel(3);
        assert_eq!(fire(&mut timers), None);
        timers.insert(ms(12), 4, noop_waker());
        assert_eq!(fire(&mut timers), Some((Duration::from_millis(12), 1)));
    }

    #[test]
    fn replaced_waker_fires() {
        let base = Instant::now();
        let mut timers = Timers::new(base);
        timers.insert(base + Duration::from_secs(1), 0, noop_waker());
        timers.set_waker(0, &noop_waker());
        timers.set_waker(0, &noop_waker());
        assert_eq!(timers.take_garbage().len(), 0, "the same waker, replaced");
        let other = futures::task::waker(std::sync::Arc::new(Flag));
        timers.set_waker(0, &other);
        assert_eq!(timers.take_garbage().len(), 1);
        assert_eq!(fire(&mut timers), Some((Duration::from_secs(1), 1)));
        assert_eq!(timers.take_garbage().len(), 1);
    }

    #[test]
    fn compaction_keeps_live_timers() {
        let base = Instant::now();
        let mut timers = Timers::new(base);
        timers.insert(base + Duration::from_secs(1), 0, noop_waker());
        for seq in 1..5000 {
            timers.insert(base + Duration::from_secs(seq), seq, noop_waker());
            timers.cancel(seq);
        }
        let kept = timers.run.len() + timers.heap.len() + timers.new.len();
        assert!(kept < 2 * COMPACT_AT, "{kept} entries kept");
        assert_eq!(kept + timers.take_garbage().len(), 5000);
        assert_eq!(fire(&mut timers), Some((Duration::from_secs(1), 1)));
        assert_eq!(fire(&mut timers), None);
    }

    #[test]
    fn far_deadlines() {
        let base = Instant::now();
        let mut timers = Timers::new(base);
        let far = Duration::from_secs(1 << 40);
        timers.insert(base + far, 0, noop_waker());
        timers.insert(base + Duration::from_nanos(1), 1, noop_waker());
        assert_eq!(fire(&mut timers), Some((Duration::from_nanos(1), 1)));
        assert_eq!(fire(&mut timers), Some((far, 1)));
    }

    /// Wakes by recording its id.
    struct Id(u64, std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

    impl ArcWake for Id {
        fn wake_by_ref(arc_self: &std::sync::Arc<Self>) {
            arc_self.1.lock().unwrap().push(arc_self.0);
        }
    }

    #[test]
    fn matches_a_sorted_map() {
        use std::collections::BTreeMap;
        let base = Instant::now();
        let mut timers = Timers::new(base);
        let mut model = BTreeMap::new();
        let log = std::sync::Arc::default();
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut rand = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut now = Duration::ZERO;
        let mut seq = 0;
        for round in 0..400 {
            // Bursts early on, trickles later; few distinct deadlines, so
            // many ties.
            let inserts = if round % 50 == 0 { 3000 } else { rand(8) };
            for _ in 0..inserts {
                let at = now + Duration::from_micros(1 + rand(500));
                let waker = futures::task::waker(std::sync::Arc::new(Id(seq, Arc::clone(&log))));
                timers.insert(base + at, seq, waker);
                model.insert((at, seq), ());
                seq += 1;
            }
            for _ in 0..rand(4) {
                if let Some(&key) = model.keys().nth(rand(model.len() as u64 + 1) as usize) {
                    model.remove(&key);
                    timers.cancel(key.1);
                }
            }
            assert_eq!(timers.len(), model.len());
            let mut fired = Vec::new();
            let Some(at) = timers.fire_next(&mut fired, None) else {
                assert!(model.is_empty());
                continue;
            };
            now = at - base;
            let want: Vec<u64> = model
                .keys()
                .take_while(|key| key.0 == now)
                .map(|key| key.1)
                .collect();
            model.retain(|key, ()| key.0 != now);
            fired.into_iter().for_each(Waker::wake);
            let got = core::mem::take(&mut *log.lock().unwrap());
            assert_eq!(got, want, "round {round}");
        }
    }
}
