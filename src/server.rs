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
//!
//! Each listens on TCP ([`bind`](Server::bind)), on a Unix domain socket
//! ([`bind_unix`](Server::bind_unix)), or on sockets made elsewhere
//! ([`from_listeners`](Server::from_listeners),
//! [`from_listen_fds`](Server::from_listen_fds)), and serves them all alike.

pub use crate::activation::listen_fds;
pub use crate::config::{
    BODY_BUFFER, BODY_BUFFER_TOTAL, HANDSHAKE_TIMEOUT, HEAD_TIMEOUT, IO_TIMEOUT,
    KEEP_ALIVE_TIMEOUT, MAX_CONNECTIONS, MAX_DRAIN, MAX_THREADS, MIN_DATA_RATE, MinDataRate,
    QUEUE_TIMEOUT, SHUTDOWN_TIMEOUT, ServerConfig, WORKER_IDLE_TIMEOUT,
};
use crate::conn::{Tracked, serve_connection};
use crate::engine::{
    self, LAST_LISTENER, LISTENER, Run, STOP, Shared, WAKER, listener_index, spawn_monitor,
    spawn_worker,
};
use crate::handler::Handler;
use crate::net::{ClientAddress, Stream};
pub use crate::net::{LISTEN_BACKLOG, Listener, ServerAddress};
use crate::sys::lock;
use rustix::event::Timespec;
use rustix::event::epoll::{self, EventData, EventFlags};
use socket2::{Domain, Protocol, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod sealed {
    use crate::engine::{Run, Shared};
    use crate::handler::Handler;
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
    fn place(&mut self, stream: Stream, peer: ClientAddress);
    /// Runs when the loop wakes with nothing to accept.
    fn tick(&mut self) {}
}

struct ThreadPerConnection<'a, H>(&'a Arc<Shared<H>>);

impl<H: Handler> Place for ThreadPerConnection<'_, H> {
    fn place(&mut self, stream: Stream, peer: ClientAddress) {
        spawn_connection_thread(self.0, stream, peer);
    }
}

struct ProcessPerConnection<'a, H> {
    shared: &'a Arc<Shared<H>>,
    children: Children,
}

