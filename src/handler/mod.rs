//! The `BaseHTTPRequestHandler` counterpart: the [`Handler`] trait, whose
//! `do_*` methods a program implements, and the [`Request`] each of them
//! receives.
//!
//! HTTP is a simple protocol. A client sends a request: a request line
//! (`GET /index.html HTTP/1.1`), header lines (`Host: example.com`), an empty
//! line, and perhaps a body. The server parses all of that before calling the
//! handler method named after the request's method: `GET` calls
//! [`Handler::do_get`], `POST` calls [`Handler::do_post`], and so on. The
//! parsed parts are attributes of the [`Request`]: [`command`](Request::command),
//! [`path`](Request::path), [`request_version`](Request::request_version),
//! [`headers`](Request::headers), and the body is read from
//! [`rfile`](Request::rfile).
//!
//! The method then answers, in this order: a status line with
//! [`send_response`](Request::send_response), any headers with
//! [`send_header`](Request::send_header), the end of the headers with
//! [`end_headers`](Request::end_headers), and then the body, written to
//! [`wfile`](Request::wfile). Or, for an error, all of it at once with
//! [`send_error`](Request::send_error).

mod headers;

pub use headers::Headers;

use crate::date;
use crate::net::ClientAddress;
use crate::proto::encode;
use crate::rfile::Rfile;
use crate::status;
use crate::wfile::Wfile;
use http::{StatusCode, Version};
use std::fmt;
use std::io::{self, Write};

/// What a handler method returns: `Ok(())` once it has answered, or any error.
///
/// An error (or a panic) is logged with [`Handler::log_error`]; the client
/// gets a 500 response if nothing had been sent yet, otherwise its connection
/// is closed, and the server goes on serving everyone else.
pub type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The default `server_version`: `BaseHTTP/` and this crate's version.
pub const SERVER_VERSION: &str = concat!("BaseHTTP/", env!("CARGO_PKG_VERSION"));

/// The default `sys_version`: `Rust/` and the version of the compiler that
/// built this crate.
pub const SYS_VERSION: &str = concat!("Rust/", env!("BASEHTTP_RUSTC_VERSION"));

/// The default `error_content_type`, as in Python.
pub const ERROR_CONTENT_TYPE: &str = "text/html;charset=utf-8";

