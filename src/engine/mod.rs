//! The poller: connections waiting for a request head cost no thread.
//!
//! Every connection that waits for its next request head — an idle
//! keep-alive client, or one still sending its head — is *parked*: its socket
//! sits in one epoll set (edge-triggered, registered once at accept), and its
//! record in the [`Slab`] holds the socket, the client's address and any
//! partial head (usually nothing). No thread and no buffer belong to it.
//!
//! The worker that takes a ready connection (see [`sched`](crate::sched)
//! for who takes what) removes it from the slab, reads its head into the
//! worker's own buffers, runs the handler with blocking I/O (bounded by the
//! read and write timeouts), and parks the connection again, or goes
//! straight on if the next pipelined request is already buffered. So a
//! request involves no hand-off between threads; a connection is in one
//! worker at a time because an event for a connection a worker holds only
//! marks its slot, and that worker reads again before it parks.
//!
//! A keep-alive request costs three system calls: `read`, `writev`, and a
//! share of an `epoll_wait` — no re-arming, since the socket is
//! edge-triggered. A connection is parked without a further read only when
//! its last read returned less than asked (the socket was empty then, so any
//! later bytes raise a new event). Responses to pipelined requests that
//! arrived together leave in one write.
//!
//! The same loop serves [`HttpServer`](crate::HttpServer) (one worker: one
//! handler at a time, yet an idle or slow client blocks no one) and
//! [`PoolHttpServer`](crate::PoolHttpServer) (several).
//!
//! Deadlines of parked connections (keep-alive idle time, whole-head time)
//! are enforced by a sweep over the slab that the poller runs every so often.
//!
//! With [`ServerConfig::proxy_protocol`](crate::ServerConfig::proxy_protocol),
//! a new connection is parked first awaiting its PROXY header, with the head
//! timeout as its deadline: the header is peeked and read without blocking
//! (never a byte past it, so TLS and HTTP find their bytes in the socket),
//! and a connection that sends a bad one, or none in time, is closed
//! unanswered. Only then do its requests begin. The check is one branch per
//! ready connection, none per request.

mod shared;
mod slab;

pub(crate) use shared::{Shared, spawn_monitor, spawn_worker};
pub(crate) use slab::Slab;
use slab::{Parked, ProxyStep, SlotState};

use crate::conn::{
    ConnBuffers, HeadError, Next, Serving, drain_unanswered, first_line, linger, read_head,
    respond_to_head_error, respond_to_request_error, serve_request, write_pending,
};
use crate::handler::Handler;
use crate::net::{ClientAddress, Stream};
use crate::sched::{Job, Relief, WorkerId};
use crate::sys::lock;
use crate::tls;
use crate::transport::{ReadBuf, Transport};
use rustix::event::Timespec;
use rustix::event::epoll::{self, Event, EventData, EventFlags};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

/// The epoll token of the shutdown eventfd.
pub(crate) const WAKER: u64 = u64::MAX;
/// The epoll token of the descriptor given to `serve_until`.
pub(crate) const STOP: u64 = u64::MAX - 1;
/// The epoll token of the first listening socket; listener `i` has
/// `LISTENER - i`. Connection tokens are slab indices, far below.
pub(crate) const LISTENER: u64 = u64::MAX - 2;
/// The lowest listener token: at most 2^32 listeners, so that one
/// comparison tells a listener's event from a connection's.
pub(crate) const LAST_LISTENER: u64 = LISTENER - u32::MAX as u64;

/// The index of the listener whose token is `token` (a token from
/// [`LAST_LISTENER`] to [`LISTENER`]).
pub(crate) fn listener_index(token: u64) -> usize {
    (LISTENER - token) as usize
}

/// The events of a connection: readable, or hung up. Edge-triggered: the
/// socket is registered once, and an event means new bytes (or a hang-up)
/// since the last one; a worker that holds the connection when one comes is
/// told through its slot (see [`Slab::take`]).
fn conn_interest() -> EventFlags {
    EventFlags::IN | EventFlags::RDHUP | EventFlags::ET
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
    /// Until shutdown: the thread that called `serve_forever`, which must
    /// not return before then.
    Forever,
    /// Until shutdown, or until the worker has slept unused for
    /// `worker_idle_timeout` while more than `workers` are alive: the pool's
    /// other worker threads.
    UntilIdle,
    /// Until one request has been answered (`handle_request`).
    OneRequest,
}

