//! `ServerConfig`: the server's limits and timeouts, and their defaults.
//!
//! Every knob is a plain field with a safe default, in the manner of Go's
//! `http.Server`: it says what it bounds, what it does not, its default, and
//! what `None` means. The defaults are named constants beside the reasons
//! for their values.

use crate::net::ClientAddress;
use crate::proto::Limits;
pub use crate::proto::{ForwardedHeader, TrustedProxy};
use std::net::IpAddr;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Default size up to which a response body is buffered, so that it can be
/// sent with a computed `Content-Length`: 16 KiB.
///
/// Larger bodies stream (chunked, or close-delimited for HTTP/1.0 clients);
/// the buffer is per connection and reused, so this bounds the memory one
/// response costs. [`ServerConfig::response_buffer`]
/// changes it.
pub const RESPONSE_BUFFER: usize = 16 * 1024;

/// What [`ServerConfig::tls`] holds: rustls's server configuration, shared.
///
/// Without the `tls` cargo feature this type has no values (the field keeps
/// its place, and is always `None`).
#[cfg(feature = "tls")]
pub type TlsConfig = Arc<rustls::ServerConfig>;

/// What [`ServerConfig::tls`] holds. This build has no `tls` cargo feature,
/// so the type has no values and the field is always `None`.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Debug)]
pub enum TlsConfig {}

/// Default cap on the threads of a [`ThreadingHttpServer`](crate::server::ThreadingHttpServer): 1024 connections
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

/// Default time a pool worker beyond [`ServerConfig::workers`] may sleep
/// unused before it ends: 10 seconds. Long enough that a burst followed by
/// another soon after finds its threads still there; short enough that the
/// threads (and their 2 MiB stacks) of a one-off burst are given back.
pub const WORKER_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bytes of a request body read ahead in the poller before a worker
/// runs the handler: 128 KiB (Puma keeps 112 KiB in memory). A form that
/// dribbles in slowly then costs a parked connection, not a thread.
pub const BODY_BUFFER: usize = 128 * 1024;

/// Default total of request-body bytes held by parked connections at once:
/// 32 MiB, 256 full [`BODY_BUFFER`]s. Past it, connections that want to read
/// ahead wait, unread, until others have gone to a worker.
pub const BODY_BUFFER_TOTAL: usize = 32 * 1024 * 1024;

/// Default minimum data rate of request bodies and responses: 240 bytes/s
/// once 5 s have passed (Kestrel's defaults; Apache's `mod_reqtimeout` is
/// comparable).
pub const MIN_DATA_RATE: MinDataRate = MinDataRate {
    bytes_per_second: 240,
    grace: Duration::from_secs(5),
};

/// Default longest wait of a ready request for a worker while the pool is
/// at [`ServerConfig::max_workers`]: 500 ms, then `503 Service Unavailable`.
/// Jetty's QoS filter waits 50 ms; ours waits longer because a request that
/// waits here has already been read, and a pool that is full of blocked
/// handlers often frees a worker within a few hundred milliseconds, while a
/// client told to retry (`Retry-After: 1`) loses a second.
pub const QUEUE_TIMEOUT: Duration = Duration::from_millis(500);

/// A minimum data rate: after `grace`, a client must have moved at least
/// `bytes_per_second` bytes for every second the server has waited on it.
///
/// Only time spent waiting for the client counts: a handler that reads its
/// body slowly, or streams a response with pauses of its own, is never cut
/// off. The check is `waited <= max(grace, bytes / bytes_per_second)`, so a
/// slow start within the grace period is forgiven, and a client that sent
/// a lot early may pause for longer later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinDataRate {
    /// Bytes per second the client must sustain. Zero disables the rate
    /// (only the grace period is then a bound on waiting).
    pub bytes_per_second: u64,
    /// Waiting forgiven before the rate applies.
    pub grace: Duration,
}

