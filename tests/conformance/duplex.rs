//! An in-memory connection for the hyper tests, on every backend: the two
//! sides of a `stagger::sim::net` connection over a link without latency.
//! Such a network never needs its clock to move, so its streams work on any
//! executor (the library's own piece, rather than a duplex of the tests').

use stagger::sim::Sim;
use stagger::sim::net::{Net, Stream};

/// A connected pair of streams: (client, server).
pub async fn duplex() -> (Stream, Stream) {
    let net = Net::new(&Sim::new());
    let mut listener = net.bind("server:80").unwrap();
    let client = net.host("client").connect("server:80").await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}
