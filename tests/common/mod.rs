//! What every integration test shares: a server started in-process on
//! 127.0.0.1:0 (or a Unix socket), a raw TCP (or Unix) client, and a reader
//! for one HTTP/1.1 response.
//!
//! Nothing here waits with a sleep. A response is read until it is complete
//! (status line and headers, then `Content-Length` bytes, the chunked coding,
//! or everything until the server closes); socket timeouts only turn a hang
//! into a failure.

#![allow(dead_code)] // each test file uses a different part

use basehttp::server::{Concurrency, Sequential, Threading};
use basehttp::{
    ClientAddress, Handler, HandlerResult, Request, Server, ServerAddress, ServerConfig,
};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The safety net on every blocking step: a socket read or write, a server
/// shutdown. Generous, since only a bug should ever reach it.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The default configuration with the connection timeouts bounded by
/// [`TIMEOUT`], so a server blocked on a misbehaving test client gives up.
pub fn config() -> ServerConfig {
    ServerConfig {
        read_timeout: Some(TIMEOUT),
        write_timeout: Some(TIMEOUT),
        ..ServerConfig::default()
    }
}

/// Runs `f` on its own thread and waits at most [`TIMEOUT`] for its result.
pub fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("{what} did not finish within {TIMEOUT:?}"))
}

/// Polls `f` until it returns true, for at most `limit`: a bounded poll, for
/// what no event announces (a thread that ends, a descriptor that closes).
pub fn eventually(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// A server running `serve_forever` on its own thread, shut down when dropped.
pub struct TestServer<H: Handler, C: Concurrency> {
    server: Arc<Server<H, C>>,
    result: Option<mpsc::Receiver<io::Result<()>>>,
}

/// The files handler on `dir`, quiet, changed by `f`, on a
/// [`ThreadingHttpServer`](basehttp::ThreadingHttpServer) with [`config`].
pub fn serve_files(
    dir: &std::path::Path,
    f: impl FnOnce(basehttp::SimpleHttpRequestHandler) -> basehttp::SimpleHttpRequestHandler,
) -> TestServer<basehttp::SimpleHttpRequestHandler, Threading> {
    let handler = basehttp::SimpleHttpRequestHandler::new(dir).expect("serve the directory");
    TestServer::start(f(handler.quiet(true)), config())
}

/// A [`ThreadingHttpServer`](basehttp::ThreadingHttpServer) with [`config`].
pub fn serve<H: Handler>(handler: H) -> TestServer<H, Threading> {
    TestServer::start(handler, config())
}

/// An [`HttpServer`](basehttp::HttpServer) (one connection at a time).
pub fn serve_sequential<H: Handler>(handler: H) -> TestServer<H, Sequential> {
    TestServer::start(handler, config())
}

/// An [`HttpServer`](basehttp::HttpServer) with a configuration of the
/// test's own.
pub fn serve_sequential_with<H: Handler>(
    config: ServerConfig,
    handler: H,
) -> TestServer<H, Sequential> {
    TestServer::start(handler, config)
}

impl<H: Handler, C: Concurrency> TestServer<H, C> {
    pub fn start(handler: H, config: ServerConfig) -> Self {
        Self::start_on("127.0.0.1:0", handler, config)
    }

    /// [`start`](TestServer::start) on another address (say, `[::]:0`).
    pub fn start_on(addr: &str, handler: H, config: ServerConfig) -> Self {
        Self::run(
            Server::<H, C>::bind_with_config(addr, handler, config)
                .unwrap_or_else(|e| panic!("bind {addr}: {e}")),
        )
    }

    /// Runs a server the test made (`serve_forever` on a thread of its own).
    pub fn run(server: Server<H, C>) -> Self {
        let server = Arc::new(server);
        let running = Arc::clone(&server);
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(running.serve_forever());
        });
        TestServer {
            server,
            result: Some(rx),
        }
    }

    /// The TCP address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server
            .local_addr()
            .socket_addr()
            .expect("a server on TCP")
    }

    /// Where it listens: TCP or a Unix socket.
    pub fn address(&self) -> ServerAddress {
        self.server.local_addr().clone()
    }

    /// The addresses of all its listeners.
    pub fn addrs(&self) -> Vec<ServerAddress> {
        self.server.local_addrs().to_vec()
    }

    /// The server itself.
    pub fn server(&self) -> &Server<H, C> {
        &self.server
    }

    pub fn handler(&self) -> &H {
        self.server.handler()
    }

    /// Open connections, as the server counts them.
    pub fn connection_count(&self) -> usize {
        self.server.connection_count()
    }

    /// A new client connection, over TCP or the Unix socket.
    pub fn connect(&self) -> Client {
        match self.server.local_addr().unix_path() {
            Some(path) => Client::connect_unix(path),
            None => Client::connect(self.addr()),
        }
    }

    /// Calls `shutdown()` from another thread and returns what
    /// `serve_forever` returned; both must happen within [`TIMEOUT`].
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_inner()
    }

    /// [`stop`](TestServer::stop), then `server_close()` (which removes a
    /// Unix socket file the server made).
    pub fn close(mut self) -> io::Result<()> {
        let result = self.stop_inner();
        self.server.server_close();
        result
    }

    fn stop_inner(&mut self) -> io::Result<()> {
        let Some(result) = self.result.take() else {
            return Ok(());
        };
        let server = Arc::clone(&self.server);
        bounded("shutdown()", move || server.shutdown());
        result
            .recv_timeout(TIMEOUT)
            .expect("serve_forever did not return after shutdown()")
    }

    /// Asserts that the server answers a fresh connection: `GET /alive` gets
    /// 200. Every test handler answers that request.
    pub fn assert_serves(&self) {
        self.assert_serves_with(b"");
    }

    /// [`assert_serves`](TestServer::assert_serves), with `first` sent
    /// before the request (a PROXY protocol header).
    pub fn assert_serves_with(&self, first: &[u8]) {
        let mut c = self.connect();
        c.send(first);
        c.send(b"GET /alive HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        let r = c.read_response("GET").expect("response to GET /alive");
        assert_eq!(r.status, 200, "the server no longer serves: {r:?}");
    }
}

