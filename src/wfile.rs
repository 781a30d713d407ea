//! `wfile`: the response writer, and the automatic framing of the body.
//!
//! A handler writes the status line and headers with
//! [`send_response`](crate::Request::send_response) and
//! [`send_header`](crate::Request::send_header), then the body through
//! [`Wfile`]. Framing is the server's job: the body is buffered up to a
//! threshold and, when the handler returns, sent with a computed
//! `Content-Length`; a larger body, or one the handler flushes, commits the
//! head and goes out chunked to HTTP/1.1 clients or delimited by closing the
//! connection for HTTP/1.0 clients. So the head and a small body leave in one
//! `writev`, keep-alive works for every response, and streaming works in
//! bounded memory.

use crate::date;
use crate::proto::encode::{self, LAST_CHUNK};
use crate::transport::{Transport, write_all_vectored};
use http::Version;
use std::cell::RefCell;
use std::io::{self, IoSlice, Write};

pub use crate::config::RESPONSE_BUFFER;

/// Most bytes of finished responses held back while pipelined requests are
/// answered, to leave in one write: 64 KiB.
pub(crate) const GATHER_MAX: usize = 64 * 1024;

/// The `Server` and `Date` lines of this thread's responses, and what they
/// were built from.
struct ServerLines {
    second: u64,
    server: String,
    sys: String,
    lines: Vec<u8>,
}

thread_local! {
    static SERVER_LINES: RefCell<ServerLines> = const {
        RefCell::new(ServerLines { second: u64::MAX, server: String::new(), sys: String::new(), lines: Vec::new() })
    };
}

/// Where a response is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing sent yet: `send_response` comes next.
    Idle,
    /// A status line is pending and headers are being added.
    Headers,
    /// `end_headers` was called; body bytes may be buffered.
    HeadersEnded,
    /// The head has been written to the client.
    Committed,
}

/// How the body is delimited once the head is committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// Not decided yet.
    Undecided,
    /// The response has no body (HEAD, 1xx, 204, 304): bytes are counted and
    /// dropped.
    NoBody,
    /// `Content-Length`: exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`, encoded by us.
    Chunked,
    /// The handler chose the framing itself (it set `Transfer-Encoding`), or
    /// the body ends when the connection closes: bytes pass through as
    /// written.
    Raw,
}

/// The response body stream: Python's `wfile`.
///
/// Implements [`Write`]. Writing before [`send_response`] is an error;
/// writing before [`end_headers`] ends the headers implicitly. Bytes written
/// for a `HEAD` request, or for a 1xx, 204 or 304 response, are counted (so a
/// `HEAD` response carries the `Content-Length` the `GET` would have had) and
/// never sent. [`flush`](Write::flush) sends everything written so far,
/// committing the head: use it to stream (server-sent events, progress).
///
/// [`send_response`]: crate::Request::send_response
/// [`end_headers`]: crate::Request::end_headers
pub struct Wfile<'a> {
    io: &'a dyn Transport,
    /// The pending head: status line and headers, without the final CRLF.
    head: &'a mut Vec<u8>,
    /// Buffered body bytes.
    body: &'a mut Vec<u8>,
    /// Whole responses not yet written: earlier pipelined responses (see
    /// [`gather`](Self::gather)), sent ahead of this response's first write.
    pending: &'a mut Vec<u8>,
    /// A finished response joins `pending` instead of being written, while
    /// the pending bytes stay under [`GATHER_MAX`]; the connection writes
    /// them once no further request is buffered.
    pub(crate) gather: bool,
    state: State,
    framing: Framing,
    threshold: usize,
    /// The status of the pending or committed response.
    status: u16,
    /// `Content-Length` given by the handler.
    declared_length: Option<u64>,
    /// The handler sent `Transfer-Encoding` and frames the body itself.
    handler_framed: bool,
    /// The handler sent a `Connection` header.
    connection_header_sent: bool,
    /// The body's length is not known ahead: see
    /// [`unknown_length`](Self::unknown_length).
    unknown_length: bool,
    /// Body bytes accepted from the handler (sent, buffered or dropped).
    written: u64,
    pub(crate) head_request: bool,
    pub(crate) client_version: Version,
    pub(crate) client_keep_alive: bool,
    pub(crate) protocol_version: Version,
    pub(crate) close: bool,
    /// Something went wrong mid-response: the connection must close.
    pub(crate) broken: bool,
}

