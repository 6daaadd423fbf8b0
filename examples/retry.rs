//! A backon retry with exponential back-off and jitter, on Sim's virtual
//! clock: minutes of back-off in microseconds, exactly, and the same on
//! every run with the same seed.
//!
//! ```text
//! cargo run --release --features backon --example retry -- [--seed N] [--fail N]
//! STAGGER_SEED=N cargo run --release --features backon --example retry
//! ```
//!
//! An operation takes a random time (stagger's `wait_random`) and fails
//! `--fail` times (default 6), then succeeds. backon retries it with
//! `ExponentialBuilder::default().with_jitter()`, sleeping through
//! `stagger::interop::BackonSleeper` on a `Sim`. Both draw from the one
//! seed (`--seed`, else `STAGGER_SEED`, else a fresh one, printed):
//! `wait_random` through the Sim's own generator, backon's jitter through
//! `with_jitter_seed(sleeper.rng().next_u64())`. The example prints each
//! back-off and attempt, checks that the virtual time that passed is exactly
//! their sum, and that a second run with the same seed matches the first in
//! every draw. With the `tokio` feature too, it runs the same retry, 1000
//! times faster, on tokio's real clock (fresh draws), for comparison.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use stagger::interop::BackonSleeper;
use stagger::sim::Sim;
use stagger::{Runtime, Sleeper};

const USAGE: &str = "usage: retry [--seed N] [--fail N]";

/// What one retry run did: each back-off, each attempt's time, the time it
/// took.
#[derive(Debug, PartialEq)]
struct Outcome {
    sleeps: Vec<Duration>,
    attempts: Vec<Duration>,
    took: Duration,
}

/// Retries an operation that takes up to 200 ms and fails `fail` times,
/// sleeping on `sleeper`, with times scaled down by `scale`. Every draw
/// comes from the backend: the attempts' times through `wait_random`, and
/// backon's jitter seeded from `sleeper.rng()`; on a seeded `Sim`, the
/// seed replays the whole run.
fn retry<S>(
    sleeper: S,
    run: impl FnOnce(BoxedRetry) -> Result<usize, String>,
    fail: usize,
    scale: u32,
) -> Outcome
where
    S: Sleeper + Clone + Send + Sync + 'static,
    S::Sleep: Send,
{
    let start = sleeper.now();
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let (noted, tried, timer) = (Arc::clone(&sleeps), Arc::clone(&attempts), sleeper.clone());
    let operation = move || {
        let (tried, timer) = (Arc::clone(&tried), timer.clone());
        async move {
            let took = stagger::wait_random(&timer, Duration::from_millis(200) / scale).await;
            let mut attempts = tried.lock().expect("not poisoned");
            attempts.push(took);
            if attempts.len() <= fail {
                Err(format!("attempt {} failed", attempts.len()))
            } else {
                Ok(attempts.len())
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1) / scale)
        .with_max_delay(Duration::from_secs(60) / scale)
        .with_max_times(fail)
        .with_jitter()
        // backon's own generator, seeded from the backend's: on a Sim, from
        // its seed.
        .with_jitter_seed(sleeper.rng().next_u64());
    let retried = operation
        .retry(backoff)
        .sleep(BackonSleeper::new(sleeper.clone()))
        .notify(move |_err: &String, dur: Duration| noted.lock().expect("not poisoned").push(dur));
    let result = run(Box::pin(retried));
    let attempts = attempts.lock().expect("not poisoned").clone();
    assert_eq!(result, Ok(attempts.len()), "the retry gave up");
    let sleeps = sleeps.lock().expect("not poisoned").clone();
    Outcome {
        sleeps,
        attempts,
        took: sleeper.now() - start,
    }
}

/// A retry, boxed so that each runtime can drive it.
type BoxedRetry =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, String>> + Send>>;

/// `--seed` (`None`: `STAGGER_SEED`, or a fresh seed) and `--fail`.
fn parse(mut args: impl Iterator<Item = String>) -> Result<(Option<u64>, usize), String> {
    let (mut seed, mut fail) = (None, 6);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => {
                seed = Some(
                    value
                        .parse()
                        .map_err(|e| format!("--seed {value:?}: {e}"))?,
                )
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
    // One seed for the whole run: --seed, else STAGGER_SEED, else fresh.
    let seed = match seed {
        Some(seed) => seed,
        None => Sim::from_env().seed(),
    };
    println!(
        "an operation that takes up to 200 ms and fails {fail} times, retried by backon with exponential back-off and jitter\n\
         seed {seed} (replay: --seed {seed}, or STAGGER_SEED={seed})\n"
    );

    let on_sim = || {
        let sim = Sim::seeded(seed);
        let wall = Instant::now();
        let outcome = retry(sim.clone(), |retried| sim.block_on(retried), fail, 1);
        (outcome, wall.elapsed())
    };
    let (outcome, wall) = on_sim();
    for (i, took) in outcome.attempts.iter().enumerate() {
        println!("  attempt {}: {took:.3?}", i + 1);
        if let Some(sleep) = outcome.sleeps.get(i) {
            println!("  back-off {}: {sleep:.3?}", i + 1);
        }
    }
    let sum: Duration = outcome.sleeps.iter().chain(&outcome.attempts).sum();
    println!(
        "\nSim: succeeded at attempt {} after {:.3?} of virtual time (attempts and back-offs sum to {sum:.3?}), in {wall:.1?} of wall time",
        outcome.attempts.len(),
        outcome.took
    );
    assert_eq!(
        outcome.took, sum,
        "virtual time is not the sum of the attempts and back-offs"
    );
    let (again, _) = on_sim();
    assert_eq!(again, outcome, "the same seed drew otherwise");
    println!(
        "Sim again, same seed: the same {} attempts and {} back-offs, to the nanosecond",
        again.attempts.len(),
        again.sleeps.len()
    );

    #[cfg(feature = "tokio")]
    {
        let tokio = stagger::rt::Tokio;
        let real = retry(tokio, |retried| tokio.block_on(retried), fail, 1000);
        let sum: Duration = real.sleeps.iter().chain(&real.attempts).sum();
        println!(
            "tokio, 1000 times shorter, fresh draws: succeeded at attempt {} after {:.3?} of real time (attempts and back-offs sum to {sum:.3?})",
            real.attempts.len(),
            real.took
        );
    }
    ExitCode::SUCCESS
}
