//! stagger-load: an open-loop HTTP load generator on stagger.
//!
//! ```text
//! stagger-load http://127.0.0.1:8080/ --rate 1000 --duration 10s
//! stagger-load http://127.0.0.1:8080/ --stages 0..1000@30s,1000@60s --max-in-flight 500
//! ```
//!
//! Requests go out on `stagger::schedule::run`'s timer, one task each, over
//! hyper-util's pooled client on tokio; each one's latency counts from the
//! instant it was meant to be sent (corrected) and from when it was sent
//! (uncorrected). `--help` is the manual.

#![forbid(unsafe_code)]

mod args;
mod client;
mod report;
mod shim;
mod svg;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stagger::StreamExt;
use stagger::rand::SeedableRng;
use stagger::rand::rngs::StdRng;
use stagger::rt::Tokio;
use stagger::schedule;

use crate::args::Args;
use crate::client::{Outcome, Target};
use crate::report::{Micros, Report};

/// How often the progress bar shows the live rate and p99.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    // Bad arguments: clap prints what is wrong and exits with 2.
    let args = Args::parse_checked();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start tokio: {e}")),
    };
    match runtime.block_on(load(&args)) {
        Ok(report) => finish(&args, &report),
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("stagger-load: {message}");
    ExitCode::FAILURE
}

