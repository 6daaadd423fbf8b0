//! `stagger::sim::net` on Sim: exact arrival times, faults, bad input, no
//! leaks, deadlock messages, and properties over seeds.

use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use proptest::prelude::*;
use rand::distr::Uniform;
use stagger::prelude::*;
use stagger::sim::Sim;
use stagger::sim::net::{Link, Net, Stream};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A connected pair: (client at "a", server at "b:80").
async fn pair(net: &Net) -> (Stream, Stream) {
    let mut listener = net.bind("b:80").unwrap();
    let client = net.host("a").connect("b:80").await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match payload.downcast_ref::<String>() {
        Some(text) => text.clone(),
        None => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
    }
}

/// Runs `f` on `sim`, which must panic; the message.
fn panics<T>(sim: &Sim, f: impl Future<Output = T>) -> String {
    let caught = catch_unwind(AssertUnwindSafe(|| sim.block_on(f)));
    match caught {
        Ok(_) => panic!("did not panic"),
        Err(payload) => message(payload.as_ref()),
    }
}

// ===== delivery =====

#[test]
fn bytes_arrive_exactly_one_latency_later() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        assert_eq!(sim.elapsed(), ms(60), "connect is a round trip");
        client.write_all(b"abc").await.unwrap();
        let mut buf = [0; 3];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!((&buf, sim.elapsed()), (b"abc", ms(90)));
        server.write_all(b"xyz").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!((&buf, sim.elapsed()), (b"xyz", ms(120)));
    });
}

#[test]
fn bandwidth_adds_transmission_time() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(10)).bandwidth(1_000));
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        let start = sim.elapsed();
        client.write_all(&[7; 500]).await.unwrap();
        client.write_all(&[8; 500]).await.unwrap();
        let mut buf = [0; 1000];
        server.read_exact(&mut buf[..500]).await.unwrap();
        assert_eq!(sim.elapsed() - start, ms(510));
        server.read_exact(&mut buf[500..]).await.unwrap();
        // The second segment queued behind the first on the link.
        assert_eq!(sim.elapsed() - start, ms(1010));
    });
}

#[test]
fn a_full_buffer_holds_the_writer_back() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_buffer(10);
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        let wrote = Arc::new(Mutex::new(0));
        let count = Arc::clone(&wrote);
        let writer = sim.spawn(async move {
            for chunk in [[1u8; 8], [2; 8], [3; 8]] {
                client.write_all(&chunk).await.unwrap();
                *count.lock().unwrap() += 8;
            }
            client
        });
        sim.sleep(ms(1)).await;
        assert_eq!(*wrote.lock().unwrap(), 8, "the second chunk does not fit");
        let mut buf = vec![0; 24];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, [[1u8; 8], [2; 8], [3; 8]].concat());
        drop(writer.await);
    });
}

#[test]
fn a_closed_writer_reads_as_end_of_stream() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(5)));
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        client.write_all(b"last words").await.unwrap();
        client.close().await.unwrap();
        assert_eq!(
            client.write(b"more").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        // Half-closed: the other direction still works.
        server.write_all(b"ok").await.unwrap();
        let mut buf = [0; 2];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    });
}

// ===== bad input =====

#[test]
fn connect_to_nothing_is_refused_at_once() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    sim.block_on(async {
        let err = net.host("a").connect("b:80").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        assert_eq!(sim.elapsed(), Duration::ZERO);
        let err = net.host("a").connect("no port").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
    assert_eq!(net.connections(), 0);
}

#[test]
fn bind_twice_is_addr_in_use_until_dropped() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    let listener = net.bind("b:80").unwrap();
    let ip: std::net::SocketAddr = "10.0.0.1:80".parse().unwrap();
    let by_ip = net.bind(ip).unwrap();
    assert_eq!(net.bind("b:80").unwrap_err().kind(), ErrorKind::AddrInUse);
    assert_eq!(
        net.bind("10.0.0.1:80").unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    drop((listener, by_ip));
    net.bind("b:80").unwrap();
    let any = net.bind("b:0").unwrap();
    assert_ne!(any.local_addr().port(), 0);
}

#[test]
fn write_after_the_peer_closed_is_a_broken_pipe() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    sim.block_on(async {
        let (mut client, server) = pair(&net).await;
        drop(server);
        let err = client.write_all(b"anyone?").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        let mut buf = [0; 1];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    });
}

