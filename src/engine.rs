//! The poller: connections waiting for a request head cost no thread.
//!
//! Every connection that waits for its next request head — an idle
//! keep-alive client, or one still sending its head — is *parked*: its socket
//! sits in one epoll set with `EPOLLONESHOT`, and its record in the [`Slab`]
//! holds the socket, the client's address and any partial head (usually
//! nothing). No thread and no buffer belong to it.
//!
//! Workers are threads that each wait in `epoll_wait` for one event at a
//! time. The worker that sees a connection become readable takes it out of
//! the slab, reads its head into the worker's own buffers, runs the handler
//! with blocking I/O (bounded by the read and write timeouts), and parks the
//! connection again, or goes straight on if the next pipelined request is
//! already buffered. So a request involves no hand-off between threads, and
//! `EPOLLONESHOT` guarantees that one connection is only ever in one worker.
//!
//! The same loop serves [`HttpServer`](crate::HttpServer) (one worker: one
//! handler at a time, yet an idle or slow client blocks no one) and
//! [`PoolHttpServer`](crate::PoolHttpServer) (several, growing while all are
//! busy).
//!
//! Deadlines of parked connections (keep-alive idle time, whole-head time)
//! are enforced by a sweep over the slab that one worker runs every so often.

use crate::conn::{
    ConnBuffers, HeadError, Next, linger, read_head, respond_to_head_error, serve_request,
};
use crate::handler::Handler;
use crate::server::Shared;
use crate::tls::TlsSocket;
use crate::transport::{Socket, Transport};
use rustix::event::Timespec;
use rustix::event::epoll::{self, Event, EventData, EventFlags};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

/// The epoll token of the listening socket.
pub(crate) const LISTENER: u64 = u64::MAX;
/// The epoll token of the shutdown eventfd.
pub(crate) const WAKER: u64 = u64::MAX - 1;
/// The epoll token of the descriptor given to `serve_until`.
pub(crate) const STOP: u64 = u64::MAX - 2;

/// The events a parked connection waits for: readable, or hung up.
fn conn_interest() -> EventFlags {
    EventFlags::IN | EventFlags::RDHUP | EventFlags::ONESHOT
}

/// A parked connection.
pub(crate) struct Parked {
    stream: TcpStream,
    /// The TLS session of an HTTPS connection.
    tls: Option<Box<rustls::ServerConnection>>,
    peer: SocketAddr,
    /// Bytes of a head that has not fully arrived.
    partial: Vec<u8>,
    /// When the connection is closed if nothing more arrives: the keep-alive
    /// deadline while idle, the head deadline once a head has started.
    deadline: Option<Instant>,
    /// When the head under way must be complete (408 after it).
    head_deadline: Option<Instant>,
}

impl Parked {
    /// Runs `f` with the connection's transport — its socket with these
    /// timeouts, through its TLS session if it has one — and the socket.
    fn with_transport<R>(
        &mut self,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
        f: impl FnOnce(&dyn Transport, &Socket<'_>) -> R,
    ) -> R {
        let socket = Socket::new(&self.stream, read_timeout, write_timeout);
        match self.tls.as_deref_mut() {
            Some(session) => f(&TlsSocket::new(&socket, session), &socket),
            None => f(&socket, &socket),
        }
    }
}

enum SlotState {
    Free,
    Parked(Parked),
    /// A worker holds the connection.
    Active,
}

struct Slot {
    generation: u32,
    state: SlotState,
}

/// The table of connections, indexed by epoll token. A token carries the
/// slot's generation, so an event for a connection that has since closed
/// can never reach the connection that reused its slot.
#[derive(Default)]
pub(crate) struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Slab {
    fn insert(&mut self, parked: Parked) -> u64 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Free,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.state = SlotState::Parked(parked);
        token(index, slot.generation)
    }

    fn slot(&mut self, token: u64) -> Option<&mut Slot> {
        let (index, generation) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
        self.slots
            .get_mut(index)
            .filter(|s| s.generation == generation)
    }

    /// Takes a parked connection for a worker.
    fn take(&mut self, token: u64) -> Option<Parked> {
        let slot = self.slot(token)?;
        match std::mem::replace(&mut slot.state, SlotState::Active) {
            SlotState::Parked(p) => Some(p),
            other => {
                slot.state = other;
                None
            }
        }
    }

