//! One connection's life: read a request head, run the handler, finish the
//! response, and either wait for the next request or close.
//!
//! ```text
//!            +-------- keep-alive ---------+
//!            v                             |
//!  new --> idle --(head complete)--> active --(close)--> closed
//!            |                             ^
//!            +--(EOF, timeout, error)------+--> closed
//! ```
//!
//! A connection is *idle* while it waits for the first byte of its next head
//! with nothing buffered; that is the only state in which graceful shutdown
//! may close it. Protocol errors become one response each, through
//! [`ProtoError::status`], after which the connection closes.

use crate::config::ServerConfig;
use crate::handler::{ErrorDetails, Handler, Headers, Request};
use crate::net::{ClientAddress, Stream};
use crate::proto::Limits;
use crate::proto::{
    BodyFraming, Chunk, HeadScanner, HeaderSpan, MAX_PROXY_HEADER, ProtoError, ProxyError,
    ProxyHeader, ProxyParse, forwarded_client, parse_head, parse_proxy_header,
};
use crate::rfile::{BodyState, Continue, Rfile};
use crate::tls::{self, TlsSocket};
use crate::transport::{ReadBuf, Socket, Transport, write_all_vectored};
use crate::wfile::Wfile;
use http::{StatusCode, Version};
use std::any::Any;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most bytes read and thrown away while closing a connection whose client
/// may still be sending (an unread body): 256 KiB. Closing a socket with
/// unread input makes the kernel send RST, which can destroy the response the
/// client has not read yet; reading a little first avoids that (Go's
/// `closeWriteAndWait` does the same).
const LINGER_BYTES: usize = 256 * 1024;

/// How long a closing connection waits for its client to stop sending.
const LINGER_TIME: Duration = Duration::from_millis(500);

/// The buffers of one connection, reused from request to request.
pub(crate) struct ConnBuffers {
    pub(crate) read: ReadBuf,
    head: Vec<u8>,
    spans: Vec<HeaderSpan>,
    out_head: Vec<u8>,
    out_body: Vec<u8>,
    /// Finished responses to pipelined requests, written together once no
    /// further request is buffered (see [`Wfile`]'s `gather`).
    pub(crate) pending: Vec<u8>,
}

impl ConnBuffers {
    pub(crate) fn new() -> Self {
        ConnBuffers {
            read: ReadBuf::new(),
            head: Vec::with_capacity(1024),
            spans: Vec::with_capacity(16),
            out_head: Vec::with_capacity(256),
            out_body: Vec::new(),
            pending: Vec::new(),
        }
    }
}

/// A connection as the server tracks it, so that graceful shutdown can close
/// the idle ones.
pub(crate) struct Tracked {
    pub(crate) stream: Stream,
    pub(crate) idle: AtomicBool,
}

/// What happens after a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    KeepAlive,
    Close,
    /// Close, but the client may still be sending: linger first.
    CloseLingering,
    /// The head is here but not enough of its body: nothing was consumed
    /// or answered. Read ahead until this many bytes (head included) are
    /// buffered, without a worker, then serve the request again.
    ReadAhead(usize),
}

/// Whom a connection serves: the client's address as requests see it
/// ([`Request::client_address`]: the PROXY header's source, or a trusted
/// proxy's forwarded address), and the socket's peer
/// ([`Request::peer_address`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Addresses {
    pub(crate) client: ClientAddress,
    pub(crate) peer: ClientAddress,
}

