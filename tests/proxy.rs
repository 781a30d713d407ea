//! The PROXY protocol over real sockets (`ServerConfig::proxy_protocol`):
//! the address a header carries reaches the handler and the log line, the
//! socket's peer stays in `peer_address`, and a connection without a valid
//! header, or too slow to send one, is closed unanswered without holding a
//! worker. Ends with HAProxy itself in front, where it is installed.

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::server::{Concurrency, Sequential, Threading};
use basehttp::{Handler, HandlerResult, Request, ServerConfig};
use common::{Client, TIMEOUT, TestServer};
use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Answers every `GET` with `client=ADDRESS peer=ADDRESS`, and keeps the
/// client address of every log line.
#[derive(Default)]
struct Addresses {
    logged: Mutex<Vec<SocketAddr>>,
}

impl Handler for Addresses {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        let body = format!("client={} peer={}", r.client_address, r.peer_address);
        r.send_response(200)?;
        r.send_header("Content-Length", body.len())?;
        r.end_headers()?;
        r.wfile.write_all(body.as_bytes())?;
        Ok(())
    }

    fn log_message(&self, client: SocketAddr, _: fmt::Arguments<'_>) {
        self.logged.lock().unwrap().push(client);
    }
}

fn proxy_config() -> ServerConfig {
    ServerConfig {
        proxy_protocol: true,
        ..common::config()
    }
}

fn start<C: Concurrency>(config: ServerConfig) -> TestServer<Addresses, C> {
    TestServer::start(Addresses::default(), config)
}

