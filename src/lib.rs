//! basehttp: Python's `http.server` family rebuilt in Rust.
//!
//! The same small vocabulary a Python programmer knows from
//! `BaseHTTPServer` — `do_GET` becomes [`Handler::do_get`], and
//! `send_response`, `send_header`, `end_headers`, `send_error`, `rfile`,
//! `wfile` and `serve_forever` keep their names — on a strict HTTP/1.1
//! engine.
//!
//! # The request/response cycle
//!
//! A client sends a *request*: a request line naming a method, a target and
//! a version (`GET /?foo=bar HTTP/1.1`), header lines (`Host: localhost`), an
//! empty line, and for some methods a body. The server parses all of that,
//! then calls the [`Handler`] method named after the method. The parsed
//! request is the [`Request`] the method receives: [`command`](Request::command),
//! [`path`](Request::path), [`request_version`](Request::request_version),
//! [`headers`](Request::headers), [`client_address`](Request::client_address),
//! and the body in [`rfile`](Request::rfile).
//!
//! The handler answers with a *response*: a status line
//! ([`send_response`](Request::send_response), which also adds the `Server`
//! and `Date` headers), headers ([`send_header`](Request::send_header)), an
//! empty line ([`end_headers`](Request::end_headers)), and a body written to
//! [`wfile`](Request::wfile). The server frames the body for you: a small
//! body goes out with a computed `Content-Length`, a large or flushed one
//! chunked, so connections stay open for the next request (keep-alive).
//!
//! # The seed's first example
//!
//! Python's `BaseHTTPServer_GET.py`, line by line:
//!
//! ```no_run
//! use basehttp::{Handler, HandlerResult, HttpServer, Request};
//! use std::io::Write;
//!
//! struct GetHandler;
//!
//! impl Handler for GetHandler {
//!     fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
//!         let (real_path, query) = r.path.split_once('?').unwrap_or((r.path, ""));
//!         let message = [
//!             "CLIENT VALUES:".to_string(),
//!             format!("client_address={} ({})", r.client_address, r.address_string()),
//!             format!("command={}", r.command),
//!             format!("path={}", r.path),
//!             format!("real path={real_path}"),
//!             format!("query={query}"),
//!             format!("request_version={}", r.request_version),
//!             String::new(),
//!             "SERVER VALUES:".to_string(),
//!             format!("server_version={}", r.server_version()),
//!             format!("sys_version={}", r.sys_version()),
//!             format!("protocol_version={:?}", r.protocol_version()),
//!             String::new(),
//!         ]
//!         .join("\n");
//!         r.send_response(200)?;
//!         r.end_headers()?;
//!         r.wfile.write_all(message.as_bytes())?;
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let server = HttpServer::bind("localhost:8080", GetHandler)?;
//!     println!("Starting server, use <Ctrl-C> to stop");
//!     server.serve_forever()
//! }
//! ```
//!
//! A complete round trip over a real socket:
//!
//! ```
//! use basehttp::{handler_fn, HttpServer};
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::sync::Arc;
//!
//! let server = Arc::new(HttpServer::bind("127.0.0.1:0", handler_fn(|r| {
//!     r.send_response(200)?;
//!     r.send_header("Content-Type", "text/plain")?;
//!     r.end_headers()?;
//!     write!(r.wfile, "you asked for {}", r.path)?;
//!     Ok(())
//! }))?);
//! let running = Arc::clone(&server);
//! let thread = std::thread::spawn(move || running.serve_forever());
//!
//! let mut client = TcpStream::connect(server.local_addr())?;
//! client.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("Content-Length: 20\r\n"));
//! assert!(response.ends_with("\r\n\r\nyou asked for /hello"));
//!
//! server.shutdown();
//! thread.join().unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Layers
//!
//! [`net`] holds the sockets underneath, TCP or Unix domain, and the
//! addresses of both ends; [`proto`] is a pure HTTP/1.1 codec with no I/O; [`config`] holds the
//! server's limits and timeouts; `conn` runs one connection (keep-alive,
//! pipelining, `Expect: 100-continue`, protocol errors); [`handler`] is the
//! API above; the `engine` parks idle connections and runs ready ones on
//! workers; [`server`] listens and picks the concurrency, with sockets
//! inherited or handed on by [`activation`] (systemd's socket activation,
//! restarts that drop nothing); [`files`] is a
//! ready-made handler that serves a directory (`SimpleHTTPRequestHandler`,
//! and the `basehttp` binary's work). Each module uses only those below it
//! (a test, `tests/layers.rs`, holds them to it).
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `cli` | on | the `basehttp` binary (clap, signal-hook); the library never uses it |
//! | `tls` | on | HTTPS through rustls: [`ServerConfig::tls`], the [`tls`] module's loaders |
//!
//! With `default-features = false` the library builds neither clap nor
//! rustls. Without `tls`, [`ServerConfig::tls`] keeps its place but its
//! type, [`config::TlsConfig`], has no values: it is always `None`.

#![warn(missing_docs)]

pub mod activation;
pub mod config;
mod conn;
mod date;
mod engine;
pub mod files;
pub mod form;
pub mod handler;
mod log;
pub mod net;
pub mod proto;
pub mod rfile;
mod sched;
pub mod server;
mod status;
mod sys;
pub mod tls;
mod transport;
pub mod wfile;

pub use config::ServerConfig;
pub use files::SimpleHttpRequestHandler;
pub use form::{FieldStorage, FormConfig, FormError, MultipartReader};
pub use handler::{ErrorDetails, FnHandler, Handler, HandlerResult, Headers, Request, handler_fn};
pub use http::{Method, StatusCode, Version};
pub use net::{ClientAddress, Listener, ServerAddress};
pub use rfile::Rfile;
pub use server::{ForkingHttpServer, HttpServer, PoolHttpServer, Server, ThreadingHttpServer};
pub use wfile::Wfile;
