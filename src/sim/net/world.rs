//! The state of one network, behind one lock: hosts' links, listeners,
//! connections and the bytes in flight on them. The socket types
//! (`listener.rs`, `stream.rs`) are thin handles onto it, as turmoil's are
//! onto its `World`.
//!
//! Nothing here runs a task. A segment is written into its connection's
//! pipe with the instant it arrives (drawn when it is sent); a reader takes
//! what has arrived by the clock's current time, and waits on a `Sim` timer
//! (a `Sim` timer kept in the pipe) until the next arrival: armed by the
//! reader, or by the writer of the segment a waiting reader needs, with the
//! reader's waker, which spares the reader a poll that would find nothing.
//! The simulation's clock, its deadlock detection and its determinism
//! therefore apply unchanged: a read waits on a timer while bytes are in
//! flight, and on nothing at all while they are held by a partition.
//!
//! No waker is woken or dropped under the lock: they are collected in an
//! [`After`] and handled once it is released (dropping a waker can drop a
//! task, whose streams lock this state again). The pipes' timers are polled
//! and dropped under it, which takes the `Sim`'s own lock inside this one
//! (never the other way round: a deadlock report reads the networks after
//! releasing the `Sim`'s lock); the wakers the `Sim` lets go of then never
//! own a task's future, which the `Sim` holds until the task ends.

use core::task::{Context, Waker};
use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::rng::FastRng;

use super::{Addr, Link};
use crate::sim::Inner;
use crate::sim::sleep::Timer;

/// The first port handed to a connecting socket on each host.
const EPHEMERAL: u16 = 49152;

/// What one network's handles share.
pub(crate) struct Shared {
    pub(super) sim: Arc<Inner>,
    world: Mutex<World>,
}

