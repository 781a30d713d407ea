//! The connection model, mode by mode: many concurrent clients, idle and
//! half-sent heads that hold up no one, graceful shutdown with a request in
//! flight, the timeouts, and the connection limit.

mod common;

use basehttp::server::{Concurrency, Pool, Sequential, Threading};
use basehttp::{Handler, HandlerResult, Request, ServerConfig};
use common::{Client, Echo, TIMEOUT, TestServer};
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// A timeout short enough to keep tests quick, long enough for a loaded
/// machine to be on time for everything else.
const SHORT: Duration = Duration::from_millis(300);

fn config_with(f: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut c = common::config();
    f(&mut c);
    c
}

fn answers_200_concurrent_clients<C: Concurrency>() {
    let server = TestServer::<Echo, C>::start(Echo, common::config());
    let addr = server.addr();
    let clients: Vec<_> = (0..200)
        .map(|i| {
            thread::spawn(move || {
                let mut c = Client::connect(addr);
                let first = c.get(&format!("/client/{i}"));
                let second = c.get(&format!("/client/{i}/again"));
                (first, second)
            })
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let (first, second) = client.join().expect("client thread");
        assert_eq!(
            (first.status, first.text()),
            (200, &*format!("/client/{i}"))
        );
        assert_eq!(second.text(), format!("/client/{i}/again"));
    }
    server.stop().expect("serve_forever");
}

#[test]
fn sequential_server_answers_200_concurrent_clients() {
    answers_200_concurrent_clients::<Sequential>();
}

#[test]
fn pool_server_answers_200_concurrent_clients() {
    answers_200_concurrent_clients::<Pool>();
}

#[test]
fn threading_server_answers_200_concurrent_clients() {
    answers_200_concurrent_clients::<Threading>();
}

fn not_held_up_by<C: Concurrency>(stalled_bytes: &[u8], idle_after_response: bool) {
    let server = TestServer::<Echo, C>::start(Echo, common::config());
    let mut stalled = server.connect();
    if idle_after_response {
        assert_eq!(stalled.get("/first").status, 200);
    } else {
        stalled.send(stalled_bytes);
    }
    // The stalled client sends nothing more; another one must be answered
    // (the socket timeout turns a wait behind it into a failure).
    let mut other = server.connect();
    assert_eq!(other.get("/other").text(), "/other");
    drop(stalled);
    server.stop().expect("serve_forever");
}

#[test]
fn sequential_server_is_not_held_up_by_a_half_sent_head() {
    not_held_up_by::<Sequential>(b"GET /slow HTTP/1.1\r\nHost: te", false);
}

#[test]
fn sequential_server_is_not_held_up_by_an_idle_keep_alive_client() {
    not_held_up_by::<Sequential>(b"", true);
}

#[test]
fn pool_server_is_not_held_up_by_a_half_sent_head() {
    not_held_up_by::<Pool>(b"GET /slow HTTP/1.1\r\n", false);
}

/// `GET /block` waits until the gate opens; every other path answers at once.
struct Door {
    blocked: Mutex<usize>,
    open: Mutex<bool>,
    changed: Condvar,
}

impl Handler for Door {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        if r.path == "/block" {
            *self.blocked.lock().unwrap() += 1;
            self.changed.notify_all();
            let open = self.open.lock().unwrap();
            let (open, _) = self
                .changed
                .wait_timeout_while(open, TIMEOUT, |open| !*open)
                .unwrap();
            assert!(*open, "the test never opened the door");
        }
        r.send_response(200)?;
        r.end_headers()?;
        write!(r.wfile, "done {}", r.path)?;
        Ok(())
    }
}

/// A pool that starts with one worker takes on more while handlers block:
/// three blocked at once, and a fourth client still answered.
#[test]
fn pool_grows_while_handlers_block_and_serves_the_others() {
    let config = config_with(|c| {
        c.workers = 1;
        c.max_workers = 8;
    });
    let door = Door {
        blocked: Mutex::new(0),
        open: Mutex::new(false),
        changed: Condvar::new(),
    };
    let server = TestServer::<Door, Pool>::start(door, config);
    let mut blocked: Vec<Client> = (0..3).map(|_| server.connect()).collect();
    for c in &mut blocked {
        c.send(b"GET /block HTTP/1.1\r\nHost: test\r\n\r\n");
    }
    {
        let door = server.handler();
        let count = door.blocked.lock().unwrap();
        let (count, _) = door
            .changed
            .wait_timeout_while(count, TIMEOUT, |n| *n < 3)
            .unwrap();
        assert_eq!(*count, 3, "three handlers blocked at once");
    }
    let mut other = server.connect();
    assert_eq!(other.get("/other").text(), "done /other");
    *server.handler().open.lock().unwrap() = true;
    server.handler().changed.notify_all();
    for c in &mut blocked {
        assert_eq!(c.read_response("GET").unwrap().text(), "done /block");
    }
    server.stop().expect("serve_forever");
}

/// `GET /slow` reports that it started, then waits to be released; other
/// paths answer at once.
struct Gate {
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl Handler for Gate {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        if r.path == "/slow" {
            let _ = self.entered.lock().unwrap().send(());
            self.release.lock().unwrap().recv_timeout(TIMEOUT)?;
        }
        r.send_response(200)?;
        r.end_headers()?;
        write!(r.wfile, "done {}", r.path)?;
        Ok(())
    }
}

