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
use crate::engine::{self, LISTENER, Run, STOP, Slab, WAKER};
use crate::handler::Handler;
use crate::proto::Limits;
use crate::sched::Sched;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{EventfdFlags, Timespec, eventfd};
use socket2::{Domain, Protocol, Type};
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
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

/// Default time a new HTTPS connection has to finish its TLS handshake: 10
/// seconds, ample for any real client; a silent one is closed after it.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Worker threads a [`PoolHttpServer`] starts with, and keeps. Default:
    /// twice the number of CPUs. Only as many as there are CPUs are awake
    /// at once while handlers run quickly; the rest sleep until needed.
    /// Ignored by the other servers.
    pub workers: usize,
    /// Most worker threads of a [`PoolHttpServer`]. When handlers block
    /// (a worker stays in one request over three looks of the pool's
    /// monitor, 1 to 8 ms apart, mostly neither running nor waiting for a
    /// CPU) and work waits, a sleeping worker is woken or a new one started,
    /// up to this bound; past it, ready connections wait their turn. Workers
    /// beyond [`workers`](ServerConfig::workers) end after 10 s unused.
    /// Default: 32 per CPU.
    pub max_workers: usize,
    /// Most connections served at once by a [`ThreadingHttpServer`] (one
    /// thread each). Default [`MAX_THREADS`]. Ignored by the others.
    pub max_threads: usize,
    /// Most child processes of a [`ForkingHttpServer`] at once; past it the
    /// server waits for one to exit before accepting. Default 40, as
    /// Python's `ForkingMixIn.max_children`. Ignored by the others.
    pub max_children: usize,
    /// Serve HTTPS with this TLS configuration (see
    /// [`tls::load_server_config`](crate::tls::load_server_config)); `None`,
    /// the default, serves plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Time a new HTTPS connection has to complete its TLS handshake and
    /// start its first request; past it the connection closes. Default
    /// [`HANDSHAKE_TIMEOUT`]. Ignored without [`tls`](ServerConfig::tls).
    pub handshake_timeout: Option<Duration>,
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
            max_children: 40,
            tls: None,
            handshake_timeout: Some(HANDSHAKE_TIMEOUT),
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
        fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) -> std::io::Result<()>;
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
/// [`ServerConfig::max_workers`] while handlers block). The worker that
/// takes a ready connection serves its request: no hand-off per request.
/// While handlers run quickly, only as many workers as CPUs are awake, so a
/// busy pool costs no more per request than one thread.
#[derive(Debug, Default)]
pub struct Pool;

/// A thread per connection, named `Thread-N` (Python's `ThreadingMixIn`),
/// at most [`ServerConfig::max_threads`] at once; the thread stays with its
/// connection while it is idle, up to the keep-alive timeout.
#[derive(Debug, Default)]
pub struct Threading;

/// A process per connection (Python's `ForkingMixIn`), at most
/// [`ServerConfig::max_children`] at once; a child that crashes costs only
/// its own connection. The accept loop runs alone in its process: serving
/// from a process with other threads is refused, since `fork` would copy
/// their locks but not them. Unix only.
#[derive(Debug, Default)]
pub struct Forking;

impl Concurrency for Forking {}
impl Concurrency for Sequential {}
impl Concurrency for Pool {}
impl Concurrency for Threading {}

impl sealed::Sealed for Sequential {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) -> io::Result<()> {
        engine::worker_loop(shared, run);
        Ok(())
    }

    fn max_workers(&self, _: &ServerConfig) -> usize {
        1
    }
}

impl sealed::Sealed for Pool {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) -> io::Result<()> {
        if run == Run::Forever {
            for _ in 1..shared.config.workers.max(1) {
                spawn_worker(shared);
            }
            spawn_monitor(shared);
        }
        engine::worker_loop(shared, run);
        Ok(())
    }

    fn max_workers(&self, config: &ServerConfig) -> usize {
        config.max_workers.max(config.workers).max(1)
    }
}

impl sealed::Sealed for Threading {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) -> io::Result<()> {
        accept_loop(shared, run, None, &mut ThreadPerConnection(shared))
    }

    fn max_workers(&self, _: &ServerConfig) -> usize {
        0
    }
}

impl sealed::Sealed for Forking {
    fn serve<H: Handler>(&self, shared: &Arc<Shared<H>>, run: Run) -> io::Result<()> {
        let threads = crate::sys::thread_count()?;
        if threads > 1 {
            return Err(io::Error::other(format!(
                "a ForkingHttpServer must serve from a single-threaded process, and this one has {threads} threads: \
                 fork() copies only the calling thread, so locks held by the others would stay locked in the child"
            )));
        }
        let mut forking = ProcessPerConnection {
            shared,
            children: Default::default(),
        };
        // Wake up now and then to reap children that have exited.
        let result = accept_loop(shared, run, Some(Duration::from_millis(100)), &mut forking);
        let deadline = Instant::now() + shared.config.shutdown_timeout;
        while !forking.children.pids.is_empty() && Instant::now() < deadline {
            forking.children.reap(false);
            thread::sleep(Duration::from_millis(10));
        }
        result
    }

