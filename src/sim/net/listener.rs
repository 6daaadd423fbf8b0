//! [`Listener`]: an address bound on a simulated network, accepting
//! connections.

use core::fmt;
use core::future::poll_fn;
use core::task::{Context, Poll};
use std::io;
use std::sync::Arc;

use super::wait::Wait;
use super::world::{After, Shared};
use super::{Addr, Stream};

/// An address bound on a [`Net`](super::Net) by
/// [`Net::bind`](super::Net::bind): connections to it wait in its backlog
/// until accepted.
///
/// A connection can be accepted once its SYN has arrived (one latency of
/// the link after the connect); the client's `connect` completes a latency
/// later, whether or not it was accepted yet.
///
/// # Cancellation
///
/// Dropping the listener frees its address; the connections it had not
/// accepted are refused (their `connect` fails with
/// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused), or, connected
/// already, their streams see [`ConnectionReset`](io::ErrorKind::ConnectionReset)).
/// Accepted streams live on. Closing it from the network,
/// [`Net::close`](super::Net::close), does the same, and its accepts fail
/// with [`ConnectionAborted`](io::ErrorKind::ConnectionAborted).
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::sim::Sim;
/// use stagger::sim::net::Net;
///
/// let sim = Sim::new();
/// let net = Net::new(&sim);
/// let mut listener = net.bind("db:5432").unwrap();
/// assert_eq!(net.bind("db:5432").unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
/// sim.block_on(async {
///     let client = net.host("app").connect("db:5432").await.unwrap();
///     let (server, peer) = listener.accept().await.unwrap();
///     assert_eq!(&peer, client.local_addr());
///     assert_eq!(server.local_addr().to_string(), "db:5432");
/// });
/// ```
pub struct Listener {
    shared: Arc<Shared>,
    id: usize,
    addr: Addr,
    wait: Wait,
}

impl Listener {
    pub(super) fn new(shared: Arc<Shared>, id: usize, addr: Addr) -> Self {
        Listener {
            shared,
            id,
            addr,
            wait: Wait::default(),
        }
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> &Addr {
        &self.addr
    }

    /// Waits for a connection and accepts it: the stream, and the peer's
    /// address.
    ///
    /// # Errors
    ///
    /// [`ConnectionAborted`](io::ErrorKind::ConnectionAborted) once the
    /// network closed the listener ([`Net::close`](super::Net::close)).
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a connection is taken from the backlog only when this
    /// returns it.
    pub async fn accept(&mut self) -> io::Result<(Stream, Addr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](Listener::accept).
    pub fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Stream, Addr)>> {
        loop {
            let mut after = After::default();
            let polled = {
                let mut world = self.shared.lock();
                let now = self.shared.sim.now();
                world.accept(self.id, now, cx.waker(), &mut after)
            };
            after.run();
            match polled {
                Ok(accepted) => {
                    self.wait.clear();
                    let stream = accepted.map(|id| Stream::new(Arc::clone(&self.shared), id, 1));
                    return Poll::Ready(stream.map(|stream| {
                        let peer = stream.peer_addr().clone();
                        (stream, peer)
                    }));
                }
                Err(at) => {
                    if !self.wait.poll(&self.shared.sim, at, cx) {
                        return Poll::Pending;
                    }
                }
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut after = After::default();
        self.shared.lock().close_listener(self.id, true, &mut after);
        after.run();
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("addr", &self.addr)
            .finish()
    }
}