    /// Frees a slot; the connection in it, if parked, is dropped (closed).
    fn remove(&mut self, token: u64) {
        if let Some(slot) = self.slot(token) {
            slot.state = SlotState::Free;
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push((token & 0xffff_ffff) as u32);
        }
    }

    /// Every parked connection's token.
    fn parked(&self) -> impl Iterator<Item = (u64, &Parked)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.state {
                SlotState::Parked(p) => Some((token(i as u32, s.generation), p)),
                _ => None,
            })
    }
}

fn token(index: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(index)
}

fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// How often parked connections' deadlines are checked: a quarter of the
/// shortest timeout, between 10 ms and 1 s.
fn sweep_interval(shared: &Shared<impl Handler>) -> Duration {
    let c = &shared.config;
    [c.keep_alive_timeout, c.head_timeout]
        .into_iter()
        .flatten()
        .map(|t| t / 4)
        .min()
        .unwrap_or(Duration::from_secs(1))
        .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// What a worker loop runs for.
#[derive(Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Run {
    /// Until shutdown.
    Forever,
    /// Until one request has been answered (`handle_request`).
    OneRequest,
}

/// A worker: waits for events and serves what it gets, until shutdown.
pub(crate) fn worker_loop<H: Handler>(shared: &Arc<Shared<H>>, run: Run) {
    let mut bufs = ConnBuffers::new();
    let mut events = [Event {
        flags: EventFlags::empty(),
        data: EventData::new_u64(0),
    }; 32];
    // A lone worker takes every ready connection in one call; several workers
    // take one each, so that a slow handler never sits on another's event.
    let batch = if shared.max_workers() == 1 {
        events.len()
    } else {
        1
    };
    let interval = sweep_interval(shared);
    let ts = timespec(interval);
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let n = match epoll::wait(&shared.epoll, &mut events[..batch], Some(&ts)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => 0,
            Err(e) => {
                shared
                    .handler
                    .log_error(shared.local_addr, format_args!("epoll_wait failed: {e}"));
                std::thread::sleep(Duration::from_millis(10));
                0
            }
        };
        for event in &events[..n] {
            let served = match event.data.u64() {
                WAKER => return,
                STOP => {
                    shared.begin_shutdown();
                    return;
                }
                LISTENER => {
                    accept_connections(shared, &mut |stream, peer| register(shared, stream, peer));
                    false
                }
                token => serve_parked(shared, token, &mut bufs),
            };
            if served && run == Run::OneRequest {
                return;
            }
        }
        sweep(shared, &mut bufs, interval);
    }
}

/// Accepts every pending connection (up to the connection limit) and gives
/// each to `place`, then re-arms the listener. Accept errors such as EMFILE
/// are survived: wait a little (5 ms, doubling to 1 s) and retry, as Go does.
pub(crate) fn accept_connections<H: Handler>(
    shared: &Shared<H>,
    place: &mut dyn FnMut(TcpStream, SocketAddr),
) {
    let mut backoff = Duration::ZERO;
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        if shared.open.load(Ordering::SeqCst) >= shared.config.max_connections.max(1) {
            // Full: stop accepting until a connection closes (see `closed`).
            shared.accept_paused.store(true, Ordering::SeqCst);
            if shared.open.load(Ordering::SeqCst) >= shared.config.max_connections.max(1) {
                return;
            }
            shared.accept_paused.store(false, Ordering::SeqCst);
        }
        match shared.listener.accept() {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                shared.open.fetch_add(1, Ordering::SeqCst);
                place(stream, peer);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                shared.handler.log_error(
                    shared.local_addr,
                    format_args!("accept failed: {e}; retrying in {backoff:?}"),
                );
                std::thread::sleep(backoff);
            }
        }
    }
    arm_listener(shared);
}

/// Errors that concern one connection that died in the queue, not the
/// listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | PermissionDenied | Interrupted
    )
}

pub(crate) fn arm_listener<H: Handler>(shared: &Shared<H>) {
    let flags = EventFlags::IN | EventFlags::ONESHOT;
    let _ = epoll::modify(
        &shared.epoll,
        &shared.listener,
        EventData::new_u64(LISTENER),
        flags,
    );
}

