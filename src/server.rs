//! Servers: a listening socket, a handler, and a way of running connections.
//!
//! Every server type is [`Server`] with a different [`Concurrency`], the one
//! swappable piece (as `socketserver.process_request` is in Python);
//! handlers never see which one runs them:
//!
//! | type | Python | runs handlers | an idle keep-alive client costs |
//! | --- | --- | --- | --- |
//! | [`HttpServer`] | `HTTPServer` | one at a time | a parked socket, no thread |
//! | [`PoolHttpServer`] | — | on a pool of worker threads | a parked socket, no thread |
//! | [`ThreadingHttpServer`] | `ThreadingHTTPServer` | a thread per connection, `Thread-N` | its thread, until the keep-alive timeout |
//!
//! In the first two, connections waiting for a request head sit in one
//! poller (see the `engine` module's docs): a slow or idle client delays no
//! one, even in the one-at-a-time server.

use crate::conn::{Tracked, serve_connection};
use crate::engine::{self, LISTENER, Run, Slab, WAKER};
use crate::handler::Handler;
use crate::proto::Limits;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{EventfdFlags, eventfd};
use socket2::{Domain, Protocol, Type};
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Pending connections the kernel queues before `accept`: 1024, as
/// INTERFACE.md documents (Python's `request_queue_size` is 5, which drops
/// connections under any burst).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Default cap on the threads of a [`ThreadingHttpServer`]: 1024 connections
/// at once; further connections wait in the listen queue until one ends.
pub const MAX_THREADS: usize = 1024;

/// Default keep-alive timeout: 75 seconds of silence between requests (or
/// before the first) close a connection. Long enough for browsers, which keep
/// idle connections about a minute; nginx uses the same figure.
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(75);

/// Default time a client has to send a whole request head once it has
/// started: 30 seconds. Past it: 408. This is what defeats slowloris clients
/// that drip a head one byte at a time.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Default read and write timeout while a request is being served: 60
/// seconds without progress reading the body or writing the response.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Default bound on the unread part of a request body that the server reads
/// and discards to keep the connection for the next request: 64 KiB. A larger
/// remainder closes the connection instead.
pub const MAX_DRAIN: u64 = 64 * 1024;

/// Default cap on open connections: 16384. Past it the server stops
/// accepting (connections wait in the listen queue) until one closes.
pub const MAX_CONNECTIONS: usize = 16384;

