//! `stagger::sim::net` streams on every backend: a network without latency
//! never needs its clock to move, so its streams work on any executor.

use std::io::ErrorKind;

use futures::{AsyncReadExt, AsyncWriteExt};
use stagger::sim::Sim;
use stagger::sim::net::Net;

use stagger::Runtime;

pub fn net_streams_without_latency_work_on_the_backend<R: Runtime>(rt: &R) {
    let net = Net::new(&Sim::new());
    let mut listener = net.bind("server:80").unwrap();
    rt.block_on(async {
        // A writer task of the backend's, bigger than the buffer: it waits
        // for the reader, woken across tasks (and threads).
        let client = net.host("client").connect("server:80").await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let expected = data.clone();
        let writer = rt.spawn(async move {
            let mut client = client;
            client.write_all(&data).await.unwrap();
            client.close().await.unwrap();
            client
        });
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, expected);
        let mut client = writer.await;
        drop(server);
        let err = client.write_all(b"gone").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
    assert_eq!(net.connections(), 0);
}