/// Prints and writes what the run found.
fn finish(args: &Args, report: &Report) -> ExitCode {
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    if let Some(path) = &args.hdr_log {
        if let Err(e) = report.write_hdr_log(path) {
            return fail(&e);
        }
    }
    if let Some(path) = &args.svg {
        let picture = svg::percentile_plot(
            &report.plan,
            &report.recorder.corrected,
            &report.recorder.uncorrected,
        );
        if let Err(e) = std::fs::write(path, picture) {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
    }
    if report.responses() == 0 {
        let kinds: Vec<String> = report
            .errors
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        return fail(&format!(
            "no request got a response: {}",
            if kinds.is_empty() {
                "no request was sent".to_owned()
            } else {
                kinds.join(", ")
            }
        ));
    }
    ExitCode::SUCCESS
}

/// What the arguments ask for, in words.
fn plan(args: &Args) -> String {
    let rate = match (&args.stages, &args.rate) {
        (Some(stages), _) => {
            let parts: Vec<String> = stages
                .0
                .iter()
                .map(|s| {
                    if s.from() == s.to() {
                        format!("{}/s for {:?}", s.from(), s.duration())
                    } else {
                        format!("{}/s to {}/s over {:?}", s.from(), s.to(), s.duration())
                    }
                })
                .collect();
            parts.join(", then ")
        }
        (None, Some(rate)) => format!("{}/s for {:?}", rate.per_sec_f64(), args.duration),
        (None, None) => unreachable!("clap requires --rate or --stages"),
    };
    let mut plan = format!(
        "{} {} at {rate}, {} arrivals, {}, tokio",
        args.method,
        args.url,
        if args.poisson {
            "Poisson"
        } else {
            "evenly spaced"
        },
        if args.http2 {
            "HTTP/2"
        } else {
            "HTTP/1.1 keep-alive"
        },
    );
    if let Some(k) = args.max_in_flight {
        plan += &format!(", at most {k} in flight");
    }
    if let Some(segment) = args.segment {
        plan += &format!(", segment {}/{}", segment.index(), segment.count());
    }
    plan
}

/// The schedule's offsets, this process's segment of them.
fn offsets(args: &Args) -> Result<Box<dyn Iterator<Item = Duration> + Send>, String> {
    let window = args.duration;
    let all: Box<dyn Iterator<Item = Duration> + Send> = match (&args.stages, args.rate) {
        (Some(stages), _) if args.poisson => Box::new(schedule::staged_poisson(
            stages.0.iter().copied(),
            StdRng::seed_from_u64(args.seed),
        )),
        (Some(stages), _) => Box::new(schedule::staged(stages.0.iter().copied())),
        (None, Some(rate)) if args.poisson => Box::new(
            schedule::poisson(rate, StdRng::seed_from_u64(args.seed))
                .take_while(move |&at| at < window),
        ),
        (None, Some(rate)) => Box::new(schedule::constant(rate).take_while(move |&at| at < window)),
        (None, None) => unreachable!("clap requires --rate or --stages"),
    };
    Ok(match args.segment {
        Some(segment) => Box::new(schedule::segment(all, segment)),
        None => all,
    })
}

/// Runs the load and returns the report.
async fn load(args: &Args) -> Result<Report, String> {
    let target = Target::new(args)?;
    let offsets = offsets(args)?;

    // One request first, not counted: a URL nothing answers is one line,
    // not a report full of errors.
    if !args.no_check {
        if let Outcome::Failed(kind) = target.send().await {
            return Err(format!("cannot load {}: {kind}", args.url));
        }
    }

    // A wall-clock start shared by the processes of a distributed run, on
    // tokio's clock; or now.
    let (start, started_at) = match args.start {
        Some(unix) => {
            let at = UNIX_EPOCH + Duration::from_secs_f64(unix);
            if let Ok(behind) = SystemTime::now().duration_since(at) {
                if behind > Duration::from_secs(1) {
                    return Err(format!(
                        "--start is {:.1} s in the past: give every process an instant a little ahead",
                        behind.as_secs_f64()
                    ));
                }
            }
            (schedule::instant_at(&Tokio, at), at)
        }
        None => (Instant::now(), SystemTime::now()),
    };

    // The intended offsets, when --arrivals asks for them.
    let arrivals = args
        .arrivals
        .as_ref()
        .map(|_| Arc::new(Mutex::new(Vec::new())));
    let kept = arrivals.clone();
    let offsets = offsets.inspect(move |&offset| {
        if let Some(kept) = &kept {
            kept.lock().unwrap_or_else(|e| e.into_inner()).push(offset);
        }
    });

    let request_target = target.clone();
    let mut requests = schedule::run_at(&Tokio, start, offsets, move |_tick| request_target.send());
    if let Some(k) = args.max_in_flight {
        requests = requests.max_in_flight(k.get());
    }

    let bar = if args.quiet || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} done  {msg}")
            .expect("a valid template"),
    );
    let mut recorder = shim::Recorder::new();
    let mut live = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds");
    let mut live_count = 0u64;
    let mut last = Instant::now();
    let mut progress = tokio::time::interval(PROGRESS_EVERY);
    let mut statuses = BTreeMap::new();
    let mut errors = BTreeMap::new();
    let (mut held, mut held_total, mut held_max) = (0, Duration::ZERO, Duration::ZERO);
    let mut first_intended: Option<Instant> = None;
    let mut last_finished: Option<Instant> = None;
    loop {
        let done = tokio::select! {
            biased;
            done = requests.next() => match done {
                Some(done) => done,
                None => break,
            },
            _ = progress.tick() => {
                let elapsed = last.elapsed().as_secs_f64();
                last = Instant::now();
                bar.set_message(format!(
                    "{:.0}/s  p99 {}",
                    live_count as f64 / elapsed,
                    Micros(live.value_at_quantile(0.99))
                ));
                bar.set_position(bar.position() + live_count);
                live.reset();
                live_count = 0;
                continue;
            }
        };
        let outcome = done.output;
        first_intended =
            Some(first_intended.map_or(done.tick.intended, |i| i.min(done.tick.intended)));
        last_finished = Some(last_finished.map_or(done.finished, |f| f.max(done.finished)));
        if done.was_held() {
            held += 1;
            held_total += done.held();
            held_max = held_max.max(done.held());
        }
        live_count += 1;
        match outcome {
            Outcome::Response(status) => {
                *statuses.entry(status).or_insert(0) += 1;
                let corrected = done.latency();
                recorder.record(corrected, done.service());
                let _ = live.record((corrected.as_micros() as u64).max(1));
            }
            Outcome::Failed(kind) => *errors.entry(kind).or_insert(0) += 1,
        }
    }
    bar.finish_and_clear();

    let scheduled = match &arrivals {
        Some(kept) => {
            let kept = kept.lock().unwrap_or_else(|e| e.into_inner());
            let path = args.arrivals.as_ref().expect("kept only with --arrivals");
            let text: String = kept.iter().map(|d| format!("{}\n", d.as_nanos())).collect();
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            kept.len() as u64
        }
        None => statuses.values().sum::<u64>() + errors.values().sum::<u64>(),
    };
    let elapsed = match (first_intended, last_finished) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    Ok(Report {
        plan: plan(args),
        scheduled,
        statuses,
        errors,
        elapsed,
        held,
        held_total,
        held_max,
        recorder,
        started_at,
    })
}
