//! The adapters to other crates' timer traits, on every backend.

#![allow(dead_code)] // Each function is used once per enabled backend.

use std::time::Duration;

use crate::suite::SLACK;
use stagger::Runtime;

// ===== backon =====

/// An operation that fails `fail` times, then succeeds, retried by backon
/// on `rt`'s clock: the attempts, each back-off, and the time it took.
#[cfg(feature = "backon")]
fn retried<R: Runtime>(rt: &R, fail: u32) -> (u32, Vec<Duration>, Duration) {
    use backon::{ExponentialBuilder, Retryable};
    use stagger::interop::BackonSleeper;
    use std::sync::{Arc, Mutex};

    let tried = Arc::new(Mutex::new(0));
    let slept = Arc::new(Mutex::new(Vec::new()));
    let (count, noted) = (Arc::clone(&tried), Arc::clone(&slept));
    let operation = move || {
        let count = Arc::clone(&count);
        async move {
            let mut tried = count.lock().unwrap();
            *tried += 1;
            if *tried <= fail {
                Err(*tried)
            } else {
                Ok(*tried)
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(5))
        .with_max_times(fail as usize)
        .with_jitter()
        .with_jitter_seed(1);
    let start = rt.now();
    let result = rt.block_on(
        operation
            .retry(backoff)
            .sleep(BackonSleeper::new(rt.clone()))
            .notify(move |_: &u32, dur| noted.lock().unwrap().push(dur)),
    );
    let took = rt.now() - start;
    assert_eq!(result, Ok(fail + 1));
    let slept = slept.lock().unwrap().clone();
    (fail + 1, slept, took)
}

#[cfg(feature = "backon")]
pub fn backon_retries_on_the_backend_clock<R: Runtime>(rt: &R) {
    let (attempts, slept, took) = retried(rt, 3);
    assert_eq!(attempts, 4);
    assert_eq!(slept.len(), 3);
    let sum: Duration = slept.iter().sum();
    // Jittered exponential back-off from 5 ms: 5-10, 10-20, 20-40 ms.
    assert!(
        sum >= Duration::from_millis(35) && sum < Duration::from_millis(70),
        "{slept:?}"
    );
    assert!(took >= sum, "took {took:?} for {sum:?} of back-off");
    assert!(took < sum + SLACK, "took {took:?} for {sum:?} of back-off");
    // The jitter seed fixes the back-offs.
    assert_eq!(retried(rt, 3).1, slept);
}

// ===== hyper =====

#[cfg(feature = "hyper")]
pub fn hyper_timer_keeps_the_contract<R: Runtime<Sleep: Sync>>(rt: &R) {
    use hyper::rt::Timer;
    use stagger::interop::HyperTimer;

    let timer = HyperTimer::new(rt.clone());
    rt.block_on(async {
        // `now` reads the backend's clock.
        let (before, now, after) = (rt.now(), timer.now(), rt.now());
        assert!(before <= now && now <= after);
        // `sleep` and `sleep_until` wait at least as long as asked.
        let start = timer.now();
        timer.sleep(Duration::from_millis(20)).await;
        assert!(timer.now() - start >= Duration::from_millis(20));
        let at = timer.now() + Duration::from_millis(10);
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
        // `reset` moves a deadline earlier, and later, in place.
        let start = timer.now();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        timer.reset(&mut sleep, start + Duration::from_millis(15));
        sleep.as_mut().await;
        let took = timer.now() - start;
        assert!(
            took >= Duration::from_millis(15) && took < SLACK,
            "{took:?}"
        );
        let start = timer.now();
        let mut sleep = timer.sleep(Duration::from_millis(1));
        timer.reset(&mut sleep, start + Duration::from_millis(30));
        sleep.as_mut().await;
        assert!(timer.now() - start >= Duration::from_millis(30));
        // A sleep of another timer is replaced.
        let mut foreign: std::pin::Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
        timer.reset(&mut foreign, timer.now() + Duration::from_millis(5));
        foreign.as_mut().await;
        // A deadline past what an Instant holds never fires.
        crate::suite::run_briefly(rt, timer.sleep(Duration::MAX)).await;
    });
}

/// A `hyper::rt::Sleep` of some other timer: never ready.
#[cfg(feature = "hyper")]
struct Foreign;

#[cfg(feature = "hyper")]
impl std::future::Future for Foreign {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Pending
    }
}

#[cfg(feature = "hyper")]
impl hyper::rt::Sleep for Foreign {}

#[cfg(feature = "hyper")]
pub fn hyper_serves_and_times_out_on_the_backend_clock<R: Runtime<Sleep: Sync>>(rt: &R) {
    use std::convert::Infallible;

    use hyper::body::Incoming;
    use hyper::{Request, Response};
    use stagger::interop::HyperTimer;

    use crate::duplex::duplex;

    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
        Ok::<_, Infallible>(Response::new(format!("hello {}", req.uri())))
    });
    let server = || {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(HyperTimer::new(rt.clone()))
            .header_read_timeout(Duration::from_millis(50));
        builder
    };
    rt.block_on(async {
        // An exchange.
        let (client_io, server_io) = duplex().await;
        let serving = server().serve_connection(server_io, service);
        let client = async {
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(client_io)
                .await
                .unwrap();
            let request = async {
                let request = Request::get("/x")
                    .header("host", "mem")
                    .body(String::new())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                let status = response.status();
                drop(sender);
                status
            };
            let (status, conn) = futures::join!(request, conn);
            conn.unwrap();
            status
        };
        let (served, status) = futures::join!(serving, client);
        served.unwrap();
        assert_eq!(status, 200);

        // A client that sends half a header: the server's header read
        // times out after 50 ms on the backend's clock.
        let (mut client_io, server_io) = duplex().await;
        futures::AsyncWriteExt::write_all(&mut client_io, b"GET / HTTP/1.1\r\nHost: mem\r\n")
            .await
            .unwrap();
        let start = rt.now();
        let served = server().serve_connection(server_io, service).await;
        let took = rt.now() - start;
        let err = served.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(
            took >= Duration::from_millis(50) && took < Duration::from_millis(50) + SLACK,
            "{took:?}"
        );
    });
}