impl MinDataRate {
    /// How long the server may have waited on a client that has moved
    /// `bytes` bytes: `max(grace, bytes / rate)`.
    pub fn allowed_wait(&self, bytes: u64) -> Duration {
        let earned = match self.bytes_per_second {
            0 => Duration::MAX,
            rate => {
                let nanos = (bytes % rate) as u128 * 1_000_000_000 / rate as u128;
                Duration::new(bytes / rate, nanos as u32)
            }
        };
        earned.max(self.grace)
    }
}

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
    /// [`RESPONSE_BUFFER`] (16 KiB).
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
    /// With [`proxy_protocol`](ServerConfig::proxy_protocol), also the time
    /// a new connection has to send its whole PROXY header (past it: closed
    /// unanswered). `None` waits forever. Default [`HEAD_TIMEOUT`].
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
    /// Worker threads a [`PoolHttpServer`](crate::server::PoolHttpServer) starts with, and keeps. Default:
    /// twice the number of CPUs. Only as many as there are CPUs are awake
    /// at once while handlers run quickly; the rest sleep until needed.
    /// Ignored by the other servers.
    pub workers: usize,
    /// Most worker threads of a [`PoolHttpServer`](crate::server::PoolHttpServer). When handlers block
    /// (a worker stays in one request over three looks of the pool's
    /// monitor, 1 to 8 ms apart, mostly neither running nor waiting for a
    /// CPU) and work waits, a sleeping worker is woken or a new one started,
    /// up to this bound; past it, ready connections wait their turn. Workers
    /// beyond [`workers`](ServerConfig::workers) end after
    /// [`worker_idle_timeout`](ServerConfig::worker_idle_timeout) unused.
    /// Default: 32 per CPU.
    pub max_workers: usize,
    /// How long a [`PoolHttpServer`](crate::server::PoolHttpServer) worker
    /// beyond [`workers`](ServerConfig::workers) may sleep unused before it
    /// ends. It bounds how long the threads of a burst outlive it, not the
    /// pool's size (which `workers` and `max_workers` bound); the thread
    /// that runs `serve_forever` never ends this way. Default
    /// [`WORKER_IDLE_TIMEOUT`].
    pub worker_idle_timeout: Duration,
    /// Most connections served at once by a [`ThreadingHttpServer`](crate::server::ThreadingHttpServer) (one
    /// thread each). Default [`MAX_THREADS`]. Ignored by the others.
    pub max_threads: usize,
    /// Most child processes of a [`ForkingHttpServer`](crate::server::ForkingHttpServer) at once; past it the
    /// server waits for one to exit before accepting. Default 40, as
    /// Python's `ForkingMixIn.max_children`. Ignored by the others.
    pub max_children: usize,
    /// Serve HTTPS with this TLS configuration (see the `tls` module's
    /// `load_server_config`); `None`,
    /// the default, serves plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Time a new HTTPS connection has to complete its TLS handshake and
    /// start its first request; past it the connection closes. Default
    /// [`HANDSHAKE_TIMEOUT`]. Ignored without [`tls`](ServerConfig::tls).
    pub handshake_timeout: Option<Duration>,
    /// Request-body bytes read ahead in the poller: a request whose body
    /// (or this much of it) has not arrived stays parked, read without
    /// blocking as its bytes come, and a worker runs the handler only once
    /// they are here; the handler reads them first and streams the rest.
    /// A request with `Expect: 100-continue` is never read ahead (its
    /// client waits for the handler's decision). 0 turns reading ahead off.
    /// Default [`BODY_BUFFER`].
    pub body_buffer: usize,
    /// Most request-body bytes held by all parked connections together;
    /// past it, a connection that wants to read ahead waits, unread, until
    /// others have gone to a worker. Default [`BODY_BUFFER_TOTAL`].
    pub body_buffer_total: usize,
    /// Slowest a request body may arrive, in the poller and in the
    /// handler's `rfile` reads alike: a client below it gets 408 and the
    /// connection closes. `None` turns the check off (the read timeout
    /// still applies). Default [`MIN_DATA_RATE`].
    pub min_body_rate: Option<MinDataRate>,
    /// Slowest a client may read a response: below it the response is cut
    /// off and the connection closes. `None` turns the check off (the
    /// write timeout still applies). Default [`MIN_DATA_RATE`].
    pub min_response_rate: Option<MinDataRate>,
    /// Longest a ready request waits for a worker while a
    /// [`PoolHttpServer`](crate::server::PoolHttpServer) is at
    /// [`max_workers`](ServerConfig::max_workers) with every worker busy;
    /// past it the request is answered `503 Service Unavailable` with
    /// `Retry-After: 1` and the connection closes (and it is logged).
    /// `None` lets requests wait. Ignored by the other servers. Default
    /// [`QUEUE_TIMEOUT`].
    pub queue_timeout: Option<Duration>,
    /// Whether every connection starts with a PROXY protocol header
    /// (version 1 or 2, as HAProxy's `send-proxy`/`send-proxy-v2` and
    /// nginx's `proxy_protocol` send it), before any TLS byte. Its source
    /// address becomes each request's
    /// [`client_address`](crate::Request::client_address) and the log
    /// lines' (a `LOCAL` or `UNKNOWN` header: the socket's peer);
    /// [`peer_address`](crate::Request::peer_address) keeps the socket's.
    /// The header is awaited in the poller, holding no worker, for at most
    /// [`head_timeout`](ServerConfig::head_timeout) from the accept; a
    /// missing, malformed, slow or truncated header closes the connection
    /// unanswered.
    ///
    /// Only turn it on behind a proxy that sends the header on every
    /// connection: anyone who can reach the port directly chooses the
    /// address they are logged as by sending a header of their own.
    ///
    /// Default `false`: no header is expected, and one sent is a bad
    /// request.
    pub proxy_protocol: bool,
    /// The proxies whose word on the client's address is believed:
    /// networks (`"10.0.0.0/8".parse()`), or [`TrustedProxy::Unix`].
    ///
    /// When a request's peer is in one of them, its
    /// [`client_address`](crate::Request::client_address) is taken from
    /// the [`forwarded_header`](ServerConfig::forwarded_header): all its
    /// field lines, walked right to left, skipping addresses that are
    /// trusted proxies too; the first that is not is the client (the
    /// left-most if all are). An entry that is not an address (`unknown`,
    /// an obfuscated name, a malformed entry) ends the walk, and the peer's
    /// own address is used. The port shown is always the peer's: forwarded
    /// ports are not believed. [`peer_address`](crate::Request::peer_address)
    /// keeps the socket's.
    ///
    /// With [`proxy_protocol`](ServerConfig::proxy_protocol), PROXY headers
    /// are accepted only from these networks (other connections are closed
    /// unanswered), and the address a PROXY header carries is the peer for
    /// the walk: the forwarded header is read only if that address is a
    /// trusted proxy too (an HTTP proxy behind a TCP one). So with one
    /// proxy in front, the PROXY header wins, and a client's own
    /// `X-Forwarded-For` changes nothing.
    ///
    /// Default: empty, no proxy is trusted and no forwarded header read.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// The one header that [`trusted_proxies`](ServerConfig::trusted_proxies)
    /// name the client in: [`ForwardedHeader::XForwardedFor`] (the
    /// default) or RFC 7239's [`ForwardedHeader::Forwarded`]. The other is
    /// never read: nginx and HAProxy pass a client's own `Forwarded`
    /// through untouched while appending to `X-Forwarded-For`, so reading
    /// both would let a client choose. Ignored without trusted proxies.
    pub forwarded_header: ForwardedHeader,
    /// Whether [`Server::bind`](crate::server::Server::bind) and
    /// [`bind_with_config`](crate::server::Server::bind_with_config) set
    /// `SO_REUSEPORT` on the listening socket, so that several processes
    /// (or servers) may listen on one address and port at once, the kernel
    /// spreading new connections among them: copies of a server behind
    /// one port, or a new copy started before the old one stops. Every
    /// socket on the port must set it, and on Linux be owned by the same
    /// user. It does not apply to a listener passed to
    /// [`from_listener`](crate::server::Server::from_listener). Default
    /// `false`: binding a port already in use fails.
    pub reuse_port: bool,
    /// How long [`Server::shutdown`](crate::server::Server::shutdown) lets requests in flight finish before
    /// `serve_forever` returns anyway. Default [`SHUTDOWN_TIMEOUT`].
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        ServerConfig {
            limits: Limits::default(),
            max_body_size: None,
            response_buffer: RESPONSE_BUFFER,
            max_drain: MAX_DRAIN,
            keep_alive_timeout: Some(KEEP_ALIVE_TIMEOUT),
            head_timeout: Some(HEAD_TIMEOUT),
            read_timeout: Some(IO_TIMEOUT),
            write_timeout: Some(IO_TIMEOUT),
            max_connections: MAX_CONNECTIONS,
            workers: 2 * cpus,
            max_workers: 32 * cpus,
            worker_idle_timeout: WORKER_IDLE_TIMEOUT,
            max_threads: MAX_THREADS,
            max_children: 40,
            body_buffer: BODY_BUFFER,
            body_buffer_total: BODY_BUFFER_TOTAL,
            min_body_rate: Some(MIN_DATA_RATE),
            min_response_rate: Some(MIN_DATA_RATE),
            queue_timeout: Some(QUEUE_TIMEOUT),
            tls: None,
            handshake_timeout: Some(HANDSHAKE_TIMEOUT),
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            proxy_protocol: false,
            reuse_port: false,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
        }
    }
}

impl ServerConfig {
    /// Whether `ip` is one of the [`trusted_proxies`](ServerConfig::trusted_proxies).
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|t| t.contains(ip))
    }

    /// Whether the socket peer `peer` is one of the
    /// [`trusted_proxies`](ServerConfig::trusted_proxies): by its IP
    /// address, or, on a Unix domain socket, if [`TrustedProxy::Unix`] is.
    pub(crate) fn trusts_peer(&self, peer: ClientAddress) -> bool {
        match peer.ip() {
            Some(ip) => self.trusts(ip),
            None => self.trusted_proxies.contains(&TrustedProxy::Unix),
        }
    }
}