impl Shared {
    pub(super) fn new(sim: Arc<Inner>, rng: FastRng) -> Self {
        Shared {
            sim: Arc::clone(&sim),
            world: Mutex::new(World {
                sim: Arc::clone(&sim),
                rng,
                buffer: super::DEFAULT_BUFFER,
                default_link: Link::default(),
                links: Vec::new(),
                link_ids: BTreeMap::new(),
                bound: BTreeMap::new(),
                refused: BTreeSet::new(),
                listeners: Slab::default(),
                conns: Slab::default(),
                ports: BTreeMap::new(),
            }),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, World> {
        // No user code runs under the lock, so a poisoned world is still
        // consistent.
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wakers to wake, and things to drop, once the lock is released.
#[derive(Default)]
pub(super) struct After {
    wake: Vec<Waker>,
    drop: Vec<Waker>,
    conns: Vec<Conn>,
}

impl After {
    fn wake(&mut self, waker: Option<Waker>) {
        self.wake.extend(waker);
    }

    fn wake_pipe(&mut self, pipe: &mut Pipe) {
        self.wake.extend(pipe.reader.take());
        self.wake.extend(pipe.writer.take());
    }

    /// Stores `cx`'s waker in `slot`, keeping the old one to drop later.
    pub(super) fn register(&mut self, slot: &mut Option<Waker>, waker: &Waker) {
        match slot {
            Some(old) if old.will_wake(waker) => {}
            _ => self.drop.extend(slot.replace(waker.clone())),
        }
    }

    /// Drops `slot`'s waker later.
    pub(super) fn clear(&mut self, slot: &mut Option<Waker>) {
        self.drop.extend(slot.take());
    }

    /// Wakes and drops; call with the lock released.
    pub(super) fn run(self) {
        drop((self.drop, self.conns));
        for waker in self.wake {
            waker.wake();
        }
    }
}

// ===== segments =====

/// When a segment arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    At(Instant),
    /// Held by a partition: timed again when it heals.
    Held,
    /// Never: past what an `Instant` holds, or over a link of bandwidth 0.
    Never,
}

impl Arrival {
    /// The later of two arrivals (`Never` is latest); `Held` is not
    /// compared.
    fn max(self, other: Arrival) -> Arrival {
        match (self, other) {
            (Arrival::At(a), Arrival::At(b)) => Arrival::At(a.max(b)),
            (Arrival::Never, _) | (_, Arrival::Never) => Arrival::Never,
            (Arrival::Held, x) | (x, Arrival::Held) => x,
        }
    }

    fn reached(self, now: Instant) -> bool {
        matches!(self, Arrival::At(at) if at <= now)
    }

    fn pending(self, now: Instant) -> bool {
        matches!(self, Arrival::At(at) if at > now)
    }
}

/// The end of one segment in its pipe, and when it arrives.
struct Mark {
    /// The position after its last byte.
    end: u64,
    at: Arrival,
    /// The writer's shutdown (FIN) travels as a segment of its own.
    fin: bool,
}

/// One direction of a connection: the bytes written and not yet read,
/// in flight or arrived.
#[derive(Default)]
pub(super) struct Pipe {
    /// Unread bytes, from position `read`.
    bytes: VecDeque<u8>,
    read: u64,
    /// Bytes before this position have arrived.
    delivered: u64,
    /// The FIN has arrived: once the bytes are read, reads return 0.
    fin_delivered: bool,
    /// Segments not yet arrived (or not yet seen to), in order.
    marks: VecDeque<Mark>,
    /// The arrival of the latest segment, which the next may not precede.
    last: Option<Arrival>,
    /// The writer shut down (or closed): it writes no more.
    pub(super) shut: bool,
    /// The reader closed: writes fail with `BrokenPipe`.
    reader_gone: bool,
    pub(super) reader: Option<Waker>,
    pub(super) writer: Option<Waker>,
    /// The waiting reader's timer, until the first segment in flight
    /// arrives: armed by the reader, or by the writer of a segment the
    /// reader waits for (which saves the reader a poll that would find
    /// nothing yet).
    timer: Option<Timer>,
}

impl Pipe {
    /// Takes in the segments that have arrived by `now`.
    fn deliver(&mut self, now: Instant) {
        while let Some(mark) = self.marks.front() {
            if !mark.at.reached(now) {
                break;
            }
            self.delivered = mark.end;
            self.fin_delivered |= mark.fin;
            self.marks.pop_front();
        }
    }

    fn push(&mut self, data: &[u8], at: Arrival, fin: bool) {
        self.bytes.extend(data);
        let at = match at {
            Arrival::Held => Arrival::Held,
            at => {
                let at = self.last.map_or(at, |last| last.max(at));
                self.last = Some(at);
                at
            }
        };
        let end = self.read + self.bytes.len() as u64;
        self.marks.push_back(Mark { end, at, fin });
    }

    /// Forgets every byte: the connection was reset, or the reader closed.
    fn discard(&mut self) {
        self.timer = None;
        self.bytes = VecDeque::new();
        self.marks = VecDeque::new();
        self.read = 0;
        self.delivered = 0;
    }

    /// The arrival the reader waits for next, if it is timed.
    fn next_arrival(&self) -> Option<Arrival> {
        self.marks.front().map(|mark| mark.at)
    }

    /// Sets the reader's timer to `at`, to wake `waker`; whether `at` has
    /// been reached already.
    fn arm(&mut self, sim: &Arc<Inner>, at: Instant, waker: &Waker) -> bool {
        let timer = match &mut self.timer {
            Some(timer) if timer.deadline() == Some(at) => timer,
            slot => slot.insert(Timer::new(sim, Some(at))),
        };
        let ready = timer.poll(&mut Context::from_waker(waker)).is_ready();
        if ready {
            self.timer = None;
        }
        ready
    }

    /// A segment was pushed: a reader waiting on an empty pipe is woken if
    /// it has arrived, or given a timer for its arrival.
    fn notify(&mut self, sim: &Arc<Inner>, now: Instant, after: &mut After) {
        if self.marks.len() != 1 {
            // The reader waits on an earlier segment already, if at all.
            return;
        }
        let Some(reader) = self.reader.take() else {
            return;
        };
        match self.marks[0].at {
            Arrival::At(at) if at > now => {
                if self.arm(sim, at, &reader) {
                    after.wake(Some(reader));
                } else {
                    self.reader = Some(reader);
                }
            }
            Arrival::At(_) => after.wake(Some(reader)),
            // Held or lost: nothing to wake for yet.
            Arrival::Held | Arrival::Never => self.reader = Some(reader),
        }
    }
}

/// Where a read puts the bytes: at most `max`, in one or two slices.
pub(super) struct ReadInto<'a> {
    pub(super) max: usize,
    pub(super) put: &'a mut dyn FnMut(&[u8]),
}

// ===== connections, listeners, links =====

/// A connection: side 0 connected, side 1 was accepted.
pub(super) struct Conn {
    pub(super) addrs: [Addr; 2],
    link: usize,
    /// The link direction each side sends in.
    dirs: [usize; 2],
    /// `pipes[s]` carries what side `s` writes.
    pub(super) pipes: [Pipe; 2],
    /// Whether each side's handle (the connecting stream; the backlog
    /// entry, then the accepted stream) is alive.
    open: [bool; 2],
    pub(super) reset: bool,
    /// The listener went away before accepting it: the connect is refused.
    refused: bool,
    /// The SYN's arrival at the listener.
    syn: Arrival,
    /// The SYN-ACK's arrival back: when `connect` completes.
    established: Arrival,
    pub(super) connecting: Option<Waker>,
}

struct ListenerState {
    addr: Addr,
    backlog: VecDeque<usize>,
    waker: Option<Waker>,
    /// Closed by the network: accepts fail.
    closed: bool,
}

struct LinkState {
    hosts: (Arc<str>, Arc<str>),
    /// `None`: the network's default link.
    link: Option<Link>,
    partitioned: bool,
    /// Per direction, when the bandwidth frees up.
    busy: [Option<Instant>; 2],
}

/// A slab: an item's key is its slot, reused once it is removed.
pub(super) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    fn insert(&mut self, item: T) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(key) => {
                self.slots[key] = Some(item);
                key
            }
            None => {
                self.slots.push(Some(item));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, key: usize) -> Option<T> {
        let item = self.slots.get_mut(key)?.take()?;
        self.free.push(key);
        self.len -= 1;
        Some(item)
    }

    pub(super) fn get(&self, key: usize) -> Option<&T> {
        self.slots.get(key)?.as_ref()
    }

    fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.slots.get_mut(key)?.as_mut()
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        let slots = self.slots.iter().enumerate();
        slots.filter_map(|(key, item)| Some((key, item.as_ref()?)))
    }

