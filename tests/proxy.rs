//! The PROXY protocol over real sockets (`ServerConfig::proxy_protocol`):
//! the address a header carries reaches the handler and the log line, the
//! socket's peer stays in `peer_address`, and a connection without a valid
//! header, or too slow to send one, is closed unanswered without holding a
//! worker. Then trusted proxies and their forwarded headers
//! (`ServerConfig::trusted_proxies`, `forwarded_header`), alone and behind
//! a PROXY header; HAProxy itself in front, where it is installed; and the
//! binary's options.

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::server::{Concurrency, Sequential, Threading};
use basehttp::{ClientAddress, Handler, HandlerResult, Request, ServerConfig};
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
    logged: Mutex<Vec<ClientAddress>>,
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

    fn log_message(&self, client: ClientAddress, _: fmt::Arguments<'_>) {
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
        [ClientAddress::Tcp("192.0.2.7:5555".parse().unwrap())]
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
            .all(|a| a.ip().is_some_and(|ip| ip.is_loopback()))
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
    let Some(program) = process::require("haproxy", "BASEHTTP_REQUIRE_HAPROXY", "haproxy") else {
        return;
    };
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
    let mut haproxy = std::process::Command::new(&program)
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
    assert!(
        server
            .handler()
            .logged
            .lock()
            .unwrap()
            .contains(&ClientAddress::Tcp(me))
    );
}

/// A TCP connection to `to` from the address `from` (any port).
fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect_timeout(&to.into(), TIMEOUT)?;
    Ok(socket.into())
}

/// The binary with `options`, serving a directory with `hello.txt` on
/// 127.0.0.1 (the directory lives as long as the first value).
fn start_binary(options: &[&str]) -> (tempfile::TempDir, process::Process) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    let server = process::Process::start(
        process::basehttp()
            .args(options)
            .args(["-b", "127.0.0.1", "0"])
            .current_dir(dir.path()),
    );
    (dir, server)
}

