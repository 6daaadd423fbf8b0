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
mod svg;

use std::collections::BTreeMap;
use std::io::Write;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stagger::StreamExt;
use stagger::load::{HdrLog, Recorder, Snapshot};
use stagger::rand::SeedableRng;
use stagger::rand::rngs::StdRng;
use stagger::rt::Tokio;
use stagger::schedule;

use crate::args::Args;
use crate::client::{Outcome, Target};
use crate::report::Report;

/// How often the progress bar shows the live rate and p99.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    // Bad arguments: clap prints what is wrong and exits with 2.
    let args = Args::parse_checked();
    let mut builder = match args.threads.map(NonZeroUsize::get) {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
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
    // Written, not print!ed: a reader that went away (`| head`) is an
    // error to report, not a panic.
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        writeln!(out, "{}", report.to_json())
    } else {
        write!(out, "{report}")
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return fail(&format!("cannot write the report: {e}"));
        }
    }
    drop(out);
    if let Some(path) = &args.svg {
        let picture = svg::percentile_plot(
            &report.plan,
            report.recorder.corrected(),
            report.recorder.uncorrected(),
        );
        if let Err(e) = std::fs::write(path, picture) {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
    }
    if report.responses() == 0 {
        let kinds: Vec<String> = report
            .recorder
            .errors_by_kind()
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
    let target = Target::new(args).await?;
    let offsets = offsets(args)?;

    // One request first, not counted: a URL nothing answers is one line,
    // not a report full of errors.
    if !args.no_check {
        if let Outcome::Failed(kind) = target.send().await {
            return Err(format!("cannot load {}: {kind}", args.url));
        }
    }

    if args.warm > 0 {
        target.warm(args.warm).await.map_err(|kind| {
            format!(
                "cannot open {} connections to {}: {kind}",
                args.warm, args.url
            )
        })?;
    }

    // A wall-clock start shared by the processes of a distributed run, on
    // tokio's clock; or now.
    let (start, started_at) = match args.start {
        Some(at) => {
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

    // The arrivals: counted, and their offsets kept when --arrivals asks.
    let scheduled = Arc::new(AtomicU64::new(0));
    let arrivals = args
        .arrivals
        .as_ref()
        .map(|_| Arc::new(Mutex::new(Vec::new())));
    let (count, kept) = (scheduled.clone(), arrivals.clone());
    let offsets = offsets.inspect(move |&offset| {
        count.fetch_add(1, Ordering::Relaxed);
        if let Some(kept) = &kept {
            kept.lock().unwrap_or_else(|e| e.into_inner()).push(offset);
        }
    });

    let request_target = target.clone();
    let mut requests = schedule::run_at(&Tokio, start, offsets, move |_tick| request_target.send());
    if let Some(k) = args.max_in_flight {
        requests = requests.max_in_flight(k.get());
    }

    // The HDR log is written as the run goes, an interval at a time.
    let mut log = match &args.hdr_log {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let log = HdrLog::new(std::io::BufWriter::new(file), started_at)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Some(log)
        }
        None => None,
    };
    let write_log = |log: &mut Option<HdrLog<_>>, interval: &Snapshot| match log {
        Some(log) => log.write(interval).map_err(|e| {
            format!(
                "cannot write {}: {e}",
                args.hdr_log.as_ref().expect("a log").display()
            )
        }),
        None => Ok(()),
    };

    let bar = if args.quiet || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} done  {msg}")
            .expect("a valid template"),
    );
    let mut recorder = Recorder::new(start);
    let mut statuses = BTreeMap::new();
    let mut progress = tokio::time::interval_at((start + PROGRESS_EVERY).into(), PROGRESS_EVERY);
    progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let done = tokio::select! {
            biased;
            done = requests.next() => match done {
                Some(done) => done,
                None => break,
            },
            _ = progress.tick() => {
                // An interval: the live rate and p99, and a line of the log.
                let interval = recorder.interval(Instant::now());
                bar.set_message(format!(
                    "{:.0}/s  p99 {:.2?}",
                    interval.rate(),
                    Duration::from_micros(interval.corrected().value_at_quantile(0.99))
                ));
                bar.set_position(recorder.count());
                write_log(&mut log, &interval)?;
                continue;
            }
        };
        match done.output {
            Outcome::Response(status) => {
                *statuses.entry(status).or_insert(0) += 1;
                recorder.record(&done);
            }
            Outcome::Failed(kind) => recorder.record_error(&done, kind.key()),
        }
    }
    bar.finish_and_clear();
    write_log(&mut log, &recorder.interval(Instant::now()))?;
    if let Some(mut log) = log {
        log.flush()
            .map_err(|e| format!("cannot write the HDR log: {e}"))?;
    }

    if let Some(kept) = &arrivals {
        let kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        let path = args.arrivals.as_ref().expect("kept only with --arrivals");
        let text: String = kept.iter().map(|d| format!("{}\n", d.as_nanos())).collect();
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let scheduled = scheduled.load(Ordering::Relaxed);
    Ok(Report {
        plan: plan(args),
        scheduled,
        statuses,
        recorder,
    })
}