    fn keys(&self) -> Vec<usize> {
        self.iter().map(|(key, _)| key).collect()
    }
}

/// A host pair, in order, as the key of its link.
fn pair(a: &Arc<str>, b: &Arc<str>) -> (Arc<str>, Arc<str>) {
    match a <= b {
        true => (Arc::clone(a), Arc::clone(b)),
        false => (Arc::clone(b), Arc::clone(a)),
    }
}

// ===== the world =====

pub(super) struct World {
    sim: Arc<Inner>,
    rng: FastRng,
    /// Bytes each direction of a connection holds, in flight and unread.
    pub(super) buffer: usize,
    pub(super) default_link: Link,
    links: Vec<LinkState>,
    link_ids: BTreeMap<(Arc<str>, Arc<str>), usize>,
    bound: BTreeMap<Addr, usize>,
    refused: BTreeSet<Addr>,
    listeners: Slab<ListenerState>,
    pub(super) conns: Slab<Conn>,
    ports: BTreeMap<Arc<str>, u16>,
}

impl World {
    /// The link between `a` and `b`, made on first use.
    fn link_id(&mut self, a: &Arc<str>, b: &Arc<str>) -> usize {
        let key = pair(a, b);
        if let Some(&id) = self.link_ids.get(&key) {
            return id;
        }
        let id = self.links.len();
        self.links.push(LinkState {
            hosts: key.clone(),
            link: None,
            partitioned: false,
            busy: [None; 2],
        });
        self.link_ids.insert(key, id);
        id
    }

