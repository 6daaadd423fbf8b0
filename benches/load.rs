//! What a load test's library pieces cost per request on Sim, no HTTP:
//! `schedule::run` with a cap on requests in flight, each request recorded
//! into a `load::Recorder`, beside the plain run.
//!
//! ```text
//! cargo bench --features hdrhistogram --bench load
//! ```
//!
//! Group `load/sim`: 100 000 arrivals at 100 000 per second, each request
//! a 500 µs sleep on Sim's clock (about 50 in flight); `run_plain` runs
//! them with no cap and drops each `Completed`, `run_capped_recorded` caps
//! them at 32 in flight (so most are held, then released) and records each
//! into a `Recorder`. `instant_plain` and `instant_capped_recorded` are the
//! same with work that finishes at its first poll: no timer per request,
//! so what is left is the schedule, a task per request, the cap and the
//! recorder. The throughput is in requests, so criterion prints time per
//! request: the goal is under 1 µs.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use futures::StreamExt;
use stagger::load::Recorder;
use stagger::prelude::*;
use stagger::schedule::{self, Rate};
use stagger::sim::Sim;

const N: u64 = 100_000;

fn arrivals() -> impl Iterator<Item = Duration> {
    schedule::constant(Rate::per_sec(100_000.0).unwrap()).take(N as usize)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("load/sim");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    let sim = Sim::new();
    let service = Duration::from_micros(500);
    group.bench_function("run_plain", |b| {
        b.iter(|| {
            let clock = sim.clone();
            let requests = schedule::run(&sim, arrivals(), move |_| clock.sleep(service));
            sim.block_on(requests.for_each(|done| {
                black_box(done);
                async {}
            }))
        })
    });
    group.bench_function("run_capped_recorded", |b| {
        b.iter(|| {
            let clock = sim.clone();
            let mut recorder = Recorder::new(sim.now());
            let mut requests =
                schedule::run(&sim, arrivals(), move |_| clock.sleep(service)).max_in_flight(32);
            sim.block_on(async {
                while let Some(done) = requests.next().await {
                    recorder.record(&done);
                }
            });
            assert_eq!(recorder.count(), N);
            black_box(recorder.held())
        })
    });
    // The same without Sim's timers: work that finishes at its first poll,
    // so what is left is the schedule, the tasks, the cap and the recorder.
    group.bench_function("instant_plain", |b| {
        b.iter(|| {
            let requests = schedule::run(&sim, arrivals(), |_| async {});
            sim.block_on(requests.for_each(|done| {
                black_box(done);
                async {}
            }))
        })
    });
    group.bench_function("instant_capped_recorded", |b| {
        b.iter(|| {
            let mut recorder = Recorder::new(sim.now());
            let mut requests = schedule::run(&sim, arrivals(), |_| async {}).max_in_flight(32);
            sim.block_on(async {
                while let Some(done) = requests.next().await {
                    recorder.record(&done);
                }
            });
            assert_eq!(recorder.count(), N);
            black_box(recorder.held())
        })
    });
    group.finish();
    c.final_summary();
}
