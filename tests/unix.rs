//! Unix domain sockets: every server type serves on one (`bind_unix`),
//! clients on it are `unix` (in `client_address`, `address_string` and the
//! log lines) unless `--trusted-proxy unix` believes their forwarded
//! header, and the binary's `-b unix:PATH` follows INTERFACE.md's rules:
//! a stale socket file is replaced, a live socket or another file is
//! refused (one line, exit 2, the file untouched), and the file is removed
//! at exit. (Restarts on a Unix socket: tests/restart.rs; inherited Unix
//! sockets: tests/activation.rs; the forking server: tests/forking.rs.)

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::config::TrustedProxy;
use basehttp::server::{Concurrency, Pool, Sequential, Threading};
use basehttp::{Handler, HandlerResult, Request, Server, ServerConfig};
use common::{Client, Echo, TestServer, pattern};
use process::{Process, TIMEOUT, basehttp, run_to_exit};
use rustix::process::Signal;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `GET /whom` answers `client=… peer=… address_string=…`; everything
/// else as [`Echo`].
struct Whom;

impl Handler for Whom {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        if r.path != "/whom" {
            return Echo.do_get(r);
        }
        let body = format!(
            "client={} peer={} address_string={}",
            r.client_address,
            r.peer_address,
            r.address_string()
        );
        r.send_response(200)?;
        r.send_header("Content-Length", body.len())?;
        r.end_headers()?;
        r.wfile.write_all(body.as_bytes())?;
        Ok(())
    }

    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        Echo.do_post(r)
    }

    fn log_request(&self, _: &Request<'_>, _: basehttp::StatusCode, _: Option<u64>) {}
}

fn socket_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("basehttp.sock")
}

/// A server of concurrency `C` on a Unix socket in `dir`.
fn start<C: Concurrency>(dir: &tempfile::TempDir, config: ServerConfig) -> TestServer<Whom, C> {
    let path = socket_path(dir);
    let server = Server::<Whom, C>::bind_unix_with_config(&path, Whom, config).expect("bind_unix");
    assert_eq!(server.local_addr().unix_path(), Some(path.as_path()));
    assert_eq!(
        server.local_addr().to_string(),
        format!("unix:{}", path.display())
    );
    assert_eq!(server.listeners()[0].socket_file(), Some(path.as_path()));
    TestServer::run(server)
}

/// Keep-alive, a large response, a chunked upload, pipelining: all on one
/// Unix connection; then the server stops and its socket file goes.
fn serves_on_a_unix_socket<C: Concurrency>() {
    let dir = tempfile::tempdir().unwrap();
    let server = start::<C>(&dir, common::config());
    let mut c = server.connect();
    assert_eq!(
        c.get("/whom").text(),
        "client=unix peer=unix address_string=unix"
    );
    assert_eq!(c.get("/large").body, pattern(100_000));
    c.send(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(c.read_response("POST").unwrap().text(), "hello");
    c.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response("GET").unwrap().text(), "/a");
    assert_eq!(c.read_response("GET").unwrap().text(), "/b");
    // A second client at the same time.
    assert_eq!(server.connect().get("/second").text(), "/second");
    drop(c);
    let path = socket_path(&dir);
    server.server().shutdown();
    // Stopped, not closed: the file stays until server_close.
    assert!(path.exists());
    server.close().expect("serve_forever");
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn a_sequential_server_serves_on_a_unix_socket() {
    serves_on_a_unix_socket::<Sequential>();
}

#[test]
fn a_pool_serves_on_a_unix_socket() {
    serves_on_a_unix_socket::<Pool>();
}

#[test]
fn a_threading_server_serves_on_a_unix_socket() {
    serves_on_a_unix_socket::<Threading>();
}

#[test]
fn a_server_made_from_a_unix_listener_leaves_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_path(&dir);
    let listener = UnixListener::bind(&path).unwrap();
    let server = basehttp::HttpServer::from_listener(listener, Whom, common::config()).unwrap();
    assert_eq!(server.listeners()[0].socket_file(), None);
    let server = TestServer::run(server);
    assert_eq!(server.connect().get("/x").text(), "/x");
    server.stop().unwrap();
    // Not the server's file: the program that made it removes it.
    assert!(path.exists());
}