/// A read that waits on bytes that never arrive: a deadlock naming why.
fn never_arrives(link: Link) -> String {
    let sim = Sim::seeded(3);
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::default());
    let (mut client, mut server) = sim.block_on(pair(&net));
    net.set_link("a", "b", link);
    sim.block_on(client.write_all(b"lost")).unwrap();
    let message = panics(&sim, async {
        let mut buf = [0; 4];
        server.read_exact(&mut buf).await
    });
    assert!(message.contains("deadlock"), "{message}");
    assert!(message.contains("seed 3"), "{message}");
    message
}

#[test]
fn latency_past_an_instant_never_arrives() {
    let message = never_arrives(Link::latency(Duration::MAX));
    assert!(message.contains("never arrive"), "{message}");
}

#[test]
fn bandwidth_zero_carries_nothing() {
    let message = never_arrives(Link::latency(ms(1)).bandwidth(0));
    assert!(message.contains("bandwidth 0"), "{message}");
}

// ===== faults =====

#[test]
fn a_partition_holds_traffic_until_healed() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        let start = sim.elapsed();
        client.write_all(b"one").await.unwrap();
        sim.sleep(ms(10)).await;
        net.partition("a", "b"); // "one" is in flight: held
        client.write_all(b"two").await.unwrap(); // buffered, held
        net.schedule(ms(5_000), |net| net.heal("a", "b"));
        let mut buf = [0; 6];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"onetwo");
        assert_eq!(sim.elapsed() - start, ms(5_010 + 30));
    });
}

#[test]
fn a_partition_holds_connects_and_a_read_on_it_is_a_named_deadlock() {
    let sim = Sim::seeded(11);
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    let _listener = net.bind("b:80").unwrap();
    net.partition("a", "b");
    let message = panics(&sim, net.host("a").connect("b:80"));
    assert!(
        message.contains("a connect from a:49152 to b:80"),
        "{message}"
    );
    assert!(
        message.contains("the link a <-> b, which is partitioned"),
        "{message}"
    );
    assert!(message.contains("seed 11"), "{message}");
    net.heal("a", "b");
    let (_client, mut server) = sim.block_on(pair_on(&net, "b:81"));
    net.partition("b", "a");
    let message = panics(&sim, async {
        let mut buf = [0; 1];
        server.read(&mut buf).await
    });
    assert!(message.contains("a read at b:81 from a:"), "{message}");
    assert!(message.contains("partitioned"), "{message}");
}

#[test]
fn a_connect_across_a_partition_completes_a_round_trip_after_the_heal() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    let mut listener = net.bind("b:80").unwrap();
    net.partition("a", "b");
    net.schedule(ms(2_000), |net| net.heal("a", "b"));
    let accepted = sim.spawn({
        let sim = sim.clone();
        async move {
            let accepted = listener.accept().await.map(drop);
            (accepted.is_ok(), sim.elapsed())
        }
    });
    sim.block_on(async {
        let client = net.host("a").connect("b:80").await.unwrap();
        assert_eq!(sim.elapsed(), ms(2_060), "SYN at 2.03 s, SYN-ACK at 2.06 s");
        drop(client);
        assert_eq!(accepted.await, (true, ms(2_030)));
    });
    assert_eq!(net.connections(), 0);
}

#[test]
fn an_accept_with_nothing_connecting_is_a_named_deadlock() {
    let sim = Sim::seeded(12);
    let net = Net::new(&sim);
    let mut listener = net.bind("b:80").unwrap();
    let message = panics(&sim, listener.accept());
    assert!(
        message.contains("an accept on b:80: nothing connects"),
        "{message}"
    );
    assert!(message.contains("seed 12"), "{message}");
}

async fn pair_on(net: &Net, addr: &str) -> (Stream, Stream) {
    let mut listener = net.bind(addr).unwrap();
    let client = net.host("a").connect(addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn a_reset_fails_both_sides() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        client.write_all(b"in flight").await.unwrap();
        let reader = sim.spawn(async move {
            let mut buf = [0; 64];
            server.read(&mut buf).await.map_err(|e| e.kind())
        });
        sim.sleep(ms(1)).await;
        assert_eq!(net.reset("b", "a"), 1);
        assert_eq!(reader.await, Err(ErrorKind::ConnectionReset));
        let err = client.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        let mut buf = [0; 1];
        assert_eq!(
            client.read(&mut buf).await.unwrap_err().kind(),
            ErrorKind::ConnectionReset
        );
    });
    assert_eq!(net.connections(), 0);
}