    /// The direction of the link `id` from host `from`.
    fn dir(&self, id: usize, from: &Arc<str>) -> usize {
        usize::from(self.links[id].hosts.0 != *from)
    }

    pub(super) fn set_link(&mut self, a: &str, b: &str, link: Link) {
        let id = self.link_id(&a.into(), &b.into());
        self.links[id].link = Some(link);
    }

    /// When `len` bytes sent at `start` in direction `dir` of link `id`
    /// arrive: a draw of its latency after their departure.
    fn arrival(&mut self, id: usize, dir: usize, len: usize, start: Instant) -> Arrival {
        let state = &mut self.links[id];
        if state.partitioned {
            return Arrival::Held;
        }
        let link = state.link.as_ref().unwrap_or(&self.default_link);
        let mut departure = start;
        if let Some(bandwidth) = link.bandwidth_limit() {
            if bandwidth == 0 {
                return Arrival::Never;
            }
            let nanos = len as u128 * 1_000_000_000 / u128::from(bandwidth);
            let took = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            let free = state.busy[dir].map_or(start, |busy| busy.max(start));
            match free.checked_add(took) {
                Some(done) => {
                    state.busy[dir] = Some(done);
                    departure = done;
                }
                None => return Arrival::Never,
            }
        }
        let latency = link.draw(&mut self.rng);
        departure
            .checked_add(latency)
            .map_or(Arrival::Never, Arrival::At)
    }

    // ----- listeners -----

