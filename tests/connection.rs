//! Connection persistence: keep-alive, `Connection: close`, HTTP/1.0,
//! pipelining, and `Expect: 100-continue`.

mod common;

use basehttp::server::{Concurrency, Pool};
use basehttp::{Handler, HandlerResult, Request, Version};
use common::{Echo, TestServer};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    for path in ["/one", "/two", "/three", "/four"] {
        let r = c.get(path);
        assert_eq!(r.status, 200);
        assert_eq!(r.version, "HTTP/1.1");
        assert_eq!(r.text(), path);
        assert_eq!(r.header("Connection"), None, "{r:?}");
    }
}

#[test]
fn connection_close_is_honoured() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    let r = c.get("/first");
    assert_eq!(r.text(), "/first");
    c.send(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.read_response("GET").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "/last");
    assert_eq!(r.header("Connection"), Some("close"));
    c.assert_closed();
}

#[test]
fn http10_request_without_keep_alive_closes() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    c.send(b"GET /old HTTP/1.0\r\n\r\n");
    let r = c.read_response("GET").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "/old");
    assert_eq!(r.header("Content-Length"), Some("4"));
    c.assert_closed();
}

#[test]
fn http10_request_with_keep_alive_stays_open() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    for path in ["/a", "/b"] {
        c.send(format!("GET {path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").as_bytes());
        let r = c.read_response("GET").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), path);
        assert_eq!(r.header("Connection"), Some("keep-alive"), "{r:?}");
        assert_eq!(r.header("Content-Length"), Some("2"));
    }
}

/// Python's default: `protocol_version = "HTTP/1.0"`.
struct Http10Handler;

impl Handler for Http10Handler {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(b"one per connection")?;
        Ok(())
    }

    fn protocol_version(&self) -> Version {
        Version::HTTP_10
    }
}

#[test]
fn http10_protocol_version_closes_after_each_response() {
    let server = common::serve(Http10Handler);
    for _ in 0..2 {
        let mut c = server.connect();
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = c.read_response("GET").unwrap();
        assert_eq!(r.version, "HTTP/1.0");
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "one per connection");
        c.assert_closed();
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    pipelined_in_order(&common::serve(Echo));
    pipelined_in_order(&common::serve_sequential(Echo));
    pipelined_in_order(&TestServer::<Echo, Pool>::start(Echo, common::config()));
}

fn pipelined_in_order<C: Concurrency>(server: &TestServer<Echo, C>) {
    let mut c = server.connect();
    c.send(
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world\
          GET /third HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\n\r\n\
          GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let expected: [(&str, &str); 5] = [
        ("GET", "/first"),
        ("POST", "hello world"),
        ("GET", "/third"),
        ("POST", "abc"),
        ("GET", "/last"),
    ];
    for (method, body) in expected {
        let r = c.read_response(method).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), body);
    }
    c.assert_closed();
}

/// Responses to requests that arrived together leave together: one write,
/// so the client's first read (of a loopback segment) holds all of them.
#[test]
fn pipelined_responses_leave_in_one_write() {
    let server = common::serve_sequential(Echo);
    let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let requests: Vec<u8> = (0..16)
        .flat_map(|i| format!("GET /{i:02} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes())
        .collect();
    s.write_all(&requests).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = std::io::Read::read(&mut s, &mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 16, "{text}");
    assert!(text.ends_with("/15"), "{text}");
}

/// A request that arrives while its connection's previous response is
/// being written is read (the edge-triggered poller must not lose it).
#[test]
fn request_sent_right_after_a_response_is_served_in_every_mode() {
    fn go<C: Concurrency>(server: &TestServer<Echo, C>) {
        let mut c = server.connect();
        for i in 0..200 {
            let path = format!("/{i}");
            assert_eq!(c.get(&path).text(), path);
        }
    }
    go(&common::serve_sequential(Echo));
    go(&TestServer::<Echo, Pool>::start(Echo, common::config()));
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    c.send(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    // The body has not been sent: the server must invite it first.
    let interim = c.read_response("POST").unwrap();
    assert_eq!(interim.version, "HTTP/1.1");
    assert_eq!(interim.status, 100);
    assert_eq!(interim.reason, "Continue");
    c.send(b"hello");
    let r = c.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello");
    // The connection carries on.
    assert_eq!(c.get("/after").text(), "/after");
}

/// Refuses every `Expect: 100-continue` upload in `handle_expect_100`;
/// `send_417` chooses between answering itself and leaving it to the server.
struct Refuse {
    send_417: bool,
    post_called: AtomicBool,
}

impl Handler for Refuse {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        Echo.do_get(r)
    }

    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        self.post_called.store(true, Ordering::SeqCst);
        Echo.do_post(r)
    }

    fn handle_expect_100(
        &self,
        r: &mut Request<'_>,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        if self.send_417 {
            r.send_error(417)?;
        }
        Ok(false)
    }
}

fn refused_upload_gets_417(send_417: bool) {
    let server = common::serve(Refuse {
        send_417,
        post_called: AtomicBool::new(false),
    });
    {
        let mut c = server.connect();
        c.send(
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\
              Expect: 100-continue\r\n\r\n",
        );
        // The client never sends its body.
        let r = c.read_response("POST").unwrap();
        assert_eq!(r.status, 417, "{r:?}");
        assert_eq!(r.header("Connection"), Some("close"));
        assert!(r.text().contains("Error code: 417"));
        c.assert_closed();
    }
    assert!(!server.handler().post_called.load(Ordering::SeqCst));
    server.assert_serves();
}

#[test]
fn handle_expect_100_can_refuse_with_417() {
    refused_upload_gets_417(true);
}

#[test]
fn handle_expect_100_returning_false_gets_the_default_417() {
    refused_upload_gets_417(false);
}