impl<'a> Wfile<'a> {
    pub(crate) fn new(
        io: &'a dyn Transport,
        head: &'a mut Vec<u8>,
        body: &'a mut Vec<u8>,
        pending: &'a mut Vec<u8>,
        threshold: usize,
        protocol_version: Version,
    ) -> Self {
        head.clear();
        body.clear();
        Wfile {
            io,
            head,
            body,
            pending,
            gather: false,
            state: State::Idle,
            framing: Framing::Undecided,
            threshold,
            status: 0,
            declared_length: None,
            handler_framed: false,
            connection_header_sent: false,
            unknown_length: false,
            written: 0,
            head_request: false,
            client_version: Version::HTTP_11,
            client_keep_alive: false,
            protocol_version,
            close: false,
            broken: false,
        }
    }

    /// Starts a response: the status line goes into the pending head.
    pub(crate) fn start(&mut self, code: u16, reason: &str) -> io::Result<()> {
        match self.state {
            State::Committed => {
                return Err(usage(
                    "send_response called after the response head was sent",
                ));
            }
            // A second send_response before anything was sent replaces the first.
            State::Headers | State::HeadersEnded => self.reset(),
            State::Idle => {}
        }
        encode::status_line(self.head, self.protocol_version, code, reason)
            .map_err(|e| usage(&e.to_string()))?;
        self.status = code;
        self.state = State::Headers;
        Ok(())
    }

    /// Drops a pending (uncommitted) response.
    pub(crate) fn reset(&mut self) {
        debug_assert!(self.state != State::Committed);
        self.head.clear();
        self.body.clear();
        self.state = State::Idle;
        self.framing = Framing::Undecided;
        self.declared_length = None;
        self.handler_framed = false;
        self.connection_header_sent = false;
        self.unknown_length = false;
        self.written = 0;
    }

    /// Frames this response as a stream of unknown length (chunked, or up
    /// to the close for HTTP/1.0 clients), even if the body turns out to
    /// fit in the buffer, and even for `HEAD`, which writes no body: so a
    /// `HEAD` gets the head its `GET` gets. For bodies whose length is
    /// known only at their end, such as compressed ones.
    pub(crate) fn unknown_length(&mut self) {
        self.unknown_length = true;
    }

