//! The server the load tool is measured against: loopback only, each
//! response released after a short wait, all responses held during a slice
//! of every period (a stall that an honest client must report), and a
//! witness at `/stats`: the server's own arrival-to-release times.
//!
//! ```text
//! stagger-load-server [--port 0] [--wait-ms 1] [--hold-ms 200] [--every-ms 2000]
//!     [--exit-after 300] [--reset-connections]
//! ```
//!
//! It prints `listening on http://127.0.0.1:PORT` on its first line, serves
//! HTTP/1 and HTTP/2 (prior knowledge), and exits after `--exit-after`
//! seconds whatever happens. `GET /stats` answers the witness as JSON
//! (microseconds) and starts a new one; `/stats` requests are not counted.
//! `--reset-connections` accepts each connection and closes it at once, a
//! server that resets every connection.

use std::convert::Infallible;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use stagger::load::hdrhistogram::Histogram;
use tokio::net::TcpSocket;
use tokio::time::Instant;

/// The accept queue's length (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 65_535;

/// A loopback HTTP server with a periodic stall and a witness at /stats.
#[derive(Parser, Debug)]
#[command(name = "stagger-load-server", version)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port, printed on the first line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// How long each response waits before it is released, in milliseconds.
    #[arg(long, default_value_t = 1.0)]
    wait_ms: f64,
    /// How long the stall lasts at the start of every period, in
    /// milliseconds: responses due during it are released at its end.
    #[arg(long, default_value_t = 200.0)]
    hold_ms: f64,
    /// The period of the stall, in milliseconds.
    #[arg(long, default_value_t = 2000.0)]
    every_ms: f64,
    /// Exit after this many seconds.
    #[arg(long, default_value_t = 300.0)]
    exit_after: f64,
    /// Close every connection as soon as it is accepted.
    #[arg(long)]
    reset_connections: bool,
}

/// The server's shared state: its clock's origin, the stall, the witness.
struct State {
    origin: Instant,
    wait: Duration,
    hold: Duration,
    every: Duration,
    witness: Mutex<Histogram<u64>>,
}

impl State {
    /// When a request that arrived at `arrival` is released.
    fn release(&self, arrival: Instant) -> Instant {
        let due = arrival + self.wait;
        if self.hold.is_zero() {
            return due;
        }
        let since = due.duration_since(self.origin).as_nanos();
        let every = self.every.as_nanos().max(1);
        let into = since % every;
        if into < self.hold.as_nanos() {
            // In the stall: released when it ends.
            due + Duration::from_nanos((self.hold.as_nanos() - into) as u64)
        } else {
            due
        }
    }

    /// The witness as JSON (microseconds), and a fresh one.
    fn stats(&self) -> String {
        let mut witness = self.witness.lock().unwrap_or_else(|e| e.into_inner());
        let h = &*witness;
        let json = serde_json::json!({
            "count": h.len(),
            "p50_us": h.value_at_quantile(0.5),
            "p90_us": h.value_at_quantile(0.9),
            "p99_us": h.value_at_quantile(0.99),
            "p99_9_us": h.value_at_quantile(0.999),
            "p99_99_us": h.value_at_quantile(0.9999),
            "max_us": h.max(),
        });
        witness.reset();
        json.to_string()
    }
}

fn secs(what: &str, value: f64) -> Result<Duration, String> {
    stagger::try_from_secs_f64(value).map_err(|e| format!("--{what}: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stagger-load-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> Result<(), String> {
    let state = Arc::new(State {
        origin: Instant::now(),
        wait: secs("wait-ms", args.wait_ms / 1e3)?,
        hold: secs("hold-ms", args.hold_ms / 1e3)?,
        every: secs("every-ms", args.every_ms / 1e3)?,
        witness: Mutex::new(
            Histogram::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())?,
        ),
    });
    let exit_after = secs("exit-after", args.exit_after)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        // A deep accept queue: an open-loop client opens thousands of
        // connections during a stall, and a SYN the queue drops is sent
        // again a second later, a delay the witness would not see.
        let listener = TcpSocket::new_v4()
            .and_then(|socket| {
                socket.set_reuseaddr(true)?;
                socket.bind(addr)?;
                socket.listen(BACKLOG)
            })
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{local}");
        let _ = std::io::stdout().flush();
        let accept = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if args.reset_connections {
                    // Linger 0: the close is a reset, not a FIN (and with
                    // 0, closing never blocks, the reason for the
                    // deprecation).
                    #[allow(deprecated)]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        };
        // Bounded: whatever the clients do, the server exits.
        let _ = tokio::time::timeout(exit_after, accept).await;
        Ok(())
    })
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/stats" {
        return Ok(Response::new(Full::new(Bytes::from(state.stats()))));
    }
    let arrival = Instant::now();
    tokio::time::sleep_until(state.release(arrival)).await;
    let took = arrival.elapsed().as_micros().max(1) as u64;
    {
        let mut witness = state.witness.lock().unwrap_or_else(|e| e.into_inner());
        let _ = witness.record(took);
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
}
