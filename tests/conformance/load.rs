//! Load tests' library pieces on every backend: the cap on requests in
//! flight, staged rates and one schedule split into segments.

#![allow(dead_code)] // Each function is used once per enabled backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use stagger::Runtime;
use stagger::schedule::{self, Completed, Rate, Segment, Stage};

/// A request that sleeps `service` on `rt` (the deadline fixed when it
/// starts), counting how many run at once into `peak`.
fn counted<R: Runtime>(
    rt: &R,
    service: Duration,
    now: &Arc<AtomicUsize>,
    peak: &Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send + 'static + use<R> {
    let (rt, now, peak) = (rt.clone(), Arc::clone(now), Arc::clone(peak));
    async move {
        let running = now.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(running, Ordering::SeqCst);
        rt.sleep(service).await;
        now.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn run_cap_holds_requests_and_counts_latency_from_intended<R: Runtime>(rt: &R) {
    // Ten requests 10 ms apart, each taking 25 ms, at most two at a time:
    // two requests take 25 ms, the schedule wants 2.5 in that time, so the
    // cap holds most of them back, longer and longer.
    let service = Duration::from_millis(25);
    for (cap, allowed) in [(2, 2), (0, 1)] {
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let arrivals = schedule::constant(Rate::every(Duration::from_millis(10)).unwrap()).take(10);
        let (r, n, p) = (rt.clone(), Arc::clone(&now), Arc::clone(&peak));
        let mut requests =
            schedule::run(rt, arrivals, move |_| counted(&r, service, &n, &p)).max_in_flight(cap);
        assert_eq!(requests.in_flight_cap(), Some(allowed));
        let mut done: Vec<Completed<()>> = rt.block_on((&mut requests).collect());
        done.sort_by_key(|d| d.tick.index);
        assert_eq!(done.len(), 10);
        assert_eq!(peak.load(Ordering::SeqCst), allowed, "cap {cap}");
        let held: Vec<_> = done.iter().filter(|d| d.was_held()).collect();
        assert_eq!(held.len() as u64, requests.held_count(), "cap {cap}");
        assert_eq!(requests.held_now(), 0);
        // The first `allowed` never wait; the last waits for most of the
        // schedule's backlog: 10 requests need 5 (or 10) rounds of 25 ms,
        // the schedule sends the last at 90 ms.
        assert!(!done[0].was_held());
        let last = done.last().unwrap();
        assert!(last.was_held());
        let least = if allowed == 2 { 20 } else { 120 };
        assert!(
            last.held() >= Duration::from_millis(least),
            "cap {cap}: the last request held only {:?}",
            last.held()
        );
        for d in &done {
            // Latency counts from the intended instant: the hold is in it,
            // not in the service time.
            assert_eq!(d.latency(), d.finished - d.tick.intended);
            assert!(d.service() >= service, "{:?}", d.service());
            assert!(d.latency() >= d.held() + d.service());
            if let Some(released) = d.released {
                assert!(d.tick.fired <= released && released <= d.started);
            }
        }
    }
}

pub fn task_staggered_cap_holds_items<R: Runtime>(rt: &R) {
    let service = Duration::from_millis(10);
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, n, p) = (rt.clone(), Arc::clone(&now), Arc::clone(&peak));
    let mut tasks = stagger::task_staggered(rt, 0..5, Duration::ZERO, move |_| {
        counted(&r, service, &n, &p)
    })
    .max_in_flight(1);
    let done: Vec<_> = rt.block_on((&mut tasks).collect());
    assert_eq!(done.len(), 5);
    assert_eq!(peak.load(Ordering::SeqCst), 1);
    // All due at once: all but the first held, one after another.
    assert_eq!(tasks.held_count(), 4);
    let latest = done.iter().map(|d| d.lateness()).max().unwrap();
    assert!(latest >= service * 4, "{latest:?}");
}

/// A ramp up from 0, a hold, a ramp down to 0: 50 + 20 + 50 arrivals.
pub fn stages() -> [Stage; 3] {
    [
        Stage::ramp(0.0, 1000.0, Duration::from_millis(100)).unwrap(),
        Stage::hold(1000.0, Duration::from_millis(20)).unwrap(),
        Stage::ramp(1000.0, 0.0, Duration::from_millis(100)).unwrap(),
    ]
}

pub fn run_follows_stages<R: Runtime>(rt: &R) {
    let start = rt.now();
    let done: Vec<_> = rt.block_on(
        schedule::run_at(rt, start, schedule::staged(stages()), |tick| async move {
            tick.index
        })
        .collect(),
    );
    let mut intended: Vec<_> = done
        .iter()
        .map(|d| (d.output, d.tick.intended - start))
        .collect();
    intended.sort();
    let expected: Vec<_> = schedule::staged(stages()).enumerate().collect();
    assert_eq!(intended.len(), 120);
    assert_eq!(intended, expected);
    // The ramp's closed form: ∫ 10⁴·t dt = i at t = √(2i / 10⁴) s.
    assert_eq!(intended[2].1, Duration::from_millis(20));
    assert_eq!(intended[50].1, Duration::from_millis(100));
    assert_eq!(intended[60].1, Duration::from_millis(110));
}

/// Runs the `n` segments of one staged schedule at once on `rt` from one
/// start, for `n` of 2, 3 and 4: the arrivals, by their index in the whole
/// schedule, are the whole schedule's.
pub fn segments_union_to_the_whole_schedule<R: Runtime>(rt: &R) {
    let whole = || schedule::staged(stages());
    let expected: Vec<_> = whole().enumerate().collect();
    for n in 2..=4 {
        let start = rt.now() + Duration::from_millis(5);
        let runs = (0..n).map(|i| {
            let seg = Segment::new(i, n).unwrap();
            schedule::run_at(
                rt,
                start,
                schedule::segment(whole(), seg),
                |tick| async move { tick.index },
            )
            .map(move |d| (seg.global_index(d.output).unwrap(), d.tick.intended - start))
            .collect::<Vec<_>>()
        });
        let shares = rt.block_on(futures::future::join_all(runs));
        for (i, share) in shares.iter().enumerate() {
            let expect = expected.iter().filter(|(j, _)| j % n == i).count();
            assert_eq!(share.len(), expect, "segment {i}/{n}");
        }
        let mut union: Vec<_> = shares.into_iter().flatten().collect();
        union.sort();
        assert_eq!(union, expected, "{n} segments");
    }
}

#[cfg(feature = "hdrhistogram")]
pub fn merged_recorders_count_the_whole_run<R: Runtime>(rt: &R) {
    use stagger::load::Recorder;
    let n = 3;
    let start = rt.now();
    let whole = || schedule::constant(Rate::every(Duration::from_millis(2)).unwrap()).take(30);
    let run = |seg: Segment| {
        let sleeper = rt.clone();
        let mut recorder = Recorder::new(start);
        let requests = schedule::run_at(rt, start, schedule::segment(whole(), seg), move |_| {
            sleeper.sleep(Duration::from_millis(3))
        })
        .max_in_flight(2);
        async move {
            let mut requests = requests;
            while let Some(done) = requests.next().await {
                if done.tick.index % 4 == 3 {
                    recorder.record_error(&done, "odd");
                } else {
                    recorder.record(&done);
                }
            }
            recorder
        }
    };
    let (one, parts) = rt.block_on(async {
        futures::join!(
            run(Segment::WHOLE),
            futures::future::join_all((0..n).map(|i| run(Segment::new(i, n).unwrap())))
        )
    });
    let mut merged = Recorder::new(start);
    for part in &parts {
        merged.merge(part);
    }
    assert_eq!(merged.count(), 30);
    assert_eq!(merged.count(), one.count());
    assert_eq!(merged.corrected().len(), merged.successes());
    assert_eq!(
        merged.successes() + merged.errors(),
        parts.iter().map(|p| p.count()).sum::<u64>()
    );
    assert_eq!(merged.held(), parts.iter().map(|p| p.held()).sum::<u64>());
}