#[test]
fn refused_addresses_and_closed_listeners() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    let mut listener = net.bind("b:80").unwrap();
    sim.block_on(async {
        net.refuse("b:80").unwrap();
        let err = net.host("a").connect("b:80").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        net.allow("b:80").unwrap();
        // A connect in its handshake when the listener closes is refused.
        let connecting = sim.spawn({
            let host = net.host("a");
            async move { host.connect("b:80").await.map(drop).map_err(|e| e.kind()) }
        });
        sim.sleep(ms(10)).await;
        assert!(net.close("b:80").unwrap());
        assert_eq!(connecting.await, Err(ErrorKind::ConnectionRefused));
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionAborted);
        let err = net.host("a").connect("b:80").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        assert!(!net.close("b:80").unwrap());
    });
    // The address is free again.
    drop(net.bind("b:80").unwrap());
    assert_eq!(net.connections(), 0);
}

// ===== no leaks =====

#[test]
fn dropping_anything_at_any_point_frees_the_connection() {
    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(30)));
    sim.block_on(async {
        // A connect dropped mid-handshake, never accepted.
        let listener = net.bind("b:80").unwrap();
        let connect = net.host("a").connect("b:80");
        let _ = stagger::timeout(&sim, ms(10), connect).await;
        assert_eq!(net.connections(), 1, "in the backlog");
        drop(listener);
        assert_eq!(net.connections(), 0);
        // Streams with bytes in flight both ways, dropped in either order.
        for server_first in [false, true] {
            let mut listener = net.bind("b:80").unwrap();
            let (mut client, mut server) = pair_on_listener(&net, &mut listener).await;
            client.write_all(&[1; 1000]).await.unwrap();
            server.write_all(&[2; 1000]).await.unwrap();
            assert_eq!(net.connections(), 1);
            if server_first {
                drop(server);
                drop(client);
            } else {
                drop(client);
                drop(server);
            }
            assert_eq!(net.connections(), 0);
        }
        let listener = net.bind("b:80").unwrap();
        // Connected, never accepted, then the client goes.
        let client = net.host("a").connect("b:80").await.unwrap();
        drop(client);
        assert_eq!(net.connections(), 1, "still in the backlog");
        drop(listener);
        assert_eq!(net.connections(), 0);
    });
    // Tasks blocked on reads and writes when the Sim goes.
    let watch = net.clone();
    drop(net);
    let net = watch.clone();
    let (client, server) = sim.block_on(pair(&net));
    sim.spawn(async move {
        let mut client = client;
        client.write_all(&[0; 1 << 20]).await
    })
    .detach();
    sim.spawn(async move {
        let mut server = server;
        let mut buf = [0; 1];
        server.read_exact(&mut buf).await?;
        std::future::pending::<std::io::Result<()>>().await
    })
    .detach();
    sim.block_on(sim.sleep(ms(1)));
    assert_eq!(watch.connections(), 1);
    drop((sim, net));
    assert_eq!(
        watch.connections(),
        0,
        "the Sim's shutdown dropped both tasks"
    );
}