/// Records that a connection closed, resuming accepts if the limit paused them.
pub(crate) fn closed<H: Handler>(shared: &Shared<H>) {
    shared.open.fetch_sub(1, Ordering::SeqCst);
    if shared.accept_paused.swap(false, Ordering::SeqCst) {
        arm_listener(shared);
    }
}

/// Parks a new connection: it waits for its first request like any idle
/// one (an HTTPS connection, for its handshake, up to the handshake timeout).
fn register<H: Handler>(shared: &Arc<Shared<H>>, stream: TcpStream, peer: SocketAddr) {
    let config = &shared.config;
    let (tls, timeout) = match &config.tls {
        None => (None, config.keep_alive_timeout),
        Some(tls) => match rustls::ServerConnection::new(Arc::clone(tls)) {
            Ok(session) => (Some(Box::new(session)), config.handshake_timeout),
            Err(_) => {
                drop(stream);
                closed(shared);
                return;
            }
        },
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut slab = shared.lock_slab();
    let parked = Parked {
        stream,
        tls,
        peer,
        partial: Vec::new(),
        deadline,
        head_deadline: None,
    };
    let token = slab.insert(parked);
    let added = match slab.slot(token).map(|s| &s.state) {
        Some(SlotState::Parked(p)) => epoll::add(
            &shared.epoll,
            &p.stream,
            EventData::new_u64(token),
            conn_interest(),
        ),
        _ => Ok(()),
    };
    if added.is_err() {
        slab.remove(token);
        drop(slab);
        closed(shared);
    }
}

/// Puts a connection back in the poller until its next bytes arrive.
fn park<H: Handler>(shared: &Shared<H>, token: u64, parked: Parked) {
    let mut slab = shared.lock_slab();
    if shared.stopping.load(Ordering::SeqCst) {
        // Shutdown closes idle connections; this one just became idle.
        slab.remove(token);
        drop(slab);
        drop(parked);
        closed(shared);
        return;
    }
    let Some(slot) = slab.slot(token) else { return };
    // Re-arm while holding the lock: once the socket is in the slab, the
    // sweeper may close it, and its descriptor could be reused.
    let armed = epoll::modify(
        &shared.epoll,
        &parked.stream,
        EventData::new_u64(token),
        conn_interest(),
    );
    slot.state = SlotState::Parked(parked);
    if armed.is_err() {
        slab.remove(token);
        drop(slab);
        closed(shared);
    }
}

/// Closes a connection a worker holds.
fn close<H: Handler>(shared: &Shared<H>, token: u64, stream: TcpStream, next: Next) {
    if next == Next::CloseLingering {
        linger(&stream);
    }
    drop(stream);
    shared.lock_slab().remove(token);
    closed(shared);
}

/// Serves a connection that became readable: its heads and requests, until
/// it would block (park it) or must close. Returns whether a request was
/// answered.
fn serve_parked<H: Handler>(shared: &Arc<Shared<H>>, token: u64, bufs: &mut ConnBuffers) -> bool {
    let Some(mut p) = shared.lock_slab().take(token) else {
        return false;
    };
    let config = &shared.config;
    bufs.read.clear();
    bufs.read.push(&p.partial);
    p.partial = Vec::new();
    let mut served = false;
    loop {
        let mut head_deadline = p.head_deadline;
        let peer = p.peer;
        let turn = p.with_transport(config.read_timeout, config.write_timeout, |io, socket| {
            let mut first_bytes = || {
                if head_deadline.is_none() {
                    head_deadline = config.head_timeout.map(|t| Instant::now() + t);
                }
            };
            // The head is read without blocking: WouldBlock means "park".
            socket.blocking.set(false);
            let head = read_head(io, &mut bufs.read, &config.limits, &mut first_bytes);
            socket.blocking.set(true);
            match head {
                Ok(Some(extent)) => {
                    let _busy = Busy::enter(shared);
                    Turn::Served(serve_request(
                        &shared.handler,
                        io,
                        peer,
                        config,
                        bufs,
                        extent,
                    ))
                }
                Err(HeadError::WouldBlock) => Turn::Park,
                Ok(None) => Turn::Close(Next::Close),
                Err(e) => Turn::Close(respond_to_head_error(
                    &shared.handler,
                    io,
                    peer,
                    config,
                    bufs,
                    e,
                )),
            }
        });
        p.head_deadline = head_deadline;
        let next = match turn {
            Turn::Park => {
                if !bufs.read.available().is_empty() {
                    p.partial = bufs.read.available().to_vec();
                    p.deadline = p.head_deadline;
                } else if p.head_deadline.is_none()
                    && !served
                    && p.tls.as_ref().is_some_and(|s| s.is_handshaking())
                {
                    // Still handshaking: the handshake deadline set at accept stands.
                } else {
                    p.deadline = config.keep_alive_timeout.map(|t| Instant::now() + t);
                }
                bufs.read.clear();
                bufs.read.shrink();
                park(shared, token, p);
                return served;
            }
            Turn::Close(next) => next,
            Turn::Served(next) => {
                served = true;
                p.head_deadline = None;
                if next == Next::KeepAlive && !shared.stopping.load(Ordering::SeqCst) {
                    // (A TLS session may hold decrypted bytes that the socket
                    // cannot announce: for TLS, always look first.)
                    if bufs.read.available().is_empty() && p.tls.is_none() {
                        // Nothing more buffered: park at once instead of a
                        // read that would only say EAGAIN. Re-arming checks
                        // readiness, so bytes already in the socket still
                        // wake a worker straight away.
                        p.deadline = config.keep_alive_timeout.map(|t| Instant::now() + t);
                        bufs.read.shrink();
                        park(shared, token, p);
                        return served;
                    }
                    // Pipelined bytes already buffered (or already decrypted)
                    // are served at once.
                    continue;
                }
                next
            }
        };
        bufs.read.clear();
        close(shared, token, p.stream, next);
        return served;
    }
}

/// What one turn of [`serve_parked`] came to.
enum Turn {
    /// Nothing more to read yet.
    Park,
    /// A request was answered; the connection goes on or closes.
    Served(Next),
    /// The connection ends.
    Close(Next),
}

/// Counts a worker as busy while it runs a handler, and grows the pool when
/// every worker is busy.
struct Busy<'a, H: Handler>(&'a Shared<H>);