/// Default time that shutdown gives requests in flight: 10 seconds.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's limits and timeouts: plain fields with safe defaults
/// ([`ServerConfig::default`]), in the manner of Go's `http.Server`.
///
/// ```
/// use basehttp::ServerConfig;
/// use std::time::Duration;
///
/// let config = ServerConfig {
///     max_body_size: Some(10 << 20),
///     keep_alive_timeout: Some(Duration::from_secs(5)),
///     ..ServerConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Size limits of the request head (414 and 431 beyond them).
    pub limits: Limits,
    /// Largest request body accepted, in bytes: a larger `Content-Length` is
    /// answered 413 before the handler runs, and a chunked body that grows
    /// past it fails to read (and is answered 413 if the handler has not
    /// responded). `None`, the default, means no limit: the body is streamed
    /// to the handler through `rfile`, so its size costs no server memory.
    pub max_body_size: Option<u64>,
    /// Response bodies up to this size are buffered and sent with a computed
    /// `Content-Length`; larger ones stream. Default
    /// [`RESPONSE_BUFFER`](crate::wfile::RESPONSE_BUFFER) (16 KiB).
    pub response_buffer: usize,
    /// Unread request body discarded to keep a connection open. Default
    /// [`MAX_DRAIN`].
    pub max_drain: u64,
    /// Longest silence between requests on a connection (and before its first
    /// request); then the connection closes without a response. `None` keeps
    /// idle connections forever. Default [`KEEP_ALIVE_TIMEOUT`].
    pub keep_alive_timeout: Option<Duration>,
    /// Time a client has to finish a request head once its first byte has
    /// arrived; past it the client gets 408 and the connection closes.
    /// `None` waits forever. Default [`HEAD_TIMEOUT`].
    pub head_timeout: Option<Duration>,
    /// Longest wait for the next bytes of a request body while a handler
    /// reads it; past it the read fails with `TimedOut`. `None` waits
    /// forever. Default [`IO_TIMEOUT`].
    pub read_timeout: Option<Duration>,
    /// Longest a write may wait on a client that does not read; past it the
    /// write fails and the connection closes. `None` waits forever. Default
    /// [`IO_TIMEOUT`].
    pub write_timeout: Option<Duration>,
    /// Most connections open at once, idle ones included; past it the server
    /// stops accepting until one closes. Default [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Worker threads a [`PoolHttpServer`] starts with. Default: twice the
    /// number of CPUs. Ignored by the other servers.
    pub workers: usize,
    /// Most worker threads of a [`PoolHttpServer`]: the pool grows while all
    /// workers are busy in handlers, up to this bound; past it, ready
    /// connections wait their turn. Default: 32 per CPU.
    pub max_workers: usize,
    /// Most connections served at once by a [`ThreadingHttpServer`] (one
    /// thread each). Default [`MAX_THREADS`]. Ignored by the others.
    pub max_threads: usize,
    /// How long [`Server::shutdown`] lets requests in flight finish before
    /// `serve_forever` returns anyway. Default [`SHUTDOWN_TIMEOUT`].
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        ServerConfig {
            limits: Limits::default(),
            max_body_size: None,
            response_buffer: crate::wfile::RESPONSE_BUFFER,
            max_drain: MAX_DRAIN,
            keep_alive_timeout: Some(KEEP_ALIVE_TIMEOUT),
            head_timeout: Some(HEAD_TIMEOUT),
            read_timeout: Some(IO_TIMEOUT),
            write_timeout: Some(IO_TIMEOUT),
            max_connections: MAX_CONNECTIONS,
            workers: 2 * cpus,
            max_workers: 32 * cpus,
            max_threads: MAX_THREADS,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
        }
    }
}

mod sealed {
    use super::Shared;
    use crate::Handler;
    use crate::engine::Run;
    use std::sync::Arc;

    /// The scheduling decision of a [`Concurrency`](super::Concurrency).
    pub trait Sealed: Default + Send + Sync + 'static {
        /// Serves until shutdown (or one request, for `handle_request`).
        fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run);
        /// The most worker threads of the poller.
        fn max_workers(&self, config: &super::ServerConfig) -> usize;
    }
}

/// How a [`Server`] runs its connections: [`Sequential`], [`Pool`] or
/// [`Threading`]. Sealed.
pub trait Concurrency: sealed::Sealed {}

/// One handler at a time, on the thread that calls `serve_forever`
/// (Python's `HTTPServer`). Connections waiting for a request are parked in
/// the poller, so an idle or slow client does not hold up the others.
#[derive(Debug, Default)]
pub struct Sequential;

/// A pool of worker threads ([`ServerConfig::workers`], growing to
/// [`ServerConfig::max_workers`] while all are busy). The thread that sees a
/// connection become readable serves its request: no hand-off per request.
#[derive(Debug, Default)]
pub struct Pool;

/// A thread per connection, named `Thread-N` (Python's `ThreadingMixIn`),
/// at most [`ServerConfig::max_threads`] at once; the thread stays with its
/// connection while it is idle, up to the keep-alive timeout.
#[derive(Debug, Default)]
pub struct Threading;

impl Concurrency for Sequential {}
impl Concurrency for Pool {}
impl Concurrency for Threading {}

impl sealed::Sealed for Sequential {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) {
        engine::worker_loop(shared, run);
    }

    fn max_workers(&self, _: &ServerConfig) -> usize {
        1
    }
}