    fn max_workers(&self, _: &ServerConfig) -> usize {
        0
    }
}

/// Where the accept loop of a thread- or process-per-connection server puts
/// each connection.
trait Place {
    /// Takes an accepted connection.
    fn place(&mut self, stream: TcpStream, peer: SocketAddr);
    /// Runs when the loop wakes with nothing to accept.
    fn tick(&mut self) {}
}

struct ThreadPerConnection<'a, H>(&'a Arc<Shared<H>>);

impl<H: Handler> Place for ThreadPerConnection<'_, H> {
    fn place(&mut self, stream: TcpStream, peer: SocketAddr) {
        spawn_connection_thread(self.0, stream, peer);
    }
}

struct ProcessPerConnection<'a, H> {
    shared: &'a Arc<Shared<H>>,
    children: Children,
}

impl<H: Handler> Place for ProcessPerConnection<'_, H> {
    fn place(&mut self, stream: TcpStream, peer: SocketAddr) {
        self.children.reap(false);
        while self.children.pids.len() >= self.shared.config.max_children.max(1) {
            self.children.reap(true);
        }
        fork_connection(self.shared, stream, peer, &mut self.children);
    }

    fn tick(&mut self) {
        self.children.reap(false);
    }
}

/// The accept loop of the servers whose connections are not parked (a thread
/// or a process each): waits for the listener, the shutdown waker or the stop
/// descriptor, and hands each accepted connection to `place`.
fn accept_loop<H: Handler>(
    shared: &Arc<Shared<H>>,
    run: Run,
    tick: Option<Duration>,
    place: &mut dyn Place,
) -> io::Result<()> {
    let mut events = [epoll::Event {
        flags: EventFlags::empty(),
        data: EventData::new_u64(0),
    }; 4];
    let timeout = tick.map(|t| Timespec {
        tv_sec: t.as_secs() as i64,
        tv_nsec: i64::from(t.subsec_nanos()),
    });
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = match epoll::wait(&shared.epoll, &mut events[..], timeout.as_ref()) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => 0,
            Err(e) => return Err(e.into()),
        };
        let mut accepted = false;
        for event in &events[..n] {
            match event.data.u64() {
                WAKER => return Ok(()),
                STOP => {
                    shared.begin_shutdown();
                    return Ok(());
                }
                LISTENER => {
                    let backoff = engine::accept_connections(shared, &mut |stream, peer| {
                        accepted = true;
                        place.place(stream, peer);
                    });
                    // This thread only accepts: it may wait here.
                    if let Some(backoff) = backoff {
                        thread::sleep(backoff);
                        engine::arm_listener(shared);
                    }
                }
                _ => {}
            }
        }
        if n == 0 {
            place.tick();
        }
        if accepted && run == Run::OneRequest {
            return Ok(());
        }
    }
}

/// The children of a forking server.
#[derive(Default)]
struct Children {
    pids: std::collections::HashSet<rustix::process::Pid>,
}

impl Children {
    /// Collects exited children; with `block`, waits for at least one.
    fn reap(&mut self, block: bool) {
        use rustix::process::{WaitOptions, waitpid};
        let mut options = if block {
            WaitOptions::empty()
        } else {
            WaitOptions::NOHANG
        };
        while !self.pids.is_empty() {
            match waitpid(None, options) {
                Ok(Some((pid, _status))) => {
                    // A child that crashed (say, abort()) cost only its own
                    // connection; its status needs no action here.
                    self.pids.remove(&pid);
                    options = WaitOptions::NOHANG;
                }
                Ok(None) => return,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => {
                    self.pids.clear(); // ECHILD: none left
                    return;
                }
            }
        }
    }
}

