//! A load test's library pieces on Sim: a rate in stages, a cap on requests
//! in flight, and the recorder's table, corrected beside uncorrected.
//!
//! ```text
//! cargo run --release --features hdrhistogram --example staged_load -- [--cap K] [--seed N]
//! ```
//!
//! Poisson arrivals ramp from 0 to 2 000 per second over 5 s, hold for
//! 10 s and ramp down over 5 s (`schedule::staged_poisson`), against a
//! simulated service of 20 ms at most `--cap` requests at a time (40 by
//! default: 2 000 per second of 20 ms requests need 40, so the ramp's top
//! and Poisson's bursts are held back). A held request starts late, and its
//! latency still counts from its intended instant: the corrected column
//! shows the cap's cost, the uncorrected one (from when each request
//! actually started, what a closed-loop tool reports) does not. A line
//! per second shows the live rate and p99, from the recorder's intervals.
//!
//! On Sim the twenty seconds run at once and a seed replays them exactly;
//! the last line is what the schedule, the cap and the recorder cost per
//! request in real time.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use stagger::load::Recorder;
use stagger::prelude::*;
use stagger::rand::SeedableRng;
use stagger::rand::rngs::StdRng;
use stagger::schedule::{self, Stage};
use stagger::sim::Sim;

fn main() -> ExitCode {
    let mut cap = 40;
    let mut seed = 1;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--cap", Some(v)) => cap = v as usize,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: staged_load [--cap K] [--seed N]");
                return ExitCode::FAILURE;
            }
        }
    }
    let secs = Duration::from_secs;
    let stages = match (|| {
        Ok::<_, schedule::RateError>([
            Stage::ramp(0.0, 2000.0, secs(5))?,
            Stage::hold(2000.0, secs(10))?,
            Stage::ramp(2000.0, 0.0, secs(5))?,
        ])
    })() {
        Ok(stages) => stages,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };

    let sim = Sim::seeded(seed);
    let clock = sim.clone();
    let start = sim.now();
    let arrivals = schedule::staged_poisson(stages, StdRng::seed_from_u64(seed));
    let mut recorder = Recorder::new(start);
    let wall = Instant::now();
    sim.block_on(async {
        let mut requests = schedule::run_at(&sim, start, arrivals, move |_| {
            clock.sleep(Duration::from_millis(20)) // call the service here
        })
        .max_in_flight(cap);
        let mut next_report = start + secs(1);
        while let Some(done) = requests.next().await {
            recorder.record(&done);
            let now = sim.now();
            if now >= next_report {
                let second = recorder.interval(now);
                let p99 = second.percentiles().rows()[3].corrected;
                println!(
                    "{:>4.0}s {:>7.0} requests/s, p99 {p99:?}, {} held now",
                    (now - start).as_secs_f64(),
                    second.rate(),
                    requests.held_now()
                );
                next_report += secs(1);
            }
        }
    });
    let wall = wall.elapsed();
    println!("\nat most {cap} in flight:\n{recorder}");
    println!(
        "{:.0} ns of real time per request (schedule, cap, Sim and recorder)",
        wall.as_nanos() as f64 / recorder.count() as f64
    );
    ExitCode::SUCCESS
}