/// A version 2 `PROXY` header for TCP over IPv4.
fn v2_ipv4(source: [u8; 4], source_port: u16, dest: [u8; 4], dest_port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    h.extend_from_slice(&source);
    h.extend_from_slice(&dest);
    h.extend_from_slice(&source_port.to_be_bytes());
    h.extend_from_slice(&dest_port.to_be_bytes());
    h
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

/// Sends `header` then a `GET`, and returns the body of the answer and the
/// client's own address (the server's peer).
fn get_through(server: SocketAddr, header: &[u8]) -> (String, SocketAddr) {
    let mut c = Client::connect(server);
    let mut first = header.to_vec();
    first.extend_from_slice(GET);
    c.send(&first);
    let r = c.read_response("GET").expect("an answer");
    assert_eq!(r.status, 200, "{r:?}");
    (r.text().to_string(), c.local_addr())
}

#[test]
fn a_v1_header_gives_the_client_address_and_the_log_lines() {
    let server = start::<Sequential>(proxy_config());
    let (body, me) = get_through(server.addr(), b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n");
    assert_eq!(body, format!("client=192.0.2.7:5555 peer={me}"));
    assert_eq!(
        *server.handler().logged.lock().unwrap(),
        ["192.0.2.7:5555".parse().unwrap()]
    );
}

#[test]
fn a_v2_header_gives_the_client_address_for_every_request_of_the_connection() {
    let server = start::<Sequential>(proxy_config());
    let mut c = Client::connect(server.addr());
    let mut first = v2_ipv4([198, 51, 100, 9], 40000, [127, 0, 0, 1], 443);
    first.extend_from_slice(GET);
    c.send(&first);
    let want = format!("client=198.51.100.9:40000 peer={}", c.local_addr());
    assert_eq!(c.read_response("GET").unwrap().text(), want);
    // Keep-alive: the next request has no header of its own.
    c.send(GET);
    assert_eq!(c.read_response("GET").unwrap().text(), want);
}

#[test]
fn a_v2_header_over_ipv6_with_tlvs() {
    let server = start::<Sequential>(proxy_config());
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x2b".to_vec();
    h.extend_from_slice(
        &"2001:db8::5"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    h.extend_from_slice(&[0; 15]);
    h.push(1);
    h.extend_from_slice(&[0x1f, 0x90, 0x01, 0xbb]);
    // PP2_TYPE_ALPN "http/1.1" minus the last byte: 7 bytes of TLV.
    h.extend_from_slice(b"\x01\x00\x04http");
    let (body, me) = get_through(server.addr(), &h);
    assert_eq!(body, format!("client=[2001:db8::5]:8080 peer={me}"));
}

#[test]
fn local_and_unknown_headers_leave_the_socket_peer() {
    let server = start::<Sequential>(proxy_config());
    for header in [
        &b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"[..],
        b"PROXY UNKNOWN\r\n",
        b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
    ] {
        let (body, me) = get_through(server.addr(), header);
        assert_eq!(body, format!("client={me} peer={me}"));
    }
}

#[test]
fn a_header_split_across_writes_is_put_together() {
    let server = start::<Sequential>(proxy_config());
    let v1 = b"PROXY TCP6 2001:db8::1 ::1 1234 80\r\n".to_vec();
    let v2 = v2_ipv4([203, 0, 113, 1], 1234, [127, 0, 0, 1], 80);
    for (header, want) in [(v1, "[2001:db8::1]:1234"), (v2, "203.0.113.1:1234")] {
        let mut c = Client::connect(server.addr());
        // One byte per write, each answered by a request on another
        // connection in between, so that the server surely reads them apart.
        for byte in &header {
            c.send(std::slice::from_ref(byte));
            get_through(server.addr(), b"PROXY UNKNOWN\r\n");
        }
        c.send(GET);
        let r = c.read_response("GET").unwrap();
        assert_eq!(r.text(), format!("client={want} peer={}", c.local_addr()));
    }
}

#[test]
fn no_header_or_a_bad_one_closes_unanswered_and_others_are_served() {
    let server = start::<Sequential>(proxy_config());
    for garbage in [
        GET,
        b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\nGET / HTTP/1.1\r\nHost: test\r\n\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x02\x00\x00",
        b"\x16\x03\x01\x00\x05hello",
    ] {
        let mut c = Client::connect(server.addr());
        c.send(garbage);
        c.assert_closed();
        get_through(server.addr(), b"PROXY UNKNOWN\r\n");
    }
    // Unanswered, and not logged either.
    assert!(
        server
            .handler()
            .logged
            .lock()
            .unwrap()
            .iter()
            .all(|a| a.ip().is_loopback())
    );
}

#[test]
fn a_truncated_header_closes_unanswered() {
    let server = start::<Sequential>(proxy_config());
    let mut c = Client::connect(server.addr());
    c.send(b"PROXY TCP4 1.2.3.4 5.6");
    c.shutdown_write();
    c.assert_closed();
}

/// A client that sends nothing, or half a header, is closed after the head
/// timeout; meanwhile the one-at-a-time server answers others, so the
/// silent ones hold no worker.
#[test]
fn a_silent_client_is_closed_after_the_head_timeout_holding_no_worker() {
    let head_timeout = Duration::from_millis(300);
    let config = ServerConfig {
        head_timeout: Some(head_timeout),
        keep_alive_timeout: Some(TIMEOUT * 6),
        ..proxy_config()
    };
    let server = start::<Sequential>(config);
    let started = Instant::now();
    let mut silent = Client::connect(server.addr());
    let mut halfway = Client::connect(server.addr());
    halfway.send(b"PROXY TCP4 ");
    let (body, _) = get_through(server.addr(), b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n");
    assert!(body.starts_with("client=192.0.2.1:1 "));
    silent.assert_closed();
    halfway.assert_closed();
    let waited = started.elapsed();
    assert!(waited >= head_timeout, "closed after {waited:?}");
    assert!(waited < TIMEOUT, "closed after {waited:?}");
}

#[test]
fn the_thread_per_connection_server_reads_the_header_too() {
    let server = start::<Threading>(proxy_config());
    let (body, me) = get_through(server.addr(), b"PROXY TCP4 192.0.2.9 127.0.0.1 9 80\r\n");
    assert_eq!(body, format!("client=192.0.2.9:9 peer={me}"));
    let (body, me) = get_through(server.addr(), b"PROXY UNKNOWN\r\n");
    assert_eq!(body, format!("client={me} peer={me}"));
    let mut c = Client::connect(server.addr());
    c.send(GET);
    c.assert_closed();
    server.assert_serves_with(b"PROXY UNKNOWN\r\n");
}

#[test]
fn without_the_option_the_peer_is_the_client() {
    let server = start::<Sequential>(common::config());
    let (body, me) = get_through(server.addr(), b"");
    assert_eq!(body, format!("client={me} peer={me}"));
    // A header sent anyway is a bad request line.
    let mut c = Client::connect(server.addr());
    c.send(b"PROXY TCP4 192.0.2.9 127.0.0.1 9 80\r\nGET / HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(c.read_response("GET").unwrap().status, 400);
}

/// A free port on 127.0.0.1 for a process that cannot be told port 0: the
/// kernel's choice, released for it. (Another program could take it in
/// between; nothing else in these tests binds fixed ports.)
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// HAProxy in TCP mode with `send-proxy-v2` in front of the server: a
/// client connecting from 127.0.0.2 through it is seen as itself, source
/// port included.
#[test]
fn haproxy_send_proxy_v2_passes_the_client_address() {
    if std::process::Command::new("haproxy")
        .arg("-v")
        .output()
        .is_err()
    {
        // .ci/run installs it and sets this, so that CI cannot skip it.
        let required = std::env::var_os("BASEHTTP_REQUIRE_HAPROXY").is_some_and(|v| v == "1");
        assert!(
            !required,
            "haproxy is not installed, and BASEHTTP_REQUIRE_HAPROXY=1"
        );
        eprintln!("SKIPPED: haproxy is not installed (Debian package `haproxy`)");
        return;
    }
    let server = start::<Sequential>(proxy_config());
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  maxconn 64\n\
             defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n\
             frontend in\n  bind 127.0.0.1:{port}\n  default_backend out\n\
             backend out\n  server basehttp {} send-proxy-v2\n",
            server.addr()
        ),
    )
    .unwrap();
    let mut haproxy = std::process::Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start haproxy");
    let through = SocketAddr::from(([127, 0, 0, 1], port));
    // Until HAProxy listens: connection refused, at most TIMEOUT.
    let deadline = Instant::now() + TIMEOUT;
    let stream = loop {
        match connect_from([127, 0, 0, 2], through) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "haproxy does not listen: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let me = stream.local_addr().unwrap();
    let mut c = Client::from_stream(stream);
    c.send(GET);
    let r = c.read_response("GET");
    let _ = haproxy.kill();
    let _ = haproxy.wait();
    let r = r.expect("an answer through haproxy");
    let (client, peer) = r
        .text()
        .strip_prefix("client=")
        .and_then(|t| t.split_once(" peer="))
        .expect("the body");
    assert_eq!(client, me.to_string(), "the client as haproxy saw it");
    assert!(
        peer.starts_with("127.0.0.1:"),
        "the socket peer is haproxy: {peer}"
    );
    assert!(server.handler().logged.lock().unwrap().contains(&me));
}

/// A TCP connection to `to` from the address `from` (any port).
fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect_timeout(&to.into(), TIMEOUT)?;
    Ok(socket.into())
}

/// `basehttp --proxy-protocol`: the log line shows the carried address; a
/// connection without a header is closed unanswered.
#[test]
fn the_binary_logs_the_address_of_the_proxy_header() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    let mut server = process::Process::start(
        process::basehttp()
            .args(["--proxy-protocol", "-b", "127.0.0.1", "0"])
            .current_dir(dir.path()),
    );
    let mut c = Client::connect(server.addr());
    c.send(b"PROXY TCP4 192.0.2.5 127.0.0.1 5 80\r\n");
    assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
    let mut bare = Client::connect(server.addr());
    bare.send(b"GET /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n");
    bare.assert_closed();
    drop(c);
    let exited = server.terminate();
    assert!(exited.status.success(), "{exited:?}");
    let line = exited
        .stderr
        .lines()
        .find(|l| l.contains("\"GET /hello.txt"));
    assert!(
        line.is_some_and(|l| l.starts_with("192.0.2.5 - - [")),
        "{}",
        exited.stderr
    );
    assert_eq!(exited.stderr.matches("GET /hello.txt").count(), 1);

    let help = process::run_to_exit(process::basehttp().arg("--help"));
    assert!(help.stdout.contains("--proxy-protocol"), "{help:?}");
}
