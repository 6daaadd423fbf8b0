//! The client of `examples/sim_service.rs`, unchanged, against a real hyper
//! server on tokio over loopback: its code is not Sim-only.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper::{Request, Response};
use stagger::interop::HyperTimer;
use stagger::prelude::*;
use stagger::rt::Tokio;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

#[allow(dead_code)] // the test uses the client only
#[path = "../examples/sim_service.rs"]
mod example;

/// A tokio TCP stream as hyper's I/O, without unsafe: what hyper-util's
/// `TokioIo` does, through a buffer.
struct Io(TcpStream);

impl Read for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut storage = [0; 8192];
        let n = buf.remaining().min(storage.len());
        let mut read = ReadBuf::new(&mut storage[..n]);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut read))?;
        buf.put_slice(read.filled());
        Poll::Ready(Ok(()))
    }
}

impl Write for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[test]
fn the_example_client_retries_against_a_real_server() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The first request is too slow for the client's 100 ms; the rest
        // answer at once.
        let served = std::sync::Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let count = count.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let first = count.fetch_add(1, Ordering::SeqCst) == 0;
                    async move {
                        if first {
                            Tokio.sleep(Duration::from_millis(400)).await;
                        }
                        Ok::<_, Infallible>(Response::new(format!("hello {}", req.uri().path())))
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(HyperTimer::new(Tokio))
                    .serve_connection(Io(stream), service);
                tokio::spawn(connection);
            }
        });
        let log = Mutex::new(Vec::new());
        let connect = || async move { TcpStream::connect(addr).await.map(Io) };
        let origin = Tokio.now();
        let outcome = example::get(
            &Tokio,
            connect,
            "/real",
            Duration::from_millis(100),
            7,
            origin,
            &log,
        )
        .await;
        assert_eq!(outcome.as_deref(), Ok("200 OK \"hello /real\""));
        let attempts = log.into_inner().unwrap();
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        assert_eq!(attempts[0].outcome, "timed out after 100ms");
        let took = attempts[0].end - attempts[0].start;
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_millis(400),
            "{took:?}"
        );
        // backon's first back-off, jittered: 100-200 ms.
        let gap = attempts[1].start - attempts[0].end;
        assert!(gap >= Duration::from_millis(100), "{gap:?}");
        assert!(served.load(Ordering::SeqCst) >= 2);
    });
}

#[test]
fn the_example_replays_its_timeline_from_a_seed() {
    use stagger::sim::Sim;

    let (from, to) = (Duration::from_millis(1_000), Duration::from_millis(2_500));
    for seed in [1, 7, 42, 1234, u64::MAX] {
        let wall = std::time::Instant::now();
        let timeline = stagger::sim::assert_deterministic(seed, example::run);
        assert!(
            wall.elapsed() < Duration::from_secs(5),
            "{:?}",
            wall.elapsed()
        );
        assert_eq!(example::run(&Sim::seeded(seed)), timeline, "seed {seed}");
        let mut timed_out = 0;
        for (i, attempts, outcome) in &timeline {
            assert_eq!(outcome.as_deref(), Ok(&*format!("200 OK \"hello /{i}\"")));
            for attempt in attempts {
                // Wholly inside the partition: no answer can come back.
                if attempt.start >= from && attempt.end <= to {
                    assert_eq!(attempt.outcome, "timed out after 300ms", "seed {seed}");
                    timed_out += 1;
                }
            }
        }
        assert!(timed_out > 0, "seed {seed}: the partition cost nothing");
    }
}