impl<H: Handler, C: Concurrency> Drop for TestServer<H, C> {
    fn drop(&mut self) {
        if thread::panicking() {
            // Do not turn a failed assertion into a second panic.
            if let Some(result) = self.result.take() {
                let server = Arc::clone(&self.server);
                thread::spawn(move || server.shutdown());
                let _ = result.recv_timeout(TIMEOUT);
            }
        } else {
            self.stop_inner().expect("serve_forever failed");
        }
    }
}

/// A client's socket: TCP or Unix domain.
pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One raw TCP (or Unix) connection to the server, with a buffered reader
/// so that responses that arrive together (pipelining) are read one at a
/// time.
pub struct Client {
    reader: BufReader<Conn>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).expect("connect to the test server"))
    }

    /// A connection to the Unix socket at `path`.
    pub fn connect_unix(path: &std::path::Path) -> Client {
        let stream = UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(Conn::Unix(stream)),
        }
    }

    /// A client on a connection made elsewhere (say, from a chosen address).
    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(Conn::Tcp(stream)),
        }
    }

    /// Writes exactly these bytes, in one `write_all`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("write to the test server");
    }

    /// Sends `GET path` on a keep-alive connection and reads the response.
    pub fn get(&mut self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        self.read_response("GET").expect("response to GET")
    }

    /// Sends `METHOD target` with `Host: test` and the header lines in
    /// `headers` (each `Name: value`), with no body, on a keep-alive
    /// connection, and reads the response.
    pub fn ask(&mut self, method: &str, target: &str, headers: &[&str]) -> Response {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.send(head.as_bytes());
        self.read_response(method)
            .unwrap_or_else(|e| panic!("response to {method} {target}: {e}"))
    }

    /// Reads one response to a request made with `method`: the status line
    /// and headers, then the body framed as RFC 9112 §6.3 says (none for
    /// `HEAD`, 1xx, 204 and 304; chunked; `Content-Length`; else until the
    /// server closes).
    pub fn read_response(&mut self, method: &str) -> io::Result<Response> {
        let mut r = self.read_head()?;
        if method == "HEAD" || r.status < 200 || r.status == 204 || r.status == 304 {
            return Ok(r);
        }
        if r.is_chunked() {
            while let Some(chunk) = self.read_chunk()? {
                r.body.extend_from_slice(&chunk);
            }
        } else if let Some(n) = r.content_length() {
            r.body = vec![0; n];
            self.reader.read_exact(&mut r.body)?;
        } else {
            self.reader.read_to_end(&mut r.body)?;
        }
        Ok(r)
    }

    /// Reads a status line and the header lines up to the empty line; the
    /// body is left unread.
    pub fn read_head(&mut self) -> io::Result<Response> {
        let status_line = self.read_line()?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_string();
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let reason = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
            headers.push((name.to_string(), value.trim().to_string()));
        }
        Ok(Response {
            version,
            status,
            reason,
            headers,
            body: Vec::new(),
        })
    }

    /// Reads one chunk of a chunked body: `Some(data)`, or `None` after the
    /// last chunk and its trailer section.
    pub fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let line = self.read_line()?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| bad(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            while !self.read_line()?.is_empty() {}
            return Ok(None);
        }
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data)?;
        if !data.ends_with(b"\r\n") {
            return Err(bad("chunk data not followed by CRLF".into()));
        }
        data.truncate(size);
        Ok(Some(data))
    }

    /// The client's own TCP address: the server's peer.
    pub fn local_addr(&self) -> SocketAddr {
        match self.reader.get_ref() {
            Conn::Tcp(s) => s.local_addr().unwrap(),
            Conn::Unix(_) => panic!("a Unix client has no IP address"),
        }
    }

    /// Ends the sending half: the server reads end of file.
    pub fn shutdown_write(&mut self) {
        let _ = match self.reader.get_ref() {
            Conn::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }

    /// Everything the server sends until it closes the connection.
    pub fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest)?;
        Ok(rest)
    }

    /// Asserts that the server closed the connection and sent nothing more.
    pub fn assert_closed(&mut self) {
        let rest = self
            .read_to_end()
            .expect("the server should close the connection");
        assert!(
            rest.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// One CRLF-terminated line, without the CRLF.
    fn read_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if !line.ends_with(b"\r\n") {
            return Err(bad(format!(
                "line not ended by CRLF: {:?}",
                String::from_utf8_lossy(&line)
            )));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|e| bad(e.to_string()))
    }
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// One response as the client saw it.
#[derive(Debug, Clone)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// In the order received.
    pub headers: Vec<(String, String)>,
    /// Decoded from its framing.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of the header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many times the header `name` appears.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("Content-Length")
            .map(|v| v.parse().expect("Content-Length is a number"))
    }

    pub fn is_chunked(&self) -> bool {
        self.header("Transfer-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("body is UTF-8")
    }
}

