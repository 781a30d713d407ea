//! Hostile and bursty clients: slow bodies cost no worker, clients below
//! the minimum data rate are cut off, resets free their descriptors, and a
//! full pool answers 503 instead of leaving requests hanging.
//!
//! Most tests use the one-at-a-time server on purpose: with a single worker,
//! a request body that held it would stall every other client, so "another
//! client is answered meanwhile" proves the body cost no worker.

mod common;

use basehttp::config::MinDataRate;
use basehttp::{Handler, HandlerResult, Request, ServerConfig};
use common::{Client, Echo, Gate, TIMEOUT, TestServer, eventually};
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A keep-alive GET on a fresh connection gets its 200.
fn assert_answered(server_addr: std::net::SocketAddr) {
    let mut c = Client::connect(server_addr);
    let r = c.get("/quick");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"/quick");
}

/// The test configuration, with a read timeout so long that only reading
/// ahead can explain another client being served while a body dribbles.
fn patient() -> ServerConfig {
    ServerConfig {
        read_timeout: Some(Duration::from_secs(600)),
        min_body_rate: None,
        ..common::config()
    }
}

#[test]
fn a_slow_body_costs_no_worker_in_the_one_at_a_time_server() {
    let server = common::serve_sequential_with(patient(), Echo);
    let mut slow = server.connect();
    slow.send(b"POST /form HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhello");
    // The lone worker is free: the slow form waits in the poller.
    assert_answered(server.addr());
    assert_answered(server.addr());
    slow.send(b"world");
    let r = slow.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"helloworld");
}

#[test]
fn a_slow_chunked_body_costs_no_worker_either() {
    let server = common::serve_sequential_with(patient(), Echo);
    let mut slow = server.connect();
    slow.send(b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert_answered(server.addr());
    slow.send(b"5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n");
    let r = slow.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"helloworld");
    assert_eq!(r.header("X-Trailers"), Some("X-T: 1|"));
}