    pub(super) fn bind(&mut self, mut addr: Addr) -> io::Result<(usize, Addr)> {
        if addr.port() == 0 {
            addr = Addr::new(addr.host(), self.ephemeral(addr.host_arc()));
        }
        if self.bound.contains_key(&addr) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} is already bound on this network"),
            ));
        }
        let id = self.listeners.insert(ListenerState {
            addr: addr.clone(),
            backlog: VecDeque::new(),
            waker: None,
            closed: false,
        });
        self.bound.insert(addr.clone(), id);
        Ok((id, addr))
    }

    fn ephemeral(&mut self, host: &Arc<str>) -> u16 {
        let next = self.ports.entry(Arc::clone(host)).or_insert(EPHEMERAL);
        let port = *next;
        *next = next.checked_add(1).unwrap_or(EPHEMERAL);
        port
    }

    /// The next connection to accept on listener `id`: one whose SYN has
    /// arrived (the earliest), or the arrival to wait for.
    pub(super) fn accept(
        &mut self,
        id: usize,
        now: Instant,
        waker: &Waker,
        after: &mut After,
    ) -> Result<io::Result<usize>, Option<Instant>> {
        let Some(listener) = self.listeners.get_mut(id) else {
            return Ok(Err(closed_listener()));
        };
        if listener.closed {
            after.clear(&mut listener.waker);
            return Ok(Err(closed_listener()));
        }
        let backlog = core::mem::take(&mut listener.backlog);
        let mut kept = VecDeque::with_capacity(backlog.len());
        let mut best: Option<(Instant, usize)> = None;
        let mut next: Option<Instant> = None;
        for conn_id in backlog {
            let conn = self.conns.get(conn_id).expect("a connection in a backlog");
            if conn.reset {
                // Reset before it was accepted: its server side is gone.
                self.close_side(conn_id, 1, after);
                continue;
            }
            if let Arrival::At(at) = conn.syn {
                if at <= now {
                    if best.is_none_or(|(t, _)| at < t) {
                        best = Some((at, conn_id));
                    }
                } else if next.is_none_or(|t| at < t) {
                    next = Some(at);
                }
            }
            kept.push_back(conn_id);
        }
        let listener = self.listeners.get_mut(id).expect("the listener");
        if let Some((_, conn_id)) = best {
            kept.retain(|&c| c != conn_id);
            listener.backlog = kept;
            after.clear(&mut listener.waker);
            return Ok(Ok(conn_id));
        }
        listener.backlog = kept;
        after.register(&mut listener.waker, waker);
        Err(next)
    }

    /// Closes listener `id`: its address is free again, the connections it
    /// did not accept are refused, and (when the network closes it) its
    /// accepts fail.
    pub(super) fn close_listener(&mut self, id: usize, dropped: bool, after: &mut After) {
        let Some(listener) = self.listeners.get_mut(id) else {
            return;
        };
        let addr = listener.addr.clone();
        let backlog = core::mem::take(&mut listener.backlog);
        listener.closed = true;
        after.wake(listener.waker.take());
        if dropped {
            self.listeners.remove(id);
        }
        if self.bound.get(&addr) == Some(&id) {
            self.bound.remove(&addr);
        }
        for conn_id in backlog {
            if let Some(conn) = self.conns.get_mut(conn_id) {
                conn.refused = true;
                reset(conn, after);
            }
            self.close_side(conn_id, 1, after);
        }
    }

    /// Closes the listener bound to `addr`; whether there was one.
    pub(super) fn close_addr(&mut self, addr: &Addr, after: &mut After) -> bool {
        match self.bound.get(addr) {
            Some(&id) => {
                self.close_listener(id, false, after);
                true
            }
            None => false,
        }
    }

    pub(super) fn refuse(&mut self, addr: Addr, refuse: bool) {
        match refuse {
            true => self.refused.insert(addr),
            false => self.refused.remove(&addr),
        };
    }

    // ----- connections -----

    /// Starts a connection from `host` to `to`: its SYN is on its way.
    pub(super) fn connect(
        &mut self,
        host: &Arc<str>,
        to: Addr,
        now: Instant,
        after: &mut After,
    ) -> io::Result<usize> {
        let listener = match self.bound.get(&to) {
            Some(&id) if !self.refused.contains(&to) => id,
            _ => return Err(refused(&to)),
        };
        let local = Addr::new(host, self.ephemeral(host));
        let link = self.link_id(host, to.host_arc());
        let dirs = [self.dir(link, host), self.dir(link, to.host_arc())];
        let syn = self.arrival(link, dirs[0], 0, now);
        let established = match syn {
            Arrival::At(at) => self.arrival(link, dirs[1], 0, at),
            other => other,
        };
        let id = self.conns.insert(Conn {
            addrs: [local, to],
            link,
            dirs,
            pipes: Default::default(),
            open: [true, true],
            reset: false,
            refused: false,
            syn,
            established,
            connecting: None,
        });
        let listener = self.listeners.get_mut(listener).expect("a bound listener");
        listener.backlog.push_back(id);
        // The acceptor times the SYN.
        after.wake(listener.waker.take());
        Ok(id)
    }

    /// Whether connection `id`'s handshake is done, or the arrival to wait
    /// for.
    pub(super) fn poll_connect(
        &mut self,
        id: usize,
        now: Instant,
        waker: &Waker,
        after: &mut After,
    ) -> Result<io::Result<()>, Option<Instant>> {
        let conn = self
            .conns
            .get_mut(id)
            .expect("a connecting stream's connection");
        if conn.refused {
            after.clear(&mut conn.connecting);
            return Ok(Err(refused(&conn.addrs[1])));
        }
        if conn.reset {
            after.clear(&mut conn.connecting);
            return Ok(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if conn.established.reached(now) {
            after.clear(&mut conn.connecting);
            return Ok(Ok(()));
        }
        after.register(&mut conn.connecting, waker);
        match conn.established {
            Arrival::At(at) => Err(Some(at)),
            _ => Err(None),
        }
    }

    /// Reads what has arrived on `id` for `side` into `put`, at most `max`
    /// bytes; or the arrival to wait for.
    pub(super) fn read(
        &mut self,
        id: usize,
        side: usize,
        now: Instant,
        waker: &Waker,
        into: ReadInto<'_>,
        after: &mut After,
    ) -> Option<io::Result<usize>> {
        let ReadInto { max, put } = into;
        let sim = Arc::clone(&self.sim);
        let conn = self.conns.get_mut(id).expect("a stream's connection");
        if conn.reset {
            return Some(Err(io::ErrorKind::ConnectionReset.into()));
        }
        let pipe = &mut conn.pipes[1 - side];
        let mut now = now;
        loop {
            pipe.deliver(now);
            let available = usize::try_from(pipe.delivered - pipe.read).unwrap_or(usize::MAX);
            let n = available.min(max);
            if n > 0 {
                let (front, back) = pipe.bytes.as_slices();
                let first = n.min(front.len());
                put(&front[..first]);
                if first < n {
                    put(&back[..n - first]);
                }
                pipe.bytes.drain(..n);
                pipe.read += n as u64;
                after.clear(&mut pipe.reader);
                after.wake(pipe.writer.take());
                return Some(Ok(n));
            }
            if pipe.fin_delivered || max == 0 {
                after.clear(&mut pipe.reader);
                return Some(Ok(0));
            }
            after.register(&mut pipe.reader, waker);
            match pipe.next_arrival() {
                Some(Arrival::At(at)) => {
                    if !pipe.arm(&sim, at, waker) {
                        return None;
                    }
                    // Reached meanwhile: take it in.
                    now = now.max(at);
                }
                _ => {
                    pipe.timer = None;
                    return None;
                }
            }
        }
    }

    /// Writes what fits of `data` on `id` from `side`.
    pub(super) fn write(
        &mut self,
        id: usize,
        side: usize,
        now: Instant,
        waker: &Waker,
        data: &[u8],
        after: &mut After,
    ) -> Option<io::Result<usize>> {
        let buffer = self.buffer;
        let conn = self.conns.get_mut(id).expect("a stream's connection");
        if conn.reset {
            return Some(Err(io::ErrorKind::ConnectionReset.into()));
        }
        let (link, dir) = (conn.link, conn.dirs[side]);
        let pipe = &mut conn.pipes[side];
        if pipe.shut || pipe.reader_gone {
            return Some(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if data.is_empty() {
            return Some(Ok(0));
        }
        let room = buffer.saturating_sub(pipe.bytes.len());
        if room == 0 {
            after.register(&mut pipe.writer, waker);
            return None;
        }
        after.clear(&mut pipe.writer);
        let n = room.min(data.len());
        let at = self.arrival(link, dir, n, now);
        let pipe = &mut self.conns.get_mut(id).expect("the connection").pipes[side];
        pipe.push(&data[..n], at, false);
        pipe.notify(&self.sim, now, after);
        Some(Ok(n))
    }

    /// Sends `side`'s FIN on `id`: it writes no more.
    pub(super) fn shutdown(&mut self, id: usize, side: usize, now: Instant, after: &mut After) {
        let conn = self.conns.get_mut(id).expect("a stream's connection");
        if conn.reset || conn.pipes[side].shut {
            return;
        }
        let (link, dir) = (conn.link, conn.dirs[side]);
        conn.pipes[side].shut = true;
        let at = self.arrival(link, dir, 0, now);
        let pipe = &mut self.conns.get_mut(id).expect("the connection").pipes[side];
        pipe.push(&[], at, true);
        pipe.notify(&self.sim, now, after);
    }

    /// `side`'s handle of connection `id` is gone: its FIN goes out, what
    /// it did not read is dropped, and the peer's writes fail from now on.
    /// The connection goes once both sides have.
    pub(super) fn close(&mut self, id: usize, side: usize, now: Instant, after: &mut After) {
        if self.conns.get(id).is_some_and(|conn| conn.open[side]) {
            self.shutdown(id, side, now, after);
        }
        self.close_side(id, side, after);
    }

    fn close_side(&mut self, id: usize, side: usize, after: &mut After) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.open[side] = false;
        after.clear(&mut conn.pipes[side].writer);
        if side == 0 {
            after.clear(&mut conn.connecting);
        }
        let incoming = &mut conn.pipes[1 - side];
        incoming.reader_gone = true;
        incoming.discard();
        after.clear(&mut incoming.reader);
        after.wake(incoming.writer.take());
        if conn.open == [false, false] {
            after.conns.extend(self.conns.remove(id));
        }
    }

    // ----- faults -----

    /// The links between hosts `a` and `b` (one, or none yet).
    fn links_between(&self, a: &str, b: &str) -> Option<usize> {
        self.link_ids.get(&pair(&a.into(), &b.into())).copied()
    }

    /// Partitions hosts `a` and `b`: what is in flight between them, and
    /// what is sent from now on, is held until they heal.
    pub(super) fn partition(&mut self, a: &str, b: &str, now: Instant) {
        let id = self.link_id(&a.into(), &b.into());
        if self.links[id].partitioned {
            return;
        }
        self.links[id].partitioned = true;
        for key in self.conns.keys() {
            let conn = self.conns.get_mut(key).expect("a connection");
            if conn.link != id {
                continue;
            }
            for at in [&mut conn.syn, &mut conn.established] {
                if at.pending(now) {
                    *at = Arrival::Held;
                }
            }
            for pipe in &mut conn.pipes {
                for mark in &mut pipe.marks {
                    if mark.at.pending(now) {
                        mark.at = Arrival::Held;
                    }
                }
            }
        }
    }

    /// Heals a partition between `a` and `b`: what it held is sent again
    /// now, in order, each segment with a new draw of the link's latency.
    pub(super) fn heal(&mut self, a: &str, b: &str, now: Instant, after: &mut After) {
        let Some(id) = self.links_between(a, b) else {
            return;
        };
        if !self.links[id].partitioned {
            return;
        }
        self.links[id].partitioned = false;
        for key in self.conns.keys() {
            let conn = self.conns.get(key).expect("a connection");
            if conn.link != id {
                continue;
            }
            let dirs = conn.dirs;
            if conn.syn == Arrival::Held {
                let syn = self.arrival(id, dirs[0], 0, now);
                self.conns.get_mut(key).expect("a connection").syn = syn;
            }
            let conn = self.conns.get(key).expect("a connection");
            if conn.established == Arrival::Held {
                let established = match conn.syn {
                    Arrival::At(at) => self.arrival(id, dirs[1], 0, at.max(now)),
                    other => other,
                };
                self.conns.get_mut(key).expect("a connection").established = established;
            }
            for side in 0..2 {
                self.retime(key, side, now);
            }
            let conn = self.conns.get_mut(key).expect("a connection");
            after.wake(conn.connecting.take());
            for pipe in &mut conn.pipes {
                after.wake(pipe.reader.take());
            }
        }
        for (_, listener) in self.listeners.iter() {
            if let Some(waker) = &listener.waker {
                after.wake(Some(waker.clone()));
            }
        }
    }

    /// Times the held segments of one direction of connection `key`.
    fn retime(&mut self, key: usize, side: usize, now: Instant) {
        let conn = self.conns.get_mut(key).expect("a connection");
        let (link, dir) = (conn.link, conn.dirs[side]);
        let mut marks = core::mem::take(&mut conn.pipes[side].marks);
        let mut last = Arrival::At(now);
        let mut start = conn.pipes[side].read;
        for mark in &mut marks {
            let len = usize::try_from(mark.end - start).unwrap_or(usize::MAX);
            start = mark.end;
            if mark.at == Arrival::Held {
                mark.at = self.arrival(link, dir, len, now);
            }
            mark.at = last.max(mark.at);
            last = mark.at;
        }
        let pipe = &mut self.conns.get_mut(key).expect("a connection").pipes[side];
        pipe.marks = marks;
        pipe.last = Some(last);
    }

    /// Resets every connection between hosts `a` and `b`; how many.
    pub(super) fn reset_between(&mut self, a: &str, b: &str, after: &mut After) -> usize {
        let Some(id) = self.links_between(a, b) else {
            return 0;
        };
        let mut count = 0;
        for key in self.conns.keys() {
            let conn = self.conns.get_mut(key).expect("a connection");
            if conn.link == id && !conn.reset {
                reset(conn, after);
                count += 1;
            }
        }
        count
    }

    /// How many connections are open: those with a handle alive on either
    /// side.
    pub(super) fn connections(&self) -> usize {
        self.conns.len
    }

    /// What the network's readers, writers, connects and accepts wait on,
    /// for a deadlock's message.
    pub(super) fn waits(&self) -> Vec<String> {
        let mut waits = Vec::new();
        let link_of = |conn: &Conn| {
            let link = &self.links[conn.link];
            let (a, b) = &link.hosts;
            match link.partitioned {
                true => format!("the link {a} <-> {b}, which is partitioned (heal it)"),
                false => format!("the link {a} <-> {b}"),
            }
        };
        for (_, conn) in self.conns.iter() {
            if conn.reset {
                continue;
            }
            if conn.connecting.is_some() {
                let why = match conn.established {
                    Arrival::Never => "its handshake never arrives".to_owned(),
                    _ => link_of(conn),
                };
                let [from, to] = &conn.addrs;
                waits.push(format!("a connect from {from} to {to}: {why}"));
            }
            for side in 0..2 {
                let [local, peer] = [&conn.addrs[side], &conn.addrs[1 - side]];
                let incoming = &conn.pipes[1 - side];
                if incoming.reader.is_some() {
                    let why = match incoming.next_arrival() {
                        Some(Arrival::Held) => link_of(conn),
                        Some(Arrival::Never) => "its next bytes never arrive (a latency or \
                            transmission time past what an Instant holds, or bandwidth 0)"
                            .to_owned(),
                        _ => format!("{peer} sends nothing over {}", link_of(conn)),
                    };
                    waits.push(format!("a read at {local} from {peer}: {why}"));
                }
                if conn.pipes[side].writer.is_some() {
                    waits.push(format!(
                        "a write at {local} to {peer}: its {} bytes of buffer are full and \
                         {peer} does not read ({})",
                        self.buffer,
                        link_of(conn)
                    ));
                }
            }
        }
        for (_, listener) in self.listeners.iter() {
            if listener.waker.is_some() && !listener.closed {
                let held = listener
                    .backlog
                    .iter()
                    .any(|&c| self.conns.get(c).is_some_and(|c| c.syn == Arrival::Held));
                let why = match held {
                    true => "connections are held by a partition",
                    false => "nothing connects",
                };
                waits.push(format!("an accept on {}: {why}", listener.addr));
            }
        }
        waits
    }
}

/// Resets `conn`: both sides' reads and writes fail with
/// `ConnectionReset`, and what was in flight is dropped.
fn reset(conn: &mut Conn, after: &mut After) {
    conn.reset = true;
    after.wake(conn.connecting.take());
    for pipe in &mut conn.pipes {
        pipe.discard();
        after.wake_pipe(pipe);
    }
}

fn refused(to: &Addr) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionRefused,
        format!("connection to {to} refused: nothing listens there, or the network refuses it"),
    )
}

fn closed_listener() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the listener was closed by the network",
    )
}