/// A body of `len` bytes that is not all one value, so misplaced bytes show.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 23) as u8).collect()
}

/// The handler most tests use:
///
/// - `GET` (and `HEAD`): 200, `text/plain`, the path as the body;
///   `/large` answers [`pattern`]`(100_000)` in 1000-byte writes;
/// - `POST`: 200 echoing the request body read through `rfile`, with
///   `X-Trailers` giving the trailer section of a chunked body (CRLFs shown
///   as `|`).
pub struct Echo;

impl Handler for Echo {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.send_header("Content-Type", "text/plain")?;
        r.end_headers()?;
        if r.path == "/large" {
            for piece in pattern(100_000).chunks(1000) {
                r.wfile.write_all(piece)?;
            }
        } else {
            r.wfile.write_all(r.path.as_bytes())?;
        }
        Ok(())
    }

    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        let mut body = Vec::new();
        r.rfile.read_to_end(&mut body)?;
        let trailers = String::from_utf8_lossy(r.rfile.trailers()).replace("\r\n", "|");
        r.send_response(200)?;
        r.send_header("Content-Type", "application/octet-stream")?;
        if !trailers.is_empty() {
            r.send_header("X-Trailers", trailers)?;
        }
        r.end_headers()?;
        r.wfile.write_all(&body)?;
        Ok(())
    }
}

/// A handler whose `GET /block` waits until the gate opens (holding its
/// worker or thread); every other request is answered as [`Echo`] does.
/// Tests count the waiters to know the server's workers are taken.
#[derive(Default)]
pub struct Gate {
    /// (handlers waiting at the gate, gate open)
    state: std::sync::Mutex<(usize, bool)>,
    changed: std::sync::Condvar,
}

impl Gate {
    /// Opens or closes the gate.
    pub fn set_open(&self, open: bool) {
        self.state.lock().unwrap().1 = open;
        self.changed.notify_all();
    }

    /// Waits (bounded by [`TIMEOUT`]) until `n` handlers wait at the gate.
    pub fn wait_for_waiters(&self, n: usize) {
        let deadline = std::time::Instant::now() + TIMEOUT;
        let mut state = self.state.lock().unwrap();
        while state.0 < n {
            let left = deadline
                .checked_duration_since(std::time::Instant::now())
                .unwrap_or_else(|| panic!("only {} of {n} handlers started", state.0));
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
    }
}

impl Handler for Gate {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        if r.path == "/block" {
            let mut state = self.state.lock().unwrap();
            state.0 += 1;
            self.changed.notify_all();
            while !state.1 {
                state = self.changed.wait(state).unwrap();
            }
            state.0 -= 1;
        }
        Echo.do_get(r)
    }

    fn log_message(&self, _: ClientAddress, _: std::fmt::Arguments<'_>) {}
}