    /// Adds a header to the pending head, noting the ones that decide framing
    /// and persistence.
    pub(crate) fn header(&mut self, name: &str, value: &dyn std::fmt::Display) -> io::Result<()> {
        if self.state != State::Headers {
            return Err(usage(match self.state {
                State::Idle => "send_header called before send_response",
                _ => "send_header called after end_headers",
            }));
        }
        let mark = self.head.len();
        self.head.extend_from_slice(name.as_bytes());
        self.head.extend_from_slice(b": ");
        let value_at = self.head.len();
        write!(self.head, "{value}")?;
        if let Err(e) = encode::check_header(name, &self.head[value_at..]) {
            self.head.truncate(mark);
            return Err(io::Error::new(io::ErrorKind::InvalidInput, e));
        }
        let value = &self.head[value_at..];
        if name.eq_ignore_ascii_case("content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            match parsed {
                Some(n) => self.declared_length = Some(n),
                None => {
                    self.head.truncate(mark);
                    return Err(usage("Content-Length must be a decimal number"));
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            self.handler_framed = true;
        } else if name.eq_ignore_ascii_case("connection") {
            // As Python's send_header: the handler's choice decides.
            self.connection_header_sent = true;
            if value.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                self.close = false;
            }
        }
        self.head.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Adds the `Server` (`server`, then `sys` after a space if not empty)
    /// and `Date` headers that every response carries. Their lines are built
    /// and checked (for CR, LF and NUL) once per thread and second while the
    /// server string stays the same, then copied.
    pub(crate) fn server_and_date(&mut self, server: &str, sys: &str) -> io::Result<()> {
        if self.state != State::Headers {
            return Err(usage("send_header called before send_response"));
        }
        let second = date::now_second();
        SERVER_LINES.with(|cache| {
            let mut c = cache.borrow_mut();
            if c.second != second || c.server != server || c.sys != sys {
                if encode::has_line_break(server.as_bytes())
                    || encode::has_line_break(sys.as_bytes())
                {
                    c.second = u64::MAX;
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "Server header value contains CR, LF or NUL",
                    ));
                }
                let ServerLines { lines, .. } = &mut *c;
                lines.clear();
                lines.extend_from_slice(b"Server: ");
                lines.extend_from_slice(server.as_bytes());
                if !sys.is_empty() {
                    lines.push(b' ');
                    lines.extend_from_slice(sys.as_bytes());
                }
                lines.extend_from_slice(b"\r\nDate: ");
                date::with_http_date(|d| lines.extend_from_slice(d.as_bytes()));
                lines.extend_from_slice(b"\r\n");
                c.server.clear();
                c.server.push_str(server);
                c.sys.clear();
                c.sys.push_str(sys);
                c.second = second;
            }
            self.head.extend_from_slice(&c.lines);
            Ok(())
        })
    }

    /// Ends the headers. An interim (1xx) response is sent at once, and a
    /// final response may follow it.
    pub(crate) fn end_headers(&mut self) -> io::Result<()> {
        match self.state {
            State::Headers => {}
            State::Idle => return Err(usage("end_headers called before send_response")),
            State::HeadersEnded | State::Committed => {
                return Err(usage("end_headers called twice"));
            }
        }
        if (100..200).contains(&self.status) {
            self.head.extend_from_slice(b"\r\n");
            let r = write_all_vectored(
                self.io,
                &mut [IoSlice::new(self.pending), IoSlice::new(self.head)],
            );
            self.pending.clear();
            self.head.clear();
            self.state = State::Idle;
            return r;
        }
        self.state = State::HeadersEnded;
        Ok(())
    }

    /// Commits the head now, as Python's `flush_headers` sends it.
    pub(crate) fn flush_headers(&mut self) -> io::Result<()> {
        if self.state == State::Headers {
            self.end_headers()?;
        }
        if self.state == State::HeadersEnded {
            self.commit(false)?;
        }
        Ok(())
    }

    /// Whether any part of the response has reached the client.
    pub(crate) fn committed(&self) -> bool {
        self.state == State::Committed
    }

    /// Whether `send_response` has been called for the current response.
    pub(crate) fn started(&self) -> bool {
        self.state != State::Idle
    }

    /// Decides the framing, completes the head, and writes it with whatever
    /// body is buffered. `last` means the handler is done, so the buffered
    /// body is the whole body and its length is known.
    fn commit(&mut self, last: bool) -> io::Result<()> {
        let no_body = self.head_request || matches!(self.status, 204 | 304) || self.status < 200;
        let length_known = last && !self.unknown_length;
        self.framing = if no_body {
            if length_known
                && self.head_request
                && self.declared_length.is_none()
                && !self.handler_framed
            {
                // HEAD: the Content-Length the GET would have had (RFC 9110 §9.3.2).
                self.push_length(self.written);
            } else if !length_known
                && self.head_request
                && self.declared_length.is_none()
                && !self.handler_framed
            {
                self.push_framing_for_stream();
            }
            Framing::NoBody
        } else if let Some(n) = self.declared_length {
            Framing::Length(n)
        } else if self.handler_framed {
            Framing::Raw
        } else if length_known {
            self.push_length(self.body.len() as u64);
            Framing::Length(self.body.len() as u64)
        } else {
            self.push_framing_for_stream()
        };
        if self.close && self.protocol_version == Version::HTTP_11 && !self.connection_header_sent {
            self.head.extend_from_slice(b"Connection: close\r\n");
        } else if !self.close
            && self.client_version == Version::HTTP_10
            && self.client_keep_alive
            && !self.connection_header_sent
        {
            self.head.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        self.head.extend_from_slice(b"\r\n");
        self.state = State::Committed;
        let body = std::mem::take(self.body);
        let r = self.send_with_body(&body, last);
        *self.body = body;
        self.body.clear();
        r
    }

    /// Chunked for HTTP/1.1 clients; otherwise the body ends at close.
    fn push_framing_for_stream(&mut self) -> Framing {
        if self.client_version == Version::HTTP_11 && self.protocol_version == Version::HTTP_11 {
            self.head
                .extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            Framing::Chunked
        } else {
            self.close = true;
            Framing::Raw
        }
    }

    fn push_length(&mut self, n: u64) {
        self.head.extend_from_slice(b"Content-Length: ");
        self.head
            .extend_from_slice(encode::itoa_u64(n, &mut [0; 20]));
        self.head.extend_from_slice(b"\r\n");
    }

    /// Writes the pending responses, the committed head (if not yet sent)
    /// and `data` with its framing, in one `writev`. `last` adds the last
    /// chunk, and lets a gathering response join the pending ones instead.
    fn send_with_body(&mut self, data: &[u8], last: bool) -> io::Result<()> {
        let mut size_line = [0u8; 18];
        let data = if self.framing == Framing::NoBody {
            &[][..]
        } else {
            data
        };
        let mut slices: [IoSlice<'_>; 6] = [IoSlice::new(&[]); 6];
        // Slot 0 is for the pending responses, filled in below if they go out.
        let mut n = 1;
        if !self.head.is_empty() {
            slices[n] = IoSlice::new(self.head);
            n += 1;
        }
        let chunked = self.framing == Framing::Chunked;
        if chunked && !data.is_empty() {
            slices[n] = IoSlice::new(encode::chunk_size_line(data.len(), &mut size_line));
            slices[n + 1] = IoSlice::new(data);
            slices[n + 2] = IoSlice::new(b"\r\n");
            n += 3;
        } else if !data.is_empty() {
            slices[n] = IoSlice::new(data);
            n += 1;
        }
        if chunked && last {
            slices[n] = IoSlice::new(LAST_CHUNK);
            n += 1;
        }
        let size: usize = slices[1..n].iter().map(|s| s.len()).sum();
        if self.gather && last && self.pending.len() + size <= GATHER_MAX {
            for slice in &slices[1..n] {
                self.pending.extend_from_slice(slice);
            }
            self.head.clear();
            return Ok(());
        }
        slices[0] = IoSlice::new(self.pending);
        let r = write_all_vectored(self.io, &mut slices[..n]);
        self.pending.clear();
        self.head.clear();
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    /// Sends the buffered body bytes now.
    fn flush_body(&mut self, last: bool) -> io::Result<()> {
        let body = std::mem::take(self.body);
        let r = self.send_with_body(&body, last);
        *self.body = body;
        self.body.clear();
        r
    }

    /// Completes the response after the handler returned: sends the head if it
    /// is still pending, the rest of the body and the last chunk.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if self.broken {
            // The response was cut short (a failed write, or a handler that
            // failed after the head was sent): ending it properly, with the
            // last chunk, would present a truncated body as complete.
            return Ok(());
        }
        match self.state {
            State::Idle => return Ok(()),
            State::Headers => self.end_headers()?,
            _ => {}
        }
        match self.state {
            State::Idle => return Ok(()), // only an interim response was sent
            State::HeadersEnded => self.commit(true)?,
            _ => self.flush_body(true)?,
        }
        if let Framing::Length(n) = self.framing
            && self.written < n
        {
            // The client is still waiting for bytes that will never come.
            self.broken = true;
            return Err(io::Error::other(format!(
                "response body ended after {} of the {n} bytes its Content-Length announced",
                self.written
            )));
        }
        Ok(())
    }

    /// Sends `len` bytes of `file`, starting at `offset`, as the next part of
    /// the body, in constant memory: with `sendfile(2)` straight from the
    /// page cache to the socket when the body has a `Content-Length` and the
    /// connection is plain TCP, otherwise by reading and writing 64 KiB at a
    /// time. Send `Content-Length` first for the fast path; a `HEAD` request
    /// only counts the bytes.
    ///
    /// ```no_run
    /// # fn demo(r: &mut basehttp::Request<'_>) -> std::io::Result<()> {
    /// let file = std::fs::File::open("index.html")?;
    /// let len = file.metadata()?.len();
    /// r.send_response(200)?;
    /// r.send_header("Content-Length", len)?;
    /// r.end_headers()?;
    /// r.wfile.write_file(&file, 0, len)?;
    /// # Ok(()) }
    /// ```
    pub fn write_file(&mut self, file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
        match self.state {
            State::Idle => return Err(usage("body written before send_response")),
            State::Headers => self.end_headers()?,
            State::HeadersEnded | State::Committed => {}
        }
        if self.drops_body() || len == 0 {
            self.written += len;
            return Ok(());
        }
        if self.declared_length.is_some_and(|n| self.written + len > n) && !self.handler_framed {
            return Err(usage("body longer than the Content-Length sent"));
        }
        if self.state == State::HeadersEnded {
            self.commit(false)?;
        } else {
            self.flush_body(false)?;
        }
        let sent = match (self.framing, self.io.plain()) {
            (Framing::Length(_) | Framing::Raw, Some(socket)) => {
                sendfile_all(self.io, socket, file, offset, len, &mut self.written)
            }
            _ => self.copy_file(file, offset, len),
        };
        if sent.is_err() {
            self.broken = true;
        }
        sent
    }

    /// The portable path of [`write_file`](Self::write_file): positioned
    /// reads into a 64 KiB buffer, written through the framing.
    fn copy_file(&mut self, file: &std::fs::File, mut offset: u64, len: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; 64 * 1024];
        let end = offset + len;
        while offset < end {
            let want = buf.len().min((end - offset) as usize);
            let n = file.read_at(&mut buf[..want], offset)?;
            if n == 0 {
                return Err(file_shrank());
            }
            self.write_all(&buf[..n])?;
            offset += n as u64;
        }
        Ok(())
    }

    /// HEAD responses and 204/304 carry no body: bytes written are counted
    /// and dropped.
    fn drops_body(&self) -> bool {
        self.head_request || matches!(self.status, 204 | 304) || self.framing == Framing::NoBody
    }
}

