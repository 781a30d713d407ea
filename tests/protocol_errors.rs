//! Every row of INTERFACE.md's error table, over a real socket: the client
//! gets the documented status as an HTML error page, the connection closes,
//! and the server goes on to serve a fresh connection.
//!
//! These use `HttpServer`, which serves one connection at a time, so "still
//! serves" means the very thread that met the bad request moved on.

mod common;

use basehttp::{Handler, HandlerResult, Request, ServerConfig};
use common::{Echo, Response};
use std::io::Write;
use std::time::Duration;

/// Sends `raw` on a fresh connection and checks that the answer is a `status`
/// error page after which the connection closes; then that the server still
/// serves. Returns the error response.
fn rejected_with(config: ServerConfig, raw: &[u8], status: u16) -> Response {
    rejected_by(Echo, config, raw, status)
}

/// [`rejected_with`] on a server running `handler`.
fn rejected_by<H: Handler>(handler: H, config: ServerConfig, raw: &[u8], status: u16) -> Response {
    let server = common::serve_sequential_with(config, handler);
    let response = {
        let mut c = server.connect();
        c.send(raw);
        let r = c.read_response("GET").expect("an error response");
        assert_eq!(
            r.status,
            status,
            "request {:?} got {r:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        );
        assert_eq!(r.version, "HTTP/1.1");
        assert_eq!(r.header("Connection"), Some("close"));
        assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
        assert!(r.text().contains(&format!("Error code: {status}")), "{r:?}");
        c.assert_closed();
        r
    };
    server.assert_serves();
    response
}

fn rejects(raw: &[u8], status: u16) -> Response {
    rejected_with(common::config(), raw, status)
}

/// [`rejects`], and checks that the error page says `message`.
fn rejects_saying(raw: &[u8], status: u16, message: &str) {
    let r = rejects(raw, status);
    assert!(r.text().contains(message), "{r:?}");
}

#[test]
fn malformed_request_line_is_400() {
    rejects(b"GET /\r\nHost: x\r\n\r\n", 400);
    rejects(b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    rejects(b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400);
}

#[test]
fn bad_version_syntax_is_400() {
    rejects(b"GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400);
    rejects(b"GET / HTTP/11\r\nHost: x\r\n\r\n", 400);
    rejects(b"GET / http/1.1\r\nHost: x\r\n\r\n", 400);
}

#[test]
fn space_before_header_colon_is_400() {
    rejects(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
}

#[test]
fn obsolete_line_folding_is_400() {
    rejects(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
        400,
    );
}

#[test]
fn header_line_without_colon_is_400() {
    rejects(b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400);
}

#[test]
fn missing_host_on_http11_is_400() {
    let r = rejects(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
    assert!(r.text().contains("Missing Host header"), "{r:?}");
}

#[test]
fn two_host_headers_are_400() {
    rejects(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

#[test]
fn host_with_userinfo_is_400() {
    rejects_saying(
        b"GET / HTTP/1.1\r\nHost: user@x\r\n\r\n",
        400,
        "Bad Host header",
    );
    rejects(b"GET / HTTP/1.1\r\nHost: user:pw@x:80\r\n\r\n", 400);
}

#[test]
fn host_with_a_path_is_400() {
    rejects_saying(
        b"GET / HTTP/1.1\r\nHost: x/path\r\n\r\n",
        400,
        "Bad Host header",
    );
}

#[test]
fn host_with_a_bad_port_is_400() {
    rejects(b"GET / HTTP/1.1\r\nHost: x:http\r\n\r\n", 400);
}

#[test]
fn empty_host_in_origin_form_is_400() {
    rejects_saying(b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "Bad Host header");
}

/// Sends one request on a fresh connection and returns the response.
fn answer<H: Handler>(handler: H, raw: &[u8], method: &str) -> Response {
    let server = common::serve_sequential(handler);
    let mut c = server.connect();
    c.send(raw);
    c.read_response(method).expect("a response")
}

#[test]
fn empty_host_in_absolute_form_is_accepted() {
    // RFC 9112 §3.2.2: the target's authority is used, the Host ignored.
    let r = answer(Echo, b"GET http://x/abs HTTP/1.1\r\nHost:\r\n\r\n", "GET");
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn ip_literal_hosts_are_accepted() {
    for host in ["[::1]:8000", "[v1.x]", "127.0.0.1:8000", "ex%41mple.com:"] {
        let raw = format!("GET /h HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let r = answer(Echo, raw.as_bytes(), "GET");
        assert_eq!(r.status, 200, "{host}: {r:?}");
    }
}

#[test]
fn raw_non_ascii_in_the_target_is_400() {
    // RFC 3986 §2.1: "/café" must be sent as "/caf%C3%A9".
    rejects_saying(
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
        "Bad request target",
    );
}

#[test]
fn raw_control_in_the_target_is_400() {
    rejects(b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    rejects(b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

/// A chunked POST whose first chunk-size line is `line`.
fn chunked_post(line: &[u8]) -> Vec<u8> {
    [
        b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        line,
        b"\r\nhello\r\n0\r\n\r\n",
    ]
    .concat()
}

#[test]
fn whitespace_ending_a_chunk_size_line_is_400() {
    rejects_saying(&chunked_post(b"5 "), 400, "Bad chunk size");
}

#[test]
fn chunk_extension_without_a_name_is_400() {
    rejects_saying(&chunked_post(b"5;"), 400, "Bad chunk extension");
}

#[test]
fn chunk_extension_name_not_a_token_is_400() {
    rejects_saying(&chunked_post(b"5;bad[=x"), 400, "Bad chunk extension");
}

#[test]
fn chunk_extension_value_not_a_token_is_400() {
    rejects(&chunked_post(b"5;a=b[c"), 400);
}

#[test]
fn whitespace_before_a_chunk_extension_is_accepted() {
    // RFC 9112 §7.1.1: BWS before the ";".
    let r = answer(Echo, &chunked_post(b"5 ;a=b"), "POST");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"hello");
}

#[test]
fn conflicting_content_lengths_are_400() {
    rejects(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    );
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    rejects(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\n",
        400,
    );
}

#[test]
fn chunked_not_last_is_400() {
    rejects(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn request_line_over_64_kib_is_414() {
    let mut raw = b"GET /".to_vec();
    raw.resize(raw.len() + 70 * 1024, b'a');
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    rejects(&raw, 414);
}

#[test]
fn header_line_over_64_kib_is_431() {
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    raw.resize(raw.len() + 70 * 1024, b'a');
    raw.extend_from_slice(b"\r\n\r\n");
    rejects(&raw, 431);
}

#[test]
fn one_hundred_and_one_header_lines_are_431() {
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100 {
        write!(raw, "X-Header-{i}: {i}\r\n").unwrap();
    }
    raw.extend_from_slice(b"\r\n");
    rejects(&raw, 431);
}

#[test]
fn one_hundred_header_lines_are_accepted() {
    let server = common::serve_sequential(Echo);
    let mut raw = b"GET /many HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..99 {
        write!(raw, "X-Header-{i}: {i}\r\n").unwrap();
    }
    raw.extend_from_slice(b"\r\n");
    let mut c = server.connect();
    c.send(&raw);
    let r = c.read_response("GET").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "/many");
}

#[test]
fn head_over_256_kib_is_431() {
    // Five header lines of 60 KiB: each under the line limit, 300 KiB in all.
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..5 {
        write!(raw, "X-Big-{i}: ").unwrap();
        raw.resize(raw.len() + 60 * 1024, b'a');
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    rejects(&raw, 431);
}

fn body_limit(max: u64) -> ServerConfig {
    ServerConfig {
        max_body_size: Some(max),
        ..common::config()
    }
}

#[test]
fn content_length_over_the_body_limit_is_413() {
    // The head alone: the server must answer without waiting for the body.
    let r = rejected_with(
        body_limit(1000),
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
        413,
    );
    assert!(r.text().contains("Request body too large"), "{r:?}");
}

#[test]
fn content_length_at_the_body_limit_is_accepted() {
    let server = common::serve_sequential_with(body_limit(1000), Echo);
    let body = common::pattern(1000);
    let mut raw = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".to_vec();
    raw.extend_from_slice(&body);
    let mut c = server.connect();
    c.send(&raw);
    let r = c.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
}

#[test]
fn chunked_body_growing_past_the_limit_is_413() {
    // Echo reads the body through rfile, which fails once it passes 1000
    // bytes; the handler's error becomes the 413.
    let mut raw =
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        raw.extend_from_slice(b"190\r\n"); // 400 bytes
        raw.resize(raw.len() + 400, b'z');
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    rejected_with(body_limit(1000), &raw, 413);
}

/// A handler with `do_get` only: every other method is 501.
struct GetOnly;

impl Handler for GetOnly {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(b"get")?;
        Ok(())
    }
}

#[test]
fn method_without_handler_is_501() {
    let server = common::serve_sequential(GetOnly);
    {
        let mut c = server.connect();
        c.send(b"SPAM / HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = c.read_response("SPAM").unwrap();
        assert_eq!(r.status, 501);
        assert!(r.text().contains("Unsupported method ('SPAM')"), "{r:?}");
        assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
        assert_eq!(r.header("Connection"), Some("close"));
        c.assert_closed();
    }
    server.assert_serves();
}

/// A handler that answers every method through the fallback.
struct AnyMethod;

impl Handler for AnyMethod {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        self.do_method(r)
    }

    fn do_method(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        let command = r.command.to_owned();
        r.wfile.write_all(command.as_bytes())?;
        Ok(())
    }
}

#[test]
fn method_over_32_bytes_is_501() {
    // Even a handler that takes any method never sees it (RFC 9112 §3).
    let method = "M".repeat(33);
    let raw = format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = rejected_by(AnyMethod, common::config(), raw.as_bytes(), 501);
    assert!(
        r.text()
            .contains("Unsupported method (longer than 32 bytes)"),
        "{r:?}"
    );
    // Nor does a request line over the limit because of its method get 414.
    let mut raw = "M".repeat(70 * 1024).into_bytes();
    raw.extend_from_slice(b" / HTTP/1.1\r\nHost: x\r\n\r\n");
    rejected_by(AnyMethod, common::config(), &raw, 501);
}

#[test]
fn method_of_32_bytes_reaches_the_handler() {
    let method = "M".repeat(32);
    let raw = format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = answer(AnyMethod, raw.as_bytes(), &method);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), method);
}

#[test]
fn unsupported_transfer_coding_is_501() {
    rejects(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    );
}

#[test]
fn http2_request_line_is_505() {
    rejects(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    rejects(b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505);
}

#[test]
fn client_stopping_mid_head_gets_408() {
    let config = ServerConfig {
        head_timeout: Some(Duration::from_millis(200)),
        ..common::config()
    };
    // The head never ends; reading the response waits for the server's timeout.
    rejected_with(config, b"GET / HTTP/1.1\r\nHost: x\r\nX-Partial: y", 408);
}
