//! A tour of stagger on one backend: staggered start-up of clients, inline
//! and as tasks, then the exercise's five functions.
//!
//! ```text
//! cargo run --release -p stagger-tour --example tour -- [--runtime tokio|async-std|smol|sim] [--n N] [--max-delay SECONDS]
//! ```
//!
//! `sim` runs in virtual time and is always there; other backends need their
//! feature: `--features smol` or `--all-features`. With `--n 1000` or more,
//! a progress bar follows the waiters as they complete.

use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use stagger::Runtime;

const USAGE: &str =
    "usage: tour [--runtime tokio|async-std|smol|sim] [--n N] [--max-delay SECONDS]";

/// From this many waiters on, the tour shows a progress bar.
const PROGRESS_FROM: usize = 1000;

struct Args {
    runtime: String,
    n: usize,
    max_delay: Duration,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        runtime: "tokio".to_owned(),
        n: 10,
        max_delay: Duration::from_millis(50),
    };
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runtime" => parsed.runtime = value,
            "--n" => {
                parsed.n = value.parse().map_err(|e| format!("--n {value:?}: {e}"))?;
            }
            "--max-delay" => {
                let secs: f64 = value
                    .parse()
                    .map_err(|e| format!("--max-delay {value:?}: {e}"))?;
                parsed.max_delay =
                    stagger::try_from_secs_f64(secs).map_err(|e| format!("--max-delay: {e}"))?;
            }
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
                eprintln!("tour: {message}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    match args.runtime.as_str() {
        #[cfg(feature = "tokio")]
        "tokio" => tour("tokio", &stagger::rt::Tokio, args.n, args.max_delay),
        #[cfg(feature = "async-std")]
        "async-std" => tour("async-std", &stagger::rt::AsyncStd, args.n, args.max_delay),
        #[cfg(feature = "smol")]
        "smol" => tour("smol", &stagger::rt::Smol, args.n, args.max_delay),
        "sim" => tour(
            "sim (virtual time)",
            &stagger::sim::Sim::new(),
            args.n,
            args.max_delay,
        ),
        // Reached only for backends whose feature is off.
        #[allow(unreachable_patterns)]
        name @ ("tokio" | "async-std" | "smol") => Err(format!(
            "the {name} backend is not enabled; run with `--features {name}`"
        )),
        other => Err(format!("unknown runtime {other:?}")),
    }
}

/// Runs the five functions on `rt` and prints what they return.
#[allow(dead_code)] // Unused when no backend feature is enabled.
fn tour<R>(name: &str, rt: &R, n: usize, max: Duration) -> Result<(), String>
where
    R: Runtime<Sleep: Send + 'static> + Clone + Send + 'static,
{
    println!("stagger tour on {name}: n = {n}, max_delay = {max:?}\n");

    // Staggered start-up: each client connects (here, 5 ms of waiting)
    // after its own random delay, and reports as it finishes.
    let clients = rt.block_on(start_clients(rt, n, max, false));
    println!("staggered         {}", show_clients(&clients));
    let clients = rt.block_on(start_clients(rt, n, max, true));
    println!("task_staggered    {}", show_clients(&clients));

    let delay = rt.block_on(stagger::wait_random(rt, max));
    println!("wait_random       slept {delay:?}");

    let delays = rt.block_on(stagger::wait_n(rt, n, max));
    println!(
        "wait_n            {} delays, ascending: {}",
        delays.len(),
        show(&delays)
    );

    let in_order = rt.block_on(completion_order(rt, n, max));
    let swapped = in_order.windows(2).filter(|w| w[0] > w[1]).count();
    println!(
        "as_completed      {} delays as they finished; {swapped} of {} neighbouring pairs \
         out of order (wait_n sorts them)",
        in_order.len(),
        in_order.len().saturating_sub(1)
    );

    // Spawning needs the runtime, so the task is created inside `block_on`.
    let outcome = rt.block_on(async { stagger::task_wait_random(rt, max).try_join().await });
    match outcome {
        Ok(delay) => println!("task_wait_random  task finished after {delay:?}"),
        Err(err) => println!("task_wait_random  task failed: {err}"),
    }

    let delays = rt.block_on(stagger::task_wait_n(rt, n, max));
    println!(
        "task_wait_n       {} delays, ascending: {}",
        delays.len(),
        show(&delays)
    );

    let m = stagger::measure_time(rt, n, max);
    println!(
        "measure_time      total {:?} for {} waiters = {:?} per task \
         (longest delay {:?}, finished {:?} after it)",
        m.total, m.n, m.per_task, m.longest, m.lateness
    );
    Ok(())
}

/// How long a client of the tour takes to connect.
const CONNECT: Duration = Duration::from_millis(5);

/// Starts `n` clients, each after its own delay of up to `max`, inline or
/// as tasks; returns each client's `Done` with the time it finished, in
/// completion order.
async fn start_clients<R>(
    rt: &R,
    n: usize,
    max: Duration,
    spawned: bool,
) -> Vec<(stagger::Done<usize>, Duration)>
where
    R: Runtime<Sleep: Send + 'static> + Clone + Send + 'static,
{
    let start = rt.now();
    let sleeper = rt.clone();
    let connect = move |id: usize| {
        let handshake = sleeper.sleep(CONNECT);
        async move {
            handshake.await;
            id
        }
    };
    let clients = if spawned {
        stagger::task_staggered(rt, 0..n, max, connect).boxed_local()
    } else {
        stagger::staggered(rt, 0..n, max, connect).boxed_local()
    };
    clients.map(|done| (done, rt.now() - start)).collect().await
}

/// The first few clients to finish.
fn show_clients(clients: &[(stagger::Done<usize>, Duration)]) -> String {
    let first: Vec<String> = (clients.iter().take(3))
        .map(|(done, at)| {
            format!(
                "client {} (delay {:.1?}, done at {at:.1?})",
                done.index, done.delay
            )
        })
        .collect();
    let more = clients.len().saturating_sub(3);
    let more = if more > 0 {
        format!(", and {more} more")
    } else {
        String::new()
    };
    format!(
        "{} clients, each connecting ({CONNECT:?}) after its own delay; first done: {}{more}",
        clients.len(),
        first.join(", ")
    )
}

/// Follows the waiters with `as_completed`, with a progress bar for many.
async fn completion_order<R: Runtime>(rt: &R, n: usize, max: Duration) -> Vec<Duration> {
    let bar = if n >= PROGRESS_FROM {
        ProgressBar::new(n as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("waiting {bar:40} {pos}/{len} ({elapsed})")
            .expect("a valid template"),
    );
    let mut stream = stagger::as_completed(rt, n, max);
    let mut seen = Vec::with_capacity(n);
    while let Some(delay) = stream.next().await {
        seen.push(delay);
        bar.inc(1);
    }
    bar.finish_and_clear();
    seen
}

/// All delays when there are few, else the ends.
fn show(delays: &[Duration]) -> String {
    match delays {
        [first, .., last] if delays.len() > 10 => format!("[{first:.1?}, …, {last:.1?}]"),
        _ => format!("{delays:.1?}"),
    }
}
