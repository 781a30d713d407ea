//! The table of connections the poller holds, and what a parked one keeps.

use crate::config::ServerConfig;
use crate::conn::{Addresses, read_proxy_header};
use crate::net::{ClientAddress, Stream};
use crate::tls::{self, TlsSocket};
use crate::transport::{Socket, Transport};
use std::time::{Duration, Instant};

/// A parked connection.
pub(crate) struct Parked {
    pub(super) stream: Stream,
    /// The TLS session of an HTTPS connection.
    pub(super) tls: Option<Box<tls::Session>>,
    /// The client's and the socket peer's addresses.
    pub(super) addrs: Addresses,
    /// The connection's PROXY protocol header has yet to arrive
    /// ([`ServerConfig::proxy_protocol`]): `deadline` is then the head
    /// timeout's, and `partial` holds the header's first bytes.
    pub(super) awaiting_proxy: bool,
    /// Bytes of a head (or a PROXY header) that has not fully arrived.
    pub(super) partial: Vec<u8>,
    /// When the connection is closed if nothing more arrives: the keep-alive
    /// deadline while idle, the head deadline once a head has started.
    pub(super) deadline: Option<Instant>,
    /// When the head under way must be complete (408 after it).
    pub(super) head_deadline: Option<Instant>,
    /// When the body being read ahead started to arrive: `partial` then
    /// holds a whole head and part of its body, counted toward
    /// [`ServerConfig::body_buffer_total`](crate::config::ServerConfig::body_buffer_total),
    /// and `deadline` is the minimum body rate's (408 after it).
    pub(super) body_started: Option<Instant>,
    /// No request has been answered on the connection yet: a drain
    /// ([`close_idle_served`](super::close_idle_served)) waits for its
    /// first request instead of closing it.
    pub(super) fresh: bool,
    /// When the connection was last parked with nothing under way: a drain
    /// closes it only once it has been idle for
    /// [`DRAIN_IDLE_GRACE`](super::DRAIN_IDLE_GRACE).
    pub(super) idle_since: Instant,
}

impl Parked {
    /// Bytes this connection holds toward the read-ahead budget.
    pub(super) fn read_ahead_bytes(&self) -> usize {
        if self.body_started.is_some() {
            self.partial.len()
        } else {
            0
        }
    }

    /// Parks the connection idle between requests: it may wait up to
    /// `keep_alive` for its next one (`None`: no limit), idle from now. One
    /// clock read for both.
    pub(super) fn park_idle(&mut self, keep_alive: Option<Duration>) {
        let now = Instant::now();
        self.deadline = keep_alive.map(|t| now + t);
        self.idle_since = now;
    }
}

/// What came of looking for a parked connection's PROXY header.
pub(super) enum ProxyStep {
    /// It is read: serve the connection.
    Read,
    /// It has not fully arrived: park until more comes.
    Park,
    /// It is malformed, or the connection ended: close, unanswered.
    Close,
}

impl Parked {
    /// A new connection, as `register` parks it: its deadline is the head
    /// timeout's while a PROXY header is awaited, the handshake's for TLS,
    /// else the keep-alive timeout's.
    pub(super) fn new(
        stream: Stream,
        tls: Option<Box<tls::Session>>,
        peer: ClientAddress,
        config: &ServerConfig,
    ) -> Parked {
        let timeout = if config.proxy_protocol {
            config.head_timeout
        } else {
            Self::first_timeout(tls.is_some(), config)
        };
        Parked {
            stream,
            tls,
            addrs: Addresses { client: peer, peer },
            awaiting_proxy: config.proxy_protocol,
            partial: Vec::new(),
            deadline: timeout.map(|t| Instant::now() + t),
            head_deadline: None,
            body_started: None,
            fresh: true,
            idle_since: Instant::now(),
        }
    }