impl<'a, H: Handler> Busy<'a, H> {
    fn enter(shared: &'a Arc<Shared<H>>) -> Self {
        let busy = shared.busy.fetch_add(1, Ordering::SeqCst) + 1;
        if busy >= shared.workers.load(Ordering::SeqCst) {
            crate::server::grow_pool(shared);
        }
        Busy(shared)
    }
}

impl<H: Handler> Drop for Busy<'_, H> {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes parked connections past their deadline: silently when idle, with
/// 408 when a head was under way. One worker sweeps at a time, at most once
/// per `interval`.
fn sweep<H: Handler>(shared: &Arc<Shared<H>>, bufs: &mut ConnBuffers, interval: Duration) {
    let Ok(mut last) = shared.last_sweep.try_lock() else {
        return;
    };
    let now = Instant::now();
    if now.duration_since(*last) < interval {
        return;
    }
    *last = now;
    drop(last);
    let mut late_heads = Vec::new();
    let mut expired = 0;
    {
        let mut slab = shared.lock_slab();
        let due: Vec<(u64, bool)> = slab
            .parked()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(t, p)| (t, p.head_deadline.is_some()))
            .collect();
        for (token, mid_head) in due {
            if mid_head {
                if let Some(p) = slab.take(token) {
                    late_heads.push((token, p));
                }
            } else {
                slab.remove(token); // drops the stream: closes it
                expired += 1;
            }
        }
    }
    for _ in 0..expired {
        closed(shared);
    }
    for (token, mut p) in late_heads {
        let second = Some(Duration::from_secs(1));
        let peer = p.peer;
        // Through the TLS session if there is one: the 408 must be encrypted
        // like everything else on the connection.
        let next = p.with_transport(second, second, |io, _| {
            bufs.read.clear();
            respond_to_head_error(
                &shared.handler,
                io,
                peer,
                &shared.config,
                bufs,
                HeadError::Timeout,
            )
        });
        close(shared, token, p.stream, next);
    }
}

/// Closes every parked connection (shutdown).
pub(crate) fn close_parked<H: Handler>(shared: &Shared<H>) {
    let tokens: Vec<u64> = {
        let mut slab: MutexGuard<'_, Slab> = shared.lock_slab();
        let tokens: Vec<u64> = slab.parked().map(|(t, _)| t).collect();
        for &t in &tokens {
            slab.remove(t);
        }
        tokens
    };
    for _ in tokens {
        closed(shared);
    }
}
