//! [`Stream`]: one side of a connection on a simulated network, a byte
//! stream with futures-io's `AsyncRead` and `AsyncWrite`.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::sync::Arc;

use super::Addr;
use super::wait::Wait;
use super::world::{After, ReadInto, Shared};

/// One side of a connection on a [`Net`](super::Net): what one side writes
/// the other reads, in order, each segment arriving after its link's
/// latency (see [`Link`](super::Link)).
///
/// Made by [`Host::connect`](super::Host::connect) and
/// [`Listener::accept`](super::Listener::accept). It implements futures-io's
/// `AsyncRead` and `AsyncWrite` always, tokio's with the `tokio` feature,
/// and hyper's `rt::Read` and `rt::Write` with the `hyper` feature, so a
/// hyper client or server takes it as it is.
///
/// # Reads and writes
///
/// - A write takes what fits in the connection's buffer (in flight plus
///   unread, [`Net::set_buffer`](super::Net::set_buffer), 64 KiB by
///   default) as one segment, and waits while the buffer is full: a reader
///   that does not read holds its writer back, as TCP's window does. The
///   buffer frees as soon as the peer reads (no acknowledgement travels).
/// - A read returns what has arrived, waiting (on a `Sim` timer) for the
///   next segment's arrival while one is in flight. Once the peer has shut
///   down its writing half (`close`, `poll_shutdown`) or dropped its stream,
///   and everything before that has arrived and been read, reads return 0.
/// - After the peer dropped its stream, writes fail with
///   [`BrokenPipe`](io::ErrorKind::BrokenPipe) at once (no reset travels
///   back); so do writes after this side shut down.
/// - After a reset ([`Net::reset`](super::Net::reset)), reads and writes on
///   both sides fail with [`ConnectionReset`](io::ErrorKind::ConnectionReset).
/// - While the link is partitioned, what is in flight and what is written
///   is held (writes buffer until the buffer is full, then wait), and reads
///   wait; nothing times out on its own. Bound the wait with a timeout of
///   your own (`stagger::timeout`, hyper's timer), or the `Sim` reports a
///   deadlock if nothing else can move.
///
/// # Cancellation
///
/// Dropping the stream closes it: its FIN follows what it wrote, what it
/// did not read is dropped, and the connection is freed once both sides are
/// gone. A read or write dropped while waiting loses nothing.
///
/// # Examples
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
/// use stagger::sim::net::{Link, Net};
///
/// let sim = Sim::new();
/// let net = Net::new(&sim);
/// net.set_link("client", "server", Link::latency(Duration::from_millis(30)));
/// let mut listener = net.bind("server:7").unwrap();
/// sim.block_on(async {
///     let mut client = net.host("client").connect("server:7").await.unwrap();
///     assert_eq!(sim.elapsed(), Duration::from_millis(60)); // a round trip
///     let (mut server, _) = listener.accept().await.unwrap();
///     client.write_all(b"ping").await.unwrap();
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
///     assert_eq!(sim.elapsed(), Duration::from_millis(90));
/// });
/// ```
pub struct Stream {
    shared: Arc<Shared>,
    id: usize,
    side: usize,
    local: Addr,
    peer: Addr,
    wait: Wait,
}

impl Stream {
    pub(super) fn new(shared: Arc<Shared>, id: usize, side: usize) -> Self {
        let (local, peer) = {
            let world = shared.lock();
            let conn = world.conns.get(id).expect("a new stream's connection");
            (conn.addrs[side].clone(), conn.addrs[1 - side].clone())
        };
        Stream {
            shared,
            id,
            side,
            local,
            peer,
            wait: Wait::default(),
        }
    }

    /// This side's address.
    pub fn local_addr(&self) -> &Addr {
        &self.local
    }

    /// The other side's address.
    pub fn peer_addr(&self) -> &Addr {
        &self.peer
    }

    /// Waits for the handshake of a connecting stream.
    pub(super) fn poll_connect(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut after = After::default();
            let polled = {
                let mut world = self.shared.lock();
                let now = self.shared.sim.now();
                world.poll_connect(self.id, now, cx.waker(), &mut after)
            };
            after.run();
            match polled {
                Ok(result) => {
                    self.wait.clear();
                    return Poll::Ready(result);
                }
                Err(at) => {
                    if !self.wait.poll(&self.shared.sim, at, cx) {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    /// Reads at most `max` bytes into `put`, in one or two slices.
    pub(super) fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
        put: &mut dyn FnMut(&[u8]),
    ) -> Poll<io::Result<usize>> {
        let mut after = After::default();
        let polled = {
            let mut world = self.shared.lock();
            let now = self.shared.sim.now();
            let into = ReadInto { max, put };
            world.read(self.id, self.side, now, cx.waker(), into, &mut after)
        };
        after.run();
        match polled {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    pub(super) fn poll_write_bytes(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut after = After::default();
        let written = {
            let mut world = self.shared.lock();
            let now = self.shared.sim.now();
            world.write(self.id, self.side, now, cx.waker(), data, &mut after)
        };
        after.run();
        match written {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    pub(super) fn poll_shutdown_write(&mut self) -> Poll<io::Result<()>> {
        let mut after = After::default();
        {
            let mut world = self.shared.lock();
            let now = self.shared.sim.now();
            world.shutdown(self.id, self.side, now, &mut after);
        }
        after.run();
        Poll::Ready(Ok(()))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let mut after = After::default();
        {
            let mut world = self.shared.lock();
            let now = self.shared.sim.now();
            world.close(self.id, self.side, now, &mut after);
        }
        after.run();
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish()
    }
}

// ===== futures-io =====

impl futures::io::AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut filled = 0;
        let max = buf.len();
        self.get_mut().poll_read_with(cx, max, &mut |bytes| {
            buf[filled..filled + bytes.len()].copy_from_slice(bytes);
            filled += bytes.len();
        })
    }
}

impl futures::io::AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_bytes(cx, buf)
    }

    /// Nothing to flush: a write has sent its segment.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the writing half: the FIN follows what was written.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_write()
    }
}
