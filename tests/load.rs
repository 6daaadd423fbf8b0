//! `stagger::load`: the recorder's counts, percentiles, intervals and log on
//! Sim's exact clock, and one schedule split into segments, each run by its
//! own thread and Sim, merging to the one-process run.

use std::time::Duration;

use futures::StreamExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use stagger::load::hdrhistogram::Histogram;
use stagger::load::hdrhistogram::serialization::Deserializer;
use stagger::load::hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use stagger::load::{HdrLog, Recorder};
use stagger::prelude::*;
use stagger::schedule::{self, Rate, Segment, Stage};
use stagger::sim::Sim;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The capped run of `tests/sim.rs` (`run_cap_holds_requests_exactly`),
/// recorded: latencies 25, 25, 30, 30, … 45 ms from the intended instants,
/// 25 ms each from the actual starts; every fourth request failed.
fn capped_run() -> (Recorder, Vec<stagger::load::Snapshot>) {
    let sim = Sim::new();
    let clock = sim.clone();
    let arrivals = schedule::constant(Rate::every(ms(10)).unwrap()).take(10);
    let mut recorder = Recorder::new(sim.now());
    let mut intervals = Vec::new();
    sim.block_on(async {
        let mut requests =
            schedule::run(&sim, arrivals, move |_| clock.sleep(ms(25))).max_in_flight(2);
        while let Some(done) = requests.next().await {
            if done.tick.index % 4 == 3 {
                recorder.record_error(&done, "timeout");
            } else {
                recorder.record(&done);
            }
            if done.tick.index == 4 {
                intervals.push(recorder.interval(sim.now()));
            }
        }
        intervals.push(recorder.interval(sim.now()));
    });
    (recorder, intervals)
}

#[test]
fn recorder_counts_exactly() {
    let (recorder, _) = capped_run();
    assert_eq!(recorder.count(), 10);
    assert_eq!(recorder.successes(), 8);
    assert_eq!(recorder.errors(), 2);
    assert_eq!(
        recorder.errors_by_kind().collect::<Vec<_>>(),
        [("timeout", 2)]
    );
    assert_eq!(recorder.held(), 8);
    assert_eq!(recorder.held_max(), ms(20));
    // Started more than 5 ms after the intended instant: held 10, 15, 20 ms.
    assert_eq!(recorder.late(), 6);
    // Starts at 0, 10, 25, 35, 50, 60, 75, 85, 100, 110 ms: 9 gaps in 110 ms.
    assert!((recorder.achieved_rate() - 9.0 / 0.110).abs() < 1e-9);
    // Successes (indices 0-2, 4-6, 8, 9): 25, 25, 30, 35, 35, 40, 45, 45 ms.
    let table = recorder.percentiles();
    let corrected: Vec<_> = table.rows().iter().map(|r| r.corrected).collect();
    assert_eq!(
        corrected,
        [ms(35), ms(40), ms(45), ms(45), ms(45), ms(45), ms(45)]
    );
    assert!(table.rows().iter().all(|r| r.uncorrected == ms(25)));
    let text = recorder.to_string();
    assert!(
        text.contains("10 requests, 8 ok, 2 errors (timeout: 2)"),
        "{text}"
    );
    assert!(text.contains("corrected"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("p99.99")),
        "{text}"
    );
}

#[test]
fn intervals_add_up_and_the_log_reads_back() {
    let (recorder, intervals) = capped_run();
    assert_eq!(intervals.len(), 2);
    // Request 4 finished at 75 ms; the last at 135 ms.
    assert_eq!(
        (intervals[0].start(), intervals[0].length()),
        (ms(0), ms(75))
    );
    assert_eq!(
        (intervals[1].start(), intervals[1].length()),
        (ms(75), ms(60))
    );
    assert_eq!(
        intervals[0].count() + intervals[1].count(),
        recorder.count()
    );
    let mut sum = intervals[0].clone();
    sum.merge(&intervals[1]);
    assert_eq!(sum.corrected(), recorder.corrected());
    assert_eq!(sum.uncorrected(), recorder.uncorrected());

    let mut log = HdrLog::new(Vec::new(), std::time::SystemTime::UNIX_EPOCH).unwrap();
    for interval in &intervals {
        log.write(interval).unwrap();
    }
    let text = log.into_inner();
    let mut read = Vec::new();
    for entry in IntervalLogIterator::new(&text) {
        if let LogEntry::Interval(h) = entry.unwrap() {
            let bytes = base64_decode(h.encoded_histogram());
            let histogram: Histogram<u64> =
                Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
            read.push((
                h.tag().unwrap().as_str().to_owned(),
                h.start_timestamp(),
                histogram,
            ));
        }
    }
    assert_eq!(read.len(), 4);
    assert_eq!(read[0].0, "corrected");
    assert_eq!(read[1].0, "uncorrected");
    assert_eq!(read[2].1, ms(75));
    assert_eq!(&read[0].2, intervals[0].corrected());
    assert_eq!(&read[3].2, intervals[1].uncorrected());
}

/// Standard base64, as the log encodes histograms (a few lines: the test
/// takes no base64 crate of its own).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, &d) in chunk.iter().enumerate() {
            n |= u32::from(d) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// One process's share: segment `seg` of the staged Poisson schedule from
/// seed 42, each request taking 1 to 7 ms by its index in the whole
/// schedule, on a Sim of its own; its recorder and its arrivals (index in
/// the whole schedule, offset from the start).
fn share(seg: Segment) -> (Recorder, Vec<(usize, Duration)>) {
    let stages = [
        Stage::ramp(0.0, 500.0, Duration::from_secs(2)).unwrap(),
        Stage::hold(500.0, Duration::from_secs(1)).unwrap(),
        Stage::ramp(500.0, 0.0, Duration::from_secs(1)).unwrap(),
    ];
    let sim = Sim::new();
    let clock = sim.clone();
    let start = sim.now();
    let arrivals = schedule::segment(
        schedule::staged_poisson(stages, StdRng::seed_from_u64(42)),
        seg,
    );
    let mut recorder = Recorder::new(start);
    let mut seen = Vec::new();
    sim.block_on(async {
        let mut requests = schedule::run_at(&sim, start, arrivals, move |tick| {
            let global = seg.global_index(tick.index).unwrap();
            clock.sleep(ms(1 + global as u64 % 7))
        });
        while let Some(done) = requests.next().await {
            recorder.record(&done);
            seen.push((
                seg.global_index(done.tick.index).unwrap(),
                done.tick.intended - start,
            ));
        }
    });
    (recorder, seen)
}

#[test]
fn segments_on_threads_merge_to_the_one_process_run() {
    let (whole, mut expected) = share(Segment::WHOLE);
    expected.sort();
    assert!(expected.len() > 1000, "{}", expected.len());
    for n in 2..=4 {
        let shares: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..n)
                .map(|i| scope.spawn(move || share(Segment::new(i, n).unwrap())))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let mut union: Vec<_> = shares.iter().flat_map(|(_, seen)| seen.clone()).collect();
        union.sort();
        assert_eq!(union, expected, "{n} segments");
        let mut merged = Recorder::new(whole.start());
        for (recorder, _) in &shares {
            merged.merge(recorder);
        }
        assert_eq!(merged.count(), whole.count(), "{n} segments");
        assert_eq!(merged.corrected(), whole.corrected(), "{n} segments");
        assert_eq!(merged.uncorrected(), whole.uncorrected(), "{n} segments");
        assert_eq!(merged.percentiles(), whole.percentiles(), "{n} segments");
    }
}
