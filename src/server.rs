//! Servers: a listening socket, a handler, and a way of running connections.
//!
//! [`HttpServer`] serves one connection at a time, as Python's `HTTPServer`
//! does; [`ThreadingHttpServer`] gives each connection its own thread, named
//! `Thread-1`, `Thread-2`, … like Python's `ThreadingMixIn`. Both are
//! [`Server`] with a different [`Concurrency`]: the one swappable piece, as
//! `socketserver.process_request` is in Python. Handlers never see which one
//! runs them.

use crate::conn::{Tracked, serve_connection};
use crate::handler::Handler;
use crate::proto::Limits;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// Pending connections the kernel queues before `accept`: 1024, as
/// INTERFACE.md documents (Python's `request_queue_size` is 5, which drops
/// connections under any burst).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Default cap on the threads of a [`ThreadingHttpServer`]: 1024 connections
/// at once; further connections wait in the listen queue until one ends.
pub const MAX_THREADS: usize = 1024;

/// Default read and write timeout of a connection: 60 seconds.
///
/// It bounds how long a connection may sit idle between requests, how long a
/// client may take between bytes of its head or body, and how long a write may
/// block on a client that does not read.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Default bound on the unread part of a request body that the server reads
/// and discards to keep the connection for the next request: 64 KiB. A larger
/// remainder closes the connection instead.
pub const MAX_DRAIN: u64 = 64 * 1024;

/// The server's limits and timeouts: plain fields with safe defaults
/// ([`ServerConfig::default`]).
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
    /// Socket read timeout: idle time between requests, and the longest wait
    /// for any byte of a request. `None` waits forever. Default
    /// [`IO_TIMEOUT`]. A client that stops partway through its head gets 408.
    pub read_timeout: Option<Duration>,
    /// Socket write timeout: the longest a write may block on a client that
    /// does not read. `None` waits forever. Default [`IO_TIMEOUT`].
    pub write_timeout: Option<Duration>,
    /// Most connections served at once by a [`ThreadingHttpServer`] (one
    /// thread each). Default [`MAX_THREADS`]. Ignored by [`HttpServer`].
    pub max_threads: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            max_body_size: None,
            response_buffer: crate::wfile::RESPONSE_BUFFER,
            max_drain: MAX_DRAIN,
            read_timeout: Some(IO_TIMEOUT),
            write_timeout: Some(IO_TIMEOUT),
            max_threads: MAX_THREADS,
        }
    }
}

mod sealed {
    use super::Shared;
    use crate::Handler;
    use std::net::{SocketAddr, TcpStream};
    use std::sync::Arc;

    /// The scheduling decision of a [`Concurrency`](super::Concurrency).
    pub trait Sealed: Default + Send + Sync + 'static {
        /// Runs one accepted connection.
        fn process_connection<H: Handler>(
            &self,
            shared: &Arc<Shared<H>>,
            stream: TcpStream,
            peer: SocketAddr,
        );
    }
}

/// How a [`Server`] runs its connections: [`Sequential`] or [`Threading`].
/// Sealed; the connection-model work adds a pool and forking.
pub trait Concurrency: sealed::Sealed {}

/// One connection at a time, on the thread that calls `serve_forever`
/// (Python's `HTTPServer`). Simple and predictable; a slow client delays the
/// others.
#[derive(Debug, Default)]
pub struct Sequential;

/// A thread per connection, named `Thread-N` (Python's `ThreadingMixIn`),
/// at most [`ServerConfig::max_threads`] at once.
#[derive(Debug, Default)]
pub struct Threading;

impl Concurrency for Sequential {}
impl Concurrency for Threading {}

impl sealed::Sealed for Sequential {
    fn process_connection<H: Handler>(
        &self,
        shared: &Arc<Shared<H>>,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        shared.serve(stream, peer);
    }
}

impl sealed::Sealed for Threading {
    fn process_connection<H: Handler>(
        &self,
        shared: &Arc<Shared<H>>,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        {
            let mut active = lock(&shared.threads);
            while *active >= shared.config.max_threads.max(1) {
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
                worker.serve(stream, peer);
                *lock(&worker.threads) -= 1;
                worker.threads_changed.notify_all();
            });
        if let Err(e) = spawned {
            *lock(&shared.threads) -= 1;
            shared
                .handler
                .log_error(peer, format_args!("cannot start a thread: {e}"));
        }
    }
}

/// A [`Server`] that serves one connection at a time: Python's `HTTPServer`.
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

/// A [`Server`] with a thread per connection: Python's
/// `ThreadingHTTPServer` (`ThreadingMixIn` + `HTTPServer`).
pub type ThreadingHttpServer<H> = Server<H, Threading>;

/// The state shared by the accept loop and the connections.
#[doc(hidden)]
pub struct Shared<H> {
    handler: H,
    config: ServerConfig,
    stopping: AtomicBool,
    conns: Mutex<HashMap<u64, Arc<Tracked>>>,
    next_conn: AtomicU64,
    thread_names: AtomicU64,
    threads: Mutex<usize>,
    threads_changed: Condvar,
}

