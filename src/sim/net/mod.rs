//! A simulated network on a [`Sim`]'s clock and seed: listeners, connects
//! and byte streams between named hosts, with latency, bandwidth,
//! partitions and resets.
//!
//! [`Net`] is one network: hosts (names, or IP addresses as text), the
//! [`Link`] between each pair (a latency drawn per segment from any
//! `Distribution<Duration>`, an optional bandwidth), [`Listener`]s bound to
//! [`Addr`]esses, and [`Stream`]s, the two sides of each connection. The
//! streams are futures-io `AsyncRead + AsyncWrite` (tokio's with the
//! `tokio` feature, hyper's `rt::Read + rt::Write` with `hyper`), so code
//! written against those traits, a hyper client or server included, runs
//! on it unchanged, in virtual time.
//!
//! # The rules
//!
//! - **Delivery**: a segment (each write, each handshake, each FIN) written
//!   at `t` arrives no earlier than `t` plus a latency drawn for it from
//!   its link (after its transmission time, with a bandwidth); bytes of one
//!   connection arrive in the order written. See [`Link`].
//! - **Connects**: [`Host::connect`] to an address nothing listens on, or
//!   that the network [`refuse`](Net::refuse)s, fails with
//!   [`ConnectionRefused`](io::ErrorKind::ConnectionRefused) at once;
//!   otherwise it takes a round trip (SYN, then SYN-ACK, each a draw).
//!   [`bind`](Net::bind)ing a bound address fails with
//!   [`AddrInUse`](io::ErrorKind::AddrInUse).
//! - **Partitions** ([`partition`](Net::partition), [`heal`](Net::heal))
//!   hold traffic between two hosts: segments in flight and segments
//!   written meanwhile wait, writes buffer until the connection's buffer is
//!   full and then wait, reads, connects and accepts wait. Nothing times
//!   out by itself, as a TCP connection without keep-alives would not:
//!   bound the wait with your own timeout. When the partition heals, what it
//!   held is sent again from that instant, in order, each segment with a
//!   fresh draw of the link's latency.
//! - **Resets** ([`reset`](Net::reset)) drop what is in flight between two
//!   hosts, and every later read and write on those connections, on both
//!   sides, fails with [`ConnectionReset`](io::ErrorKind::ConnectionReset).
//! - **Seeds**: every draw comes from one generator, taken from the `Sim`'s
//!   seed by [`Sim::rng`] when the network is made. The network draws in
//!   the order the simulation runs, which the seed also fixes: one
//!   `STAGGER_SEED` replays the network with the rest.
//! - **Deadlock**: a read (or write, connect, accept) waits on a `Sim`
//!   timer while bytes are in flight, and on nothing while they are held or
//!   never sent. If nothing else can move, `block_on` panics as on any
//!   deadlock, and its message names what the network waits on: the
//!   addresses, the link, whether it is partitioned.
//! - **Any executor**: a network whose links have no latency (the default)
//!   never needs its clock to move, so its streams also work as an
//!   in-memory connection on any executor, not only inside the `Sim`'s
//!   `block_on`.
//! - **Lifetime**: the network lives while any handle does: a `Net`, a
//!   [`Host`], a listener or a stream. Dropping any of them at any point
//!   frees what it held; [`connections`](Net::connections) counts the
//!   connections still open. A network does not keep its simulation
//!   going: dropping the last `Sim` shuts it down as usual, dropping its
//!   tasks and the streams they hold.
//!
//! # Examples
//!
//! ```
//! use futures::{AsyncReadExt, AsyncWriteExt};
//! use rand::distr::Uniform;
//! use stagger::prelude::*;
//! use stagger::sim::Sim;
//! use stagger::sim::net::{Link, Net};
//!
//! let sim = Sim::seeded(1);
//! let net = Net::new(&sim);
//! let ms = Duration::from_millis;
//! net.set_link("a", "b", Link::latency_from(Uniform::new(ms(20), ms(80)).unwrap()));
//! let mut listener = net.bind("b:80").unwrap();
//! let echo = sim.spawn(async move {
//!     let (mut stream, _) = listener.accept().await?;
//!     let mut buf = [0; 5];
//!     stream.read_exact(&mut buf).await?;
//!     stream.write_all(&buf).await
//! });
//! sim.block_on(async {
//!     let mut stream = net.host("a").connect("b:80").await.unwrap();
//!     net.partition("a", "b");
//!     stream.write_all(b"hello").await.unwrap(); // buffered, held
//!     let heal = sim.sleep(Duration::from_secs(5));
//!     heal.await;
//!     net.heal("a", "b");
//!     let mut buf = [0; 5];
//!     stream.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"hello");
//!     assert!(sim.elapsed() >= Duration::from_secs(5) + ms(40));
//! });
//! sim.block_on(echo).unwrap();
//! assert_eq!(net.connections(), 0);
//! ```