/// Handles the requests of a server: the counterpart of a Python
/// `BaseHTTPRequestHandler` subclass.
///
/// Implement the `do_*` methods for the HTTP methods you support; every one
/// defaults to a 501 `Unsupported method ('X')` response, as in Python. One
/// handler value serves every request on every thread, so it is `Send + Sync`
/// and its methods take `&self`; per-request state lives in the [`Request`].
///
/// The other methods are Python's overridable class attributes and hooks:
/// versions, the error page, logging, and `Expect: 100-continue`.
///
/// ```
/// use basehttp::{Handler, HandlerResult, Request};
/// use std::io::Write;
///
/// struct Hello;
///
/// impl Handler for Hello {
///     fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
///         r.send_response(200)?;
///         r.send_header("Content-Type", "text/plain")?;
///         r.end_headers()?;
///         writeln!(r.wfile, "Hello from {}", r.path)?;
///         Ok(())
///     }
/// }
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Answers a `GET` request. Default: 501.
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Answers a `HEAD` request. Default: runs [`do_get`](Handler::do_get);
    /// the body it writes is counted for `Content-Length` and never sent
    /// (RFC 9110 §9.3.2; Python answers 501 here instead).
    fn do_head(&self, r: &mut Request<'_>) -> HandlerResult {
        self.do_get(r)
    }

    /// Answers a `POST` request. Default: 501.
    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Answers a `PUT` request. Default: 501.
    fn do_put(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Answers a `DELETE` request. Default: 501.
    fn do_delete(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Answers an `OPTIONS` request. Default: 501.
    fn do_options(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Answers a `PATCH` request. Default: 501.
    fn do_patch(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Answers any other method (`CONNECT`, `TRACE`, extension methods such
    /// as `PROPFIND`): read [`Request::command`] to tell them apart.
    /// Default: 501.
    fn do_method(&self, r: &mut Request<'_>) -> HandlerResult {
        r.unsupported_method()
    }

    /// Calls the `do_*` method for the request's method ([`dispatch`]).
    /// Override it to route every method through one function (as
    /// [`handler_fn`] does), or to check something before any method runs
    /// (credentials, say) and then call [`dispatch`].
    fn handle(&self, r: &mut Request<'_>) -> HandlerResult {
        dispatch(self, r)
    }

    /// Adds headers of your own to every final response, right after
    /// `Server` and `Date`: called by [`Request::send_response`], and so for
    /// error pages, redirects and `304 Not Modified` too (not for interim
    /// 1xx responses). Default: nothing.
    ///
    /// Python programs override `end_headers` for this, the usual way to
    /// give `SimpleHTTPRequestHandler` a CORS header:
    ///
    /// ```
    /// use basehttp::{Handler, HandlerResult, Request};
    ///
    /// struct Open;
    ///
    /// impl Handler for Open {
    ///     fn extra_headers(&self, r: &mut Request<'_>) -> std::io::Result<()> {
    ///         r.send_header("Access-Control-Allow-Origin", "*")
    ///     }
    /// }
    /// ```
    ///
    /// Send headers only: calling `send_response` or `send_error` here would
    /// call this again.
    fn extra_headers(&self, r: &mut Request<'_>) -> io::Result<()> {
        let _ = r;
        Ok(())
    }

    /// Called before the `do_*` method when an HTTP/1.1 client sent
    /// `Expect: 100-continue`, meaning it waits for permission before sending
    /// its body. Return `Ok(true)` to go on to the `do_*` method (the
    /// `100 Continue` is sent when the body is first read), or answer the
    /// request here (say with `r.send_error(417)` or 413) and return
    /// `Ok(false)`; if nothing was sent, the server answers 417.
    fn handle_expect_100(
        &self,
        r: &mut Request<'_>,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        let _ = r;
        Ok(true)
    }

    /// The version in the status line, and whether connections persist:
    /// `HTTP/1.1` (keep-alive) by default. Return `Version::HTTP_10` for
    /// Python's default, one request per connection.
    fn protocol_version(&self) -> Version {
        Version::HTTP_11
    }

    /// The first word of the `Server` header. Default [`SERVER_VERSION`].
    fn server_version(&self) -> &str {
        SERVER_VERSION
    }

    /// The second word of the `Server` header. Default [`SYS_VERSION`].
    fn sys_version(&self) -> &str {
        SYS_VERSION
    }

    /// The body of an error response: Python's `error_message_format`. The
    /// message and explanation arrive already HTML-escaped.
    fn error_message_format(&self, code: StatusCode, message: &str, explain: &str) -> String {
        status::default_error_page(code, message, explain)
    }

    /// The `Content-Type` of an error response. Default [`ERROR_CONTENT_TYPE`].
    fn error_content_type(&self) -> &str {
        ERROR_CONTENT_TYPE
    }

    /// Writes one log line: Python's `log_message`. The default writes
    /// `CLIENT_IP - - [dd/Mon/yyyy HH:MM:SS] MESSAGE` to standard error (time
    /// in UTC; `unix` for the IP of a client on a Unix domain socket), with control characters escaped as `\xNN` so a request cannot
    /// forge log lines. Override it to log elsewhere.
    fn log_message(&self, client: ClientAddress, message: fmt::Arguments<'_>) {
        crate::log::write_line(client, message);
    }

    /// Logs an answered request: called by
    /// [`send_response`](Request::send_response). The default logs
    /// `"REQUEST LINE" CODE SIZE`; override it with an empty body to log
    /// nothing per request.
    fn log_request(&self, r: &Request<'_>, code: StatusCode, size: Option<u64>) {
        match size {
            Some(size) => self.log_message(
                r.client_address,
                format_args!("\"{}\" {} {}", r.requestline, code.as_u16(), size),
            ),
            None => self.log_message(
                r.client_address,
                format_args!("\"{}\" {} -", r.requestline, code.as_u16()),
            ),
        }
    }

    /// Logs an error: by default, the same as [`log_message`](Handler::log_message).
    fn log_error(&self, client: ClientAddress, message: fmt::Arguments<'_>) {
        self.log_message(client, message);
    }
}

/// Calls `handler`'s `do_*` method for the request's method: `GET` calls
/// [`do_get`](Handler::do_get), `POST` [`do_post`](Handler::do_post), …, and
/// any other method [`do_method`](Handler::do_method). What
/// [`Handler::handle`] does by default, for an override to call once its own
/// checks pass.
pub fn dispatch<H: Handler + ?Sized>(handler: &H, r: &mut Request<'_>) -> HandlerResult {
    match r.command {
        "GET" => handler.do_get(r),
        "HEAD" => handler.do_head(r),
        "POST" => handler.do_post(r),
        "PUT" => handler.do_put(r),
        "DELETE" => handler.do_delete(r),
        "OPTIONS" => handler.do_options(r),
        "PATCH" => handler.do_patch(r),
        _ => handler.do_method(r),
    }
}

/// A handler made of one closure that answers every method.
///
/// ```
/// use basehttp::{handler_fn, Request};
/// use std::io::Write;
///
/// let handler = handler_fn(|r: &mut Request<'_>| {
///     r.send_response(200)?;
///     r.end_headers()?;
///     r.wfile.write_all(r.command.as_bytes())?;
///     Ok(())
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F>(f: F) -> FnHandler<F>
where
    F: Fn(&mut Request<'_>) -> HandlerResult + Send + Sync + 'static,
{
    FnHandler(f)
}

/// The handler made by [`handler_fn`].
pub struct FnHandler<F>(F);

impl<F> Handler for FnHandler<F>
where
    F: Fn(&mut Request<'_>) -> HandlerResult + Send + Sync + 'static,
{
    fn handle(&self, r: &mut Request<'_>) -> HandlerResult {
        (self.0)(r)
    }
}

/// One request and its response: the per-request half of Python's
/// `BaseHTTPRequestHandler` (its instance attributes and methods).
///
/// The fields are the parsed request, as Python names them; the methods
/// write the response.
pub struct Request<'a> {
    /// The method, e.g. `GET` (Python's `command`).
    pub command: &'a str,
    /// The request target exactly as sent, query string included, e.g.
    /// `/?foo=bar`.
    pub path: &'a str,
    /// The version the client sent, e.g. `HTTP/1.1`.
    pub request_version: &'a str,
    /// The whole request line, e.g. `GET /?foo=bar HTTP/1.1`.
    pub requestline: &'a str,
    /// The request's header fields.
    pub headers: Headers<'a>,
    /// The client's address and port: the socket's peer, unless a proxy in
    /// front says whom it relays. With
    /// [`ServerConfig::proxy_protocol`](crate::ServerConfig::proxy_protocol),
    /// the address the connection's PROXY header carries (the peer's own
    /// for `LOCAL` and `UNKNOWN` headers); from a peer in
    /// [`ServerConfig::trusted_proxies`](crate::ServerConfig::trusted_proxies),
    /// the address its forwarded header names, with the peer's port (port 0
    /// behind a proxy on a Unix socket, which has none). It is what the log
    /// lines show. Shown as `IP:PORT`, or `unix` for a client on a Unix
    /// domain socket.
    pub client_address: ClientAddress,
    /// The address and port of the socket's other end, whatever a proxy
    /// says: the proxy itself when there is one, else the same as
    /// [`client_address`](Request::client_address).
    pub peer_address: ClientAddress,
    /// The request body: reads exactly the body, whatever its framing, then
    /// end of file.
    pub rfile: Rfile<'a>,
    /// The response body: write to it after [`end_headers`](Request::end_headers).
    pub wfile: Wfile<'a>,
    pub(crate) handler: &'a dyn Handler,
    pub(crate) version: Version,
}

impl<'a> Request<'a> {
    /// The version the client speaks: `HTTP/1.0`, or `HTTP/1.1` for any
    /// other 1.x.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The method as a typed [`http::Method`].
    pub fn method(&self) -> http::Method {
        http::Method::from_bytes(self.command.as_bytes()).unwrap_or(http::Method::GET)
    }

    /// Starts the response: queues the status line with the standard reason
    /// phrase, logs the request with [`Handler::log_request`], and adds the
    /// `Server` and `Date` headers, and the handler's
    /// [`extra_headers`](Handler::extra_headers). Accepts a `u16` or a [`StatusCode`].
    ///
    /// Nothing is sent yet: the head goes out with the first body bytes, on
    /// [`flush_headers`](Request::flush_headers), or when the handler returns.
    pub fn send_response<S: TryInto<StatusCode>>(&mut self, code: S) -> io::Result<()> {
        let code = to_status(code)?;
        self.send_response_message(code, code.canonical_reason().unwrap_or(""))
    }

    /// [`send_response`](Request::send_response) with a reason phrase of your
    /// own (Python's `message` argument).
    pub fn send_response_message<S: TryInto<StatusCode>>(
        &mut self,
        code: S,
        message: &str,
    ) -> io::Result<()> {
        let code = to_status(code)?;
        let handler = self.handler;
        handler.log_request(self, code, None);
        self.wfile.start(code.as_u16(), message)?;
        self.wfile
            .server_and_date(handler.server_version(), handler.sys_version())?;
        handler.extra_headers(self)
    }

    /// Queues only the status line: no log line, no `Server` or `Date`.
    /// Used for interim responses such as `100 Continue`.
    pub fn send_response_only<S: TryInto<StatusCode>>(&mut self, code: S) -> io::Result<()> {
        let code = to_status(code)?;
        self.wfile
            .start(code.as_u16(), code.canonical_reason().unwrap_or(""))
    }

    /// Queues a header line. The value is anything that displays: text or a
    /// number. A name that is not a token, or a value containing CR, LF or
    /// NUL, is refused with an error of kind `InvalidInput` and nothing is
    /// queued, so a response can never be split.
    ///
    /// `Content-Length` fixes the body's length (writing more is an error);
    /// `Transfer-Encoding` means the handler frames the body itself;
    /// `Connection: close` or `keep-alive` decides whether the connection
    /// persists, as in Python.
    pub fn send_header(&mut self, name: &str, value: impl fmt::Display) -> io::Result<()> {
        self.wfile.header(name, &value)
    }

    /// Ends the headers. An interim (1xx) response is sent at once; a final
    /// one waits for its body (see [`Wfile`]).
    pub fn end_headers(&mut self) -> io::Result<()> {
        self.wfile.end_headers()
    }

    /// Sends the queued head now, ending the headers if need be. The body
    /// framing is chosen at this point: the `Content-Length` you sent, else
    /// chunked (HTTP/1.1 clients) or until close (HTTP/1.0 clients).
    pub fn flush_headers(&mut self) -> io::Result<()> {
        self.wfile.flush_headers()
    }

    /// Sends a complete error response: the status line, `Server`, `Date`,
    /// `Connection: close`, and an HTML page naming the status, its standard
    /// message and explanation. The connection closes afterwards, as in
    /// Python. No body for `HEAD`, 1xx, 204 and 304.
    ///
    /// For your own message, extra headers or a connection kept open, see
    /// [`send_error_details`](Request::send_error_details).
    pub fn send_error<S: TryInto<StatusCode>>(&mut self, code: S) -> io::Result<()> {
        self.send_error_details(code, ErrorDetails::default())
    }

    /// [`send_error`](Request::send_error) with your own message and
    /// explanation (Python's `message` and `explain`). Both are HTML-escaped.
    ///
    /// If a response was started but nothing was sent yet, it is replaced;
    /// if its head was already sent, this is an error.
    pub fn send_error_message<S: TryInto<StatusCode>>(
        &mut self,
        code: S,
        message: Option<&str>,
        explain: Option<&str>,
    ) -> io::Result<()> {
        self.send_error_details(
            code,
            ErrorDetails {
                message,
                explain,
                ..ErrorDetails::default()
            },
        )
    }

    /// [`send_error`](Request::send_error) with everything an error response
    /// can say besides its status: Python's `message` and `explain`, headers
    /// of your own, and whether the connection stays open. See
    /// [`ErrorDetails`] for each.
    ///
    /// Some statuses are only complete with a header that tells the client
    /// what to do next, and this is how to send it with the standard page:
    ///
    /// | status | header | tells the client |
    /// | --- | --- | --- |
    /// | 401 Unauthorized | `WWW-Authenticate` (required, RFC 9110 §11.6.1) | how to authenticate |
    /// | 405 Method Not Allowed | `Allow` (required, RFC 9110 §15.5.6) | which methods work |
    /// | 416 Range Not Satisfiable | `Content-Range: bytes */LEN` (RFC 9110 §15.5.17) | how long the file is |
    /// | 429 Too Many Requests, 503 Service Unavailable | `Retry-After` (RFC 9110 §10.2.3) | when to try again |
    ///
    /// The page sets `Content-Type`, `Content-Length` and, unless
    /// `keep_alive` is set, `Connection` itself: naming one of those (or
    /// `Transfer-Encoding`) in `headers` is refused with an error of kind
    /// `InvalidInput`, and so is a header [`send_header`](Request::send_header)
    /// would refuse (a name that is not a token, a value with CR, LF or NUL).
    /// A refused call sends and changes nothing: the handler may still answer
    /// in another way.
    ///
    /// If a response was started but nothing was sent yet, it is replaced;
    /// if its head was already sent, this is an error.
    ///
    /// A 401 that keeps the connection open, so the client's second try,
    /// with credentials, arrives on the same connection:
    ///
    /// ```
    /// use basehttp::handler::ErrorDetails;
    /// use basehttp::{HttpServer, handler_fn};
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    /// use std::sync::Arc;
    ///
    /// let server = Arc::new(HttpServer::bind("127.0.0.1:0", handler_fn(|r| {
    ///     if r.headers.get("Authorization") != Some("Bearer open-sesame") {
    ///         r.send_error_details(401, ErrorDetails {
    ///             headers: &[("WWW-Authenticate", "Bearer realm=\"files\"")],
    ///             keep_alive: true,
    ///             ..ErrorDetails::default()
    ///         })?;
    ///         return Ok(());
    ///     }
    ///     r.send_response(200)?;
    ///     r.end_headers()?;
    ///     r.wfile.write_all(b"welcome")?;
    ///     Ok(())
    /// }))?);
    /// let running = Arc::clone(&server);
    /// let thread = std::thread::spawn(move || running.serve_forever());
    ///
    /// let mut client = TcpStream::connect(server.local_addr())?;
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\
    ///     GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer open-sesame\r\n\
    ///     Connection: close\r\n\r\n")?;
    /// let mut both = String::new();
    /// client.read_to_string(&mut both)?;
    /// assert!(both.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    /// assert!(both.contains("WWW-Authenticate: Bearer realm=\"files\"\r\n"));
    /// assert!(both.contains("<p>Error code: 401</p>"));
    /// // The same connection answered the second request.
    /// assert!(both.contains("HTTP/1.1 200 OK\r\n"));
    /// assert!(both.ends_with("\r\n\r\nwelcome"));
    ///
    /// server.shutdown();
    /// thread.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_error_details<S: TryInto<StatusCode>>(
        &mut self,
        code: S,
        details: ErrorDetails<'_>,
    ) -> io::Result<()> {
        let code = to_status(code)?;
        if self.wfile.committed() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "send_error called after the response head was sent",
            ));
        }
        // Every header is checked before anything is queued, so a refused
        // call leaves the response as it was.
        for &(name, value) in details.headers {
            check_error_header(name, value)?;
        }
        self.wfile.reset();
        let message = details
            .message
            .unwrap_or(code.canonical_reason().unwrap_or("???"));
        let explain = details.explain.unwrap_or(status::explanation(code));
        self.log_error(format_args!("code {}, message {}", code.as_u16(), message));
        // The reason phrase must stay on one line whatever the caller passed.
        let reason: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.send_response_message(code, &reason)?;
        if !details.keep_alive {
            self.send_header("Connection", "close")?;
        }
        for &(name, value) in details.headers {
            self.send_header(name, value)?;
        }
        let handler = self.handler;
        let code_num = code.as_u16();
        let has_body = code_num >= 200 && !matches!(code_num, 204 | 205 | 304);
        let body = if has_body {
            let page = handler.error_message_format(
                code,
                &status::html_escape(message, false),
                &status::html_escape(explain, false),
            );
            self.send_header("Content-Type", handler.error_content_type())?;
            self.send_header("Content-Length", page.len())?;
            Some(page)
        } else {
            None
        };
        self.end_headers()?;
        if let Some(page) = body {
            self.wfile.write_all(page.as_bytes())?;
        }
        Ok(())
    }

    /// Answers 501 `Unsupported method ('X')`: what every `do_*` method does
    /// by default.
    pub fn unsupported_method(&mut self) -> HandlerResult {
        let message = format!("Unsupported method ({:?})", self.command).replace('"', "'");
        self.send_error_message(StatusCode::NOT_IMPLEMENTED, Some(&message), None)?;
        Ok(())
    }

    /// Whether the connection closes after this response. It starts out
    /// `true` for HTTP/1.0 exchanges without keep-alive and for
    /// `Connection: close`, `false` otherwise.
    pub fn close_connection(&self) -> bool {
        self.wfile.close
    }

    /// Sets whether the connection closes after this response (Python's
    /// `self.close_connection = True`). Set it before the head is sent so the
    /// response can say `Connection: close`.
    pub fn set_close_connection(&mut self, close: bool) {
        self.wfile.close = close;
    }

    /// The version in the response's status line: the handler's
    /// [`protocol_version`](Handler::protocol_version).
    pub fn protocol_version(&self) -> Version {
        self.wfile.protocol_version
    }

    /// The handler's [`server_version`](Handler::server_version).
    pub fn server_version(&self) -> &str {
        self.handler.server_version()
    }

    /// The handler's [`sys_version`](Handler::sys_version).
    pub fn sys_version(&self) -> &str {
        self.handler.sys_version()
    }

    /// The `Server` header's value: `server_version + " " + sys_version`.
    pub fn version_string(&self) -> String {
        ServerHeader(self.server_version(), self.sys_version()).to_string()
    }

    /// The current time formatted for a `Date` header (IMF-fixdate, RFC 9110
    /// §5.6.7), e.g. `Sun, 09 Dec 2007 16:00:34 GMT`.
    pub fn date_time_string(&self) -> String {
        date::with_http_date(|d| d.to_string())
    }

    /// The current time for log lines, in UTC: `09/Dec/2007 16:00:34`.
    pub fn log_date_time_string(&self) -> String {
        date::log_date_time_string()
    }

    /// The client's IP address as text, for log lines (no reverse DNS lookup,
    /// unlike old Pythons); `unix` for a client on a Unix domain socket.
    pub fn address_string(&self) -> String {
        self.client_address.host().to_string()
    }

    /// Logs a message through [`Handler::log_message`].
    pub fn log_message(&self, message: fmt::Arguments<'_>) {
        self.handler.log_message(self.client_address, message);
    }

    /// Logs an error through [`Handler::log_error`].
    pub fn log_error(&self, message: fmt::Arguments<'_>) {
        self.handler.log_error(self.client_address, message);
    }

    /// Logs the request through [`Handler::log_request`] (done for you by
    /// [`send_response`](Request::send_response)).
    pub fn log_request(&self, code: StatusCode, size: Option<u64>) {
        self.handler.log_request(self, code, size);
    }
}

/// What an error response says besides its status: the arguments of
/// [`Request::send_error_details`], named so that a call spells out only the
/// ones it needs and takes the rest from `..ErrorDetails::default()`.
///
/// The default is exactly [`Request::send_error`]: the standard message and
/// explanation, no extra header, and the connection closed afterwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorDetails<'a> {
    /// The short message: the reason phrase of the status line and the
    /// page's `Message:` line (Python's `message`). `None`: the status's
    /// standard reason phrase, e.g. `Not Found`.
    pub message: Option<&'a str>,
    /// The page's longer explanation (Python's `explain`). `None`: the
    /// standard one for the status, e.g. `Nothing matches the given URI`.
    pub explain: Option<&'a str>,
    /// Headers sent with the page, as `(name, value)`, in order: say a 401's
    /// `WWW-Authenticate` or a 503's `Retry-After`. Not `Content-Type`,
    /// `Content-Length`, `Transfer-Encoding` or `Connection`: the page sets
    /// those itself. Default: none.
    pub headers: &'a [(&'a str, &'a str)],
    /// Whether the connection may serve another request after this one.
    /// `false` (the default, as in Python) sends `Connection: close` and
    /// closes it: after a malformed request the server cannot trust what
    /// follows on the connection. `true` leaves it as the request left it
    /// (open, unless the client asked to close or speaks HTTP/1.0 without
    /// keep-alive): right for a well-formed request that is only refused,
    /// such as a 401 the client will retry with credentials, a 416 or a
    /// 503. A request body the handler did not read is read and discarded
    /// first, up to the server's `max_drain`.
    pub keep_alive: bool,
}

/// The headers an error page sets itself, which
/// [`ErrorDetails::headers`] may not name: they frame the page and decide
/// the connection's fate.
const ERROR_PAGE_HEADERS: [&str; 4] = [
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
];

/// Checks one of [`ErrorDetails::headers`]: not one the page sets itself,
/// and writable as [`Request::send_header`] would check it.
fn check_error_header(name: &str, value: &str) -> io::Result<()> {
    if ERROR_PAGE_HEADERS
        .iter()
        .any(|owned| owned.eq_ignore_ascii_case(name))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("send_error_details: the error page sets {name} itself"),
        ));
    }
    encode::check_header(name, value.as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn to_status<S: TryInto<StatusCode>>(code: S) -> io::Result<StatusCode> {
    code.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "status code must be 100 to 999",
        )
    })
}

/// `server_version + " " + sys_version`, without allocating.
struct ServerHeader<'s>(&'s str, &'s str);

impl fmt::Display for ServerHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1.is_empty() {
            f.write_str(self.0)
        } else {
            write!(f, "{} {}", self.0, self.1)
        }
    }
}