/// A worker: serves ready connections and takes its turn at polling (see
/// [`sched`](crate::sched)), until shutdown. `Run::UntilIdle` workers beyond
/// the configured number end after sleeping unused for a while.
pub(crate) fn worker_loop<H: Handler>(shared: &Arc<Shared<H>>, run: Run) {
    let sched = &shared.sched;
    let Some(me) = sched.enter() else { return };
    let mut bufs = ConnBuffers::new();
    let mut events = [Event {
        flags: EventFlags::empty(),
        data: EventData::new_u64(0),
    }; 32];
    let mut tokens = Vec::with_capacity(events.len());
    let interval = sweep_interval(shared);
    let ts = timespec(interval);
    // Only spawned workers retire: the thread in serve_forever returning
    // would end serve_forever, and with it, often, the program.
    let retire = (run == Run::UntilIdle)
        .then_some((shared.config.worker_idle_timeout, shared.config.workers));
    // Since when the worker has found nothing to do (read at empty polls
    // only: no clock read per request).
    let mut idle_since: Option<Instant> = None;
    loop {
        match sched.next_job(&shared.stopping, retire) {
            Job::Stop => return,
            Job::Retire => return me.retire(),
            Job::Serve(token) => {
                let served = serve_parked(shared, token, &mut bufs, &me);
                idle_since = None;
                if served && run == Run::OneRequest {
                    return;
                }
            }
            Job::Poll => {
                // Accepting paused after an accept error: resume on time.
                let retry = *lock(&shared.accept_retry);
                let wait = match retry {
                    Some(at) => {
                        timespec(at.saturating_duration_since(Instant::now()).min(interval))
                    }
                    None => ts,
                };
                let n = match epoll::wait(&shared.epoll, &mut events, Some(&wait)) {
                    Ok(n) => n,
                    Err(rustix::io::Errno::INTR) => 0,
                    Err(e) => {
                        shared.handler.log_error(
                            shared.local_addr.as_client(),
                            format_args!("epoll_wait failed: {e}"),
                        );
                        std::thread::sleep(Duration::from_millis(10));
                        0
                    }
                };
                tokens.clear();
                let stop = collect_events(shared, &events[..n], &mut tokens);
                if shared.waiting_for_budget.load(Ordering::Relaxed) > 0 {
                    let config = &shared.config;
                    let mut slab = shared.lock_slab();
                    let before = tokens.len();
                    slab.resume_waiting(config.body_buffer_total, config.body_buffer, &mut tokens);
                    let resumed = tokens.len() - before;
                    shared
                        .waiting_for_budget
                        .fetch_sub(resumed, Ordering::Relaxed);
                }
                if retry.is_some_and(|at| at <= Instant::now()) {
                    let mut retry = lock(&shared.accept_retry);
                    if retry.is_some_and(|at| at <= Instant::now()) {
                        *retry = None;
                        arm_listener(shared);
                    }
                }
                if n == 0
                    && let Some((idle, keep)) = retire
                    && idle_since.get_or_insert_with(Instant::now).elapsed() >= idle
                    && sched.retire_poller(keep)
                {
                    return me.retire();
                }
                sched.polled(&tokens);
                if stop {
                    return;
                }
                sweep(shared, &mut bufs, interval);
            }
        }
    }
}