    /// How long a connection may take to start its first request: the
    /// handshake timeout for TLS, the keep-alive timeout otherwise.
    fn first_timeout(tls: bool, config: &ServerConfig) -> Option<Duration> {
        if tls {
            config.handshake_timeout
        } else {
            config.keep_alive_timeout
        }
    }

    /// Reads the connection's PROXY header without blocking (the poller's
    /// half of [`ServerConfig::proxy_protocol`]). Once it is read, the
    /// client's address is the one it carries, and the connection has the
    /// time of a new one to start its first request.
    pub(super) fn read_proxy_header(&mut self, config: &ServerConfig) -> ProxyStep {
        let socket = Socket::new(&self.stream, None, None);
        socket.blocking.set(false);
        match read_proxy_header(&socket, &mut self.partial) {
            Ok(header) => {
                self.awaiting_proxy = false;
                self.addrs.client = header.source().map_or(self.addrs.peer, ClientAddress::Tcp);
                let timeout = Self::first_timeout(self.tls.is_some(), config);
                self.deadline = timeout.map(|t| Instant::now() + t);
                ProxyStep::Read
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ProxyStep::Park,
            Err(_) => ProxyStep::Close,
        }
    }

    /// Runs `f` with the connection's transport — its socket with these
    /// timeouts, through its TLS session if it has one — and the socket.
    pub(super) fn with_transport<R>(
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

pub(super) enum SlotState {
    Free,
    Parked(Parked),
    /// A worker holds the connection; `notified` if an event came since.
    Active {
        notified: bool,
    },
}

pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) state: SlotState,
}

/// The table of connections, indexed by epoll token. A token carries the
/// slot's generation, so an event for a connection that has since closed
/// can never reach the connection that reused its slot.
#[derive(Default)]
pub(crate) struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Bytes of request bodies held by parked connections.
    pub(super) read_ahead: usize,
    /// Connections that wait, unread, for room in the read-ahead budget.
    pub(super) waiting: std::collections::VecDeque<u64>,
}

impl Slab {
    pub(super) fn insert(&mut self, parked: Parked) -> u64 {
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

    pub(super) fn slot(&mut self, token: u64) -> Option<&mut Slot> {
        let (index, generation) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
        self.slots
            .get_mut(index)
            .filter(|s| s.generation == generation)
    }

    /// Takes a parked connection for a worker. If a worker already holds
    /// it, the event is noted for that worker instead (see `park` in the engine).
    pub(super) fn take(&mut self, token: u64) -> Option<Parked> {
        let slot = self.slot(token)?;
        match std::mem::replace(&mut slot.state, SlotState::Active { notified: false }) {
            SlotState::Parked(p) => {
                self.read_ahead -= p.read_ahead_bytes();
                Some(p)
            }
            SlotState::Active { .. } => {
                slot.state = SlotState::Active { notified: true };
                None
            }
            SlotState::Free => {
                slot.state = SlotState::Free;
                None
            }
        }
    }

    /// Frees a slot; the connection in it, if parked, is dropped (closed).
    pub(super) fn remove(&mut self, token: u64) {
        if let Some(slot) = self.slot(token) {
            let held = match &slot.state {
                SlotState::Parked(p) => p.read_ahead_bytes(),
                _ => 0,
            };
            slot.state = SlotState::Free;
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push((token & 0xffff_ffff) as u32);
            self.read_ahead -= held;
        }
    }

    /// Connections that waited for room in the read-ahead budget and may
    /// now read ahead: as many as the room left could take in full.
    pub(super) fn resume_waiting(&mut self, total: usize, each: usize, tokens: &mut Vec<u64>) {
        let room = total.saturating_sub(self.read_ahead);
        let n = (room / each.max(1)).max(usize::from(room > 0));
        for _ in 0..n {
            match self.waiting.pop_front() {
                Some(token) => tokens.push(token),
                None => return,
            }
        }
    }

    /// Every parked connection's token.
    pub(super) fn parked(&self) -> impl Iterator<Item = (u64, &Parked)> {
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
