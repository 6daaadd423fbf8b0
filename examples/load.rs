//! Open-loop load against a simulated service, and what coordinated
//! omission hides.
//!
//! ```text
//! cargo run --release --example load -- [--runtime sim|tokio|async-std|smol] [--rate PER_SEC]
//!     [--duration SECS] [--seed N] [--stall-every N] [--stall SECS]
//! ```
//!
//! Requests arrive as a Poisson process (`stagger::schedule::poisson`) and
//! are sent open loop (`stagger::schedule::run`) to a service that handles
//! one request at a time, in arrival order, in about a millisecond, except
//! that every `--stall-every`-th request takes `--stall` seconds. The
//! requests that arrive during a stall queue behind it.
//!
//! The table shows each percentile twice: the latency from the instant a
//! request was meant to start (what `Completed::latency` measures), and from
//! the instant the service took it up, which is what a closed-loop tool
//! reports, since it would not even have sent the request before the
//! service was free. The second column hides the queue: that gap is
//! coordinated omission.
//!
//! The default runtime is `sim`: virtual time, so thirty seconds of load run
//! instantly and a seed replays them exactly. Real backends need their
//! feature (`--all-features`) and take the duration in real time.
//! Percentiles come from a sorted `Vec`, fine for an example; a load tool
//! would use an HdrHistogram.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use stagger::Runtime;
use stagger::rand::rngs::StdRng;
use stagger::rand::{RngExt, SeedableRng};
use stagger::schedule::{self, Rate};

const USAGE: &str = "usage: load [--runtime sim|tokio|async-std|smol] [--rate PER_SEC] \
    [--duration SECS] [--seed N] [--stall-every N] [--stall SECS]";

/// From this many expected requests on, a progress bar follows the run.
const PROGRESS_FROM: f64 = 20_000.0;

/// The service's usual time per request: exponential, with this mean.
const SERVICE: Duration = Duration::from_millis(1);

struct Args {
    runtime: String,
    rate: Rate,
    duration: Duration,
    seed: u64,
    stall_every: u64,
    stall: Duration,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        runtime: "sim".to_owned(),
        rate: Rate::per_sec(200.0).map_err(|e| e.to_string())?,
        duration: Duration::from_secs(30),
        seed: 1,
        stall_every: 1000,
        stall: Duration::from_secs(1),
    };
    let secs = |flag: &str, value: &str| {
        let secs: f64 = value
            .parse()
            .map_err(|e| format!("{flag} {value:?}: {e}"))?;
        stagger::try_from_secs_f64(secs).map_err(|e| format!("{flag}: {e}"))
    };
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runtime" => parsed.runtime = value,
            "--rate" => {
                let per_sec: f64 = value
                    .parse()
                    .map_err(|e| format!("--rate {value:?}: {e}"))?;
                parsed.rate = Rate::per_sec(per_sec).map_err(|e| format!("--rate: {e}"))?;
            }
            "--duration" => parsed.duration = secs("--duration", &value)?,
            "--seed" => {
                parsed.seed = value
                    .parse()
                    .map_err(|e| format!("--seed {value:?}: {e}"))?
            }
            "--stall-every" => {
                parsed.stall_every =
                    value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        format!("--stall-every {value:?}: a whole number above 0")
                    })?;
            }
            "--stall" => parsed.stall = secs("--stall", &value)?,
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("load: {message}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    match args.runtime.as_str() {
        "sim" => load("sim (virtual time)", &stagger::sim::Sim::new(), args),
        #[cfg(feature = "tokio")]
        "tokio" => load("tokio", &stagger::rt::Tokio, args),
        #[cfg(feature = "async-std")]
        "async-std" => load("async-std", &stagger::rt::AsyncStd, args),
        #[cfg(feature = "smol")]
        "smol" => load("smol", &stagger::rt::Smol, args),
        #[allow(unreachable_patterns)]
        name @ ("tokio" | "async-std" | "smol") => Err(format!(
            "the {name} backend is not enabled; run with `--features {name}`"
        )),
        other => Err(format!("unknown runtime {other:?}")),
    }
}