impl sealed::Sealed for Pool {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) {
        if run == Run::Forever {
            for _ in 1..shared.config.workers.max(1) {
                grow_pool(shared);
            }
        }
        engine::worker_loop(shared, run);
    }

    fn max_workers(&self, config: &ServerConfig) -> usize {
        config.max_workers.max(config.workers).max(1)
    }
}

impl sealed::Sealed for Threading {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) {
        let mut events = [epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        }; 2];
        loop {
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            let n = match epoll::wait(&shared.epoll, &mut events[..], None) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => 0,
                Err(e) => {
                    shared
                        .handler
                        .log_error(shared.local_addr, format_args!("epoll_wait failed: {e}"));
                    return;
                }
            };
            let mut accepted = false;
            for event in &events[..n] {
                match event.data.u64() {
                    WAKER => return,
                    LISTENER => {
                        engine::accept_connections(shared, &mut |stream, peer| {
                            accepted = true;
                            spawn_connection_thread(shared, stream, peer);
                        });
                    }
                    _ => {}
                }
            }
            if accepted && run == Run::OneRequest {
                return;
            }
        }
    }

    fn max_workers(&self, _: &ServerConfig) -> usize {
        0
    }
}

/// Starts the thread of one connection, waiting first while
/// [`ServerConfig::max_threads`] are running.
fn spawn_connection_thread<H: Handler>(
    shared: &Arc<Shared<H>>,
    stream: TcpStream,
    peer: SocketAddr,
) {
    {
        let mut active = lock(&shared.threads);
        while *active >= shared.config.max_threads.max(1) && !shared.stopping.load(Ordering::SeqCst)
        {
            active = shared
                .threads_changed
                .wait(active)
                .unwrap_or_else(|e| e.into_inner());
        }
        *active += 1;
    }
    let n = shared.thread_names.fetch_add(1, Ordering::Relaxed) + 1;
    let worker = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(format!("Thread-{n}"))
        .spawn(move || {
            worker.serve_tracked(stream, peer);
            engine::closed(&worker);
            *lock(&worker.threads) -= 1;
            worker.threads_changed.notify_all();
        });
    if let Err(e) = spawned {
        *lock(&shared.threads) -= 1;
        engine::closed(shared);
        shared
            .handler
            .log_error(peer, format_args!("cannot start a thread: {e}"));
    }
}

/// Adds a worker thread to the poller if the bound allows.
pub(crate) fn grow_pool<H: Handler>(shared: &Arc<Shared<H>>) {
    let grown = shared
        .workers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < shared.max_workers).then_some(n + 1)
        });
    if grown.is_err() {
        return;
    }
    *lock(&shared.threads) += 1;
    let worker = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name("basehttp-worker".into())
        .spawn(move || {
            engine::worker_loop(&worker, Run::Forever);
            worker.workers.fetch_sub(1, Ordering::SeqCst);
            *lock(&worker.threads) -= 1;
            worker.threads_changed.notify_all();
        });
    if spawned.is_err() {
        shared.workers.fetch_sub(1, Ordering::SeqCst);
        *lock(&shared.threads) -= 1;
    }
}

/// A [`Server`] that runs one handler at a time: Python's `HTTPServer`.
///
/// ```no_run
/// use basehttp::{handler_fn, HttpServer};
/// use std::io::Write;
///
/// let server = HttpServer::bind("127.0.0.1:8080", handler_fn(|r| {
///     r.send_response(200)?;
///     r.end_headers()?;
///     r.wfile.write_all(b"Hello\n")?;
///     Ok(())
/// }))?;
/// server.serve_forever()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type HttpServer<H> = Server<H, Sequential>;

/// A [`Server`] with a pool of worker threads: the `basehttp` binary's
/// server, and the one to use for throughput.
pub type PoolHttpServer<H> = Server<H, Pool>;

/// A [`Server`] with a thread per connection: Python's
/// `ThreadingHTTPServer` (`ThreadingMixIn` + `HTTPServer`).
pub type ThreadingHttpServer<H> = Server<H, Threading>;