#[test]
fn bind_unix_replaces_only_a_stale_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_path(&dir);
    // Stale: bound, then its listener closed.
    drop(UnixListener::bind(&path).unwrap());
    let server = start::<Sequential>(&dir, common::config());
    // Live: the server just made.
    let e = basehttp::HttpServer::bind_unix(&path, Whom)
        .err()
        .expect("refused");
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
    assert_eq!(server.connect().get("/still").text(), "/still");
    server.stop().unwrap();
    // Another kind of file.
    std::fs::write(&path, "precious").unwrap();
    let e = basehttp::HttpServer::bind_unix(&path, Whom)
        .err()
        .expect("refused");
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

fn trusting(proxies: Vec<TrustedProxy>) -> ServerConfig {
    ServerConfig {
        trusted_proxies: proxies,
        ..common::config()
    }
}

#[test]
fn trusted_proxy_unix_believes_a_unix_peer_s_forwarded_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = start::<Pool>(&dir, trusting(vec![TrustedProxy::Unix]));
    let mut c = server.connect();
    let r = c.ask("GET", "/whom", &["X-Forwarded-For: 192.0.2.1, 203.0.113.9"]);
    // The port shown is the peer's, and a Unix peer has none: 0.
    assert_eq!(
        r.text(),
        "client=203.0.113.9:0 peer=unix address_string=203.0.113.9"
    );
    // No header: the peer itself.
    assert_eq!(
        c.get("/whom").text(),
        "client=unix peer=unix address_string=unix"
    );
    server.stop().unwrap();
}

#[test]
fn a_unix_peer_is_not_trusted_without_trusted_proxy_unix() {
    for proxies in [vec![], vec!["127.0.0.1/32".parse().unwrap()]] {
        let dir = tempfile::tempdir().unwrap();
        let server = start::<Threading>(&dir, trusting(proxies.clone()));
        let r = server
            .connect()
            .ask("GET", "/whom", &["X-Forwarded-For: 203.0.113.9"]);
        assert_eq!(
            r.text(),
            "client=unix peer=unix address_string=unix",
            "{proxies:?}"
        );
        server.stop().unwrap();
    }
}

#[test]
fn hostile_unix_clients_get_the_usual_treatment() {
    let dir = tempfile::tempdir().unwrap();
    let server = start::<Pool>(&dir, common::config());
    let path = socket_path(&dir);
    // Connects and goes at once.
    drop(UnixStream::connect(&path).unwrap());
    // Half a head, then gone.
    let mut half = UnixStream::connect(&path).unwrap();
    half.write_all(b"GET /half HTTP/1.1\r\nHo").unwrap();
    drop(half);
    // Asks for a large response and leaves without reading it, with bytes
    // of its own unread by the server: the server's writes fail (reset).
    let mut rude = UnixStream::connect(&path).unwrap();
    rude.write_all(b"GET /large HTTP/1.1\r\nHost: t\r\n\r\nGET /large HTTP/1.1\r\n")
        .unwrap();
    drop(rude);
    // Garbage: 400, and the connection closes.
    let mut garbage = server.connect();
    garbage.send(b"\x16\x03\x01\x02\x00garbage\r\n\r\n");
    let r = garbage.read_response("GET").expect("an answer");
    assert_eq!(r.status, 400);
    garbage.assert_closed();
    // Everyone else is still served.
    for _ in 0..3 {
        server.assert_serves();
    }
    server.stop().unwrap();
}

// The binary.

/// `basehttp -b unix:PATH ARGS` serving `site`, after its startup line,
/// which must be INTERFACE.md's.
fn start_binary(site: &Path, path: &Path, args: &[&str]) -> Process {
    let mut server = Process::spawn(
        basehttp()
            .arg("-b")
            .arg(format!("unix:{}", path.display()))
            .args(args)
            .current_dir(site),
    );
    let line = server.wait_for_stdout(|l| Some(l.to_owned()));
    assert_eq!(
        line,
        Some(format!("Serving HTTP on unix:{} ...", path.display())),
        "{}",
        server.what
    );
    server
}

/// One request on a new connection to the Unix socket at `path`; the whole
/// response.
fn get(path: &Path, target: &str, headers: &str) -> String {
    let mut s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    dir
}

