//! A backon retry with exponential back-off and jitter, on Sim's virtual
//! clock: minutes of back-off in microseconds, exactly, and the same on
//! every run with the same seed.
//!
//! ```text
//! cargo run --release --features backon --example retry -- [--seed N] [--fail N]
//! ```
//!
//! An operation fails `--fail` times (default 6), then succeeds. backon
//! retries it with `ExponentialBuilder::default().with_jitter()`, sleeping
//! through `stagger::interop::BackonSleeper` on a `Sim`. The example prints
//! each back-off backon chose and checks that the virtual time that passed is
//! exactly their sum; a second run with the same seed must match the first.
//! With the `tokio` feature too, it runs the same retry, 1000 times faster,
//! on tokio's real clock, for comparison.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use stagger::interop::BackonSleeper;
use stagger::sim::Sim;
use stagger::{Runtime, Sleeper};

const USAGE: &str = "usage: retry [--seed N] [--fail N]";

/// What one retry run did: each back-off, the attempts, the time it took.
struct Outcome {
    sleeps: Vec<Duration>,
    attempts: u32,
    took: Duration,
}

/// Retries an operation that fails `fail` times, sleeping on `sleeper`,
/// with back-offs scaled by `scale` and jitter seeded with `seed`.
fn retry<S>(
    sleeper: S,
    run: impl FnOnce(BoxedRetry) -> Result<u32, String>,
    fail: u32,
    seed: u64,
    scale: u32,
) -> Outcome
where
    S: Sleeper + Clone + Send + 'static,
    S::Sleep: Send,
{
    let start = sleeper.now();
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(0));
    let (noted, tried) = (Arc::clone(&sleeps), Arc::clone(&attempts));
    let operation = move || {
        let tried = Arc::clone(&tried);
        async move {
            let mut attempts = tried.lock().expect("not poisoned");
            *attempts += 1;
            if *attempts <= fail {
                Err(format!("attempt {} failed", *attempts))
            } else {
                Ok(*attempts)
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1) / scale)
        .with_max_delay(Duration::from_secs(60) / scale)
        .with_max_times(fail as usize)
        .with_jitter()
        .with_jitter_seed(seed);
    let retried = operation
        .retry(backoff)
        .sleep(BackonSleeper::new(sleeper.clone()))
        .notify(move |_err: &String, dur: Duration| noted.lock().expect("not poisoned").push(dur));
    let result = run(Box::pin(retried));
    let attempts = *attempts.lock().expect("not poisoned");
    assert_eq!(result, Ok(attempts), "the retry gave up");
    let sleeps = sleeps.lock().expect("not poisoned").clone();
    Outcome {
        sleeps,
        attempts,
        took: sleeper.now() - start,
    }
}

/// A retry, boxed so that each runtime can drive it.
type BoxedRetry = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, String>> + Send>>;

fn parse(mut args: impl Iterator<Item = String>) -> Result<(u64, u32), String> {
    let (mut seed, mut fail) = (7, 6);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => {
                seed = value
                    .parse()
                    .map_err(|e| format!("--seed {value:?}: {e}"))?
            }
            "--fail" => {
                fail = value
                    .parse()
                    .ok()
                    .filter(|&n| n <= 20)
                    .ok_or_else(|| format!("--fail {value:?}: a whole number up to 20"))?;
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok((seed, fail))
}

fn main() -> ExitCode {
    let (seed, fail) = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("retry: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "an operation that fails {fail} times, retried by backon with exponential back-off and jitter (seed {seed})\n"
    );

    let on_sim = || {
        let sim = Sim::new();
        let wall = Instant::now();
        let outcome = retry(sim.clone(), |retried| sim.block_on(retried), fail, seed, 1);
        (outcome, wall.elapsed())
    };
    let (outcome, wall) = on_sim();
    for (i, sleep) in outcome.sleeps.iter().enumerate() {
        println!("  back-off {}: {sleep:.3?}", i + 1);
    }
    let sum: Duration = outcome.sleeps.iter().sum();
    println!(
        "\nSim: succeeded at attempt {} after {:.3?} of virtual time (the back-offs sum to {sum:.3?}), in {wall:.1?} of wall time",
        outcome.attempts, outcome.took
    );
    assert_eq!(
        outcome.took, sum,
        "virtual time is not the sum of the back-offs"
    );
    let (again, _) = on_sim();
    assert_eq!(
        again.sleeps, outcome.sleeps,
        "the same seed drew other back-offs"
    );
    println!(
        "Sim again, same seed: the same {} back-offs, to the nanosecond",
        again.sleeps.len()
    );

    #[cfg(feature = "tokio")]
    {
        let tokio = stagger::rt::Tokio;
        let real = retry(tokio, |retried| tokio.block_on(retried), fail, seed, 1000);
        let sum: Duration = real.sleeps.iter().sum();
        println!(
            "tokio, back-offs 1000 times shorter: succeeded at attempt {} after {:.3?} of real time (the back-offs sum to {sum:.3?})",
            real.attempts, real.took
        );
    }
    ExitCode::SUCCESS
}