/// `basehttp --proxy-protocol`: the log line shows the carried address; a
/// connection without a header is closed unanswered.
#[test]
fn the_binary_logs_the_address_of_the_proxy_header() {
    let (_dir, mut server) = start_binary(&["--proxy-protocol"]);
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

fn trusting(networks: &[&str]) -> ServerConfig {
    ServerConfig {
        trusted_proxies: networks.iter().map(|n| n.parse().unwrap()).collect(),
        ..common::config()
    }
}

/// Sends a `GET` with `headers` (whole lines with their CRLFs) and returns
/// the body and the client's own address.
fn get_with_headers(server: SocketAddr, first: &[u8], headers: &str) -> (String, SocketAddr) {
    let request = format!("GET / HTTP/1.1\r\nHost: test\r\n{headers}\r\n");
    let mut c = Client::connect(server);
    c.send(first);
    c.send(request.as_bytes());
    let r = c.read_response("GET").expect("an answer");
    assert_eq!(r.status, 200, "{r:?}");
    (r.text().to_string(), c.local_addr())
}

/// For each `(headers, ip)`: a request with those headers is answered with
/// `ip` as its client's address, and the peer's port (the port shown is
/// always the peer's).
fn assert_clients(server: SocketAddr, cases: &[(&str, &str)]) {
    for (headers, want) in cases {
        let (body, me) = get_with_headers(server, b"", headers);
        let want = format!("client={want}:{} peer={me}", me.port());
        assert_eq!(body, want, "{headers}");
    }
}

#[test]
fn a_trusted_peer_names_the_client_in_x_forwarded_for() {
    let server = start::<Sequential>(trusting(&["127.0.0.0/8"]));
    let cases = [
        ("X-Forwarded-For: 192.0.2.1\r\n", "192.0.2.1"),
        // The right-most untrusted address, over every line, whatever the
        // client put on the left.
        (
            "X-Forwarded-For: 6.6.6.6, 192.0.2.1, 127.0.0.9\r\n",
            "192.0.2.1",
        ),
        (
            "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 192.0.2.1, 127.0.0.9\r\n",
            "192.0.2.1",
        ),
        ("x-forwarded-for: [2001:db8::2]:4711\r\n", "[2001:db8::2]"),
        // RFC 7239's header is not the one read.
        ("Forwarded: for=192.0.2.1\r\n", "127.0.0.1"),
        // An entry that is not an address: the peer.
        ("X-Forwarded-For: 192.0.2.1, unknown\r\n", "127.0.0.1"),
        ("", "127.0.0.1"),
    ];
    assert_clients(server.addr(), &cases);
    let logged = server.handler().logged.lock().unwrap();
    assert_eq!(logged[0].host().to_string(), "192.0.2.1");
}

#[test]
fn forwarded_is_read_instead_when_chosen() {
    let config = ServerConfig {
        forwarded_header: "forwarded".parse().unwrap(),
        ..trusting(&["127.0.0.1"])
    };
    let server = start::<Sequential>(config);
    let cases = [
        (
            "Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43\r\n",
            "192.0.2.60",
        ),
        (
            "Forwarded: for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\"\r\n",
            "[2001:db8:cafe::17]",
        ),
        ("X-Forwarded-For: 192.0.2.1\r\n", "127.0.0.1"),
        ("Forwarded: for=unknown\r\n", "127.0.0.1"),
    ];
    assert_clients(server.addr(), &cases);
}

#[test]
fn an_untrusted_peer_cannot_choose_its_address() {
    let server = start::<Sequential>(trusting(&["10.0.0.0/8", "::1"]));
    let (body, me) = get_with_headers(server.addr(), b"", "X-Forwarded-For: 192.0.2.1\r\n");
    assert_eq!(body, format!("client={me} peer={me}"));
}

/// On the default dual-stack listener an IPv4 client is an IPv4-mapped
/// IPv6 peer, and an IPv4 network still matches it.
#[test]
fn ipv4_networks_match_ipv4_mapped_peers() {
    let Ok(listener) = TcpListener::bind("[::]:0") else {
        eprintln!("SKIPPED: this host has no IPv6");
        return;
    };
    drop(listener);
    let server = TestServer::<Addresses, Sequential>::start_on(
        "[::]:0",
        Addresses::default(),
        trusting(&["127.0.0.0/8"]),
    );
    let to = SocketAddr::from(([127, 0, 0, 1], server.addr().port()));
    let (body, me) = get_with_headers(to, b"", "X-Forwarded-For: 192.0.2.1\r\n");
    let peer = format!("[::ffff:{}]:{}", me.ip(), me.port());
    assert_eq!(body, format!("client=192.0.2.1:{} peer={peer}", me.port()));
}

/// With both a PROXY header and a forwarded header, the PROXY header's
/// address is the peer of the walk: it wins unless it is a trusted proxy
/// itself (an HTTP proxy behind a TCP one).
#[test]
fn a_proxy_header_wins_unless_its_address_is_a_trusted_proxy() {
    let config = ServerConfig {
        proxy_protocol: true,
        ..trusting(&["127.0.0.1", "10.0.0.0/8"])
    };
    let server = start::<Sequential>(config);
    let untrusted = b"PROXY TCP4 192.0.2.7 127.0.0.1 7777 80\r\n";
    let (body, me) = get_with_headers(server.addr(), untrusted, "X-Forwarded-For: 6.6.6.6\r\n");
    assert_eq!(body, format!("client=192.0.2.7:7777 peer={me}"));
    let trusted = b"PROXY TCP4 10.1.1.1 127.0.0.1 1111 80\r\n";
    let (body, me) = get_with_headers(server.addr(), trusted, "X-Forwarded-For: 192.0.2.8\r\n");
    assert_eq!(body, format!("client=192.0.2.8:1111 peer={me}"));
}

#[test]
fn proxy_headers_are_accepted_only_from_trusted_proxies() {
    let config = ServerConfig {
        proxy_protocol: true,
        ..trusting(&["10.0.0.0/8"])
    };
    let server = start::<Sequential>(config);
    let mut c = Client::connect(server.addr());
    c.send(b"PROXY TCP4 192.0.2.7 127.0.0.1 7777 80\r\n");
    c.send(GET);
    match c.read_to_end() {
        Ok(rest) => assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest)),
        // Closed with the request unread: a reset is as good.
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
}

/// `--trusted-proxy` and `--forwarded-header` through the binary, and their
/// bad values: one line on standard error, status 2.
#[test]
fn the_binary_takes_trusted_proxies_and_refuses_bad_ones() {
    let (_dir, mut server) = start_binary(&[
        "--trusted-proxy",
        "10.0.0.0/8",
        "--trusted-proxy",
        "127.0.0.1",
        "--forwarded-header",
        "Forwarded",
    ]);
    let mut c = Client::connect(server.addr());
    c.send(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nForwarded: for=192.0.2.3\r\n\r\n");
    assert_eq!(c.read_response("GET").unwrap().status, 200);
    drop(c);
    let exited = server.terminate();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited.stderr.starts_with("192.0.2.3 - - ["),
        "{}",
        exited.stderr
    );

    for bad in [
        &["--trusted-proxy", "10.0.0.0/33"][..],
        &["--trusted-proxy", "example.com"],
        &["--trusted-proxy", "::1", "--forwarded-header", "x-real-ip"],
        &["--forwarded-header", "forwarded"],
    ] {
        let exited = process::run_to_exit(process::basehttp().args(bad).arg("0"));
        assert_eq!(exited.status.code(), Some(2), "{bad:?}: {exited:?}");
        assert_eq!(exited.stderr.lines().count(), 1, "{bad:?}: {exited:?}");
        assert!(exited.stdout.is_empty(), "{bad:?}: {exited:?}");
    }
    let help = process::run_to_exit(process::basehttp().arg("--help"));
    for option in ["--trusted-proxy", "--forwarded-header"] {
        assert!(help.stdout.contains(option), "{option}: {help:?}");
    }
}