/// The state shared by the workers, the connections and the server handle.
#[doc(hidden)]
pub struct Shared<H> {
    pub(crate) handler: H,
    pub(crate) config: ServerConfig,
    pub(crate) listener: TcpListener,
    pub(crate) local_addr: SocketAddr,
    pub(crate) epoll: OwnedFd,
    wake: OwnedFd,
    pub(crate) stopping: AtomicBool,
    slab: Mutex<Slab>,
    /// Open connections (parked, active, or owned by a thread).
    pub(crate) open: AtomicUsize,
    /// Accepting is paused at the connection limit.
    pub(crate) accept_paused: AtomicBool,
    pub(crate) last_sweep: Mutex<Instant>,
    /// Poller workers running, and how many of them are in a handler.
    pub(crate) workers: AtomicUsize,
    pub(crate) busy: AtomicUsize,
    max_workers: usize,
    /// Connections owned by threads (`ThreadingHttpServer`).
    tracked: Mutex<HashMap<u64, Arc<Tracked>>>,
    next_conn: AtomicU64,
    thread_names: AtomicU64,
    /// Threads besides the one in `serve_forever`: pool workers and
    /// connection threads.
    threads: Mutex<usize>,
    threads_changed: Condvar,
}

impl<H: Handler> Shared<H> {
    pub(crate) fn lock_slab(&self) -> MutexGuard<'_, Slab> {
        lock(&self.slab)
    }

    /// Serves a connection on its own thread, tracked so that shutdown can
    /// close it while idle.
    fn serve_tracked(&self, stream: TcpStream, peer: SocketAddr) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Tracked {
            stream,
            idle: AtomicBool::new(false),
        });
        lock(&self.tracked).insert(id, Arc::clone(&conn));
        serve_connection(&self.handler, &conn, peer, &self.config, &self.stopping);
        lock(&self.tracked).remove(&id);
    }
}

/// An HTTP server: a listening socket, a handler, and a [`Concurrency`].
/// Use it through [`HttpServer`], [`PoolHttpServer`] or
/// [`ThreadingHttpServer`].
///
/// Every method takes `&self`, so a server in an [`Arc`] can be shut down
/// from another thread while one runs [`serve_forever`](Server::serve_forever).
pub struct Server<H, C> {
    shared: Arc<Shared<H>>,
    concurrency: C,
    running: Mutex<bool>,
    stopped: Condvar,
    serving: Mutex<()>,
}

impl<H: Handler, C: Concurrency> Server<H, C> {
    /// Binds a listening socket (`SO_REUSEADDR`, backlog
    /// [`LISTEN_BACKLOG`]) to the first address of `addr` that works; port 0
    /// asks the kernel for a free one, and [`local_addr`](Server::local_addr)
    /// tells which. An unspecified IPv6 address (`[::]`) also accepts IPv4
    /// where the host allows it.
    pub fn bind(addr: impl ToSocketAddrs, handler: H) -> io::Result<Self> {
        Self::bind_with_config(addr, handler, ServerConfig::default())
    }

