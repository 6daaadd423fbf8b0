//! A hyper HTTP service and its client over `stagger::sim::net`, in virtual
//! time: 20-80 ms of jittered latency per segment, a per-attempt timeout,
//! backon retries seeded from the `Sim`, and a partition that heals
//! mid-run. Seconds of traffic run in milliseconds of wall time, and the
//! same seed prints the same timeline.
//!
//! ```text
//! cargo run --release --features hyper,backon --example sim_service -- [--seed N]
//! ```
//!
//! Six requests start 400 ms apart. Each attempt opens a connection, sends
//! `GET /i` and reads the answer, within 300 ms; backon retries failed
//! attempts with jittered exponential back-off (its jitter seeded from
//! `sim.rng()`). Between 1.0 s and 2.5 s the client and the server are
//! partitioned: attempts then time out, and the retries get through once it
//! heals. The run is checked with `stagger::sim::assert_deterministic`
//! (twice, the same trace) before the timeline is printed.
//!
//! The client, [`get`], is written against hyper's I/O traits and stagger's
//! `Sleeper`: `tests/sim_service.rs` runs it against a real hyper server on
//! tokio, over loopback.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use futures::future::{Either, select};
use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use rand::distr::Uniform;
use stagger::interop::{BackonSleeper, HyperTimer};
use stagger::prelude::*;
use stagger::sim::Sim;
use stagger::sim::net::{Link, Net};

const USAGE: &str = "usage: sim_service [--seed N]";

/// One attempt of one request: when it started and ended (since the run's
/// start), and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub start: Duration,
    pub end: Duration,
    pub outcome: String,
}

/// The client: `GET path` on a fresh connection from `connect`, each
/// attempt within `timeout` on `sleeper`'s clock, retried by backon with
/// jittered exponential back-off (`jitter_seed` fixes the jitter). Every
/// attempt is appended to `log`, its times measured from `origin`.
pub async fn get<S, C, F, IO>(
    sleeper: &S,
    connect: C,
    path: &str,
    timeout: Duration,
    jitter_seed: u64,
    origin: Instant,
    log: &Mutex<Vec<Attempt>>,
) -> Result<String, String>
where
    S: Sleeper + Clone + Send + Sync + 'static,
    S::Sleep: Send,
    C: Fn() -> F,
    F: Future<Output = io::Result<IO>>,
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_times(5)
        .with_jitter()
        .with_jitter_seed(jitter_seed);
    let attempt = || async {
        let start = sleeper.now() - origin;
        let outcome = match stagger::timeout(sleeper, timeout, exchange(&connect, path)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {timeout:?}")),
        };
        let end = sleeper.now() - origin;
        let shown = outcome.clone().unwrap_or_else(|err| err);
        log.lock().unwrap().push(Attempt {
            start,
            end,
            outcome: shown,
        });
        outcome
    };
    attempt
        .retry(backoff)
        .sleep(BackonSleeper::new(sleeper.clone()))
        .await
}

/// One HTTP/1 exchange on a new connection: the status and the body.
async fn exchange<C, F, IO>(connect: &C, path: &str) -> Result<String, String>
where
    C: Fn() -> F,
    F: Future<Output = io::Result<IO>>,
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let io = connect().await.map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(io)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let request = async move {
        let request = Request::get(path)
            .header("host", "server")
            .body(String::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = text(response.into_body()).await?;
        Ok(format!("{status} {body:?}"))
    };
    // The connection runs beside the request, and ends with it.
    match select(pin!(request), pin!(conn)).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right((closed, request)) => match closed {
            Ok(()) => request.await,
            Err(e) => Err(format!("connection: {e}")),
        },
    }
}

/// A response body, read to the end as text.
async fn text(mut body: Incoming) -> Result<String, String> {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// The server's handler: 10 ms of work, then a greeting.
async fn hello(
    sleeper: impl Sleeper,
    req: Request<Incoming>,
) -> Result<Response<String>, Infallible> {
    sleeper.sleep(Duration::from_millis(10)).await;
    Ok(Response::new(format!("hello {}", req.uri().path())))
}

/// The whole run on `sim`: the server, six requests, the partition. The
/// timeline: each request's attempts.
pub fn run(sim: &Sim) -> Vec<(usize, Vec<Attempt>, Result<String, String>)> {
    let net = Net::new(sim);
    let ms = Duration::from_millis;
    net.set_link(
        "client",
        "server",
        Link::latency_from(Uniform::new_inclusive(ms(20), ms(80)).expect("a valid range")),
    );
    net.schedule(ms(1_000), |net| net.partition("client", "server"));
    net.schedule(ms(2_500), |net| net.heal("client", "server"));

    // The server: an HTTP/1 connection task per accepted connection, until
    // its listener closes.
    let mut listener = net.bind("server:80").expect("a free address");
    let server = sim.clone();
    sim.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = server.clone();
            let service = hyper::service::service_fn(move |req| hello(handler.clone(), req));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new(server.clone()))
                .serve_connection(stream, service);
            server.spawn(connection).detach();
        }
    })
    .detach();

    let origin = sim.now();
    let client = net.host("client");
    let mut rng = sim.rng();
    let requests = (0..6).map(|i| {
        let (jitter_seed, client) = (rng.next_u64(), client.clone());
        async move {
            sim.sleep(ms(400) * i as u32).await;
            let log = Mutex::new(Vec::new());
            let connect = || client.connect("server:80");
            let path = format!("/{i}");
            let outcome = get(sim, connect, &path, ms(300), jitter_seed, origin, &log).await;
            (i, log.into_inner().unwrap(), outcome)
        }
    });
    let timeline = sim.block_on(futures::future::join_all(requests));
    net.close("server:80").expect("an address");
    sim.block_on(sim.sleep(ms(500))); // the server's connections wind down
    timeline
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let seed = match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => 1,
        (Some("--seed"), Some(seed), None) => match seed.parse() {
            Ok(seed) => seed,
            Err(e) => {
                eprintln!("sim_service: --seed {seed:?}: {e}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let wall = Instant::now();
    // Twice, the same trace, or a panic naming the first difference.
    let timeline = stagger::sim::assert_deterministic(seed, run);
    let wall = wall.elapsed();
    // And the same timeline, attempt for attempt.
    assert_eq!(
        run(&Sim::seeded(seed)),
        timeline,
        "seed {seed} gave two timelines"
    );
    println!(
        "six requests over a 20-80 ms link, 300 ms per attempt, partitioned from 1.0 s to 2.5 s (seed {seed})\n"
    );
    for (i, attempts, outcome) in &timeline {
        println!("request {i}:");
        for (n, attempt) in attempts.iter().enumerate() {
            println!(
                "  attempt {} at {:>7.3?} -> {:>7.3?}: {}",
                n + 1,
                attempt.start,
                attempt.end,
                attempt.outcome
            );
        }
        match outcome {
            Ok(answer) => println!("  => {answer}"),
            Err(err) => println!("  => gave up: {err}"),
        }
    }
    println!("\nthe same timeline on both runs; two runs took {wall:.1?} of wall time");
    ExitCode::SUCCESS
}