#[cfg(feature = "hyper")]
pub fn hyper_http2_runs_on_the_backend_executor<R: Runtime<Sleep: Sync> + Unpin>(rt: &R) {
    use std::convert::Infallible;

    use hyper::body::Incoming;
    use hyper::{Request, Response};
    use stagger::interop::{HyperExecutor, HyperTimer};

    use crate::duplex::duplex;

    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
        Ok::<_, Infallible>(Response::new(format!("h2 {}", req.uri().path())))
    });
    rt.block_on(async {
        let (client_io, server_io) = duplex().await;
        let serving = hyper::server::conn::http2::Builder::new(HyperExecutor::new(rt.clone()))
            .timer(HyperTimer::new(rt.clone()))
            .serve_connection(server_io, service);
        let client = async {
            let (sender, conn) =
                hyper::client::conn::http2::Builder::new(HyperExecutor::new(rt.clone()))
                    .timer(HyperTimer::new(rt.clone()))
                    .handshake::<_, String>(client_io)
                    .await
                    .unwrap();
            let senders: Vec<_> = (0..10).map(|i| (i, sender.clone())).collect();
            drop(sender);
            let requests = senders.into_iter().map(|(i, mut sender)| async move {
                let request = Request::get(format!("http://mem/{i}"))
                    .body(String::new())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                let body = crate::body::text(response.into_body()).await;
                assert_eq!(body, format!("h2 /{i}"));
            });
            let requests = futures::future::join_all(requests);
            let (_, conn) = futures::join!(requests, conn);
            conn.unwrap();
        };
        let (served, ()) = futures::join!(serving, client);
        served.unwrap();
    });
}
