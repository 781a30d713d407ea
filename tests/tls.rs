//! HTTPS through rustls: a certificate made at run time for 127.0.0.1, a
//! rustls client that trusts only it, and the same engine behaviours as over
//! plain TCP (keep-alive, pipelining, large bodies), plus the handshake's own
//! rules: it never runs on the accepting thread, and a silent client is
//! closed after the handshake timeout without holding anyone up.

#![cfg(feature = "tls")]

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::server::{Concurrency, Pool, Sequential, Threading};
use basehttp::{ServerConfig, tls};
use common::{Echo, TIMEOUT, TestServer, pattern};
use process::{Process, basehttp, run_to_exit};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// A self-signed certificate for 127.0.0.1: the server's configuration and
/// a client configuration that trusts it alone.
struct Certificate {
    server: Arc<rustls::ServerConfig>,
    client: Arc<ClientConfig>,
    cert_pem: String,
    key_pem: String,
}

fn certificate() -> Certificate {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
        .expect("generate a certificate");
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let server = tls::server_config(vec![cert.clone()], key).expect("server TLS config");
    let mut roots = RootCertStore::empty();
    roots.add(cert).expect("trust the certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Certificate {
        server,
        client: Arc::new(client),
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
    }
}

fn https_config(cert: &Certificate) -> ServerConfig {
    ServerConfig {
        tls: Some(Arc::clone(&cert.server)),
        ..common::config()
    }
}

type TlsStream = BufReader<StreamOwned<ClientConnection, TcpStream>>;

fn connect(addr: SocketAddr, cert: &Certificate) -> TlsStream {
    connect_after(addr, cert, b"")
}

/// [`connect`], with `first` sent in the clear before the handshake (a
/// PROXY protocol header).
fn connect_after(addr: SocketAddr, cert: &Certificate, first: &[u8]) -> TlsStream {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.write_all(first).expect("send");
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let session = ClientConnection::new(Arc::clone(&cert.client), name).expect("client session");
    BufReader::new(StreamOwned::new(session, tcp))
}

/// Reads one response with a Content-Length body: (status line, body).
fn read_response(s: &mut impl BufRead) -> (String, Vec<u8>) {
    let mut status = String::new();
    s.read_line(&mut status).expect("status line");
    let mut length = 0;
    loop {
        let mut line = String::new();
        s.read_line(&mut line).expect("header line");
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().expect("a length");
        }
    }
    let mut body = vec![0; length];
    s.read_exact(&mut body).expect("body");
    (status.trim_end().to_string(), body)
}