mod addr;
#[cfg(feature = "hyper")]
mod hyper_io;
mod link;
mod listener;
mod stream;
#[cfg(feature = "tokio")]
mod tokio_io;
mod wait;
mod world;

use core::fmt;
use core::future::{Future, poll_fn};
use core::time::Duration;
use std::io;
use std::sync::{Arc, Weak};

pub use self::addr::{Addr, ToAddr};
pub use self::link::Link;
pub use self::listener::Listener;
pub use self::stream::Stream;
use self::world::After;
pub(crate) use self::world::Shared;
use super::{Inner, Sim};

/// The buffer of each direction of a connection, by default: 64 KiB.
const DEFAULT_BUFFER: usize = 64 * 1024;

/// A simulated network on a [`Sim`]: hosts, links, listeners and
/// connections. A cheap handle: clones share the network.
///
/// See the [module documentation](self) for the rules it follows.
#[derive(Clone)]
pub struct Net {
    shared: Arc<Shared>,
}

impl Net {
    /// Makes a network on `sim`'s clock, drawing from a generator of its
    /// seed ([`Sim::rng`]). Links have no latency until set.
    pub fn new(sim: &Sim) -> Net {
        let inner = Arc::clone(sim.inner());
        let shared = Arc::new(Shared::new(Arc::clone(&inner), sim.rng()));
        let mut nets = inner.nets.lock().unwrap_or_else(|e| e.into_inner());
        nets.retain(|net| net.strong_count() > 0);
        nets.push(Arc::downgrade(&shared));
        drop(nets);
        Net { shared }
    }

    /// A host of the network, by name (or IP address): what connects.
    pub fn host(&self, name: impl fmt::Display) -> Host {
        Host {
            net: self.clone(),
            name: name.to_string().into(),
        }
    }

    /// Binds `addr` (port 0: a free port of its host) and listens there.
    ///
    /// # Errors
    ///
    /// [`AddrInUse`](io::ErrorKind::AddrInUse) if a listener is bound there
    /// already; [`InvalidInput`](io::ErrorKind::InvalidInput) if `addr` is
    /// not an address.
    pub fn bind(&self, addr: impl ToAddr) -> io::Result<Listener> {
        let addr = addr.to_addr()?;
        let (id, addr) = self.shared.lock().bind(addr)?;
        Ok(Listener::new(Arc::clone(&self.shared), id, addr))
    }

    /// Sets the link between hosts `a` and `b` (both directions), for the
    /// segments sent from now on.
    pub fn set_link(&self, a: impl fmt::Display, b: impl fmt::Display, link: Link) {
        let (a, b) = (a.to_string(), b.to_string());
        self.shared.lock().set_link(&a, &b, link);
    }

    /// Sets the link between hosts without one of their own
    /// ([`set_link`](Net::set_link)); at first, [`Link::default`]: no
    /// latency.
    pub fn set_default_link(&self, link: Link) {
        self.shared.lock().default_link = link;
    }

    /// Sets how many bytes each direction of a connection holds, in flight
    /// and unread, before writes wait (64 KiB by default; at least 1).
    pub fn set_buffer(&self, bytes: usize) {
        self.shared.lock().buffer = bytes.max(1);
    }

    /// Partitions hosts `a` and `b`: traffic between them is held until
    /// [`heal`](Net::heal). Partitioning them again does nothing.
    pub fn partition(&self, a: impl fmt::Display, b: impl fmt::Display) {
        let now = self.shared.sim.now();
        let (a, b) = (a.to_string(), b.to_string());
        self.shared.lock().partition(&a, &b, now);
    }

    /// Heals the partition between `a` and `b`: what it held is sent now.
    /// Healing hosts not partitioned does nothing.
    pub fn heal(&self, a: impl fmt::Display, b: impl fmt::Display) {
        let mut after = After::default();
        let now = self.shared.sim.now();
        let (a, b) = (a.to_string(), b.to_string());
        self.shared.lock().heal(&a, &b, now, &mut after);
        after.run();
    }

    /// Resets every connection between hosts `a` and `b`: both sides' reads
    /// and writes fail with [`ConnectionReset`](io::ErrorKind::ConnectionReset)
    /// from now on. Returns how many it reset.
    pub fn reset(&self, a: impl fmt::Display, b: impl fmt::Display) -> usize {
        let mut after = After::default();
        let (a, b) = (a.to_string(), b.to_string());
        let count = self.shared.lock().reset_between(&a, &b, &mut after);
        after.run();
        count
    }