impl<H: Handler> Place for ProcessPerConnection<'_, H> {
    fn place(&mut self, stream: Stream, peer: ClientAddress) {
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
                token @ LAST_LISTENER..=LISTENER => {
                    let index = listener_index(token);
                    let backoff = engine::accept_connections(shared, index, &mut |stream, peer| {
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
    stream: Stream,
    peer: ClientAddress,
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
    stream: Stream,
    peer: ClientAddress,
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
    /// [`LISTEN_BACKLOG`], and `SO_REUSEPORT` with
    /// [`ServerConfig::reuse_port`]) to the first address of `addr` that works; port 0
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
            match listen(a, config.reuse_port) {
                Ok(listener) => return Self::from_listener(listener, handler, config),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Listens on a Unix domain socket at `path` (a file: the clients are
    /// programs on the same host that may open it, a reverse proxy such as
    /// nginx or HAProxy). Requests see the client as
    /// [`ClientAddress::Unix`], shown `unix` in log lines;
    /// [`local_addr`](Server::local_addr) is the path.
    ///
    /// A file already at `path` is replaced only if it is a stale socket,
    /// one that refuses connections: a socket with a live server behind it
    /// is an `AddrInUse` error, any other file an `AlreadyExists` error,
    /// and either is left untouched (see [`Listener::bind_unix`]).
    ///
    /// The server owns the file it made: it removes it when it is closed
    /// ([`server_close`](Server::server_close), or the server dropped),
    /// unless it handed the socket on to a new copy of the program
    /// ([`drain`](Server::drain)), whose file it is then. (Not as soon as
    /// [`serve_forever`](Server::serve_forever) returns: a restart may be
    /// handing the socket on at that moment.)
    ///
    /// ```
    /// use basehttp::{handler_fn, HttpServer};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use std::sync::Arc;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("hello.sock");
    /// let server = Arc::new(HttpServer::bind_unix(&path, handler_fn(|r| {
    ///     r.send_response(200)?;
    ///     r.end_headers()?;
    ///     write!(r.wfile, "hello, {}", r.client_address)?;
    ///     Ok(())
    /// }))?);
    /// assert_eq!(server.local_addr().unix_path(), Some(path.as_path()));
    /// let running = Arc::clone(&server);
    /// let thread = std::thread::spawn(move || running.serve_forever());
    ///
    /// let mut client = UnixStream::connect(&path)?;
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    /// let mut response = String::new();
    /// client.read_to_string(&mut response)?;
    /// assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
    /// assert!(response.ends_with("\r\n\r\nhello, unix"));
    ///
    /// server.shutdown();
    /// thread.join().unwrap()?;
    /// server.server_close();
    /// // The socket file went with the server.
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_unix(path: impl AsRef<std::path::Path>, handler: H) -> io::Result<Self> {
        Self::bind_unix_with_config(path, handler, ServerConfig::default())
    }

    /// [`bind_unix`](Server::bind_unix) with limits and timeouts of your
    /// own. ([`ServerConfig::reuse_port`] means nothing to a Unix socket.)
    pub fn bind_unix_with_config(
        path: impl AsRef<std::path::Path>,
        handler: H,
        config: ServerConfig,
    ) -> io::Result<Self> {
        Self::from_listener(Listener::bind_unix(path)?, handler, config)
    }

    /// Serves on a listening socket you made yourself (inherited from a
    /// supervisor, or with options of your own): a [`TcpListener`], a
    /// [`UnixListener`](std::os::unix::net::UnixListener) or a
    /// [`Listener`].
    pub fn from_listener(
        listener: impl Into<Listener>,
        handler: H,
        config: ServerConfig,
    ) -> io::Result<Self> {
        Self::from_listeners([listener.into()], handler, config)
    }

    /// Serves on every one of `listeners`, listening sockets you made
    /// yourself or inherited ([`TcpListener`]s,
    /// [`UnixListener`](std::os::unix::net::UnixListener)s or
    /// [`Listener`]s): connections from all of them are served alike.
    /// [`local_addr`](Server::local_addr) is the first one's. An empty list
    /// is an `InvalidInput` error.
    pub fn from_listeners<L: Into<Listener>>(
        listeners: impl IntoIterator<Item = L>,
        handler: H,
        config: ServerConfig,
    ) -> io::Result<Self> {
        let listeners: Vec<Listener> = listeners.into_iter().map(Into::into).collect();
        let concurrency = C::default();
        let max_workers = concurrency.max_workers(&config);
        Ok(Server {
            shared: Arc::new(Shared::new(handler, config, listeners, max_workers)?),
            concurrency,
            running: Mutex::new(false),
            stopped: Condvar::new(),
            serving: Mutex::new(()),
        })
    }

    /// Serves the listening sockets, TCP or Unix, that systemd (or any
    /// launcher that speaks its protocol) passed to this process: see
    /// [`listen_fds`]. A Unix socket's file is systemd's, and stays when
    /// the server stops; unless it was handed on by a restart from a
    /// process that owned it ([`Successor`](crate::activation::Successor)),
    /// and then this server removes it as [`bind_unix`](Server::bind_unix)
    /// would.
    /// A `NotFound` error if there are none, and the error of
    /// [`listen_fds`] if one is unusable.
    ///
    /// ```no_run
    /// use basehttp::{handler_fn, PoolHttpServer, ServerConfig};
    ///
    /// let handler = handler_fn(|r| Ok(r.send_error(404)?));
    /// let server = PoolHttpServer::from_listen_fds(handler, ServerConfig::default())?;
    /// for addr in server.local_addrs() {
    ///     println!("serving on {addr}");
    /// }
    /// server.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listen_fds(handler: H, config: ServerConfig) -> io::Result<Self> {
        let listeners = listen_fds()?;
        if listeners.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no sockets passed by socket activation (LISTEN_PID and LISTEN_FDS)",
            ));
        }
        Self::from_listeners(listeners, handler, config)
    }

    /// The address the server listens on (Python's `server_address`): an
    /// IP address with the real port when bound to port 0, or a Unix
    /// socket's path; with several listeners, the first one's.
    /// `TcpStream::connect(server.local_addr())` connects to a TCP server;
    /// [`ServerAddress::socket_addr`] gives its `SocketAddr`.
    pub fn local_addr(&self) -> &ServerAddress {
        &self.shared.local_addr
    }

    /// The addresses of all the server's listeners, in the order they were
    /// given (one, unless made by [`from_listeners`](Server::from_listeners)
    /// or [`from_listen_fds`](Server::from_listen_fds)).
    pub fn local_addrs(&self) -> &[ServerAddress] {
        &self.shared.local_addrs
    }

    /// The listening sockets, in the order of
    /// [`local_addrs`](Server::local_addrs): to hand on to a new copy of
    /// the program ([`Successor::start`](crate::activation::Successor::start)).
    pub fn listeners(&self) -> &[Listener] {
        &self.shared.listeners
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

    /// Worker threads alive right now: a pool's (its `serve_forever` thread
    /// included), between [`ServerConfig::workers`] once they have all
    /// started and [`ServerConfig::max_workers`]; the sequential server's
    /// one thread while it serves. The threading and forking servers, which
    /// start a thread or process per connection, have none.
    pub fn worker_count(&self) -> usize {
        self.shared.sched.workers.load(Ordering::SeqCst)
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

    /// Hands over to another process that serves the same listening
    /// sockets (a restart, see [`Successor`](crate::activation::Successor)),
    /// then shuts down: accepts no more connections (the listeners leave
    /// this server's poller, and connections still queued wait for the
    /// other process), closes connections idle between requests (once
    /// idle for a second: a client using its connection gets its next
    /// request answered rather than the connection closed under it),
    /// answers each request from now on with `Connection: close`, and once no
    /// connection is left, or after [`ServerConfig::shutdown_timeout`],
    /// does what [`shutdown`](Server::shutdown) does. A connection accepted
    /// but not yet answered is given its first request, so that its client
    /// is never reset. For [`HttpServer`] and [`PoolHttpServer`]; the
    /// others stop accepting and shut down when their connections end.
    /// The Unix socket files the server owns are the other process's now:
    /// they stay.
    pub fn drain(&self) {
        self.shared.release_socket_files(false);
        self.shared.draining.store(true, Ordering::SeqCst);
        for listener in &self.shared.listeners {
            let _ = epoll::delete(&self.shared.epoll, listener);
        }
        let deadline = Instant::now() + self.shared.config.shutdown_timeout;
        // A bounded poll: closing connections signal nothing to wait on,
        // and idle ones are closed as they pass the grace period.
        loop {
            engine::close_idle_served(&self.shared, engine::DRAIN_IDLE_GRACE);
            if self.shared.open.load(Ordering::SeqCst) == 0 || Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        self.shutdown();
    }

    /// Closes the server (Python's `server_close`): shuts it down if need be,
    /// and removes the Unix socket files it owns (see
    /// [`bind_unix`](Server::bind_unix)); so does dropping the server. The
    /// listening socket is released when the server is dropped.
    pub fn server_close(&self) {
        self.shutdown();
        self.wait_for_threads();
        self.shared.release_socket_files(true);
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
        self.shared.wake();
        self.shared.release_socket_files(true);
    }
}

/// A listening socket with `SO_REUSEADDR` and the documented backlog, and
/// `SO_REUSEPORT` if asked ([`ServerConfig::reuse_port`]).
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    let socket =
        socket2::Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Dual-stack where the host allows it; IPv6-only hosts refuse, which is fine.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}