/// Reads the PROXY protocol header that starts a connection, and not one
/// byte more, so that what follows (TLS records, or the first request) is
/// left in the socket for the layers above: it peeks, parses, and consumes
/// exactly the header's bytes, or, while the header is incomplete, every
/// byte peeked (all of them belong to it), keeping them in `partial`.
///
/// On a non-blocking `socket` (the poller's), `WouldBlock` means "wait for
/// more bytes", with `partial` kept for the next call; a blocking one waits
/// up to its read timeout and deadline. A malformed header is
/// `InvalidData`; a connection closed before the header's end is
/// `UnexpectedEof`.
pub(crate) fn read_proxy_header(
    socket: &Socket<'_>,
    partial: &mut Vec<u8>,
) -> io::Result<ProxyHeader> {
    let mut peeked = [0u8; MAX_PROXY_HEADER];
    loop {
        let room = MAX_PROXY_HEADER - partial.len();
        let n = match socket.stream.peek(&mut peeked[..room]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                socket.wait_readable()?;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let before = partial.len();
        // (A header split across reads is rare: only then are bytes copied.)
        let parsed = if before == 0 {
            parse_proxy_header(&peeked[..n])
        } else {
            partial.extend_from_slice(&peeked[..n]);
            let parsed = parse_proxy_header(partial);
            partial.truncate(before);
            parsed
        };
        let invalid = |e: ProxyError| io::Error::new(io::ErrorKind::InvalidData, e);
        match parsed.map_err(invalid)? {
            ProxyParse::Complete(header, len) => {
                consume(socket.stream, len - before)?;
                partial.clear();
                return Ok(header);
            }
            ProxyParse::Partial => {
                consume(socket.stream, n)?;
                partial.extend_from_slice(&peeked[..n]);
            }
        }
    }
}

/// Most bytes read and dropped when a connection without a valid PROXY
/// header is closed: 64 KiB, more than a client sends before it waits for
/// an answer.
const UNANSWERED_DRAIN: usize = 64 * 1024;

/// Reads and drops what the client has sent (without waiting, up to
/// [`UNANSWERED_DRAIN`] bytes) before a connection is closed unanswered, so
/// that the close is a FIN rather than the RST of a socket closed unread.
pub(crate) fn drain_unanswered(stream: &Stream) {
    let mut scratch = [0u8; 4096];
    let mut total = 0;
    while total < UNANSWERED_DRAIN {
        match Transport::read(stream, &mut scratch) {
            Ok(n) if n > 0 => total += n,
            _ => return,
        }
    }
}

/// Reads and drops `n` bytes known to be in the socket's receive queue.
fn consume(stream: &Stream, mut n: usize) -> io::Result<()> {
    let mut scratch = [0u8; 512];
    while n > 0 {
        let want = n.min(scratch.len());
        match Transport::read(stream, &mut scratch[..want]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(got) => n -= got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Why no request head could be read.
pub(crate) enum HeadError {
    /// The head broke a rule or a limit: answer with its status.
    Proto(ProtoError),
    /// The client stopped sending partway through a head.
    Timeout,
    /// The body read ahead arrived below the minimum rate.
    SlowBody,
    /// The request waited for a worker past the queue timeout.
    Overloaded,
    /// The connection ended or failed: close without a word.
    Gone,
    /// A non-blocking read found no more bytes yet: park the connection.
    WouldBlock,
}

/// Serves every request on one connection from its own thread, then closes
/// it: the thread-per-connection model (`ThreadingHttpServer`). The thread
/// waits for each next request up to the keep-alive timeout.
pub(crate) fn serve_connection(
    handler: &dyn Handler,
    conn: &Tracked,
    peer: ClientAddress,
    config: &ServerConfig,
    stopping: &AtomicBool,
) {
    let stream = &conn.stream;
    let socket = Socket::new(stream, config.keep_alive_timeout, config.write_timeout);
    socket.set_response_rate(config.min_response_rate);
    let mut addrs = Addresses { client: peer, peer };
    if config.proxy_protocol {
        // Before anything else, TLS included, within the head timeout; a
        // missing, malformed or slow header closes the connection unanswered.
        socket.read_timeout.set(config.head_timeout);
        socket
            .read_deadline
            .set(config.head_timeout.map(|t| Instant::now() + t));
        match read_proxy_header(&socket, &mut Vec::new()) {
            Ok(header) => addrs.client = header.source().map_or(peer, ClientAddress::Tcp),
            Err(_) => return drain_unanswered(stream),
        }
        socket.read_deadline.set(None);
    }
    let mut session = match &config.tls {
        Some(tls) => match tls::new_session(tls) {
            Some(session) => Some(session),
            None => return,
        },
        None => None,
    };
    // A new TLS connection has the handshake timeout to finish its
    // handshake and start a request.
    if session.is_some() {
        socket
            .read_deadline
            .set(config.handshake_timeout.map(|t| Instant::now() + t));
    }
    let tls;
    let io: &dyn Transport = match session.as_mut() {
        Some(session) => {
            tls = TlsSocket::new(&socket, session);
            &tls
        }
        None => &socket,
    };
    let mut bufs = ConnBuffers::new();
    let next = loop {
        if bufs.read.available().is_empty() {
            // Idle: the one state in which shutdown may close us.
            conn.idle.store(true, Ordering::SeqCst);
            if stopping.load(Ordering::SeqCst) {
                break Next::Close;
            }
        }
        socket.read_timeout.set(config.keep_alive_timeout);
        let mut first_bytes = || {
            conn.idle.store(false, Ordering::SeqCst);
            socket.read_timeout.set(config.head_timeout);
            socket
                .read_deadline
                .set(config.head_timeout.map(|t| Instant::now() + t));
        };
        let head = read_head(io, &mut bufs.read, &config.limits, &mut first_bytes);
        // (A head that arrived whole never called `first_bytes`.)
        conn.idle.store(false, Ordering::SeqCst);
        socket.read_timeout.set(config.read_timeout);
        socket.read_deadline.set(None);
        let next = match head {
            Ok(Some(extent)) => {
                let serving = Serving {
                    read_ahead: false,
                    closing: false,
                };
                serve_request(handler, io, addrs, config, &mut bufs, extent, serving)
            }
            Ok(None) => Next::Close,
            Err(e) => respond_to_head_error(handler, io, addrs, config, &mut bufs, e),
        };
        if next != Next::KeepAlive {
            break next;
        }
        // Responses held back for a buffered request go out with its own.
        if stopping.load(Ordering::SeqCst) && bufs.pending.is_empty() {
            break Next::Close;
        }
    };
    conn.idle.store(false, Ordering::SeqCst);
    if next == Next::CloseLingering {
        linger(stream);
    }
}

/// Half-closes, then reads and discards for a moment, so that the client
/// reads our response before it sees the connection reset.
pub(crate) fn linger(stream: &Stream) {
    let _ = stream.shutdown(Shutdown::Write);
    let io = Socket::new(stream, Some(LINGER_TIME), None);
    io.read_deadline.set(Some(Instant::now() + LINGER_TIME));
    let mut scratch = [0u8; 8192];
    let mut total = 0;
    while total < LINGER_BYTES {
        match io.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Answers a head that failed to arrive: 408 for a client that stalled
/// mid-head, the error's status for a broken head, silence otherwise.
pub(crate) fn respond_to_head_error(
    handler: &dyn Handler,
    io: &dyn Transport,
    addrs: Addresses,
    config: &ServerConfig,
    bufs: &mut ConnBuffers,
    error: HeadError,
) -> Next {
    respond_to_request_error(handler, io, addrs, config, bufs, "", error)
}

/// How [`serve_request`] serves a request.
#[derive(Clone, Copy)]
pub(crate) struct Serving {
    /// A poller's connection: a request whose body has not arrived (up to
    /// [`ServerConfig::body_buffer`]) is not served but answered
    /// [`Next::ReadAhead`].
    pub(crate) read_ahead: bool,
    /// The server hands over to a new process: the response says
    /// `Connection: close` and the connection ends.
    pub(crate) closing: bool,
}

/// Answers the request whose head is `extent` of the buffered bytes, as
/// found by [`read_head`], as `serving` says.
pub(crate) fn serve_request(
    handler: &dyn Handler,
    io: &dyn Transport,
    addrs: Addresses,
    config: &ServerConfig,
    bufs: &mut ConnBuffers,
    (start, end): (usize, usize),
    serving: Serving,
) -> Next {
    bufs.head.clear();
    bufs.head
        .extend_from_slice(&bufs.read.available()[start..end]);
    let head = match parse_head(&bufs.head, &mut bufs.spans, &config.limits) {
        Ok(head) => head,
        Err(e) => {
            let line = first_line(&bufs.head).to_owned();
            return respond_to_request_error(
                handler,
                io,
                addrs,
                config,
                bufs,
                &line,
                HeadError::Proto(e),
            );
        }
    };
    let body = match head.body {
        BodyFraming::Length(n) if config.max_body_size.is_some_and(|max| n > max) => {
            let line = head.request_line.to_owned();
            let e = HeadError::Proto(ProtoError::BodyTooLarge);
            return respond_to_request_error(handler, io, addrs, config, bufs, &line, e);
        }
        BodyFraming::Length(n) => BodyState::Length(n),
        BodyFraming::Chunked => BodyState::Chunked(Default::default()),
    };
    let has_body = !matches!(body, BodyState::Length(0));
    // A client that waits for 100 Continue sends nothing to read ahead.
    if serving.read_ahead && has_body && !head.expect_continue {
        let buffered = &bufs.read.available()[end..];
        if let Some(want) = read_ahead_wanted(&body, buffered, config.body_buffer) {
            return Next::ReadAhead(end + want);
        }
    }
    // One predictable branch when no proxy is trusted (the default).
    let client = if config.trusted_proxies.is_empty() {
        addrs.client
    } else {
        forwarded_address(config, &bufs.head, &bufs.spans, addrs.client)
    };
    bufs.read.consume(end);
    // The body's rate holds while it is read (and drained), then ends:
    // waiting for the next request is the keep-alive timeout's business.
    // The response rate is the socket's, set when it was made.
    if has_body {
        io.set_body_rate(config.min_body_rate);
    }
    let expect = if head.expect_continue && has_body {
        Continue::Pending
    } else {
        Continue::NotNeeded
    };
    let protocol = handler.protocol_version();
    let mut wfile = Wfile::new(
        io,
        &mut bufs.out_head,
        &mut bufs.out_body,
        &mut bufs.pending,
        config.response_buffer,
        protocol,
    );
    wfile.gather = true;
    wfile.head_request = head.method == "HEAD";
    wfile.client_version = head.version;
    wfile.client_keep_alive = head.connection_keep_alive;
    wfile.close = serving.closing
        || protocol == Version::HTTP_10
        || head.connection_close
        || (head.version == Version::HTTP_10 && !head.connection_keep_alive);
    let mut r = Request {
        command: head.method,
        path: head.target,
        request_version: head.version_text,
        requestline: head.request_line,
        headers: Headers::new(&bufs.head, &bufs.spans),
        client_address: client,
        peer_address: addrs.peer,
        rfile: Rfile::new(io, &mut bufs.read, body, expect, config.max_body_size),
        wfile,
        handler,
        version: head.version,
    };
    run_handler(handler, &mut r);
    if let Err(e) = r.wfile.finish() {
        r.log_error(format_args!("error finishing the response: {e}"));
    }
    let next = if r.wfile.broken || r.rfile.broken {
        Next::Close
    } else if !r.rfile.drain(config.max_drain) {
        Next::CloseLingering
    } else if r.wfile.close {
        Next::Close
    } else {
        Next::KeepAlive
    };
    if has_body {
        io.set_body_rate(None);
    }
    // The response waits in `pending` only while the next request is already
    // here: answering it will send both.
    if next == Next::KeepAlive && head_buffered(&mut bufs.read, &config.limits) {
        return next;
    }
    match write_pending(io, &mut bufs.pending) {
        Ok(()) => next,
        Err(_) => Next::Close,
    }
}

/// The client's address when `peer` (the socket's peer, or the address of
/// its PROXY header) may be a trusted proxy: the one its forwarded header
/// names (see [`ServerConfig::trusted_proxies`]), with `peer`'s port (0
/// for a peer on a Unix socket, which has none).
fn forwarded_address(
    config: &ServerConfig,
    head: &[u8],
    spans: &[HeaderSpan],
    peer: ClientAddress,
) -> ClientAddress {
    if !config.trusts_peer(peer) {
        return peer;
    }
    let name = config.forwarded_header.name().as_bytes();
    let lines = spans
        .iter()
        .rev()
        .filter(|s| s.name(head).eq_ignore_ascii_case(name))
        .map(|s| s.value(head));
    forwarded_client(config.forwarded_header, lines, |ip| config.trusts(ip)).map_or(peer, |ip| {
        ClientAddress::Tcp(SocketAddr::new(ip, peer.port().unwrap_or(0)))
    })
}

/// How many body bytes must be buffered before the handler runs, if more
/// than `buffered` holds: the whole body, up to `limit` bytes of it. A
/// chunked body is complete once its last chunk and trailers are buffered;
/// a broken one is left for the handler's reads to report.
fn read_ahead_wanted(body: &BodyState, buffered: &[u8], limit: usize) -> Option<usize> {
    let want = match body {
        BodyState::Length(n) => usize::try_from(*n).unwrap_or(usize::MAX).min(limit),
        BodyState::Chunked(decoder) if buffered.len() < limit => {
            let mut decoder = decoder.clone();
            let mut rest = buffered;
            loop {
                match decoder.decode(rest, usize::MAX) {
                    Ok((_, Chunk::End)) | Err(_) => return None,
                    Ok((0, Chunk::NeedMore)) => break limit,
                    Ok((n, _)) => rest = &rest[n..],
                }
            }
        }
        _ => 0,
    };
    (buffered.len() < want).then_some(want)
}

/// Whether the buffered bytes hold a whole request head (or the start of one
/// that is already wrong), so that answering it needs no read.
fn head_buffered(buf: &mut ReadBuf, limits: &Limits) -> bool {
    if buf.available().is_empty() {
        return false;
    }
    match HeadScanner::new().scan(buf.available(), limits) {
        Ok(Some(extent)) => {
            buf.set_head(extent);
            true
        }
        Ok(None) => false,
        Err(_) => true,
    }
}

/// Writes the responses held back for pipelined requests.
pub(crate) fn write_pending(io: &dyn Transport, pending: &mut Vec<u8>) -> io::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let r = write_all_vectored(io, &mut [io::IoSlice::new(pending)]);
    pending.clear();
    r
}

/// Runs the handler, turning an error or a panic into a 500 (or the status of
/// the body error that caused it) when nothing has been sent yet.
fn run_handler(handler: &dyn Handler, r: &mut Request<'_>) {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> crate::HandlerResult {
        if r.rfile.expect == Continue::Pending && !handler.handle_expect_100(r)? {
            if !r.wfile.started() {
                r.send_error(StatusCode::EXPECTATION_FAILED)?;
            }
            // The body was refused: the client must not send it on this connection.
            r.set_close_connection(true);
            return Ok(());
        }
        handler.handle(r)
    }));
    let failure = match outcome {
        Ok(Ok(())) if r.wfile.started() => return,
        Ok(Ok(())) => "the handler returned without sending a response".to_string(),
        Ok(Err(e)) => format!("handler error: {e}"),
        Err(panic) => format!("handler panicked: {}", panic_message(&*panic)),
    };
    r.log_error(format_args!("{failure}"));
    if r.rfile.broken || r.wfile.broken {
        return; // The client is gone; nobody to answer.
    }
    if r.wfile.committed() {
        r.wfile.broken = true; // Too late for a status: cut the response short.
        return;
    }
    let (code, message) = match r.rfile.error {
        Some(e) => (e.status(), e.message()),
        None if r.rfile.timed_out => (StatusCode::REQUEST_TIMEOUT, "Request body timed out"),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    let _ = r.send_error_message(code, Some(message), None);
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(non-text panic payload)"
    }
}

/// Answers a request that never reached a handler, then closes.
pub(crate) fn respond_to_request_error(
    handler: &dyn Handler,
    io: &dyn Transport,
    addrs: Addresses,
    config: &ServerConfig,
    bufs: &mut ConnBuffers,
    requestline: &str,
    error: HeadError,
) -> Next {
    let mut extra: &[(&str, &str)] = &[];
    let (code, message) = match error {
        HeadError::Overloaded => {
            extra = &[("Retry-After", "1")];
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable: every worker is busy",
            )
        }
        HeadError::Proto(e) => (e.status(), e.message()),
        HeadError::Timeout => (StatusCode::REQUEST_TIMEOUT, "Request head timed out"),
        HeadError::SlowBody => (
            StatusCode::REQUEST_TIMEOUT,
            "Request body arrived below the minimum data rate",
        ),
        // Nobody to answer, or nothing to answer yet.
        HeadError::Gone | HeadError::WouldBlock => {
            let _ = write_pending(io, &mut bufs.pending);
            return Next::Close;
        }
    };
    let mut wfile = Wfile::new(
        io,
        &mut bufs.out_head,
        &mut bufs.out_body,
        &mut bufs.pending,
        config.response_buffer,
        handler.protocol_version(),
    );
    wfile.close = true;
    let mut r = Request {
        command: "",
        path: "",
        request_version: "",
        requestline,
        headers: Headers::new(&[], &[]),
        client_address: addrs.client,
        peer_address: addrs.peer,
        rfile: Rfile::new(
            io,
            &mut bufs.read,
            BodyState::Length(0),
            Continue::NotNeeded,
            None,
        ),
        wfile,
        handler,
        version: Version::HTTP_11,
    };
    let details = ErrorDetails {
        message: Some(message),
        headers: extra,
        ..ErrorDetails::default()
    };
    if r.send_error_details(code, details).is_ok() {
        let _ = r.wfile.finish();
    }
    Next::CloseLingering
}

/// The head's first line, if it is text (for log lines).
pub(crate) fn first_line(head: &[u8]) -> &str {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    std::str::from_utf8(line).unwrap_or("")
}

/// Reads until a whole head is buffered; returns its extent in the buffer's
/// available bytes, or `None` if the client closed (or stayed silent past the
/// timeout) before sending anything. `first_bytes` runs once, when part of a
/// head is buffered and the rest must be waited for (to start the head
/// timeout). A
/// non-blocking transport's `WouldBlock` comes back as
/// [`HeadError::WouldBlock`] with the partial head left in the buffer.
pub(crate) fn read_head(
    io: &dyn Transport,
    buf: &mut ReadBuf,
    limits: &Limits,
    first_bytes: &mut dyn FnMut(),
) -> Result<Option<(usize, usize)>, HeadError> {
    if let Some(extent) = buf.take_head() {
        return Ok(Some(extent));
    }
    let mut scanner = HeadScanner::new();
    let mut started = false;
    // Room for the largest head, plus one byte to see that it is too large.
    let max = limits
        .max_head
        .saturating_add(limits.max_request_line)
        .saturating_add(1);
    loop {
        if !buf.available().is_empty() {
            if let Some(extent) = scanner
                .scan(buf.available(), limits)
                .map_err(HeadError::Proto)?
            {
                return Ok(Some(extent));
            }
            // Empty lines before a request line are dropped as they come.
            let skipped = scanner.skipped();
            if skipped > 0 && skipped == buf.available().len() {
                buf.consume(skipped);
                scanner = HeadScanner::new();
            } else if !started {
                // Part of a head is here and the rest must be waited for.
                started = true;
                first_bytes();
            }
        }
        match buf.fill(io, max) {
            Ok(0) if buf.available().is_empty() => return Ok(None),
            Ok(0) => return Err(HeadError::Gone),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(HeadError::WouldBlock),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return if buf.available().is_empty() {
                    Ok(None)
                } else {
                    Err(HeadError::Timeout)
                };
            }
            Err(_) => return Err(HeadError::Gone),
        }
    }
}