impl<H: Handler> Shared<H> {
    /// Serves one connection, tracked so that shutdown can close it while idle.
    fn serve(&self, stream: TcpStream, peer: SocketAddr) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Tracked {
            stream,
            idle: AtomicBool::new(false),
        });
        lock(&self.conns).insert(id, Arc::clone(&conn));
        serve_connection(&self.handler, &conn, peer, &self.config, &self.stopping);
        lock(&self.conns).remove(&id);
    }
}

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// An HTTP server: a listening socket, a handler, and a [`Concurrency`].
/// Use it through [`HttpServer`] or [`ThreadingHttpServer`].
///
/// Every method takes `&self`, so a server in an [`Arc`] can be shut down
/// from another thread while one runs [`serve_forever`](Server::serve_forever).
pub struct Server<H, C> {
    listener: TcpListener,
    local_addr: SocketAddr,
    poll: Mutex<Poll>,
    waker: Waker,
    shared: Arc<Shared<H>>,
    concurrency: C,
    running: Mutex<bool>,
    stopped: Condvar,
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
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        )?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        Ok(Server {
            listener,
            local_addr,
            poll: Mutex::new(poll),
            waker,
            shared: Arc::new(Shared {
                handler,
                config,
                stopping: AtomicBool::new(false),
                conns: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(0),
                thread_names: AtomicU64::new(0),
                threads: Mutex::new(0),
                threads_changed: Condvar::new(),
            }),
            concurrency: C::default(),
            running: Mutex::new(false),
            stopped: Condvar::new(),
        })
    }

    /// The address the server listens on, with the real port when bound to
    /// port 0 (Python's `server_address`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// The limits and timeouts in force.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Accepts and serves connections until [`shutdown`](Server::shutdown)
    /// is called, from another thread or from a signal handler's thread.
    /// Returns at once if the server was already shut down.
    pub fn serve_forever(&self) -> io::Result<()> {
        let mut poll = lock(&self.poll);
        *lock(&self.running) = true;
        let result = self.accept_loop(&mut poll, false);
        *lock(&self.running) = false;
        self.stopped.notify_all();
        result
    }

    /// Waits for one connection and serves it (Python's `handle_request`):
    /// all of its requests for [`HttpServer`], or by starting its thread for
    /// [`ThreadingHttpServer`]. Returns early if the server is shut down.
    pub fn handle_request(&self) -> io::Result<()> {
        let mut poll = lock(&self.poll);
        self.accept_loop(&mut poll, true)
    }

    /// Stops [`serve_forever`](Server::serve_forever) and returns once its loop
    /// has ended: no new connections are accepted, idle keep-alive connections
    /// are closed, and requests in progress finish. Call it from another
    /// thread than the one running `serve_forever` for an [`HttpServer`]
    /// (from its own handler it would wait for itself, as in Python).
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        self.close_idle_connections();
        let mut running = lock(&self.running);
        while *running {
            running = self
                .stopped
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Closes the server (Python's `server_close`): shuts it down if need be,
    /// then waits until every connection has ended. The listening socket is
    /// released when the server is dropped.
    pub fn server_close(&self) {
        self.shutdown();
        let mut active = lock(&self.shared.threads);
        while *active > 0 {
            self.close_idle_connections();
            let (guard, _) = self
                .shared
                .threads_changed
                .wait_timeout(active, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner());
            active = guard;
        }
    }

    fn close_idle_connections(&self) {
        for conn in lock(&self.shared.conns).values() {
            if conn.idle.load(Ordering::SeqCst) {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
    }

    fn accept_loop(&self, poll: &mut Poll, once: bool) -> io::Result<()> {
        let mut events = Events::with_capacity(8);
        let mut backoff = Duration::ZERO;
        loop {
            if self.shared.stopping.load(Ordering::SeqCst) {
                return Ok(());
            }
            match poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            loop {
                if self.shared.stopping.load(Ordering::SeqCst) {
                    return Ok(());
                }
                match self.listener.accept() {
                    Ok((stream, peer)) => {
                        backoff = Duration::ZERO;
                        self.concurrency
                            .process_connection(&self.shared, stream, peer);
                        if once {
                            return Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if is_connection_error(&e) => {}
                    Err(e) => {
                        // Out of file descriptors or memory: wait and retry,
                        // as Go's Server does, rather than spin or die.
                        backoff =
                            (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                        self.shared.handler.log_error(
                            self.local_addr,
                            format_args!("accept failed: {e}; retrying in {backoff:?}"),
                        );
                        thread::sleep(backoff);
                    }
                }
            }
        }
    }
}

impl<H, C> Drop for Server<H, C> {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
    }
}

/// Errors that concern one connection that died in the queue, not the
/// listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::PermissionDenied
    )
}

/// A listening socket with `SO_REUSEADDR` and the documented backlog.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
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
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