/// Accepts every pending connection of listener `index` (up to the
/// connection limit) and gives each to `place`. The listener is edge-triggered: it fires again only for
/// new connections, so it must be drained, or re-armed with
/// [`arm_listener`] when accepting stops early. An accept error such as
/// EMFILE is survived as Go does: the listener stays disarmed, and the
/// returned wait (5 ms, doubling to 1 s while errors go on) says when to
/// re-arm the listeners with [`arm_listener`]; meanwhile the server goes on serving the
/// connections it has, which is how descriptors come free.
pub(crate) fn accept_connections<H: Handler>(
    shared: &Shared<H>,
    index: usize,
    place: &mut dyn FnMut(Stream, ClientAddress),
) -> Option<Duration> {
    let listener = shared.listeners.get(index)?;
    loop {
        if shared.stopping.load(Ordering::SeqCst) || shared.draining.load(Ordering::SeqCst) {
            return None;
        }
        if shared.open.load(Ordering::SeqCst) >= shared.config.max_connections.max(1) {
            // Full: stop accepting until a connection closes (see `closed`).
            shared.accept_paused.store(true, Ordering::SeqCst);
            if shared.open.load(Ordering::SeqCst) >= shared.config.max_connections.max(1) {
                return None;
            }
            shared.accept_paused.store(false, Ordering::SeqCst);
        }
        // accept4 with SOCK_NONBLOCK: no separate call to make it non-blocking.
        match listener.accept() {
            Ok(None) => shared.accept_backoff_ms.store(0, Ordering::Relaxed),
            Ok(Some((stream, peer))) => {
                shared.accept_backoff_ms.store(0, Ordering::Relaxed);
                let config = &shared.config;
                if config.proxy_protocol
                    && !config.trusted_proxies.is_empty()
                    && !config.trusts_peer(peer)
                {
                    // Only trusted proxies may send PROXY headers: close.
                    continue;
                }
                shared.open.fetch_add(1, Ordering::SeqCst);
                place(stream, peer);
            }
            // Drained: the edge-triggered listener fires again for the next one.
            Err(rustix::io::Errno::AGAIN) => return None,
            Err(e) if is_connection_error(e) => {}
            Err(e) => {
                let last = shared.accept_backoff_ms.load(Ordering::Relaxed);
                let backoff = (last * 2).clamp(5, 1000);
                shared.accept_backoff_ms.store(backoff, Ordering::Relaxed);
                let backoff = Duration::from_millis(backoff);
                shared.handler.log_error(
                    shared.local_addr.as_client(),
                    format_args!(
                        "accept failed: {}; retrying in {backoff:?}",
                        std::io::Error::from(e)
                    ),
                );
                return Some(backoff);
            }
        }
    }
}

/// Errors that concern one connection that died in the queue, not the
/// listener.
fn is_connection_error(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    matches!(
        e,
        Errno::CONNABORTED | Errno::CONNRESET | Errno::PERM | Errno::ACCESS | Errno::INTR
    )
}

/// Re-registers the listeners after accepting paused with connections still
/// queued: re-arming an edge-triggered descriptor reports its readiness
/// again. (Every listener: which ones paused is not recorded, and this is
/// rare.)
pub(crate) fn arm_listener<H: Handler>(shared: &Shared<H>) {
    let flags = EventFlags::IN | EventFlags::ET;
    for (i, listener) in shared.listeners.iter().enumerate() {
        let token = LISTENER - i as u64;
        let _ = epoll::modify(&shared.epoll, listener, EventData::new_u64(token), flags);
    }
}

/// Records that a connection closed, resuming accepts if the limit paused them.
pub(crate) fn closed<H: Handler>(shared: &Shared<H>) {
    shared.open.fetch_sub(1, Ordering::SeqCst);
    if shared.accept_paused.swap(false, Ordering::SeqCst) {
        arm_listener(shared);
    }
}

/// Enters a new connection in the slab and the epoll set, as a parked one
/// with the deadline of [`Parked::new`]; returns its token, or `None` if it
/// had to be closed.
fn register<H: Handler>(
    shared: &Arc<Shared<H>>,
    stream: Stream,
    peer: ClientAddress,
) -> Option<u64> {
    let config = &shared.config;
    let tls = match &config.tls {
        None => None,
        Some(tls) => match tls::new_session(tls) {
            Some(session) => Some(Box::new(session)),
            None => {
                drop(stream);
                closed(shared);
                return None;
            }
        },
    };
    let parked = Parked::new(stream, tls, peer, config);
    let mut slab = shared.lock_slab();
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
        return None;
    }
    Some(token)
}

/// Puts a connection whose socket has nothing more to read back in the
/// poller, until its next bytes arrive. If an event came for it while a
/// worker held it, it is handed back instead: its new bytes must be read now.
fn park<H: Handler>(shared: &Shared<H>, token: u64, parked: Parked) -> Option<Parked> {
    let mut slab = shared.lock_slab();
    if shared.stopping.load(Ordering::SeqCst) {
        // Shutdown closes idle connections; this one just became idle.
        slab.remove(token);
        drop(slab);
        drop(parked);
        closed(shared);
        return None;
    }
    let held = parked.read_ahead_bytes();
    let slot = slab.slot(token)?;
    if let SlotState::Active { notified: true } = slot.state {
        slot.state = SlotState::Active { notified: false };
        return Some(parked);
    }
    slot.state = SlotState::Parked(parked);
    slab.read_ahead += held;
    None
}