    /// [`bind`](Server::bind) with limits and timeouts of your own.
    pub fn bind_with_config(
        addr: impl ToSocketAddrs,
        handler: H,
        config: ServerConfig,
    ) -> io::Result<Self> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
        for a in addr.to_socket_addrs()? {
            match listen(a) {
                Ok(listener) => return Self::from_listener(listener, handler, config),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Serves on a listening socket you made yourself (inherited from a
    /// supervisor, or with options of your own).
    pub fn from_listener(
        listener: TcpListener,
        handler: H,
        config: ServerConfig,
    ) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let flags = EventFlags::IN | EventFlags::ONESHOT;
        epoll::add(&epoll, &listener, EventData::new_u64(LISTENER), flags)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        // Level-triggered and never read: once written, every worker sees it.
        epoll::add(&epoll, &wake, EventData::new_u64(WAKER), EventFlags::IN)?;
        let concurrency = C::default();
        let max_workers = concurrency.max_workers(&config);
        Ok(Server {
            shared: Arc::new(Shared {
                handler,
                config,
                listener,
                local_addr,
                epoll,
                wake,
                stopping: AtomicBool::new(false),
                slab: Mutex::new(Slab::default()),
                open: AtomicUsize::new(0),
                accept_paused: AtomicBool::new(false),
                last_sweep: Mutex::new(Instant::now()),
                workers: AtomicUsize::new(1),
                busy: AtomicUsize::new(0),
                max_workers,
                tracked: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(0),
                thread_names: AtomicU64::new(0),
                threads: Mutex::new(0),
                threads_changed: Condvar::new(),
            }),
            concurrency,
            running: Mutex::new(false),
            stopped: Condvar::new(),
            serving: Mutex::new(()),
        })
    }

    /// The address the server listens on, with the real port when bound to
    /// port 0 (Python's `server_address`).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// The limits and timeouts in force.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Open connections right now: idle, active, or in a thread.
    pub fn connection_count(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Accepts and serves connections until [`shutdown`](Server::shutdown)
    /// is called, from another thread or from a signal-handling thread; then
    /// waits up to [`ServerConfig::shutdown_timeout`] for requests in flight.
    /// Returns at once if the server was already shut down.
    pub fn serve_forever(&self) -> io::Result<()> {
        let _serving = lock(&self.serving);
        *lock(&self.running) = true;
        self.concurrency.serve(&self.shared, Run::Forever);
        self.wait_for_threads();
        *lock(&self.running) = false;
        self.stopped.notify_all();
        Ok(())
    }

    /// Waits for one request and answers it (Python's `handle_request`); for
    /// a [`ThreadingHttpServer`], waits for one connection and starts its
    /// thread. Returns early if the server is shut down.
    pub fn handle_request(&self) -> io::Result<()> {
        let _serving = lock(&self.serving);
        self.concurrency.serve(&self.shared, Run::OneRequest);
        Ok(())
    }

    /// Stops [`serve_forever`](Server::serve_forever) and returns once it
    /// has returned: no new connections are accepted, idle keep-alive
    /// connections are closed at once, and requests in flight finish (each
    /// connection closes after its response), within
    /// [`ServerConfig::shutdown_timeout`]. Call it from another thread than
    /// the one running `serve_forever`: from a handler of an [`HttpServer`]
    /// it would wait for itself (as in Python).
    pub fn shutdown(&self) {
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        let _ = rustix::io::write(&shared.wake, &1u64.to_ne_bytes());
        engine::close_parked(shared);
        self.close_idle_threads();
        shared.threads_changed.notify_all();
        let mut running = lock(&self.running);
        while *running {
            running = self
                .stopped
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Closes the server (Python's `server_close`): shuts it down if need be.
    /// The listening socket is released when the server is dropped.
    pub fn server_close(&self) {
        self.shutdown();
        self.wait_for_threads();
    }

    fn close_idle_threads(&self) {
        for conn in lock(&self.shared.tracked).values() {
            if conn.idle.load(Ordering::SeqCst) {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
    }

    /// Waits for worker and connection threads to finish, closing idle
    /// connections as they become idle, for at most the shutdown timeout.
    fn wait_for_threads(&self) {
        let deadline = Instant::now() + self.shared.config.shutdown_timeout;
        let mut threads = lock(&self.shared.threads);
        while *threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let tick = (deadline - now).min(Duration::from_millis(50));
            drop(threads);
            self.close_idle_threads();
            engine::close_parked(&self.shared);
            threads = lock(&self.shared.threads);
            if *threads == 0 {
                return;
            }
            threads = self
                .shared
                .threads_changed
                .wait_timeout(threads, tick)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl<H, C> Drop for Server<H, C> {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = rustix::io::write(&self.shared.wake, &1u64.to_ne_bytes());
    }
}

/// A listening socket with `SO_REUSEADDR` and the documented backlog.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket =
        socket2::Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Dual-stack where the host allows it; IPv6-only hosts refuse, which is fine.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: every value
/// guarded here stays consistent across a panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
