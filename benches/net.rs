//! `stagger::sim::net` next to `tokio::io::duplex`: what moving bytes
//! costs, in wall time (virtual latency is free: it is not waited for).
//!
//! ```text
//! cargo bench --no-default-features --bench net
//! ```
//!
//! Group `net/bulk`: 1 GiB through one connection, written and read in
//! 64 KiB chunks, a 64 KiB buffer each (the Sim network's default, and the
//! duplex's size). Group `net/rpc`: 100 000 request/response pairs of 64
//! bytes each way on one connection, one at a time. Contenders:
//! `tokio_duplex`, a `tokio::io::duplex` pair on a current-thread runtime,
//! the writer (or server) a spawned task; `sim_net_0`, the same on a `Sim`
//! over a link without latency; `sim_net_100us`, over a link of 100 µs per
//! segment, where every segment waits on a `Sim` timer (100 000 round
//! trips are 20 s of virtual time).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use futures::{AsyncReadExt, AsyncWriteExt};
use stagger::prelude::*;
use stagger::sim::Sim;
use stagger::sim::net::{Link, Net, Stream};

const GIB: usize = 1 << 30;
const CHUNK: usize = 64 * 1024;
const PAIRS: usize = 100_000;
const MESSAGE: usize = 64;

/// A connected pair on a fresh Sim with a link of `latency`.
fn sim_pair(latency: Duration) -> (Sim, Stream, Stream) {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(latency));
    let mut listener = net.bind("b:1").unwrap();
    let (client, server) = sim.block_on(async {
        let client = net.host("a").connect("b:1").await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    });
    (sim, client, server)
}

fn sim_bulk(latency: Duration) -> usize {
    let (sim, mut client, mut server) = sim_pair(latency);
    let writer = sim.spawn(async move {
        let chunk = vec![7u8; CHUNK];
        let mut left = GIB;
        while left > 0 {
            left -= client.write(&chunk[..CHUNK.min(left)]).await.unwrap();
        }
    });
    sim.block_on(async {
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        while got < GIB {
            got += server.read(&mut buf).await.unwrap();
        }
        writer.await;
        black_box(got)
    })
}

fn sim_rpc(latency: Duration) -> usize {
    let (sim, mut client, mut server) = sim_pair(latency);
    let echo = sim.spawn(async move {
        let mut buf = [0u8; MESSAGE];
        for _ in 0..PAIRS {
            server.read_exact(&mut buf).await.unwrap();
            server.write_all(&buf).await.unwrap();
        }
    });
    sim.block_on(async {
        let mut buf = [1u8; MESSAGE];
        for _ in 0..PAIRS {
            client.write_all(&buf).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
        echo.await;
        black_box(buf.len() * PAIRS)
    })
}

fn tokio_bulk(rt: &tokio::runtime::Runtime) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt.block_on(async {
        let (mut client, mut server) = tokio::io::duplex(CHUNK);
        let writer = tokio::spawn(async move {
            let chunk = vec![7u8; CHUNK];
            let mut left = GIB;
            while left > 0 {
                left -= client.write(&chunk[..CHUNK.min(left)]).await.unwrap();
            }
        });
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        while got < GIB {
            got += server.read(&mut buf).await.unwrap();
        }
        writer.await.unwrap();
        black_box(got)
    })
}

fn tokio_rpc(rt: &tokio::runtime::Runtime) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt.block_on(async {
        let (mut client, mut server) = tokio::io::duplex(CHUNK);
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; MESSAGE];
            for _ in 0..PAIRS {
                server.read_exact(&mut buf).await.unwrap();
                server.write_all(&buf).await.unwrap();
            }
        });
        let mut buf = [1u8; MESSAGE];
        for _ in 0..PAIRS {
            client.write_all(&buf).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
        echo.await.unwrap();
        black_box(buf.len() * PAIRS)
    })
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let zero = Duration::ZERO;
    let latency = Duration::from_micros(100);

    let mut bulk = c.benchmark_group("net/bulk");
    bulk.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Bytes(GIB as u64));
    bulk.bench_function("tokio_duplex", |b| b.iter(|| tokio_bulk(&rt)));
    bulk.bench_function("sim_net_0", |b| b.iter(|| sim_bulk(zero)));
    bulk.bench_function("sim_net_100us", |b| b.iter(|| sim_bulk(latency)));
    bulk.finish();

    let mut rpc = c.benchmark_group("net/rpc");
    rpc.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(PAIRS as u64));
    rpc.bench_function("tokio_duplex", |b| b.iter(|| tokio_rpc(&rt)));
    rpc.bench_function("sim_net_0", |b| b.iter(|| sim_rpc(zero)));
    rpc.bench_function("sim_net_100us", |b| b.iter(|| sim_rpc(latency)));
    rpc.finish();

    c.final_summary();
}