async fn pair_on_listener(
    net: &Net,
    listener: &mut stagger::sim::net::Listener,
) -> (Stream, Stream) {
    let client = net.host("a").connect(listener.local_addr()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

// ===== any sequence of operations and drops =====

#[derive(Clone, Debug)]
enum Op {
    Connect,
    Accept,
    Write(usize, usize),
    Read(usize),
    Close(usize),
    Drop(usize),
    Partition,
    Heal,
    Reset,
    CloseListener,
    DropListener,
    Bind,
    Sleep(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Connect),
        3 => Just(Op::Accept),
        4 => (0usize..8, 1usize..100_000).prop_map(|(s, n)| Op::Write(s, n)),
        4 => (0usize..8).prop_map(Op::Read),
        1 => (0usize..8).prop_map(Op::Close),
        2 => (0usize..8).prop_map(Op::Drop),
        1 => Just(Op::Partition),
        1 => Just(Op::Heal),
        1 => Just(Op::Reset),
        1 => Just(Op::CloseListener),
        1 => Just(Op::DropListener),
        1 => Just(Op::Bind),
        2 => (0u64..200).prop_map(Op::Sleep),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever happens, in whatever order, nothing panics or hangs, each
    /// wait ends within its timeout, and once every handle is dropped no
    /// connection is left.
    #[test]
    fn any_sequence_of_operations_and_drops_leaves_nothing(
        seed: u64,
        ops in prop::collection::vec(op(), 0..60),
    ) {
        let sim = Sim::seeded(seed);
        let net = Net::new(&sim);
        net.set_link("a", "b", Link::latency_from(Uniform::new(ms(1), ms(30)).unwrap()));
        net.set_buffer(64 * 1024);
        let mut listener = net.bind("b:80").ok();
        let mut streams: Vec<Stream> = Vec::new();
        let bound = ms(100);
        sim.block_on(async {
            for op in ops {
                let pick = |i: usize, len: usize| (len > 0).then(|| i % len);
                match op {
                    Op::Connect => {
                        if let Ok(Ok(stream)) =
                            stagger::timeout(&sim, bound, net.host("a").connect("b:80")).await
                        {
                            streams.push(stream);
                        }
                    }
                    Op::Accept => {
                        if let Some(listener) = &mut listener {
                            if let Ok(Ok((stream, _))) =
                                stagger::timeout(&sim, bound, listener.accept()).await
                            {
                                streams.push(stream);
                            }
                        }
                    }
                    Op::Write(i, n) => {
                        if let Some(i) = pick(i, streams.len()) {
                            let data = vec![9u8; n];
                            let _ = stagger::timeout(&sim, bound, streams[i].write_all(&data)).await;
                        }
                    }
                    Op::Read(i) => {
                        if let Some(i) = pick(i, streams.len()) {
                            let mut buf = vec![0; 50_000];
                            let _ = stagger::timeout(&sim, bound, streams[i].read(&mut buf)).await;
                        }
                    }
                    Op::Close(i) => {
                        if let Some(i) = pick(i, streams.len()) {
                            let _ = streams[i].close().await;
                        }
                    }
                    Op::Drop(i) => {
                        if let Some(i) = pick(i, streams.len()) {
                            drop(streams.swap_remove(i));
                        }
                    }
                    Op::Partition => net.partition("a", "b"),
                    Op::Heal => net.heal("b", "a"),
                    Op::Reset => drop(net.reset("a", "b")),
                    Op::CloseListener => drop(net.close("b:80")),
                    Op::DropListener => listener = None,
                    Op::Bind => {
                        if listener.is_none() {
                            listener = net.bind("b:80").ok();
                        }
                    }
                    Op::Sleep(n) => sim.sleep(ms(n)).await,
                }
            }
        });
        drop((streams, listener));
        prop_assert_eq!(net.connections(), 0);
    }
}

// ===== properties over seeds =====

/// Sends `sizes` chunks through a link of latency uniform in
/// `[min, max]`, partitioned over `partition` (from, to) when given; the
/// bytes read, each byte's send and arrival times, and the trace.
#[allow(clippy::type_complexity)]
fn transfer(
    sim: &Sim,
    sizes: &[usize],
    (min, max): (Duration, Duration),
    partition: Option<(Duration, Duration)>,
) -> (Vec<u8>, Vec<Duration>, Vec<Duration>) {
    let net = Net::new(sim);
    let latency = Uniform::new_inclusive(min, max).unwrap();
    net.set_link("a", "b", Link::latency_from(latency));
    net.set_buffer(4096);
    if let Some((from, to)) = partition {
        net.schedule(from, |net| net.partition("a", "b"));
        net.schedule(to, |net| net.heal("a", "b"));
    }
    let total: usize = sizes.iter().sum();
    let data: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
    let sent = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let (mut client, mut server) = sim.block_on(pair(&net));
    let writer = sim.spawn({
        let (sim, sent, data, sizes) =
            (sim.clone(), Arc::clone(&sent), data.clone(), sizes.to_vec());
        async move {
            let mut at = 0;
            for size in sizes {
                let mut chunk = &data[at..at + size];
                while !chunk.is_empty() {
                    let n = client.write(chunk).await.unwrap();
                    sent.lock()
                        .unwrap()
                        .extend(std::iter::repeat_n(sim.elapsed(), n));
                    chunk = &chunk[n..];
                }
                at += size;
                sim.sleep(Duration::from_micros(size as u64 % 700)).await;
            }
            client.close().await.unwrap();
        }
    });
    let (got, arrived) = sim.block_on(async {
        let (mut got, mut arrived) = (Vec::new(), Vec::new());
        let mut buf = [0; 1500];
        loop {
            let n = server.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            arrived.extend(std::iter::repeat_n(sim.elapsed(), n));
        }
        (got, arrived)
    });
    sim.block_on(writer);
    assert_eq!(got, data);
    drop((server, net));
    let sent = Arc::try_unwrap(sent).unwrap().into_inner().unwrap();
    (got, sent, arrived)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn what_is_written_is_read_in_order_no_earlier_than_its_latency(
        seed: u64,
        sizes in prop::collection::vec(1usize..10_000, 0..40),
        min_us in 0u64..50_000,
        spread_us in 0u64..50_000,
    ) {
        let sim = Sim::seeded(seed);
        let (min, max) = (Duration::from_micros(min_us), Duration::from_micros(min_us + spread_us));
        let (got, sent, arrived) = transfer(&sim, &sizes, (min, max), None);
        prop_assert_eq!(got.len(), sizes.iter().sum::<usize>());
        for (i, (&sent, &arrived)) in sent.iter().zip(&arrived).enumerate() {
            prop_assert!(arrived >= sent + min, "byte {} sent at {:?} arrived at {:?}", i, sent, arrived);
        }
    }

    #[test]
    fn partitions_hold_traffic_until_healed(
        seed: u64,
        sizes in prop::collection::vec(1usize..5_000, 1..30),
        from_ms in 0u64..200,
        for_ms in 1u64..2_000,
    ) {
        let sim = Sim::seeded(seed);
        let (min, max) = (ms(1), ms(20));
        // Times are since the pair connected; the schedule starts at 0 and
        // the handshake takes at most 2 * max.
        let (from, to) = (ms(from_ms), ms(from_ms + for_ms));
        let (_, sent, arrived) = transfer(&sim, &sizes, (min, max), Some((from, to)));
        for (&sent, &arrived) in sent.iter().zip(&arrived) {
            // Sent into the partition, or sent before it and arriving in it.
            if sent >= from && sent < to {
                prop_assert!(arrived >= to + min, "sent at {:?}, arrived at {:?}", sent, arrived);
            }
            prop_assert!(arrived < from || arrived >= to + min, "arrived at {:?} while partitioned", arrived);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_trace(seed: u64, sizes in prop::collection::vec(1usize..20_000, 1..20)) {
        let run = |sim: &Sim| transfer(sim, &sizes, (ms(1), ms(80)), Some((ms(30), ms(300))));
        let first = stagger::sim::assert_deterministic(seed, run);
        prop_assert_eq!(first, run(&Sim::seeded(seed)));
    }
}

// ===== tokio's I/O traits =====

#[test]
#[cfg(feature = "tokio")]
fn tokio_io_traits_move_the_same_bytes() {
    use std::pin::Pin;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    let sim = Sim::new();
    let net = Net::new(&sim);
    net.set_link("a", "b", Link::latency(ms(7)));
    sim.block_on(async {
        let (mut client, mut server) = pair(&net).await;
        let start = sim.elapsed();
        let n = std::future::poll_fn(|cx| Pin::new(&mut client).poll_write(cx, b"tokio"))
            .await
            .unwrap();
        assert_eq!(n, 5);
        std::future::poll_fn(|cx| Pin::new(&mut client).poll_shutdown(cx))
            .await
            .unwrap();
        let mut storage = [0; 16];
        let mut buf = ReadBuf::new(&mut storage);
        std::future::poll_fn(|cx| Pin::new(&mut server).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(
            (buf.filled(), sim.elapsed() - start),
            (&b"tokio"[..], ms(7))
        );
        std::future::poll_fn(|cx| Pin::new(&mut server).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled().len(), 5, "end of stream");
    });
}

// ===== hyper end to end =====

#[cfg(feature = "hyper")]
#[path = "support/body.rs"]
mod body;

#[cfg(feature = "hyper")]
mod hyper_e2e {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::body::Incoming;
    use hyper::{Request, Response};
    use stagger::interop::{HyperExecutor, HyperTimer};
    use stagger::sim::net::Listener;

    use super::*;

    /// A network whose link a <-> b takes 20-80 ms.
    fn jittered(sim: &Sim) -> Net {
        let net = Net::new(sim);
        let latency = Uniform::new(ms(20), ms(80)).unwrap();
        net.set_link("a", "b", Link::latency_from(latency));
        net
    }

    /// Serves HTTP/1 on every connection `listener` accepts, each response
    /// after `delay`; counts the connections.
    fn serve_http1(sim: &Sim, mut listener: Listener, delay: Duration) -> Arc<AtomicUsize> {
        let accepted = Arc::new(AtomicUsize::new(0));
        let (count, clock) = (Arc::clone(&accepted), sim.clone());
        sim.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let handler = clock.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let sleep = handler.sleep(delay);
                    async move {
                        sleep.await;
                        Ok::<_, Infallible>(Response::new(format!("hello {}", req.uri().path())))
                    }
                });
                let serving = hyper::server::conn::http1::Builder::new()
                    .timer(HyperTimer::new(clock.clone()))
                    .serve_connection(stream, service);
                clock.spawn(serving).detach();
            }
        })
        .detach();
        accepted
    }

    #[test]
    fn http1_keep_alive_reuses_one_connection() {
        let sim = Sim::seeded(5);
        let net = jittered(&sim);
        let accepted = serve_http1(&sim, net.bind("b:80").unwrap(), Duration::ZERO);
        sim.block_on(async {
            let stream = net.host("a").connect("b:80").await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(stream)
                .await
                .unwrap();
            sim.spawn(conn).detach();
            for i in 0..3 {
                let start = sim.elapsed();
                let request = Request::get(format!("/{i}")).body(String::new()).unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(
                    body::text(response.into_body()).await,
                    format!("hello /{i}")
                );
                let took = sim.elapsed() - start;
                assert!(took >= ms(40) && took <= ms(160), "{took:?}");
            }
        });
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(net.connections(), 1);
    }

    #[test]
    fn http2_multiplexes_over_a_jittered_link() {
        let sim = Sim::seeded(6);
        let net = jittered(&sim);
        let mut listener = net.bind("b:443").unwrap();
        let server_sim = sim.clone();
        sim.spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let clock = server_sim.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let sleep = clock.sleep(ms(100));
                async move {
                    sleep.await;
                    Ok::<_, Infallible>(Response::new(format!("h2 {}", req.uri().path())))
                }
            });
            hyper::server::conn::http2::Builder::new(HyperExecutor::new(server_sim.clone()))
                .timer(HyperTimer::new(server_sim.clone()))
                .serve_connection(stream, service)
                .await
        })
        .detach();
        sim.block_on(async {
            let stream = net.host("a").connect("b:443").await.unwrap();
            let (sender, conn) =
                hyper::client::conn::http2::Builder::new(HyperExecutor::new(sim.clone()))
                    .timer(HyperTimer::new(sim.clone()))
                    .handshake::<_, String>(stream)
                    .await
                    .unwrap();
            sim.spawn(conn).detach();
            let start = sim.elapsed();
            let requests = (0..20).map(|i| {
                let mut sender = sender.clone();
                async move {
                    let request = Request::get(format!("http://b/{i}"))
                        .body(String::new())
                        .unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    assert_eq!(body::text(response.into_body()).await, format!("h2 /{i}"));
                }
            });
            futures::future::join_all(requests).await;
            // Concurrent on one connection: about one round trip plus the
            // handler's 100 ms, not twenty.
            let took = sim.elapsed() - start;
            assert!(took >= ms(140) && took < ms(600), "{took:?}");
        });
        assert_eq!(net.connections(), 1);
    }

    #[test]
    fn a_request_timeout_fires_at_exactly_its_virtual_deadline() {
        let sim = Sim::seeded(7);
        let net = jittered(&sim);
        serve_http1(&sim, net.bind("b:80").unwrap(), Duration::from_secs(5));
        sim.block_on(async {
            let stream = net.host("a").connect("b:80").await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(stream)
                .await
                .unwrap();
            sim.spawn(conn).detach();
            let start = sim.elapsed();
            let request = Request::get("/slow").body(String::new()).unwrap();
            let outcome = stagger::timeout(&sim, ms(1_000), sender.send_request(request)).await;
            assert!(outcome.is_err(), "the server takes 5 s");
            assert_eq!(sim.elapsed() - start, ms(1_000));
        });
    }

    #[test]
    fn hyper_header_read_timeout_over_the_network() {
        let sim = Sim::seeded(8);
        let net = jittered(&sim);
        let mut listener = net.bind("b:80").unwrap();
        let err = sim.block_on(async {
            let mut client = net.host("a").connect("b:80").await.unwrap();
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: b\r\n")
                .await
                .unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|_: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            });
            let start = sim.elapsed();
            let served = hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new(sim.clone()))
                .header_read_timeout(ms(500))
                .serve_connection(stream, service)
                .await;
            assert_eq!(sim.elapsed() - start, ms(500));
            served.unwrap_err()
        });
        assert!(err.is_timeout(), "{err}");
    }
}