/// Closes a connection a worker holds.
fn close<H: Handler>(shared: &Shared<H>, token: u64, stream: Stream, next: Next) {
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
fn serve_parked<H: Handler>(
    shared: &Arc<Shared<H>>,
    token: u64,
    bufs: &mut ConnBuffers,
    me: &WorkerId<'_>,
) -> bool {
    let Some(mut p) = shared.lock_slab().take(token) else {
        return false;
    };
    let config = &shared.config;
    // A new connection's PROXY header comes before anything else.
    while p.awaiting_proxy {
        match p.read_proxy_header(config) {
            ProxyStep::Read => {}
            ProxyStep::Park => match park(shared, token, p) {
                None => return false,
                Some(again) => p = again,
            },
            ProxyStep::Close => {
                drain_unanswered(&p.stream);
                close(shared, token, p.stream, Next::Close);
                return false;
            }
        }
    }
    bufs.read.clear();
    bufs.read.push(&p.partial);
    p.partial = Vec::new();
    let mut served = false;
    // Whether the socket's last read emptied it, so that waiting for the
    // next edge-triggered event is safe; unknown until a read is made.
    let mut drained = false;
    loop {
        let mut head_deadline = p.head_deadline;
        let addrs = p.addrs;
        let (turn, last_read) =
            p.with_transport(config.read_timeout, config.write_timeout, |io, socket| {
                socket.set_response_rate(config.min_response_rate);
                let mut first_bytes = || {
                    if head_deadline.is_none() {
                        head_deadline = config.head_timeout.map(|t| Instant::now() + t);
                    }
                };
                // The head is read without blocking: WouldBlock means "park".
                socket.blocking.set(false);
                let head = read_head(io, &mut bufs.read, &config.limits, &mut first_bytes);
                socket.blocking.set(true);
                let turn = match head {
                    Ok(Some(extent)) => {
                        let next = {
                            let _busy = me.busy();
                            let serving = Serving {
                                read_ahead: true,
                                closing: shared.draining.load(Ordering::Relaxed),
                            };
                            serve_request(&shared.handler, io, addrs, config, bufs, extent, serving)
                        };
                        match next {
                            Next::ReadAhead(_)
                                if shared.lock_slab().read_ahead >= config.body_buffer_total =>
                            {
                                Turn::WaitForBudget
                            }
                            Next::ReadAhead(total) => {
                                socket.blocking.set(false);
                                let read = read_ahead(io, &mut bufs.read, total);
                                socket.blocking.set(true);
                                match read {
                                    Ok(true) => Turn::Again,
                                    Ok(false) => Turn::ReadingAhead,
                                    Err(_) => Turn::Close(Next::Close),
                                }
                            }
                            next => Turn::Served(next),
                        }
                    }
                    // (Held-back responses are only ever followed by a whole
                    // buffered head, so there are none here; but never park
                    // with responses unsent.)
                    Err(HeadError::WouldBlock) => match write_pending(io, &mut bufs.pending) {
                        Ok(()) => Turn::Park,
                        Err(_) => Turn::Close(Next::Close),
                    },
                    Ok(None) => Turn::Close(Next::Close),
                    Err(e) => Turn::Close(respond_to_head_error(
                        &shared.handler,
                        io,
                        addrs,
                        config,
                        bufs,
                        e,
                    )),
                };
                (turn, socket.drained.get())
            });
        p.head_deadline = head_deadline;
        if let Some(d) = last_read {
            drained = d;
        }
        // `None`: park the connection until its next bytes come.
        let next = match turn {
            Turn::Again => continue,
            Turn::ReadingAhead => {
                p.partial = bufs.read.available().to_vec();
                let started = *p.body_started.get_or_insert_with(Instant::now);
                let by_rate = config
                    .min_body_rate
                    .map(|rate| started + rate.allowed_wait(p.partial.len() as u64));
                let by_silence = config.read_timeout.map(|t| Instant::now() + t);
                p.deadline = by_rate.into_iter().chain(by_silence).min();
                None
            }
            Turn::WaitForBudget => {
                // Not counted, and no deadline: it waits on us, not on
                // its client. The poller resumes it when there is room.
                p.partial = bufs.read.available().to_vec();
                p.body_started = None;
                p.deadline = None;
                // Once: a client that sends more while it waits comes back
                // here, and must not be queued twice.
                let mut slab = shared.lock_slab();
                if !slab.waiting.contains(&token) {
                    slab.waiting.push_back(token);
                    shared.waiting_for_budget.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
            Turn::Park => {
                if !bufs.read.available().is_empty() {
                    p.partial = bufs.read.available().to_vec();
                    p.deadline = p.head_deadline;
                } else if p.head_deadline.is_none()
                    && !served
                    && p.tls.as_deref().is_some_and(tls::is_handshaking)
                {
                    // Still handshaking: the handshake deadline set at accept stands.
                } else {
                    p.park_idle(config.keep_alive_timeout);
                }
                None
            }
            Turn::Close(next) => Some(next),
            Turn::Served(next) => {
                served = true;
                p.fresh = false;
                p.head_deadline = None;
                p.body_started = None;
                // Responses held back for the buffered next request go out
                // with its own, even during shutdown. A drain that began
                // after this answer promised keep-alive does not close the
                // connection here, right after the answer, where the
                // client's next request may already be on its way: it is
                // parked, and its next request is answered with
                // `Connection: close` (or it is closed once idle, see
                // `close_idle_served`).
                let stopping = shared.stopping.load(Ordering::SeqCst) && bufs.pending.is_empty();
                if next != Next::KeepAlive || stopping {
                    Some(next)
                } else if bufs.read.available().is_empty() && drained && p.tls.is_none() {
                    // Nothing buffered, and the socket was empty at its last
                    // read: park at once instead of a read that would only
                    // say EAGAIN. Bytes that came since then raised an
                    // event, which brings the connection back. (A TLS
                    // session may hold decrypted bytes that the socket
                    // cannot announce: for TLS, always look first.)
                    p.park_idle(config.keep_alive_timeout);
                    None
                } else {
                    // Pipelined bytes already buffered (or already decrypted,
                    // or still in the socket) are served at once.
                    continue;
                }
            }
        };
        bufs.read.clear();
        let Some(next) = next else {
            bufs.read.shrink();
            match park(shared, token, p) {
                None => return served,
                Some(again) => {
                    // Bytes arrived while we held it: read them now.
                    p = again;
                    bufs.read.push(&p.partial);
                    p.partial = Vec::new();
                    drained = false;
                    continue;
                }
            }
        };
        close(shared, token, p.stream, next);
        return served;
    }
}

/// Turns the events of one `epoll_wait` into ready connections: accepts
/// new ones (served at once, like one with an event: the request is
/// usually there already, and reading it now saves a round of
/// `epoll_wait`; if not, the read parks it). Returns whether to stop.
fn collect_events<H: Handler>(
    shared: &Arc<Shared<H>>,
    events: &[Event],
    tokens: &mut Vec<u64>,
) -> bool {
    let mut stop = false;
    for event in events {
        match event.data.u64() {
            WAKER => stop = true,
            STOP => {
                shared.begin_shutdown();
                stop = true;
            }
            token @ LAST_LISTENER..=LISTENER => {
                let index = listener_index(token);
                let backoff = accept_connections(shared, index, &mut |stream, peer| {
                    tokens.extend(register(shared, stream, peer))
                });
                *lock(&shared.accept_retry) = backoff.map(|b| Instant::now() + b);
            }
            token => tokens.push(token),
        }
    }
    stop
}

/// The monitor's help while the pool is full and every worker is in a
/// handler (see [`Relief`]): it polls without waiting in the workers'
/// place, so that new requests are queued (and, if they wait too long,
/// answered), and answers each connection that waited past the queue
/// timeout `503 Service Unavailable` with `Retry-After: 1`, then closes
/// it. Nothing here blocks for long: the 503 is small, written with a
/// 10 ms bound, and the connection is not lingered over.
pub(crate) fn relieve<H: Handler>(shared: &Arc<Shared<H>>, relief: Relief) {
    if relief.poll {
        let mut events = [Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        }; 32];
        let zero = timespec(Duration::ZERO);
        let n = epoll::wait(&shared.epoll, &mut events, Some(&zero)).unwrap_or(0);
        let mut tokens = Vec::new();
        // A stop event also woke the workers (level-triggered): they stop.
        collect_events(shared, &events[..n], &mut tokens);
        shared.sched.polled(&tokens);
    }
    if relief.shed.is_empty() {
        return;
    }
    let mut bufs = ConnBuffers::new();
    let bound = Some(Duration::from_millis(10));
    for token in relief.shed {
        let Some(mut p) = shared.lock_slab().take(token) else {
            continue;
        };
        if p.awaiting_proxy {
            // No PROXY header yet, so no HTTP either: close unanswered.
            drain_unanswered(&p.stream);
            close(shared, token, p.stream, Next::Close);
            continue;
        }
        let addrs = p.addrs;
        let partial = std::mem::take(&mut p.partial);
        p.with_transport(bound, bound, |io, socket| {
            // Read what the client sent, so that closing sends FIN, not RST;
            // its first line names the request in the log.
            socket.blocking.set(false);
            bufs.read.clear();
            bufs.read.push(&partial);
            let _ = bufs.read.fill(io, 8 * 1024);
            let requestline = first_line(bufs.read.available()).to_owned();
            bufs.read.clear();
            while matches!(bufs.read.fill(io, 64 * 1024), Ok(n) if n > 0) {
                bufs.read.clear();
            }
            socket.blocking.set(true);
            respond_to_request_error(
                &shared.handler,
                io,
                addrs,
                &shared.config,
                &mut bufs,
                &requestline,
                HeadError::Overloaded,
            );
        });
        let _ = p.stream.shutdown(std::net::Shutdown::Write);
        close(shared, token, p.stream, Next::Close);
    }
}

/// Reads without blocking until `total` bytes are buffered or the socket
/// has nothing more for now. `Ok(true)` if anything was read, so that the
/// request is looked at again (a chunked body may be complete short of
/// `total`); `Ok(false)` if nothing was.
fn read_ahead(io: &dyn Transport, buf: &mut ReadBuf, total: usize) -> std::io::Result<bool> {
    let mut read = false;
    while buf.available().len() < total {
        match buf.fill(io, total) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => read = true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

/// What one turn of [`serve_parked`] came to.
enum Turn {
    /// Nothing more to read yet.
    Park,
    /// Part of a body is read ahead; park until more comes.
    ReadingAhead,
    /// A body should be read ahead, but the budget is spent: park unread.
    WaitForBudget,
    /// The body read ahead is complete: serve the request now.
    Again,
    /// A request was answered; the connection goes on or closes.
    Served(Next),
    /// The connection ends.
    Close(Next),
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
            .map(|(t, p)| (t, p.head_deadline.is_some() || p.body_started.is_some()))
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
        let addrs = p.addrs;
        // Through the TLS session if there is one: the 408 must be encrypted
        // like everything else on the connection.
        let error = if p.body_started.is_some() {
            HeadError::SlowBody
        } else {
            HeadError::Timeout
        };
        let next = p.with_transport(second, second, |io, _| {
            bufs.read.clear();
            respond_to_head_error(&shared.handler, io, addrs, &shared.config, bufs, error)
        });
        close(shared, token, p.stream, next);
    }
}

/// How long a connection must have been idle between requests before a
/// drain ([`close_idle_served`]) closes it: 1 second. Closing a keep-alive
/// connection always races with a request its client may be sending at
/// that moment, which is then lost (RFC 9112 §9.3.1 lets the client send
/// it again, if it knows it may). A client that uses its connection sends
/// its next request within this time and gets it answered with
/// `Connection: close` instead; the race is left to connections idle for
/// longer, which rarely speak up at that very moment. The restart tests
/// (`tests/fleet.rs`) lost about one request in forty closes without it.
/// It lengthens a drain by at most this much.
pub(crate) const DRAIN_IDLE_GRACE: Duration = Duration::from_secs(1);

/// Closes the parked connections that are idle between requests, having
/// answered one at least, and idle for `idle_for` at least (a drain: see
/// [`DRAIN_IDLE_GRACE`]). A new connection is left to send its first
/// request, which is answered with `Connection: close`; so is one whose
/// next request has reached its socket but not yet the poller (closing it
/// would reset the client).
pub(crate) fn close_idle_served<H: Handler>(shared: &Shared<H>, idle_for: Duration) {
    let now = Instant::now();
    let mut closing = 0;
    {
        let mut slab = shared.lock_slab();
        let idle: Vec<u64> = slab
            .parked()
            .filter(|(_, p)| {
                !p.fresh
                    && p.partial.is_empty()
                    && p.body_started.is_none()
                    && !p.awaiting_proxy
                    && now.saturating_duration_since(p.idle_since) >= idle_for
                    && !bytes_waiting(&p.stream)
            })
            .map(|(t, _)| t)
            .collect();
        for t in idle {
            slab.remove(t);
            closing += 1;
        }
    }
    for _ in 0..closing {
        closed(shared);
    }
}

/// Whether bytes wait to be read on `stream` (a peek that does not block).
/// The end of the stream, or an error, is not bytes: such a connection can
/// be closed.
fn bytes_waiting(stream: &Stream) -> bool {
    use rustix::net::RecvFlags;
    let mut byte = [0u8; 1];
    matches!(
        rustix::net::recv(stream, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT),
        Ok((1, _))
    )
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