#[test]
fn a_body_larger_than_the_read_ahead_buffer_streams_to_the_handler() {
    let config = ServerConfig {
        body_buffer: 1024,
        ..patient()
    };
    let server = common::serve_sequential_with(config, Echo);
    let body = common::pattern(100_000);
    let mut c = server.connect();
    c.send(
        format!(
            "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    c.send(&body[..500]);
    // Under the buffer: still parked, the worker free.
    assert_answered(server.addr());
    c.send(&body[500..]);
    let r = c.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
}

#[test]
fn expect_100_continue_is_never_read_ahead() {
    let server = common::serve_sequential_with(patient(), Echo);
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = c.read_head().unwrap();
    assert_eq!(interim.status, 100);
    c.send(b"hello");
    let r = c.read_response("POST").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
}

#[test]
fn connections_waiting_for_the_read_ahead_budget_are_served_in_turn() {
    let config = ServerConfig {
        body_buffer: 4096,
        body_buffer_total: 1000,
        ..patient()
    };
    let server = common::serve_sequential_with(config, Echo);
    let mut a = server.connect();
    a.send(b"POST /a HTTP/1.1\r\nHost: test\r\nContent-Length: 3000\r\n\r\n");
    a.send(&[b'a'; 2000]);
    // The budget is spent by `a`; `b` waits unread, and the worker is free.
    let mut b = server.connect();
    b.send(b"POST /b HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n");
    b.send(&[b'b'; 50]);
    assert_answered(server.addr());
    a.send(&[b'a'; 1000]);
    let r = a.read_response("POST").unwrap();
    assert_eq!((r.status, r.body.len()), (200, 3000));
    b.send(&[b'b'; 50]);
    let r = b.read_response("POST").unwrap();
    assert_eq!((r.status, r.body), (200, vec![b'b'; 100]));
}

/// A rate the tests can fall below quickly: 1 MB/s after 200 ms.
fn strict_rate() -> Option<MinDataRate> {
    Some(MinDataRate {
        bytes_per_second: 1_000_000,
        grace: Duration::from_millis(200),
    })
}

#[test]
fn a_body_below_the_minimum_rate_gets_408_from_the_poller() {
    let config = ServerConfig {
        min_body_rate: strict_rate(),
        ..patient()
    };
    let server = common::serve_sequential_with(config, Echo);
    let mut slow = server.connect();
    slow.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\nhello");
    let r = slow.read_response("POST").unwrap();
    assert_eq!(r.status, 408, "{r:?}");
    assert_eq!(r.header("Connection"), Some("close"));
    slow.assert_closed();
    assert_answered(server.addr());
}

#[test]
fn a_body_below_the_minimum_rate_gets_408_in_the_handler_s_reads_too() {
    // No reading ahead: the handler's rfile waits on the client itself.
    let config = ServerConfig {
        min_body_rate: strict_rate(),
        body_buffer: 0,
        ..patient()
    };
    let server = common::serve_sequential_with(config, Echo);
    let mut slow = server.connect();
    slow.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\nhello");
    let r = slow.read_response("POST").unwrap();
    assert_eq!(r.status, 408, "{r:?}");
    slow.assert_closed();
    assert_answered(server.addr());
}

/// Writes 64 MiB to whoever asks, and records how the writing ended.
#[derive(Default)]
struct Flood {
    ended: Mutex<Option<io::ErrorKind>>,
    changed: Condvar,
}

impl Handler for Flood {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        if r.path != "/flood" {
            return Echo.do_get(r);
        }
        r.send_response(200)?;
        r.end_headers()?;
        let piece = vec![b'x'; 1 << 20];
        let result = (0..64).try_for_each(|_| r.wfile.write_all(&piece));
        *self.ended.lock().unwrap() = Some(
            result
                .as_ref()
                .err()
                .map_or(io::ErrorKind::Other, |e| e.kind()),
        );
        self.changed.notify_all();
        result.map_err(Into::into)
    }
}

#[test]
fn a_client_that_reads_below_the_minimum_rate_is_cut_off() {
    // No write timeout: only the rate can end the response. The kernel
    // takes megabytes before writes wait, and each byte it took earns the
    // client time: 100 MB/s keeps that under a tenth of a second.
    let config = ServerConfig {
        min_response_rate: Some(MinDataRate {
            bytes_per_second: 100_000_000,
            grace: Duration::from_millis(200),
        }),
        write_timeout: None,
        ..common::config()
    };
    let server: TestServer<Flood, basehttp::server::Threading> =
        TestServer::start(Flood::default(), config);
    let mut reader = server.connect();
    reader.send(b"GET /flood HTTP/1.1\r\nHost: test\r\n\r\n");
    // Never read: the server's writes soon wait, and the rate runs out.
    let flood = server.handler();
    let mut ended = flood.ended.lock().unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while ended.is_none() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("the response was not cut off");
        ended = flood.changed.wait_timeout(ended, left).unwrap().0;
    }
    assert_eq!(*ended, Some(io::ErrorKind::TimedOut));
    drop(ended);
    assert_answered(server.addr());
}

#[test]
fn connections_reset_mid_body_are_closed_at_once() {
    let server = common::serve_sequential_with(patient(), Echo);
    let clients: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n")
                .unwrap();
            s.write_all(&[b'x'; 5000]).unwrap();
            s
        })
        .collect();
    eventually("the server sees all 50", TIMEOUT, || {
        server.connection_count() == 50
    });
    for s in clients {
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s); // RST
    }
    eventually(
        "every reset connection is closed",
        Duration::from_secs(2),
        || server.connection_count() == 0,
    );
    assert_answered(server.addr());
}

#[test]
fn a_full_pool_answers_503_with_retry_after_instead_of_leaving_requests_hanging() {
    let config = ServerConfig {
        workers: 1,
        max_workers: 2,
        queue_timeout: Some(Duration::from_millis(100)),
        ..common::config()
    };
    let server: TestServer<Gate, basehttp::server::Pool> =
        TestServer::start(Gate::default(), config);
    let gate = server.handler();
    let blocked: Vec<Client> = (0..2)
        .map(|_| {
            let mut c = server.connect();
            c.send(b"GET /block HTTP/1.1\r\nHost: test\r\n\r\n");
            c
        })
        .collect();
    gate.wait_for_waiters(2);
    // Every worker is blocked and the pool is at max_workers: shed.
    let mut c = server.connect();
    c.send(b"GET /quick HTTP/1.1\r\nHost: test\r\n\r\n");
    let r = c.read_response("GET").unwrap();
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert_eq!(r.header("Connection"), Some("close"));
    c.assert_closed();
    // Open the gate: the blocked requests finish, and the pool serves again.
    gate.set_open(true);
    for mut c in blocked {
        assert_eq!(c.read_response("GET").unwrap().status, 200);
    }
    assert_answered(server.addr());
}