/// One request, served: when it was meant to start, when the service took
/// it up, when it finished.
struct Served {
    intended: Instant,
    began: Instant,
    finished: Instant,
}

/// Runs the load on `rt` and prints the latency table.
fn load<R>(name: &str, rt: &R, args: &Args) -> Result<(), String>
where
    R: Runtime<Sleep: Send + 'static> + Clone + Send + Sync + 'static,
{
    let expected = args.rate.per_sec_f64() * args.duration.as_secs_f64();
    println!(
        "load on {name}: Poisson arrivals at {}/s for {:?} (seed {}); one request at a time, \
         ~{SERVICE:?} each, every {}th takes {:?}\n",
        args.rate.per_sec_f64(),
        args.duration,
        args.seed,
        args.stall_every,
        args.stall,
    );
    let bar = if expected >= PROGRESS_FROM {
        ProgressBar::new(expected as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("requests {bar:40} {pos}/~{len} ({elapsed})")
            .expect("a valid template"),
    );

    let mut rng = StdRng::seed_from_u64(args.seed);
    let arrivals = schedule::poisson(args.rate, StdRng::seed_from_u64(rng.random()));
    let window = args.duration;
    let arrivals = arrivals.take_while(move |&at| at < window);
    // The service: one request at a time, in arrival order. `free` is when
    // it is next free, on the backend's clock.
    let free = Arc::new(Mutex::new(None::<Instant>));
    let (stall_every, stall, clock) = (args.stall_every, args.stall, rt.clone());
    let request = move |tick: schedule::Tick| {
        let took = if (tick.index as u64 + 1) % stall_every == 0 {
            stall
        } else {
            // Exponential service times with mean SERVICE.
            let uniform: f64 = 1.0 - rng.random::<f64>();
            SERVICE.mul_f64(-uniform.ln())
        };
        let mut free = free.lock().expect("never poisoned");
        let began = free.map_or(tick.fired, |at| at.max(tick.fired));
        *free = Some(began + took);
        let done = clock.sleep_until(began + took);
        async move {
            done.await;
            began
        }
    };
    let served: Vec<Served> = rt.block_on(
        schedule::run(rt, arrivals, request)
            .map(|done| {
                bar.inc(1);
                Served {
                    intended: done.tick.intended,
                    began: done.output,
                    finished: done.finished,
                }
            })
            .collect(),
    );
    bar.finish_and_clear();
    if served.is_empty() {
        println!("no request arrived in {:?}", args.duration);
        return Ok(());
    }

    let mut corrected: Vec<Duration> = served.iter().map(|s| s.finished - s.intended).collect();
    let mut uncorrected: Vec<Duration> = served.iter().map(|s| s.finished - s.began).collect();
    corrected.sort_unstable();
    uncorrected.sort_unstable();
    let queued = served
        .iter()
        .filter(|s| s.began - s.intended > SERVICE * 10)
        .count();
    println!(
        "{} requests; {queued} waited over {:?} for the service\n",
        served.len(),
        SERVICE * 10
    );
    println!(
        "{:>8}  {:>28}  {:>28}",
        "", "from the intended start", "from the actual start"
    );
    println!(
        "{:>8}  {:>28}  {:>28}",
        "", "(corrected, open loop)", "(what closed loop reports)"
    );
    for (label, q) in [
        ("p50", 0.5),
        ("p90", 0.9),
        ("p99", 0.99),
        ("p99.9", 0.999),
        ("max", 1.0),
    ] {
        println!(
            "{label:>8}  {:>28}  {:>28}",
            format!("{:.2?}", percentile(&corrected, q)),
            format!("{:.2?}", percentile(&uncorrected, q)),
        );
    }
    Ok(())
}

/// The `q` quantile of sorted `values` (nearest rank).
fn percentile(values: &[Duration], q: f64) -> Duration {
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