fn shutdown_lets_a_request_in_flight_finish<C: Concurrency>() {
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let gate = Gate {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    let server = TestServer::<Gate, C>::start(gate, common::config());
    let mut idle = server.connect();
    assert_eq!(idle.get("/warm-up").status, 200);
    let mut busy = server.connect();
    busy.send(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n");
    entered.recv_timeout(TIMEOUT).expect("the handler started");
    let stopping = thread::spawn(move || server.stop());
    // Shutdown has begun once it closes the idle keep-alive connection.
    idle.assert_closed();
    release.send(()).expect("release the handler");
    let response = busy
        .read_response("GET")
        .expect("the request in flight completes");
    assert_eq!((response.status, response.text()), (200, "done /slow"));
    busy.assert_closed();
    stopping
        .join()
        .expect("stop thread")
        .expect("serve_forever returns Ok");
}

#[test]
fn sequential_shutdown_lets_a_request_in_flight_finish() {
    shutdown_lets_a_request_in_flight_finish::<Sequential>();
}

#[test]
fn pool_shutdown_lets_a_request_in_flight_finish() {
    shutdown_lets_a_request_in_flight_finish::<Pool>();
}

#[test]
fn threading_shutdown_lets_a_request_in_flight_finish() {
    shutdown_lets_a_request_in_flight_finish::<Threading>();
}

fn keep_alive_timeout_closes_an_idle_connection<C: Concurrency>() {
    let config = config_with(|c| c.keep_alive_timeout = Some(SHORT));
    let server = TestServer::<Echo, C>::start(Echo, config);
    let mut c = server.connect();
    assert_eq!(c.get("/once").status, 200);
    c.assert_closed();
    // A connection that never sends anything is closed the same way.
    server.connect().assert_closed();
    server.assert_serves();
}

#[test]
fn pool_keep_alive_timeout_closes_an_idle_connection() {
    keep_alive_timeout_closes_an_idle_connection::<Pool>();
}

#[test]
fn threading_keep_alive_timeout_closes_an_idle_connection() {
    keep_alive_timeout_closes_an_idle_connection::<Threading>();
}

#[test]
fn idle_connections_survive_under_the_default_keep_alive_timeout() {
    let server = TestServer::<Echo, Pool>::start(Echo, common::config());
    let mut idle: Vec<Client> = (0..50).map(|_| server.connect()).collect();
    for c in &mut idle {
        assert_eq!(c.get("/first").status, 200);
    }
    for c in &mut idle {
        assert_eq!(c.get("/second").text(), "/second");
    }
}

fn stalled_body_gets_408<C: Concurrency>() {
    let config = config_with(|c| c.read_timeout = Some(SHORT));
    let server = TestServer::<Echo, C>::start(Echo, config);
    let mut c = server.connect();
    c.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc");
    let r = c.read_response("POST").expect("a response");
    assert_eq!(r.status, 408, "{r:?}");
    c.assert_closed();
    server.assert_serves();
}

#[test]
fn pool_stalled_body_gets_408() {
    stalled_body_gets_408::<Pool>();
}

#[test]
fn threading_stalled_body_gets_408() {
    stalled_body_gets_408::<Threading>();
}

/// `GET /flood` writes until the write fails; other paths answer at once.
struct Flood;

impl Handler for Flood {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        if r.path == "/flood" {
            let block = vec![b'x'; 1 << 20];
            for _ in 0..4096 {
                r.wfile.write_all(&block)?;
            }
        } else {
            r.wfile.write_all(b"ok")?;
        }
        Ok(())
    }
}

#[test]
fn write_timeout_frees_the_sequential_worker_from_a_client_that_does_not_read() {
    let config = config_with(|c| c.write_timeout = Some(SHORT));
    let server = TestServer::<Flood, Sequential>::start(Flood, config);
    let mut reader_that_never_reads = server.connect();
    reader_that_never_reads.send(b"GET /flood HTTP/1.1\r\nHost: test\r\n\r\n");
    // The one worker is stuck writing until the write timeout; then it must
    // give up on that client and answer this one.
    let mut other = server.connect();
    let r = other.get("/other");
    assert_eq!((r.status, r.text()), (200, "ok"));
    drop(reader_that_never_reads);
}

#[test]
fn connection_limit_pauses_accepting_until_a_connection_closes() {
    let config = config_with(|c| c.max_connections = 2);
    let server = TestServer::<Echo, Pool>::start(Echo, config);
    let mut first = server.connect();
    let mut second = server.connect();
    assert_eq!(first.get("/1").status, 200);
    assert_eq!(second.get("/2").status, 200);
    assert_eq!(server.connection_count(), 2);
    // The third connection waits in the listen queue: no answer while the
    // other two are open.
    let mut third = std::net::TcpStream::connect(server.addr()).unwrap();
    third
        .write_all(b"GET /3 HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    third.set_read_timeout(Some(SHORT)).unwrap();
    let mut byte = [0u8; 1];
    let err = third
        .read(&mut byte)
        .expect_err("no answer past the connection limit");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    // Closing one resumes accepting.
    drop(first);
    third.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 512];
    while !response.ends_with(b"/3") {
        let n = third
            .read(&mut buf)
            .expect("the third connection is served");
        assert!(
            n > 0,
            "closed early: {}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&buf[..n]);
    }
    assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
    drop(second);
}