impl Write for Wfile<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.state {
            State::Idle => return Err(usage("body written before send_response")),
            State::Headers => self.end_headers()?,
            State::HeadersEnded | State::Committed => {}
        }
        if self.state == State::Idle {
            return Err(usage("body written after an interim (1xx) response"));
        }
        let len = data.len() as u64;
        if self.drops_body() {
            self.written += len;
            return Ok(data.len());
        }
        if let Some(n) = self.declared_length
            && !self.handler_framed
            && self.written + len > n
        {
            return Err(usage("body longer than the Content-Length sent"));
        }
        if self.body.len() + data.len() <= self.threshold {
            self.body.extend_from_slice(data);
        } else {
            if self.state == State::HeadersEnded {
                self.commit(false)?;
            } else {
                self.flush_body(false)?;
            }
            if data.len() >= self.threshold {
                // Large writes go straight out, without a copy.
                self.send_with_body(data, false)?;
            } else {
                self.body.extend_from_slice(data);
            }
        }
        self.written += len;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.state {
            State::Idle => Ok(()),
            State::Headers | State::HeadersEnded => self.flush_headers(),
            State::Committed if self.body.is_empty() => Ok(()),
            State::Committed => self.flush_body(false),
        }
    }
}

/// A misuse of the response API: the error says which call was out of order.
fn usage(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// `sendfile(2)` until `len` bytes of `file` from `offset` have gone to
/// `socket`, waiting for room (up to the write timeout) when it is full.
fn sendfile_all(
    io: &dyn Transport,
    socket: &crate::net::Stream,
    file: &std::fs::File,
    mut offset: u64,
    len: u64,
    written: &mut u64,
) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        let chunk = usize::try_from(left.min(1 << 30)).unwrap_or(1 << 30);
        match rustix::fs::sendfile(socket, file, Some(&mut offset), chunk) {
            Ok(0) => return Err(file_shrank()),
            Ok(n) => {
                left -= n as u64;
                *written += n as u64;
                io.wrote(n);
            }
            Err(rustix::io::Errno::AGAIN) => io.wait_writable()?,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn file_shrank() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the file is shorter than the length being sent",
    )
}