fn get<S: Read + Write>(
    s: &mut BufReader<StreamOwned<ClientConnection, S>>,
    path: &str,
) -> (String, Vec<u8>) {
    write!(
        s.get_mut(),
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .expect("send");
    s.get_mut().flush().expect("flush");
    read_response(s)
}

fn serves_https_with_keep_alive<C: Concurrency>() {
    let cert = certificate();
    let server = TestServer::<Echo, C>::start(Echo, https_config(&cert));
    let mut s = connect(server.addr(), &cert);
    assert_eq!(
        get(&mut s, "/one"),
        ("HTTP/1.1 200 OK".to_string(), b"/one".to_vec())
    );
    assert_eq!(get(&mut s, "/two").1, b"/two");
    assert_eq!(s.get_ref().conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

/// TLS over a Unix domain socket, as over TCP.
#[test]
fn https_is_served_on_a_unix_socket() {
    let cert = certificate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("https.sock");
    let server =
        basehttp::PoolHttpServer::bind_unix_with_config(&path, Echo, https_config(&cert)).unwrap();
    let server = TestServer::run(server);
    let unix = std::os::unix::net::UnixStream::connect(&path).expect("connect");
    unix.set_read_timeout(Some(TIMEOUT)).unwrap();
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let session = ClientConnection::new(Arc::clone(&cert.client), name).expect("client session");
    let mut s = BufReader::new(StreamOwned::new(session, unix));
    assert_eq!(
        get(&mut s, "/one"),
        ("HTTP/1.1 200 OK".to_string(), b"/one".to_vec())
    );
    assert_eq!(get(&mut s, "/two").1, b"/two");
    drop(s);
    server.close().expect("serve_forever");
    assert!(!path.exists());
}

#[test]
fn pool_server_serves_https_with_keep_alive() {
    serves_https_with_keep_alive::<Pool>();
}

#[test]
fn sequential_server_serves_https_with_keep_alive() {
    serves_https_with_keep_alive::<Sequential>();
}

#[test]
fn threading_server_serves_https_with_keep_alive() {
    serves_https_with_keep_alive::<Threading>();
}

/// With `proxy_protocol`, the header comes in the clear before the
/// handshake, and the address it carries is the client's.
fn proxy_header_before_the_handshake<C: Concurrency>() {
    let cert = certificate();
    let config = ServerConfig {
        proxy_protocol: true,
        ..https_config(&cert)
    };
    let handler = basehttp::handler_fn(|r| {
        let body = r.client_address.to_string();
        r.send_response(200)?;
        r.send_header("Content-Length", body.len())?;
        r.end_headers()?;
        r.wfile.write_all(body.as_bytes())?;
        Ok(())
    });
    let server = TestServer::<_, C>::start(handler, config);
    let header = b"PROXY TCP4 192.0.2.44 127.0.0.1 4444 443\r\n";
    let mut s = connect_after(server.addr(), &cert, header);
    assert_eq!(get(&mut s, "/").1, b"192.0.2.44:4444");
    assert_eq!(get(&mut s, "/").1, b"192.0.2.44:4444");
}

#[test]
fn sequential_server_reads_a_proxy_header_before_the_handshake() {
    proxy_header_before_the_handshake::<Sequential>();
}

#[test]
fn threading_server_reads_a_proxy_header_before_the_handshake() {
    proxy_header_before_the_handshake::<Threading>();
}

#[test]
fn pipelined_requests_in_one_tls_record_are_all_answered() {
    let cert = certificate();
    let server = TestServer::<Echo, Sequential>::start(Echo, https_config(&cert));
    let mut s = connect(server.addr(), &cert);
    // One write of three requests: rustls seals them into one record, so the
    // server decrypts all three at once and must not wait for the socket.
    // Together (15 KiB) they exceed the server's 8 KiB read buffer, so the
    // later ones stay decrypted inside the session until asked for.
    let padding = "p".repeat(5000);
    let requests: String = ["/a", "/b", "/c"]
        .iter()
        .map(|p| format!("GET {p} HTTP/1.1\r\nHost: x\r\nX-Padding: {padding}\r\n\r\n"))
        .collect();
    assert!(
        requests.len() < 16 * 1024,
        "one TLS record holds at most 16 KiB"
    );
    s.get_mut().write_all(requests.as_bytes()).expect("send");
    s.get_mut().flush().expect("flush");
    for path in ["/a", "/b", "/c"] {
        assert_eq!(read_response(&mut s).1, path.as_bytes());
    }
}

#[test]
fn large_bodies_cross_tls_both_ways() {
    let cert = certificate();
    let server = TestServer::<Echo, Pool>::start(Echo, https_config(&cert));
    let mut s = connect(server.addr(), &cert);
    let body = pattern(300_000);
    write!(
        s.get_mut(),
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("send head");
    s.get_mut().write_all(&body).expect("send body");
    s.get_mut().flush().expect("flush");
    // The echo is larger than the response buffer: it comes back chunked.
    let mut status = String::new();
    s.read_line(&mut status).expect("status");
    assert_eq!(status, "HTTP/1.1 200 OK\r\n");
    let mut rest = Vec::new();
    loop {
        let mut line = String::new();
        s.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        rest.push(line);
    }
    assert!(
        rest.iter()
            .any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked\r\n")),
        "{rest:?}"
    );
    let mut echoed = Vec::new();
    loop {
        let mut size = String::new();
        s.read_line(&mut size).expect("chunk size");
        let n = usize::from_str_radix(size.trim_end(), 16).expect("hex size");
        let mut chunk = vec![0; n + 2];
        s.read_exact(&mut chunk).expect("chunk");
        if n == 0 {
            break;
        }
        echoed.extend_from_slice(&chunk[..n]);
    }
    assert!(echoed == body, "the echoed body differs");
}

fn silent_client_holds_up_no_one<C: Concurrency>() {
    let cert = certificate();
    let config = ServerConfig {
        handshake_timeout: Some(Duration::from_millis(300)),
        ..https_config(&cert)
    };
    let server = TestServer::<Echo, C>::start(Echo, config);
    // Connects and never says a word.
    let mut silent = TcpStream::connect(server.addr()).expect("connect");
    silent.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut s = connect(server.addr(), &cert);
    assert_eq!(get(&mut s, "/meanwhile").1, b"/meanwhile");
    // After the handshake timeout, the silent one is closed.
    let mut byte = [0u8; 1];
    let n = loop {
        match silent.read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Say which error, should this ever fail: a timeout would mean the
            // handshake deadline was missed, a reset that the close was abrupt.
            other => {
                break other
                    .unwrap_or_else(|e| panic!("expected a clean close, got {:?}: {e}", e.kind()));
            }
        }
    };
    assert_eq!(n, 0);
}

#[test]
fn sequential_server_is_not_held_up_by_a_client_that_never_handshakes() {
    silent_client_holds_up_no_one::<Sequential>();
}

#[test]
fn threading_server_closes_a_client_that_never_handshakes() {
    silent_client_holds_up_no_one::<Threading>();
}

#[test]
fn plain_http_to_an_https_port_fails_the_handshake_and_the_server_goes_on() {
    let cert = certificate();
    let server = TestServer::<Echo, Pool>::start(Echo, https_config(&cert));
    let mut plain = TcpStream::connect(server.addr()).expect("connect");
    plain.set_read_timeout(Some(TIMEOUT)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert!(
        !reply.starts_with(b"HTTP/"),
        "no plaintext answer on an HTTPS port"
    );
    let mut s = connect(server.addr(), &cert);
    assert_eq!(get(&mut s, "/after").1, b"/after");
}

#[test]
fn pem_files_load_and_bad_ones_are_named() {
    let cert = certificate();
    let dir = std::env::temp_dir().join(format!("basehttp-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).expect("write cert");
    std::fs::write(&key_path, &cert.key_pem).expect("write key");
    let loaded = tls::load_server_config(&cert_path, &key_path).expect("load PEM files");
    assert_eq!(loaded.alpn_protocols, vec![b"http/1.1".to_vec()]);
    let err = tls::load_server_config(&key_path, &key_path).expect_err("a key is no certificate");
    assert!(err.to_string().contains("key.pem"), "{err}");
    let missing = dir.join("missing.pem");
    let err = tls::load_server_config(&missing, &key_path).expect_err("missing file");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_binary_serves_https_from_pem_files() {
    let cert = certificate();
    let dir = std::env::temp_dir().join(format!("basehttp-https-bin-{}", std::process::id()));
    let root = dir.join("root");
    std::fs::create_dir_all(&root).expect("temp dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).expect("write cert");
    std::fs::write(&key_path, &cert.key_pem).expect("write key");
    std::fs::write(root.join("hello.txt"), "hello over TLS\n").expect("write a file");
    let binary = Process::start(
        basehttp()
            .arg("--tls-cert")
            .arg(&cert_path)
            .arg("--tls-key")
            .arg(&key_path)
            .args(["-q", "-b", "127.0.0.1", "-d"])
            .arg(&root)
            .arg("0"),
    );
    let line = &binary.line;
    let port: u16 = line
        .strip_prefix("Serving HTTPS on 127.0.0.1 port ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected startup line {line:?}"));
    assert_eq!(
        *line,
        format!("Serving HTTPS on 127.0.0.1 port {port} (https://127.0.0.1:{port}/) ...")
    );
    let mut s = connect(SocketAddr::from(([127, 0, 0, 1], port)), &cert);
    let (status, body) = get(&mut s, "/hello.txt");
    assert_eq!(
        (status.as_str(), body.as_slice()),
        ("HTTP/1.1 200 OK", &b"hello over TLS\n"[..])
    );
    drop(binary);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_binary_refuses_an_unreadable_certificate_with_one_line_and_status_2() {
    let missing = std::env::temp_dir().join("basehttp-no-such-cert.pem");
    let out = run_to_exit(
        basehttp()
            .arg("--tls-cert")
            .arg(&missing)
            .arg("--tls-key")
            .arg(&missing)
            .arg("0"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = &out.stderr;
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("basehttp-no-such-cert.pem"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing listened");
}

fn stalled_head_gets_an_encrypted_408<C: Concurrency>() {
    let cert = certificate();
    let config = ServerConfig {
        head_timeout: Some(Duration::from_millis(300)),
        ..https_config(&cert)
    };
    let server = TestServer::<Echo, C>::start(Echo, config);
    let mut s = connect(server.addr(), &cert);
    s.get_mut()
        .write_all(b"GET /never-finished HTTP/1.1\r\nHost: x\r\n")
        .expect("send");
    s.get_mut().flush().expect("flush");
    // Read through TLS: a plaintext 408 would fail to decrypt here.
    let (status, _) = read_response(&mut s);
    assert!(status.starts_with("HTTP/1.1 408 "), "{status}");
}

#[test]
fn pool_server_answers_a_stalled_https_head_with_an_encrypted_408() {
    stalled_head_gets_an_encrypted_408::<Pool>();
}

#[test]
fn threading_server_answers_a_stalled_https_head_with_an_encrypted_408() {
    stalled_head_gets_an_encrypted_408::<Threading>();
}