    /// Refuses connects to `addr` from now on, whether or not something
    /// listens there, until [`allow`](Net::allow).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if `addr` is not an
    /// address.
    pub fn refuse(&self, addr: impl ToAddr) -> io::Result<()> {
        let addr = addr.to_addr()?;
        self.shared.lock().refuse(addr, true);
        Ok(())
    }

    /// Stops refusing connects to `addr`.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if `addr` is not an
    /// address.
    pub fn allow(&self, addr: impl ToAddr) -> io::Result<()> {
        let addr = addr.to_addr()?;
        self.shared.lock().refuse(addr, false);
        Ok(())
    }

    /// Closes the listener bound to `addr`, as if its process went away:
    /// its address is free, the connections it had not accepted are
    /// refused, and its accepts fail with
    /// [`ConnectionAborted`](io::ErrorKind::ConnectionAborted). Returns
    /// whether a listener was bound there.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if `addr` is not an
    /// address.
    pub fn close(&self, addr: impl ToAddr) -> io::Result<bool> {
        let addr = addr.to_addr()?;
        let mut after = After::default();
        let closed = self.shared.lock().close_addr(&addr, &mut after);
        after.run();
        Ok(closed)
    }

    /// Runs `fault` on this network `after` from now in virtual time, from
    /// a task of the `Sim`: faults on a schedule.
    ///
    /// The task counts as pending work of the simulation (its timer keeps a
    /// `block_on` from reporting a deadlock until it has run).
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
    /// net.schedule(Duration::from_secs(1), |net| net.partition("a", "b"));
    /// net.schedule(Duration::from_secs(3), |net| net.heal("a", "b"));
    /// # sim.block_on(sim.sleep(Duration::from_secs(4)));
    /// ```
    pub fn schedule<F>(&self, after: Duration, fault: F)
    where
        F: FnOnce(&Net) + Send + 'static,
    {
        let sim = &self.shared.sim;
        let sleep = crate::sim::SimSleep::new(sim, sim.now().checked_add(after));
        let net = self.clone();
        let task = crate::sim::executor::spawn(
            sim,
            Box::pin(async move {
                sleep.await;
                fault(&net);
            }),
        );
        drop(task);
    }

    /// How many connections are open: a connection counts from its connect
    /// until both of its sides are dropped.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections()
    }
}

impl fmt::Debug for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Net")
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

/// A host of a [`Net`], by name: where connections come from.
#[derive(Clone)]
pub struct Host {
    net: Net,
    name: Arc<str>,
}

impl Host {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connects to `to`, from a fresh port of this host; completes after a
    /// round trip of the link. The future borrows nothing.
    ///
    /// # Errors
    ///
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused), at once, if
    /// nothing listens at `to` or the network refuses it, or if its listener
    /// goes away before the handshake completes;
    /// [`ConnectionReset`](io::ErrorKind::ConnectionReset) if the
    /// connection is reset meanwhile; [`InvalidInput`](io::ErrorKind::InvalidInput)
    /// if `to` is not an address.
    ///
    /// # Cancellation
    ///
    /// Dropping the future mid-handshake closes the connection: the
    /// listener may still accept it and read its end at once.
    pub fn connect(
        &self,
        to: impl ToAddr,
    ) -> impl Future<Output = io::Result<Stream>> + Send + 'static {
        let to = to.to_addr();
        let (shared, name) = (Arc::clone(&self.net.shared), Arc::clone(&self.name));
        async move {
            let mut after = After::default();
            let id = {
                let now = shared.sim.now();
                shared.lock().connect(&name, to?, now, &mut after)
            };
            after.run();
            let mut stream = Stream::new(shared, id?, 0);
            poll_fn(|cx| stream.poll_connect(cx)).await?;
            Ok(stream)
        }
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Host").field(&self.name).finish()
    }
}

/// What the networks of `sim` wait on, for its deadlock message: empty if
/// nothing.
pub(super) fn waits(sim: &Inner) -> String {
    let nets: Vec<Weak<Shared>> = sim.nets.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut waits = Vec::new();
    for net in nets.iter().filter_map(Weak::upgrade) {
        waits.extend(net.lock().waits());
    }
    const SHOWN: usize = 8;
    let more = waits.len().saturating_sub(SHOWN);
    waits.truncate(SHOWN);
    let mut text = waits.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}