#[test]
fn curl_gets_a_file_from_the_binary_on_a_unix_socket() {
    let Some(curl) = process::require("curl", "BASEHTTP_REQUIRE_CURL", "curl") else {
        return;
    };
    let dir = site();
    // Large enough for sendfile, and not compressible on the fly.
    let big = pattern(3 << 20);
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    let mut server = start_binary(dir.path(), &path, &[]);
    let out = sockets.path().join("out");
    for file in ["hello.txt", "big.bin"] {
        let exited = run_to_exit(
            Command::new(&curl)
                .args(["-sS", "--fail", "--max-time", "30", "--unix-socket"])
                .arg(&path)
                .arg("-o")
                .arg(&out)
                .arg(format!("http://localhost/{file}")),
        );
        assert!(exited.status.success(), "{exited:?}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(dir.path().join(file)).unwrap(),
            "{file}"
        );
        // The log line names the client `unix`.
        let line = server.wait_for_log(&format!("\"GET /{file} HTTP/1.1\" 200"), TIMEOUT);
        assert!(line.starts_with("unix - - ["), "{line}");
    }
    let exited = server.terminate();
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn the_binary_removes_its_socket_file_on_every_graceful_stop() {
    let dir = site();
    for signal in [Signal::TERM, Signal::INT, Signal::HUP] {
        let sockets = tempfile::tempdir().unwrap();
        let path = socket_path(&sockets);
        let mut server = start_binary(dir.path(), &path, &["-q"]);
        assert!(get(&path, "/hello.txt", "").ends_with("Hello, World!"));
        let exited = server.stop(signal);
        assert_eq!(exited.status.code(), Some(0), "{signal:?}: {exited:?}");
        assert!(
            !path.exists(),
            "{signal:?}: the socket file outlived the server"
        );
    }
}

#[test]
fn the_binary_replaces_a_stale_socket_file() {
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let mut server = start_binary(dir.path(), &path, &["-q"]);
    assert!(get(&path, "/hello.txt", "").ends_with("Hello, World!"));
    assert_eq!(server.terminate().status.code(), Some(0));
    assert!(!path.exists());
}

/// `basehttp -b unix:PATH` exits 2 with one line on standard error and
/// nothing on standard output.
fn refused(site: &Path, path: &Path, args: &[&str]) -> String {
    let exited = run_to_exit(
        basehttp()
            .arg("-b")
            .arg(format!("unix:{}", path.display()))
            .args(args)
            .current_dir(site),
    );
    assert_eq!(exited.status.code(), Some(2), "{exited:?}");
    assert_eq!(exited.stderr.lines().count(), 1, "{exited:?}");
    assert!(exited.stdout.is_empty(), "{exited:?}");
    exited.stderr
}

#[test]
fn the_binary_refuses_a_live_socket_and_leaves_it() {
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    let live = UnixListener::bind(&path).unwrap();
    let message = refused(dir.path(), &path, &[]);
    assert!(message.contains("cannot listen on unix:"), "{message}");
    assert!(message.contains("listening"), "{message}");
    // Still the live socket: a connection reaches its listener.
    let _client = UnixStream::connect(&path).expect("the socket still listens");
    live.set_nonblocking(true).unwrap();
    assert!(live.accept().is_ok());
}

#[test]
fn the_binary_refuses_to_replace_a_file_that_is_not_a_socket() {
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    std::fs::write(&path, "precious").unwrap();
    let message = refused(dir.path(), &path, &[]);
    assert!(message.contains("not a socket"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    // A directory neither.
    let message = refused(dir.path(), sockets.path(), &[]);
    assert!(message.contains("not a socket"), "{message}");
    assert!(sockets.path().is_dir());
}

#[test]
fn the_binary_refuses_a_port_with_a_unix_socket() {
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    let message = refused(dir.path(), &path, &["8000"]);
    assert!(message.contains("PORT"), "{message}");
    assert!(!path.exists());
}

#[test]
fn the_binary_logs_the_forwarded_address_of_a_trusted_unix_proxy() {
    let dir = site();
    for (args, logged) in [
        (&["--trusted-proxy", "unix"][..], "203.0.113.9 - - ["),
        (&[][..], "unix - - ["),
        (&["--trusted-proxy", "127.0.0.1"][..], "unix - - ["),
    ] {
        let sockets = tempfile::tempdir().unwrap();
        let path = socket_path(&sockets);
        let mut server = start_binary(dir.path(), &path, args);
        let response = get(&path, "/hello.txt", "X-Forwarded-For: 203.0.113.9\r\n");
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        let line = server.wait_for_log("\"GET /hello.txt HTTP/1.1\" 200", TIMEOUT);
        assert!(line.starts_with(logged), "{args:?}: {line}");
        assert_eq!(server.terminate().status.code(), Some(0));
    }
}

#[test]
fn a_client_of_the_binary_on_a_unix_socket_can_keep_its_connection() {
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    let mut server = start_binary(dir.path(), &path, &["-q"]);
    let mut c = Client::connect_unix(&path);
    for _ in 0..3 {
        assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
    }
    drop(c);
    assert_eq!(server.terminate().status.code(), Some(0));
}

#[test]
fn a_proxy_protocol_header_from_a_unix_peer_names_the_client() {
    let proxy_config = |proxies: Vec<TrustedProxy>| ServerConfig {
        proxy_protocol: true,
        trusted_proxies: proxies,
        ..common::config()
    };
    let header = b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n";
    // From anyone without --trusted-proxy, and from a trusted Unix peer.
    for proxies in [vec![], vec![TrustedProxy::Unix]] {
        let dir = tempfile::tempdir().unwrap();
        let server = start::<Pool>(&dir, proxy_config(proxies));
        let mut c = server.connect();
        c.send(header);
        assert_eq!(
            c.get("/whom").text(),
            "client=192.0.2.7:5555 peer=unix address_string=192.0.2.7"
        );
        server.stop().unwrap();
    }
    // A Unix peer that is not a trusted proxy is closed unanswered.
    let dir = tempfile::tempdir().unwrap();
    let server = start::<Threading>(&dir, proxy_config(vec!["127.0.0.1".parse().unwrap()]));
    let mut c = server.connect();
    // One write: the server may close as soon as it has read the header.
    c.send(&[&header[..], b"GET /whom HTTP/1.1\r\nHost: t\r\n\r\n"].concat());
    match c.read_to_end() {
        Ok(rest) => assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest)),
        // Closed with the request unread: a reset is as good.
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    server.stop().unwrap();
}

/// HAProxy (`mode http`, `option forwardfor`) with the binary as a Unix
/// socket backend, trusted with `--trusted-proxy unix`: a client connecting
/// from 127.0.0.2 is logged as itself, even when it forges its own
/// `X-Forwarded-For`.
#[test]
fn haproxy_with_a_unix_socket_backend_passes_the_client_address() {
    let Some(program) = process::require("haproxy", "BASEHTTP_REQUIRE_HAPROXY", "haproxy") else {
        return;
    };
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = socket_path(&sockets);
    let mut server = start_binary(dir.path(), &path, &["--trusted-proxy", "unix"]);
    // A free port for HAProxy, released for it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = sockets.path().join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  maxconn 64\n\
             defaults\n  mode http\n  option forwardfor\n  timeout connect 5s\n  \
             timeout client 10s\n  timeout server 10s\n\
             frontend in\n  bind 127.0.0.1:{port}\n  default_backend out\n\
             backend out\n  server basehttp unix@{}\n",
            path.display()
        ),
    )
    .unwrap();
    // Killed (by its own PID) when the test ends, failing or not.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let haproxy = KillOnDrop(
        Command::new(&program)
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let connect = || -> std::io::Result<std::net::TcpStream> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 2], 0)).into())?;
        socket.connect(&to.into())?;
        Ok(socket.into())
    };
    // Until HAProxy listens (connection refused meanwhile), bounded.
    let mut stream = None;
    common::eventually("haproxy listens", TIMEOUT, || {
        stream = connect().ok();
        stream.is_some()
    });
    let mut c = Client::from_stream(stream.expect("connected"));
    let r = c.ask("GET", "/hello.txt", &["X-Forwarded-For: 6.6.6.6"]);
    let logged = server.wait_for_log("\"GET /hello.txt HTTP/1.1\" 200", TIMEOUT);
    drop(haproxy);
    assert_eq!(r.text(), "Hello, World!");
    assert!(logged.starts_with("127.0.0.2 - - ["), "{logged}");
    let exited = server.terminate();
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
    assert!(!path.exists());
}