/// Serves one connection in a new process, as Python's `ForkingMixIn`.
fn fork_connection<H: Handler>(
    shared: &Arc<Shared<H>>,
    stream: TcpStream,
    peer: SocketAddr,
    children: &mut Children,
) {
    match crate::sys::fork() {
        Ok(crate::sys::Forked::Child) => {
            let conn = Tracked {
                stream,
                idle: AtomicBool::new(false),
            };
            serve_connection(
                &shared.handler,
                &conn,
                peer,
                &shared.config,
                &shared.stopping,
            );
            drop(conn);
            crate::sys::exit_child(0);
        }
        Ok(crate::sys::Forked::Parent(pid)) => {
            children.pids.insert(pid);
        }
        Err(e) => shared
            .handler
            .log_error(peer, format_args!("cannot fork: {e}")),
    }
    drop(stream);
    engine::closed(shared);
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

/// Starts one more worker thread of the poller, unless it has
/// `max_workers` already.
pub(crate) fn spawn_worker<H: Handler>(shared: &Arc<Shared<H>>) {
    if !shared.sched.full() {
        spawn_thread(shared, "basehttp-worker", |worker| {
            engine::worker_loop(worker, Run::Forever)
        });
    }
}

/// Starts the pool's monitor (see [`sched`](crate::sched)).
fn spawn_monitor<H: Handler>(shared: &Arc<Shared<H>>) {
    spawn_thread(shared, "basehttp-monitor", |shared| {
        shared
            .sched
            .monitor(&shared.stopping, &|| spawn_worker(shared))
    });
}

/// Runs `f` on a thread of its own, counted in `threads` while it runs.
fn spawn_thread<H: Handler>(
    shared: &Arc<Shared<H>>,
    name: &str,
    f: impl FnOnce(&Arc<Shared<H>>) + Send + 'static,
) {
    *lock(&shared.threads) += 1;
    let owned = Arc::clone(shared);
    let spawned = thread::Builder::new().name(name.into()).spawn(move || {
        f(&owned);
        *lock(&owned.threads) -= 1;
        owned.threads_changed.notify_all();
    });
    if spawned.is_err() {
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

/// A [`Server`] with a process per connection: Python's `ForkingMixIn` +
/// `HTTPServer`. Serve it from a single-threaded process, and stop it with
/// [`serve_until`](Server::serve_until) and a signal pipe rather than from
/// another thread.
pub type ForkingHttpServer<H> = Server<H, Forking>;

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
    /// The wait after the last accept error, in milliseconds (0 after a
    /// success), and when the poller re-arms the listener after one.
    pub(crate) accept_backoff_ms: AtomicU64,
    pub(crate) accept_retry: Mutex<Option<Instant>>,
    pub(crate) last_sweep: Mutex<Instant>,
    /// The poller's workers: who polls, who serves, who sleeps.
    pub(crate) sched: Sched,
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

    /// The first half of shutdown, which never waits: stop accepting, wake
    /// every worker, close idle connections.
    pub(crate) fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
        engine::close_parked(self);
        self.close_idle_threads();
        self.sched.wake_all();
        self.threads_changed.notify_all();
    }

    /// Closes the connections whose threads wait for a next request.
    fn close_idle_threads(&self) {
        for conn in lock(&self.tracked).values() {
            if conn.idle.load(Ordering::SeqCst) {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
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
        // Edge-triggered: whoever sees the event accepts until EAGAIN.
        let flags = EventFlags::IN | EventFlags::ET;
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
                accept_backoff_ms: AtomicU64::new(0),
                accept_retry: Mutex::new(None),
                last_sweep: Mutex::new(Instant::now()),
                sched: Sched::new(max_workers),
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
        let result = self.concurrency.serve(&self.shared, Run::Forever);
        self.wait_for_threads();
        *lock(&self.running) = false;
        self.stopped.notify_all();
        result
    }

    /// [`serve_forever`](Server::serve_forever) until `stop` becomes
    /// readable, then shut down gracefully. Made for signals without threads:
    /// register the write end of a pipe or socket pair for SIGINT and SIGTERM
    /// (e.g. with `signal_hook::low_level::pipe::register`) and pass the read
    /// end; the signal handler's one `write` is all that runs in signal
    /// context. The only way to stop a [`ForkingHttpServer`] cleanly, since it
    /// must not run other threads.
    pub fn serve_until(&self, stop: impl AsFd) -> io::Result<()> {
        epoll::add(
            &self.shared.epoll,
            &stop,
            EventData::new_u64(STOP),
            EventFlags::IN,
        )?;
        let result = self.serve_forever();
        let _ = epoll::delete(&self.shared.epoll, &stop);
        result
    }

    /// Waits for one request and answers it (Python's `handle_request`); for
    /// a [`ThreadingHttpServer`], waits for one connection and starts its
    /// thread. Returns early if the server is shut down.
    pub fn handle_request(&self) -> io::Result<()> {
        let _serving = lock(&self.serving);
        self.concurrency.serve(&self.shared, Run::OneRequest)
    }

    /// Stops [`serve_forever`](Server::serve_forever) and returns once it
    /// has returned: no new connections are accepted, idle keep-alive
    /// connections are closed at once, and requests in flight finish (each
    /// connection closes after its response), within
    /// [`ServerConfig::shutdown_timeout`]. Call it from another thread than
    /// the one running `serve_forever`: from a handler of an [`HttpServer`]
    /// it would wait for itself (as in Python).
    pub fn shutdown(&self) {
        self.shared.begin_shutdown();
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
            self.shared.close_idle_threads();
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
